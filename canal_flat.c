/*
 * canal_flat.c - FlatMessage JSON (see canal_flat.h and PROTOCOL.md section 8).
 *
 * Uses canal.h only. The line is written key by key in the alphabetical order
 * Canal's producers use (data, database, es, gtid, id, isDdl, mysqlType, old,
 * pkNames, sql, sqlType, table, ts, type), straight to the output: "data" is
 * written while the column maps of section 8.3 are built, and the maps are
 * read back for the later keys. Every map is an insertion-ordered list of
 * column pointers plus a hash index of names, so each column costs O(1), and a
 * row with 40,000 columns is as cheap per column as one with 4.
 */
#include "canal_flat.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_CHUNK 16384 /* output is handed to the callback in pieces this big */

/* An ordered map from column name to column, with the semantics of a Java
 * LinkedHashMap (and of PROTOCOL.md 8.3): a name keeps the position of its
 * first put, a later put replaces the column in place. The columns belong to
 * the caller and are only used during one canal_flat_write.
 *
 * The index is open addressing over 'slots' entries (a power of two, at least
 * twice n). A slot is in use when its stamp equals the map's generation, so
 * emptying the map for the next row is O(1), not O(slots). */
struct cmap {
    const canal_column **cols;
    size_t n, cap;
    size_t *pos;       /* slot -> index in cols */
    uint32_t *stamp;   /* slot -> generation that filled it */
    size_t slots;
    uint32_t gen;
};

struct canal_flat {
    struct cmap types;   /* sqlType and mysqlType: put together from one column */
    struct cmap row;     /* the data or old row being written */
    struct cmap updated; /* updated_names of 8.3, over all rows of the entry */
    uint64_t seed;       /* hash seed, so that colliding names cannot be planned */
    /* output */
    canal_flat_write_fn fn; /* NULL: writing into a caller's buffer */
    void *ud;
    char *buf;
    size_t cap, len, total;
    int err;
    char errstr[256];
    char chunk[FLAT_CHUNK];
};

static const char hex[] = "0123456789abcdef";

static void set_error(canal_flat *f, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Keep the first error: it is the cause, later ones are its echo. */
static void set_error(canal_flat *f, int err, const char *fmt, ...)
{
    va_list ap;
    if (f->err)
        return;
    f->err = err;
    va_start(ap, fmt);
    vsnprintf(f->errstr, sizeof f->errstr, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ column maps */

static uint64_t name_hash(uint64_t seed, canal_str s)
{
    uint64_t h = seed ^ (s.len * 0x9e3779b97f4a7c15u);
    size_t i = 0;
    for (; i + 8 <= s.len; i += 8) {
        uint64_t w;
        memcpy(&w, s.ptr + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9u;
        h ^= h >> 31;
    }
    for (; i < s.len; i++) {
        h = (h ^ (unsigned char)s.ptr[i]) * 0x94d049bb133111ebu;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93u;
    return h ^ (h >> 32);
}

static bool same_name(canal_str a, canal_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static void cmap_clear(struct cmap *m)
{
    m->n = 0;
    if (++m->gen == 0) { /* after 2^32 clears: forget the old stamps for real */
        if (m->stamp)
            memset(m->stamp, 0, m->slots * sizeof *m->stamp);
        m->gen = 1;
    }
}

static void cmap_free(struct cmap *m)
{
    free(m->cols);
    free(m->pos);
    free(m->stamp);
    memset(m, 0, sizeof *m);
}

/* The slot holding name, or the empty slot where it would go. */
static size_t cmap_slot(const struct cmap *m, uint64_t seed, canal_str name)
{
    size_t mask = m->slots - 1;
    size_t i = (size_t)name_hash(seed, name) & mask;
    while (m->stamp[i] == m->gen && !same_name(m->cols[m->pos[i]]->name, name))
        i = (i + 1) & mask;
    return i;
}

/* Make room for one more column: the list, and an index kept at most half
 * full (so probes stay short). Returns false when out of memory. */
static bool cmap_grow(struct cmap *m, uint64_t seed)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        const canal_column **p;
        if (cap > SIZE_MAX / sizeof *p)
            return false;
        p = realloc(m->cols, cap * sizeof *p);
        if (!p)
            return false;
        m->cols = p;
        m->cap = cap;
    }
    if (m->n + 1 > m->slots / 2) {
        size_t slots = m->slots ? m->slots * 2 : 128;
        size_t *pos;
        uint32_t *stamp;
        if (slots > SIZE_MAX / sizeof *pos)
            return false;
        pos = malloc(slots * sizeof *pos);
        stamp = calloc(slots, sizeof *stamp);
        if (!pos || !stamp) {
            free(pos);
            free(stamp);
            return false;
        }
        free(m->pos);
        free(m->stamp);
        m->pos = pos;
        m->stamp = stamp;
        m->slots = slots;
        m->gen = 1;
        for (size_t k = 0; k < m->n; k++) { /* the names in cols are distinct */
            size_t i = cmap_slot(m, seed, m->cols[k]->name);
            m->stamp[i] = m->gen;
            m->pos[i] = k;
        }
    }
    return true;
}

static bool cmap_has(const struct cmap *m, uint64_t seed, canal_str name)
{
    return m->slots > 0 && m->stamp[cmap_slot(m, seed, name)] == m->gen;
}

/* Put col under its name. Returns false when out of memory. */
static bool cmap_put(struct cmap *m, uint64_t seed, const canal_column *col)
{
    size_t i;
    if (m->slots > 0) {
        i = cmap_slot(m, seed, col->name);
        if (m->stamp[i] == m->gen) {
            m->cols[m->pos[i]] = col;
            return true;
        }
    }
    if (!cmap_grow(m, seed))
        return false;
    i = cmap_slot(m, seed, col->name);
    m->stamp[i] = m->gen;
    m->pos[i] = m->n;
    m->cols[m->n++] = col;
    return true;
}

/* ------------------------------------------------------------ output */

static void emit(canal_flat *f, const char *p, size_t n)
{
    if (f->err || n == 0)
        return;
    f->total += n;
    if (!f->fn) { /* caller's buffer: keep what fits, count the rest */
        size_t room = f->cap - f->len;
        size_t k = n < room ? n : room;
        if (k > 0)
            memcpy(f->buf + f->len, p, k);
        f->len += k;
        return;
    }
    if (n > f->cap - f->len) {
        if (f->len > 0 && f->fn(f->ud, f->buf, f->len) != 0) {
            set_error(f, CANAL_EIO, "FlatMessage: the write callback failed");
            return;
        }
        f->len = 0;
        if (n >= f->cap) { /* a big piece goes out as it is */
            if (f->fn(f->ud, p, n) != 0)
                set_error(f, CANAL_EIO, "FlatMessage: the write callback failed");
            return;
        }
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
}

static void emits(canal_flat *f, const char *s) { emit(f, s, strlen(s)); }

static void emit_int(canal_flat *f, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    emit(f, tmp, n > 0 ? (size_t)n : 0);
}

/* Length of the valid UTF-8 sequence starting s[0] (a byte >= 0x80) within
 * n bytes, or 0: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

#define NO_POS SIZE_MAX /* a string with no row or column to name */

/* s as a JSON string, escaped exactly as Python's json.dumps(s,
 * ensure_ascii=False) does (PROTOCOL.md 8.5): the quote, the backslash and
 * the C0 controls are escaped, everything else is written raw. Returns false
 * (after setting the error, naming what) when s is not valid UTF-8. */
static bool json_str(canal_flat *f, canal_str s, const char *what, size_t row, size_t col)
{
    const unsigned char *u = (const unsigned char *)s.ptr;
    size_t run = 0; /* start of the pending stretch that needs no escape */
    emit(f, "\"", 1);
    for (size_t i = 0; i < s.len;) {
        unsigned char ch = u[i];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t k = 2;
        if (ch >= 0x80) {
            size_t q = utf8_seq(u + i, s.len - i);
            if (q == 0) {
                if (col == NO_POS)
                    set_error(f, CANAL_EPROTO, "FlatMessage: %s is not valid UTF-8 at byte %zu",
                              what, i);
                else if (row == NO_POS)
                    set_error(f, CANAL_EPROTO, "FlatMessage: %s of column %zu is not valid UTF-8 "
                              "at byte %zu", what, col, i);
                else
                    set_error(f, CANAL_EPROTO, "FlatMessage: %s of row %zu, column %zu is not "
                              "valid UTF-8 at byte %zu", what, row, col, i);
                return false;
            }
            i += q;
            continue;
        }
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            i++;
            continue;
        }
        switch (ch) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: /* \u00XX, lowercase like Python */
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            k = 6;
            break;
        }
        emit(f, s.ptr + run, i - run);
        emit(f, esc, k);
        run = ++i;
    }
    emit(f, s.ptr + run, s.len - run);
    emit(f, "\"", 1);
    return true;
}

/* {"id":"1","name":null}: values are strings or null (8.2). */
static bool json_row(canal_flat *f, const struct cmap *m, size_t row)
{
    for (size_t i = 0; i < m->n; i++) {
        const canal_column *c = m->cols[i];
        emit(f, i ? "," : "{", 1);
        if (!json_str(f, c->name, "the name", row, i))
            return false;
        emit(f, ":", 1);
        if (c->is_null)
            emits(f, "null");
        else if (!json_str(f, c->value, "the value", row, i))
            return false;
    }
    emit(f, m->n ? "}" : "{}", m->n ? 1 : 2);
    return true;
}

/* {"name":-5,...} or {"name":"bigint(20)",...}, or null for no columns. */
static bool json_types(canal_flat *f, const struct cmap *m, bool mysql)
{
    if (m->n == 0) {
        emits(f, "null");
        return true;
    }
    for (size_t i = 0; i < m->n; i++) {
        const canal_column *c = m->cols[i];
        emit(f, i ? "," : "{", 1);
        if (!json_str(f, c->name, "the name", NO_POS, i))
            return false;
        emit(f, ":", 1);
        if (!mysql)
            emit_int(f, c->sql_type);
        else if (!json_str(f, c->mysql_type, "the mysqlType", NO_POS, i))
            return false;
    }
    emit(f, "}", 1);
    return true;
}

/* ------------------------------------------------------------ the line */

static const canal_column *row_cols(const canal_row *r, int32_t t, size_t *n)
{
    /* 8.3 step 2: a DELETE's names, types and keys come from the before image */
    *n = t == CANAL_DELETE ? r->n_before : r->n_after;
    return t == CANAL_DELETE ? r->before : r->after;
}

static bool oom(canal_flat *f)
{
    set_error(f, CANAL_ENOMEM, "FlatMessage: out of memory");
    return false;
}

/* "data": one object per non-empty row (8.3 steps 3 and 5); fills f->types
 * on the way for "sqlType" and "mysqlType". */
static bool write_data(canal_flat *f, const canal_rowchange *rc, bool rows)
{
    size_t written = 0;
    emits(f, "{\"data\":");
    for (size_t i = 0; rows && i < rc->n_rows; i++) {
        size_t n;
        const canal_column *cols = row_cols(&rc->rows[i], rc->event_type, &n);
        cmap_clear(&f->row);
        for (size_t j = 0; j < n; j++)
            if (!cmap_put(&f->types, f->seed, &cols[j]) || !cmap_put(&f->row, f->seed, &cols[j]))
                return oom(f);
        if (f->row.n == 0)
            continue; /* an empty row is dropped from data */
        emit(f, written++ ? "," : "[", 1);
        if (!json_row(f, &f->row, i))
            return false;
    }
    emits(f, written ? "]" : "null");
    return true;
}

/* "old" of an UPDATE: per row, the before columns whose names were flagged
 * updated in this or an earlier row's after image, even when none (step 6). */
static bool write_old(canal_flat *f, const canal_rowchange *rc, bool rows)
{
    if (!rows || rc->event_type != CANAL_UPDATE || rc->n_rows == 0) {
        emits(f, "null");
        return true;
    }
    cmap_clear(&f->updated);
    for (size_t i = 0; i < rc->n_rows; i++) {
        const canal_row *r = &rc->rows[i];
        for (size_t j = 0; j < r->n_after; j++)
            if (r->after[j].updated && !cmap_put(&f->updated, f->seed, &r->after[j]))
                return oom(f);
        cmap_clear(&f->row);
        for (size_t j = 0; j < r->n_before; j++)
            if (cmap_has(&f->updated, f->seed, r->before[j].name) &&
                !cmap_put(&f->row, f->seed, &r->before[j]))
                return oom(f);
        emit(f, i ? "," : "[", 1);
        if (!json_row(f, &f->row, i))
            return false;
    }
    emit(f, "]", 1);
    return true;
}

/* "pkNames": the key columns of the first processed row (step 4), or null. */
static bool write_pk(canal_flat *f, const canal_rowchange *rc, bool rows)
{
    size_t n = 0, written = 0;
    const canal_column *cols = NULL;
    if (rows && rc->n_rows > 0)
        cols = row_cols(&rc->rows[0], rc->event_type, &n);
    for (size_t j = 0; j < n; j++) {
        if (!cols[j].is_key)
            continue;
        emit(f, written++ ? "," : "[", 1);
        if (!json_str(f, cols[j].name, "the key name", 0, j))
            return false;
    }
    emits(f, written ? "]" : "null");
    return true;
}

static bool header_str(canal_flat *f, const char *key, canal_str s, const char *what)
{
    emits(f, key);
    return json_str(f, s, what, NO_POS, NO_POS);
}

static int write_line(canal_flat *f, int64_t batch_id, int64_t ts_ms, const canal_entry *e,
                      const canal_rowchange *rc)
{
    const canal_header *h = &e->header;
    int32_t t = rc->event_type;
    /* A DDL has no row keys at all (8.3), and only INSERT, UPDATE and DELETE
     * rows are read (step 1). */
    bool rows = !rc->is_ddl && (t == CANAL_INSERT || t == CANAL_UPDATE || t == CANAL_DELETE);

    cmap_clear(&f->types);
    if (!write_data(f, rc, rows) ||
        !header_str(f, ",\"database\":", h->schema_name, "header schemaName"))
        return f->err;
    emits(f, ",\"es\":");
    emit_int(f, h->execute_time);
    if (!header_str(f, ",\"gtid\":", h->gtid, "header gtid"))
        return f->err;
    emits(f, ",\"id\":");
    emit_int(f, batch_id);
    emits(f, rc->is_ddl ? ",\"isDdl\":true,\"mysqlType\":" : ",\"isDdl\":false,\"mysqlType\":");
    if (!json_types(f, &f->types, true))
        return f->err;
    emits(f, ",\"old\":");
    if (!write_old(f, rc, rows))
        return f->err;
    emits(f, ",\"pkNames\":");
    if (!write_pk(f, rc, rows) || !header_str(f, ",\"sql\":", rc->sql, "RowChange sql"))
        return f->err;
    emits(f, ",\"sqlType\":");
    if (!json_types(f, &f->types, false) ||
        !header_str(f, ",\"table\":", h->table_name, "header tableName"))
        return f->err;
    emits(f, ",\"ts\":");
    emit_int(f, ts_ms);
    emits(f, ",\"type\":\"");
    emits(f, canal_event_type_name(t)); /* plain ASCII names */
    emits(f, "\"}\n");
    return f->err;
}

/* ------------------------------------------------------------ API */

canal_flat *canal_flat_new(void)
{
    canal_flat *f = calloc(1, sizeof *f);
    if (f) {
        /* Where the allocator put us varies from run to run with ASLR: enough
         * to keep a server from choosing names that all share one slot. */
        uintptr_t a = (uintptr_t)f;
        f->seed = (uint64_t)a * 0x9e3779b97f4a7c15u ^ ((uint64_t)a >> 17);
    }
    return f;
}

void canal_flat_free(canal_flat *f)
{
    if (!f)
        return;
    cmap_free(&f->types);
    cmap_free(&f->row);
    cmap_free(&f->updated);
    free(f);
}

const char *canal_flat_errstr(const canal_flat *f)
{
    return f ? f->errstr : "canal_flat: NULL writer";
}

bool canal_flat_wants(const canal_entry *e)
{
    return e && e->has_entry_type && e->entry_type == CANAL_ROWDATA;
}

/* Start a call: forget the last error, check the arguments. */
static int begin(canal_flat *f, const canal_entry *e, const canal_rowchange *rc)
{
    f->err = 0;
    f->errstr[0] = '\0';
    f->len = f->total = 0;
    if (!e || !rc) {
        set_error(f, CANAL_EINVAL, "FlatMessage: %s is NULL", e ? "the rowchange" : "the entry");
        return f->err;
    }
    if (!canal_flat_wants(e)) {
        set_error(f, CANAL_EINVAL, "FlatMessage: entry type %s%s is not ROWDATA",
                  e->has_entry_type ? "" : "absent, read as ",
                  canal_entry_type_name(e->entry_type));
        return f->err;
    }
    return CANAL_OK;
}

int canal_flat_write(canal_flat *f, int64_t batch_id, int64_t ts_ms, const canal_entry *e,
                     const canal_rowchange *rc, canal_flat_write_fn fn, void *ud)
{
    if (!f)
        return CANAL_EINVAL;
    if (begin(f, e, rc) < 0)
        return f->err;
    if (!fn) {
        set_error(f, CANAL_EINVAL, "FlatMessage: the write callback is NULL");
        return f->err;
    }
    f->fn = fn;
    f->ud = ud;
    f->buf = f->chunk;
    f->cap = sizeof f->chunk;
    if (write_line(f, batch_id, ts_ms, e, rc) == CANAL_OK && f->len > 0 &&
        fn(ud, f->buf, f->len) != 0)
        set_error(f, CANAL_EIO, "FlatMessage: the write callback failed");
    f->fn = NULL;
    f->buf = NULL;
    return f->err;
}

int canal_flat_render(canal_flat *f, int64_t batch_id, int64_t ts_ms, const canal_entry *e,
                      const canal_rowchange *rc, char *buf, size_t cap, size_t *len)
{
    if (len)
        *len = 0;
    if (!f)
        return CANAL_EINVAL;
    if (begin(f, e, rc) < 0)
        return f->err;
    if (!len || (!buf && cap > 0)) {
        set_error(f, CANAL_EINVAL, "FlatMessage: %s", len ? "buf is NULL with cap > 0" : "len is NULL");
        return f->err;
    }
    f->fn = NULL;
    f->buf = buf;
    f->cap = cap;
    if (write_line(f, batch_id, ts_ms, e, rc) == CANAL_OK) {
        *len = f->total;
        if (f->total > cap)
            set_error(f, CANAL_ETOOBIG, "FlatMessage: the line needs %zu bytes, the buffer has %zu",
                      f->total, cap);
    }
    f->buf = NULL;
    return f->err;
}
