# canal-c. `make` builds the library objects, example and the tests;
# `make test` runs them; `make demo` runs example against the bundled server.
# Our flags stay apart from yours: CFLAGS=... adds to them.

CC      ?= cc
PYTHON  := /usr/bin/python3
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef
OPT     ?= -O2 -g
STD     := -std=c99

# nanopb: Debian's libnanopb-dev by default, or a source tree (NANOPB_DIR=...)
# compiled in. The PB_* macros must be the ones the runtime was built with.
ifdef NANOPB_DIR
NANOPB_DEFS ?=
NANOPB_INC  := -I$(NANOPB_DIR)
NANOPB_SRC  := $(NANOPB_DIR)/pb_common.c $(NANOPB_DIR)/pb_decode.c $(NANOPB_DIR)/pb_encode.c
NANOPB_LIB  :=
else
NANOPB_DEFS ?= -DPB_ENABLE_MALLOC
NANOPB_INC  :=
NANOPB_SRC  :=
NANOPB_LIB  := -lprotobuf-nanopb
endif

ALL_CFLAGS = $(STD) $(WARN) $(OPT) $(NANOPB_DEFS) $(NANOPB_INC) -I. $(CFLAGS)
PB_SRC     = pb/CanalProtocol.pb.c pb/EntryProtocol.pb.c
LIB_SRC    = canal.c $(PB_SRC) $(NANOPB_SRC)
FLAT_SRC   = canal_flat.c   # optional: FlatMessage JSON (canal_flat.h)
B         ?= build

# ZooKeeper mode (canal_zk.c, libzookeeper_mt) is optional: make ZOOKEEPER=1
# builds example with it (--zk) and the ZooKeeper tests. Without it nothing
# links ZooKeeper. `make test` runs the ZooKeeper suite either way, from its
# own build directory (build-zk), so CI covers both builds.
ZOOKEEPER ?=
ZK_LIB    := -lzookeeper_mt
ifeq ($(ZOOKEEPER),1)
EX_SRC    := canal_zk.c
EX_FLAGS  := -DCANAL_ZOOKEEPER
EX_LIBS   := $(ZK_LIB)
ZK_TARGETS = $(B)/test_zk
else
EX_SRC    :=
EX_FLAGS  :=
EX_LIBS   :=
ZK_TARGETS =
endif

.PHONY: all deps demo test check valgrind pb clean
all: $(B)/example $(B)/test_unit $(B)/test_client $(B)/test_noheap $(B)/test_faults $(B)/test_flat \
     $(B)/pbdump $(B)/test_hostile $(B)/fixtures/.stamp $(B)/test_values $(B)/values_ref.txt \
     $(B)/locale/de_DE.UTF-8/LC_NUMERIC \
     $(ZK_TARGETS)

# Install those of the Debian packages $(1) that are missing (CI and fresh
# machines start without them); a no-op once they are there.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

DEB_PKGS := nanopb libnanopb-dev protobuf-compiler python3-protobuf valgrind clang libclang-rt-14-dev \
            cmake pkg-config locales
# Only the ZooKeeper build and its tests need these.
ZK_DEB_PKGS := libzookeeper-mt-dev zookeeper python3-kazoo
deps:
	$(call apt_install,$(DEB_PKGS))
zk-deps:
	$(call apt_install,$(ZK_DEB_PKGS))

$(B):
	mkdir -p $(B)

# example is built with or without ZooKeeper; a stamp per mode rebuilds it
# when ZOOKEEPER changes between two makes into the same directory.
ZK_MODE = $(B)/.zookeeper-$(if $(filter 1,$(ZOOKEEPER)),on,off)
$(B)/.zookeeper-%: | $(B)
	rm -f $(B)/.zookeeper-on $(B)/.zookeeper-off
	touch $@

$(B)/example: example.c canal.h canal_flat.h $(FLAT_SRC) $(LIB_SRC) $(EX_SRC) $(ZK_MODE) | $(B)
	$(CC) $(ALL_CFLAGS) $(EX_FLAGS) -o $@ example.c $(FLAT_SRC) $(EX_SRC) $(LIB_SRC) $(NANOPB_LIB) $(EX_LIBS) $(LDFLAGS)

pb:
	cd pb && nanopb_generator.py -q -I ../proto -I . -D . ../proto/CanalProtocol.proto
	cd pb && nanopb_generator.py -q -I ../proto -I . -D . ../proto/EntryProtocol.proto

clean:
	rm -rf build build-* dist

# ---------------------------------------------------------------- tests
$(B)/fixtures/.stamp: test/fixtures/rowchanges.txt test/mkfixtures.py proto/EntryProtocol.proto proto/CanalProtocol.proto | $(B)
	$(PYTHON) test/mkfixtures.py test/fixtures/rowchanges.txt $(B)/fixtures
	touch $@

$(B)/test_unit: test/test_unit.c test/peer.h test/tinytest.h canal.c canal.h $(PB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_unit.c $(PB_SRC) $(NANOPB_SRC) $(NANOPB_LIB) $(LDFLAGS)

$(B)/test_client: test/test_client.c test/tinytest.h canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_client.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

# Includes canal_zk.c for its unit tests; also the consumer test_zk.py drives.
$(B)/test_zk: test/test_zk.c test/tinytest.h canal_zk.c canal_zk.h canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_zk.c $(LIB_SRC) $(NANOPB_LIB) $(ZK_LIB) $(LDFLAGS)

# Public API only: canal-c's decoded view as text, for test/test_codec_diff.py.
$(B)/pbdump: test/pbdump.c test/dump.h canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/pbdump.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

# Public API only: hostile servers and caller mistakes (issue 10).
$(B)/test_hostile: test/test_hostile.c test/peer.h test/tinytest.h canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_hostile.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

# The FlatMessage module, on the public API like test_client.
$(B)/test_flat: test/test_flat.c test/tinytest.h canal.h canal_flat.h $(FLAT_SRC) $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_flat.c $(FLAT_SRC) $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

# Typed values, lookups, positions: public API only; reference vectors
# from Python's decimal/datetime/struct.
$(B)/test_values: test/test_values.c test/peer.h test/tinytest.h canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_values.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

$(B)/values_ref.txt: test/values_ref.py | $(B)
	$(PYTHON) test/values_ref.py > $@.tmp && mv $@.tmp $@

# A locale with a decimal comma, for test_values (LOCPATH=$(B)/locale).
$(B)/locale/de_DE.UTF-8/LC_NUMERIC: | $(B)
	mkdir -p $(B)/locale
	localedef -i de_DE -f UTF-8 $(B)/locale/de_DE.UTF-8 || test -s $@

# It replaces malloc itself: never with sanitizers (or valgrind).
$(B)/test_noheap: test/test_noheap.c test/peer.h test/tinytest.h canal.h canal_flat.h $(FLAT_SRC) $(LIB_SRC) | $(B)
	$(CC) $(STD) $(WARN) -O2 -g $(NANOPB_DEFS) $(NANOPB_INC) -I. -Wno-missing-prototypes -o $@ test/test_noheap.c $(FLAT_SRC) $(LIB_SRC) $(NANOPB_LIB)

# ---------------------------------------------------------------- running
# Sanitizer build: clang, ASan + UBSan, any report is fatal.
SAN_OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --child-silent-after-fork=yes

SUITE = "$(PYTHON) test/server/selftest.py" \
        "$(1)/test_unit $(1)/fixtures" \
        "$(1)/test_client $(1)" \
        "$(1)/test_noheap $(1)/fixtures" \
        "$(1)/test_faults $(1)/fixtures" \
        "$(1)/test_flat" \
        "$(PYTHON) test/test_flat.py $(1)/test_flat $(1)" \
        "$(1)/test_values $(1)"

# The ZooKeeper suite: unit tests (gcc, ASan+UBSan, valgrind) and the
# cluster scenarios against a real ZooKeeper, with the gcc and the sanitizer
# builds (about a minute each), and four of them with the consumers under
# valgrind.
ZK_SUITE = "build-zk/test_zk unit" \
           "build-zk-asan/test_zk unit" \
           "$(VALGRIND) build-zk/test_zk unit" \
           "$(PYTHON) test/test_zk.py build-zk" \
           "$(PYTHON) test/test_zk.py build-zk-asan" \
           "$(PYTHON) test/test_zk.py build-zk --valgrind"

zk-build: zk-deps
	$(MAKE) --no-print-directory B=build-zk ZOOKEEPER=1 build-zk/test_zk build-zk/example
	$(MAKE) --no-print-directory B=build-zk-asan ZOOKEEPER=1 CC=clang OPT="$(SAN_OPT)" \
	  build-zk-asan/test_zk build-zk-asan/example

# Only the ZooKeeper suite.
.PHONY: zk-deps zk-build test-zk
test-zk: deps zk-build
	test/run_tests.sh $(ZK_SUITE)

# The suite again on nanopb's sources compiled in (NANOPB_DIR), once per
# nanopb configuration: gcc only, no valgrind (the default build has those).
NANOPB_CONFIGS := buffer-only:-DPB_BUFFER_ONLY field-32bit:-DPB_FIELD_32BIT
NANOPB_SUITE = $(foreach c,$(NANOPB_CONFIGS),$(foreach b,build-nanopb-$(word 1,$(subst :, ,$(c))), \
        "$(b)/test_unit $(b)/fixtures" "$(b)/test_client $(b)" "$(b)/test_noheap $(b)/fixtures" \
        "$(b)/test_faults $(b)/fixtures" "$(PYTHON) test/test_example.py $(b)/example $(b)"))

# The whole suite: gcc build, clang ASan+UBSan build, valgrind, fuzz smoke
# runs, the nanopb configurations, build and distribution checks, the
# ZooKeeper suite; one total line.
test: deps zk-build
	$(MAKE) --no-print-directory B=build all fuzz-build nanopb-src
	$(MAKE) --no-print-directory B=build-asan CC=clang OPT="$(SAN_OPT)" all
	$(foreach c,$(NANOPB_CONFIGS),$(MAKE) --no-print-directory B=build-nanopb-$(word 1,$(subst :, ,$(c))) \
	  NANOPB_DIR=build/nanopb-src NANOPB_DEFS=$(word 2,$(subst :, ,$(c))) all &&) true
	test/run_tests.sh $(call SUITE,build) \
	  "$(PYTHON) test/test_example.py build/example build" \
	  "build/test_hostile" \
	  "$(PYTHON) test/test_codec_diff.py build/pbdump build build/fuzz_diff" \
	  "$(PYTHON) test/test_memory.py build/example build" \
	  "build-asan/test_unit build/fixtures" \
	  "build-asan/test_hostile" \
	  "$(PYTHON) test/test_codec_diff.py build-asan/pbdump build-asan" \
	  "build-asan/test_client build-asan" \
	  "build-asan/test_faults build/fixtures" \
	  "build-asan/test_flat" \
	  "$(PYTHON) test/test_flat.py build-asan/test_flat build-asan" \
	  "build-asan/test_values build" \
	  "$(PYTHON) test/test_example.py build-asan/example build-asan" \
	  "$(VALGRIND) build/test_unit build/fixtures" \
	  "$(VALGRIND) build/test_client build" \
	  "$(VALGRIND) build/test_faults build/fixtures" \
	  "$(VALGRIND) build/test_hostile" \
	  "$(VALGRIND) build/test_flat" \
	  "$(VALGRIND) build/test_values build" \
	  "sh fuzz/run.sh build smoke 5000" \
	  $(NANOPB_SUITE) \
	  "sh test/check_build.sh build build/nanopb-src $(if $(filter 1,$(ZOOKEEPER)),zk,nozk)" \
	  "sh test/check_dist.sh build" \
	  $(ZK_SUITE)

# Only the sanitizer run, for a quick check while working.
check: deps
	$(MAKE) --no-print-directory B=build-asan CC=clang OPT="$(SAN_OPT)" all
	test/run_tests.sh "build-asan/test_unit build-asan/fixtures" "build-asan/test_client build-asan" \
	  "build-asan/test_faults build-asan/fixtures" "build-asan/test_flat" "build-asan/test_values build-asan" \
	  "build-asan/test_hostile" "$(PYTHON) test/test_codec_diff.py build-asan/pbdump build-asan"

valgrind: deps all
	test/run_tests.sh "$(VALGRIND) $(B)/test_unit $(B)/fixtures" "$(VALGRIND) $(B)/test_client $(B)" \
	  "$(VALGRIND) $(B)/test_faults $(B)/fixtures" "$(VALGRIND) $(B)/test_hostile" "$(VALGRIND) $(B)/test_flat" \
	  "$(VALGRIND) $(B)/test_values $(B)"

# The main job: the bundled server with a sample stream, and example on it.
demo: deps
	$(MAKE) --no-print-directory B=build build/example
	@mkdir -p build/tmp; rm -f build/tmp/demo.port
	@$(PYTHON) test/server/canal_server.py --sample --user canal --password canal \
	  --pb-dir build/pb_py --port 0 --port-file build/tmp/demo.port >/dev/null & \
	  pid=$$!; trap "kill $$pid 2>/dev/null" EXIT INT TERM; \
	  for i in $$(seq 100); do [ -s build/tmp/demo.port ] && break; sleep 0.1; done; \
	  port=$$(cat build/tmp/demo.port); \
	  echo "test server on 127.0.0.1:$$port; running: build/example --port $$port --user canal --password canal --batch-size 5 --exit-when-idle $(DEMO_ARGS)"; \
	  build/example --port $$port --user canal --password canal --batch-size 5 --exit-when-idle $(DEMO_ARGS)

# ---------------------------------------------------------------- benchmarks
include bench/bench.mk
include bench/e2e.mk
include fuzz/fuzz.mk
include tools/dist.mk

# make bench [ROWS=500000]: every figure of the performance issue in one run.
VENDORED := build-vendored
.PHONY: bench
bench: deps bench-deps
	$(MAKE) --no-print-directory B=build build/bench/decode build/bench/ref_cpp \
	  build/bench/replay build/bench/e2e build/bench/stream-$(ROWS).bin
	$(MAKE) --no-print-directory B=$(VENDORED) NANOPB_DIR=$(VENDORED)/nanopb-src \
	  NANOPB_DEFS=-DPB_BUFFER_ONLY $(VENDORED)/bench/decode
	sh bench/run.sh build $(VENDORED) build/bench/stream-$(ROWS).bin
