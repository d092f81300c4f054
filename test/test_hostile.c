/* test_hostile.c - a hostile or broken server, and caller mistakes, through
 * the public API only (issue 10). Every input is built here byte by byte
 * and served by a scripted peer (peer.h) or handed to the parse calls:
 *
 *   - memory: a 2 MB batch of a million empty entries, a RowChange of a
 *     million empty columns, a frame header announcing 200 MB that never
 *     comes; the allocation hooks measure the client's peak heap and its
 *     largest single request; memory given back after a freak batch;
 *   - time: decoding counts against the call's deadline (a slow allocator
 *     pushes the decode of a batch that arrived in time past it);
 *   - caller mistakes: a copy of an entry from an earlier batch with the
 *     same layout; bytes the client owns passed back into it;
 *   - the server's error text with terminal escapes, newlines, NUL and
 *     invalid UTF-8, and a very long one, in canal_errstr.
 *
 * The codec's handling of unexpected fields is test/test_codec_diff.py's. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "../canal.h"
#include "peer.h"
#include "tinytest.h"

/* ------------------------------------------------------------ protobuf by hand */

typedef struct pbw {
    uint8_t *p;
    size_t n, cap;
} pbw;

static void w_bytes(pbw *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n) cap *= 2;
        w->p = realloc(w->p, cap);
        if (!w->p) abort();
        w->cap = cap;
    }
    if (n) memcpy(w->p + w->n, p, n);
    w->n += n;
}

static void w_varint(pbw *w, uint64_t v) {
    uint8_t b[10];
    size_t k = 0;
    do {
        b[k] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[k] |= 0x80;
        k++;
    } while (v);
    w_bytes(w, b, k);
}

static void w_tag(pbw *w, unsigned f, unsigned wt) { w_varint(w, (uint64_t)f << 3 | wt); }
static void w_vi(pbw *w, unsigned f, uint64_t v) {
    w_tag(w, f, 0);
    w_varint(w, v);
}
static void w_ld(pbw *w, unsigned f, const void *p, size_t n) {
    w_tag(w, f, 2);
    w_varint(w, n);
    w_bytes(w, p, n);
}
static void w_str(pbw *w, unsigned f, const char *s) { w_ld(w, f, s, strlen(s)); }
static void w_sub(pbw *w, unsigned f, const pbw *inner) { w_ld(w, f, inner->p, inner->n); }
static void w_free(pbw *w) {
    free(w->p);
    memset(w, 0, sizeof *w);
}

/* A frame: 4-byte length, Packet{version 1, type, body}. */
static void w_frame(pbw *out, int type, const pbw *body) {
    pbw pkt = {0};
    w_vi(&pkt, 2, 1);
    w_vi(&pkt, 3, (uint64_t)type);
    if (body && body->n) w_sub(&pkt, 5, body);
    uint8_t len[4] = {(uint8_t)(pkt.n >> 24), (uint8_t)(pkt.n >> 16), (uint8_t)(pkt.n >> 8), (uint8_t)pkt.n};
    w_bytes(out, len, 4);
    w_bytes(out, pkt.p, pkt.n);
    w_free(&pkt);
}

enum { T_HANDSHAKE = 1, T_ACK = 3, T_MESSAGES = 7 };

/* Handshake and the Ack of the login: the start of every script. */
static void w_login(pbw *out) {
    pbw hs = {0}, ack = {0};
    w_str(&hs, 2, "12345678");
    w_frame(out, T_HANDSHAKE, &hs);
    w_frame(out, T_ACK, &ack);
    w_free(&hs);
}

/* An Entry with a Canal-shaped header; a ROWDATA entry with a RowChange
 * holding `sql` when sql is not NULL. */
static void w_entry(pbw *e, const char *table, const char *sql) {
    pbw h = {0}, rc = {0};
    w_vi(&h, 1, 1);
    w_str(&h, 2, "mysql-bin.000001");
    w_vi(&h, 3, 4);
    w_vi(&h, 4, 1);
    w_str(&h, 5, "UTF-8");
    w_vi(&h, 6, 1700000000000ull);
    w_vi(&h, 7, 2);
    w_str(&h, 8, "shop");
    w_str(&h, 9, table);
    w_vi(&h, 10, 31);
    w_vi(&h, 11, 7);
    w_sub(e, 1, &h);
    w_vi(e, 2, sql ? 2 : 1);
    if (sql) {
        w_vi(&rc, 1, 9);
        w_vi(&rc, 2, 7);
        w_str(&rc, 11, sql);
        w_sub(e, 3, &rc);
    }
    w_free(&h);
    w_free(&rc);
}

/* ------------------------------------------------------------ allocation hooks */

/* Each block carries its size in front, so the hooks know the live heap,
 * its peak, and the largest single request; a request of at least
 * slow_from bytes sleeps slow_ms (once per arm). */
typedef struct hooks {
    long live, peak;
    size_t largest;
    size_t slow_from;
    int slow_ms;
} hooks;

#define HDR 16

static void note(hooks *h, long delta, size_t n) {
    h->live += delta;
    if (h->live > h->peak) h->peak = h->live;
    if (n > h->largest) h->largest = n;
    if (h->slow_ms > 0 && h->slow_from && n >= h->slow_from) {
        struct timespec ts = {h->slow_ms / 1000, (long)(h->slow_ms % 1000) * 1000000L};
        h->slow_ms = 0;
        nanosleep(&ts, NULL);
    }
}

static void *h_malloc(void *ud, size_t n) {
    uint8_t *p = malloc(n + HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    note(ud, (long)n, n);
    return p + HDR;
}

static void *h_realloc(void *ud, void *ptr, size_t n) {
    if (!ptr) return h_malloc(ud, n);
    uint8_t *b = (uint8_t *)ptr - HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    uint8_t *p = realloc(b, n + HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    note(ud, (long)n - (long)old, n);
    return p + HDR;
}

static void h_free(void *ud, void *ptr) {
    if (!ptr) return;
    uint8_t *b = (uint8_t *)ptr - HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    ((hooks *)ud)->live -= (long)old;
    free(b);
}

static canal_client *hooked_client(hooks *h, int read_timeout_ms) {
    canal_options o;
    canal_options_init(&o);
    o.malloc_fn = h_malloc, o.realloc_fn = h_realloc, o.free_fn = h_free, o.alloc_ud = h;
    o.read_timeout_ms = read_timeout_ms;
    o.rollback_on_connect = false;
    return canal_client_new(&o);
}

static void finish(canal_client *c, peer *p) {
    uint8_t sink[4096];
    canal_client_free(c);
    peer_finish(p, sink, sizeof sink);
}

/* ------------------------------------------------------------ memory per batch */

#define MB (1024L * 1024L)

/* 2 MB of empty entries (2 bytes each on the wire): the client's heap must
 * stay a small multiple of the bytes, whether it decodes or refuses them:
 * what canal.h documents, 16 times the bytes plus 1 MiB. */
#define BOUND(n) (16L * (long)(n) + MB)
static void test_memory_million_empty_entries(void) {
    hooks h = {0};
    canal_client *c = hooked_client(&h, 10000);
    REQUIRE(c != NULL);
    pbw m = {0};
    w_vi(&m, 1, 1);
    for (int i = 0; i < 1000000; i++) w_bytes(&m, "\x12\x00", 2);
    const canal_message *msg = NULL;
    long base = h.live;
    h.peak = h.live;
    int rc = canal_message_parse(c, m.p, m.n, false, &msg);
    fprintf(stderr, "  1,000,000 empty entries in %zu bytes: %s, peak heap %ld KiB\n", m.n,
            canal_strerror(rc), (h.peak - base) / 1024);
    CHECK(h.peak - base <= BOUND(m.n));
    CHECK(rc == CANAL_OK || rc == CANAL_ETOOBIG);
    if (rc == CANAL_ETOOBIG) CHECK_CONTAINS(canal_errstr(c), "entries");
    if (rc == CANAL_OK) CHECK(msg->n_entries == 1000000);
    canal_client_free(c);
    w_free(&m);
}

/* The same batch from a server: refused before anything grows for it, and
 * the connection closed (the server holds a batch this client cannot take;
 * the next connect starts over). */
static void test_get_refuses_freak_batch(void) {
    hooks h = {0};
    canal_client *c = hooked_client(&h, 10000);
    REQUIRE(c != NULL);
    pbw s = {0}, m = {0};
    w_login(&s);
    w_vi(&m, 1, 1);
    for (int i = 0; i < 1000000; i++) w_bytes(&m, "\x12\x00", 2);
    w_frame(&s, T_MESSAGES, &m);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    REQUIRE(canal_connect_fd(c, p.fd) == CANAL_OK);
    const canal_message *msg = NULL;
    long base = h.live;
    h.peak = h.live;
    int rc = canal_get(c, 10, -1, &msg);
    fprintf(stderr, "  get of 1,000,000 empty entries: %s, heap grew by %ld KiB: %s\n",
            canal_strerror(rc), (h.peak - base) / 1024, canal_errstr(c));
    CHECK(rc == CANAL_ETOOBIG);
    CHECK(msg == NULL && !canal_is_connected(c));
    CHECK_CONTAINS(canal_errstr(c), "max_decoded");
    CHECK(h.peak - base <= BOUND(m.n) + 2 * (long)m.n); /* the frame itself, doubling */
    finish(c, &p);
    w_free(&s);
    w_free(&m);
}

/* The row amplifier: a RowChange of a million empty columns. */
static void test_memory_million_empty_columns(void) {
    hooks h = {0};
    canal_client *c = hooked_client(&h, 10000);
    REQUIRE(c != NULL);
    pbw row = {0}, rcb = {0};
    for (int i = 0; i < 1000000; i++) w_bytes(&row, "\x12\x00", 2);
    w_sub(&rcb, 12, &row);
    canal_rowchange rc;
    long base = h.live;
    h.peak = h.live;
    int r = canal_rowchange_parse(c, rcb.p, rcb.n, &rc);
    fprintf(stderr, "  1,000,000 empty columns in %zu bytes: %s, peak heap %ld KiB\n", rcb.n,
            canal_strerror(r), (h.peak - base) / 1024);
    CHECK(h.peak - base <= BOUND(rcb.n));
    CHECK(r == CANAL_OK || r == CANAL_ETOOBIG);
    if (r == CANAL_ETOOBIG) CHECK_CONTAINS(canal_errstr(c), "columns");
    canal_client_free(c);
    w_free(&row);
    w_free(&rcb);
}

/* Real data as dense as Canal makes it must still decode: entries with the
 * smallest header Canal's parser writes, and columns of one-letter names
 * holding NULL, 2 MB of each. */
static void test_memory_dense_real_data_accepted(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    pbw m = {0}, h = {0}, e = {0}, col = {0}, row = {0}, rcb = {0};
    w_str(&h, 2, "mysql-bin.000001");
    w_vi(&h, 3, 4);
    w_vi(&h, 4, 1);
    w_str(&h, 5, "UTF-8");
    w_vi(&h, 6, 1700000000000ull);
    w_vi(&h, 7, 2);
    w_vi(&h, 10, 31);
    w_sub(&e, 1, &h);
    w_vi(&e, 2, 3);
    w_vi(&m, 1, 1);
    size_t n = 0;
    while (m.n < 2 * MB) w_sub(&m, 2, &e), n++;
    const canal_message *msg;
    CHECK(canal_message_parse(c, m.p, m.n, false, &msg) == CANAL_OK);
    CHECK(msg && msg->n_entries == n);

    w_vi(&col, 2, 4);
    w_str(&col, 3, "a");
    w_vi(&col, 6, 1);
    w_str(&col, 10, "int");
    size_t ncols = 0;
    while (row.n < 2 * MB) w_sub(&row, 2, &col), ncols++;
    w_sub(&rcb, 12, &row);
    canal_rowchange rc;
    int r = canal_rowchange_parse(c, rcb.p, rcb.n, &rc);
    CHECK(r == CANAL_OK);
    if (r == CANAL_OK) CHECK(rc.n_rows == 1 && rc.rows[0].n_after == ncols);
    else fprintf(stderr, "  %s\n", canal_errstr(c));
    canal_client_free(c);
    pbw *all[] = {&m, &h, &e, &col, &row, &rcb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* A hard budget from the caller, checked before anything grows. */
static void test_memory_caller_budget(void) {
    hooks h = {0};
    canal_options o;
    canal_options_init(&o);
    o.malloc_fn = h_malloc, o.realloc_fn = h_realloc, o.free_fn = h_free, o.alloc_ud = &h;
    o.max_decoded = 256 * 1024;
    canal_client *c = canal_client_new(&o), *d = canal_client_new(NULL);
    REQUIRE(c != NULL && d != NULL);
    pbw big = {0}, small = {0}, e = {0};
    w_entry(&e, "orders", NULL);
    w_vi(&big, 1, 1);
    for (int i = 0; i < 2000; i++) w_sub(&big, 2, &e); /* ~200 KB, ~500 KB decoded */
    w_vi(&small, 1, 2);
    for (int i = 0; i < 200; i++) w_sub(&small, 2, &e);
    const canal_message *m;
    long base = h.live;
    h.peak = h.live;
    CHECK(canal_message_parse(c, big.p, big.n, false, &m) == CANAL_ETOOBIG);
    CHECK_CONTAINS(canal_errstr(c), "max_decoded");
    CHECK(h.peak - base <= 256 * 1024);
    CHECK(canal_message_parse(c, small.p, small.n, false, &m) == CANAL_OK && m->n_entries == 200);
    CHECK(canal_message_parse(d, big.p, big.n, false, &m) == CANAL_OK && m->n_entries == 2000);
    canal_client_free(c);
    canal_client_free(d);
    pbw *all[] = {&big, &small, &e};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* A header announcing a 200 MB frame, then a few bytes and silence: the
 * client must not set aside the whole length before the bytes come. */
static void test_frame_buffer_grows_as_bytes_arrive(void) {
    hooks h = {0};
    canal_client *c = hooked_client(&h, 300);
    REQUIRE(c != NULL);
    pbw s = {0};
    w_login(&s);
    w_bytes(&s, "\x0c\x80\x00\x00", 4); /* 200 MiB + a bit, below max_frame */
    w_bytes(&s, "\x10\x01\x18\x07\x2a", 5);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    REQUIRE(canal_connect_fd(c, p.fd) == CANAL_OK);
    const canal_message *m;
    h.largest = 0;
    CHECK(canal_get(c, 10, -1, &m) == CANAL_ETIMEOUT);
    fprintf(stderr, "  largest allocation while 9 bytes of a 200 MiB frame came: %zu bytes\n",
            h.largest);
    CHECK(h.largest < 1024 * 1024);
    finish(c, &p);
    w_free(&s);
}

/* A freak batch passes; the next ones are small: the client gives the
 * memory back (a high-water mark that shrinks), for batches and rows. */
static void test_memory_given_back_after_freak_batch(void) {
    hooks h = {0};
    canal_client *c = hooked_client(&h, 10000);
    REQUIRE(c != NULL);
    pbw s = {0}, big = {0}, small = {0}, e = {0};
    w_login(&s);
    w_vi(&big, 1, 1);
    w_entry(&e, "t", NULL);
    while (big.n < MB) w_sub(&big, 2, &e);
    w_frame(&s, T_MESSAGES, &big);
    w_vi(&small, 1, 2);
    w_sub(&small, 2, &e);
    for (int i = 0; i < 40; i++) w_frame(&s, T_MESSAGES, &small);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    REQUIRE(canal_connect_fd(c, p.fd) == CANAL_OK);
    const canal_message *m;
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK);
    long after_big = h.live;
    for (int i = 0; i < 40; i++) REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK);
    fprintf(stderr, "  heap after a 1 MiB batch: %ld KiB; after 40 small ones: %ld KiB\n",
            after_big / 1024, h.live / 1024);
    CHECK(after_big > 2 * MB);
    CHECK(h.live < 256 * 1024);

    /* the same for row changes */
    pbw row = {0}, rcb = {0}, col = {0}, one = {0}, onerow = {0};
    w_str(&col, 3, "name");
    w_str(&col, 8, "value");
    while (row.n < MB) w_sub(&row, 2, &col);
    w_sub(&rcb, 12, &row);
    w_sub(&onerow, 2, &col);
    w_sub(&one, 12, &onerow);
    canal_rowchange rc;
    REQUIRE(canal_rowchange_parse(c, rcb.p, rcb.n, &rc) == CANAL_OK);
    long rows_big = h.live;
    for (int i = 0; i < 40; i++) REQUIRE(canal_rowchange_parse(c, one.p, one.n, &rc) == CANAL_OK);
    fprintf(stderr, "  heap after a 1 MiB RowChange: %ld KiB; after 40 small ones: %ld KiB\n",
            rows_big / 1024, h.live / 1024);
    CHECK(rows_big > 2 * MB);
    CHECK(h.live < 256 * 1024);
    finish(c, &p);
    pbw *all[] = {&s, &big, &small, &e, &row, &rcb, &col, &one, &onerow};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* No-heap mode: after a big frame, two windows of calls that time out
 * before any frame header came; the receive buffer that was given back must
 * still hold a frame (a buffer trimmed to nothing reads "end of stream"). */
static void test_noheap_trim_keeps_a_buffer(void) {
    static unsigned char heap[1024 * 1024];
    canal_options o;
    canal_options_init(&o);
    o.heap = heap, o.heap_size = sizeof heap;
    o.read_timeout_ms = 20;
    o.rollback_on_connect = false;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    pbw s = {0}, big = {0}, e = {0};
    w_login(&s);
    static uint8_t store[10000];
    memset(store, 'x', sizeof store);
    w_vi(&big, 1, 1);
    w_ld(&e, 3, store, sizeof store);
    while (big.n < 200 * 1024) w_sub(&big, 2, &e); /* 20 entries of 10 KB */
    w_frame(&s, T_MESSAGES, &big);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    REQUIRE(canal_connect_fd(c, p.fd) == CANAL_OK);
    const canal_message *m;
    int rc = canal_get(c, 10, -1, &m);
    CHECK(rc == CANAL_OK);
    if (rc != CANAL_OK) fprintf(stderr, "  %s\n", canal_errstr(c));
    canal_disconnect(c);
    finish(NULL, &p);
    for (int i = 0; i < 2 * 16; i++) { /* silent servers: no header ever */
        peer q = peer_start((const uint8_t *)"", 0, 0, 0, PEER_KEEP);
        CHECK(canal_connect_fd(c, q.fd) == CANAL_ETIMEOUT);
        finish(NULL, &q);
    }
    pbw t = {0};
    w_login(&t);
    peer r = peer_start(t.p, t.n, 0, 0, PEER_KEEP);
    rc = canal_connect_fd(c, r.fd);
    CHECK(rc == CANAL_OK);
    if (rc != CANAL_OK) fprintf(stderr, "  %s\n", canal_errstr(c));
    finish(c, &r);
    pbw *all[] = {&s, &big, &e, &t};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* ------------------------------------------------------------ time */

/* A batch that arrived within the deadline, whose decoding (here: a slow
 * allocation for its entries) ends past it, must not come back CANAL_OK. */
static void test_decoding_counts_against_the_deadline(void) {
    hooks h = {0};
    canal_client *c = hooked_client(&h, 200);
    REQUIRE(c != NULL);
    pbw s = {0}, b = {0}, e = {0};
    w_login(&s);
    w_vi(&b, 1, 1);
    w_bytes(&e, "\x10\x01", 2); /* a TRANSACTIONBEGIN with nothing else */
    for (int i = 0; i < 5000; i++) w_sub(&b, 2, &e); /* 20 KB; 5000 entries of ~200 bytes decoded */
    w_frame(&s, T_MESSAGES, &b);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    REQUIRE(canal_connect_fd(c, p.fd) == CANAL_OK);
    h.slow_from = 256 * 1024; /* only the entries' array is that large */
    h.slow_ms = 400;
    const canal_message *m;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = canal_get(c, 5000, -1, &m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    fprintf(stderr, "  get with a 400 ms allocation and a 200 ms read timeout: %s after %ld ms\n",
            canal_strerror(rc), ms);
    CHECK(h.slow_ms == 0); /* the slow allocation happened */
    CHECK(rc == CANAL_ETIMEOUT);
    CHECK_CONTAINS(canal_errstr(c), "decod");
    finish(c, &p);
    pbw *all[] = {&s, &b, &e};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* ------------------------------------------------------------ caller mistakes */

/* Two batches of the same layout: a copy of an entry of the first must not
 * decode the second's bytes. */
static void test_stale_entry_copy_same_layout(void) {
    canal_options o;
    canal_options_init(&o);
    o.rollback_on_connect = false;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    pbw s = {0}, b1 = {0}, b2 = {0}, e1 = {0}, e2 = {0};
    w_login(&s);
    w_entry(&e1, "t", "DROP TABLE a");
    w_entry(&e2, "t", "CREATE TABLE");
    REQUIRE(e1.n == e2.n);
    w_vi(&b1, 1, 1);
    w_sub(&b1, 2, &e1);
    w_vi(&b2, 1, 2);
    w_sub(&b2, 2, &e2);
    w_frame(&s, T_MESSAGES, &b1);
    w_frame(&s, T_MESSAGES, &b2);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    REQUIRE(canal_connect_fd(c, p.fd) == CANAL_OK);
    const canal_message *m;
    canal_rowchange rc;
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK && m->n_entries == 1);
    canal_entry kept = m->entries[0];
    REQUIRE(canal_entry_rowchange(c, &kept, &rc) == CANAL_OK);
    CHECK_STRN(rc.sql.ptr, rc.sql.len, "DROP TABLE a");
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK && m->n_entries == 1);
    CHECK(m->entries[0].store_value.ptr == kept.store_value.ptr); /* the same layout indeed */
    int r = canal_entry_rowchange(c, &kept, &rc);
    CHECK(r == CANAL_ESTATE);
    if (r == CANAL_OK) fprintf(stderr, "  the old copy decoded as '%.*s'\n", (int)rc.sql.len, rc.sql.ptr);
    /* a copy of the current entry is fine */
    canal_entry now = m->entries[0];
    CHECK(canal_entry_rowchange(c, &now, &rc) == CANAL_OK);
    CHECK_STRN(rc.sql.ptr, rc.sql.len, "CREATE TABLE");
    finish(c, &p);
    pbw *all[] = {&s, &b1, &b2, &e1, &e2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* A column value that is itself a serialized RowChange, parsed in place:
 * its bytes live in the client's own string arena, which the parse reuses. */
static void test_rowchange_parse_of_own_column_value(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    pbw inner = {0}, col = {0}, row = {0}, outer = {0};
    w_str(&inner, 11, "ALTER TABLE t ADD c INT"); /* ASCII: valid UTF-8 as a value */
    w_vi(&inner, 1, 5);
    w_str(&col, 3, "payload");
    w_ld(&col, 8, inner.p, inner.n);
    w_sub(&row, 2, &col);
    w_str(&outer, 11, "UPDATE t SET payload=?");
    w_sub(&outer, 12, &row);
    canal_rowchange rc, rc2;
    REQUIRE(canal_rowchange_parse(c, outer.p, outer.n, &rc) == CANAL_OK);
    REQUIRE(rc.n_rows == 1 && rc.rows[0].n_after == 1);
    canal_str v = rc.rows[0].after[0].value;
    REQUIRE(v.len == inner.n);
    int r = canal_rowchange_parse(c, v.ptr, v.len, &rc2);
    CHECK(r == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "client");
    /* the same bytes copied out decode fine */
    uint8_t copy[256];
    memcpy(copy, inner.p, inner.n);
    CHECK(canal_rowchange_parse(c, copy, inner.n, &rc2) == CANAL_OK);
    CHECK_STRN(rc2.sql.ptr, rc2.sql.len, "ALTER TABLE t ADD c INT");
    canal_client_free(c);
    pbw *all[] = {&inner, &col, &row, &outer};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* canal_message_parse on a decoded header string (here a gtid that holds a
 * serialized Messages), and on a decoded column value. */
static void test_message_parse_of_own_strings(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    pbw inner = {0}, h = {0}, e = {0}, outer = {0}, col = {0}, row = {0}, rcb = {0};
    w_vi(&inner, 1, 77);
    w_str(&h, 13, "placeholder"); /* the gtid, replaced below */
    h.n = 0;
    w_ld(&h, 13, inner.p, inner.n);
    w_sub(&e, 1, &h);
    w_vi(&outer, 1, 3);
    w_sub(&outer, 2, &e);
    const canal_message *m, *m2;
    REQUIRE(canal_message_parse(c, outer.p, outer.n, false, &m) == CANAL_OK && m->n_entries == 1);
    canal_str g = m->entries[0].header.gtid;
    REQUIRE(g.len == inner.n);
    int r = canal_message_parse(c, g.ptr, g.len, false, &m2);
    CHECK(r == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "client");

    w_ld(&col, 8, inner.p, inner.n);
    w_sub(&row, 2, &col);
    w_sub(&rcb, 12, &row);
    canal_rowchange rc;
    REQUIRE(canal_rowchange_parse(c, rcb.p, rcb.n, &rc) == CANAL_OK);
    canal_str v = rc.rows[0].after[0].value;
    CHECK(canal_message_parse(c, v.ptr, v.len, false, &m2) == CANAL_EINVAL);
    /* an entry's raw bytes (in the received frame, not a decoded string) are fine */
    REQUIRE(canal_message_parse(c, outer.p, outer.n, false, &m) == CANAL_OK);
    CHECK(canal_rowchange_parse(c, m->entries[0].store_value.ptr, m->entries[0].store_value.len,
                                &rc) == CANAL_OK);
    canal_client_free(c);
    pbw *all[] = {&inner, &h, &e, &outer, &col, &row, &rcb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* ------------------------------------------------------------ replies by protobuf's rules */

/* The Handshake and Ack are read with protobuf's rules too: a field sent
 * with another wire type, and an unknown group, are skipped, not refused
 * (refusing closes the connection, and the same reply comes back). */
static void test_handshake_and_ack_skip_unexpected_fields(void) {
    canal_options o;
    canal_options_init(&o);
    o.rollback_on_connect = false;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    pbw s = {0}, hs = {0}, ok = {0}, ack = {0}, grp = {0};
    w_tag(&grp, 20, 3); /* group 20 { field 1 = 1, field 2 = "xx" } */
    w_vi(&grp, 1, 1);
    w_str(&grp, 2, "xx");
    w_tag(&grp, 20, 4);
    w_vi(&hs, 2, 7); /* seeds as a varint: not the seeds */
    w_bytes(&hs, grp.p, grp.n);
    w_str(&hs, 2, "12345678");
    w_tag(&hs, 2, 1); /* seeds as fixed64 after them: skipped too */
    w_bytes(&hs, "ABCDEFGH", 8);
    w_frame(&s, T_HANDSHAKE, &hs);
    w_bytes(&ok, grp.p, grp.n); /* an Ack with nothing but a group: success */
    w_frame(&s, T_ACK, &ok);
    w_vi(&ack, 1, 400);
    w_tag(&ack, 2, 1); /* error_message as fixed64 "DROP TAB" */
    w_bytes(&ack, "DROP TAB", 8);
    w_bytes(&ack, grp.p, grp.n);
    w_str(&ack, 2, "the real text");
    w_tag(&ack, 2, 5); /* ... and as fixed32 after it */
    w_bytes(&ack, "oops", 4);
    w_frame(&s, T_ACK, &ack);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    int rc = canal_connect_fd(c, p.fd);
    CHECK(rc == CANAL_OK);
    if (rc != CANAL_OK) fprintf(stderr, "  connect: %s\n", canal_errstr(c));
    const canal_message *m;
    CHECK(canal_get(c, 10, -1, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "server error 400: the real text");
    CHECK(strstr(canal_errstr(c), "DROP") == NULL && strstr(canal_errstr(c), "oops") == NULL);
    finish(c, &p);
    pbw *all[] = {&s, &hs, &ok, &ack, &grp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) w_free(all[i]);
}

/* ------------------------------------------------------------ error text */

/* An error Ack answering a GET, with `text` (len bytes) as its message. */
static int get_error_text(canal_client *c, const uint8_t *text, size_t len) {
    pbw s = {0}, ack = {0};
    w_login(&s);
    w_vi(&ack, 1, 400);
    w_ld(&ack, 2, text, len);
    w_frame(&s, T_ACK, &ack);
    peer p = peer_start(s.p, s.n, 0, 0, PEER_KEEP);
    int rc = canal_connect_fd(c, p.fd);
    const canal_message *m;
    if (rc == CANAL_OK) rc = canal_get(c, 10, -1, &m);
    uint8_t sink[4096];
    canal_disconnect(c);
    peer_finish(&p, sink, sizeof sink);
    w_free(&s);
    w_free(&ack);
    return rc;
}

/* What a terminal would act on: C0 controls, DEL, and C1 controls (U+0080..
 * U+009F) in UTF-8. The text must also be valid UTF-8 as a whole. */
static bool safe_to_print(const char *s) {
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; p[i]; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) return false;
        if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) return false;
    }
    /* and valid UTF-8, per Unicode table 3-7 */
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint8_t b = p[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xbf;
        if (b < 0x80) { i++; continue; }
        else if (b >= 0xc2 && b <= 0xdf) k = 1;
        else if (b == 0xe0) k = 2, lo = 0xa0;
        else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) k = 2;
        else if (b == 0xed) k = 2, hi = 0x9f;
        else if (b == 0xf0) k = 3, lo = 0x90;
        else if (b >= 0xf1 && b <= 0xf3) k = 3;
        else if (b == 0xf4) k = 3, hi = 0x8f;
        else return false;
        if (n - i < k + 1 || p[i + 1] < lo || p[i + 1] > hi) return false;
        for (size_t j = 2; j <= k; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xbf) return false;
        i += k + 1;
    }
    return true;
}

static void test_errstr_escapes_server_text(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    static const uint8_t text[] = "title\x1b]0;pwned\x07 clear\x1b[2J line1\nline2\r\tnul\0after "
                                  "bad\xff\xfe cut\xe4\xb8 c1\xc2\x9b ok\xe4\xb8\xad\xe6\x96\x87 del\x7f end";
    int rc = get_error_text(c, text, sizeof text - 1);
    const char *e = canal_errstr(c);
    fprintf(stderr, "  errstr: %s\n", e);
    CHECK(rc == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK(safe_to_print(e));
    CHECK_CONTAINS(e, "title\\x1b]0;pwned\\x07 clear\\x1b[2J line1\\nline2\\r\\tnul\\x00after");
    CHECK_CONTAINS(e, "bad\\xff\\xfe cut\\xe4\\xb8 c1\\u009b");
    CHECK_CONTAINS(e, "ok\xe4\xb8\xad\xe6\x96\x87 del\\x7f end"); /* valid UTF-8 stays readable */
    canal_client_free(c);
}

static void test_errstr_bounded(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    static uint8_t text[20000];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (uint8_t)(i % 3 == 0 ? 0x1b : 'a');
    int rc = get_error_text(c, text, sizeof text);
    const char *e = canal_errstr(c);
    CHECK(rc == CANAL_ESERVER);
    CHECK(safe_to_print(e));
    CHECK(strlen(e) < 1024);
    CHECK_CONTAINS(e, "aa\\x1baa\\x1b");
    CHECK_CONTAINS(e, "...");
    /* a long run of 3-byte characters is cut between characters */
    static uint8_t cjk[3000];
    for (size_t i = 0; i < sizeof cjk; i += 3) memcpy(cjk + i, "\xe4\xb8\xad", 3);
    rc = get_error_text(c, cjk, sizeof cjk);
    CHECK(rc == CANAL_ESERVER);
    CHECK(safe_to_print(canal_errstr(c)));
    CHECK(strlen(canal_errstr(c)) < 1024);
    canal_client_free(c);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    RUN(test_memory_million_empty_entries);
    RUN(test_get_refuses_freak_batch);
    RUN(test_memory_million_empty_columns);
    RUN(test_memory_dense_real_data_accepted);
    RUN(test_memory_caller_budget);
    RUN(test_frame_buffer_grows_as_bytes_arrive);
    RUN(test_memory_given_back_after_freak_batch);
    RUN(test_noheap_trim_keeps_a_buffer);
    RUN(test_decoding_counts_against_the_deadline);
    RUN(test_stale_entry_copy_same_layout);
    RUN(test_rowchange_parse_of_own_column_value);
    RUN(test_message_parse_of_own_strings);
    RUN(test_handshake_and_ack_skip_unexpected_fields);
    RUN(test_errstr_escapes_server_text);
    RUN(test_errstr_bounded);
    return TT_REPORT("hostile");
}
