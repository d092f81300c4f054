/* test_values.c - typed values, row lookups, binlog positions, one entry
 * from its raw bytes, and canal_message_parse given the wrong kind of
 * bytes. Public API only.
 *
 * The values are the text Canal's MySQL parser writes (spec §11, checked
 * against LogEventConvert/RowsLogBuffer/LogBuffer): one vector per type and
 * edge by hand below, and a few thousand made by test/values_ref.py with
 * Python's decimal, datetime and struct (BUILD_DIR/values_ref.txt).
 *
 * usage: test_values BUILD_DIR   (reads BUILD_DIR/fixtures and values_ref.txt) */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "canal.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "peer.h"
#include "tinytest.h"

static const char *build_dir = "build";

static canal_column col_n(const char *mysql_type, int32_t sql_type, const char *value, size_t n) {
    canal_column c;
    memset(&c, 0, sizeof c);
    c.name.ptr = "c", c.name.len = 1;
    c.mysql_type.ptr = mysql_type, c.mysql_type.len = strlen(mysql_type);
    c.sql_type = sql_type;
    c.value.ptr = value, c.value.len = n;
    c.has_is_null = true;
    return c;
}

static bool str_is(canal_str s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static canal_column col(const char *mysql_type, int32_t sql_type, const char *value) {
    return col_n(mysql_type, sql_type, value, strlen(value));
}

/* ------------------------------------------------------------ types */

static void test_column_type(void) {
    static const struct {
        const char *mt;
        int sql, kind, bytes, uns, length, scale;
    } v[] = {
        {"tinyint(4)", -6, CANAL_KIND_INT, 1, 0, 4, 0},
        {"tinyint(3) unsigned", 5, CANAL_KIND_INT, 1, 1, 3, 0},
        {"smallint(6)", 5, CANAL_KIND_INT, 2, 0, 6, 0},
        {"mediumint(8) unsigned", 4, CANAL_KIND_INT, 3, 1, 8, 0},
        {"int", 4, CANAL_KIND_INT, 4, 0, -1, 0},
        {"int(10) unsigned zerofill", 4, CANAL_KIND_INT, 4, 1, 10, 0},
        {"BIGINT(20) UNSIGNED", 3, CANAL_KIND_INT, 8, 1, 20, 0},
        {"bigint", -5, CANAL_KIND_INT, 8, 0, -1, 0}, /* the RDS hidden key */
        {"bit(3)", -7, CANAL_KIND_BIT, 0, 0, 3, 0},
        {"bit", -7, CANAL_KIND_BIT, 0, 0, 1, 0},
        {"year(4)", 12, CANAL_KIND_YEAR, 0, 0, 4, 0},
        {"decimal(10,2)", 3, CANAL_KIND_DECIMAL, 0, 0, 10, 2},
        {"decimal", 3, CANAL_KIND_DECIMAL, 0, 0, 10, 0},
        {"decimal(5)", 3, CANAL_KIND_DECIMAL, 0, 0, 5, 0},
        {"decimal(65,30) unsigned", 3, CANAL_KIND_DECIMAL, 0, 1, 65, 30},
        {"float", 7, CANAL_KIND_FLOAT, 0, 0, -1, 0},
        {"float(7,3)", 7, CANAL_KIND_FLOAT, 0, 0, 7, 0},
        {"double(30)", 8, CANAL_KIND_DOUBLE, 0, 0, 30, 0},
        {"double", 8, CANAL_KIND_DOUBLE, 0, 0, -1, 0},
        {"date", 91, CANAL_KIND_DATE, 0, 0, -1, 0},
        {"time(3)", 92, CANAL_KIND_TIME, 0, 0, -1, 3},
        {"datetime(6)", 93, CANAL_KIND_DATETIME, 0, 0, -1, 6},
        {"timestamp", 93, CANAL_KIND_TIMESTAMP, 0, 0, -1, 0},
        {"varchar(64)", 12, CANAL_KIND_TEXT, 0, 0, 64, 0},
        {"char(3)", 1, CANAL_KIND_TEXT, 0, 0, 3, 0},
        {"text", 2005, CANAL_KIND_TEXT, 0, 0, -1, 0},
        {"LONGTEXT", 2005, CANAL_KIND_TEXT, 0, 0, -1, 0},
        {"varbinary(16)", 2004, CANAL_KIND_BINARY, 0, 0, 16, 0},
        {"binary(4)", 2004, CANAL_KIND_BINARY, 0, 0, 4, 0},
        {"blob", 2004, CANAL_KIND_BINARY, 0, 0, -1, 0},
        {"char(10) binary", 2004, CANAL_KIND_BINARY, 0, 0, 10, 0}, /* LEC: contains BINARY */
        {"enum('a','it''s,)','c')", 4, CANAL_KIND_ENUM, 0, 0, -1, 0},
        {"set('binary','unsigned')", -7, CANAL_KIND_SET, 0, 0, -1, 0},
        {"json", 12, CANAL_KIND_JSON, 0, 0, -1, 0},
        {"point", 2004, CANAL_KIND_GEOMETRY, 0, 0, -1, 0},
        {"geometry", 2004, CANAL_KIND_GEOMETRY, 0, 0, -1, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        canal_column c = col(v[i].mt, v[i].sql, "");
        canal_type t;
        CHECK(canal_column_type(&c, &t) == CANAL_OK);
        if (t.kind != v[i].kind || t.int_bytes != v[i].bytes || t.is_unsigned != (bool)v[i].uns ||
            t.length != v[i].length || t.scale != v[i].scale || t.guessed)
            fprintf(stderr, "  type %s: kind %d bytes %d uns %d length %d scale %d guessed %d\n",
                    v[i].mt, t.kind, t.int_bytes, t.is_unsigned, t.length, t.scale, t.guessed);
        CHECK(t.kind == v[i].kind && t.int_bytes == v[i].bytes && t.is_unsigned == (bool)v[i].uns);
        CHECK(t.length == v[i].length && t.scale == v[i].scale && !t.guessed);
    }
    /* no mysqlType (Canal without table meta): from sqlType, flagged */
    static const struct {
        int sql, kind;
    } g[] = {{-6, CANAL_KIND_INT}, {-5, CANAL_KIND_INT}, {3, CANAL_KIND_DECIMAL},
             {7, CANAL_KIND_FLOAT}, {8, CANAL_KIND_DOUBLE}, {91, CANAL_KIND_DATE},
             {92, CANAL_KIND_TIME}, {93, CANAL_KIND_DATETIME}, {12, CANAL_KIND_TEXT},
             {2005, CANAL_KIND_TEXT}, {2004, CANAL_KIND_BINARY}, {-7, CANAL_KIND_BIT},
             {1111, CANAL_KIND_JSON}, {77, CANAL_KIND_UNKNOWN}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        canal_column c = col("", g[i].sql, "");
        canal_type t;
        CHECK(canal_column_type(&c, &t) == CANAL_OK && t.guessed && t.kind == g[i].kind);
        CHECK(t.scale == -1 && t.length == -1 && t.int_bytes == 0);
    }
    /* unknown or malformed type text: also guessed */
    const char *bad[] = {"int(", "decimal(10,2", "decimal(70,2)", "bit(65)", "datetime(7)",
                         "varchar(64)x", "bigint(99999999)", "enum('a'", "widget"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        canal_column c = col(bad[i], 12, "");
        canal_type t;
        CHECK(canal_column_type(&c, &t) == CANAL_OK && t.guessed && t.kind == CANAL_KIND_TEXT);
    }
    canal_type t;
    CHECK(canal_column_type(NULL, &t) == CANAL_EINVAL);
}

static void test_is_binary(void) {
    const char *yes[] = {"varbinary(16)", "binary(4)", "tinyblob", "blob", "mediumblob",
                         "LONGBLOB", "char(10) binary", "geometry", "point", "multipolygon",
                         "text(100)"}; /* Canal's isText wants the bare name */
    const char *no[] = {"varchar(64)", "char(3)", "text", "tinytext", "mediumtext", "longtext",
                        "json", "enum('binary')", "int(11)", "datetime(6)"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        canal_column c = col(yes[i], 2004, "");
        CHECK(canal_column_is_binary(&c));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        canal_column c = col(no[i], 12, "");
        CHECK(!canal_column_is_binary(&c));
    }
    canal_column g = col("", 2004, ""), t = col("", 2005, "");
    CHECK(canal_column_is_binary(&g) && !canal_column_is_binary(&t));
    CHECK(!canal_column_is_binary(NULL));
}

/* ------------------------------------------------------------ integers */

static void test_integers(void) {
    static const struct {
        const char *mt;
        int sql;
        const char *text;
        int ok_signed, ok_unsigned;
        int64_t s;
        uint64_t u;
    } v[] = {
        {"tinyint(4)", -6, "-128", 1, 0, -128, 0},
        {"tinyint(4)", -6, "127", 1, 1, 127, 127},
        {"tinyint(4)", -6, "128", 0, 0, 0, 0},
        {"tinyint(4)", -6, "-129", 0, 0, 0, 0},
        {"tinyint(3) unsigned", 5, "255", 1, 1, 255, 255}, /* sqlType moved up to SMALLINT */
        {"tinyint(3) unsigned", -6, "-1", 0, 0, 0, 0},
        {"tinyint(3) unsigned", 5, "256", 0, 0, 0, 0},
        {"smallint(6)", 5, "-32768", 1, 0, -32768, 0},
        {"smallint(5) unsigned", 4, "65535", 1, 1, 65535, 65535},
        {"mediumint(9)", 4, "-8388608", 1, 0, -8388608, 0},
        {"mediumint(8) unsigned", 4, "16777215", 1, 1, 16777215, 16777215},
        {"mediumint(8) unsigned", 4, "16777216", 0, 0, 0, 0},
        {"int(11)", 4, "-2147483648", 1, 0, INT32_MIN, 0},
        {"int(11)", 4, "2147483648", 0, 0, 0, 0},
        {"int(10) unsigned", -5, "4294967295", 1, 1, 4294967295LL, 4294967295ULL},
        {"int(10) unsigned zerofill", 4, "42", 1, 1, 42, 42}, /* no padding */
        {"bigint(20)", -5, "-9223372036854775808", 1, 0, INT64_MIN, 0},
        {"bigint(20)", -5, "9223372036854775807", 1, 1, INT64_MAX, INT64_MAX},
        {"bigint(20)", -5, "9223372036854775808", 0, 0, 0, 0},
        {"bigint(20) unsigned", 3, "18446744073709551615", 0, 1, 0, UINT64_MAX},
        {"bigint(20) unsigned", 3, "18446744073709551616", 0, 0, 0, 0},
        {"bigint(20) unsigned", 3, "9223372036854775808", 0, 1, 0, 9223372036854775808ULL},
        {"bigint", -5, "-5", 1, 0, -5, 0}, /* RDS hidden key: signed */
        {"", -5, "18446744073709551615", 0, 1, 0, UINT64_MAX}, /* no meta: 64 bits */
        {"", -5, "-9223372036854775808", 1, 0, INT64_MIN, 0},
        {"bit(1)", -7, "1", 1, 1, 1, 1},
        {"bit(3)", -7, "5", 1, 1, 5, 5},
        {"bit(3)", -7, "8", 0, 0, 0, 0},
        {"bit(10)", -7, "1023", 1, 1, 1023, 1023},
        {"bit(64)", -7, "18446744073709551615", 0, 1, 0, UINT64_MAX},
        {"year(4)", 12, "0000", 1, 1, 0, 0},
        {"year", 12, "1901", 1, 1, 1901, 1901},
        {"year(4)", 12, "2155", 1, 1, 2155, 2155},
        {"year(4)", 12, "1900", 0, 0, 0, 0},
        {"year(4)", 12, "2156", 0, 0, 0, 0},
        {"enum('a','b','c')", 4, "2", 1, 1, 2, 2},
        {"enum('a','b','c')", 4, "0", 1, 1, 0, 0},
        {"set('a','b','c')", -7, "5", 1, 1, 5, 5},
        {"decimal(20,0)", 3, "123", 1, 1, 123, 123},
        {"decimal(10,2)", 3, "189.0", 0, 0, 0, 0},
        {"int(11)", 4, "", 0, 0, 0, 0},
        {"int(11)", 4, "-", 0, 0, 0, 0},
        {"int(11)", 4, "+1", 0, 0, 0, 0},
        {"int(11)", 4, " 1", 0, 0, 0, 0},
        {"int(11)", 4, "1 ", 0, 0, 0, 0},
        {"int(11)", 4, "0x10", 0, 0, 0, 0},
        {"int(11)", 4, "1.0", 0, 0, 0, 0},
        {"bigint(20) unsigned", 3, "99999999999999999999999", 0, 0, 0, 0},
        {"varchar(10)", 12, "12", 0, 0, 0, 0},
        {"datetime", 93, "12", 0, 0, 0, 0},
        {"double", 8, "12", 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        canal_column c = col(v[i].mt, v[i].sql, v[i].text);
        canal_value_err e;
        int64_t s = 77;
        uint64_t u = 77;
        int rs = canal_value_int64(&c, &s, &e);
        if ((rs == CANAL_OK) != (bool)v[i].ok_signed || (rs == CANAL_OK && s != v[i].s))
            fprintf(stderr, "  int64 %s \"%s\": rc %d %" PRId64 " (%s)\n", v[i].mt, v[i].text, rs,
                    s, e.msg);
        CHECK((rs == CANAL_OK) == (bool)v[i].ok_signed && e.code == rs);
        CHECK(rs == CANAL_OK ? s == v[i].s && e.msg[0] == '\0' : s == 77 && e.msg[0] != '\0');
        int ru = canal_value_uint64(&c, &u, &e);
        if ((ru == CANAL_OK) != (bool)v[i].ok_unsigned || (ru == CANAL_OK && u != v[i].u))
            fprintf(stderr, "  uint64 %s \"%s\": rc %d %" PRIu64 " (%s)\n", v[i].mt, v[i].text,
                    ru, u, e.msg);
        CHECK((ru == CANAL_OK) == (bool)v[i].ok_unsigned);
        CHECK(ru == CANAL_OK ? u == v[i].u : u == 77);
        CHECK(canal_value_int64(&c, &s, NULL) == rs); /* err is optional */
    }
    /* the messages name the column, quote the value and say what is wrong */
    canal_value_err e;
    int64_t s;
    uint64_t u;
    canal_column c = col("tinyint(4)", -6, "300");
    c.name.ptr = "qty", c.name.len = 3;
    CHECK(canal_value_int64(&c, &s, &e) == CANAL_EINVAL && e.code == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "column 'qty' value \"300\": out of range for tinyint(4)");
    c = col("bigint(20) unsigned", 3, "18446744073709551615");
    CHECK(canal_value_int64(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "does not fit int64_t");
    c = col("int(11)", 4, "-3");
    CHECK(canal_value_uint64(&c, &u, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "negative");
    c = col("varchar(10)", 12, "12");
    CHECK(canal_value_int64(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "text column, not an integer");
    c = col("int(11)", 4, "12a");
    CHECK(canal_value_int64(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "not an integer");
    /* NULL: refused, even with a value-looking text; empty is not NULL */
    c = col("int(11)", 4, "");
    c.is_null = true;
    CHECK(canal_value_int64(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "is NULL");
    CHECK(canal_value_int64(NULL, &s, &e) == CANAL_EINVAL && strstr(e.msg, "NULL column"));
    CHECK(canal_value_int64(&c, NULL, &e) == CANAL_EINVAL && strstr(e.msg, "NULL output"));
    /* binary junk in the value is shown as '?' and cut */
    c = col_n("int(11)", 4, "\x01\"\xff" "123456789012345678901234567890123456789012345", 48);
    CHECK(canal_value_int64(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "value \"???1234567890123456789012345678901234...\"");
}

static void test_bool(void) {
    static const struct {
        const char *mt, *text;
        int ok, want;
    } v[] = {{"tinyint(1)", "0", 1, 0},   {"tinyint(1)", "1", 1, 1},  {"tinyint(1)", "-5", 1, 1},
             {"bit(1)", "1", 1, 1},       {"bit(1)", "0", 1, 0},      {"int(11)", "7", 1, 1},
             {"tinyint(1)", "x", 0, 0},   {"varchar(5)", "1", 0, 0},  {"decimal(1,0)", "1", 0, 0},
             {"tinyint(1)", "128", 0, 0}, {"", "1", 1, 1}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        canal_column c = col(v[i].mt, v[i].mt[0] ? 0 : -6, v[i].text);
        bool b = false;
        int rc = canal_value_bool(&c, &b, NULL);
        CHECK((rc == CANAL_OK) == (bool)v[i].ok);
        CHECK(rc != CANAL_OK || b == (bool)v[i].want);
    }
}

/* ------------------------------------------------------------ DECIMAL */

static void test_decimal(void) {
    /* LogBuffer.getDecimal's text (spec §11.3) and what it means */
    static const struct {
        const char *mt, *text;
        int ok;
        int64_t unscaled;
        int scale;
        const char *canon;
    } v[] = {
        {"decimal(10,2)", "189.0", 1, 18900, 2, "189.00"}, /* 189.00 arrives as 189.0 */
        {"decimal(10,2)", "189.50", 1, 18950, 2, "189.50"},
        {"decimal(10,2)", "189.05", 1, 18905, 2, "189.05"},
        {"decimal(10,2)", "0.0", 1, 0, 2, "0.00"},
        {"decimal(10,2)", "-189.50", 1, -18950, 2, "-189.50"},
        {"decimal(10,2)", "-0.0", 1, 0, 2, "0.00"},
        {"decimal(10,2)", "0.01", 1, 1, 2, "0.01"},
        {"decimal(10,2)", "-0.01", 1, -1, 2, "-0.01"},
        {"decimal(5,0)", "189", 1, 189, 0, "189"},
        {"decimal(20,10)", "1.000000000", 1, 10000000000LL, 10, "1.0000000000"},
        {"decimal(20,10)", "1.0000000001", 1, 10000000001LL, 10, "1.0000000001"},
        {"decimal(19,0)", "9223372036854775807", 1, INT64_MAX, 0, "9223372036854775807"},
        {"decimal(19,0)", "-9223372036854775808", 1, INT64_MIN, 0, "-9223372036854775808"},
        {"decimal(20,1)", "-922337203685477580.8", 1, INT64_MIN, 1, "-922337203685477580.8"},
        {"decimal(10,2)", "007.5", 1, 750, 2, "7.50"},
        {"decimal(10,2)", "12345678.5", 1, 1234567850, 2, "12345678.50"},
        {"decimal(10,2)", "123456789.5", 0, 0, 0, NULL}, /* 9 integer digits in (10,2) */
        {"decimal(2,2)", "0.5", 1, 50, 2, "0.50"},
        {"decimal(2,2)", "1.5", 0, 0, 0, NULL},
        {"decimal(10,2)", "189.001", 0, 0, 0, NULL}, /* more digits than the scale */
        {"decimal(10,2)", "189.000", 1, 18900, 2, "189.00"},
        {"decimal(10,2)", "1.5E2", 0, 0, 0, NULL},
        {"decimal(10,2)", "+1.5", 0, 0, 0, NULL},
        {"decimal(10,2)", ".5", 0, 0, 0, NULL},
        {"decimal(10,2)", "5.", 0, 0, 0, NULL},
        {"decimal(10,2)", "", 0, 0, 0, NULL},
        {"decimal(10,2)", "1.2.3", 0, 0, 0, NULL},
        {"", "12.5", 1, 125, 1, "12.5"},  /* no meta: the digits sent */
        {"", "0.0000000000000000000000000000001", 0, 0, 0, NULL}, /* 31 > MySQL's 30 */
        {"", "123456789012345678901234567890123456789012345678901234567890123456", 0, 0, 0, NULL},
        {"int(11)", "-42", 1, -42, 0, "-42"},
        {"int(11)", "4.2", 0, 0, 0, NULL},
        {"int(11)", "4.0", 0, 0, 0, NULL}, /* Canal writes integers without a point */
        {"double", "4.2", 0, 0, 0, NULL},  /* never through a double */
        {"varchar(5)", "4.2", 0, 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        canal_column c = col(v[i].mt, 3, v[i].text);
        canal_value_err e;
        int64_t u = 77;
        int s = 77;
        char buf[CANAL_DECIMAL_TEXT_MAX];
        size_t n = 0;
        int rc = canal_value_decimal(&c, &u, &s, &e);
        if ((rc == CANAL_OK) != (bool)v[i].ok || (rc == 0 && (u != v[i].unscaled || s != v[i].scale)))
            fprintf(stderr, "  decimal %s \"%s\": rc %d %" PRId64 " scale %d (%s)\n", v[i].mt,
                    v[i].text, rc, u, s, e.msg);
        CHECK((rc == CANAL_OK) == (bool)v[i].ok);
        CHECK(rc == CANAL_OK ? u == v[i].unscaled && s == v[i].scale : u == 77 && s == 77);
        rc = canal_value_decimal_text(&c, buf, sizeof buf, &n, &e);
        CHECK((rc == CANAL_OK) == (bool)v[i].ok);
        if (rc == CANAL_OK) CHECK(v[i].canon && strcmp(buf, v[i].canon) == 0 && n == strlen(v[i].canon));
    }
    /* beyond int64: the text still works */
    canal_column c = col("decimal(65,30)", 3,
                         "-12345678901234567890123456789012345.123456789012345678901234567890");
    canal_value_err e;
    int64_t u;
    int s;
    char buf[CANAL_DECIMAL_TEXT_MAX];
    size_t n = 0;
    CHECK(canal_value_decimal(&c, &u, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "does not fit int64_t at scale 30");
    CHECK(canal_value_decimal_text(&c, buf, sizeof buf, &n, &e) == CANAL_OK);
    CHECK(strcmp(buf, c.value.ptr) == 0 && n == c.value.len && n + 1 <= CANAL_DECIMAL_TEXT_MAX);
    c = col("decimal(65,30)", 3, "-99999999999999999999999999999999999.0");
    CHECK(canal_value_decimal_text(&c, buf, sizeof buf, &n, &e) == CANAL_OK);
    CHECK(n == 67 && n + 1 == CANAL_DECIMAL_TEXT_MAX); /* the longest: sign, 35 + 30 digits, point */
    /* too small a buffer: the length needed, nothing written past cap */
    c = col("decimal(10,2)", 3, "189.0");
    memset(buf, 'x', sizeof buf);
    CHECK(canal_value_decimal_text(&c, buf, 6, &n, &e) == CANAL_EINVAL && n == 6);
    CHECK_CONTAINS(e.msg, "needs 7 bytes");
    CHECK(buf[0] == 'x' && buf[6] == 'x');
    CHECK(canal_value_decimal_text(&c, buf, 7, &n, &e) == CANAL_OK && strcmp(buf, "189.00") == 0);
    CHECK(canal_value_decimal(&c, &u, NULL, &e) == CANAL_EINVAL);
}

/* ------------------------------------------------------------ FLOAT, DOUBLE */

static uint64_t dbits(double d) {
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}
static uint32_t fbits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static void test_float_double(void) {
    /* Java's Float/Double.toString forms (spec §11.3) */
    static const struct {
        const char *mt, *text;
        int ok;
        double want;
    } v[] = {
        {"double", "100.0", 1, 100.0},         {"double", "0.1", 1, 0.1},
        {"double", "3.14", 1, 3.14},           {"double", "9999999.0", 1, 9999999.0},
        {"double", "1.0E10", 1, 1e10},         {"double", "1.0E7", 1, 1e7},
        {"double", "1.0E-4", 1, 1e-4},         {"double", "1.23456789E8", 1, 123456789.0},
        {"double", "4.9E-324", 1, 4.9e-324},   {"double", "1.7976931348623157E308", 1, 1.7976931348623157e308},
        {"double", "-0.0", 1, -0.0},           {"double", "1.0E309", 0, 0},
        {"double", "1.0E+10", 0, 0},           {"double", "1,5", 0, 0},
        {"double", "0x1p3", 0, 0},             {"double", "inf", 0, 0},
        {"double", "", 0, 0},                  {"double", "1.0E", 0, 0},
        {"double", " 1.0", 0, 0},              {"double", "1.0 ", 0, 0},
        {"decimal(10,2)", "189.0", 1, 189.0},  {"int(11)", "-42", 1, -42.0},
        {"bigint(20) unsigned", "18446744073709551615", 1, 18446744073709551615.0},
        {"int(11)", "1.5", 0, 0},              {"varchar(3)", "1.5", 0, 0},
        {"datetime", "1.5", 0, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        canal_column c = col(v[i].mt, 8, v[i].text);
        double d = 77;
        canal_value_err e;
        int rc = canal_value_double(&c, &d, &e);
        if ((rc == CANAL_OK) != (bool)v[i].ok) fprintf(stderr, "  double \"%s\": %s\n", v[i].text, e.msg);
        CHECK((rc == CANAL_OK) == (bool)v[i].ok);
        CHECK(rc == CANAL_OK ? dbits(d) == dbits(v[i].want) : d == 77);
    }
    double d;
    float f;
    canal_column c = col("double", 8, "NaN");
    CHECK(canal_value_double(&c, &d, NULL) == CANAL_OK && isnan(d));
    c = col("double", 8, "-Infinity");
    CHECK(canal_value_double(&c, &d, NULL) == CANAL_OK && isinf(d) && d < 0);
    /* FLOAT: the float MySQL stored, also through canal_value_double */
    c = col("float", 7, "3.14");
    CHECK(canal_value_float(&c, &f, NULL) == CANAL_OK && f == 3.14f);
    CHECK(canal_value_double(&c, &d, NULL) == CANAL_OK && d == (double)3.14f && d != 3.14);
    c = col("float(7,3)", 7, "1.6777216E7");
    CHECK(canal_value_float(&c, &f, NULL) == CANAL_OK && f == 16777216.0f);
    c = col("float", 7, "3.4028235E38");
    CHECK(canal_value_float(&c, &f, NULL) == CANAL_OK && fbits(f) == 0x7f7fffffu);
    c = col("float", 7, "1.4E-45");
    CHECK(canal_value_float(&c, &f, NULL) == CANAL_OK && fbits(f) == 1u);
    canal_value_err e;
    c = col("float", 7, "3.5E38");
    CHECK(canal_value_float(&c, &f, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "out of float range");
    c = col("double", 8, "3.14");
    CHECK(canal_value_float(&c, &f, &e) == CANAL_EINVAL); /* no silent narrowing */
    CHECK_CONTAINS(e.msg, "a DOUBLE column, not a FLOAT");
    c = col("", 7, "0.5");
    CHECK(canal_value_float(&c, &f, NULL) == CANAL_OK && f == 0.5f);
}

/* A locale with a decimal comma must not change what "3.14" means. The
 * Makefile builds de_DE.UTF-8 into BUILD_DIR/locale with localedef. */
static void test_float_locale(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/locale", build_dir);
    setenv("LOCPATH", path, 1);
    const char *got = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!got) fprintf(stderr, "  no de_DE.UTF-8 in %s (run make)\n", path);
    REQUIRE(got != NULL);
    REQUIRE(strcmp(localeconv()->decimal_point, ",") == 0);
    char probe[32];
    snprintf(probe, sizeof probe, "%.2f", 3.14);
    CHECK(strcmp(probe, "3,14") == 0); /* the C library itself now writes a comma */
    canal_column c = col("double", 8, "3.14");
    double d;
    float f;
    CHECK(canal_value_double(&c, &d, NULL) == CANAL_OK && d == 3.14);
    c = col("float", 7, "1.0E-4");
    CHECK(canal_value_float(&c, &f, NULL) == CANAL_OK && f == 1e-4f);
    c = col("double", 8, "3,14");
    CHECK(canal_value_double(&c, &d, NULL) == CANAL_EINVAL);
    c = col("decimal(10,2)", 3, "189.5");
    CHECK(canal_value_double(&c, &d, NULL) == CANAL_OK && d == 189.5);
    setlocale(LC_NUMERIC, "C");
}

/* ------------------------------------------------------------ dates and times */

static void test_datetime(void) {
    static const struct {
        const char *mt, *text;
        int ok, y, mo, d, h, mi, s, us, fsp, neg;
    } v[] = {
        {"date", "2023-11-14", 1, 2023, 11, 14, 0, 0, 0, 0, 0, 0},
        {"date", "0000-00-00", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"date", "2020-00-00", 1, 2020, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime(6)", "2023-11-14 22:13:20.123456", 1, 2023, 11, 14, 22, 13, 20, 123456, 6, 0},
        {"datetime(6)", "2023-11-14 22:13:20.120000", 1, 2023, 11, 14, 22, 13, 20, 120000, 6, 0},
        {"datetime(5)", "2023-11-14 22:13:20.12345", 1, 2023, 11, 14, 22, 13, 20, 123450, 5, 0},
        {"datetime(4)", "2023-11-14 22:13:20.1234", 1, 2023, 11, 14, 22, 13, 20, 123400, 4, 0},
        {"datetime(3)", "2023-11-14 22:13:20.120", 1, 2023, 11, 14, 22, 13, 20, 120000, 3, 0},
        {"datetime(2)", "2023-11-14 22:13:20.01", 1, 2023, 11, 14, 22, 13, 20, 10000, 2, 0},
        {"datetime(1)", "2023-11-14 22:13:20.9", 1, 2023, 11, 14, 22, 13, 20, 900000, 1, 0},
        {"datetime", "2023-11-14 22:13:20", 1, 2023, 11, 14, 22, 13, 20, 0, 0, 0},
        {"datetime(3)", "0000-00-00 00:00:00.000", 1, 0, 0, 0, 0, 0, 0, 0, 3, 0},
        {"datetime", "2020-00-00 00:00:00", 1, 2020, 0, 0, 0, 0, 0, 0, 0, 0},
        {"timestamp(3)", "2023-11-15 06:13:20.123", 1, 2023, 11, 15, 6, 13, 20, 123000, 3, 0},
        {"timestamp", "0000-00-00 00:00:00", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "838:59:59", 1, 0, 0, 0, 838, 59, 59, 0, 0, 0},
        {"time", "-838:59:59", 1, 0, 0, 0, 838, 59, 59, 0, 0, 1},
        {"time", "25:00:00", 1, 0, 0, 0, 25, 0, 0, 0, 0, 0},
        {"time", "100:00:00", 1, 0, 0, 0, 100, 0, 0, 0, 0, 0},
        {"time(6)", "-01:02:03.000450", 1, 0, 0, 0, 1, 2, 3, 450, 6, 1},
        {"time(6)", "-00:00:00.500000", 1, 0, 0, 0, 0, 0, 0, 500000, 6, 1},
        {"time(2)", "-00:00:01.01", 1, 0, 0, 0, 0, 0, 1, 10000, 2, 1},
        {"time", "00:00:00", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time(3)", "00:00:00.000", 1, 0, 0, 0, 0, 0, 0, 0, 3, 0},
        {"", "2023-11-14 22:13:20.5", 1, 2023, 11, 14, 22, 13, 20, 500000, 1, 0}, /* sqlType 93 */
        {"datetime", "2023-11-14T22:13:20", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime", "2023-11-14 24:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime", "2023-13-14 22:13:20", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime", "2023-11-32 22:13:20", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime", "2023-11-14 22:60:20", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime(6)", "2023-11-14 22:13:20.1234567", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime(6)", "2023-11-14 22:13:20.", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime", "2023-11-14", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"datetime", "23-11-14 22:13:20", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"date", "2023-11-14 00:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"date", "2023-1-14", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "839:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "1:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "1000:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "--1:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "-", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "12:3", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"time", "10:00:60", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"varchar(20)", "2023-11-14", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"year", "2023", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        canal_column c = col(v[i].mt, 93, v[i].text);
        canal_datetime t;
        canal_value_err e;
        memset(&t, 0x5a, sizeof t);
        int rc = canal_value_datetime(&c, &t, &e);
        if ((rc == CANAL_OK) != (bool)v[i].ok) fprintf(stderr, "  datetime \"%s\": %s\n", v[i].text, e.msg);
        CHECK((rc == CANAL_OK) == (bool)v[i].ok);
        if (rc != CANAL_OK) {
            CHECK(t.year == 0x5a5a5a5a && e.msg[0]);
            continue;
        }
        CHECK(t.year == v[i].y && t.month == v[i].mo && t.day == v[i].d);
        CHECK(t.hour == v[i].h && t.minute == v[i].mi && t.second == v[i].s);
        CHECK(t.microsecond == v[i].us && t.fsp == v[i].fsp && t.negative == (bool)v[i].neg);
    }
    canal_value_err e;
    canal_column c = col("varchar(20)", 12, "2023-11-14");
    canal_datetime t;
    CHECK(canal_value_datetime(&c, &t, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "text column, not a date or time");
    c = col("datetime", 93, "2023-11-14 24:00:00");
    CHECK(canal_value_datetime(&c, &t, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "not a DATETIME as Canal writes it");
}

static void test_datetime_to_unix(void) {
    canal_datetime t;
    canal_value_err e;
    int64_t s = 0;
    int32_t us = 0;
    /* spec §11.4: epoch 1700000000.123 at UTC and on Asia/Shanghai */
    canal_column c = col("timestamp(3)", 93, "2023-11-14 22:13:20.123");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_OK && s == 1700000000 && us == 123000);
    c = col("timestamp(3)", 93, "2023-11-15 06:13:20.123");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 8 * 3600, &s, &us, &e) == CANAL_OK && s == 1700000000);
    c = col("date", 91, "1970-01-01");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_OK && s == 0 && us == 0);
    c = col("datetime", 93, "1969-12-31 23:59:59");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_OK && s == -1);
    c = col("datetime", 93, "0001-01-01 00:00:00");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_OK && s == -62135596800LL);
    c = col("datetime", 93, "9999-12-31 23:59:59");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_OK && s == 253402300799LL);
    c = col("date", 91, "2020-02-29");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_OK && s == 1582934400);
    /* no instant: zero, partial, a day the month lacks, TIME */
    const char *none[] = {"0000-00-00", "2020-00-00", "2020-05-00", "2021-02-29", "1900-02-29",
                          "2023-04-31", "0000-01-01"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        c = col("date", 91, none[i]);
        REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
        s = 5;
        CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_EINVAL && s == 5);
        CHECK_CONTAINS(e.msg, "is no instant");
    }
    c = col("time", 92, "25:00:00");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 0, &s, &us, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "a TIME is not a point in time");
    c = col("date", 91, "2020-01-01");
    REQUIRE(canal_value_datetime(&c, &t, NULL) == CANAL_OK);
    CHECK(canal_datetime_to_unix(&t, 64801, &s, &us, &e) == CANAL_EINVAL);
    CHECK(canal_datetime_to_unix(&t, -64800, &s, &us, &e) == CANAL_OK && s == 1577836800 + 64800);
    CHECK(canal_datetime_to_unix(NULL, 0, &s, &us, &e) == CANAL_EINVAL);
}

/* ------------------------------------------------------------ bytes, text */

static void test_bytes_and_text(void) {
    uint8_t out[64];
    size_t n = 0;
    canal_value_err e;
    canal_str s;
    /* BLOB bytes 00 FF 41 arrive as U+0000 U+00FF 'A' (spec §8.7) */
    canal_column c = col_n("blob", 2004, "\x00\xc3\xbf" "A", 4);
    CHECK(canal_value_bytes(&c, NULL, 0, &n, &e) == CANAL_OK && n == 3);
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, &e) == CANAL_OK && n == 3);
    CHECK(memcmp(out, "\x00\xff\x41", 3) == 0);
    memset(out, 0xAA, sizeof out);
    CHECK(canal_value_bytes(&c, out, 2, &n, &e) == CANAL_EINVAL && n == 3 && out[0] == 0xAA);
    CHECK_CONTAINS(e.msg, "needs 3 bytes, have 2");
    CHECK(canal_value_text(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "use canal_value_bytes");
    /* every byte value survives */
    char all[512];
    size_t an = 0;
    for (int b = 0; b < 256; b++) {
        if (b < 0x80) all[an++] = (char)b;
        else all[an++] = (char)(0xC0 | b >> 6), all[an++] = (char)(0x80 | (b & 0x3F));
    }
    uint8_t back[256];
    c = col_n("varbinary(256)", 2004, all, an);
    CHECK(canal_value_bytes(&c, back, sizeof back, &n, NULL) == CANAL_OK && n == 256);
    for (int b = 0; b < 256 && n == 256; b++) CHECK(back[b] == b);
    /* GEOMETRY: the same rendering */
    c = col_n("point", 2004, "\x00\x00\x00\x00\x01\x01", 6);
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, NULL) == CANAL_OK && n == 6 && out[5] == 1);
    /* not a binary rendering: above U+00FF, or cut */
    c = col("blob", 2004, "\xe5\x8c\x97");
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "not an ISO-8859-1 rendering");
    c = col("blob", 2004, "a\xc3");
    CHECK(canal_value_bytes(&c, NULL, 0, &n, &e) == CANAL_EINVAL);
    /* text: its UTF-8 as it is */
    c = col("varchar(16)", 12, "\xe5\x8c\x97\xe4\xba\xac");
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, NULL) == CANAL_OK && n == 6);
    CHECK(memcmp(out, "\xe5\x8c\x97\xe4\xba\xac", 6) == 0);
    CHECK(canal_value_text(&c, &s, NULL) == CANAL_OK && s.ptr == c.value.ptr && s.len == 6);
    c = col("json", 12, "{\"a\": [1, 2]}");
    CHECK(canal_value_text(&c, &s, NULL) == CANAL_OK && s.len == 13);
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, NULL) == CANAL_OK && n == 13);
    c = col("json", 12, "");
    CHECK(canal_value_text(&c, &s, NULL) == CANAL_OK && s.len == 0 && s.ptr != NULL);
    CHECK(canal_value_bytes(&c, out, 0, &n, NULL) == CANAL_OK && n == 0);
    /* ENUM, SET: numbers; text gives the number, bytes refuse */
    c = col("enum('a','b','c')", 4, "2");
    CHECK(canal_value_text(&c, &s, NULL) == CANAL_OK && s.len == 1);
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "an ENUM column has no bytes");
    c = col("set('a','b','c')", -7, "5");
    uint64_t u;
    CHECK(canal_value_uint64(&c, &u, NULL) == CANAL_OK && u == 5);
    /* NULL */
    c = col("blob", 2004, "");
    c.is_null = true;
    CHECK(canal_value_bytes(&c, out, sizeof out, &n, &e) == CANAL_EINVAL);
    CHECK(canal_value_text(&c, &s, &e) == CANAL_EINVAL);
    CHECK_CONTAINS(e.msg, "is NULL");
    c = col("blob", 2004, "");
    CHECK(canal_value_bytes(&c, out, sizeof out, NULL, &e) == CANAL_EINVAL);
}

/* ------------------------------------------------------------ reference vectors */

static void test_reference_vectors(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/values_ref.txt", build_dir);
    FILE *f = fopen(path, "r");
    if (!f) fprintf(stderr, "  missing %s (run make)\n", path);
    REQUIRE(f != NULL);
    char line[1024];
    int counts[8] = {0}, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char *fld[16];
        int nf = 0;
        line[strcspn(line, "\n")] = '\0';
        for (char *p = line; nf < 16;) {
            fld[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = '\0';
            p = tab + 1;
        }
        canal_value_err e;
        int ok = 0;
        if (strcmp(fld[0], "int") == 0 && nf == 5) {
            canal_column c = col(fld[1], atoi(fld[2]), fld[3]);
            int64_t s;
            uint64_t u;
            int rs = canal_value_int64(&c, &s, &e), ru = canal_value_uint64(&c, &u, &e);
            if (strcmp(fld[4], "ERR") == 0) {
                ok = rs == CANAL_EINVAL && ru == CANAL_EINVAL;
            } else if (fld[4][0] == '-') {
                ok = rs == CANAL_OK && s == strtoll(fld[4], NULL, 10) && ru == CANAL_EINVAL;
            } else {
                uint64_t w = strtoull(fld[4], NULL, 10);
                ok = ru == CANAL_OK && u == w &&
                     (w > INT64_MAX ? rs == CANAL_EINVAL : rs == CANAL_OK && (uint64_t)s == w);
            }
            counts[0]++;
        } else if (strcmp(fld[0], "dec") == 0 && nf == 6) {
            canal_column c = col(fld[1], 3, fld[2]);
            int64_t u;
            int s;
            char buf[CANAL_DECIMAL_TEXT_MAX];
            size_t n;
            int r1 = canal_value_decimal(&c, &u, &s, &e);
            ok = strcmp(fld[3], "-") == 0
                     ? r1 == CANAL_EINVAL
                     : r1 == CANAL_OK && u == strtoll(fld[3], NULL, 10) && s == atoi(fld[4]);
            ok = ok && canal_value_decimal_text(&c, buf, sizeof buf, &n, &e) == CANAL_OK &&
                 strcmp(buf, fld[5]) == 0 && n == strlen(fld[5]);
            counts[1]++;
        } else if (strcmp(fld[0], "dt") == 0 && nf == 12) {
            canal_column c = col(fld[1], 93, fld[2]);
            canal_datetime t;
            int64_t sec;
            int32_t us;
            ok = canal_value_datetime(&c, &t, &e) == CANAL_OK && t.year == atoi(fld[3]) &&
                 t.month == atoi(fld[4]) && t.day == atoi(fld[5]) && t.hour == atoi(fld[6]) &&
                 t.minute == atoi(fld[7]) && t.second == atoi(fld[8]) &&
                 t.microsecond == atoi(fld[9]) && t.fsp == atoi(fld[10]) &&
                 canal_datetime_to_unix(&t, 0, &sec, &us, &e) == CANAL_OK &&
                 sec == strtoll(fld[11], NULL, 10) && us == t.microsecond;
            counts[2]++;
        } else if (strcmp(fld[0], "ts") == 0 && nf == 6) {
            canal_column c = col(fld[1], 93, fld[2]);
            canal_datetime t;
            int64_t sec;
            int32_t us;
            ok = canal_value_datetime(&c, &t, &e) == CANAL_OK && t.kind == CANAL_KIND_TIMESTAMP &&
                 canal_datetime_to_unix(&t, atoi(fld[3]), &sec, &us, &e) == CANAL_OK &&
                 sec == strtoll(fld[4], NULL, 10) && us == atoi(fld[5]);
            counts[3]++;
        } else if (strcmp(fld[0], "time") == 0 && nf == 9) {
            canal_column c = col(fld[1], 92, fld[2]);
            canal_datetime t;
            ok = canal_value_datetime(&c, &t, &e) == CANAL_OK && t.negative == (bool)atoi(fld[3]) &&
                 t.hour == atoi(fld[4]) && t.minute == atoi(fld[5]) && t.second == atoi(fld[6]) &&
                 t.microsecond == atoi(fld[7]) && t.fsp == atoi(fld[8]) && t.year == 0;
            counts[4]++;
        } else if (strcmp(fld[0], "double") == 0 && nf == 3) {
            canal_column c = col("double", 8, fld[1]);
            double d;
            ok = canal_value_double(&c, &d, &e) == CANAL_OK && dbits(d) == strtoull(fld[2], NULL, 10);
            counts[5]++;
        } else if (strcmp(fld[0], "float") == 0 && nf == 3) {
            canal_column c = col("float", 7, fld[1]);
            float fl;
            double d;
            ok = canal_value_float(&c, &fl, &e) == CANAL_OK && fbits(fl) == strtoul(fld[2], NULL, 10) &&
                 canal_value_double(&c, &d, &e) == CANAL_OK && d == (double)fl;
            counts[6]++;
        } else {
            counts[7]++;
        }
        if (!ok && bad++ < 10) fprintf(stderr, "  reference: %s %s %s: %s\n", fld[0], fld[1], nf > 2 ? fld[2] : "", e.msg);
    }
    fclose(f);
    CHECK(bad == 0);
    CHECK(counts[7] == 0);
    for (int i = 0; i < 7; i++) CHECK(counts[i] >= 100);
}

/* ------------------------------------------------------------ lookups, positions */

static size_t fixture(const char *name, uint8_t *buf, size_t cap) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/fixtures", build_dir);
    return read_fixture_file(dir, name, buf, cap);
}

/* canal_entry_parse on protoc's bytes of one Entry, then its rows by name */
static void test_entry_parse_and_row_column(void) {
    static uint8_t ins[2048], upd[2048];
    size_t ni = fixture("e_insert.bin", ins, sizeof ins), nu = fixture("e_update.bin", upd, sizeof upd);
    REQUIRE(ni > 0 && nu > 0);
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    const canal_entry *e = NULL;
    canal_rowchange rc;
    REQUIRE(canal_entry_parse(c, ins, ni, &e) == CANAL_OK && e != NULL);
    CHECK(e->entry_type == CANAL_ROWDATA && e->raw.ptr == ins && e->raw.len == ni);
    CHECK_STRN(e->header.logfile_name.ptr, e->header.logfile_name.len, "mysql-bin.000001");
    CHECK(e->header.logfile_offset == 120 && e->header.n_props == 1);
    CHECK_STRN(e->header.table_name.ptr, e->header.table_name.len, "orders");
    REQUIRE(canal_entry_rowchange(c, e, &rc) == CANAL_OK && rc.n_rows == 1);
    const canal_row *r = &rc.rows[0];
    const canal_column *id = canal_row_column(r, "id", true);
    REQUIRE(id != NULL);
    int64_t v;
    CHECK(canal_value_int64(id, &v, NULL) == CANAL_OK && v == 1);
    CHECK(canal_row_column(r, "CITY", true) == &r->after[4]); /* MySQL names ignore case */
    CHECK(canal_row_column(r, "id", false) == NULL);          /* an INSERT has no before image */
    CHECK(canal_row_column(r, "i", true) == NULL && canal_row_column(r, "idx", true) == NULL);
    CHECK(canal_row_column(r, "", true) == NULL && canal_row_column(NULL, "id", true) == NULL);
    canal_column unnamed[2] = {*id, *id};
    unnamed[0].name.len = 0;
    canal_row ur = {NULL, 0, unnamed, 2, NULL, 0};
    CHECK(canal_row_column(&ur, "", true) == NULL && canal_row_column(&ur, "ID", true) == &unnamed[1]);
    const canal_column *img = canal_row_column(r, "img", true);
    uint8_t b[8];
    size_t bn;
    CHECK(img && canal_column_is_binary(img));
    CHECK(img && canal_value_bytes(img, b, sizeof b, &bn, NULL) == CANAL_OK && bn == 3 &&
          memcmp(b, "\x00\xff\x41", 3) == 0);
    const canal_column *note = canal_row_column(r, "note", true);
    CHECK(note && note->is_null && canal_value_text(note, &(canal_str){0}, NULL) == CANAL_EINVAL);
    /* the next entry replaces it; the old one is refused, not read */
    canal_entry old = *e;
    REQUIRE(canal_entry_parse(c, upd, nu, &e) == CANAL_OK);
    CHECK(canal_entry_rowchange(c, &old, &rc) == CANAL_ESTATE);
    REQUIRE(canal_entry_rowchange(c, e, &rc) == CANAL_OK && rc.n_rows == 2);
    CHECK(e->header.logfile_offset == 300);
    const canal_column *nb = canal_row_column(&rc.rows[0], "name", false),
                       *na = canal_row_column(&rc.rows[0], "name", true);
    CHECK(nb && na && nb != na);
    CHECK(nb && na && str_is(nb->value, "x") && str_is(na->value, "y") && na->updated);
    /* an entry from a message, forwarded as raw bytes, decodes the same */
    static uint8_t pk[4096], copy[2048];
    size_t pn = fixture("packet_raw.bin", pk, sizeof pk);
    const canal_message *m;
    REQUIRE(pn > 0 && canal_message_parse(c, pk, pn, true, &m) == CANAL_OK && m->n_entries == 6);
    for (size_t i = 0; i < m->n_entries; i++) {
        canal_entry want = m->entries[i];
        REQUIRE(want.raw.len <= sizeof copy);
        memcpy(copy, want.raw.ptr, want.raw.len);
        REQUIRE(canal_entry_parse(c, copy, want.raw.len, &e) == CANAL_OK);
        CHECK(e->entry_type == want.entry_type && e->has_header == want.has_header);
        CHECK(e->store_value.len == want.store_value.len && e->header.logfile_offset == want.header.logfile_offset);
        CHECK(e->header.event_type == want.header.event_type);
        REQUIRE(canal_message_parse(c, pk, pn, true, &m) == CANAL_OK);
    }
    /* malformed: named */
    CHECK(canal_entry_parse(c, "\x0a\x05\x12", 3, &e) == CANAL_EPROTO && e == NULL);
    CHECK_CONTAINS(canal_errstr(c), "entry_parse");
    CHECK(canal_entry_parse(c, "\x1a\x02\x00", 3, &e) == CANAL_EPROTO);
    CHECK(canal_entry_parse(c, NULL, 0, &e) == CANAL_OK && e && e->entry_type == 0 && !e->has_header);
    CHECK(canal_entry_parse(c, NULL, 3, &e) == CANAL_EINVAL);
    CHECK(canal_entry_parse(c, ins, ni, NULL) == CANAL_EINVAL);
    CHECK(canal_entry_parse(NULL, ins, ni, &e) == CANAL_EINVAL);
    canal_client_free(c);
}

static int pos_cmp(const char *a, int64_t oa, const char *b, int64_t ob) {
    canal_str sa = {a, strlen(a)}, sb = {b, strlen(b)};
    return canal_position_cmp(sa, oa, sb, ob);
}

static void test_position_cmp(void) {
    CHECK(pos_cmp("mysql-bin.999999", 4, "mysql-bin.1000000", 4) < 0); /* strcmp says > */
    CHECK(pos_cmp("mysql-bin.1000000", 4, "mysql-bin.999999", 9999) > 0);
    CHECK(pos_cmp("mysql-bin.000001", 120, "mysql-bin.000001", 120) == 0);
    CHECK(pos_cmp("mysql-bin.000001", 120, "mysql-bin.000001", 4) > 0);
    CHECK(pos_cmp("mysql-bin.000001", 4, "mysql-bin.000002", 4) < 0);
    CHECK(pos_cmp("mysql-bin.000002", 4, "mysql-bin.000010", 4) < 0);
    CHECK(pos_cmp("mysql-bin.000009", 9999999, "mysql-bin.000010", 4) < 0);
    CHECK(pos_cmp("mysql-bin.1", 4, "mysql-bin.000001", 4) != 0); /* different names never equal */
    CHECK(pos_cmp("", 0, "", 0) == 0);
    CHECK(pos_cmp("", 0, "mysql-bin.000001", 4) < 0);
    /* a total order over a mixed set: antisymmetric and transitive */
    const char *names[] = {"", "x", "x.", "x.9", "x.10", "x.009", "x.1z", "x.0", "y.1",
                           "mysql-bin.999999", "mysql-bin.1000000", "mysql-bin.000001", ".5",
                           "a.b.3", "a.b.12", "a.c.1", "mysql-bin", "9"};
    enum { N = sizeof names / sizeof names[0] };
    int bad = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int ij = pos_cmp(names[i], 1, names[j], 1), ji = pos_cmp(names[j], 1, names[i], 1);
            if ((ij > 0) != (ji < 0) || (ij == 0) != (i == j) || ij < -1 || ij > 1) bad++;
            for (int k = 0; k < N; k++)
                if (ij < 0 && pos_cmp(names[j], 1, names[k], 1) < 0 && pos_cmp(names[i], 1, names[k], 1) >= 0)
                    bad++;
        }
    CHECK(bad == 0);
    CHECK(pos_cmp("x.9", 1, "x.10", 1) < 0 && pos_cmp("x.10", 1, "x.1z", 1) < 0 &&
          pos_cmp("x.9", 1, "x.1z", 1) < 0);
    CHECK(pos_cmp("a", INT64_MIN, "a", INT64_MAX) < 0);
}

/* ------------------------------------------------------------ message kinds */

static void test_message_parse_kinds(void) {
    static uint8_t pk[4096], ms[4096];
    size_t pn = fixture("packet_raw.bin", pk, sizeof pk), mn = fixture("messages.bin", ms, sizeof ms);
    size_t vn;
    static uint8_t v1[4096];
    vn = fixture("packet_v1.bin", v1, sizeof v1);
    REQUIRE(pn > 0 && mn > 0 && vn > 0);
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    const canal_message *m;
    /* right kinds */
    CHECK(canal_message_parse(c, pk, pn, true, &m) == CANAL_OK && m->n_entries == 6);
    CHECK(canal_message_parse(c, ms, mn, false, &m) == CANAL_OK && m->n_entries == 6);
    /* a whole Packet given as a body: raw form (which used to give 0 entries) and version-1 form */
    CHECK(canal_message_parse(c, pk, pn, false, &m) == CANAL_EPROTO && m == NULL);
    CHECK_CONTAINS(canal_errstr(c), "whole Packet (type 7, MESSAGES), not a Packet's body: pass is_packet = true");
    CHECK(canal_message_parse(c, v1, vn, false, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "pass is_packet = true");
    uint8_t b[64];
    size_t n = unhex("1807", b, sizeof b); /* a Packet with only its type */
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "whole Packet (type 7");
    n = unhex("1803 2a00", b, sizeof b); /* an Ack Packet */
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "type 3, ACK");
    /* a body given as a whole Packet */
    CHECK(canal_message_parse(c, ms, mn, true, &m) == CANAL_EPROTO && m == NULL);
    CHECK_CONTAINS(canal_errstr(c), "look like a Packet's body (a bare Messages): pass is_packet = false");
    n = unhex("08ffffffffffffffffff01", b, sizeof b); /* Messages{batch -1} */
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "pass is_packet = false");
    /* bytes that are neither: no hint, the plain error */
    n = unhex("ff", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK(strstr(canal_errstr(c), "is_packet") == NULL);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_EPROTO);
    CHECK(strstr(canal_errstr(c), "is_packet") == NULL);
    /* empty bytes are an empty Messages; as a Packet, type 0 */
    CHECK(canal_message_parse(c, NULL, 0, false, &m) == CANAL_OK && m->n_entries == 0);
    CHECK(canal_message_parse(c, NULL, 0, true, &m) == CANAL_EPROTO);
    /* unknown fields in a Messages other than a Packet's are still skipped */
    n = unhex("0805 3001", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK && m->batch_id == 5);
    canal_client_free(c);
}

int main(int argc, char **argv) {
    if (argc > 1) build_dir = argv[1];
    RUN(test_column_type);
    RUN(test_is_binary);
    RUN(test_integers);
    RUN(test_bool);
    RUN(test_decimal);
    RUN(test_float_double);
    RUN(test_float_locale);
    RUN(test_datetime);
    RUN(test_datetime_to_unix);
    RUN(test_bytes_and_text);
    RUN(test_reference_vectors);
    RUN(test_entry_parse_and_row_column);
    RUN(test_position_cmp);
    RUN(test_message_parse_kinds);
    return TT_REPORT("values");
}
