/* fuzz_common.h - what both fuzz targets check on everything canal.c hands
 * out. Included after "../canal.c" (the targets compile canal.c into
 * themselves so they can see where its buffers and arenas are).
 *
 * Any broken promise of canal.h is a crash here (abort), so libFuzzer keeps
 * the input: a view that points outside the bytes it claims to view, a string
 * without its terminator, a string that is not UTF-8 although validation is
 * on, a code outside canal_err, an error without text, and any disagreement
 * between canal.c's UTF-8 / ISO-8859-1 code and the simple references below. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Allocation failures a target injected so far, and whether the client may
 * run out of memory on its own (no-heap mode): a call during which an
 * injected failure happened must return CANAL_ENOMEM, and CANAL_ENOMEM must
 * come from such a failure. */
static unsigned long fz_alloc_failures;
static bool fz_may_run_out;


/* [p, p+n) lies inside [lo, lo+lo_n). Compared as integers: the pointers may
 * come from different objects when canal.c is wrong, which is the point. */
static int fz_inside(const void *p, size_t n, const void *lo, size_t lo_n) {
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)lo;
    return a >= b && a - b <= lo_n && n <= lo_n - (a - b);
}

/* Well-formed UTF-8 exactly as Unicode's table 3-7 spells it, byte by byte:
 * an independent reference for canal.c's utf8_valid. */
static int ref_utf8_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        uint8_t lo = 0x80, hi = 0xBF;
        size_t k;
        if (b <= 0x7F) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) k = 1;
        else if (b == 0xE0) k = 2, lo = 0xA0;
        else if (b >= 0xE1 && b <= 0xEC) k = 2;
        else if (b == 0xED) k = 2, hi = 0x9F;
        else if (b >= 0xEE && b <= 0xEF) k = 2;
        else if (b == 0xF0) k = 3, lo = 0x90;
        else if (b >= 0xF1 && b <= 0xF3) k = 3;
        else if (b == 0xF4) k = 3, hi = 0x8F;
        else return 0;
        if (n - i < k + 1) return 0;
        if (p[i + 1] < lo || p[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xBF) return 0;
        i += k + 1;
    }
    return 1;
}

/* Reference for canal_latin1_to_bytes: decode UTF-8 code points; all must be
 * <= U+00FF. Returns 0 and the bytes, or -1. */
static int ref_latin1(const uint8_t *p, size_t n, uint8_t *out, size_t *out_len) {
    if (!ref_utf8_valid(p, n)) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) out[o++] = p[i++];
        else if (p[i] == 0xC2 || p[i] == 0xC3) {
            out[o++] = (uint8_t)(((p[i] & 3) << 6) | (p[i + 1] & 0x3F));
            i += 2;
        } else return -1;
    }
    *out_len = o;
    return 0;
}

/* fz_check_rc after a call that started when fz_alloc_failures was f0. */
#define FZ_CALL(c, rc, expr)                                                \
    do {                                                                    \
        unsigned long f0_ = fz_alloc_failures;                              \
        (rc) = (expr);                                                      \
        fz_check_rc((c), (rc));                                             \
        if (fz_alloc_failures != f0_) FZ_CHECK((rc) == CANAL_ENOMEM);       \
        if ((rc) == CANAL_ENOMEM) FZ_CHECK(fz_alloc_failures != f0_ || fz_may_run_out); \
    } while (0)

static void fz_check_rc(canal_client *c, int rc) {
    FZ_CHECK(rc <= 0 && rc >= CANAL_ENOMEM);
    FZ_CHECK(canal_errcode(c) == rc);
    const char *s = canal_errstr(c);
    FZ_CHECK(s != NULL);
    FZ_CHECK(memchr(s, '\0', CANAL_ERRSTR_SIZE) != NULL);
    if (rc == CANAL_OK) FZ_CHECK(s[0] == '\0');
    else FZ_CHECK(s[0] != '\0');
    FZ_CHECK(strcmp(canal_strerror(rc), "CANAL_E?") != 0);
    if (canal_server_code(c) != 0) FZ_CHECK(rc == CANAL_ESERVER || rc == CANAL_EAUTH);
}

/* A string handed out: never NULL, NUL at len, inside the arena it was
 * copied to (or the shared empty string), UTF-8 when validation is on. */
static void fz_check_str(const canal_client *c, const arena *a, canal_str s) {
    FZ_CHECK(s.ptr != NULL);
    if (s.ptr == empty_str) {
        FZ_CHECK(s.len == 0);
        return;
    }
    FZ_CHECK(a->base != NULL && fz_inside(s.ptr, s.len + 1, a->base, a->cap));
    FZ_CHECK(s.ptr[s.len] == '\0');
    if (c->validate_utf8) FZ_CHECK(ref_utf8_valid((const uint8_t *)s.ptr, s.len));
}

static void fz_check_pairs(const canal_client *c, const arena *a, const vec *v,
                           const canal_pair *p, size_t n) {
    if (n == 0) {
        FZ_CHECK(p == NULL);
        return;
    }
    FZ_CHECK(fz_inside(p, n * sizeof *p, v->p, v->n * sizeof *p));
    for (size_t i = 0; i < n; i++) {
        fz_check_str(c, a, p[i].key);
        fz_check_str(c, a, p[i].value);
    }
}

/* A decoded message: every raw entry inside [lo, lo+lo_n) (the frame or the
 * caller's buffer), store values inside their entry, header strings in the
 * header arena. */
static void fz_check_message(const canal_client *c, const canal_message *m, const void *lo,
                             size_t lo_n) {
    FZ_CHECK(m == &c->batch.msg);
    FZ_CHECK((m->n_entries == 0) == (m->entries == NULL));
    for (size_t i = 0; i < m->n_entries; i++) {
        const canal_entry *e = &m->entries[i];
        FZ_CHECK(e->raw.ptr != NULL);
        FZ_CHECK(fz_inside(e->raw.ptr, e->raw.len, lo, lo_n));
        FZ_CHECK(e->store_value.ptr != NULL);
        if (e->store_value.len)
            FZ_CHECK(fz_inside(e->store_value.ptr, e->store_value.len, e->raw.ptr, e->raw.len));
        FZ_CHECK(e->has_entry_type || e->entry_type == 0);
        FZ_CHECK(canal_entry_type_name(e->entry_type) != NULL);
        const canal_header *h = &e->header;
        fz_check_str(c, &c->batch.hdr_str, h->logfile_name);
        fz_check_str(c, &c->batch.hdr_str, h->server_encode);
        fz_check_str(c, &c->batch.hdr_str, h->schema_name);
        fz_check_str(c, &c->batch.hdr_str, h->table_name);
        fz_check_str(c, &c->batch.hdr_str, h->gtid);
        fz_check_pairs(c, &c->batch.hdr_str, &c->batch.hdr_pairs, h->props, h->n_props);
        FZ_CHECK(canal_event_type_name(h->event_type) != NULL);
    }
}

/* ISO-8859-1 back to bytes, out of place and in place, against the reference. */
static void fz_check_latin1(canal_str v) {
    uint8_t *out = malloc(v.len + 1), *ref = malloc(v.len + 1), *inplace = malloc(v.len + 1);
    FZ_CHECK(out && ref && inplace);
    size_t n = (size_t)-1, rn = 0, n2 = (size_t)-1;
    int rc = canal_latin1_to_bytes(v.ptr, v.len, out, &n);
    int want = ref_latin1((const uint8_t *)v.ptr, v.len, ref, &rn);
    FZ_CHECK((rc == CANAL_OK) == (want == 0));
    FZ_CHECK(rc == CANAL_OK || rc == CANAL_EINVAL);
    if (rc == CANAL_OK) {
        FZ_CHECK(n == rn && n <= v.len && memcmp(out, ref, n) == 0);
        memcpy(inplace, v.ptr, v.len);
        FZ_CHECK(canal_latin1_to_bytes((const char *)inplace, v.len, inplace, &n2) == CANAL_OK);
        FZ_CHECK(n2 == n && memcmp(inplace, ref, n) == 0);
    }
    free(out);
    free(ref);
    free(inplace);
}

static void fz_check_columns(const canal_client *c, const canal_column *cols, size_t n,
                             const vec *v) {
    if (n == 0) {
        FZ_CHECK(cols == NULL);
        return;
    }
    FZ_CHECK(fz_inside(cols, n * sizeof *cols, v->p, v->n * sizeof *cols));
    for (size_t i = 0; i < n; i++) {
        const canal_column *k = &cols[i];
        fz_check_str(c, &c->batch.rc_str, k->name);
        fz_check_str(c, &c->batch.rc_str, k->value);
        fz_check_str(c, &c->batch.rc_str, k->mysql_type);
        FZ_CHECK(!k->is_null || k->has_is_null);
        fz_check_pairs(c, &c->batch.rc_str, &c->batch.col_pairs, k->props, k->n_props);
        fz_check_latin1(k->value);
    }
}

static int fz_check_rowchange(canal_client *c, int r, const canal_rowchange *rcp);

/* canal_entry_rowchange on e, and everything it returns. */
static int fz_rowchange(canal_client *c, const canal_entry *e) {
    canal_rowchange rc;
    memset(&rc, 0xa5, sizeof rc);
    int r;
    FZ_CALL(c, r, canal_entry_rowchange(c, e, &rc));
    if (e->entry_type != CANAL_ROWDATA) FZ_CHECK(r == CANAL_EINVAL);
    return fz_check_rowchange(c, r, &rc);
}

/* canal_rowchange_parse on bytes, and everything it returns. */
static inline int fz_rowchange_parse(canal_client *c, const uint8_t *data, size_t size) {
    canal_rowchange rc;
    memset(&rc, 0xa5, sizeof rc);
    int r;
    FZ_CALL(c, r, canal_rowchange_parse(c, data, size, &rc));
    return fz_check_rowchange(c, r, &rc);
}

static int fz_check_rowchange(canal_client *c, int r, const canal_rowchange *rcp) {
    canal_rowchange rc = *rcp;
    if (r < 0) {
        FZ_CHECK(r == CANAL_EINVAL || r == CANAL_EPROTO || r == CANAL_ENOMEM);
        FZ_CHECK(rc.n_rows == 0 && rc.rows == NULL);
        return r;
    }
    FZ_CHECK(rc.has_event_type || rc.event_type == 0);
    FZ_CHECK(!rc.is_ddl || rc.has_is_ddl);
    fz_check_str(c, &c->batch.rc_str, rc.sql);
    fz_check_str(c, &c->batch.rc_str, rc.ddl_schema_name);
    fz_check_pairs(c, &c->batch.rc_str, &c->batch.rc_pairs, rc.props, rc.n_props);
    FZ_CHECK((rc.n_rows == 0) == (rc.rows == NULL));
    if (rc.n_rows) FZ_CHECK(fz_inside(rc.rows, rc.n_rows * sizeof *rc.rows, c->batch.rows.p,
                                      c->batch.rows.cap * sizeof *rc.rows));
    for (size_t i = 0; i < rc.n_rows; i++) {
        const canal_row *row = &rc.rows[i];
        fz_check_columns(c, row->before, row->n_before, &c->batch.cols_before);
        fz_check_columns(c, row->after, row->n_after, &c->batch.cols_after);
        fz_check_pairs(c, &c->batch.rc_str, &c->batch.row_pairs, row->props, row->n_props);
    }
    return r;
}

/* Every entry of a message, as it is and forced to ROWDATA. */
static void fz_rowchanges(canal_client *c, const canal_message *m) {
    for (size_t i = 0; i < m->n_entries; i++) {
        canal_entry e = m->entries[i];
        fz_rowchange(c, &e);
        if (e.entry_type != CANAL_ROWDATA) {
            e.entry_type = CANAL_ROWDATA;
            fz_rowchange(c, &e);
        }
    }
}

#endif
