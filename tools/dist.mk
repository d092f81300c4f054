# tools/dist.mk - canal-c for other people's trees: the amalgamation, the
# installed library (pkg-config, CMake) and the size report. Included from the
# Makefile, whose variables it uses ($(CC), $(STD), $(WARN), $(PYTHON), ...).
#
#   make amalgamation                 # dist/canal.h + dist/canal.c (+ modules); link nanopb
#   make amalgamation FOLD_NANOPB=1   # the same with nanopb folded in: needs only libc
#   make install PREFIX=/usr/local DESTDIR=   /   make uninstall (same variables)
#   make size                         # -Os text size of the client in each form

# Public modules, header:source[:libs]. One whose files are not in the tree is
# skipped, so optional modules are picked up when they land. Every module is
# amalgamated; libcanal (install) has those that need nothing beyond libc; a
# module with libs is vendored from dist/ and linked with them.
MODULES := canal.h:canal.c canal_flat.h:canal_flat.c canal_zk.h:canal_zk.c:-lzookeeper_mt
mod_field = $(word $(1),$(subst :, ,$(2)))
MODULES_PRESENT = $(foreach m,$(MODULES),$(if $(and $(wildcard $(call mod_field,1,$(m))),$(wildcard $(call mod_field,2,$(m)))),$(m)))
LIB_MODULES     = $(foreach m,$(MODULES_PRESENT),$(if $(call mod_field,3,$(m)),,$(m)))
MODULE_HEADERS  = $(foreach m,$(LIB_MODULES),$(call mod_field,1,$(m)))
MODULE_SOURCES  = $(foreach m,$(LIB_MODULES),$(call mod_field,2,$(m)))

# nanopb's sources to fold in: NANOPB_DIR if given, else Debian's source
# package of the installed generator (the rule in bench/bench.mk fetches it).
NANOPB_SRC_DIR = $(if $(NANOPB_DIR),$(NANOPB_DIR),build/nanopb-src)
DIST ?= dist

.PHONY: amalgamation lib install uninstall size print-lib-sources
# what libcanal is made of, for test/check_dist.sh
print-lib-sources:
	@echo $(notdir $(MODULE_SOURCES))

amalgamation: $(if $(FOLD_NANOPB),$(NANOPB_SRC_DIR)/pb_decode.c)
	$(PYTHON) tools/amalgamate.py $(if $(FOLD_NANOPB),--nanopb $(NANOPB_SRC_DIR)) $(DIST) $(MODULES)

# ---------------------------------------------------------------- library
# libcanal is built from the self-contained amalgamation: nanopb is inside,
# internal, so the library exports only canal_* names, needs only libc, and
# its users cannot link it with a nanopb built with other PB_* macros.
VERSION   := $(shell sed -n 's/^\#define CANAL_VERSION "\([^"]*\)".*/\1/p' canal.h)
V_MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
V_MINOR   := $(word 2,$(subst ., ,$(VERSION)))
# Before 1.0 every minor version may change the ABI, so the soname carries it.
SOVERSION := $(if $(filter 0,$(V_MAJOR)),0.$(V_MINOR),$(V_MAJOR))
SONAME    := libcanal.so.$(SOVERSION)
LIB_B     := build/lib
LIB_OBJS   = $(patsubst %.c,$(LIB_B)/%.o,$(notdir $(MODULE_SOURCES)))

lib: $(LIB_B)/libcanal.a $(LIB_B)/libcanal.so.$(VERSION)

$(LIB_B)/src/.stamp: $(MODULE_HEADERS) $(MODULE_SOURCES) $(PB_SRC) pb/CanalProtocol.pb.h pb/EntryProtocol.pb.h \
                     tools/amalgamate.py $(NANOPB_SRC_DIR)/pb_decode.c
	$(PYTHON) tools/amalgamate.py --nanopb $(NANOPB_SRC_DIR) $(LIB_B)/src $(MODULES)
	touch $@

$(LIB_B)/libcanal.a: $(LIB_B)/src/.stamp
	for s in $(notdir $(MODULE_SOURCES)); do \
	  $(CC) $(STD) $(WARN) $(OPT) -fPIC $(CFLAGS) -c -o $(LIB_B)/$${s%.c}.o $(LIB_B)/src/$$s || exit 1; \
	done
	rm -f $@ && ar rcs $@ $(LIB_OBJS)

$(LIB_B)/libcanal.so.$(VERSION): $(LIB_B)/libcanal.a
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -o $@ $(LIB_OBJS) $(LDFLAGS)

# ---------------------------------------------------------------- install
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig
CMAKEDIR   ?= $(LIBDIR)/cmake/canal
SIZEOF_VOID_P = $(shell $(CC) -dM -E - </dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')
SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
            -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME@|$(SONAME)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' \
            -e 's|@SIZEOF_VOID_P@|$(SIZEOF_VOID_P)|g'

# Exactly what install writes and uninstall removes.
INSTALLED = $(addprefix $(INCLUDEDIR)/,$(notdir $(MODULE_HEADERS))) \
            $(LIBDIR)/libcanal.a $(LIBDIR)/libcanal.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/libcanal.so \
            $(PCDIR)/canal.pc $(CMAKEDIR)/canalConfig.cmake $(CMAKEDIR)/canalConfigVersion.cmake

install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(CMAKEDIR)
	install -m 644 $(MODULE_HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIB_B)/libcanal.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_B)/libcanal.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libcanal.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libcanal.so
	$(SUBST) canal.pc.in >$(DESTDIR)$(PCDIR)/canal.pc
	$(SUBST) cmake/canalConfig.cmake.in >$(DESTDIR)$(CMAKEDIR)/canalConfig.cmake
	$(SUBST) cmake/canalConfigVersion.cmake.in >$(DESTDIR)$(CMAKEDIR)/canalConfigVersion.cmake

# Only canal's own directory goes with the files; shared ones (lib/, include/,
# pkgconfig/) may hold other things and stay.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true

# ---------------------------------------------------------------- size
# Text bytes at -Os of the client in each form: the client's own objects,
# nanopb's runtime (from Debian's sources, built with the macros of that
# form), and the sum; in the self-contained form they are one object.
SIZE_B := build/size
size: $(NANOPB_SRC_DIR)/pb_decode.c
	@mkdir -p $(SIZE_B)
	@$(PYTHON) tools/amalgamate.py $(SIZE_B)/dist canal.h:canal.c >/dev/null
	@$(PYTHON) tools/amalgamate.py --nanopb $(NANOPB_SRC_DIR) $(SIZE_B)/dist-libc canal.h:canal.c >/dev/null
	@set -e; text() { $(CC) $(STD) -Os $$2 -c -o $(SIZE_B)/t.o $$1 && size $(SIZE_B)/t.o | awk 'NR==2{print $$1}'; }; \
	c=$$(text canal.c "-I. -DPB_ENABLE_MALLOC"); \
	for f in $(PB_SRC); do c=$$((c + $$(text $$f -I.))); done; \
	n=0; for f in pb_common pb_decode pb_encode; do \
	  n=$$((n + $$(text $(NANOPB_SRC_DIR)/$$f.c "-I$(NANOPB_SRC_DIR) -DPB_ENABLE_MALLOC"))); done; \
	d=$$(text $(SIZE_B)/dist/canal.c -DPB_ENABLE_MALLOC); \
	s=$$(text $(SIZE_B)/dist-libc/canal.c ""); \
	echo "text bytes at -Os, $$($(CC) --version | head -n1)"; \
	printf '%-58s %7s %7s %7s\n' form client nanopb total; \
	printf '%-58s %7s %7s %7s\n' "canal.c + pb/*.pb.c, nanopb as Debian's (PB_ENABLE_MALLOC)" $$c $$n $$((c + n)); \
	printf '%-58s %7s %7s %7s\n' "dist/canal.c, nanopb as Debian's (PB_ENABLE_MALLOC)" $$d $$n $$((d + n)); \
	printf '%-58s %7s %7s %7s\n' "dist/canal.c self-contained (nanopb in, PB_BUFFER_ONLY)" - - $$s
