# fuzz/fuzz.mk - fuzz targets and the fault-injection test. Included by the
# Makefile after its own variables (B, STD, WARN, NANOPB_*, PB_SRC, LIB_SRC,
# ALL_CFLAGS); defines no default goal.
#
#   make fuzz         every target for FUZZ_SECONDS (60) each; ends with
#                     "fuzz: N passed, M failed" (passed = no crash)
#   make fuzz-smoke   every target on its seeds + FUZZ_SMOKE_RUNS mutations
#   make faults       build and run test/test_faults.c
#
# fuzz_frames and fuzz_decode compile canal.c into themselves (to check its
# buffers and arenas); fuzz_flat links canal.c and canal_flat.c and checks the
# FlatMessage lines. All with clang's libFuzzer, ASan and UBSan. With Debian's nanopb the
# runtime is an uninstrumented library; `make fuzz NANOPB_DIR=...` compiles a
# nanopb source tree in, so nanopb is instrumented and sanitized too (add
# ASAN_OPTIONS=detect_stack_use_after_return=1 to catch dangling views).
# Seeds: fuzz/corpus/<target> (fuzz/mkseeds.py); growth: $(B)/fuzz-corpus.

FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_SMOKE_RUNS ?= 5000
FUZZ_TARGETS    := fuzz_frames fuzz_decode fuzz_flat fuzz_values fuzz_diff
FUZZ_FLAGS      := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                   -fno-omit-frame-pointer

.PHONY: fuzz fuzz-build fuzz-smoke faults

$(B)/fuzz_frames $(B)/fuzz_decode $(B)/fuzz_values $(B)/fuzz_diff: $(B)/%: fuzz/%.c fuzz/fuzz_common.h fuzz/fuzz_check.h canal.c canal.h $(PB_SRC) | $(B)
	$(FUZZ_CC) $(STD) $(WARN) $(FUZZ_FLAGS) $(NANOPB_DEFS) $(NANOPB_INC) -I. $(CFLAGS) \
	  -o $@ $< $(PB_SRC) $(NANOPB_SRC) $(NANOPB_LIB) $(LDFLAGS)

$(B)/fuzz_diff: test/dump.h

# The FlatMessage module, on the public API: canal.c is linked, not included.
$(B)/fuzz_flat: fuzz/fuzz_flat.c fuzz/fuzz_check.h canal.c canal.h canal_flat.c canal_flat.h $(PB_SRC) | $(B)
	$(FUZZ_CC) $(STD) $(WARN) $(FUZZ_FLAGS) $(NANOPB_DEFS) $(NANOPB_INC) -I. $(CFLAGS) \
	  -o $@ fuzz/fuzz_flat.c canal_flat.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

fuzz-build: $(addprefix $(B)/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@sh fuzz/run.sh $(B) time $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	@sh fuzz/run.sh $(B) smoke $(FUZZ_SMOKE_RUNS)

# Public API only, like test_client. Under valgrind, CANAL_FAULT_SCALE=K
# divides its big counts by K (it runs in ~25 s there unscaled).
$(B)/test_faults: test/test_faults.c test/peer.h test/tinytest.h canal.h $(LIB_SRC) | $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ test/test_faults.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

faults: $(B)/test_faults $(B)/fixtures/.stamp
	$(B)/test_faults $(B)/fixtures
