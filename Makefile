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
B         ?= build

.PHONY: all deps demo test check valgrind pb clean
all: $(B)/example

# Debian packages: installed only when missing (CI and fresh machines).
DEB_PKGS := nanopb libnanopb-dev protobuf-compiler python3-protobuf valgrind clang
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(B):
	mkdir -p $(B)

$(B)/example: example.c canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -o $@ example.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

pb:
	cd pb && nanopb_generator.py -q -I ../proto -I . -D . ../proto/CanalProtocol.proto
	cd pb && nanopb_generator.py -q -I ../proto -I . -D . ../proto/EntryProtocol.proto

clean:
	rm -rf $(B) build-*

# ---------------------------------------------------------------- tests
$(B)/fixtures/.stamp: test/fixtures/rowchanges.txt test/mkfixtures.py proto/EntryProtocol.proto proto/CanalProtocol.proto | $(B)
	$(PYTHON) test/mkfixtures.py test/fixtures/rowchanges.txt $(B)/fixtures
	touch $@

$(B)/test_unit: test/test_unit.c test/tinytest.h canal.c canal.h $(PB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_unit.c $(PB_SRC) $(NANOPB_SRC) $(NANOPB_LIB) $(LDFLAGS)
