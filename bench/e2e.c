/*
 * e2e.c - end-to-end throughput of canal-c against a Canal server.
 *
 * Connects, subscribes, then get -> consume -> ack until the first empty
 * batch, and prints one line:
 *
 *     rows=N seconds=S rows_per_s=R peak_rss_kib=K allocs_per_batch=A mb_per_s=M
 *
 * It uses canal-c's public API only, the way an application would, so the
 * figure includes everything a real consumer pays: the GET round trip, frame
 * reading, header decoding in canal_get, row decoding, the ack. --pipeline N
 * sets canal_options.get_pipeline: with N > 1 canal-c keeps N GETs in flight
 * and the round trip overlaps the consumer's work (replay --rtt-ms gives the
 * round trip of a real link).
 *
 * Consumers (what "consume" means):
 *   - default: every ROWDATA entry is decoded with canal_entry_rowchange and
 *     every column of every row image is touched: name, value (pointer and
 *     length) and is_null go into a checksum, so nothing can be optimised
 *     away and the cost of reading the decoded values is counted;
 *   - --raw-only: the lazy consumer that forwards entries without looking at
 *     rows: only each entry's raw bytes are touched (sum of lengths, XOR of
 *     the first byte). Rows are then counted from the header's "rowsCount"
 *     property (what Canal's MySQL parser puts on DML entries), since the
 *     rows themselves are not decoded.
 *
 * Figures:
 *   - seconds: from the first GET to the end of the first empty one
 *     (connect, handshake and subscribe are not counted);
 *   - mb_per_s: raw entry bytes (canal_entry.raw, 10^6 bytes per MB) per
 *     second; frame overhead is a few bytes per entry on top;
 *   - peak_rss_kib: getrusage(RUSAGE_SELF).ru_maxrss, the high-water mark of
 *     the whole process;
 *   - allocs_per_batch: malloc + realloc calls made by canal-c (counted
 *     through canal_options' allocation hooks) after the first 3 non-empty
 *     batches, divided by the number of non-empty batches after them. canal-c
 *     promises 0 once its buffers have grown to the stream's batch size.
 *     "nan" when there were 3 batches or fewer.
 *
 * Exit status: 0 done, 1 any error (on stderr), 2 bad command line.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, getrusage */
#endif

#include "canal.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The first batches are the warm-up: canal-c's receive buffer and decode
 * vectors grow to the stream's sizes there. */
#define WARMUP_BATCHES 3

/* ------------------------------------------------------------ allocation count */

typedef struct alloc_count {
    uint64_t calls; /* malloc + realloc */
    uint64_t frees;
} alloc_count;

static void *count_malloc(void *ud, size_t n) {
    ((alloc_count *)ud)->calls++;
    return malloc(n);
}

static void *count_realloc(void *ud, void *p, size_t n) {
    ((alloc_count *)ud)->calls++;
    return realloc(p, n);
}

static void count_free(void *ud, void *p) {
    if (p) ((alloc_count *)ud)->frees++;
    free(p);
}

/* ------------------------------------------------------------ consumers */

typedef struct totals {
    uint64_t batches, entries, rowdata, rows, raw_bytes;
    uint64_t sum; /* lengths (and is_null flags) of everything touched */
    uint8_t x;    /* XOR of first bytes */
} totals;

/* Touch one row image. ptr[0] is always readable: canal-c's strings are
 * NUL-terminated, so an empty value reads its terminator. */
static void touch_columns(totals *t, const canal_column *cols, size_t n) {
    for (size_t k = 0; k < n; k++) {
        const canal_column *col = &cols[k];
        t->sum += col->name.len + col->value.len + (col->is_null ? 1u : 0u);
        t->x ^= (uint8_t)(col->name.ptr[0] ^ col->value.ptr[0]);
    }
}

/* "rowsCount" from the header's props; 0 when absent (DDL, non-MySQL). */
static uint64_t header_rows(const canal_header *h) {
    for (size_t i = 0; i < h->n_props; i++) {
        const canal_pair *p = &h->props[i];
        if (p->key.len == 9 && memcmp(p->key.ptr, "rowsCount", 9) == 0)
            return strtoull(p->value.ptr, NULL, 10);
    }
    return 0;
}

static int consume(canal_client *c, const canal_message *m, int raw_only, totals *t) {
    for (size_t i = 0; i < m->n_entries; i++) {
        const canal_entry *e = &m->entries[i];
        t->entries++;
        t->raw_bytes += e->raw.len;
        if (e->entry_type == CANAL_ROWDATA) t->rowdata++;
        if (raw_only) {
            t->sum += e->raw.len;
            if (e->raw.len > 0) t->x ^= e->raw.ptr[0];
            if (e->entry_type == CANAL_ROWDATA) t->rows += header_rows(&e->header);
            continue;
        }
        if (e->entry_type != CANAL_ROWDATA) continue;
        canal_rowchange rc;
        if (canal_entry_rowchange(c, e, &rc) < 0) {
            fprintf(stderr, "e2e: batch %" PRId64 " entry %zu: %s\n", m->batch_id, i, canal_errstr(c));
            return -1;
        }
        t->rows += rc.n_rows;
        for (size_t r = 0; r < rc.n_rows; r++) {
            touch_columns(t, rc.rows[r].before, rc.rows[r].n_before);
            touch_columns(t, rc.rows[r].after, rc.rows[r].n_after);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ command line */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_int(const char *flag, const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "e2e: --%s: want an integer in %ld..%ld, got '%s'\n", flag, min, max, s);
        return 0;
    }
    *out = v;
    return 1;
}

static void usage(FILE *to) {
    fputs("usage: e2e [options]\n"
          "  --host H             server (127.0.0.1)\n"
          "  --port N             port (11111)\n"
          "  --destination D      Canal instance (example)\n"
          "  --client-id N        client id, a Java short (1001)\n"
          "  --user U             user name\n"
          "  --password P         password\n"
          "  --filter F           subscription filter (default: keep the server's)\n"
          "  --batch-size N       entries per GET (1000)\n"
          "  --timeout-ms N       how long the server may wait to fill a batch; -1 = answer\n"
          "                       at once (-1: the run ends when the server has nothing left)\n"
          "  --read-timeout-ms N  longest wait for any reply (60000)\n"
          "  --pipeline N         canal_options.get_pipeline: GETs kept in flight\n"
          "                       (default: canal-c's default)\n"
          "  --raw-only           touch raw entry bytes only, decode no rows\n"
          "  --no-utf8-check      canal_options.validate_utf8 = false\n"
          "  --expect-rows N      fail unless exactly N rows were seen\n"
          "  --quiet              print only the result line\n",
          to);
}

int main(int argc, char **argv) {
    enum { HOST = 1, PORT, DEST, CLIENT_ID, USER, PASSWORD, FILTER, BATCH, TIMEOUT, READ_TIMEOUT,
           PIPELINE, RAW_ONLY, NO_UTF8, EXPECT, QUIET, HELP };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, HOST},
        {"port", required_argument, NULL, PORT},
        {"destination", required_argument, NULL, DEST},
        {"client-id", required_argument, NULL, CLIENT_ID},
        {"user", required_argument, NULL, USER},
        {"password", required_argument, NULL, PASSWORD},
        {"filter", required_argument, NULL, FILTER},
        {"batch-size", required_argument, NULL, BATCH},
        {"timeout-ms", required_argument, NULL, TIMEOUT},
        {"read-timeout-ms", required_argument, NULL, READ_TIMEOUT},
        {"pipeline", required_argument, NULL, PIPELINE},
        {"raw-only", no_argument, NULL, RAW_ONLY},
        {"no-utf8-check", no_argument, NULL, NO_UTF8},
        {"expect-rows", required_argument, NULL, EXPECT},
        {"quiet", no_argument, NULL, QUIET},
        {"help", no_argument, NULL, HELP},
        {NULL, 0, NULL, 0}};

    alloc_count ac = {0, 0};
    canal_options o;
    canal_options_init(&o);
    o.malloc_fn = count_malloc;
    o.realloc_fn = count_realloc;
    o.free_fn = count_free;
    o.alloc_ud = &ac;
    const char *filter = NULL;
    long batch_size = 1000, timeout_ms = -1, expect_rows = -1, v;
    int raw_only = 0, quiet = 0, ok = 1, ch;

    opterr = 0;
    while (ok && (ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (ch) {
        case HOST: o.host = optarg; break;
        case PORT: ok = parse_int("port", optarg, 1, 65535, &v), o.port = (int)v; break;
        case DEST: o.destination = optarg; break;
        case CLIENT_ID: ok = parse_int("client-id", optarg, -32768, 32767, &v), o.client_id = (int)v; break;
        case USER: o.username = optarg; break;
        case PASSWORD: o.password = optarg; break;
        case FILTER: filter = optarg; break;
        case BATCH: ok = parse_int("batch-size", optarg, 1, INT_MAX, &batch_size); break;
        case TIMEOUT: ok = parse_int("timeout-ms", optarg, -1, INT_MAX, &timeout_ms); break;
        case READ_TIMEOUT:
            ok = parse_int("read-timeout-ms", optarg, 1, INT_MAX, &v), o.read_timeout_ms = (int)v;
            break;
        case PIPELINE:
            ok = parse_int("pipeline", optarg, 1, INT_MAX, &v), o.get_pipeline = (int)v;
            break;
        case RAW_ONLY: raw_only = 1; break;
        case NO_UTF8: o.validate_utf8 = false; break;
        case EXPECT: ok = parse_int("expect-rows", optarg, 0, LONG_MAX, &expect_rows); break;
        case QUIET: quiet = 1; break;
        case HELP: usage(stdout); return 0;
        case ':': fprintf(stderr, "e2e: %s needs a value\n", argv[optind - 1]); ok = 0; break;
        default: fprintf(stderr, "e2e: unknown option %s\n", argv[optind - 1]); ok = 0; break;
        }
    }
    if (ok && optind < argc) {
        fprintf(stderr, "e2e: unexpected argument '%s'\n", argv[optind]);
        ok = 0;
    }
    if (!ok) {
        usage(stderr);
        return 2;
    }

    canal_client *c = canal_client_new(&o);
    if (!c) {
        fprintf(stderr, "e2e: out of memory\n");
        return 1;
    }
    if (canal_errcode(c) < 0 || canal_connect(c) < 0 || canal_subscribe(c, filter) < 0) {
        fprintf(stderr, "e2e: %s:%d/%s: %s\n", o.host, o.port, o.destination, canal_errstr(c));
        canal_client_free(c);
        return 1;
    }
    uint64_t setup_allocs = ac.calls;

    totals t;
    memset(&t, 0, sizeof t);
    uint64_t allocs_after_warmup = 0;
    int rc = 0;
    double t0 = now_s();
    for (;;) {
        const canal_message *m;
        if (canal_get(c, (int)batch_size, (int)timeout_ms, &m) < 0) {
            fprintf(stderr, "e2e: get after %" PRIu64 " batches: %s\n", t.batches, canal_errstr(c));
            rc = 1;
            break;
        }
        if (m->batch_id == -1) break; /* drained; never ack -1 */
        if (consume(c, m, raw_only, &t) < 0) {
            rc = 1;
            break;
        }
        if (canal_ack(c, m->batch_id) < 0) {
            fprintf(stderr, "e2e: ack %" PRId64 ": %s\n", m->batch_id, canal_errstr(c));
            rc = 1;
            break;
        }
        if (++t.batches == WARMUP_BATCHES) allocs_after_warmup = ac.calls;
    }
    double secs = now_s() - t0;
    /* Allocations after the warm-up batches; none when there were no more. */
    uint64_t steady_allocs = t.batches > WARMUP_BATCHES ? ac.calls - allocs_after_warmup : 0;
    canal_client_free(c);
    if (rc) return rc;

    struct rusage ru;
    long peak_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1; /* KiB on Linux */
    double steady_batches = t.batches > WARMUP_BATCHES ? (double)(t.batches - WARMUP_BATCHES) : 0;
    double allocs_per_batch = steady_batches > 0 ? (double)steady_allocs / steady_batches : NAN;
    if (secs <= 0) secs = 1e-9;

    if (!quiet)
        fprintf(stderr,
                "e2e: %s consumer, batch size %ld, %d GETs in flight: %" PRIu64 " batches, %" PRIu64 " entries (%" PRIu64
                " ROWDATA), %" PRIu64 " raw bytes; checksum %" PRIu64 "/%02x; canal-c allocations: %"
                PRIu64 " in setup, %" PRIu64 " in total, %" PRIu64 " after warm-up%s\n",
                raw_only ? "raw-only" : "decoding", batch_size, o.get_pipeline, t.batches, t.entries, t.rowdata,
                t.raw_bytes, t.sum, t.x, setup_allocs, ac.calls, steady_allocs,
                raw_only ? "; rows from header rowsCount" : "");
    /* The last line carries exactly the keys the issue names, so a strict
     * reader can parse it; the byte rate comes on the line before. */
    printf("raw_bytes=%" PRIu64 " mb_per_s=%.1f\n", t.raw_bytes, (double)t.raw_bytes / 1e6 / secs);
    printf("rows=%" PRIu64 " seconds=%.4f rows_per_s=%.0f peak_rss_kib=%ld allocs_per_batch=%.2f\n",
           t.rows, secs, (double)t.rows / secs, peak_kib, allocs_per_batch);
    if (fflush(stdout) != 0) {
        perror("e2e: stdout");
        return 1;
    }
    if (expect_rows >= 0 && t.rows != (uint64_t)expect_rows) {
        fprintf(stderr, "e2e: saw %" PRIu64 " rows, expected %ld\n", t.rows, expect_rows);
        return 1;
    }
    return 0;
}
