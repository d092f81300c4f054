# bench/bench.mk - decode benchmarks: canal-c against Google's C++ protobuf on
# the same stream of GET replies. Included from the Makefile, whose variables
# it uses: $(B), $(CC), $(ALL_CFLAGS), $(LIB_SRC), $(NANOPB_LIB), $(LDFLAGS).
#
#   make bench-decode                 # ROWS=500000 (a 457 MB stream); ROWS=100000 is quicker
#   make bench-profile                # perf top list of canal-c's decode
#   make B=build-vendored NANOPB_DIR=build/nanopb-src NANOPB_DEFS=-DPB_BUFFER_ONLY \
#        BENCH_STREAM=build/bench/stream-500000.bin bench-decode
#                                     # vendored nanopb (fetched from Debian's source package)

ROWS         ?= 500000
BENCH_STREAM ?= $(B)/bench/stream-$(ROWS).bin
BENCH_CXX    ?= $(CXX)
# gen and ref_cpp are C++ on Google's protobuf; warnings fatal for our files only
BENCH_CXXFLAGS = -std=c++17 -O2 -g -Wall -Wextra -I$(B)/bench/pbcpp
BENCH_PB_LIBS  = $(shell pkg-config --libs protobuf 2>/dev/null || echo -lprotobuf) -pthread
BENCH_PB_OBJ   = $(B)/bench/pbcpp/CanalProtocol.pb.o $(B)/bench/pbcpp/EntryProtocol.pb.o
BENCH_PB_HDR   = $(B)/bench/pbcpp/CanalProtocol.pb.h $(B)/bench/pbcpp/EntryProtocol.pb.h
# Re-entering make must read the same makefiles this run did (the Makefile
# including this file), not whatever ./Makefile is.
BENCH_MAKE     = $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST))

.PHONY: bench-deps bench-decode bench-profile nanopb-src

BENCH_DEB_PKGS := libprotobuf-dev protobuf-compiler g++ pkg-config
bench-deps:
	$(call apt_install,$(BENCH_DEB_PKGS))

# ---------------------------------------------------------------- C++ codecs
# Both schemas declare HEARTBEAT at package scope. Separate protoc runs avoid
# protoc's error, but linked into one program the two files still clash in
# protobuf's descriptor pool (it aborts on first use of a descriptor), so the
# C++ side gets a copy of EntryProtocol.proto in a sub-package. The package
# name never reaches the wire.
$(B)/bench/pbcpp/EntryProtocol.proto: proto/EntryProtocol.proto
	@mkdir -p $(@D)
	sed 's/^package com\.alibaba\.otter\.canal\.protocol;/package com.alibaba.otter.canal.protocol.entry;/' $< >$@.tmp
	grep -q '^package com\.alibaba\.otter\.canal\.protocol\.entry;' $@.tmp   # the package line moved
	mv $@.tmp $@

$(B)/bench/pbcpp/CanalProtocol.proto: proto/CanalProtocol.proto
	@mkdir -p $(@D)
	cp $< $@

# one protoc run per file (a pattern rule with two targets makes both at once)
$(B)/bench/pbcpp/%.pb.cc $(B)/bench/pbcpp/%.pb.h: $(B)/bench/pbcpp/%.proto
	protoc -I $(B)/bench/pbcpp --cpp_out=$(B)/bench/pbcpp $<

$(B)/bench/pbcpp/%.pb.o: $(B)/bench/pbcpp/%.pb.cc $(B)/bench/pbcpp/%.pb.h
	$(BENCH_CXX) $(BENCH_CXXFLAGS) -c -o $@ $<

# keep the generated sources (make would delete them as intermediates)
.SECONDARY: $(B)/bench/pbcpp/CanalProtocol.pb.cc $(B)/bench/pbcpp/EntryProtocol.pb.cc

# ---------------------------------------------------------------- programs
$(B)/bench/gen: bench/gen.cc $(BENCH_PB_HDR) $(BENCH_PB_OBJ)
	$(BENCH_CXX) $(BENCH_CXXFLAGS) -Werror -o $@ bench/gen.cc $(BENCH_PB_OBJ) $(BENCH_PB_LIBS)

$(B)/bench/ref_cpp: bench/ref_cpp.cc bench/bench.h $(BENCH_PB_HDR) $(BENCH_PB_OBJ)
	$(BENCH_CXX) $(BENCH_CXXFLAGS) -Werror -o $@ bench/ref_cpp.cc $(BENCH_PB_OBJ) $(BENCH_PB_LIBS)

# The library exactly as the Makefile builds it, at -O2 unless OPT is given
# on the command line (e.g. a sanitizer build).
$(B)/bench/decode: OPT = -O2 -g
$(B)/bench/decode: bench/decode.c bench/bench.h canal.h $(LIB_SRC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ bench/decode.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

# The workload: deterministic, so it is made once per ROWS.
$(B)/bench/stream-%.bin: $(B)/bench/gen
	$(B)/bench/gen --rows $* --out $@.tmp
	mv $@.tmp $@

# ---------------------------------------------------------------- running
# Full decode and headers-only, C++ then canal-c; fails unless each pair of
# checksums is equal (same rows, names, values and NULL flags decoded).
bench-decode: bench-deps
	@$(BENCH_MAKE) $(B)/bench/ref_cpp $(B)/bench/decode $(BENCH_STREAM)
	@set -e; out=$(B)/bench/decode-results.txt; : >$$out; \
	for mode in "" --headers-only; do \
	  ref=$$($(B)/bench/ref_cpp $$mode $(BENCH_STREAM)); echo "$$ref" | tee -a $$out; \
	  our=$$($(B)/bench/decode $$mode $(BENCH_STREAM)); echo "$$our" | tee -a $$out; \
	  if [ "$${ref##*checksum=}" != "$${our##*checksum=}" ]; then \
	    echo "bench-decode: checksums differ$${mode:+ with $$mode}: canal-c and protobuf decoded different data"; exit 1; \
	  fi; \
	done; \
	echo "bench-decode: checksums agree (results in $$out)"

# Where canal-c's decode spends its time, for tuning canal.c.
bench-profile: bench-deps
	@$(BENCH_MAKE) $(B)/bench/decode $(BENCH_STREAM)
	perf record -q -o $(B)/bench/perf.data -- $(B)/bench/decode --passes 3 $(BENCH_STREAM)
	perf report -i $(B)/bench/perf.data --stdio --no-children -F overhead,dso,sym 2>/dev/null \
	  | grep -v '^#' | grep -v '^$$' | head -15

# ---------------------------------------------------------------- nanopb sources
# nanopb's sources for NANOPB_DIR builds (e.g. PB_BUFFER_ONLY), from Debian's
# source package at the version of the installed generator, so the runtime
# matches the code in pb/. Needs a deb-src line; one is added next to the
# system's own, with the same mirror, if none is configured.
nanopb-src: $(B)/nanopb-src/pb_decode.c

%/nanopb-src/pb_common.c %/nanopb-src/pb_decode.c %/nanopb-src/pb_encode.c:
	@set -e; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then \
	  uri=$$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
	         | tr ' ' '\n' | grep -v security | head -n1); \
	  [ -n "$$uri" ] || uri=$$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
	                           /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1); \
	  [ -n "$$uri" ] || uri=http://deb.debian.org/debian; \
	  suite=$$(. /etc/os-release && echo $$VERSION_CODENAME); \
	  echo "adding deb-src $$uri $$suite main"; \
	  echo "deb-src $$uri $$suite main" | $$SUDO tee /etc/apt/sources.list.d/deb-src.list >/dev/null; \
	  $$SUDO apt-get update -qq; \
	fi; \
	dpkg-query -W -f='$${Status}' dpkg-dev 2>/dev/null | grep -q "ok installed" || \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dpkg-dev >/dev/null; \
	ver=$$(dpkg-query -W -f='$${Version}' nanopb 2>/dev/null || true); \
	rm -rf $*/nanopb-src $*/nanopb-fetch; mkdir -p $*/nanopb-fetch; \
	(cd $*/nanopb-fetch && apt-get source -qq nanopb$${ver:+=$$ver} >/dev/null 2>&1) || \
	  { $$SUDO apt-get update -qq && (cd $*/nanopb-fetch && apt-get source -qq nanopb$${ver:+=$$ver} >/dev/null); }; \
	mv $*/nanopb-fetch/nanopb-*/ $*/nanopb-src; rm -rf $*/nanopb-fetch; \
	touch $*/nanopb-src/pb_common.c $*/nanopb-src/pb_decode.c $*/nanopb-src/pb_encode.c; \
	echo "nanopb $${ver:-(latest)} sources in $*/nanopb-src"
