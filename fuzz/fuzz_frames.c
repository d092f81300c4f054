/* fuzz_frames.c - libFuzzer target: a whole client session against a fuzzed
 * server byte stream.
 *
 * Input layout:
 *   byte 0  flags
 *           0x01  prepend a valid handshake + auth Ack (reaches commands fast)
 *           0x02  ... and a subscription Ack (reaches GET at once)
 *           0x04  inject EINTR / EAGAIN / short writes into recv and send
 *           0x08  close the server end completely after writing (sends fail
 *                 with EPIPE), instead of shutdown(SHUT_WR)
 *           0x10  validate_utf8 off
 *           0x20  rollback_on_connect off
 *           0x40  max_frame = default (256 MiB) instead of 100000
 *           0x80  user "canal" / password "canal" (else none)
 *   byte 1  how recv splits the stream: low 3 bits pick a pattern (whole,
 *           1 byte, 1..4, 1..16, 1..64, 1..4096, 3, 7 bytes per recv), the
 *           high bits seed the random sizes
 *   byte 2  0x80 clear: fail allocation number (byte 2) of the client (0: none)
 *           0x80 set: no-heap mode, the client inside a buffer of
 *                 CANAL_MIN_HEAP << ((byte 2 >> 4) & 3) bytes (32..256 KiB)
 *   rest    what the server sends
 *
 * Delivery: the server bytes are written up front into one end of an
 * AF_UNIX socketpair (its buffers are enlarged; -max_len keeps inputs below
 * what they hold), then that end is shut down for writing, so the client
 * meets EOF, never a timeout, and a session takes microseconds. TCP's
 * arbitrary splitting is reproduced by wrapping canal.c's recv: canal.c is
 * compiled into this file with recv and send renamed to the wrappers below.
 *
 * Session: connect_fd, subscribe, 5 x get (rowchange on every entry, forced
 * to ROWDATA too; latin1 on every value; ack, rollback or keep the batch),
 * rollback(0), unsubscribe, free. Every call is made whatever the previous
 * ones returned (calls after a fatal error must fail cleanly). fuzz_common.h
 * checks everything handed out; afterwards what the client sent must be
 * whole frames of request packet types. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t fuzz_recv(int fd, void *buf, size_t n, int flags);
static ssize_t fuzz_send(int fd, const void *buf, size_t n, int flags);
#define recv fuzz_recv
#define send fuzz_send
#include "../canal.c"
#undef recv
#undef send

#include "fuzz_common.h"

/* ------------------------------------------------------------ I/O wrappers */

static struct {
    int pattern;    /* byte 1, low 3 bits */
    uint32_t rng;   /* xorshift state */
    int inject;     /* flag 0x04 */
    unsigned calls; /* wrapper calls, for injection */
} io;

static uint32_t rnd(void) {
    uint32_t x = io.rng;
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    return io.rng = x;
}

static size_t recv_limit(size_t n) {
    static const size_t max[] = {0, 1, 4, 16, 64, 4096, 3, 7};
    size_t lim;
    switch (io.pattern) {
    case 0: return n;
    case 6:
    case 7: lim = max[io.pattern]; break;
    default: lim = 1 + rnd() % max[io.pattern];
    }
    return lim < n ? lim : n;
}

/* Returns -1 with errno set when an error is to be injected. */
static int inject_error(void) {
    if (!io.inject) return 0;
    io.calls++;
    if (io.calls % 5 == 1) return errno = EINTR, -1;
    if (io.calls % 5 == 3) return errno = EAGAIN, -1;
    return 0;
}

static ssize_t fuzz_recv(int fd, void *buf, size_t n, int flags) {
    if (inject_error()) return -1;
    return recv(fd, buf, n ? recv_limit(n) : 0, flags);
}

static ssize_t fuzz_send(int fd, const void *buf, size_t n, int flags) {
    if (inject_error()) return -1;
    if (io.inject && n > 1) n = 1 + rnd() % n; /* short writes */
    return send(fd, buf, n, flags);
}

/* ------------------------------------------------------------ allocation */

static struct {
    unsigned n, fail_at;
    long live; /* blocks allocated and not freed */
} al;

static void *fz_malloc(void *ud, size_t n) {
    (void)ud;
    if (++al.n == al.fail_at) return fz_alloc_failures++, NULL;
    void *p = malloc(n);
    if (p) al.live++;
    return p;
}
static void *fz_realloc(void *ud, void *p, size_t n) {
    (void)ud;
    /* A realloc that shrinks is the client giving memory back after a big
     * batch: if it fails the client keeps the block, and there is no error
     * to see, so none is injected there. */
    bool shrink = p && n <= malloc_usable_size(p);
    if (++al.n == al.fail_at && !shrink) return fz_alloc_failures++, NULL;
    void *q = realloc(p, n);
    if (q && !p) al.live++;
    return q;
}
static void fz_free(void *ud, void *p) {
    (void)ud;
    if (p) al.live--;
    free(p);
}

/* ------------------------------------------------------------ session */

/* Spec §2 frames: handshake with seed 0102030405060708, success Ack. */
static const uint8_t HS_AUTH[] = {0, 0, 0, 0x10, 0x10, 1, 0x18, 1, 0x2a, 0x0a, 0x12, 8, 1, 2, 3,
                                  4, 5, 6, 7, 8, 0, 0, 0, 4, 0x10, 1, 0x18, 3};
static const uint8_t SUB_ACK[] = {0, 0, 0, 4, 0x10, 1, 0x18, 3};

static void big_buffers(int fd) {
    int sz = 1 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

static void write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* the buffer is full: the rest is cut off */
        p += w, n -= (size_t)w;
    }
}

/* The current frame in the receive buffer: where GET's views must lie. */
static void check_get(canal_client *c, int rc, const canal_message *m) {
    if (rc < 0) {
        FZ_CHECK(m == NULL);
        if (rc == CANAL_EIO || rc == CANAL_ETIMEOUT || rc == CANAL_EPROTO || rc == CANAL_ETOOBIG)
            FZ_CHECK(!canal_is_connected(c));
        return;
    }
    FZ_CHECK(canal_is_connected(c));
    FZ_CHECK(m->batch_id == -1 || m->batch_id > 0);
    FZ_CHECK(c->conn.rpos >= 4 && c->conn.rpos <= c->conn.rlen && c->conn.rlen <= c->conn.rcap);
    fz_check_message(c, m, c->conn.rbuf + 4, c->conn.rpos - 4);
}

static void session(canal_client *c, int fd, uint8_t flags) {
    const canal_message *m;
    int rc;
    FZ_CALL(c, rc, canal_connect_fd(c, fd));
    FZ_CHECK(canal_is_connected(c) == (rc == CANAL_OK));
    FZ_CALL(c, rc, canal_subscribe(c, "shop\\..*"));
    for (int i = 0; i < 5; i++) {
        m = (const canal_message *)&m;
        FZ_CALL(c, rc, canal_get(c, 100, i % 2 ? -1 : 1000, &m));
        check_get(c, rc, m);
        if (rc < 0) continue;
        int64_t id = m->batch_id;
        fz_rowchanges(c, m);
        fz_check_message(c, m, c->conn.rbuf + 4, c->conn.rpos - 4); /* still intact */
        if (id == -1) {
            FZ_CHECK(canal_ack(c, id) == CANAL_EINVAL);
            continue;
        }
        switch ((i + flags) % 3) {
        case 0: FZ_CALL(c, rc, canal_ack(c, id)); break;
        case 1: FZ_CALL(c, rc, canal_rollback(c, id)); break;
        default: continue; /* keep it outstanding */
        }
        /* a batch id the server repeated is no longer the oldest one */
        FZ_CHECK(rc == CANAL_OK || rc == CANAL_EIO || rc == CANAL_ETIMEOUT ||
                 rc == CANAL_ESTATE || rc == CANAL_ENOMEM);
    }
    FZ_CALL(c, rc, canal_rollback(c, 0));
    FZ_CALL(c, rc, canal_unsubscribe(c));
    if (!canal_is_connected(c)) {
        FZ_CHECK(canal_get(c, 1, 1, &m) == CANAL_ESTATE && m == NULL);
        FZ_CHECK(canal_ack(c, 1) == CANAL_ESTATE);
    }
}

/* What the client sent: whole frames of request types only. */
static void check_sent(int fd) {
    static uint8_t buf[1 << 16];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) > 0) n += (size_t)r;
    size_t off = 0;
    canal_client *scratch = canal_client_new(NULL);
    FZ_CHECK(scratch != NULL);
    while (off < n) {
        FZ_CHECK(n - off >= 4);
        size_t len = (size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 |
                     (size_t)buf[off + 2] << 8 | buf[off + 3];
        FZ_CHECK(len <= n - off - 4);
        packet_view pv;
        FZ_CHECK(parse_packet(scratch, buf + off + 4, len, &pv, "sent") == CANAL_OK);
        FZ_CHECK(pv.type == caocp_PacketType_CLIENTAUTHENTICATION ||
                 pv.type == caocp_PacketType_SUBSCRIPTION ||
                 pv.type == caocp_PacketType_UNSUBSCRIPTION || pv.type == caocp_PacketType_GET ||
                 pv.type == caocp_PacketType_CLIENTACK ||
                 pv.type == caocp_PacketType_CLIENTROLLBACK);
        off += 4 + len;
    }
    canal_client_free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    uint8_t flags = data[0];
    memset(&io, 0, sizeof io);
    io.pattern = data[1] & 7;
    io.rng = 0x9e3779b9u ^ (uint32_t)data[1] * 0x01000193u;
    io.inject = (flags & 0x04) != 0;
    memset(&al, 0, sizeof al);
    fz_may_run_out = (data[2] & 0x80) != 0;
    uint8_t *heap = NULL;
    size_t heap_size = 0;
    if (data[2] & 0x80) {
        heap_size = (size_t)CANAL_MIN_HEAP << ((data[2] >> 4) & 3);
        heap = malloc(heap_size); /* exactly: ASan sees a write past its end */
        FZ_CHECK(heap != NULL);
    } else {
        al.fail_at = data[2];
    }
    data += 3, size -= 3;

    int sv[2];
    FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    big_buffers(sv[0]);
    big_buffers(sv[1]);
    FZ_CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    if (flags & 0x01) {
        write_all(sv[1], HS_AUTH, sizeof HS_AUTH);
        if (flags & 0x02) write_all(sv[1], SUB_ACK, sizeof SUB_ACK);
    }
    write_all(sv[1], data, size);
    if (flags & 0x08) {
        close(sv[1]);
        sv[1] = -1;
    } else {
        shutdown(sv[1], SHUT_WR);
    }

    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = 50;
    o.connect_timeout_ms = 50;
    o.validate_utf8 = !(flags & 0x10);
    o.rollback_on_connect = !(flags & 0x20);
    o.max_frame = flags & 0x40 ? CANAL_DEFAULT_MAX_FRAME : 100000;
    if (flags & 0x80) o.username = o.password = "canal";
    o.malloc_fn = fz_malloc, o.realloc_fn = fz_realloc, o.free_fn = fz_free;
    o.heap = heap, o.heap_size = heap_size; /* the hooks are then unused */
    canal_client *c = canal_client_new(&o);
    if (!c) {
        FZ_CHECK(al.fail_at != 0 && al.live == 0 && !heap);
        close(sv[0]);
    } else {
        FZ_CHECK(canal_errcode(c) == CANAL_OK);
        session(c, sv[0], flags);
        canal_client_free(c); /* closes sv[0] */
        FZ_CHECK(al.live == 0);
        if (heap) FZ_CHECK(al.n == 0);
    }
    free(heap);
    if (sv[1] >= 0) {
        check_sent(sv[1]);
        close(sv[1]);
    }
    return 0;
}
