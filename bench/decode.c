/*
 * bench/decode.c - canal-c's decoding speed on bench/gen's stream, through
 * the public API only, doing the same work as ref_cpp.cc (Google's C++
 * protobuf) so the two figures compare like with like.
 *
 *   decode [--headers-only] [--passes N] STREAM
 *
 * Per frame (a raw GET reply): canal_message_parse on the Packet bytes, which
 * decodes every entry header, then canal_entry_rowchange for every ROWDATA
 * entry, touching every column's name, value and NULL flag. --headers-only
 * is the lazy consumer (routing or forwarding entries): headers and raw bytes
 * only, rows never decoded. The checksum (bench.h) must equal ref_cpp's for
 * the same mode and stream; bench.mk checks that.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */

#include "../canal.h"
#include "bench.h"

/* The nanopb build this binary was compiled for, in the result line, so
 * Debian-runtime and vendored figures cannot be mixed up. */
#ifdef PB_BUFFER_ONLY
#define RUNTIME "canal-c (nanopb PB_BUFFER_ONLY)"
#else
#define RUNTIME "canal-c"
#endif

static void die(canal_client *c, const char *what, size_t frame) {
    fprintf(stderr, "decode: frame %zu: %s: %s\n", frame, what, canal_errstr(c));
    exit(1);
}

static uint64_t columns(uint64_t h, const canal_column *cols, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = bench_column(h, cols[i].name.ptr, cols[i].name.len, cols[i].value.ptr, cols[i].value.len,
                         cols[i].is_null);
    return h;
}

/* One pass over the stream; returns the checksum, adds the row count to *rows. */
static uint64_t decode_pass(canal_client *c, const uint8_t *buf, size_t len, bool headers_only,
                            uint64_t *rows) {
    uint64_t h = BENCH_SEED;
    size_t pos = 0, frame = 0, n;
    const uint8_t *body;
    while (bench_next_frame(buf, len, &pos, &body, &n)) {
        const canal_message *m;
        if (canal_message_parse(c, body, n, true, &m) < 0) die(c, "message_parse", frame);
        h = bench_mix(h, (uint64_t)m->batch_id);
        for (size_t i = 0; i < m->n_entries; i++) {
            const canal_entry *e = &m->entries[i];
            const canal_header *hd = &e->header;
            h = bench_entry(h, e->entry_type, e->raw.ptr, e->raw.len, hd->logfile_offset,
                            hd->schema_name.len, hd->table_name.len, hd->event_type);
            if (headers_only) {
                for (size_t k = 0; k < hd->n_props; k++)
                    *rows += bench_rows_count(hd->props[k].key.ptr, hd->props[k].key.len,
                                              hd->props[k].value.ptr);
                continue;
            }
            if (e->entry_type != CANAL_ROWDATA) continue;
            canal_rowchange rc;
            if (canal_entry_rowchange(c, e, &rc) < 0) die(c, "entry_rowchange", frame);
            h = bench_mix(h, (uint64_t)(uint32_t)rc.event_type);
            h = bench_mix(h, rc.n_rows);
            for (size_t r = 0; r < rc.n_rows; r++) {
                h = columns(h, rc.rows[r].before, rc.rows[r].n_before);
                h = columns(h, rc.rows[r].after, rc.rows[r].n_after);
            }
            *rows += rc.n_rows;
        }
        frame++;
    }
    return h;
}

static void usage(void) {
    fprintf(stderr, "usage: decode [--headers-only] [--passes N] STREAM\n");
    exit(2);
}

int main(int argc, char **argv) {
    bool headers_only = false;
    int passes = BENCH_PASSES;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--headers-only")) headers_only = true;
        else if (i + 1 < argc && !strcmp(argv[i], "--passes")) passes = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else usage();
    }
    if (!path || passes < 1) usage();

    canal_client *c = canal_client_new(NULL); /* defaults: UTF-8 checked, as protobuf C++ does */
    double *secs = malloc((size_t)passes * sizeof *secs);
    if (!c || !secs) {
        fprintf(stderr, "decode: out of memory\n");
        return 1;
    }
    size_t len;
    uint8_t *buf = bench_read_file(path, &len);
    uint64_t rows = 0;
    uint64_t sum = decode_pass(c, buf, len, headers_only, &rows); /* warm-up; grows the client's arrays */
    for (int p = 0; p < passes; p++) {
        uint64_t r = 0;
        double t0 = bench_now();
        uint64_t s = decode_pass(c, buf, len, headers_only, &r);
        secs[p] = bench_now() - t0;
        if (s != sum || r != rows) {
            fprintf(stderr, "decode: pass %d gave a different result\n", p);
            return 1;
        }
    }
    bench_report(headers_only ? RUNTIME " headers-only" : RUNTIME, rows, secs, passes, len, sum);
    free(buf);
    free(secs);
    canal_client_free(c);
    return 0;
}
