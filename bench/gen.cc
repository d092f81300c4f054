// bench/gen.cc - writes the decode benchmarks' workload: a file of GET replies
// exactly as Canal's server sends them over TCP, built with Google's C++
// protobuf so the bytes are the reference encoder's, not canal-c's idea of them.
//
//   gen [--rows N] [--out FILE] [--seed S]
//
// Each frame is a 4-byte big-endian length and a Packet holding only field 3
// (type = MESSAGES) and field 5 (body), the server's raw-store fast path
// (PROTOCOL.md §2, §5.4); the body is Messages{batch_id, 1000 serialized
// Entry}. The entries are a binlog of one table, shop.orders, with the fields
// set the way Canal's MySQL parser sets them (LogEventConvert): transactions
// of 1-5 statements between TRANSACTIONBEGIN and TRANSACTIONEND entries, 60%
// INSERT, 30% UPDATE, 10% DELETE statements of 1-10 rows each. The output is
// a function of --rows and --seed only, so every run benchmarks the same bytes.
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "CanalProtocol.pb.h"
#include "EntryProtocol.pb.h"  // the bench copy, package ...protocol.entry (see bench.mk)

namespace cp = com::alibaba::otter::canal::protocol;
namespace ce = com::alibaba::otter::canal::protocol::entry;

namespace {

// splitmix64: tiny, fast, and the same sequence on every platform (unlike
// std::rand or the distributions of <random>, whose output is not specified).
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
    }
    // 0..n-1; the modulo bias is irrelevant for a workload.
    uint32_t below(uint32_t n) { return (uint32_t)(next() % n); }
    uint32_t between(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
    template <size_t N>
    const char *pick(const char *const (&a)[N]) { return a[below(N)]; }
};

// shop.orders as Canal describes it: java.sql.Types code and the MySQL column
// type text Canal copies from the table metadata.
struct ColDef {
    const char *name;
    int sql_type;
    const char *mysql_type;
    bool key;
};
constexpr int kNCols = 12;
const ColDef kCols[kNCols] = {
    {"id", -5, "bigint(20)", true},
    {"name", 12, "varchar(64)", false},
    {"title", 12, "varchar(255)", false},
    {"amount", 3, "decimal(12,2)", false},
    {"qty", 4, "int(11)", false},
    {"status", -6, "tinyint(4)", false},
    {"created", 93, "datetime", false},
    {"note", 2005, "text", false},
    {"img", 2004, "blob", false},
    {"attrs", 12, "json", false},
    {"sku", 12, "varchar(32)", false},
    {"email", 12, "varchar(128)", false},
};
enum { C_ID, C_NAME, C_TITLE, C_AMOUNT, C_QTY, C_STATUS, C_CREATED, C_NOTE, C_IMG, C_ATTRS, C_SKU, C_EMAIL };

// A row image: one value per column, nullopt = SQL NULL.
using Row = std::array<std::optional<std::string>, kNCols>;

const char *const kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                 "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"};
const char *const kGiven[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇",
                              "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平", "刚", "桂",
                              "英", "华", "玉", "兰", "晨", "宇", "欣", "怡"};
const char *const kTitleWords[] = {
    "新款", "夏季", "纯棉", "男士", "女士", "休闲", "运动", "短袖", "T恤", "连衣裙",
    "牛仔裤", "手机壳", "无线", "蓝牙", "耳机", "充电宝", "保温杯", "不锈钢", "家用", "厨房",
    "收纳盒", "加厚", "儿童", "书包", "笔记本", "电脑", "支架", "智能", "手表", "官方",
    "正品", "旗舰店", "包邮", "限时", "特价", "大容量", "防水", "2023", "Pro", "Max"};
const char *const kNotes[] = {"请尽快发货", "周末送货", "放在门卫处", "发票抬头为公司全称",
                              "需要礼品包装", "不要放辣", "谢谢", "电话联系后再送",
                              "工作日白天不在家", "快递请放丰巢柜", "颜色发错了请补发",
                              "已与客服沟通过", "Please deliver before 6pm", "老顾客了，多送点赠品"};
const char *const kColors[] = {"红色", "蓝色", "黑色", "白色", "灰色", "藏青"};
const char *const kSizes[] = {"S", "M", "L", "XL", "XXL", "均码"};
const char *const kMaterials[] = {"纯棉", "涤纶", "真丝", "羊毛", "不锈钢", "ABS塑料"};
const char *const kOrigins[] = {"浙江杭州", "广东深圳", "上海", "江苏苏州", "福建泉州"};
const char *const kTags[] = {"新品", "包邮", "热卖", "限量", "清仓", "预售"};
const char *const kDomains[] = {"qq.com", "163.com", "gmail.com", "example.com", "aliyun.com"};

constexpr int64_t kStartSec = 1700000000;  // 2023-11-14 22:13:20 UTC
constexpr int kEntriesPerBatch = 1000;
constexpr int64_t kTableId = 108;

class Generator {
  public:
    Generator(FILE *out, uint64_t seed) : out_(out), rng_{seed} {}

    // One transaction of up to `budget` row changes; returns how many it made.
    uint64_t transaction(uint64_t budget) {
        if (rng_.below(4) == 0) now_sec_++;  // several transactions per binlog second
        ce::TransactionBegin tb;
        tb.set_threadid(rng_.between(1000, 1063));
        add_entry(ce::TRANSACTIONBEGIN, nullptr, ce::EVENTTYPECOMPATIBLEPROTO2, 0, tb.SerializeAsString(), kBeginLen);

        uint64_t made = 0;
        for (uint32_t n = rng_.between(1, 5); n > 0 && made < budget; n--) {
            uint32_t dice = rng_.below(10);
            ce::EventType t = dice < 6 ? ce::INSERT : dice < 9 ? ce::UPDATE : ce::DELETE;
            uint64_t rows = rng_.between(1, 10);
            if (rows > budget - made) rows = budget - made;
            statement(t, (int)rows);
            made += rows;
        }

        ce::TransactionEnd te;
        te.set_transactionid(std::to_string(xid_++));
        add_entry(ce::TRANSACTIONEND, nullptr, ce::EVENTTYPECOMPATIBLEPROTO2, 0, te.SerializeAsString(), kXidLen);
        return made;
    }

    // Write the last, partial batch and report.
    void finish() {
        if (batch_.messages_size() > 0) flush();
        std::printf("gen: batches=%" PRIu64 " entries=%" PRIu64 " rows=%" PRIu64 " bytes=%" PRIu64 "\n",
                    batches_, entries_, rows_, bytes_);
    }

  private:
    // Binlog event sizes used for eventLength and to advance logfileOffset:
    // a BEGIN query event and an XID event are about this long; each rows
    // event is preceded by a TABLE_MAP event whose bytes the offset skips.
    static constexpr int64_t kBeginLen = 75, kXidLen = 31, kTableMapLen = 60;

    void statement(ce::EventType t, int nrows) {
        ce::RowChange rc;
        rc.set_tableid(kTableId);
        rc.set_eventtype(t);
        rc.set_isddl(false);  // the parser sets it explicitly: present on the wire
        int64_t event_len = 19 + 10;  // event header + rows-event post-header, roughly
        for (int i = 0; i < nrows; i++) {
            ce::RowData *rd = rc.add_rowdatas();
            if (t == ce::INSERT) {
                Row after = random_row(next_id_++);
                add_columns(rd->mutable_aftercolumns(), after, true, nullptr);
                event_len += row_len(after);
            } else {
                // an id inserted earlier (ids start at 1)
                Row before = random_row(1 + rng_.below((uint32_t)(next_id_ > 1 ? next_id_ - 1 : 1)));
                add_columns(rd->mutable_beforecolumns(), before, false, nullptr);
                event_len += row_len(before);
                if (t == ce::UPDATE) {
                    Row after = before;
                    // 1-3 non-key columns get a different value (MySQL logs
                    // no row whose values did not change).
                    for (uint32_t k = rng_.between(1, 3); k > 0; k--) {
                        int col = 1 + (int)rng_.below(kNCols - 1);
                        do {
                            after[col] = random_value(col, 0);
                        } while (after[col] == before[col]);
                    }
                    add_columns(rd->mutable_aftercolumns(), after, true, &before);
                    event_len += row_len(after);
                }
            }
        }
        offset_ += kTableMapLen;
        add_entry(ce::ROWDATA, "shop", t, nrows, rc.SerializeAsString(), event_len);
        rows_ += (uint64_t)nrows;
    }

    // Columns as LogEventConvert.parseOneRow fills them: index, sqlType,
    // name, isKey, isNull always (false is on the wire: it is a oneof),
    // value only when not NULL, mysqlType; length is never set. updated:
    // every after column of an INSERT; an UPDATE after column whose value
    // differs from the before column of the same index (NULL equals NULL);
    // never on before images.
    void add_columns(google::protobuf::RepeatedPtrField<ce::Column> *cols, const Row &row, bool is_after,
                     const Row *before) {
        for (int i = 0; i < kNCols; i++) {
            ce::Column *c = cols->Add();
            c->set_index(i);
            c->set_sqltype(kCols[i].sql_type);
            c->set_name(kCols[i].name);
            c->set_iskey(kCols[i].key);
            // std::optional's == says NULL equals NULL, as Canal's rule does
            c->set_updated(is_after && (before == nullptr || (*before)[i] != row[i]));
            c->set_isnull(!row[i].has_value());
            if (row[i]) c->set_value(*row[i]);
            c->set_mysqltype(kCols[i].mysql_type);
        }
    }

    static int64_t row_len(const Row &row) {
        int64_t n = 2;  // null bitmap
        for (const auto &v : row)
            if (v) n += (int64_t)v->size() + 1;
        return n;
    }

    Row random_row(int64_t id) {
        Row r;
        r[C_ID] = std::to_string(id);
        for (int i = 1; i < kNCols; i++) r[i] = random_value(i, id);
        return r;
    }

    std::optional<std::string> random_value(int col, int64_t id) {
        char buf[64];
        std::string s;
        switch (col) {
        case C_NAME:
            s = rng_.pick(kSurnames);
            for (uint32_t n = rng_.between(1, 2); n > 0; n--) s += rng_.pick(kGiven);
            return s;
        case C_TITLE:
            for (uint32_t n = rng_.between(3, 8); n > 0; n--) s += rng_.pick(kTitleWords);
            return s;
        case C_AMOUNT:
            std::snprintf(buf, sizeof buf, "%u.%02u", rng_.below(100000), rng_.below(100));
            return std::string(buf);
        case C_QTY:
            return std::to_string(rng_.between(1, 999));
        case C_STATUS:
            return std::to_string(rng_.below(6));
        case C_CREATED: {
            time_t t = (time_t)(now_sec_ - rng_.below(30 * 86400));
            struct tm tm;
            gmtime_r(&t, &tm);
            std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
            return std::string(buf);
        }
        case C_NOTE:
            if (rng_.below(3) == 0) return std::nullopt;
            for (uint32_t n = rng_.between(1, 4); n > 0; n--) {
                if (!s.empty()) s += "，";
                s += rng_.pick(kNotes);
            }
            return s;
        case C_IMG:
            // Binary bytes as Canal renders them (PROTOCOL.md §8.7): each byte
            // is the code point U+00XX, UTF-8 encoded; NULs stay in the value.
            for (uint32_t n = rng_.below(65); n > 0; n--) {
                unsigned b = rng_.below(256);
                if (b < 0x80) {
                    s += (char)b;
                } else {
                    s += (char)(0xC0 | (b >> 6));
                    s += (char)(0x80 | (b & 0x3F));
                }
            }
            return s;
        case C_ATTRS: {
            // MySQL's JSON text form (", " and ": "), which Canal reproduces.
            s = std::string("{\"颜色\": \"") + rng_.pick(kColors) + "\", \"尺寸\": \"" + rng_.pick(kSizes) +
                "\", \"材质\": \"" + rng_.pick(kMaterials) + "\", \"产地\": \"" + rng_.pick(kOrigins) +
                "\", \"标签\": [";
            for (uint32_t n = rng_.below(4), k = 0; k < n; k++) s += std::string(k ? ", \"" : "\"") + rng_.pick(kTags) + "\"";
            std::snprintf(buf, sizeof buf, "], \"重量\": %u.%02u}", rng_.below(20), rng_.below(100));
            return s + buf;
        }
        case C_SKU:
            std::snprintf(buf, sizeof buf, "SKU-%c%c%c-%06u", 'A' + rng_.below(26), 'A' + rng_.below(26),
                          'A' + rng_.below(26), rng_.below(1000000));
            return std::string(buf);
        case C_EMAIL:
            for (uint32_t n = rng_.between(5, 10); n > 0; n--) s += (char)('a' + rng_.below(26));
            s += std::to_string(id > 0 ? id % 1000 : rng_.below(1000));
            return s + "@" + rng_.pick(kDomains);
        }
        std::abort();  // a column without a generator is a bug in this file
    }

    // One entry with the header LogEventConvert.createHeader writes. BEGIN
    // and END entries carry no schema, table or event type (Canal passes "",
    // "" and null there); DML entries add the rowsCount pair.
    void add_entry(ce::EntryType type, const char *schema, ce::EventType event, int rows,
                   std::string store_value, int64_t event_len) {
        ce::Entry e;
        ce::Header *h = e.mutable_header();
        h->set_version(1);
        h->set_logfilename("mysql-bin.000123");
        h->set_logfileoffset(offset_);
        h->set_serverid(1);
        h->set_serverencode("UTF-8");
        h->set_executetime(now_sec_ * 1000);  // binlog time has whole seconds
        h->set_sourcetype(ce::MYSQL);
        h->set_eventlength(event_len);
        if (schema) {
            h->set_schemaname(schema);
            h->set_tablename("orders");
            h->set_eventtype(event);
            ce::Pair *p = h->add_props();
            p->set_key("rowsCount");
            p->set_value(std::to_string(rows));
        }
        e.set_entrytype(type);
        e.set_storevalue(std::move(store_value));
        offset_ += event_len;
        e.SerializeToString(batch_.add_messages());
        entries_++;
        if (batch_.messages_size() == kEntriesPerBatch) flush();
    }

    // One GET reply frame: the raw-store Packet (type and body, no version).
    void flush() {
        batch_.set_batch_id(++batch_id_);
        cp::Packet p;
        p.set_type(cp::MESSAGES);
        batch_.SerializeToString(p.mutable_body());
        std::string wire = p.SerializeAsString();
        uint32_t n = (uint32_t)wire.size();
        unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                                (unsigned char)n};
        if (std::fwrite(len, 1, 4, out_) != 4 || std::fwrite(wire.data(), 1, n, out_) != n) {
            std::fprintf(stderr, "gen: write: %s\n", std::strerror(errno));
            std::exit(1);
        }
        bytes_ += 4 + (uint64_t)n;
        batches_++;
        batch_.Clear();
    }

    FILE *out_;
    Rng rng_;
    cp::Messages batch_;
    int64_t batch_id_ = 0;  // the server's counter starts at 1
    int64_t next_id_ = 1;   // next orders.id to insert
    int64_t now_sec_ = kStartSec;
    int64_t offset_ = 4;    // after the binlog magic
    uint64_t xid_ = 20000000;
    uint64_t batches_ = 0, entries_ = 0, rows_ = 0, bytes_ = 0;
};

void usage() {
    std::fprintf(stderr, "usage: gen [--rows N] [--out FILE] [--seed S]\n");
    std::exit(2);
}

uint64_t parse_u64(const char *s) {
    char *end;
    errno = 0;
    unsigned long long v = std::strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') usage();
    return v;
}

}  // namespace

int main(int argc, char **argv) {
    GOOGLE_PROTOBUF_VERIFY_VERSION;
    uint64_t rows = 500000, seed = 0x63616e616c2d63;  // "canal-c"
    const char *path = nullptr;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !std::strcmp(argv[i], "--rows")) rows = parse_u64(argv[++i]);
        else if (i + 1 < argc && !std::strcmp(argv[i], "--seed")) seed = parse_u64(argv[++i]);
        else if (i + 1 < argc && !std::strcmp(argv[i], "--out")) path = argv[++i];
        else usage();
    }
    if (!path || rows == 0) usage();
    FILE *out = std::fopen(path, "wb");
    if (!out) {
        std::fprintf(stderr, "gen: %s: %s\n", path, std::strerror(errno));
        return 1;
    }
    Generator g(out, seed);
    for (uint64_t done = 0; done < rows;) done += g.transaction(rows - done);
    g.finish();
    if (std::fclose(out) != 0) {
        std::fprintf(stderr, "gen: %s: %s\n", path, std::strerror(errno));
        return 1;
    }
    return 0;
}
