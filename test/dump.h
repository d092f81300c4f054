/* dump.h - canonical text of what canal-c decoded, read through the public
 * API only. test/pbdump.c prints it for test/test_codec_diff.py, which builds
 * the same text from what Google's protobuf decodes; fuzz/fuzz_diff.c builds
 * it from a reference decoder of its own. One line per message, strings as
 * hex, presence as /0 or /1 after the value:
 *
 *   batch B
 *   entry type=T/H header=H
 *   hdr version=V/H file=.. offset=.. server=.. enc=.. time=.. src=S/H schema=..
 *       table=.. evlen=.. ev=E/H gtid=..                      (one line)
 *   prop KEY VALUE
 *   store HEX
 *
 *   rc table=.. ev=E/H ddl=D/H sql=.. schema=..
 *   prop KEY VALUE                                 (RowChange props)
 *   row
 *   before|after index=.. sqltype=.. name=.. key=K upd=U null=N/H len=.. mysql=.. value=..
 *   cprop KEY VALUE                                (that column's props)
 *   rprop KEY VALUE                                (the row's props)
 *
 * A failed decode is the single line "error". Header-only; needs canal.h. */
#ifndef DUMP_H
#define DUMP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../canal.h"

typedef struct dump_buf {
    char *p;
    size_t n, cap;
} dump_buf;

static void dump_grow(dump_buf *b, size_t more) {
    if (b->n + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
}

static void dump_printf(dump_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void dump_printf(dump_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) abort();
    dump_grow(b, (size_t)k);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static void dump_hex(dump_buf *b, const void *ptr, size_t n) {
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = ptr;
    dump_grow(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        b->p[b->n++] = digits[p[i] >> 4];
        b->p[b->n++] = digits[p[i] & 15];
    }
    b->p[b->n] = '\0';
}

/* " name=HEX" for a string; "-" stands for the empty string. */
static void dump_str(dump_buf *b, const char *name, canal_str s) {
    dump_printf(b, " %s=", name);
    if (s.len == 0) dump_printf(b, "-");
    else dump_hex(b, s.ptr, s.len);
}

static void dump_pairs(dump_buf *b, const char *label, const canal_pair *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        dump_printf(b, "%s", label);
        dump_str(b, "k", p[i].key);
        dump_str(b, "v", p[i].value);
        dump_printf(b, "\n");
    }
}

static void dump_message(dump_buf *b, const canal_message *m) {
    dump_printf(b, "batch %" PRId64 "\n", m->batch_id);
    for (size_t i = 0; i < m->n_entries; i++) {
        const canal_entry *e = &m->entries[i];
        const canal_header *h = &e->header;
        dump_printf(b, "entry type=%" PRId32 "/%d header=%d\n", e->entry_type, e->has_entry_type,
                    e->has_header);
        dump_printf(b, "hdr version=%" PRId32 "/%d", h->version, h->has_version);
        dump_str(b, "file", h->logfile_name);
        dump_printf(b, " offset=%" PRId64 " server=%" PRId64, h->logfile_offset, h->server_id);
        dump_str(b, "enc", h->server_encode);
        dump_printf(b, " time=%" PRId64 " src=%" PRId32 "/%d", h->execute_time, h->source_type,
                    h->has_source_type);
        dump_str(b, "schema", h->schema_name);
        dump_str(b, "table", h->table_name);
        dump_printf(b, " evlen=%" PRId64 " ev=%" PRId32 "/%d", h->event_length, h->event_type,
                    h->has_event_type);
        dump_str(b, "gtid", h->gtid);
        dump_printf(b, "\n");
        dump_pairs(b, "prop", h->props, h->n_props);
        dump_printf(b, "store ");
        if (e->store_value.len == 0) dump_printf(b, "-");
        else dump_hex(b, e->store_value.ptr, e->store_value.len);
        dump_printf(b, "\n");
    }
}

static void dump_columns(dump_buf *b, const char *label, const canal_column *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const canal_column *k = &c[i];
        dump_printf(b, "%s index=%" PRId32 " sqltype=%" PRId32, label, k->index, k->sql_type);
        dump_str(b, "name", k->name);
        dump_printf(b, " key=%d upd=%d null=%d/%d len=%" PRId32, k->is_key, k->updated, k->is_null,
                    k->has_is_null, k->length);
        dump_str(b, "mysql", k->mysql_type);
        dump_str(b, "value", k->value);
        dump_printf(b, "\n");
        dump_pairs(b, "cprop", k->props, k->n_props);
    }
}

static void dump_rowchange(dump_buf *b, const canal_rowchange *rc) {
    dump_printf(b, "rc table=%" PRId64 " ev=%" PRId32 "/%d ddl=%d/%d", rc->table_id, rc->event_type,
                rc->has_event_type, rc->is_ddl, rc->has_is_ddl);
    dump_str(b, "sql", rc->sql);
    dump_str(b, "schema", rc->ddl_schema_name);
    dump_printf(b, "\n");
    dump_pairs(b, "prop", rc->props, rc->n_props);
    for (size_t i = 0; i < rc->n_rows; i++) {
        const canal_row *r = &rc->rows[i];
        dump_printf(b, "row\n");
        dump_columns(b, "before", r->before, r->n_before);
        dump_columns(b, "after", r->after, r->n_after);
        dump_pairs(b, "rprop", r->props, r->n_props);
    }
}

/* Decode `kind` ('m' bare Messages, 'p' Packet, 'r' RowChange) with c and
 * append its canonical text (or "error") to b. */
static void dump_decode(dump_buf *b, canal_client *c, char kind, const uint8_t *data, size_t n) {
    if (kind == 'r') {
        canal_rowchange rc;
        if (canal_rowchange_parse(c, data, n, &rc) < 0) dump_printf(b, "error\n");
        else dump_rowchange(b, &rc);
        return;
    }
    const canal_message *m;
    if (canal_message_parse(c, data, n, kind == 'p', &m) < 0) dump_printf(b, "error\n");
    else dump_message(b, m);
}

#endif
