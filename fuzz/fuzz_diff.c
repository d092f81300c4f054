/* fuzz_diff.c - libFuzzer target: canal-c's decoded view against a
 * reference decoder written here, on every input.
 *
 * The input is decoded three ways, as a RowChange, as a bare Messages (with
 * every entry and header) and as a Packet holding one, by canal-c (public
 * API, printed by test/dump.h) and by the reference below; the two texts
 * must be equal, "error" included. The reference is the protobuf wire format
 * written for clarity, not speed, from protobuf's and Java's rules (the same
 * test/test_codec_diff.py checks against Google's own parser):
 *   - a varint has at most 10 bytes; bits past 64 are dropped;
 *   - a tag or a length is read as Java's readRawVarint32 reads it: the low
 *     32 bits of such a varint; field number 0 is an error, so is a length
 *     that is negative as a Java int or runs past the end;
 *   - a field of a known number with another wire type than its own is an
 *     unknown field; unknown fields are skipped: groups (wire type 3) up to
 *     the matching end tag, nesting at most 100 deep counting the messages
 *     around them (the top message is depth 0); wire types 4 (unmatched),
 *     6 and 7 are errors;
 *   - the last value of a scalar or string wins, repeated fields append, a
 *     message field sent twice is merged (decoded again into the same one);
 *   - strings must be UTF-8 (Unicode table 3-7);
 *   - and canal_message_parse's own rule: bare Messages bytes that are a
 *     whole Packet are refused (ref_is_packet).
 *
 * Seeds: fuzz/corpus/fuzz_diff, the hand-built cases of the differential
 * test (test/test_codec_diff.py --seeds). */
#include "../canal.c"

/* For FZ_CHECK and ref_utf8_valid; its message checkers are not used here. */
#pragma clang diagnostic ignored "-Wunused-function"
#include "fuzz_common.h"
#include "../test/dump.h"

/* ------------------------------------------------------------ reference model */

typedef struct rstr {
    const uint8_t *p;
    size_t n;
} rstr;

typedef struct rpair {
    rstr k, v;
} rpair;

typedef struct rlist { /* a growable array of `size`-byte items */
    void *p;
    size_t n, cap;
} rlist;

static void *rl_push(rlist *l, size_t size) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->p = realloc(l->p, l->cap * size);
        FZ_CHECK(l->p != NULL);
    }
    void *it = (uint8_t *)l->p + l->n++ * size;
    memset(it, 0, size);
    return it;
}

typedef struct rcol {
    int32_t index, sql_type, length;
    bool is_key, updated, is_null, has_is_null;
    rstr name, value, mysql;
    rlist props;
} rcol;

typedef struct rrow {
    rlist before, after, props;
} rrow;

typedef struct rrc {
    int64_t table;
    int32_t ev;
    bool has_ev, ddl, has_ddl;
    rstr sql, schema;
    rlist props, rows;
} rrc;

typedef struct rhdr {
    int32_t version, src, ev;
    bool has_version, has_src, has_ev;
    rstr file, enc, schema, table, gtid;
    int64_t offset, server, time, evlen;
    rlist props;
} rhdr;

typedef struct rentry {
    int32_t type;
    bool has_type, has_header;
    rhdr h;
    rstr store;
} rentry;

/* ------------------------------------------------------------ reference wire reader */

typedef struct rd {
    const uint8_t *p, *end;
} rd;

typedef struct rfield {
    uint32_t num, wt;
    uint64_t v;   /* wire type 0 */
    rstr bytes;   /* wire type 2 */
} rfield;

static bool r_varint(rd *r, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) return false;
        uint8_t b = *r->p++;
        if (i < 9) v |= (uint64_t)(b & 0x7f) << (7 * i);
        else v |= (uint64_t)(b & 1) << 63;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool r_skip(rd *r, uint32_t tag, int depth);

/* The next field: 1, 0 at the end, -1 on an error. `depth` is the message's. */
static int r_next(rd *r, rfield *f, int depth) {
    uint64_t t;
    if (r->p >= r->end) return 0;
    if (!r_varint(r, &t)) return -1;
    uint32_t tag = (uint32_t)t;
    f->num = tag >> 3;
    f->wt = tag & 7;
    if (f->num == 0) return -1;
    if (f->wt == 0) return r_varint(r, &f->v) ? 1 : -1;
    if (f->wt == 2) {
        uint64_t n;
        if (!r_varint(r, &n)) return -1;
        int32_t len = (int32_t)(uint32_t)n;
        if (len < 0 || (size_t)len > (size_t)(r->end - r->p)) return -1;
        f->bytes.p = r->p;
        f->bytes.n = (size_t)len;
        r->p += len;
        return 1;
    }
    return r_skip(r, tag, depth) ? 1 : -1; /* wire types 1, 3, 5 carry nothing we read */
}

/* Step over the value of a field whose tag was just read. */
static bool r_skip(rd *r, uint32_t tag, int depth) {
    uint64_t v;
    switch (tag & 7) {
    case 0: return r_varint(r, &v);
    case 1:
        if (r->end - r->p < 8) return false;
        r->p += 8;
        return true;
    case 5:
        if (r->end - r->p < 4) return false;
        r->p += 4;
        return true;
    case 2: {
        if (!r_varint(r, &v)) return false;
        int32_t len = (int32_t)(uint32_t)v;
        if (len < 0 || (size_t)len > (size_t)(r->end - r->p)) return false;
        r->p += len;
        return true;
    }
    case 3:
        if (depth + 1 > 100) return false;
        for (;;) {
            uint64_t t;
            if (r->p >= r->end || !r_varint(r, &t)) return false;
            uint32_t inner = (uint32_t)t;
            if ((inner >> 3) == 0) return false;
            if ((inner & 7) == 4) return inner == ((tag & ~7u) | 4);
            if (!r_skip(r, inner, depth + 1)) return false;
        }
    default: return false; /* 4 unmatched, 6, 7 */
    }
}

static bool r_str(rstr *out, rstr in) {
    if (!ref_utf8_valid(in.p, in.n)) return false;
    *out = in;
    return true;
}

static int32_t lo32(uint64_t v) { return (int32_t)(uint32_t)v; }

static bool r_pair(rstr b, rlist *into, int depth) {
    rpair *pr = rl_push(into, sizeof *pr);
    rd r = {b.p, b.p + b.n};
    rfield f;
    int more;
    while ((more = r_next(&r, &f, depth)) > 0) {
        if (f.wt != 2) continue;
        if (f.num == 1 && !r_str(&pr->k, f.bytes)) return false;
        if (f.num == 2 && !r_str(&pr->v, f.bytes)) return false;
    }
    return more == 0;
}

static bool r_column(rstr b, rlist *into, int depth) {
    rcol *c = rl_push(into, sizeof *c);
    rd r = {b.p, b.p + b.n};
    rfield f;
    int more;
    while ((more = r_next(&r, &f, depth)) > 0) {
        if (f.wt == 0) {
            if (f.num == 1) c->index = lo32(f.v);
            else if (f.num == 2) c->sql_type = lo32(f.v);
            else if (f.num == 4) c->is_key = f.v != 0;
            else if (f.num == 5) c->updated = f.v != 0;
            else if (f.num == 6) c->is_null = f.v != 0, c->has_is_null = true;
            else if (f.num == 9) c->length = lo32(f.v);
        } else if (f.wt == 2) {
            bool ok = true;
            if (f.num == 3) ok = r_str(&c->name, f.bytes);
            else if (f.num == 7) ok = r_pair(f.bytes, &c->props, depth + 1);
            else if (f.num == 8) ok = r_str(&c->value, f.bytes);
            else if (f.num == 10) ok = r_str(&c->mysql, f.bytes);
            if (!ok) return false;
        }
    }
    return more == 0;
}

static bool r_row(rstr b, rlist *into, int depth) {
    rrow *w = rl_push(into, sizeof *w);
    rd r = {b.p, b.p + b.n};
    rfield f;
    int more;
    while ((more = r_next(&r, &f, depth)) > 0) {
        if (f.wt != 2) continue;
        bool ok = true;
        if (f.num == 1) ok = r_column(f.bytes, &w->before, depth + 1);
        else if (f.num == 2) ok = r_column(f.bytes, &w->after, depth + 1);
        else if (f.num == 3) ok = r_pair(f.bytes, &w->props, depth + 1);
        if (!ok) return false;
    }
    return more == 0;
}

static bool r_rowchange(rstr b, rrc *rc) {
    rd r = {b.p, b.p + b.n};
    rfield f;
    int more;
    while ((more = r_next(&r, &f, 0)) > 0) {
        if (f.wt == 0) {
            if (f.num == 1) rc->table = (int64_t)f.v;
            else if (f.num == 2) rc->ev = lo32(f.v), rc->has_ev = true;
            else if (f.num == 10) rc->ddl = f.v != 0, rc->has_ddl = true;
        } else if (f.wt == 2) {
            bool ok = true;
            if (f.num == 11) ok = r_str(&rc->sql, f.bytes);
            else if (f.num == 12) ok = r_row(f.bytes, &rc->rows, 1);
            else if (f.num == 13) ok = r_pair(f.bytes, &rc->props, 1);
            else if (f.num == 14) ok = r_str(&rc->schema, f.bytes);
            if (!ok) return false;
        }
    }
    return more == 0;
}

/* One occurrence of Entry.header, decoded into (merged with) h. */
static bool r_header(rstr b, rhdr *h) {
    rd r = {b.p, b.p + b.n};
    rfield f;
    int more;
    while ((more = r_next(&r, &f, 1)) > 0) {
        if (f.wt == 0) {
            switch (f.num) {
            case 1: h->version = lo32(f.v), h->has_version = true; break;
            case 3: h->offset = (int64_t)f.v; break;
            case 4: h->server = (int64_t)f.v; break;
            case 6: h->time = (int64_t)f.v; break;
            case 7: h->src = lo32(f.v), h->has_src = true; break;
            case 10: h->evlen = (int64_t)f.v; break;
            case 11: h->ev = lo32(f.v), h->has_ev = true; break;
            default: break;
            }
        } else if (f.wt == 2) {
            bool ok = true;
            switch (f.num) {
            case 2: ok = r_str(&h->file, f.bytes); break;
            case 5: ok = r_str(&h->enc, f.bytes); break;
            case 8: ok = r_str(&h->schema, f.bytes); break;
            case 9: ok = r_str(&h->table, f.bytes); break;
            case 12: ok = r_pair(f.bytes, &h->props, 2); break;
            case 13: ok = r_str(&h->gtid, f.bytes); break;
            default: break;
            }
            if (!ok) return false;
        }
    }
    return more == 0;
}

static bool r_entry(rstr b, rentry *e) {
    rd r = {b.p, b.p + b.n};
    rfield f;
    int more;
    while ((more = r_next(&r, &f, 0)) > 0) {
        if (f.wt == 0 && f.num == 2) e->type = lo32(f.v), e->has_type = true;
        if (f.wt == 2 && f.num == 1) {
            e->has_header = true;
            if (!r_header(f.bytes, &e->h)) return false;
        }
        if (f.wt == 2 && f.num == 3) e->store = f.bytes;
    }
    return more == 0;
}

/* ------------------------------------------------------------ reference text */

static void t_str(dump_buf *b, const char *name, rstr s) {
    canal_str cs = {(const char *)s.p, s.n};
    dump_str(b, name, cs);
}

static void t_pairs(dump_buf *b, const char *label, const rlist *l) {
    const rpair *p = l->p;
    for (size_t i = 0; i < l->n; i++) {
        dump_printf(b, "%s", label);
        t_str(b, "k", p[i].k);
        t_str(b, "v", p[i].v);
        dump_printf(b, "\n");
    }
}

static void t_columns(dump_buf *b, const char *label, const rlist *l) {
    const rcol *c = l->p;
    for (size_t i = 0; i < l->n; i++) {
        dump_printf(b, "%s index=%" PRId32 " sqltype=%" PRId32, label, c[i].index, c[i].sql_type);
        t_str(b, "name", c[i].name);
        dump_printf(b, " key=%d upd=%d null=%d/%d len=%" PRId32, c[i].is_key, c[i].updated,
                    c[i].is_null, c[i].has_is_null, c[i].length);
        t_str(b, "mysql", c[i].mysql);
        t_str(b, "value", c[i].value);
        dump_printf(b, "\n");
        t_pairs(b, "cprop", &c[i].props);
    }
}

static void free_cols(rlist *l) {
    rcol *c = l->p;
    for (size_t i = 0; i < l->n; i++) free(c[i].props.p);
    free(l->p);
}

static void ref_rowchange(dump_buf *b, const uint8_t *data, size_t n) {
    rrc rc;
    memset(&rc, 0, sizeof rc);
    rstr in = {data, n};
    if (!r_rowchange(in, &rc)) {
        dump_printf(b, "error\n");
    } else {
        dump_printf(b, "rc table=%" PRId64 " ev=%" PRId32 "/%d ddl=%d/%d", rc.table, rc.ev, rc.has_ev,
                    rc.ddl, rc.has_ddl);
        t_str(b, "sql", rc.sql);
        t_str(b, "schema", rc.schema);
        dump_printf(b, "\n");
        t_pairs(b, "prop", &rc.props);
        const rrow *rows = rc.rows.p;
        for (size_t i = 0; i < rc.rows.n; i++) {
            dump_printf(b, "row\n");
            t_columns(b, "before", &rows[i].before);
            t_columns(b, "after", &rows[i].after);
            t_pairs(b, "rprop", &rows[i].props);
        }
    }
    rrow *rows = rc.rows.p;
    for (size_t i = 0; i < rc.rows.n; i++) {
        free_cols(&rows[i].before);
        free_cols(&rows[i].after);
        free(rows[i].props.p);
    }
    free(rc.rows.p);
    free(rc.props.p);
}

static bool ref_messages(dump_buf *b, const uint8_t *data, size_t n) {
    rd r = {data, data + n};
    rfield f;
    int more;
    int64_t batch = 0;
    rlist raws = {NULL, 0, 0};
    while ((more = r_next(&r, &f, 0)) > 0) {
        if (f.wt == 0 && f.num == 1) batch = (int64_t)f.v;
        if (f.wt == 2 && f.num == 2) *(rstr *)rl_push(&raws, sizeof(rstr)) = f.bytes;
    }
    bool ok = more == 0;
    size_t start = b->n;
    if (ok) dump_printf(b, "batch %" PRId64 "\n", batch);
    for (size_t i = 0; ok && i < raws.n; i++) {
        rentry e;
        memset(&e, 0, sizeof e);
        ok = r_entry(((rstr *)raws.p)[i], &e);
        if (ok) {
            const rhdr *h = &e.h;
            dump_printf(b, "entry type=%" PRId32 "/%d header=%d\n", e.type, e.has_type, e.has_header);
            dump_printf(b, "hdr version=%" PRId32 "/%d", h->version, h->has_version);
            t_str(b, "file", h->file);
            dump_printf(b, " offset=%" PRId64 " server=%" PRId64, h->offset, h->server);
            t_str(b, "enc", h->enc);
            dump_printf(b, " time=%" PRId64 " src=%" PRId32 "/%d", h->time, h->src, h->has_src);
            t_str(b, "schema", h->schema);
            t_str(b, "table", h->table);
            dump_printf(b, " evlen=%" PRId64 " ev=%" PRId32 "/%d", h->evlen, h->ev, h->has_ev);
            t_str(b, "gtid", h->gtid);
            dump_printf(b, "\n");
            t_pairs(b, "prop", &h->props);
            dump_printf(b, "store ");
            if (e.store.n == 0) dump_printf(b, "-");
            else dump_hex(b, e.store.p, e.store.n);
            dump_printf(b, "\n");
        }
        free(e.h.props.p);
    }
    free(raws.p);
    if (!ok) {
        b->n = start;
        dump_printf(b, "error\n");
    }
    return ok;
}

static void ref_packet(dump_buf *b, const uint8_t *data, size_t n) {
    rd r = {data, data + n};
    rfield f;
    int more;
    int32_t type = 0, compression = 0;
    rstr body = {data, 0};
    while ((more = r_next(&r, &f, 0)) > 0) {
        if (f.wt == 0 && f.num == 3) type = lo32(f.v);
        if (f.wt == 0 && f.num == 4) compression = lo32(f.v);
        if (f.wt == 2 && f.num == 5) body = f.bytes;
    }
    if (more < 0 || type != 7 || (compression != 0 && compression != 1)) {
        dump_printf(b, "error\n");
        return;
    }
    ref_messages(b, body.p, body.n);
}

/* canal_message_parse's own rule (canal.h): bare Messages bytes that are a
 * whole Packet are refused. They are when every field is one a Packet has
 * (1-4 varints, 5 bytes) and its type (3) or body (5) is there, which a
 * Messages never has. Fixed-width fields and groups are stepped over. */
static bool ref_is_packet(const uint8_t *data, size_t n) {
    rd r = {data, data + n};
    rfield f;
    int more;
    bool typed = false;
    while ((more = r_next(&r, &f, 0)) > 0) {
        if (f.wt != 0 && f.wt != 2) continue; /* stepped over */
        if ((f.num == 5 && f.wt == 2) || (f.num == 3 && f.wt == 0)) typed = true;
        else if (f.wt != 0 || f.num > 4) return false;
    }
    return more == 0 && typed;
}

/* ------------------------------------------------------------ the comparison */

static void compare(canal_client *c, char kind, const uint8_t *data, size_t size) {
    dump_buf got = {NULL, 0, 0}, want = {NULL, 0, 0};
    dump_decode(&got, c, kind, size ? data : NULL, size);
    if (kind == 'r') ref_rowchange(&want, data, size);
    else if (kind == 'm' && ref_is_packet(data, size)) dump_printf(&want, "error\n");
    else if (kind == 'm') ref_messages(&want, data, size);
    else ref_packet(&want, data, size);
    dump_printf(&got, "%s", "");
    dump_printf(&want, "%s", "");
    if (strcmp(got.p, want.p) != 0) {
        fprintf(stderr, "kind %c: canal-c and the reference differ\n-- canal-c (%s):\n%s-- reference:\n%s",
                kind, canal_errstr(c), got.p, want.p);
        FZ_CHECK(!"canal-c's view equals the reference's");
    }
    free(got.p);
    free(want.p);
}

/* FUZZ_DIFF_PRINT=CASES: print the reference's text for each record of a
 * test/pbdump.c case file instead of fuzzing, so test/test_codec_diff.py can
 * check this reference against Google's parser too. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *path = getenv("FUZZ_DIFF_PRINT");
    if (!path) return 0;
    FILE *f = fopen(path, "rb");
    FZ_CHECK(f != NULL);
    int kind;
    while ((kind = fgetc(f)) != EOF) {
        uint8_t lb[4];
        FZ_CHECK(fread(lb, 1, 4, f) == 4);
        size_t n = (size_t)lb[0] << 24 | (size_t)lb[1] << 16 | (size_t)lb[2] << 8 | lb[3];
        uint8_t *data = malloc(n ? n : 1);
        FZ_CHECK(data != NULL && fread(data, 1, n, f) == n);
        dump_buf out = {NULL, 0, 0};
        if (kind == 'r') ref_rowchange(&out, data, n);
        else if (kind == 'm') ref_messages(&out, data, n);
        else ref_packet(&out, data, n);
        fwrite(out.p, 1, out.n, stdout);
        printf("==\n");
        free(out.p);
        free(data);
    }
    fclose(f);
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static canal_client *c;
    if (!c) {
        c = canal_client_new(NULL);
        FZ_CHECK(c != NULL);
    }
    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    FZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    compare(c, 'r', buf, size);
    compare(c, 'm', buf, size);
    compare(c, 'p', buf, size);
    free(buf);
    return 0;
}
