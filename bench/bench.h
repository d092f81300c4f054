/*
 * bench/bench.h - what the two decode benchmarks (ref_cpp.cc with Google's
 * C++ protobuf, decode.c with canal-c) share: the stream file, the clock and
 * the checksum. Both include this one definition, so equal checksums mean
 * both decoders saw the same rows, names, values and NULL flags, and the
 * compiler cannot drop any of the decoding work.
 *
 * Plain C99 that also compiles as C++; everything is static so each program
 * gets its own copy.
 */
#ifndef CANAL_BENCH_H
#define CANAL_BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Timed passes (the default of --passes) after one warm-up pass; the median
 * is reported so that one slow pass (page faults, another process) does not
 * move the figure. */
#define BENCH_PASSES 5

/* One FNV-1a step over a 64-bit word: cheap (one multiply) next to decoding,
 * and order-sensitive, so a column seen out of place changes the result. */
static inline uint64_t bench_mix(uint64_t h, uint64_t v) {
    return (h ^ v) * UINT64_C(0x100000001b3);
}

#define BENCH_SEED UINT64_C(0xcbf29ce484222325)

/* Column: name, value and NULL flag. Lengths, first bytes and the flag are
 * folded in; the value's length counts NUL bytes inside binary values, so a
 * decoder that cut values at a NUL would disagree. */
static inline uint64_t bench_column(uint64_t h, const char *name, size_t name_len,
                                    const char *value, size_t value_len, bool is_null) {
    uint64_t first = (name_len ? (uint8_t)name[0] : 0u) |
                     (uint64_t)(value_len ? (uint8_t)value[0] : 0u) << 8 |
                     (uint64_t)is_null << 16;
    h = bench_mix(h, name_len);
    h = bench_mix(h, value_len);
    return bench_mix(h, first);
}

/* Entry: what a consumer that only routes or forwards entries looks at (the
 * header's position and table, the raw bytes). Full decoding does this too. */
static inline uint64_t bench_entry(uint64_t h, int entry_type, const void *raw, size_t raw_len,
                                   int64_t logfile_offset, size_t schema_len, size_t table_len,
                                   int event_type) {
    h = bench_mix(h, (uint64_t)(uint32_t)entry_type);
    h = bench_mix(h, raw_len);
    h = bench_mix(h, raw_len ? ((const uint8_t *)raw)[0] : 0u);
    h = bench_mix(h, (uint64_t)logfile_offset);
    h = bench_mix(h, schema_len << 32 | table_len);
    return bench_mix(h, (uint64_t)(uint32_t)event_type);
}

/* Header-only consumers count rows from the rowsCount pair Canal puts on
 * DML entry headers; both programs call this for every header pair. */
static inline uint64_t bench_rows_count(const char *key, size_t key_len, const char *value) {
    if (key_len != 9 || memcmp(key, "rowsCount", 9) != 0) return 0;
    return strtoull(value, NULL, 10);
}

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The whole stream file in memory, so the passes time decoding and not the
 * disk. Exits with a message on failure (a benchmark has nothing to recover). */
static inline uint8_t *bench_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(1);
    }
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot size the file\n", path);
        exit(1);
    }
    uint8_t *buf = (uint8_t *)malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: %s\n", path, buf ? "short read" : "out of memory");
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The next frame of the stream at *pos: 4-byte big-endian length, then that
 * many Packet bytes. Returns false at the end; exits on a cut frame. */
static inline bool bench_next_frame(const uint8_t *buf, size_t len, size_t *pos,
                                    const uint8_t **body, size_t *body_len) {
    if (*pos == len) return false;
    if (len - *pos < 4) {
        fprintf(stderr, "stream: cut frame header at byte %zu\n", *pos);
        exit(1);
    }
    const uint8_t *p = buf + *pos;
    size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (n > len - *pos - 4) {
        fprintf(stderr, "stream: frame at byte %zu announces %zu bytes, %zu left\n", *pos, n,
                len - *pos - 4);
        exit(1);
    }
    *body = p + 4;
    *body_len = n;
    *pos += 4 + n;
    return true;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The result line both programs print and bench.mk compares. MB = 10^6
 * bytes of the stream file (frame headers included). */
static inline void bench_report(const char *label, uint64_t rows, double *secs, int passes,
                                size_t bytes, uint64_t checksum) {
    qsort(secs, (size_t)passes, sizeof *secs, bench_cmp_double);
    double s = secs[passes / 2];
    printf("%s: rows=%llu seconds=%.4f rows_per_s=%.0f mb_per_s=%.1f checksum=%016llx\n", label,
           (unsigned long long)rows, s, (double)rows / s, (double)bytes / 1e6 / s,
           (unsigned long long)checksum);
}

#endif /* CANAL_BENCH_H */
