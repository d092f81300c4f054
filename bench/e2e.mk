# bench/e2e.mk - end-to-end benchmark over loopback: canal-c's get/decode/ack
# loop (e2e) against a replay server that is never the bottleneck (replay).
# Included from the Makefile, whose variables it uses: $(B), $(CC),
# $(ALL_CFLAGS), $(LIB_SRC), $(NANOPB_LIB), $(LDFLAGS); bench-e2e also uses
# bench.mk's stream generator and bench-deps.
#
#   $(B)/bench/replay   replays a file of GET replies (plain C, no protobuf library)
#   $(B)/bench/e2e      the client loop; prints rows=.. seconds=.. rows_per_s=..
#                       peak_rss_kib=.. allocs_per_batch=.. mb_per_s=..
#   make bench-e2e      both consumers (row decoding, --raw-only) on BENCH_STREAM
#
# Both programs are built -O2 whatever OPT says: BENCH_OPT comes last on the
# command line, so it wins over the -O in ALL_CFLAGS (sanitizer flags, if
# any, stay). Directories are made in the recipes rather than by a shared
# "$(B)/bench" rule, so that bench.mk can define its own without a clash.

BENCH_OPT    ?= -O2
ROWS         ?= 500000
BENCH_STREAM ?= $(B)/bench/stream-$(ROWS).bin

$(B)/bench/replay: bench/replay.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BENCH_OPT) -o $@ bench/replay.c $(LDFLAGS)

$(B)/bench/e2e: bench/e2e.c canal.h $(LIB_SRC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BENCH_OPT) -o $@ bench/e2e.c $(LIB_SRC) $(NANOPB_LIB) $(LDFLAGS)

# One replay server (it serves connections one after another, each from the
# start of the stream), both consumers against it; fails unless both saw the
# same number of rows. The server is stopped by its pid however the run ends.
.PHONY: bench-e2e
bench-e2e: bench-deps
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) \
	  $(B)/bench/replay $(B)/bench/e2e $(BENCH_STREAM)
	@set -e; out=$(B)/bench/e2e-results.txt; pf=$(B)/bench/replay.port; rm -f $$pf; : >$$out; \
	$(B)/bench/replay --port 0 --port-file $$pf --stream $(BENCH_STREAM) >/dev/null 2>$(B)/bench/replay.log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do [ -s $$pf ] && break; kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	[ -s $$pf ] || { cat $(B)/bench/replay.log >&2; echo "bench-e2e: replay did not start" >&2; exit 1; }; \
	port=$$(cat $$pf); rows=; \
	for mode in "" --raw-only; do \
	  r=$$($(B)/bench/e2e --port $$port --quiet $$mode); \
	  echo "e2e$${mode:+ $$mode}: $$(echo $$r)" | tee -a $$out; \
	  rows="$$rows $$(echo "$$r" | tail -n 1 | cut -d' ' -f1)"; \
	done; \
	set -- $$rows; [ "$$1" = "$$2" ] || { echo "bench-e2e: row counts differ: $$rows" >&2; exit 1; }
