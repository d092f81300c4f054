/* test_flat.c - the FlatMessage module (canal_flat.h) on the public API only.
 *
 *     test_flat                 the contract tests below
 *     test_flat --dump FILE TS  for test/test_flat.py: FILE holds records of
 *                               a 4-byte big-endian length and a serialized
 *                               Messages; prints each ROWDATA entry's line
 *                               (ts = TS), "ERROR <code>" for an entry that
 *                               does not decode or convert, "-- <n>" after
 *                               each message, checking on the way that the
 *                               callback and the buffer forms agree.
 *
 * Entries for the contract tests are built as plain canal.h structs, as any
 * program could build them; the generated inputs of test_flat.py go through
 * canal_message_parse and canal_entry_rowchange like the server's bytes. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../canal.h"
#include "../canal_flat.h"
#include "tinytest.h"

/* ------------------------------------------------------------ helpers */

/* A receiver that collects the line, optionally failing on call fail_at. */
struct sink {
    char *p;
    size_t len, cap;
    int calls, fail_at;
};

static int sink_write(void *ud, const char *p, size_t n)
{
    struct sink *s = ud;
    if (++s->calls == s->fail_at)
        return -1;
    if (s->len + n + 1 > s->cap) {
        size_t cap = (s->len + n + 1) * 2;
        char *q = realloc(s->p, cap);
        if (!q)
            return -1;
        s->p = q;
        s->cap = cap;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
    return 0;
}

static canal_str S(const char *s)
{
    canal_str r = {s, strlen(s)};
    return r;
}

static canal_column col(const char *name, int32_t sql_type, const char *mysql, const char *value,
                        bool key, bool updated)
{
    canal_column c;
    memset(&c, 0, sizeof c);
    c.sql_type = sql_type;
    c.name = S(name);
    c.mysql_type = S(mysql);
    c.value = S(value ? value : "");
    c.is_null = value == NULL;
    c.has_is_null = true;
    c.is_key = key;
    c.updated = updated;
    return c;
}

static canal_entry row_entry(void)
{
    canal_entry e;
    memset(&e, 0, sizeof e);
    e.entry_type = CANAL_ROWDATA;
    e.has_entry_type = true;
    e.has_header = true;
    e.header.schema_name = S("shop");
    e.header.table_name = S("orders");
    e.header.logfile_name = S("");
    e.header.server_encode = S("");
    e.header.gtid = S("");
    e.header.execute_time = 1700000001000;
    return e;
}

static canal_rowchange rowchange(int32_t type, const canal_row *rows, size_t n)
{
    canal_rowchange rc;
    memset(&rc, 0, sizeof rc);
    rc.event_type = type;
    rc.has_event_type = true;
    rc.sql = S("");
    rc.ddl_schema_name = S("");
    rc.rows = rows;
    rc.n_rows = n;
    return rc;
}

/* The UPDATE of PROTOCOL.md 8.4 and its line. */
static canal_column upd_before1[3], upd_after1[3], upd_before2[3], upd_after2[3];
static canal_row upd_rows[2];

static void make_update(void)
{
    upd_before1[0] = col("id", -5, "bigint(20)", "1", true, false);
    upd_before1[1] = col("name", 12, "varchar(64)", "x", false, false);
    upd_before1[2] = col("qty", 4, "int(11)", "5", false, false);
    upd_after1[0] = col("id", -5, "bigint(20)", "1", true, false);
    upd_after1[1] = col("name", 12, "varchar(64)", "y", false, true);
    upd_after1[2] = col("qty", 4, "int(11)", "5", false, false);
    upd_before2[0] = col("id", -5, "bigint(20)", "2", true, false);
    upd_before2[1] = col("name", 12, "varchar(64)", "p", false, false);
    upd_before2[2] = col("qty", 4, "int(11)", NULL, false, false);
    upd_after2[0] = col("id", -5, "bigint(20)", "2", true, false);
    upd_after2[1] = col("name", 12, "varchar(64)", "p", false, false);
    upd_after2[2] = col("qty", 4, "int(11)", "7", false, true);
    memset(upd_rows, 0, sizeof upd_rows);
    upd_rows[0].before = upd_before1;
    upd_rows[0].n_before = 3;
    upd_rows[0].after = upd_after1;
    upd_rows[0].n_after = 3;
    upd_rows[1].before = upd_before2;
    upd_rows[1].n_before = 3;
    upd_rows[1].after = upd_after2;
    upd_rows[1].n_after = 3;
}

static const char update_line[] =
    "{\"data\":[{\"id\":\"1\",\"name\":\"y\",\"qty\":\"5\"},{\"id\":\"2\",\"name\":\"p\",\"qty\":\"7\"}],"
    "\"database\":\"shop\",\"es\":1700000001000,\"gtid\":\"\",\"id\":7,\"isDdl\":false,"
    "\"mysqlType\":{\"id\":\"bigint(20)\",\"name\":\"varchar(64)\",\"qty\":\"int(11)\"},"
    "\"old\":[{\"name\":\"x\"},{\"name\":\"p\",\"qty\":null}],\"pkNames\":[\"id\"],\"sql\":\"\","
    "\"sqlType\":{\"id\":-5,\"name\":12,\"qty\":4},\"table\":\"orders\",\"ts\":1700000009999,"
    "\"type\":\"UPDATE\"}\n";

/* ------------------------------------------------------------ contract */

static void test_update_line(void)
{
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_rowchange rc;
    struct sink s = {0};
    REQUIRE(f);
    make_update();
    rc = rowchange(CANAL_UPDATE, upd_rows, 2);
    CHECK(canal_flat_write(f, 7, 1700000009999, &e, &rc, sink_write, &s) == CANAL_OK);
    CHECK(s.p && strcmp(s.p, update_line) == 0);
    CHECK(strcmp(canal_flat_errstr(f), "") == 0);
    free(s.p);
    canal_flat_free(f);
}

static void test_render_buffer(void)
{
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_rowchange rc;
    size_t want = sizeof update_line - 1, len = 12345;
    char buf[1024];
    REQUIRE(f);
    make_update();
    rc = rowchange(CANAL_UPDATE, upd_rows, 2);
    /* exactly big enough */
    memset(buf, 'X', sizeof buf);
    CHECK(canal_flat_render(f, 7, 1700000009999, &e, &rc, buf, want, &len) == CANAL_OK);
    CHECK(len == want && memcmp(buf, update_line, want) == 0);
    CHECK(buf[want] == 'X'); /* nothing written past cap: no terminator */
    /* one byte short: ETOOBIG, the full length, nothing past cap */
    memset(buf, 'X', sizeof buf);
    len = 0;
    CHECK(canal_flat_render(f, 7, 1700000009999, &e, &rc, buf, want - 1, &len) == CANAL_ETOOBIG);
    CHECK(len == want);
    CHECK(buf[want - 1] == 'X');
    CHECK_CONTAINS(canal_flat_errstr(f), "needs");
    /* a size query */
    len = 0;
    CHECK(canal_flat_render(f, 7, 1700000009999, &e, &rc, NULL, 0, &len) == CANAL_ETOOBIG);
    CHECK(len == want);
    /* and the error is forgotten by the next good call */
    CHECK(canal_flat_render(f, 7, 1700000009999, &e, &rc, buf, sizeof buf, &len) == CANAL_OK);
    CHECK(strcmp(canal_flat_errstr(f), "") == 0);
    canal_flat_free(f);
}

static void test_bad_arguments(void)
{
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_rowchange rc = rowchange(CANAL_INSERT, NULL, 0);
    struct sink s = {0};
    size_t len = 99;
    char buf[8];
    REQUIRE(f);
    CHECK(canal_flat_write(f, 1, 0, NULL, &rc, sink_write, &s) == CANAL_EINVAL);
    CHECK(canal_flat_write(f, 1, 0, &e, NULL, sink_write, &s) == CANAL_EINVAL);
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, NULL, NULL) == CANAL_EINVAL);
    CHECK(canal_flat_render(f, 1, 0, &e, &rc, NULL, 5, &len) == CANAL_EINVAL);
    CHECK(len == 0);
    CHECK(canal_flat_render(f, 1, 0, &e, &rc, buf, sizeof buf, NULL) == CANAL_EINVAL);
    CHECK(canal_flat_write(NULL, 1, 0, &e, &rc, sink_write, &s) == CANAL_EINVAL);
    /* only an entry type that is present and ROWDATA */
    e.entry_type = CANAL_TRANSACTIONBEGIN;
    CHECK(!canal_flat_wants(&e));
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_flat_errstr(f), "TRANSACTIONBEGIN");
    e.entry_type = CANAL_ROWDATA;
    e.has_entry_type = false;
    CHECK(!canal_flat_wants(&e));
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_EINVAL);
    CHECK(s.calls == 0);
    e.has_entry_type = true;
    CHECK(canal_flat_wants(&e));
    CHECK(!canal_flat_wants(NULL));
    canal_flat_free(NULL);
    canal_flat_free(f);
}

static void test_callback_failure(void)
{
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_rowchange rc;
    struct sink s = {0};
    REQUIRE(f);
    make_update();
    rc = rowchange(CANAL_UPDATE, upd_rows, 2);
    s.fail_at = 1;
    CHECK(canal_flat_write(f, 7, 0, &e, &rc, sink_write, &s) == CANAL_EIO);
    CHECK_CONTAINS(canal_flat_errstr(f), "callback");
    free(s.p);
    canal_flat_free(f);
}

/* Bytes the client passes unchecked when validate_utf8 is off must not make
 * invalid JSON: the writer refuses them, naming where they are. */
static void test_invalid_utf8(void)
{
    static const char *bad[] = {"\xff", "a\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xe2\x82", "\x80"};
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_column c[1];
    canal_row r;
    canal_rowchange rc;
    struct sink s = {0};
    REQUIRE(f);
    memset(&r, 0, sizeof r);
    r.after = c;
    r.n_after = 1;
    rc = rowchange(CANAL_INSERT, &r, 1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c[0] = col("v", 12, "varchar(8)", bad[i], false, true);
        CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_EPROTO);
        CHECK_CONTAINS(canal_flat_errstr(f), "the value of row 0, column 0");
        CHECK_CONTAINS(canal_flat_errstr(f), "UTF-8");
    }
    /* the edges of what is valid pass: U+0080, U+07FF, U+FFFF, U+10FFFF, U+2028 */
    c[0] = col("v", 12, "varchar(8)", "\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xe2\x80\xa8", false, true);
    s.len = 0;
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_OK);
    CHECK(s.p && strstr(s.p, "\"v\":\"\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xe2\x80\xa8\""));
    c[0] = col("v", 12, "varchar(8)\xff", "ok", false, true);
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_flat_errstr(f), "the mysqlType of column 0 is not valid UTF-8 at byte 10");
    c[0] = col("v", 12, "varchar(8)", "ok", false, true);
    e.header.table_name = S("t\xfe");
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_flat_errstr(f), "tableName");
    free(s.p);
    canal_flat_free(f);
}

/* A line much longer than the 16 KiB chunk arrives whole and in order. */
static void test_long_values(void)
{
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_column c[3];
    canal_row r;
    canal_rowchange rc;
    struct sink s = {0};
    size_t n = 100000, len = 0;
    char *big = malloc(n + 1), *buf;
    REQUIRE(f && big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i % 7 == 0 ? '\n' : 'a' + i % 26);
    big[n] = '\0';
    c[0] = col("a", 12, "text", "x", false, true);
    c[1] = col("big", 12, "text", big, false, true);
    c[2] = col("z", 12, "text", "y", false, true);
    memset(&r, 0, sizeof r);
    r.after = c;
    r.n_after = 3;
    rc = rowchange(CANAL_INSERT, &r, 1);
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_OK);
    CHECK(s.calls > 1);
    CHECK(canal_flat_render(f, 1, 0, &e, &rc, NULL, 0, &len) == CANAL_ETOOBIG);
    CHECK(len == s.len);
    buf = malloc(len);
    REQUIRE(buf);
    CHECK(canal_flat_render(f, 1, 0, &e, &rc, buf, len, &len) == CANAL_OK);
    CHECK(len == s.len && memcmp(buf, s.p, len) == 0);
    CHECK(strncmp(s.p, "{\"data\":[{\"a\":\"x\",\"big\":\"\\nbcdefg\\n", 35) == 0);
    CHECK(s.len > 0 && s.p[s.len - 1] == '\n' && memchr(s.p, '\n', s.len) == s.p + s.len - 1);
    free(buf);
    free(big);
    free(s.p);
    canal_flat_free(f);
}

static double cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

/* Issue 10: a 40,000-column row took 13 s in the old writer (name lookups by
 * scanning). An UPDATE of 40,000 columns, every one changed, exercises every
 * map; linear work is a few ms, so "well under 5 s of CPU" only guards
 * against quadratic behaviour (also under valgrind and ASan). */
static void test_wide_row(void)
{
    enum { N = 40000 };
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_column *before = calloc(N, sizeof *before), *after = calloc(N, sizeof *after);
    char *names = malloc((size_t)N * 8);
    canal_row r;
    canal_rowchange rc;
    struct sink s = {0};
    double t0;
    REQUIRE(f && before && after && names);
    for (int i = 0; i < N; i++) {
        char *name = names + (size_t)i * 8;
        snprintf(name, 8, "c%d", i);
        before[i] = col(name, 4, "int(11)", "1", i == 0, false);
        after[i] = col(name, 4, "int(11)", "2", i == 0, true);
    }
    memset(&r, 0, sizeof r);
    r.before = before;
    r.n_before = N;
    r.after = after;
    r.n_after = N;
    rc = rowchange(CANAL_UPDATE, &r, 1);
    t0 = cpu_seconds();
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_OK);
    CHECK(cpu_seconds() - t0 < 5.0);
    /* every column in data, old, sqlType and mysqlType, the last one too */
    REQUIRE(s.p);
    CHECK_CONTAINS(s.p, "\"c39999\":\"2\"}],\"database\"");
    CHECK_CONTAINS(s.p, "\"c39999\":\"int(11)\"},\"old\"");
    CHECK_CONTAINS(s.p, "\"c39999\":\"1\"}],\"pkNames\":[\"c0\"]");
    CHECK_CONTAINS(s.p, "\"c39999\":4},\"table\"");
    free(s.p);
    free(before);
    free(after);
    free(names);
    canal_flat_free(f);
}

/* Many columns of one name in a row: one key, first position, last value
 * (LinkedHashMap), and still linear. */
static void test_repeated_names(void)
{
    enum { N = 40000 };
    canal_flat *f = canal_flat_new();
    canal_entry e = row_entry();
    canal_column *cols = calloc(N, sizeof *cols);
    canal_row r;
    canal_rowchange rc;
    struct sink s = {0};
    double t0;
    REQUIRE(f && cols);
    for (int i = 0; i < N; i++)
        cols[i] = col(i % 2 ? "b" : "a", i, "int", i == N - 1 ? "last" : "v", true, true);
    memset(&r, 0, sizeof r);
    r.after = cols;
    r.n_after = N;
    rc = rowchange(CANAL_INSERT, &r, 1);
    t0 = cpu_seconds();
    CHECK(canal_flat_write(f, 1, 0, &e, &rc, sink_write, &s) == CANAL_OK);
    CHECK(cpu_seconds() - t0 < 5.0);
    REQUIRE(s.p);
    CHECK(strncmp(s.p, "{\"data\":[{\"a\":\"v\",\"b\":\"last\"}],", 31) == 0);
    CHECK_CONTAINS(s.p, "\"sqlType\":{\"a\":39998,\"b\":39999}");
    free(s.p);
    free(cols);
    canal_flat_free(f);
}

/* ------------------------------------------------------------ --dump */

static int dump(const char *path, int64_t ts)
{
    FILE *in = fopen(path, "rb");
    canal_options o;
    canal_client *c;
    canal_flat *f = canal_flat_new();
    struct sink s = {0};
    unsigned char hdr[4];
    char *msg = NULL, *buf = NULL;
    size_t bufcap = 0;
    int status = 0;

    canal_options_init(&o);
    c = canal_client_new(&o);
    if (!in || !c || !f) {
        fprintf(stderr, "test_flat: cannot open %s or out of memory\n", path);
        return 2;
    }
    while (fread(hdr, 1, 4, in) == 4) {
        size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        const canal_message *m;
        free(msg);
        msg = malloc(n ? n : 1);
        if (!msg || fread(msg, 1, n, in) != n) {
            fprintf(stderr, "test_flat: truncated record\n");
            status = 2;
            break;
        }
        if (canal_message_parse(c, msg, n, false, &m) < 0) {
            printf("ERROR %d\n", canal_errcode(c));
            continue;
        }
        for (size_t i = 0; i < m->n_entries; i++) {
            const canal_entry *e = &m->entries[i];
            canal_rowchange rc;
            size_t len = 0;
            int rv;
            if (!canal_flat_wants(e))
                continue;
            if (canal_entry_rowchange(c, e, &rc) < 0) {
                printf("ERROR %d\n", canal_errcode(c));
                continue;
            }
            s.len = 0;
            rv = canal_flat_write(f, m->batch_id, ts, e, &rc, sink_write, &s);
            if (rv < 0) {
                printf("ERROR %d\n", rv);
                continue;
            }
            /* the buffer form: a size query, then the exact size */
            if (canal_flat_render(f, m->batch_id, ts, e, &rc, NULL, 0, &len) != CANAL_ETOOBIG ||
                len != s.len) {
                fprintf(stderr, "test_flat: size query gave %zu, the callback %zu\n", len, s.len);
                status = 1;
            }
            if (len > bufcap) {
                free(buf);
                bufcap = len;
                buf = malloc(bufcap);
            }
            if (!buf || canal_flat_render(f, m->batch_id, ts, e, &rc, buf, len, &len) != CANAL_OK ||
                len != s.len || memcmp(buf, s.p, len) != 0) {
                fprintf(stderr, "test_flat: the buffer and the callback forms differ\n");
                status = 1;
            }
            fwrite(s.p, 1, s.len, stdout);
        }
        printf("-- %zu\n", m->n_entries);
    }
    fflush(stdout);
    if (in)
        fclose(in);
    free(msg);
    free(buf);
    free(s.p);
    canal_flat_free(f);
    canal_client_free(c);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2], strtoll(argv[3], NULL, 10));
    RUN(test_update_line);
    RUN(test_render_buffer);
    RUN(test_bad_arguments);
    RUN(test_callback_failure);
    RUN(test_invalid_utf8);
    RUN(test_long_values);
    RUN(test_wide_row);
    RUN(test_repeated_names);
    return TT_REPORT("test_flat");
}
