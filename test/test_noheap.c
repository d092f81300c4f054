/* test_noheap.c - no-heap mode: a whole session inside one caller buffer
 * while malloc, calloc, realloc and free are poisoned (counted and failed).
 *
 * This program replaces the C library's allocator for itself, so it is built
 * without sanitizers and not run under valgrind (both bring their own). */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>

#include "../canal.h"
#include "../canal_flat.h"
#include "peer.h"
#include "tinytest.h"

/* glibc's own entry points, so the replacements can still serve the test
 * harness while not poisoned. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static int poisoned;
static long poisoned_calls;

void *malloc(size_t n) {
    if (poisoned) {
        poisoned_calls++;
        return NULL;
    }
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (poisoned) {
        poisoned_calls++;
        return NULL;
    }
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (poisoned) {
        poisoned_calls++;
        return NULL;
    }
    return __libc_realloc(p, n);
}
void free(void *p) {
    if (poisoned && p) poisoned_calls++;
    __libc_free(p);
}

#define HS "00000010 1001 1801 2a0a 1208 0102030405060708"
#define ACK_OK "00000004 1001 1803"
#define EMPTY_GET "00000011 1001 1807 2a0b 08ffffffffffffffffff01"

static const char *fixture_dir = "build/fixtures";
static unsigned char heap[256 * 1024];

/* handshake, auth Ack, sub Ack, the fixture batch, an empty batch */
static size_t session_script(uint8_t *out, size_t cap) {
    uint8_t pk[2048];
    size_t n = unhex(HS ACK_OK ACK_OK, out, cap);
    size_t pn = read_fixture_file(fixture_dir, "packet_raw.bin", pk, sizeof pk);
    if (pn == 0) return 0;
    out[n++] = (uint8_t)(pn >> 24), out[n++] = (uint8_t)(pn >> 16);
    out[n++] = (uint8_t)(pn >> 8), out[n++] = (uint8_t)pn;
    memcpy(out + n, pk, pn);
    n += pn;
    n += unhex(EMPTY_GET, out + n, cap - n);
    return n;
}

static void test_session_without_malloc(void) {
    uint8_t script[4096];
    size_t n = session_script(script, sizeof script);
    REQUIRE(n > 100);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP); /* fork before poisoning */
    canal_options o;
    canal_options_init(&o);
    o.username = "canal";
    o.password = "canal";
    o.read_timeout_ms = 5000;
    o.heap = heap;
    o.heap_size = sizeof heap;
    poisoned = 1;
    poisoned_calls = 0;
    canal_client *c = canal_client_new(&o);
    int ok = c != NULL;
    const canal_message *m = NULL;
    int rc_connect = -100, rc_sub = -100, rc_get = -100, rc_rows = 0, rc_ack = -100, rc_get2 = -100;
    size_t rows = 0, cols = 0;
    int64_t batch = 0, batch2 = 0;
    if (ok) {
        rc_connect = canal_connect_fd(c, p.fd);
        rc_sub = canal_subscribe(c, "shop\\..*");
        rc_get = canal_get(c, 100, 0, &m);
        if (rc_get == CANAL_OK) {
            batch = m->batch_id;
            for (size_t i = 0; i < m->n_entries; i++) {
                canal_rowchange rc;
                if (m->entries[i].entry_type != CANAL_ROWDATA) continue;
                if (canal_entry_rowchange(c, &m->entries[i], &rc) != CANAL_OK) rc_rows = -1;
                rows += rc.n_rows;
                for (size_t r = 0; r < rc.n_rows; r++) cols += rc.rows[r].n_before + rc.rows[r].n_after;
            }
            rc_ack = canal_ack(c, batch);
        }
        if (canal_get(c, 100, 0, &m) == CANAL_OK) batch2 = m->batch_id, rc_get2 = 0;
        canal_client_free(c);
    } else {
        close(p.fd); /* nobody took it: let the peer see EOF */
    }
    poisoned = 0;
    peer_finish(&p, script, sizeof script);
    CHECK(ok);
    CHECK(poisoned_calls == 0);
    CHECK(rc_connect == CANAL_OK && rc_sub == CANAL_OK && rc_get == CANAL_OK);
    CHECK(batch == 7 && rc_rows == 0 && rows == 3 && cols == 13);
    CHECK(rc_ack == CANAL_OK && rc_get2 == 0 && batch2 == -1);
}

/* A session of four batches (7..10) and empty ones, read with `depth` GETs
 * in flight inside a heap of heap_size bytes, malloc poisoned. Returns the
 * number of batches seen in order and acked, or -1 on any failure; *gets
 * is the number of GETs the client sent before its second ack. */
static int pipelined_session(int depth, size_t heap_size, int *gets) {
    static uint8_t script[16384], sent[16384];
    uint8_t pk[2048];
    size_t n = unhex(HS ACK_OK ACK_OK, script, sizeof script);
    size_t pn = read_fixture_file(fixture_dir, "packet_raw.bin", pk, sizeof pk);
    if (pn == 0) return -1;
    for (uint8_t id = 7; id <= 10; id++) {
        if (!peer_set_batch(pk, pn, id)) return -1;
        script[n++] = (uint8_t)(pn >> 24), script[n++] = (uint8_t)(pn >> 16);
        script[n++] = (uint8_t)(pn >> 8), script[n++] = (uint8_t)pn;
        memcpy(script + n, pk, pn);
        n += pn;
    }
    for (int k = 0; k < 8; k++) n += unhex(EMPTY_GET, script + n, sizeof script - n);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = 5000;
    o.heap = heap;
    o.heap_size = heap_size;
    o.get_pipeline = depth;
    poisoned = 1;
    poisoned_calls = 0;
    canal_client *c = canal_client_new(&o);
    int seen = 0, failed = c == NULL;
    if (c && canal_connect_fd(c, p.fd) == CANAL_OK && canal_subscribe(c, "") == CANAL_OK) {
        const canal_message *m;
        while (!failed && canal_get(c, 100, -1, &m) == CANAL_OK && m->batch_id != -1) {
            canal_rowchange rc;
            failed = m->batch_id != 7 + seen;
            for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i].entry_type == CANAL_ROWDATA &&
                    canal_entry_rowchange(c, &m->entries[i], &rc) != CANAL_OK)
                    failed = 1;
            if (canal_ack(c, m->batch_id) != CANAL_OK) failed = 1;
            seen++;
        }
        if (canal_errcode(c) != CANAL_OK) failed = 1;
    } else {
        failed = 1;
    }
    if (c) canal_client_free(c);
    else close(p.fd);
    poisoned = 0;
    failed |= poisoned_calls != 0;
    size_t sn = peer_finish(&p, sent, sizeof sent);
    /* count the GET packets (type 6) before the second CLIENTACK (type 8) */
    int acks = 0;
    *gets = 0;
    for (size_t off = 0; off + 4 <= sn && acks < 2;) {
        size_t len = (size_t)sent[off] << 24 | (size_t)sent[off + 1] << 16 |
                     (size_t)sent[off + 2] << 8 | sent[off + 3];
        const uint8_t *b = sent + off + 4;
        size_t t = len >= 2 && b[0] == 0x10 ? 2 : 0; /* skip a version field */
        if (t + 2 <= len && b[t] == 0x18) {
            if (b[t + 1] == 6) (*gets)++;
            if (b[t + 1] == 8) acks++;
        }
        off += 4 + len;
    }
    return failed ? -1 : seen;
}

/* GETs in flight wait in the socket, not in the client: the smallest heap
 * that reads the session one GET at a time reads it with four in flight. */
static void test_pipelined_no_extra_heap(void) {
    int gets1 = 0, gets4 = 0;
    size_t lo = CANAL_MIN_HEAP, hi = sizeof heap; /* hi works; find the least that does */
    REQUIRE(pipelined_session(1, hi, &gets1) == 4);
    while (hi - lo > 256) {
        size_t mid = lo + (hi - lo) / 2;
        if (pipelined_session(1, mid, &gets1) == 4) hi = mid;
        else lo = mid;
    }
    size_t size = hi;
    CHECK(size < sizeof heap / 2); /* the search did find a bound */
    CHECK(pipelined_session(1, size, &gets1) == 4);
    CHECK(pipelined_session(4, size, &gets4) == 4);
    CHECK(gets1 == 2 && gets4 == 5); /* G1 A1 G2 A2 / G1 A1 G2 G3 G4 G5 A2 */
    printf("  smallest heap for the session, 1 or 4 GETs in flight: %zu bytes\n", size);
}

static void test_frame_larger_than_heap(void) {
    static unsigned char small[CANAL_MIN_HEAP];
    uint8_t script[64];
    size_t n = unhex(HS ACK_OK "00100000", script, sizeof script); /* a 1 MiB frame announced */
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.heap = small;
    o.heap_size = sizeof small;
    o.read_timeout_ms = 2000;
    poisoned = 1;
    poisoned_calls = 0;
    canal_client *c = canal_client_new(&o);
    const canal_message *m = NULL;
    int rc_connect = c ? canal_connect_fd(c, p.fd) : (close(p.fd), -100);
    int rc_get = c ? canal_get(c, 1, -1, &m) : -100;
    char err[256] = "";
    if (c) snprintf(err, sizeof err, "%s", canal_errstr(c));
    int connected = c ? canal_is_connected(c) : 1;
    canal_client_free(c);
    poisoned = 0;
    peer_finish(&p, script, sizeof script);
    CHECK(c != NULL && poisoned_calls == 0);
    CHECK(rc_connect == CANAL_OK);
    CHECK(rc_get == CANAL_ETOOBIG);
    CHECK_CONTAINS(err, "does not fit the client's heap buffer");
    CHECK(!connected);
}

static void test_heap_too_small(void) {
    static unsigned char tiny[1024];
    canal_options o;
    canal_options_init(&o);
    o.heap = tiny;
    o.heap_size = sizeof tiny;
    CHECK(canal_client_new(&o) == NULL);
}

/* Run the fixture session in a heap of `size` bytes, then GET replies
 * whose entries carry `n_sizes` storeValues of the sizes given (each
 * acked); true when every call succeeds and nothing touched malloc. */
static bool session_in_heap(unsigned char *buf, size_t size, const size_t *sizes, int n_sizes) {
    static uint8_t script[256 * 1024];
    size_t n = session_script(script, sizeof script);
    if (n <= 100) return false;
    for (int i = 0; i < n_sizes; i++) {
        size_t k = pw_messages_frame(script + n, 100 + i, sizes[i]);
        if (k == 0 || n + k > sizeof script) return false;
        n += k;
    }
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = 5000;
    o.rollback_on_connect = false;
    o.heap = buf;
    o.heap_size = size;
    poisoned = 1;
    poisoned_calls = 0;
    canal_client *c = canal_client_new(&o);
    bool ok = c != NULL;
    const canal_message *m = NULL;
    char err[256] = "";
    if (ok) {
        ok = canal_connect_fd(c, p.fd) == CANAL_OK && canal_subscribe(c, "") == CANAL_OK &&
             canal_get(c, 100, 0, &m) == CANAL_OK && m->batch_id == 7;
        for (size_t i = 0; ok && i < m->n_entries; i++) {
            canal_rowchange rc;
            if (m->entries[i].entry_type == CANAL_ROWDATA)
                ok = canal_entry_rowchange(c, &m->entries[i], &rc) == CANAL_OK;
        }
        ok = ok && canal_ack(c, 7) == CANAL_OK && canal_get(c, 100, 0, &m) == CANAL_OK &&
             m->batch_id == -1;
        for (int i = 0; ok && i < n_sizes; i++)
            ok = canal_get(c, 100, 0, &m) == CANAL_OK && m->batch_id == 100 + i &&
                 m->n_entries == 1 && m->entries[0].store_value.len == sizes[i] &&
                 m->entries[0].store_value.ptr[sizes[i] - 1] == (uint8_t)((sizes[i] - 1) % 251) &&
                 canal_ack(c, 100 + i) == CANAL_OK;
        if (!ok) snprintf(err, sizeof err, "%s", canal_errstr(c));
        canal_client_free(c);
    } else {
        close(p.fd);
    }
    poisoned = 0;
    peer_finish(&p, script, sizeof script);
    if (!ok) fprintf(stderr, "  heap of %zu bytes: %s\n", size, err);
    return ok && poisoned_calls == 0;
}

/* A GET reply of batch `id` with k entries, each with a header
 * (schemaName "shop") and entryType TRANSACTIONBEGIN. */
static size_t entries_frame(uint8_t *o, int64_t id, int k) {
    static uint8_t msgs[64 * 1024], pk[64 * 1024];
    uint8_t hdr[16], ent[32];
    size_t hn = pw_str(hdr, 8, "shop");
    size_t en = pw_bytes(ent, 1, hdr, hn);
    en += pw_int(ent + en, 2, CANAL_TRANSACTIONBEGIN);
    size_t mn = pw_int(msgs, 1, id);
    for (int i = 0; i < k && mn + en + 2 < sizeof msgs; i++) mn += pw_bytes(msgs + mn, 2, ent, en);
    size_t pn = pw_int(pk, 3, 7);
    pn += pw_bytes(pk + pn, 5, msgs, mn);
    return pw_frame(o, pk, pn);
}

/* Batches of 1, 2, ... k entries in a heap of `size`: every vector and
 * arena regrows (to exactly what it needs here) and moves past the blocks
 * allocated after it, batch after batch. */
static bool more_entries_each_batch(unsigned char *buf, size_t size, int k) {
    static uint8_t script[512 * 1024];
    size_t n = unhex(HS ACK_OK, script, sizeof script);
    for (int i = 1; i <= k; i++) n += entries_frame(script + n, i, i);
    peer p = peer_start(script, n, 0, 0, PEER_KEEP);
    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = 5000;
    o.rollback_on_connect = false;
    o.heap = buf;
    o.heap_size = size;
    poisoned = 1;
    poisoned_calls = 0;
    canal_client *c = canal_client_new(&o);
    bool ok = c != NULL;
    int i = 1;
    char err[256] = "";
    if (ok) {
        ok = canal_connect_fd(c, p.fd) == CANAL_OK;
        for (; ok && i <= k; i++) {
            const canal_message *m;
            ok = canal_get(c, 1000, 0, &m) == CANAL_OK && m->batch_id == i &&
                 m->n_entries == (size_t)i && m->entries[i - 1].header.schema_name.len == 4 &&
                 memcmp(m->entries[i - 1].header.schema_name.ptr, "shop", 4) == 0 &&
                 canal_ack(c, i) == CANAL_OK;
        }
        if (!ok) snprintf(err, sizeof err, "%s", canal_errstr(c));
        canal_client_free(c);
    } else {
        close(p.fd);
    }
    poisoned = 0;
    peer_finish(&p, script, sizeof script);
    if (!ok) fprintf(stderr, "  batch of %d entries in a heap of %zu bytes: %s\n", i - 1, size, err);
    return ok && poisoned_calls == 0;
}

/* The smallest heap the API accepts runs a whole session, with a reply
 * of a few KiB besides (the client starts with a 1 KiB receive buffer
 * there and grows it to what frames need, never with headroom). */
static void test_smallest_heap(void) {
    static unsigned char small[CANAL_MIN_HEAP];
    const size_t sizes[] = {20000}; /* 26 KiB fit today */
    CHECK(session_in_heap(small, sizeof small, sizes, 1));
}

/* Replies that grow, each of which fits the heap alone: the buffers they
 * leave behind are given back, so the last one fits too (up to about 51
 * KiB in 64 KiB today); and batches with one entry more each time, whose
 * vectors move on every growth (113 batches fit in the smallest heap). */
static void test_growing_replies(void) {
    static unsigned char h[64 * 1024];
    const size_t sizes[] = {1000, 2000, 4000, 8000, 12000, 18000, 26000, 36000};
    CHECK(session_in_heap(h, sizeof h, sizes, (int)(sizeof sizes / sizeof sizes[0])));
    CHECK(more_entries_each_batch(h, CANAL_MIN_HEAP, 60));
}

/* canal_flat once warm: writing the same entries again, by callback and into
 * a buffer, allocates nothing (malloc poisoned) and gives the same lines. */
static char flat_out[2][8192];
static size_t flat_len[2];

static int flat_collect(void *ud, const char *p, size_t n) {
    int *k = ud;
    if (n > sizeof flat_out[0] - flat_len[*k]) return -1;
    memcpy(flat_out[*k] + flat_len[*k], p, n);
    flat_len[*k] += n;
    return 0;
}

static void test_flat_warm_without_malloc(void) {
    uint8_t pk[2048];
    static char rendered[8192];
    size_t pn = read_fixture_file(fixture_dir, "packet_raw.bin", pk, sizeof pk), rlen = 0, total = 0;
    canal_options o;
    canal_options_init(&o);
    o.heap = heap;
    o.heap_size = sizeof heap;
    canal_client *c = canal_client_new(&o);
    canal_flat *f = canal_flat_new();
    const canal_message *m = NULL;
    int lines = 0, bad = 0;
    REQUIRE(pn > 0 && c && f);
    REQUIRE(canal_message_parse(c, pk, pn, true, &m) == CANAL_OK);
    for (int pass = 0; pass < 2; pass++) {
        flat_len[pass] = 0;
        if (pass == 1) { /* the second time round, nothing may allocate */
            poisoned = 1;
            poisoned_calls = 0;
        }
        for (size_t i = 0; i < m->n_entries; i++) {
            canal_rowchange rc;
            size_t len = 0;
            if (!canal_flat_wants(&m->entries[i])) continue;
            if (canal_entry_rowchange(c, &m->entries[i], &rc) != CANAL_OK ||
                canal_flat_write(f, m->batch_id, 1, &m->entries[i], &rc, flat_collect, &pass) != CANAL_OK ||
                canal_flat_render(f, m->batch_id, 1, &m->entries[i], &rc, rendered + rlen,
                                  sizeof rendered - rlen, &len) != CANAL_OK)
                bad++;
            rlen += len;
            lines += pass;
        }
        if (pass == 0) total = rlen;
    }
    poisoned = 0;
    canal_flat_free(f);
    canal_client_free(c);
    CHECK(bad == 0 && lines == 3); /* the fixture batch: 3 ROWDATA entries */
    CHECK(poisoned_calls == 0);
    CHECK(flat_len[0] > 100 && flat_len[0] == flat_len[1]);
    CHECK(memcmp(flat_out[0], flat_out[1], flat_len[0]) == 0);
    CHECK(total == flat_len[0] && rlen == 2 * total && memcmp(rendered, flat_out[0], total) == 0);
}

int main(int argc, char **argv) {
    if (argc > 1) fixture_dir = argv[1];
    RUN(test_session_without_malloc);
    RUN(test_pipelined_no_extra_heap);
    RUN(test_frame_larger_than_heap);
    RUN(test_heap_too_small);
    RUN(test_smallest_heap);
    RUN(test_growing_replies);
    RUN(test_flat_warm_without_malloc);
    return TT_REPORT("noheap");
}
