// bench/ref_cpp.cc - the reference for bench/decode.c: the same decoding work
// done with Google's C++ protobuf, the fastest mainstream protobuf runtime.
//
//   ref_cpp [--headers-only] [--passes N] STREAM
//
// STREAM is bench/gen's output (framed GET replies). Per frame: parse the
// Packet, its Messages body, every Entry, and the RowChange of every ROWDATA
// entry, all on one Arena per batch (the way protobuf's docs recommend for
// throughput: no per-message malloc/free). --headers-only stops at the Entry,
// as the Java client does by default. The checksum (bench.h) must equal
// decode.c's for the same mode and stream.
#include <cinttypes>
#include <cstring>
#include <string>
#include <vector>

#include <google/protobuf/arena.h>

#include "bench.h"
#include "CanalProtocol.pb.h"
#include "EntryProtocol.pb.h"  // the bench copy, package ...protocol.entry (see bench.mk)

namespace cp = com::alibaba::otter::canal::protocol;
namespace ce = com::alibaba::otter::canal::protocol::entry;
using google::protobuf::Arena;

namespace {

[[noreturn]] void fail(const char *what, size_t frame) {
    std::fprintf(stderr, "ref_cpp: frame %zu: cannot parse %s\n", frame, what);
    std::exit(1);
}

uint64_t columns(uint64_t h, const google::protobuf::RepeatedPtrField<ce::Column> &cols) {
    for (const ce::Column &c : cols)
        h = bench_column(h, c.name().data(), c.name().size(), c.value().data(), c.value().size(), c.isnull());
    return h;
}

// One pass over the stream; returns the checksum, adds the row count to *rows.
uint64_t decode_pass(const uint8_t *buf, size_t len, bool headers_only, uint64_t *rows) {
    uint64_t h = BENCH_SEED;
    size_t pos = 0, frame = 0, n;
    const uint8_t *body;
    while (bench_next_frame(buf, len, &pos, &body, &n)) {
        Arena arena;  // everything of this batch; freed in one go at the end of the loop
        auto *packet = Arena::CreateMessage<cp::Packet>(&arena);
        if (!packet->ParseFromArray(body, (int)n) || packet->type() != cp::MESSAGES) fail("Packet", frame);
        auto *msgs = Arena::CreateMessage<cp::Messages>(&arena);
        if (!msgs->ParseFromString(packet->body())) fail("Messages", frame);
        h = bench_mix(h, (uint64_t)msgs->batch_id());
        for (const std::string &raw : msgs->messages()) {
            auto *e = Arena::CreateMessage<ce::Entry>(&arena);
            if (!e->ParseFromString(raw)) fail("Entry", frame);
            const ce::Header &hd = e->header();
            h = bench_entry(h, e->entrytype(), raw.data(), raw.size(), hd.logfileoffset(), hd.schemaname().size(),
                            hd.tablename().size(), hd.eventtype());
            if (headers_only) {
                for (const ce::Pair &p : hd.props())
                    *rows += bench_rows_count(p.key().data(), p.key().size(), p.value().c_str());
                continue;
            }
            if (e->entrytype() != ce::ROWDATA) continue;
            auto *rc = Arena::CreateMessage<ce::RowChange>(&arena);
            if (!rc->ParseFromString(e->storevalue())) fail("RowChange", frame);
            h = bench_mix(h, (uint64_t)(uint32_t)rc->eventtype());
            h = bench_mix(h, (uint64_t)rc->rowdatas_size());
            for (const ce::RowData &rd : rc->rowdatas()) {
                h = columns(h, rd.beforecolumns());
                h = columns(h, rd.aftercolumns());
            }
            *rows += (uint64_t)rc->rowdatas_size();
        }
        frame++;
    }
    return h;
}

void usage() {
    std::fprintf(stderr, "usage: ref_cpp [--headers-only] [--passes N] STREAM\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
    GOOGLE_PROTOBUF_VERIFY_VERSION;
    bool headers_only = false;
    int passes = BENCH_PASSES;
    const char *path = nullptr;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--headers-only")) headers_only = true;
        else if (i + 1 < argc && !std::strcmp(argv[i], "--passes")) passes = std::atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else usage();
    }
    if (!path || passes < 1) usage();

    size_t len;
    uint8_t *buf = bench_read_file(path, &len);
    uint64_t rows = 0;
    uint64_t sum = decode_pass(buf, len, headers_only, &rows);  // warm-up: caches, allocator, page faults
    std::vector<double> secs((size_t)passes);
    for (int p = 0; p < passes; p++) {
        uint64_t r = 0;
        double t0 = bench_now();
        uint64_t s = decode_pass(buf, len, headers_only, &r);
        secs[(size_t)p] = bench_now() - t0;
        if (s != sum || r != rows) {
            std::fprintf(stderr, "ref_cpp: pass %d gave a different result\n", p);
            return 1;
        }
    }
    bench_report(headers_only ? "ref_cpp headers-only" : "ref_cpp", rows, secs.data(), passes, len, sum);
    std::free(buf);
    return 0;
}
