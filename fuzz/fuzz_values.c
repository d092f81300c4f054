/* fuzz_values.c - libFuzzer target for the typed value accessors, row
 * lookups and binlog position order.
 *
 * Input: byte 0 picks the column's mysqlType from a table of real ones, or
 * (top bit set) takes it from the input: byte 1 is its length; the next
 * byte picks the sqlType, the next holds flags (bit 0: is_null); the rest
 * is Column.value. Every accessor runs on that column and what they return
 * must agree with each other (decimal vs decimal text, float vs double,
 * bytes asked vs written, a datetime vs its epoch at two offsets), with
 * err->code always the return code and a message exactly on failure. The
 * value, cut in two, also goes through canal_position_cmp (antisymmetric,
 * reflexive) and canal_row_column.
 *
 * Seeds: fuzz/corpus/fuzz_values (fuzz/mkseeds.py: one per vector kind of
 * test/test_values.c). */
#include "../canal.c"
#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char *const types[] = {
    "tinyint(4)", "tinyint(3) unsigned", "tinyint(1)", "smallint(6)", "smallint(5) unsigned",
    "mediumint(9)", "mediumint(8) unsigned", "int(11)", "int(10) unsigned zerofill",
    "bigint(20)", "bigint(20) unsigned", "bigint", "bit(1)", "bit(3)", "bit(64)", "year(4)",
    "decimal(10,2)", "decimal(65,30)", "decimal(5,0)", "decimal(20,10)", "decimal",
    "float", "float(7,3)", "double", "date", "time", "time(6)", "datetime", "datetime(3)",
    "datetime(6)", "timestamp", "timestamp(6)", "char(3)", "varchar(64)", "text", "longtext",
    "binary(4)", "varbinary(16)", "blob", "char(10) binary", "enum('a','b','c')",
    "set('a','b','c')", "json", "geometry", "point", "", "widget", "text(10)"};
static const int32_t sql_types[] = {-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8,
                                    12, 16, 91, 92, 93, 1111, 2004, 2005};

/* The code and message of a call agree with its return value. */
static void check_err(int rc, const canal_value_err *e) {
    FZ_CHECK(rc == CANAL_OK || rc == CANAL_EINVAL);
    FZ_CHECK(e->code == rc);
    FZ_CHECK(rc == CANAL_OK ? e->msg[0] == '\0' : e->msg[0] != '\0');
    FZ_CHECK(memchr(e->msg, '\0', sizeof e->msg) != NULL);
}

static void check_column(const canal_column *col) {
    canal_value_err e;
    canal_type t;
    int rc;
    FZ_CHECK(canal_column_type(col, &t) == CANAL_OK);
    FZ_CHECK(t.kind >= CANAL_KIND_UNKNOWN && t.kind <= CANAL_KIND_GEOMETRY);
    FZ_CHECK(canal_column_is_binary(col) ==
             (t.kind == CANAL_KIND_BINARY || t.kind == CANAL_KIND_GEOMETRY));

    int64_t s = 0;
    uint64_t u = 0;
    bool b;
    int rs = canal_value_int64(col, &s, &e);
    check_err(rs, &e);
    int ru = canal_value_uint64(col, &u, &e);
    check_err(ru, &e);
    if (rs == CANAL_OK && ru == CANAL_OK) FZ_CHECK(s >= 0 && (uint64_t)s == u);
    if (rs == CANAL_OK && s < 0) FZ_CHECK(ru == CANAL_EINVAL);
    rc = canal_value_bool(col, &b, &e);
    check_err(rc, &e);
    if (rc == CANAL_OK && rs == CANAL_OK) FZ_CHECK(b == (s != 0));

    /* DECIMAL: the integer and the text say the same */
    int64_t un = 0;
    int sc = -1;
    char txt[200], ref[200];
    size_t tn = 0;
    int rd = canal_value_decimal(col, &un, &sc, &e);
    check_err(rd, &e);
    int rt = canal_value_decimal_text(col, txt, sizeof txt, &tn, &e);
    check_err(rt, &e);
    if (rd == CANAL_OK) {
        FZ_CHECK(sc >= 0 && sc <= 30);
        if (rt == CANAL_OK) {
            /* unscaled and scale written out by hand */
            uint64_t mag = un < 0 ? (uint64_t)0 - (uint64_t)un : (uint64_t)un;
            char digits[64];
            int nd = snprintf(digits, sizeof digits, "%" PRIu64, mag);
            char *o = ref;
            if (un < 0) *o++ = '-';
            if (nd <= sc) {
                *o++ = '0';
                *o++ = '.';
                for (int i = nd; i < sc; i++) *o++ = '0';
                memcpy(o, digits, (size_t)nd), o += nd;
            } else {
                memcpy(o, digits, (size_t)(nd - sc)), o += nd - sc;
                if (sc) *o++ = '.', memcpy(o, digits + nd - sc, (size_t)sc), o += sc;
            }
            *o = '\0';
            FZ_CHECK(strcmp(ref, txt) == 0);
        }
    }
    if (rt == CANAL_OK) {
        FZ_CHECK(tn == strlen(txt));
        FZ_CHECK(tn + 1 <= CANAL_DECIMAL_TEXT_MAX);
        /* a buffer one byte short fails, names the length, writes nothing past it */
        char small[200];
        size_t need = 0;
        memset(small, 'x', sizeof small);
        FZ_CHECK(canal_value_decimal_text(col, small, tn, &need, &e) == CANAL_EINVAL);
        FZ_CHECK(need == tn && small[0] == 'x');
        check_err(CANAL_EINVAL, &e);
    }

    float f;
    double d;
    int rf = canal_value_float(col, &f, &e);
    check_err(rf, &e);
    int rdd = canal_value_double(col, &d, &e);
    check_err(rdd, &e);
    if (rf == CANAL_OK) {
        FZ_CHECK(rdd == CANAL_OK);
        FZ_CHECK(isnan(f) ? isnan(d) : d == (double)f);
    }
    if (rd == CANAL_OK && rdd == CANAL_OK) FZ_CHECK(!isnan(d));

    canal_datetime dt;
    int rdt = canal_value_datetime(col, &dt, &e);
    check_err(rdt, &e);
    if (rdt == CANAL_OK) {
        FZ_CHECK(dt.kind == t.kind);
        FZ_CHECK(dt.month >= 0 && dt.month <= 12 && dt.day >= 0 && dt.day <= 31);
        FZ_CHECK(dt.minute >= 0 && dt.minute <= 59 && dt.second >= 0 && dt.second <= 59);
        FZ_CHECK(dt.microsecond >= 0 && dt.microsecond <= 999999 && dt.fsp >= 0 && dt.fsp <= 6);
        FZ_CHECK(dt.hour >= 0 && dt.hour <= (dt.kind == CANAL_KIND_TIME ? 838 : 23));
        int64_t s1, s2;
        int32_t us1, us2;
        int r1 = canal_datetime_to_unix(&dt, 0, &s1, &us1, &e);
        check_err(r1, &e);
        int r2 = canal_datetime_to_unix(&dt, -3600, &s2, &us2, &e);
        check_err(r2, &e);
        FZ_CHECK(r1 == r2);
        if (r1 == CANAL_OK) FZ_CHECK(s2 == s1 + 3600 && us1 == us2 && us1 == dt.microsecond);
    }

    /* bytes: the length asked for is the length written */
    size_t need = 0, got = 0;
    int rq = canal_value_bytes(col, NULL, 0, &need, &e);
    check_err(rq, &e);
    if (rq == CANAL_OK) {
        FZ_CHECK(need <= col->value.len);
        uint8_t *buf = malloc(need + 1);
        FZ_CHECK(buf != NULL);
        FZ_CHECK(canal_value_bytes(col, buf, need, &got, &e) == CANAL_OK && got == need);
        if (need > 0) {
            size_t got2 = 0;
            FZ_CHECK(canal_value_bytes(col, buf, need - 1, &got2, &e) == CANAL_EINVAL);
            FZ_CHECK(got2 == need);
        }
        free(buf);
    }
    canal_str v;
    int rx = canal_value_text(col, &v, &e);
    check_err(rx, &e);
    if (rx == CANAL_OK) FZ_CHECK(v.len == col->value.len);
    if (col->is_null) FZ_CHECK(rs && ru && rd && rt && rf && rdd && rdt && rq && rx);
}

static void check_positions(canal_str a, canal_str b, int64_t oa, int64_t ob) {
    int ab = canal_position_cmp(a, oa, b, ob), ba = canal_position_cmp(b, ob, a, oa);
    FZ_CHECK(ab >= -1 && ab <= 1 && ab == -ba);
    FZ_CHECK(canal_position_cmp(a, oa, a, oa) == 0);
    if (ab == 0) FZ_CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0 && oa == ob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    const uint8_t *p = data, *end = data + size;
    char mt[256];
    size_t mtn;
    if (*p & 0x80) {
        p++;
        mtn = *p++;
        if ((size_t)(end - p) < mtn + 2) return 0;
        memcpy(mt, p, mtn);
        p += mtn;
    } else {
        const char *name = types[*p++ % (sizeof types / sizeof types[0])];
        mtn = strlen(name);
        memcpy(mt, name, mtn);
    }
    mt[mtn] = '\0';
    int32_t sql = sql_types[*p++ % (sizeof sql_types / sizeof sql_types[0])];
    uint8_t flags = *p++;
    /* the value in a heap block of its own size: ASan sees any overread */
    size_t vn = (size_t)(end - p);
    char *val = malloc(vn + 1);
    FZ_CHECK(val != NULL);
    if (vn) memcpy(val, p, vn);
    val[vn] = '\0';

    canal_column col;
    memset(&col, 0, sizeof col);
    col.name.ptr = "c", col.name.len = 1;
    col.mysql_type.ptr = mt, col.mysql_type.len = mtn;
    col.sql_type = sql;
    col.value.ptr = val, col.value.len = vn;
    col.is_null = flags & 1;
    col.has_is_null = true;
    check_column(&col);

    /* the value as binlog file names and as a column name */
    canal_str a = {val, vn / 2}, b = {val + vn / 2, vn - vn / 2};
    int64_t oa = flags & 2 ? INT64_MIN : (int64_t)flags, ob = flags & 4 ? INT64_MAX : 7;
    check_positions(a, b, oa, ob);
    char name[64];
    size_t nn = a.len < sizeof name - 1 ? a.len : sizeof name - 1;
    memcpy(name, a.ptr, nn);
    name[nn] = '\0';
    canal_column cols[2] = {col, col};
    cols[1].name = b;
    canal_row row;
    memset(&row, 0, sizeof row);
    row.after = cols, row.n_after = 2;
    const canal_column *hit = canal_row_column(&row, name, true);
    FZ_CHECK(hit == NULL || hit == &cols[0] || hit == &cols[1]);
    if (hit) FZ_CHECK(hit->name.len == strlen(name));
    FZ_CHECK(canal_row_column(&row, name, false) == NULL);
    free(val);
    return 0;
}
