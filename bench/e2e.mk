# End-to-end benchmark over loopback: included from the top-level Makefile,
# which defines CC, ALL_CFLAGS, LIB_SRC, NANOPB_LIB, LDFLAGS and B.
#
#   $(B)/bench/replay  fast replay Canal server (plain C, no protobuf library)
#   $(B)/bench/e2e     the canal-c client loop it measures
#
# Both are built -O2 whatever OPT says: BENCH_OPT comes last on the command
# line, so it wins over the -O in ALL_CFLAGS (sanitizer flags, if any, stay).
# The directory is made in each recipe rather than by a shared "$(B)/bench"
# rule, so that bench.mk may be included alongside without a duplicate rule.

BENCH_OPT ?= -O2

$(B)/bench/replay: bench/replay.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BENCH_OPT) -o $@ bench/replay.c $(LDFLAGS)

$(B)/bench/e2e: bench/e2e.c canal.h $(LIB_SRC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BENCH_OPT) -o $@ bench/e2e.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)
