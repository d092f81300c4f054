/* test_unit.c - canal-c unit tests: SHA-1 and scramble vectors, UTF-8 and
 * binary helpers, the codec against bytes made by Google's protoc, requests
 * checked byte for byte and with protoc --decode, and the frame reader fed
 * by a scripted peer over a socketpair in whole, split and 1-byte pieces.
 *
 * canal.c is included so the static helpers can be tested directly. */
#include "../canal.c"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "peer.h"
#include "tinytest.h"

static const char *fixture_dir = "build/fixtures";

/* ------------------------------------------------------------ helpers */

static void tohex(const uint8_t *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

static size_t read_file(const char *name, uint8_t *buf, size_t cap) {
    return read_fixture_file(fixture_dir, name, buf, cap);
}

static canal_client *new_client(const char *user, const char *password, int read_timeout_ms) {
    canal_options o;
    canal_options_init(&o);
    o.username = user;
    o.password = password;
    o.read_timeout_ms = read_timeout_ms;
    return canal_client_new(&o);
}

/* Spec §2 and §4 frames. */
#define HS_0102 "00000010 1001 1801 2a0a 1208 0102030405060708"
#define ACK_OK "00000004 1001 1803"
#define ACK_AUTH_FAIL "00000021 1001 1803 2a1b 089003 1216 61757468206661696c656420666f7220757365723a78"
#define EMPTY_GET "00000011 1001 1807 2a0b 08ffffffffffffffffff01"
#define RAW_GET_5 "0000000e 1807 2a0a 0805 12020a00 12021002"

/* ------------------------------------------------------------ SHA-1, scramble */

static void test_sha1_vectors(void) {
    uint8_t d[20];
    char hex[41];
    sha1("abc", 3, d);
    tohex(d, 20, hex);
    CHECK(strcmp(hex, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0);
    sha1("", 0, d);
    tohex(d, 20, hex);
    CHECK(strcmp(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709") == 0);
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1(m, strlen(m), d);
    tohex(d, 20, hex);
    CHECK(strcmp(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1") == 0);
    /* a million 'a' fed in odd pieces exercises the block buffering */
    sha1_ctx s;
    char a[777];
    memset(a, 'a', sizeof a);
    sha1_init(&s);
    size_t left = 1000000;
    while (left) {
        size_t k = left < sizeof a ? left : sizeof a;
        sha1_update(&s, a, k);
        left -= k;
    }
    sha1_final(&s, d);
    tohex(d, 20, hex);
    CHECK(strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);
}

static void test_scramble_spec_vectors(void) {
    static const struct {
        const char *pw_hex, *seed, *token, *stage2;
    } v[] = {
        {"63616e616c", "0102030405060708", "7de44690d8e53782cb61804a2455c284a3bbfb06",
         "e3619321c1a937c46a0d8bd1dac39f93b27d4458"},
        {"", "0000000000000000", "3a926ccdbea4f1106c2e8a48b63eedbdeadd7f1f",
         "be1bdec0aa74b4dcb079943e70528096cca985f8"},
        {"70c3a4737377c3b67264e282ac", "a1b2c3d4e5f60718", "775d21881443b072ac23d819b01e2dd990ba59fd",
         "fed46d72d7952705140f447bc06de1da643766e7"},
        {"313233343536", "ffffffffffffffff", "8c3cc4d5cd7fe73525b6afa89ad29c1ee6d13831",
         "6bb4837eb74329105ee4568dda7dc67ed2ca2ad9"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t pw[64], seed[8], stage1[20], stage2[20];
        char tok[41], hex[41];
        size_t pn = unhex(v[i].pw_hex, pw, sizeof pw);
        unhex(v[i].seed, seed, sizeof seed);
        sha1(pw, pn, stage1);
        sha1(stage1, 20, stage2);
        tohex(stage2, 20, hex);
        CHECK(strcmp(hex, v[i].stage2) == 0);
        scramble_hex(stage1, seed, 8, tok);
        CHECK(strcmp(tok, v[i].token) == 0);
    }
    /* spec intermediates of the first row */
    uint8_t s1[20];
    char hex[41];
    sha1("canal", 5, s1);
    tohex(s1, 20, hex);
    CHECK(strcmp(hex, "bdc7b3f63327eb9295c9dbdfc723ac1eab5578f5") == 0);
}

/* ------------------------------------------------------------ helpers */

static void test_utf8_validation(void) {
    CHECK(utf8_valid((const uint8_t *)"", 0));
    CHECK(utf8_valid((const uint8_t *)"plain ascii text, longer than 8", 31));
    CHECK(utf8_valid((const uint8_t *)"\xe5\x8c\x97\xe4\xba\xac", 6));     /* 北京 */
    CHECK(utf8_valid((const uint8_t *)"\x00\xc3\xbf" "A", 4));             /* NUL is fine */
    CHECK(utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));             /* U+1F600 */
    CHECK(!utf8_valid((const uint8_t *)"\xff", 1));
    CHECK(!utf8_valid((const uint8_t *)"\xc0\x80", 2));                    /* overlong NUL */
    CHECK(!utf8_valid((const uint8_t *)"\xe0\x80\x80", 3));                /* overlong */
    CHECK(!utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));                /* surrogate */
    CHECK(!utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));            /* > U+10FFFF */
    CHECK(!utf8_valid((const uint8_t *)"abcdefgh\xc3", 9));                /* cut short */
    CHECK(!utf8_valid((const uint8_t *)"\xc3(", 2));                       /* bad continuation */
    CHECK(!utf8_valid((const uint8_t *)"\xe9", 1));                        /* ISO-8859-1 é */
}

/* A slow, obviously right UTF-8 check: decode each code point in full. */
static bool ref_utf8(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t b = p[i], cp, min;
        size_t k;
        if (b < 0x80) k = 0, cp = b, min = 0;
        else if ((b & 0xE0) == 0xC0) k = 1, cp = b & 0x1F, min = 0x80;
        else if ((b & 0xF0) == 0xE0) k = 2, cp = b & 0x0F, min = 0x800;
        else if ((b & 0xF8) == 0xF0) k = 3, cp = b & 0x07, min = 0x10000;
        else return false;
        if (n - i <= k) return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k + 1;
    }
    return true;
}

/* The fast check against the slow one, on every short string of the bytes
 * where UTF-8's rules change, with ASCII around it to move it through both
 * the 4-bytes-at-once path and the tail path. */
static void test_utf8_against_reference(void) {
    static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                   0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee,
                                   0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
    const size_t ne = sizeof edge;
    uint8_t buf[16];
    long mismatches = 0, checked = 0;
    for (size_t len = 1; len <= 4; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++) total *= ne;
        for (size_t k = 0; k < total; k++) {
            size_t x = k;
            for (size_t i = 0; i < len; i++) buf[2 + i] = edge[x % ne], x /= ne;
            for (int pre = 0; pre <= 2; pre += 2)
                for (int post = 0; post <= 4; post += 4) {
                    memset(buf, 'a', 2);
                    memset(buf + 2 + len, 'z', (size_t)post);
                    const uint8_t *s = buf + 2 - pre;
                    size_t n = (size_t)pre + len + (size_t)post;
                    checked++;
                    if (utf8_valid(s, n) != ref_utf8(s, n) && mismatches++ < 5) {
                        char hex[40];
                        tohex(s, n, hex);
                        fprintf(stderr, "  utf8 mismatch on %s\n", hex);
                    }
                }
        }
    }
    CHECK(mismatches == 0);
    CHECK(checked > 1000000);
}

static void test_latin1_to_bytes(void) {
    uint8_t out[16];
    size_t n = 99;
    CHECK(canal_latin1_to_bytes("\x00\xc3\xbf" "A", 4, out, &n) == CANAL_OK);
    CHECK(n == 3 && out[0] == 0x00 && out[1] == 0xff && out[2] == 0x41);
    CHECK(canal_latin1_to_bytes("\xc2\x80\xc2\xbf\xc3\x80", 6, out, &n) == CANAL_OK);
    CHECK(n == 3 && out[0] == 0x80 && out[1] == 0xbf && out[2] == 0xc0);
    CHECK(canal_latin1_to_bytes("\xe5\x8c\x97", 3, out, &n) == CANAL_EINVAL); /* > U+00FF */
    CHECK(canal_latin1_to_bytes("\xc3", 1, out, &n) == CANAL_EINVAL);         /* cut short */
    CHECK(canal_latin1_to_bytes("", 0, out, &n) == CANAL_OK && n == 0);
    char inplace[] = "x\xc3\xa9y";
    CHECK(canal_latin1_to_bytes(inplace, 4, (uint8_t *)inplace, &n) == CANAL_OK);
    CHECK(n == 3 && memcmp(inplace, "x\xe9y", 3) == 0);
    CHECK(canal_latin1_to_bytes("a", 1, out, NULL) == CANAL_EINVAL);
}

static void test_names(void) {
    CHECK(strcmp(canal_entry_type_name(2), "ROWDATA") == 0);
    CHECK(strcmp(canal_entry_type_name(0), "ENTRYTYPECOMPATIBLEPROTO2") == 0);
    CHECK(strcmp(canal_entry_type_name(17), "UNRECOGNIZED") == 0);
    CHECK(strcmp(canal_event_type_name(15), "MHEARTBEAT") == 0);
    CHECK(strcmp(canal_event_type_name(-1), "UNRECOGNIZED") == 0);
    CHECK(strcmp(canal_strerror(CANAL_ETOOBIG), "CANAL_ETOOBIG") == 0);
    CHECK(canal_version() == CANAL_VERSION_NUMBER);
}

static void test_options_validation(void) {
    canal_options o;
    canal_options_init(&o);
    CHECK(o.port == 11111 && o.client_id == 1001 && o.read_timeout_ms == 60000);
    CHECK(o.idle_timeout_ms == 3600000 && o.max_frame == 268435456u && o.rollback_on_connect);
    CHECK(strcmp(o.host, "127.0.0.1") == 0 && strcmp(o.destination, "example") == 0);
    o.client_id = 40000;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    CHECK(canal_errcode(c) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "client_id");
    CHECK(canal_connect(c) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "Java short");
    CHECK_CONTAINS(canal_errstr(c), "(got 40000)"); /* the bad value is named */
    canal_client_free(c);
    canal_options_init(&o);
    o.max_frame = 8;
    c = canal_client_new(&o);
    CHECK_CONTAINS(canal_errstr(c), "max_frame must be 16..2147483647 (got 8)");
    canal_client_free(c);
    canal_options_init(&o);
    o.host = "h1:11111,h2:99999";
    c = canal_client_new(&o);
    CHECK_CONTAINS(canal_errstr(c), "(in \"h1:11111,h2:99999\")");
    canal_client_free(c);
    canal_options_init(&o);
    o.destination = "";
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_EINVAL);
    canal_client_free(c);
    canal_client_free(NULL);
}

static void test_calls_before_connect(void) {
    canal_client *c = canal_client_new(NULL);
    const canal_message *m = (const canal_message *)1;
    REQUIRE(c != NULL);
    CHECK(canal_get(c, 10, 0, &m) == CANAL_ESTATE && m == NULL);
    CHECK_CONTAINS(canal_errstr(c), "not connected");
    CHECK(canal_ack(c, 1) == CANAL_ESTATE);
    CHECK(canal_rollback(c, 0) == CANAL_ESTATE);
    CHECK(canal_subscribe(c, "x") == CANAL_ESTATE);
    CHECK(canal_unsubscribe(c) == CANAL_ESTATE);
    CHECK(!canal_is_connected(c));
    CHECK(canal_get(NULL, 1, 1, &m) == CANAL_EINVAL);
    CHECK(canal_entry_rowchange(c, NULL, NULL) == CANAL_EINVAL);
    canal_disconnect(c);
    canal_client_free(c);
}

/* ------------------------------------------------------------ codec (protoc-made bytes) */

static void check_fixture_message(const canal_message *m) {
    CHECK(m->batch_id == 7);
    REQUIRE(m->n_entries == 6);
    const canal_entry *e = m->entries;
    CHECK(e[0].has_entry_type && e[0].entry_type == CANAL_TRANSACTIONBEGIN);
    CHECK(e[0].header.has_version && e[0].header.version == 1);
    CHECK_STRN(e[0].header.logfile_name.ptr, e[0].header.logfile_name.len, "mysql-bin.000001");
    CHECK(e[0].header.logfile_offset == 4 && e[0].header.server_id == 1);
    CHECK(e[0].header.execute_time == 1700000000000LL && e[0].header.event_length == 80);
    CHECK(e[0].header.has_source_type && e[0].header.source_type == 2);
    CHECK(!e[0].header.has_event_type && e[0].header.schema_name.len == 0);
    CHECK(e[0].header.schema_name.ptr[0] == '\0' && e[0].header.n_props == 0);

    CHECK(e[1].entry_type == CANAL_ROWDATA);
    CHECK_STRN(e[1].header.schema_name.ptr, e[1].header.schema_name.len, "shop");
    CHECK_STRN(e[1].header.table_name.ptr, e[1].header.table_name.len, "orders");
    CHECK(strcmp(e[1].header.table_name.ptr, "orders") == 0); /* NUL-terminated */
    CHECK(e[1].header.has_event_type && e[1].header.event_type == CANAL_INSERT);
    REQUIRE(e[1].header.n_props == 1);
    CHECK_STRN(e[1].header.props[0].key.ptr, e[1].header.props[0].key.len, "rowsCount");
    CHECK_STRN(e[1].header.props[0].value.ptr, e[1].header.props[0].value.len, "1");
    CHECK_STRN(e[3].header.gtid.ptr, e[3].header.gtid.len, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5");
    CHECK(e[3].header.logfile_offset == 4000000000LL && e[3].header.server_id == 3);
    /* absent entryType reads 0, an unknown event type keeps its number */
    CHECK(!e[4].has_entry_type && e[4].entry_type == 0);
    CHECK(e[4].header.has_event_type && e[4].header.event_type == 99);
    CHECK(e[4].store_value.len == 2 && e[4].store_value.ptr[0] == 1);
    CHECK(e[5].entry_type == CANAL_TRANSACTIONEND);

    /* raw entry bytes are exactly what protoc encoded */
    uint8_t want[1024];
    size_t wn = read_file("e_insert.bin", want, sizeof want);
    CHECK(wn > 0 && e[1].raw.len == wn && memcmp(e[1].raw.ptr, want, wn) == 0);
    wn = read_file("rc_insert.bin", want, sizeof want);
    CHECK(wn > 0 && e[1].store_value.len == wn && memcmp(e[1].store_value.ptr, want, wn) == 0);
}

static void check_fixture_rows(canal_client *c, const canal_message *m) {
    canal_rowchange rc;
    const canal_entry *e = m->entries;
    REQUIRE(canal_entry_rowchange(c, &e[1], &rc) == CANAL_OK);
    CHECK(rc.table_id == 42 && rc.has_event_type && rc.event_type == CANAL_INSERT);
    CHECK(rc.has_is_ddl && !rc.is_ddl && rc.sql.len == 0);
    REQUIRE(rc.n_rows == 1 && rc.n_props == 1);
    CHECK_STRN(rc.props[0].key.ptr, rc.props[0].key.len, "rcprop");
    const canal_row *r = &rc.rows[0];
    CHECK(r->n_before == 0 && r->before == NULL);
    REQUIRE(r->n_after == 5 && r->n_props == 1);
    CHECK_STRN(r->props[0].value.ptr, r->props[0].value.len, "r1");
    const canal_column *col = r->after;
    CHECK(col[0].index == 0 && col[0].sql_type == -5 && col[0].is_key && col[0].updated);
    CHECK(col[0].has_is_null && !col[0].is_null);
    CHECK_STRN(col[0].name.ptr, col[0].name.len, "id");
    CHECK_STRN(col[0].value.ptr, col[0].value.len, "1");
    CHECK_STRN(col[0].mysql_type.ptr, col[0].mysql_type.len, "bigint(20)");
    CHECK_STRN(col[1].value.ptr, col[1].value.len, "a\"b");
    REQUIRE(col[1].n_props == 1);
    CHECK_STRN(col[1].props[0].key.ptr, col[1].props[0].key.len, "charset");
    CHECK_STRN(col[1].props[0].value.ptr, col[1].props[0].value.len, "utf8mb4");
    /* a binary value keeps its NUL and turns back into its bytes */
    CHECK(col[2].sql_type == 2004 && col[2].value.len == 4);
    CHECK(memcmp(col[2].value.ptr, "\0\xc3\xbf" "A", 4) == 0 && col[2].value.ptr[4] == '\0');
    uint8_t bin[8];
    size_t bn;
    CHECK(canal_latin1_to_bytes(col[2].value.ptr, col[2].value.len, bin, &bn) == CANAL_OK);
    CHECK(bn == 3 && bin[0] == 0 && bin[1] == 0xff && bin[2] == 'A');
    CHECK(col[3].is_null && col[3].value.len == 0 && col[3].value.ptr != NULL);
    CHECK(col[3].n_props == 0 && col[3].props == NULL);
    CHECK_STRN(col[4].value.ptr, col[4].value.len, "\xe5\x8c\x97\xe4\xba\xac");
    CHECK(col[4].length == 6);

    /* UPDATE: before and after interleaved on the wire stay per row */
    REQUIRE(canal_entry_rowchange(c, &e[2], &rc) == CANAL_OK);
    CHECK(rc.event_type == CANAL_UPDATE);
    REQUIRE(rc.n_rows == 2);
    REQUIRE(rc.rows[0].n_before == 2 && rc.rows[0].n_after == 2);
    CHECK_STRN(rc.rows[0].before[1].value.ptr, rc.rows[0].before[1].value.len, "x");
    CHECK_STRN(rc.rows[0].after[1].value.ptr, rc.rows[0].after[1].value.len, "y");
    CHECK(rc.rows[0].after[1].updated && !rc.rows[0].after[0].updated);
    REQUIRE(rc.rows[1].n_before == 2 && rc.rows[1].n_after == 2);
    CHECK_STRN(rc.rows[1].before[1].name.ptr, rc.rows[1].before[1].name.len, "qty");
    CHECK(rc.rows[1].before[1].is_null);
    CHECK_STRN(rc.rows[1].after[1].value.ptr, rc.rows[1].after[1].value.len, "7");

    REQUIRE(canal_entry_rowchange(c, &e[3], &rc) == CANAL_OK);
    CHECK(rc.is_ddl && rc.event_type == CANAL_ALTER && rc.n_rows == 0 && rc.rows == NULL);
    CHECK_STRN(rc.sql.ptr, rc.sql.len, "ALTER TABLE orders ADD c INT");
    CHECK_STRN(rc.ddl_schema_name.ptr, rc.ddl_schema_name.len, "shop");

    /* non-ROWDATA entries carry no RowChange */
    CHECK(canal_entry_rowchange(c, &e[0], &rc) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "TRANSACTIONBEGIN");
    CHECK(canal_entry_rowchange(c, &e[4], &rc) == CANAL_EINVAL);
}

static void test_codec_protoc_fixtures(void) {
    static uint8_t buf[4096];
    canal_client *c = canal_client_new(NULL);
    const canal_message *m;
    REQUIRE(c != NULL);
    const char *files[] = {"packet_raw.bin", "packet_v1.bin"};
    for (int i = 0; i < 2; i++) {
        size_t n = read_file(files[i], buf, sizeof buf);
        REQUIRE(n > 0);
        CHECK(canal_message_parse(c, buf, n, true, &m) == CANAL_OK);
        if (m) {
            check_fixture_message(m);
            check_fixture_rows(c, m);
        }
    }
    size_t n = read_file("messages.bin", buf, sizeof buf);
    CHECK(canal_message_parse(c, buf, n, false, &m) == CANAL_OK);
    if (m) check_fixture_message(m);
    /* Canal's MQ producers (non-raw): Packet{version 1, MESSAGES, Messages
     * without a batch id}; here with the fixture's begin entry */
    size_t en = read_file("e_begin.bin", buf + 16, sizeof buf - 16);
    REQUIRE(en > 0 && en < 120);
    uint8_t *q = buf;
    *q++ = 0x10, *q++ = 0x01, *q++ = 0x18, *q++ = 0x07, *q++ = 0x2a, *q++ = (uint8_t)(en + 2);
    *q++ = 0x12, *q++ = (uint8_t)en;
    memmove(q, buf + 16, en);
    CHECK(canal_message_parse(c, buf, 8 + en, true, &m) == CANAL_OK);
    CHECK(m && m->batch_id == 0 && m->n_entries == 1 && m->entries[0].entry_type == CANAL_TRANSACTIONBEGIN);
    n = read_file("packet_empty.bin", buf, sizeof buf);
    CHECK(canal_message_parse(c, buf, n, true, &m) == CANAL_OK);
    CHECK(m && m->batch_id == -1 && m->n_entries == 0 && m->entries == NULL);
    canal_client_free(c);
}

/* Any enum number is kept, as protobuf's own parsers keep it: negative
 * ones (10-byte varints) and ones past 32 bits (the low 32 bits). */
static void test_unknown_enum_numbers_kept(void) {
    canal_client *c = canal_client_new(NULL);
    const canal_message *m;
    canal_rowchange rc;
    uint8_t b[128];
    REQUIRE(c != NULL);
    /* Messages{batch 5, Entry{entryType -1, header{eventType 2^33+5}, storeValue
     * RowChange{eventType -1}}} */
    size_t n = unhex("0805 1220 10ffffffffffffffffff01 0a06 588580808020"
                     " 1a0b 10ffffffffffffffffff01", b, sizeof b);
    REQUIRE(canal_message_parse(c, b, n, false, &m) == CANAL_OK);
    REQUIRE(m->n_entries == 1);
    CHECK(m->entries[0].has_entry_type && m->entries[0].entry_type == -1);
    CHECK(strcmp(canal_entry_type_name(m->entries[0].entry_type), "UNRECOGNIZED") == 0);
    CHECK(m->entries[0].header.has_event_type && m->entries[0].header.event_type == 5);
    n = unhex("10ffffffffffffffffff01", b, sizeof b);
    CHECK(canal_rowchange_parse(c, b, n, &rc) == CANAL_OK);
    CHECK(rc.has_event_type && rc.event_type == -1);
    /* a negative packet type is an unexpected type, named as such */
    n = unhex("18ffffffffffffffffff01", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "unexpected packet type -1 (UNRECOGNIZED)");
    /* an enum sent with another wire type is an unknown field, as protobuf
     * has it: skipped, not read as a value (the packet then has no type) */
    n = unhex("1d07000000", b, sizeof b); /* type as fixed32 */
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "unexpected packet type 0");
    n = unhex("0805 1205 1502000000", b, sizeof b); /* entryType as fixed32 */
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK);
    CHECK(m && m->n_entries == 1 && !m->entries[0].has_entry_type && m->entries[0].entry_type == 0);
    canal_client_free(c);
}

/* An entry of an older message is refused, not read from freed memory. */
static void test_stale_entry_refused(void) {
    static uint8_t buf[4096];
    canal_client *c = canal_client_new(NULL);
    const canal_message *m;
    canal_rowchange rc;
    REQUIRE(c != NULL);
    size_t n = read_file("packet_raw.bin", buf, sizeof buf);
    REQUIRE(n > 0 && canal_message_parse(c, buf, n, true, &m) == CANAL_OK);
    canal_entry old = m->entries[1]; /* a copy of an entry is fine while its message lives */
    CHECK(canal_entry_rowchange(c, &old, &rc) == CANAL_OK && rc.n_rows == 1);
    uint8_t other[4];
    size_t on = unhex("0805 1200", other, sizeof other);
    REQUIRE(canal_message_parse(c, other, on, false, &m) == CANAL_OK);
    CHECK(canal_entry_rowchange(c, &old, &rc) == CANAL_ESTATE);
    CHECK_CONTAINS(canal_errstr(c), "not from the current message");
    CHECK(canal_rowchange_parse(c, old.store_value.ptr, old.store_value.len, &rc) == CANAL_OK);
    CHECK(rc.n_rows == 1); /* the bytes in buf are still there: parse them directly */
    /* a failed parse ends the message too */
    REQUIRE(canal_message_parse(c, buf, n, true, &m) == CANAL_OK);
    const canal_entry *live = &m->entries[1];
    CHECK(canal_message_parse(c, (const uint8_t *)"\xff", 1, true, &m) == CANAL_EPROTO);
    CHECK(canal_entry_rowchange(c, live, &rc) == CANAL_ESTATE);
    canal_client_free(c);
}

static void test_codec_rejects_bad_bytes(void) {
    canal_client *c = canal_client_new(NULL);
    const canal_message *m;
    uint8_t b[256];
    size_t n;
    REQUIRE(c != NULL);
    /* truncated varint in batch_id */
    n = unhex("08ff", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO && m == NULL);
    CHECK_CONTAINS(canal_errstr(c), "malformed Messages");
    /* entry length runs past the end */
    n = unhex("0805 1205 0a00", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO);
    /* an entry whose header is cut short */
    n = unhex("0805 1204 0a05 1203", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "entry 0");
    /* invalid UTF-8 in a header string: Header{schemaName = ff} */
    n = unhex("0805 1205 0a03 4201ff", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "invalid UTF-8 in Header.schemaName");
    /* compression ZLIB is refused, NONE and COMPATIBLE are not */
    n = unhex("1807 2002 2a02 0805", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "compression 2");
    n = unhex("1807 2001 2a02 0805", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_OK && m && m->batch_id == 5);
    n = unhex("1807 2000 2a02 0805", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_OK);
    /* wrong packet type */
    n = unhex("1803", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "unexpected packet type 3 (ACK)");
    /* unknown fields are skipped: Messages field 9 varint and field 10 bytes */
    n = unhex("4801 0805 5202 abcd", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK && m && m->batch_id == 5);
    /* ...also inside a header: field 20 varint, field 21 fixed32, a known
     * number (tableName, 9) sent as a varint, then schemaName "s" */
    n = unhex("0805 1210 0a0e a00101 ad0101020304 4805 420173", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK);
    if (m && m->n_entries == 1) {
        CHECK(strcmp(m->entries[0].header.schema_name.ptr, "s") == 0);
        CHECK(m->entries[0].header.table_name.len == 0);
    }
    /* empty body = empty Messages: batch 0, no entries */
    CHECK(canal_message_parse(c, b, 0, false, &m) == CANAL_OK && m && m->n_entries == 0);
    CHECK(canal_message_parse(c, NULL, 3, false, &m) == CANAL_EINVAL);

    /* RowChange problems show up on decode, with what and where */
    canal_rowchange rc;
    /* rowDatas{afterColumns{value = c3 28}} */
    n = unhex("6206 1204 4202 c328", b, sizeof b);
    CHECK(canal_rowchange_parse(c, b, n, &rc) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "invalid UTF-8 in Column.value");
    CHECK(rc.n_rows == 0 && rc.rows == NULL);
    /* column cut short inside a row */
    n = unhex("6206 1204 4205 c3", b, sizeof b);
    CHECK(canal_rowchange_parse(c, b, n, &rc) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "RowChange");
    canal_client_free(c);

    /* with validation off the same bytes pass through unchecked */
    canal_options o;
    canal_options_init(&o);
    o.validate_utf8 = false;
    c = canal_client_new(&o);
    n = unhex("6206 1204 4202 c328", b, sizeof b);
    CHECK(canal_rowchange_parse(c, b, n, &rc) == CANAL_OK);
    CHECK(rc.n_rows == 1 && rc.rows[0].n_after == 1 && rc.rows[0].after[0].value.len == 2);
    canal_client_free(c);
}

/* The hand-written Column decoder follows protobuf's parsing rules. */
static int decode_one_column(canal_client *c, const char *column_hex, canal_column *out) {
    uint8_t col[256], rc_bytes[300];
    size_t cn = unhex(column_hex, col, sizeof col), n = 0;
    /* RowChange{rowDatas{afterColumns{<col>}}}, lengths below 128 */
    rc_bytes[n++] = 0x62, rc_bytes[n++] = (uint8_t)(cn + 2);
    rc_bytes[n++] = 0x12, rc_bytes[n++] = (uint8_t)cn;
    memcpy(rc_bytes + n, col, cn);
    n += cn;
    canal_rowchange rc;
    int r = canal_rowchange_parse(c, rc_bytes, n, &rc);
    if (r == CANAL_OK && rc.n_rows == 1 && rc.rows[0].n_after == 1) *out = rc.rows[0].after[0];
    return r;
}

static void test_column_decoder_rules(void) {
    canal_client *c = canal_client_new(NULL);
    canal_column col;
    REQUIRE(c != NULL);
    /* any field order; the last scalar wins; negative int32 as 10 bytes */
    CHECK(decode_one_column(c, "4201 78 1a02 6964 0802 0805 10feffffffffffffffff01 3001", &col) == CANAL_OK);
    CHECK(col.index == 5 && col.sql_type == -2 && col.has_is_null && col.is_null);
    CHECK_STRN(col.name.ptr, col.name.len, "id");
    CHECK_STRN(col.value.ptr, col.value.len, "x");
    /* unknown fields of every wire type are skipped; a known number with
     * another wire type is treated as unknown, as Google's parsers do */
    CHECK(decode_one_column(c, "5801 6203 616263 6d01020304 710102030405060708 1d01020304 1a01 41 0807",
                            &col) == CANAL_OK);
    CHECK(col.index == 7 && !col.has_is_null);
    CHECK_STRN(col.name.ptr, col.name.len, "A");
    CHECK(col.n_props == 0);
    /* props: Pair{key k, value v} */
    CHECK(decode_one_column(c, "3a06 0a016b 120176 4801", &col) == CANAL_OK);
    CHECK(col.length == 1 && col.n_props == 1);
    if (col.n_props == 1) CHECK_STRN(col.props[0].value.ptr, col.props[0].value.len, "v");
    /* what cannot be parsed says so */
    CHECK(decode_one_column(c, "1a05 6964", &col) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "length past the end in Column");
    CHECK(decode_one_column(c, "08ffffffffffffffffffff01", &col) == CANAL_EPROTO); /* 11 bytes */
    CHECK_CONTAINS(canal_errstr(c), "malformed varint");
    CHECK(decode_one_column(c, "0b", &col) == CANAL_EPROTO); /* group start */
    CHECK(decode_one_column(c, "00", &col) == CANAL_EPROTO); /* field 0 */
    CHECK(decode_one_column(c, "6d0102", &col) == CANAL_EPROTO); /* fixed32 cut short */
    CHECK(decode_one_column(c, "3a03 0a05 41", &col) == CANAL_EPROTO); /* bad Pair */
    CHECK(decode_one_column(c, "1a02 c328", &col) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "invalid UTF-8 in Column.name");
    canal_client_free(c);
}

/* ------------------------------------------------------------ requests */

/* Run `protoc --decode` (Google's decoder) over a request body. */
static int protoc_decode(const char *type, const uint8_t *body, size_t n, char *out, size_t cap) {
    char path[64], cmd[256];
    snprintf(path, sizeof path, "/tmp/canal-req-%d.bin", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(body, 1, n, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd proto && protoc --decode=com.alibaba.otter.canal.protocol.%s CanalProtocol.proto < %s",
             type, path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t k = fread(out, 1, cap - 1, p);
    out[k] = '\0';
    int st = pclose(p);
    unlink(path);
    return st;
}

static void test_requests_byte_exact(void) {
    uint8_t script[512], sent[4096];
    size_t n = 0;
    n += unhex(HS_0102, script + n, sizeof script - n);
    n += unhex(ACK_OK, script + n, sizeof script - n);   /* auth */
    n += unhex(ACK_OK, script + n, sizeof script - n);   /* sub */
    n += unhex("00000016 1807 2a12 0801" "1205 0a03 4201 61" "1207 1002 0a03 4201 62", script + n,
               sizeof script - n); /* raw batch 1 with two entries */
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_client *c = new_client("canal", "canal", 5000);
    REQUIRE(c && p.fd >= 0);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_is_connected(c));
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    const canal_message *m;
    CHECK(canal_get(c, 1000, 1000, &m) == CANAL_OK);
    if (m) {
        CHECK(m->batch_id == 1 && m->n_entries == 2);
        CHECK(m->n_entries == 2 && strcmp(m->entries[1].header.schema_name.ptr, "b") == 0);
        CHECK(m->entries[1].entry_type == CANAL_ROWDATA);
    }
    CHECK(canal_ack(c, 1) == CANAL_OK);
    CHECK(canal_rollback(c, 0) == CANAL_OK);
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);

    const uint8_t *body[8];
    size_t len[8];
    int k = split_frames(sent, sn, body, len, 8);
    REQUIRE(k == 6);
    char hex[1024];
    /* §4.1 example: user canal, password canal, seed 0102030405060708 */
    uint8_t want[256];
    size_t wn = unhex("1802 2a3b 0a05 63616e616c 1228", want, sizeof want);
    memcpy(want + wn, "7de44690d8e53782cb61804a2455c284a3bbfb06", 40);
    wn += 40;
    wn += unhex("18 80dddb01 20 80dddb01", want + wn, sizeof want - wn);
    CHECK(len[0] == 0x3f && len[0] == wn && memcmp(body[0], want, wn) == 0);
    /* rollback on connect: destination and client id, batch 0 left out */
    tohex(body[1], len[1], hex);
    CHECK(strcmp(hex, "180c2a0f0a076578616d706c65120431303031") == 0);
    /* Sub with no filter */
    tohex(body[2], len[2], hex);
    CHECK(strcmp(hex, "18042a0f0a076578616d706c65120431303031") == 0);
    /* §5.4 example Get */
    tohex(body[3], len[3], hex);
    CHECK(strcmp(hex, "18062a190a076578616d706c6512043130303118e80720e80728023000") == 0);
    tohex(body[4], len[4], hex);
    CHECK(strcmp(hex, "18082a110a076578616d706c651204313030311801") == 0);
    tohex(body[5], len[5], hex);
    CHECK(strcmp(hex, "180c2a0f0a076578616d706c65120431303031") == 0);

    /* Google's decoder reads the same fields the Java client sends */
    char out[1024];
    CHECK(protoc_decode("Packet", body[3], len[3], out, sizeof out) == 0);
    CHECK_CONTAINS(out, "type: GET");
    CHECK(strstr(out, "version") == NULL && strstr(out, "magic") == NULL);
    /* the Get body itself */
    const uint8_t *gb = body[3] + 4;
    CHECK(protoc_decode("Get", gb, len[3] - 4, out, sizeof out) == 0);
    CHECK(strcmp(out, "destination: \"example\"\nclient_id: \"1001\"\nfetch_size: 1000\n"
                      "timeout: 1000\nunit: 2\nauto_ack: false\n") == 0);
    CHECK(protoc_decode("ClientAuth", body[0] + 4, len[0] - 4, out, sizeof out) == 0);
    CHECK(strcmp(out, "username: \"canal\"\npassword: \"7de44690d8e53782cb61804a2455c284a3bbfb06\"\n"
                      "net_read_timeout: 3600000\nnet_write_timeout: 3600000\n") == 0);
    CHECK(protoc_decode("ClientAck", body[4] + 4, len[4] - 4, out, sizeof out) == 0);
    CHECK(strcmp(out, "destination: \"example\"\nclient_id: \"1001\"\nbatch_id: 1\n") == 0);
}

static void test_requests_variants(void) {
    /* no password, negative GET timeout, negative client id, a filter */
    uint8_t script[256], sent[4096];
    size_t n = 0;
    n += unhex(HS_0102, script + n, sizeof script - n);
    n += unhex(ACK_OK, script + n, sizeof script - n);
    n += unhex(ACK_OK, script + n, sizeof script - n);
    n += unhex(EMPTY_GET, script + n, sizeof script - n);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.client_id = -7;
    o.destination = "d";
    o.rollback_on_connect = false;
    o.idle_timeout_ms = 1000;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_subscribe(c, "shop\\..*") == CANAL_OK);
    const canal_message *m;
    CHECK(canal_get(c, 0, -5, &m) == CANAL_OK);
    CHECK(m && m->batch_id == -1 && m->n_entries == 0);
    CHECK(canal_ack(c, -1) == CANAL_OK); /* an empty batch: a no-op, no frame below */
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    const uint8_t *body[8];
    size_t len[8];
    REQUIRE(split_frames(sent, sn, body, len, 8) == 3);
    char out[1024];
    CHECK(protoc_decode("ClientAuth", body[0] + 4, len[0] - 4, out, sizeof out) == 0);
    CHECK(strcmp(out, "net_read_timeout: 1000\nnet_write_timeout: 1000\n") == 0);
    CHECK(protoc_decode("Sub", body[1] + 4, len[1] - 4, out, sizeof out) == 0);
    CHECK(strcmp(out, "destination: \"d\"\nclient_id: \"-7\"\nfilter: \"shop\\\\..*\"\n") == 0);
    CHECK(protoc_decode("Get", body[2] + 4, len[2] - 4, out, sizeof out) == 0);
    CHECK(strcmp(out, "destination: \"d\"\nclient_id: \"-7\"\nfetch_size: 1000\n"
                      "timeout: -1\nunit: 2\nauto_ack: false\n") == 0);
    char hex[256];
    tohex(body[2], len[2], hex);
    CHECK_CONTAINS(hex, "20ffffffffffffffffff01"); /* -1 as a 10-byte varint */
}

/* Connect a client made from *o to a peer answering server_hex, subscribe
 * with filter if asked, and split what the client sent into frames in
 * sent (bodies and lengths in body/len). Returns the number of frames. */
static int requests_of(const canal_options *o, const char *server_hex, bool subscribe,
                       const char *filter, uint8_t *sent, size_t cap, const uint8_t **body,
                       size_t *len, int max) {
    uint8_t script[128];
    size_t n = unhex(server_hex, script, sizeof script);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_client *c = canal_client_new(o);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    if (subscribe) CHECK(canal_subscribe(c, filter) == CANAL_OK);
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, cap);
    return split_frames(sent, sn, body, len, max);
}

static void test_filter_from_options(void) {
    uint8_t sent[1024];
    canal_options o;
    canal_options_init(&o);
    CHECK(o.filter && o.filter[0] == '\0');
    o.filter = "db1\\.t.*";
    o.rollback_on_connect = false;
    const uint8_t *body[4];
    size_t len[4];
    REQUIRE(requests_of(&o, HS_0102 ACK_OK ACK_OK, true, NULL, sent, sizeof sent, body, len, 4) == 2);
    char out[512];
    CHECK(protoc_decode("Sub", body[1] + 4, len[1] - 4, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "filter: \"db1\\\\.t.*\"");
}

static void test_empty_password_is_hashed(void) {
    uint8_t sent[1024];
    canal_options o;
    canal_options_init(&o);
    o.password = "";
    o.read_timeout_ms = 5000;
    const uint8_t *body[4];
    size_t len[4];
    REQUIRE(requests_of(&o, "00000010 1001 1801 2a0a 1208 0000000000000000" ACK_OK, false, NULL,
                        sent, sizeof sent, body, len, 4) == 2);
    char out[512];
    CHECK(protoc_decode("ClientAuth", body[0] + 4, len[0] - 4, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "password: \"3a926ccdbea4f1106c2e8a48b63eedbdeadd7f1f\"");
    CHECK(strstr(out, "username") == NULL);
}

/* ------------------------------------------------------------ frame reader */

static void session_in_pieces(size_t chunk, int delay_us) {
    uint8_t script[4096], pk[2048];
    size_t n = 0;
    n += unhex(HS_0102, script + n, sizeof script - n);
    n += unhex(ACK_OK, script + n, sizeof script - n);
    n += unhex(ACK_OK, script + n, sizeof script - n);
    size_t pn = read_file("packet_raw.bin", pk, sizeof pk);
    REQUIRE(pn > 0);
    script[n++] = (uint8_t)(pn >> 24), script[n++] = (uint8_t)(pn >> 16);
    script[n++] = (uint8_t)(pn >> 8), script[n++] = (uint8_t)pn;
    memcpy(script + n, pk, pn);
    n += pn;
    n += unhex(EMPTY_GET, script + n, sizeof script - n);
    peer p = peer_start(script, n, chunk, delay_us, PEER_KEEP);
    canal_client *c = new_client("canal", "canal", 5000);
    REQUIRE(c != NULL);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    const canal_message *m;
    CHECK(canal_get(c, 100, 0, &m) == CANAL_OK);
    if (m) {
        check_fixture_message(m);
        check_fixture_rows(c, m);
        CHECK(canal_ack(c, 7) == CANAL_OK);
    }
    CHECK(canal_get(c, 100, 0, &m) == CANAL_OK);
    CHECK(m && m->batch_id == -1);
    canal_client_free(c);
    peer_finish(&p, script, sizeof script);
}

/* The frame header read from bytes alone, with no socket: every split of
 * the 4 length bytes, lengths at and past each limit. */
static void test_frame_header_pure(void) {
    static const struct {
        uint8_t b[4];
        size_t max_frame;
        int rc;
        uint32_t len;
    } cases[] = {
        {{0, 0, 0, 0}, 16, 1, 0},                          /* an empty body is a frame */
        {{0, 0, 0, 16}, 16, 1, 16},                        /* exactly max_frame */
        {{0, 0, 0, 17}, 16, CANAL_ETOOBIG, 17},            /* one past it */
        {{0x01, 0x02, 0x03, 0x04}, 0x7fffffff, 1, 0x01020304}, /* big-endian */
        {{0x7f, 0xff, 0xff, 0xff}, 0x7fffffff, 1, 0x7fffffff},
        {{0x80, 0, 0, 0}, 0x7fffffff, CANAL_EPROTO, 0x80000000u}, /* sign bit: negative in Java */
        {{0xff, 0xff, 0xff, 0xff}, 0x7fffffff, CANAL_EPROTO, 0xffffffffu},
        {{0x80, 0, 0, 0}, 16, CANAL_EPROTO, 0x80000000u},  /* the sign is checked first */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* split: the first 0..3 bytes are not a header yet, and *len is left alone */
        for (size_t have = 0; have < 4; have++) {
            uint32_t len = 12345;
            CHECK(frame_header(cases[i].b, have, cases[i].max_frame, &len) == 0);
            CHECK(len == 12345);
        }
        /* whole, and with more bytes behind it (the body, read ahead) */
        for (size_t extra = 0; extra < 2; extra++) {
            uint8_t buf[5] = {cases[i].b[0], cases[i].b[1], cases[i].b[2], cases[i].b[3], 0xAA};
            uint32_t len = 0;
            CHECK(frame_header(buf, 4 + extra, cases[i].max_frame, &len) == cases[i].rc);
            CHECK(len == cases[i].len);
        }
    }
}

/* One way to record an error: the first of a call wins, error_in puts the
 * call in front and cuts the end, clear_error starts afresh. */
static void test_error_path(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    CHECK(set_error(c, CANAL_ENOMEM, "no memory for %d props", 3) == CANAL_ENOMEM);
    CHECK(set_error(c, CANAL_EPROTO, "malformed") == CANAL_ENOMEM);
    CHECK(canal_errcode(c) == CANAL_ENOMEM);
    CHECK(strcmp(canal_errstr(c), "no memory for 3 props") == 0);
    CHECK(error_in(c, "get") == CANAL_ENOMEM);
    CHECK(strcmp(canal_errstr(c), "get: no memory for 3 props") == 0);
    clear_error(c);
    CHECK(canal_errcode(c) == CANAL_OK && canal_errstr(c)[0] == '\0');
    char big[CANAL_ERRSTR_SIZE + 8];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(set_error(c, CANAL_EPROTO, "%s", big) == CANAL_EPROTO);
    CHECK(strlen(canal_errstr(c)) == CANAL_ERRSTR_SIZE - 1);
    CHECK(error_in(c, "message_parse") == CANAL_EPROTO);
    CHECK(strlen(canal_errstr(c)) == CANAL_ERRSTR_SIZE - 1);
    CHECK(strncmp(canal_errstr(c), "message_parse: xxx", 18) == 0);
    canal_client_free(c);
}

static void test_frames_whole(void) { session_in_pieces(0, 0); }
static void test_frames_one_byte_at_a_time(void) { session_in_pieces(1, 200); }
static void test_frames_odd_pieces(void) { session_in_pieces(7, 100); }
static void test_frames_header_split(void) { session_in_pieces(3, 1000); }

/* A peer that sends `script` then closes; returns the client's result. */
static int connect_against(const char *hex, size_t chunk, canal_client *c) {
    uint8_t script[1024];
    size_t n = unhex(hex, script, sizeof script);
    peer p = peer_start(script, n, chunk, 0, PEER_CLOSE);
    int rc = canal_connect_fd(c, p.fd);
    canal_disconnect(c);
    peer_finish(&p, script, sizeof script);
    return rc;
}

static void test_eof_and_bad_lengths(void) {
    canal_client *c = new_client(NULL, NULL, 2000);
    REQUIRE(c != NULL);
    CHECK(connect_against("0000", 0, c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "2 of 4 header bytes");
    CHECK_CONTAINS(canal_errstr(c), "closed");
    CHECK(connect_against("00000010 1001 1801 2a", 0, c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "5 of 16 body bytes");
    CHECK(!canal_is_connected(c));
    CHECK(connect_against("80000000", 0, c) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "negative frame length");
    CHECK(connect_against("ffffffff", 0, c) == CANAL_EPROTO);
    CHECK(connect_against("10000001", 0, c) == CANAL_ETOOBIG); /* 256 MiB + 1 */
    CHECK_CONTAINS(canal_errstr(c), "exceeds max_frame");
    /* a zero-length frame is an empty Packet: type 0, not a handshake */
    CHECK(connect_against("00000000", 0, c) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "version");
    CHECK(connect_against("00000004 1801 2a00", 0, c) == CANAL_EPROTO); /* version absent */
    CHECK_CONTAINS(canal_errstr(c), "absent");
    CHECK(connect_against("00000006 1002 1801 2a00", 0, c) == CANAL_EPROTO);
    CHECK(connect_against("00000004 1001 1803", 0, c) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "expected a HANDSHAKE");
    CHECK(connect_against("00000003 1001 18", 0, c) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "malformed Packet");
    /* the auth reply must be an ACK */
    CHECK(connect_against(HS_0102 "00000004 1001 1807", 0, c) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "expected an ACK");
    canal_client_free(c);
}

/* Count the largest allocation, to prove oversized frames allocate nothing. */
static size_t biggest_alloc;
static void *count_malloc(void *ud, size_t n) {
    (void)ud;
    if (n > biggest_alloc) biggest_alloc = n;
    return malloc(n);
}
static void *count_realloc(void *ud, void *p, size_t n) {
    (void)ud;
    if (n > biggest_alloc) biggest_alloc = n;
    return realloc(p, n);
}
static void count_free(void *ud, void *p) {
    (void)ud;
    free(p);
}

static void test_max_frame_before_allocation(void) {
    canal_options o;
    canal_options_init(&o);
    o.max_frame = 100000;
    o.malloc_fn = count_malloc, o.realloc_fn = count_realloc, o.free_fn = count_free;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    biggest_alloc = 0;
    CHECK(connect_against("000186a1", 0, c) == CANAL_ETOOBIG); /* 100001 */
    CHECK(biggest_alloc < 100000);
    CHECK_CONTAINS(canal_errstr(c), "100001 exceeds max_frame 100000");
    /* a length equal to the limit is accepted (then cut short by EOF) */
    CHECK(connect_against("000186a0 1001", 0, c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "2 of 100000 body bytes");
    canal_client_free(c);
}

/* read_timeout_ms is the longest silence: a handshake dripped a byte every
 * 60 ms (1.14 s in all) arrives with a read timeout of 300 ms, and the
 * silence after it (no auth Ack) ends the call 300 ms later.
 * call_timeout_ms bounds the whole call: the same drip fails at 300 ms. */
static void test_read_timeout_is_silence(void) {
    uint8_t script[64];
    size_t n = unhex(HS_0102, script, sizeof script);
    peer p = peer_start(script, n, 1, 60000, PEER_KEEP); /* then silence: no auth Ack */
    canal_client *c = new_client(NULL, NULL, 300);
    int64_t t0 = now_ms();
    CHECK(canal_connect_fd(c, p.fd) == CANAL_ETIMEOUT);
    int64_t took = now_ms() - t0;
    CHECK(took >= 1140 + 290 && took < 1140 + 800);
    CHECK_CONTAINS(canal_errstr(c), "timed out after 300 ms without data (read_timeout_ms)");
    CHECK_CONTAINS(canal_errstr(c), "authentication");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, script, sizeof script);

    p = peer_start(script, n, 1, 60000, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = 300;
    o.call_timeout_ms = 300;
    c = canal_client_new(&o);
    t0 = now_ms();
    CHECK(canal_connect_fd(c, p.fd) == CANAL_ETIMEOUT);
    took = now_ms() - t0;
    CHECK(took >= 290 && took < 600);
    CHECK_CONTAINS(canal_errstr(c), "timed out after 300 ms (call_timeout_ms)");
    CHECK_CONTAINS(canal_errstr(c), "handshake");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, script, sizeof script);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

/* Signals every 10 ms interrupt poll/recv: the call retries and still ends
 * at its deadline, neither early with EINTR nor stretched. */
static void test_eintr_keeps_deadline(void) {
    uint8_t script[64];
    size_t n = unhex(HS_0102, script, sizeof script);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP); /* then silence: no auth Ack */
    canal_client *c = new_client(NULL, NULL, 400);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: poll and recv see EINTR */
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 10000}, {0, 10000}}, off = {{0, 0}, {0, 0}};
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    int64_t t0 = now_ms();
    int rc = canal_connect_fd(c, p.fd);
    int64_t took = now_ms() - t0;
    setitimer(ITIMER_REAL, &off, NULL);
    /* on_alarm stays installed: an alarm still pending (valgrind delivers
     * signals late) would kill the process under the default action. */
    (void)old;
    CHECK(rc == CANAL_ETIMEOUT);
    CHECK(alarms >= 10);
    CHECK(took >= 390 && took < 700);
    canal_client_free(c);
    peer_finish(&p, script, sizeof script);
}

static void test_auth_refused(void) {
    canal_client *c = new_client("x", "bad", 2000);
    uint8_t script[128];
    size_t n = unhex(HS_0102 ACK_AUTH_FAIL, script, sizeof script);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_EAUTH);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "auth failed for user:x");
    CHECK(strstr(canal_errstr(c), "bad") == NULL);
    CHECK(!canal_is_connected(c)); /* the server keeps it open; we close */
    canal_client_free(c);
    peer_finish(&p, script, sizeof script);
}

static void test_unsolicited_error_after_ack(void) {
    /* the server refuses ack 1; the refusal arrives where GET's reply was due */
    uint8_t script[512];
    size_t n = 0;
    n += unhex(HS_0102 ACK_OK ACK_OK RAW_GET_5, script + n, sizeof script - n);
    const char *msg = "ack error , clientId:1001 batchId:5 is not exist , please check";
    uint8_t ack[128];
    size_t ml = strlen(msg), an = 0;
    ack[an++] = 0x10, ack[an++] = 0x01, ack[an++] = 0x18, ack[an++] = 0x03, ack[an++] = 0x2a;
    ack[an++] = (uint8_t)(ml + 5);
    ack[an++] = 0x08, ack[an++] = 0x90, ack[an++] = 0x03, ack[an++] = 0x12, ack[an++] = (uint8_t)ml;
    memcpy(ack + an, msg, ml);
    an += ml;
    script[n++] = 0, script[n++] = 0, script[n++] = 0, script[n++] = (uint8_t)an;
    memcpy(script + n, ack, an);
    n += an;
    n += unhex(EMPTY_GET, script + n, sizeof script - n);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_client *c = new_client(NULL, NULL, 2000);
    const canal_message *m;
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 10, 100, &m) == CANAL_OK && m && m->batch_id == 5);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    CHECK(canal_get(c, 10, 100, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "the ack of batch 5");
    CHECK_CONTAINS(canal_errstr(c), "is not exist");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, script, sizeof script);
}

static void test_local_batch_checks(void) {
    uint8_t script[256];
    size_t n = unhex(HS_0102 ACK_OK RAW_GET_5 "0000000a 1807 2a06 0806 12020a00", script,
                     sizeof script);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = 2000;
    o.get_pipeline = 1; /* one GET per get: the requests below are all there is */
    canal_client *c = canal_client_new(&o);
    const canal_message *m;
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_get(c, 10, 100, &m) == CANAL_OK && m && m->batch_id == 5);
    CHECK(canal_get(c, 10, 100, &m) == CANAL_OK && m && m->batch_id == 6);
    CHECK(canal_ack(c, 6) == CANAL_ESTATE); /* out of order: nothing sent */
    CHECK_CONTAINS(canal_errstr(c), "not the oldest unacked batch (5)");
    CHECK(canal_ack(c, 9) == CANAL_EINVAL);
    CHECK(canal_ack(c, 0) == CANAL_EINVAL);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    CHECK(canal_ack(c, 5) == CANAL_EINVAL); /* already acked */
    CHECK(canal_rollback(c, 0) == CANAL_OK);
    CHECK(canal_ack(c, 6) == CANAL_EINVAL); /* rolled back */
    CHECK(canal_is_connected(c));           /* caller mistakes keep the connection */
    canal_client_free(c);
    uint8_t sent[2048];
    size_t sn = peer_finish(&p, sent, sizeof sent);
    const uint8_t *body[8];
    size_t len[8];
    /* auth, rollback-on-connect, get, get, ack 5, rollback 0 */
    CHECK(split_frames(sent, sn, body, len, 8) == 6);
}

/* Nothing of the password stays in the client: not the text, not the token
 * that went over the wire; only SHA-1(password), which re-login needs. */
static void test_password_not_kept(void) {
    static const char pw[] = "S3cr3t-pass!";
    uint8_t script[128], sent[1024], stage1[20];
    size_t n = unhex(HS_0102 ACK_OK, script, sizeof script);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.username = "u";
    o.password = pw;
    o.rollback_on_connect = false; /* so ClientAuth is the last thing encoded */
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    sha1(pw, strlen(pw), stage1);
    CHECK(memcmp(c->stage1, stage1, 20) == 0);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    char token[41];
    scramble_hex(stage1, (const uint8_t *)"\1\2\3\4\5\6\7\10", 8, token);
    const void *places[][2] = {{c, (void *)sizeof *c}, {c->conn.wbuf, (void *)c->conn.wcap},
                               {c->conn.rbuf, (void *)c->conn.rcap}};
    for (size_t i = 0; i < 3; i++) {
        const char *base = places[i][0];
        size_t len = (size_t)places[i][1];
        for (size_t k = 0; k + 8 <= len; k++) {
            CHECK(memcmp(base + k, pw, 8) != 0);
            CHECK(memcmp(base + k, token, 8) != 0);
        }
    }
    CHECK(strstr(canal_errstr(c), pw) == NULL);
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    /* the token did go out: it is what the server checks */
    int found = 0;
    for (size_t k = 0; k + 40 <= sn; k++) found |= memcmp(sent + k, token, 40) == 0;
    CHECK(found);
}

int main(int argc, char **argv) {
    if (argc > 1) fixture_dir = argv[1];
    signal(SIGPIPE, SIG_DFL); /* the client must not need SIGPIPE ignored */
    RUN(test_sha1_vectors);
    RUN(test_scramble_spec_vectors);
    RUN(test_utf8_validation);
    RUN(test_utf8_against_reference);
    RUN(test_latin1_to_bytes);
    RUN(test_names);
    RUN(test_options_validation);
    RUN(test_calls_before_connect);
    RUN(test_codec_protoc_fixtures);
    RUN(test_codec_rejects_bad_bytes);
    RUN(test_stale_entry_refused);
    RUN(test_unknown_enum_numbers_kept);
    RUN(test_column_decoder_rules);
    RUN(test_requests_byte_exact);
    RUN(test_requests_variants);
    RUN(test_filter_from_options);
    RUN(test_empty_password_is_hashed);
    RUN(test_frame_header_pure);
    RUN(test_error_path);
    RUN(test_frames_whole);
    RUN(test_frames_one_byte_at_a_time);
    RUN(test_frames_odd_pieces);
    RUN(test_frames_header_split);
    RUN(test_eof_and_bad_lengths);
    RUN(test_max_frame_before_allocation);
    RUN(test_read_timeout_is_silence);
    RUN(test_eintr_keeps_deadline);
    RUN(test_auth_refused);
    RUN(test_unsolicited_error_after_ack);
    RUN(test_local_batch_checks);
    RUN(test_password_not_kept);
    return TT_REPORT("unit");
}
