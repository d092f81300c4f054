/* fuzz_flat.c - libFuzzer target for the FlatMessage module (canal_flat.h),
 * on the public API only: canal.c and canal_flat.c are linked, not included.
 *
 * The input is decoded as a serialized Packet, as a bare Messages, and as
 * the storeValue of a ROWDATA entry, by a client that validates UTF-8 and
 * one that does not. Every entry's RowChange (its type forced to ROWDATA,
 * so mangled types still reach the writer) goes through canal_flat_write and
 * canal_flat_render with one long-lived writer, and the line must be:
 *   - CANAL_OK from the validating client; CANAL_OK or CANAL_EPROTO (a string
 *     that is not UTF-8) from the other, and nothing else;
 *   - valid UTF-8 and one valid JSON object, ending in its only '\n', keys in
 *     Canal's order;
 *   - the same by callback and into a buffer, with the size query and a
 *     one-byte-short buffer (CANAL_ETOOBIG) agreeing on the length;
 *   - bounded: at most 64 times the entry's bytes plus 1 KiB.
 * A receiver that fails must give CANAL_EIO. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../canal.h"
#include "../canal_flat.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* ------------------------------------------------------------ references */

/* UTF-8 as RFC 3629 defines it, decoded code point by code point. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xe0) == 0xc0) k = 1, cp = s[i] & 0x1f;
        else if ((s[i] & 0xf0) == 0xe0) k = 2, cp = s[i] & 0x0f;
        else if ((s[i] & 0xf8) == 0xf0) k = 3, cp = s[i] & 0x07;
        else return false;
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A JSON parser (RFC 8259) that only says yes or no. */
struct js {
    const char *p, *end;
};

static void js_ws(struct js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool js_lit(struct js *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool js_string(struct js *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    for (j->p++; j->p < j->end; j->p++) {
        unsigned char ch = (unsigned char)*j->p;
        if (ch == '"') {
            j->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            if (++j->p >= j->end)
                return false;
            if (*j->p == 'u') {
                for (int k = 0; k < 4; k++) {
                    char h;
                    if (++j->p >= j->end)
                        return false;
                    h = *j->p;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return false;
                }
            } else if (!strchr("\"\\/bfnrt", *j->p) || *j->p == '\0') {
                return false;
            }
        }
    }
    return false;
}

static bool js_number(struct js *j)
{
    const char *start = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return false;
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    return j->p > start; /* we write integers only */
}

static bool js_value(struct js *j, int depth)
{
    js_ws(j);
    if (j->p >= j->end || depth > 16)
        return false;
    switch (*j->p) {
    case '"':
        return js_string(j);
    case 't':
        return js_lit(j, "true");
    case 'f':
        return js_lit(j, "false");
    case 'n':
        return js_lit(j, "null");
    case '{':
    case '[': {
        char close = *j->p == '{' ? '}' : ']';
        bool obj = close == '}';
        j->p++;
        js_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            if (obj) {
                js_ws(j);
                if (!js_string(j))
                    return false;
                js_ws(j);
                if (!js_lit(j, ":"))
                    return false;
            }
            if (!js_value(j, depth + 1))
                return false;
            js_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                return true;
            }
            return false;
        }
    }
    default:
        return js_number(j);
    }
}

/* ------------------------------------------------------------ the target */

struct sink {
    char *p;
    size_t len, cap;
    int calls, fail_at;
};

static int sink_write(void *ud, const char *p, size_t n)
{
    struct sink *s = ud;
    if (++s->calls == s->fail_at)
        return 1;
    if (n > s->cap - s->len) {
        size_t cap = (s->len + n) * 2;
        char *q = realloc(s->p, cap);
        FZ_CHECK(q != NULL);
        s->p = q;
        s->cap = cap;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    return 0;
}

static canal_flat *flat;
static struct sink out;
static char *rendered;
static size_t rendered_cap;
static int fail_at; /* from the input: make the receiver fail on that call */

static void check_line(const char *p, size_t n, size_t bound)
{
    static const char *const keys[] = {"{\"data\":", ",\"database\":", ",\"es\":", ",\"gtid\":",
                                       ",\"id\":", ",\"isDdl\":", ",\"mysqlType\":", ",\"old\":",
                                       ",\"pkNames\":", ",\"sql\":", ",\"sqlType\":",
                                       ",\"table\":", ",\"ts\":", ",\"type\":\""};
    struct js j = {p, p + n - 1};
    FZ_CHECK(n >= 2 && n <= bound);
    FZ_CHECK(p[n - 1] == '\n' && memchr(p, '\n', n - 1) == NULL);
    FZ_CHECK(utf8_ok((const unsigned char *)p, n));
    FZ_CHECK(js_value(&j, 0) && j.p == p + n - 1);
    /* the top-level keys, in order: each of them occurs, the first at the
     * start, and "type" closes the line */
    FZ_CHECK(memcmp(p, keys[0], strlen(keys[0])) == 0);
    for (size_t k = 1; k < sizeof keys / sizeof *keys; k++) {
        size_t kl = strlen(keys[k]);
        bool found = false;
        for (size_t i = 0; i + kl <= n && !found; i++)
            found = memcmp(p + i, keys[k], kl) == 0;
        FZ_CHECK(found);
    }
    FZ_CHECK(n >= 3 && p[n - 2] == '}' && p[n - 3] == '"');
}

static void one_entry(const canal_entry *e, const canal_rowchange *rc, bool strict, int64_t batch)
{
    size_t bound = 64 * (e->raw.len + e->store_value.len) + 1024, len = 0, len2 = 0;
    int rv;

    out.len = 0;
    out.calls = 0;
    out.fail_at = fail_at;
    rv = canal_flat_write(flat, batch, 1700000009999, e, rc, sink_write, &out);
    if (rv == CANAL_EIO) { /* only because the receiver said so */
        FZ_CHECK(fail_at > 0 && out.calls >= fail_at);
        FZ_CHECK(canal_flat_errstr(flat)[0] != '\0');
        out.fail_at = 0;
        out.len = 0;
        out.calls = 0;
        rv = canal_flat_write(flat, batch, 1700000009999, e, rc, sink_write, &out);
    }
    FZ_CHECK(rv == CANAL_OK || (!strict && rv == CANAL_EPROTO));
    if (rv != CANAL_OK) {
        FZ_CHECK(canal_flat_errstr(flat)[0] != '\0');
        FZ_CHECK(canal_flat_render(flat, batch, 1700000009999, e, rc, NULL, 0, &len) == rv);
        FZ_CHECK(len == 0);
        return;
    }
    FZ_CHECK(canal_flat_errstr(flat)[0] == '\0');
    check_line(out.p, out.len, bound);

    FZ_CHECK(canal_flat_render(flat, batch, 1700000009999, e, rc, NULL, 0, &len) == CANAL_ETOOBIG);
    FZ_CHECK(len == out.len);
    if (len > rendered_cap) {
        free(rendered);
        rendered = malloc(len);
        FZ_CHECK(rendered != NULL);
        rendered_cap = len;
    }
    FZ_CHECK(canal_flat_render(flat, batch, 1700000009999, e, rc, rendered, len - 1, &len2) ==
          CANAL_ETOOBIG);
    FZ_CHECK(len2 == len);
    FZ_CHECK(canal_flat_render(flat, batch, 1700000009999, e, rc, rendered, len, &len2) == CANAL_OK);
    FZ_CHECK(len2 == len && memcmp(rendered, out.p, len) == 0);
}

/* Every entry of m, as ROWDATA whatever its type says. */
static void all_entries(canal_client *c, const canal_message *m, bool strict)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        canal_entry e = m->entries[i];
        canal_rowchange rc;
        e.entry_type = CANAL_ROWDATA;
        e.has_entry_type = true;
        if (canal_rowchange_parse(c, e.store_value.ptr, e.store_value.len, &rc) == CANAL_OK)
            one_entry(&e, &rc, strict, m->batch_id);
    }
}

static void one_client(canal_client *c, const uint8_t *data, size_t size, bool strict)
{
    static const canal_entry blank; /* for the input taken as a storeValue */
    canal_entry e = blank;
    canal_rowchange rc;
    const canal_message *m;

    for (int is_packet = 1; is_packet >= 0; is_packet--)
        if (canal_message_parse(c, data, size, is_packet, &m) == CANAL_OK)
            all_entries(c, m, strict);
    if (canal_rowchange_parse(c, data, size, &rc) == CANAL_OK) {
        e.entry_type = CANAL_ROWDATA;
        e.has_entry_type = true;
        e.store_value.ptr = data;
        e.store_value.len = size;
        e.raw = e.store_value;
        e.header.logfile_name.ptr = e.header.server_encode.ptr = "";
        e.header.schema_name.ptr = e.header.table_name.ptr = e.header.gtid.ptr = "";
        one_entry(&e, &rc, strict, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Long-lived, as in a consumer: the writer's tables are reused. */
    static canal_client *strict, *lax;
    uint8_t *buf;
    if (!strict) {
        canal_options o;
        canal_options_init(&o);
        strict = canal_client_new(&o);
        o.validate_utf8 = false;
        lax = canal_client_new(&o);
        flat = canal_flat_new();
        FZ_CHECK(strict && lax && flat);
    }
    fail_at = (int)(size % 7) - 3; /* <= 0: never */
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    buf = malloc(size ? size : 1);
    FZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    one_client(strict, buf, size, true);
    one_client(lax, buf, size, false);
    free(buf);
    return 0;
}
