/* test_faults.c - canal-c under hostile conditions, through the public API.
 *
 * The "server" is the other end of a socketpair: the test writes a whole
 * scripted reply stream into it up front (it fits the socket buffer) and
 * shuts it down or keeps it open; a forked child writes it slowly where
 * timing matters. Real TCP is used for connect refusal, the black-holed
 * connect and SIGPIPE. The allocation hooks count every block and byte the
 * client holds, and can make one chosen allocation fail.
 *
 *   cuts        the session cut after every byte offset: exactly the call
 *               that needs the missing bytes fails (EIO), the ones after it
 *               fail with ESTATE, nothing leaks; one GET at a time and three
 *               in flight
 *   corrupt     every byte of the session XOR 0xff, then +1: every call ends
 *               within the read timeout with OK or an error code, and the
 *               same client then completes a clean session
 *   drip        the session one byte at a time: all calls succeed
 *   stall       a server that stops (before, inside the header, inside the
 *               body): ETIMEOUT one read timeout after the last byte (plus
 *               the GET's wait before a reply's first byte); a drip that is
 *               never silent: ETIMEOUT at call_timeout_ms
 *   connect     refused: fast EIO; black-holed: connect_timeout_ms
 *   cycles      10,000 connect/subscribe/get/ack/disconnect cycles and
 *               10,000 refused connects: open fds and live heap unchanged
 *   sigpipe     the peer closes, the client sends; SIGPIPE stays SIG_DFL
 *   mistakes    NULL arguments everywhere, calls after a fatal error, bad
 *               batch ids, invalid options, non-socket descriptors
 *   alloc fail  each allocation of a session made to fail in turn
 *
 * usage: test_faults [FIXTURE_DIR]   (build/fixtures; made by `make`)
 * CANAL_FAULT_SCALE=K divides the big counts (cycles, connects) by K, and
 * corrupts only every Kth byte, for slow runs such as valgrind. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "canal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"
#include "tinytest.h"

static const char *fixture_dir = "build/fixtures";
static int scale = 1;

/* ------------------------------------------------------------ helpers */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static size_t read_fixture(const char *name, uint8_t *buf, size_t cap) {
    return read_fixture_file(fixture_dir, name, buf, cap);
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n - 3; /* ".", "..", the directory's own descriptor */
}

static bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

/* ------------------------------------------------------------ counting allocator */

/* Every block the hooks hand out is recorded with its size, so frees can be
 * counted in bytes and a free of anything else is noticed, without reading
 * memory outside the block. The client holds a few dozen blocks at most. */
typedef struct heap_stats {
    long blocks, bytes; /* live */
    long calls;         /* malloc + realloc calls so far */
    long fail_at;       /* make this call fail (0: never) */
    long foreign_frees; /* frees or reallocs of blocks these hooks never handed out */
    struct {
        void *p;
        size_t n;
    } live[256];
} heap_stats;

static long h_find(heap_stats *h, const void *p) {
    for (long i = 0; i < (long)(sizeof h->live / sizeof h->live[0]); i++)
        if (h->live[i].p == p) return i;
    return -1;
}

static void *h_malloc(void *ud, size_t n) {
    heap_stats *h = ud;
    if (++h->calls == h->fail_at) return NULL;
    long slot = h_find(h, NULL);
    if (slot < 0) return NULL; /* more blocks than any client should hold */
    void *p = malloc(n ? n : 1);
    if (!p) return NULL;
    h->live[slot].p = p, h->live[slot].n = n;
    h->blocks++, h->bytes += (long)n;
    return p;
}

static void h_free(void *ud, void *p) {
    heap_stats *h = ud;
    if (!p) return;
    long slot = h_find(h, p);
    if (slot < 0) { /* not from these hooks: count it, hand it to libc */
        h->foreign_frees++;
        free(p);
        return;
    }
    h->blocks--, h->bytes -= (long)h->live[slot].n;
    h->live[slot].p = NULL;
    free(p);
}

static void *h_realloc(void *ud, void *p, size_t n) {
    heap_stats *h = ud;
    if (!p) return h_malloc(ud, n);
    if (++h->calls == h->fail_at) return NULL;
    long slot = h_find(h, p);
    if (slot < 0) {
        h->foreign_frees++;
        return NULL;
    }
    void *q = realloc(p, n ? n : 1);
    if (!q) return NULL;
    h->bytes += (long)n - (long)h->live[slot].n;
    h->live[slot].p = q, h->live[slot].n = n;
    return q;
}

static canal_options opts(heap_stats *h, int read_timeout_ms) {
    canal_options o;
    canal_options_init(&o);
    o.username = "canal";
    o.password = "canal";
    o.read_timeout_ms = read_timeout_ms;
    o.connect_timeout_ms = 2000;
    if (h) {
        o.malloc_fn = h_malloc, o.realloc_fn = h_realloc, o.free_fn = h_free;
        o.alloc_ud = h;
    }
    return o;
}

/* ------------------------------------------------------------ the session */

#define HS "00000010 1001 1801 2a0a 1208 0102030405060708"
#define ACK_OK "00000004 1001 1803"
#define EMPTY_GET "00000011 1001 1807 2a0b 08ffffffffffffffffff01"

/* The server's side of one session: handshake, auth Ack, sub Ack, GET reply
 * batch 7 (packet_raw.bin, raw form), GET reply batch 8 (packet_v1.bin with
 * its batch id changed, normal form), an empty GET reply. */
static uint8_t sess[8192];
static size_t sess_n;
static size_t frame_end[6]; /* offset just past each frame */
static uint8_t get7[2048], get8[2048];
static size_t get7_n, get8_n;

/* Frame `body` into out; returns the bytes written. */
static size_t put_frame(uint8_t *out, const uint8_t *body, size_t n) {
    out[0] = (uint8_t)(n >> 24), out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
    memcpy(out + 4, body, n);
    return n + 4;
}

/* Set Messages.batch_id (a 1-byte varint) inside a MESSAGES Packet. */
static bool set_batch(uint8_t *pk, size_t n, uint8_t id) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (pk[i] != 0x2a) continue; /* Packet.body */
        size_t j = i + 1;
        while (j < n && (pk[j] & 0x80)) j++;
        j++;
        if (j + 1 < n && pk[j] == 0x08 && pk[j + 1] < 0x80) {
            pk[j + 1] = id;
            return true;
        }
        return false;
    }
    return false;
}

static bool build_session(void) {
    uint8_t pk[2048];
    size_t n = 0, k;
    n += unhex(HS, sess + n, sizeof sess - n);
    frame_end[0] = n;
    n += unhex(ACK_OK, sess + n, sizeof sess - n);
    frame_end[1] = n;
    n += unhex(ACK_OK, sess + n, sizeof sess - n);
    frame_end[2] = n;
    if (!(k = read_fixture("packet_raw.bin", pk, sizeof pk))) return false;
    get7_n = put_frame(get7, pk, k);
    memcpy(sess + n, get7, get7_n);
    n += get7_n;
    frame_end[3] = n;
    if (!(k = read_fixture("packet_v1.bin", pk, sizeof pk)) || !set_batch(pk, k, 8)) return false;
    get8_n = put_frame(get8, pk, k);
    memcpy(sess + n, get8, get8_n);
    n += get8_n;
    frame_end[4] = n;
    n += unhex(EMPTY_GET, sess + n, sizeof sess - n);
    frame_end[5] = n;
    sess_n = n;
    return true;
}

/* A socketpair whose server end already holds `n` bytes of `s`; `shut`
 * shuts that end for writing (EOF after the bytes). Returns the server end,
 * *client gets the other. */
static int prewritten(const uint8_t *s, size_t n, bool shut, int *client) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(sv[1], s + off, n - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    if (off != n) fprintf(stderr, "  prewritten: only %zu of %zu bytes fit\n", off, n);
    if (shut) shutdown(sv[1], SHUT_WR);
    *client = sv[0];
    return sv[1];
}

/* Children _exit without flushing, but a buffered stdout they inherit
 * could still be written twice by some runtimes (valgrind): flush first. */
static pid_t fork_flushed(void) {
    fflush(stdout);
    fflush(stderr);
    return fork();
}

/* A forked peer writing the first `first` bytes of `s` at once and the rest
 * in pieces of `chunk` with `delay_us` before each, then reading until the
 * client closes. */
static pid_t slow_peer(const uint8_t *s, size_t n, size_t first, size_t chunk, long delay_us,
                       int *client) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
    pid_t pid = fork_flushed();
    if (pid == 0) {
        close(sv[0]);
        if (first && write(sv[1], s, first) < 0) _exit(1);
        for (size_t off = first; off < n;) {
            size_t k = chunk < n - off ? chunk : n - off;
            if (off > 0) sleep_us(delay_us);
            if (write(sv[1], s + off, k) < 0) _exit(1);
            off += k;
        }
        char buf[4096];
        while (read(sv[1], buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(sv[1]);
    *client = sv[0];
    return pid;
}

static void reap(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The client's side: every call in order, whatever the earlier ones
 * returned. Reading calls and the frame each one needs: */
enum { C_CONNECT, C_SUB, C_GET7, C_ACK7, C_GET8, C_ACK8, C_GET_EMPTY, C_ROLLBACK, N_CALLS };
static const char *call_name[N_CALLS] = {"connect_fd", "subscribe", "get(7)", "ack(7)",
                                         "get(8)",     "ack(8)",    "get(-1)", "rollback(0)"};
static const int call_frame[N_CALLS] = {1, 2, 3, -1, 4, -1, 5, -1}; /* -1: reads nothing */

typedef struct result {
    int rc[N_CALLS];
    int64_t took_ms[N_CALLS];
    int64_t batch[N_CALLS];
    size_t entries[N_CALLS];
    int rowchange_failures; /* on ROWDATA entries */
} result;

static void check_batch(canal_client *c, const canal_message *m, result *r, int call) {
    r->batch[call] = m->batch_id;
    r->entries[call] = m->n_entries;
    for (size_t i = 0; i < m->n_entries; i++) {
        canal_rowchange rc;
        if (m->entries[i].entry_type != CANAL_ROWDATA) continue;
        if (canal_entry_rowchange(c, &m->entries[i], &rc) != CANAL_OK) r->rowchange_failures++;
        else
            for (size_t j = 0; j < rc.n_rows; j++)
                for (size_t k = 0; k < rc.rows[j].n_after; k++) {
                    uint8_t out[4096];
                    size_t on = 0;
                    const canal_column *col = &rc.rows[j].after[k];
                    const canal_str *v = &col->value;
                    if (v->len > sizeof out) continue;
                    int lr = canal_latin1_to_bytes(v->ptr, v->len, out, &on);
                    /* the fixture's BLOB column: bytes 00 FF 41 */
                    if (strcmp(col->name.ptr, "img") == 0 &&
                        (lr != CANAL_OK || on != 3 || memcmp(out, "\0\377A", 3) != 0))
                        r->rowchange_failures++;
                }
    }
}

static void run_session(canal_client *c, int fd, result *r) {
    const canal_message *m = NULL;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < N_CALLS; i++) {
        int64_t t0 = now_ms();
        switch (i) {
        case C_CONNECT: r->rc[i] = canal_connect_fd(c, fd); break;
        case C_SUB: r->rc[i] = canal_subscribe(c, "shop\\..*"); break;
        case C_GET7:
        case C_GET8:
        case C_GET_EMPTY:
            r->rc[i] = canal_get(c, 100, 1000, &m);
            if (r->rc[i] == CANAL_OK) check_batch(c, m, r, i);
            break;
        case C_ACK7: r->rc[i] = canal_ack(c, 7); break;
        case C_ACK8: r->rc[i] = canal_ack(c, 8); break;
        case C_ROLLBACK: r->rc[i] = canal_rollback(c, 0); break;
        }
        r->took_ms[i] = now_ms() - t0;
    }
}

static bool all_ok(const result *r) {
    for (int i = 0; i < N_CALLS; i++)
        if (r->rc[i] != CANAL_OK) return false;
    return r->batch[C_GET7] == 7 && r->entries[C_GET7] == 6 && r->batch[C_GET8] == 8 &&
           r->entries[C_GET8] == 6 && r->batch[C_GET_EMPTY] == -1 && r->rowchange_failures == 0;
}

static bool valid_code(int rc) { return rc <= 0 && rc >= CANAL_ENOMEM; }

/* ------------------------------------------------------------ (a) cuts */

/* The same with `depth` GETs in flight (canal_options.get_pipeline): the
 * replies are read by the same calls, so the same call fails. */
static void cut_after_every_byte(int depth) {
    REQUIRE(sess_n > 0);
    static heap_stats h;
    int fds0 = count_fds(), bad = 0;
    size_t cuts = 0;
    for (size_t cut = 0; cut <= sess_n; cut++) {
        memset(&h, 0, sizeof h);
        canal_options o = opts(&h, 2000);
        o.get_pipeline = depth;
        canal_client *c = canal_client_new(&o);
        REQUIRE(c != NULL);
        int cfd, sfd = prewritten(sess, cut, true, &cfd);
        REQUIRE(sfd >= 0);
        result r;
        run_session(c, cfd, &r);
        /* the first call whose frame is not all there fails with EIO */
        int fail = N_CALLS;
        for (int i = 0; i < N_CALLS; i++)
            if (call_frame[i] >= 0 && cut < frame_end[call_frame[i]]) {
                fail = i;
                break;
            }
        bool ok = true;
        for (int i = 0; i < N_CALLS; i++) {
            int want = i < fail ? CANAL_OK : i == fail ? CANAL_EIO : CANAL_ESTATE;
            if (r.rc[i] != want) {
                if (bad < 5)
                    fprintf(stderr, "  depth %d, cut at %zu: %s returned %s, expected %s (%s)\n",
                            depth, cut, call_name[i], canal_strerror(r.rc[i]),
                            canal_strerror(want), canal_errstr(c));
                ok = false;
            }
        }
        if (fail == N_CALLS && !all_ok(&r)) ok = false;
        if (fail < N_CALLS && canal_is_connected(c)) ok = false;
        canal_client_free(c);
        close(sfd);
        if (h.blocks || h.bytes || h.foreign_frees) {
            if (bad < 5)
                fprintf(stderr, "  cut at %zu: %ld blocks / %ld bytes left, %ld foreign frees\n",
                        cut, h.blocks, h.bytes, h.foreign_frees);
            ok = false;
        }
        if (!ok) bad++;
        cuts++;
    }
    CHECK(bad == 0);
    CHECK(count_fds() == fds0);
    printf("  cuts, %d GET%s in flight: %zu sessions (every offset 0..%zu), %d wrong\n", depth,
           depth > 1 ? "s" : "", cuts, sess_n, bad);
}

static void test_cut_after_every_byte(void) {
    cut_after_every_byte(1);
    cut_after_every_byte(3);
}

/* ------------------------------------------------------------ (b) corruption */

static void test_corrupt_every_byte(void) {
    REQUIRE(sess_n > 0);
    const int T = 100; /* read timeout, ms */
    const int MARGIN = 200;
    int fds0 = count_fds(), bad = 0, outcomes[2][10];
    size_t runs = 0;
    int64_t worst = 0;
    memset(outcomes, 0, sizeof outcomes);
    uint8_t *s = malloc(sess_n);
    REQUIRE(s != NULL);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sess_n; i += (size_t)scale) {
            heap_stats h;
            memset(&h, 0, sizeof h);
            memcpy(s, sess, sess_n);
            s[i] = pass == 0 ? (uint8_t)(s[i] ^ 0xff) : (uint8_t)(s[i] + 1);
            canal_options o = opts(&h, T);
            canal_client *c = canal_client_new(&o);
            REQUIRE(c != NULL);
            int cfd, sfd = prewritten(s, sess_n, false, &cfd); /* stays open: timeouts */
            REQUIRE(sfd >= 0);
            result r;
            int64_t t0 = now_ms();
            run_session(c, cfd, &r);
            int64_t took = now_ms() - t0;
            bool ok = took <= T + MARGIN + 100;
            int last = CANAL_OK;
            for (int k = 0; k < N_CALLS; k++) {
                if (!valid_code(r.rc[k]) || r.took_ms[k] > T + MARGIN) ok = false;
                if (r.rc[k] != CANAL_OK && last == CANAL_OK) last = r.rc[k];
            }
            outcomes[pass][-last]++;
            if (took > worst) worst = took;
            bool subscribed = r.rc[C_SUB] == CANAL_OK;
            close(sfd);
            /* the same client, reconnected, must work again */
            uint8_t clean[8192];
            size_t cn = 0;
            memcpy(clean, sess, frame_end[1]);
            cn = frame_end[1];
            if (subscribed) cn += unhex(ACK_OK, clean + cn, sizeof clean - cn); /* the re-subscription */
            memcpy(clean + cn, sess + frame_end[1], sess_n - frame_end[1]);
            cn += sess_n - frame_end[1];
            sfd = prewritten(clean, cn, true, &cfd);
            run_session(c, cfd, &r);
            if (!all_ok(&r)) {
                ok = false;
                if (bad < 5) fprintf(stderr, "  recovery failed: %s\n", canal_errstr(c));
            }
            canal_client_free(c);
            close(sfd);
            if (h.blocks || h.bytes || h.foreign_frees) ok = false;
            if (!ok) {
                if (bad < 5)
                    fprintf(stderr, "  corrupt byte %zu (%s): took %lld ms, heap %ld/%ld\n", i,
                            pass ? "+1" : "^0xff", (long long)took, h.blocks, h.bytes);
                bad++;
            }
            runs++;
        }
    free(s);
    CHECK(bad == 0);
    CHECK(count_fds() == fds0);
    printf("  corrupt: %zu sessions (bytes 0..%zu in steps of %d, ^0xff and +1), %d wrong, "
           "slowest %lld ms (read timeout %d)\n",
           runs, sess_n - 1, scale, bad, (long long)worst, T);
    for (int pass = 0; pass < 2; pass++) {
        printf("    %s:", pass ? "+1   " : "^0xff");
        for (int e = 0; e < 10; e++)
            if (outcomes[pass][e]) printf(" %s %d", canal_strerror(-e), outcomes[pass][e]);
        printf("\n");
    }
}

/* ------------------------------------------------------------ (c) drip */

static void test_drip_one_byte_at_a_time(void) {
    REQUIRE(sess_n > 0);
    heap_stats h;
    memset(&h, 0, sizeof h);
    canal_options o = opts(&h, 10000);
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    int cfd;
    pid_t pid = slow_peer(sess, sess_n, 0, 1, 100, &cfd);
    REQUIRE(pid > 0);
    result r;
    int64_t t0 = now_ms();
    run_session(c, cfd, &r);
    int64_t took = now_ms() - t0;
    CHECK(all_ok(&r));
    if (!all_ok(&r)) fprintf(stderr, "  drip: %s\n", canal_errstr(c));
    canal_client_free(c);
    reap(pid);
    CHECK(h.blocks == 0 && h.bytes == 0);
    printf("  drip: %zu bytes one at a time in %lld ms\n", sess_n, (long long)took);
}

/* ------------------------------------------------------------ (d) stalls */

static void test_stall_times_out(void) {
    const int T = 300, MARGIN = 200;
    struct {
        const char *what;
        size_t bytes; /* of the session, then silence */
        int call;     /* the call that must time out */
        int wait;     /* the GET's own wait, allowed before the reply's first byte */
    } cases[] = {
        {"no handshake", 0, C_CONNECT, 0},
        {"half a handshake", 10, C_CONNECT, 0},
        {"GET reply: half a header", frame_end[2] + 2, C_GET7, 0},
        {"GET reply: half a body", frame_end[2] + 400, C_GET7, 0},
        {"after the first batch", frame_end[3], C_GET8, 1000}, /* run_session's GET wait */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        canal_options o = opts(NULL, T);
        canal_client *c = canal_client_new(&o);
        REQUIRE(c != NULL);
        int cfd, sfd = prewritten(sess, cases[k].bytes, false, &cfd);
        result r;
        run_session(c, cfd, &r);
        int i = cases[k].call, want = T + cases[k].wait;
        CHECK(r.rc[i] == CANAL_ETIMEOUT);
        CHECK(r.took_ms[i] >= want - 5 && r.took_ms[i] <= want + MARGIN);
        if (r.rc[i] != CANAL_ETIMEOUT || r.took_ms[i] > want + MARGIN)
            fprintf(stderr, "  stall '%s': %s after %lld ms: %s\n", cases[k].what,
                    canal_strerror(r.rc[i]), (long long)r.took_ms[i], canal_errstr(c));
        CHECK(!canal_is_connected(c));
        canal_client_free(c);
        close(sfd);
    }
    /* a GET reply dripped a byte every 40 ms never leaves the read timeout
     * (silence) a chance: call_timeout_ms bounds the whole call */
    canal_options o = opts(NULL, T);
    o.call_timeout_ms = T;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    int cfd;
    pid_t pid = slow_peer(sess, frame_end[3], frame_end[2], 1, 40000, &cfd);
    REQUIRE(pid > 0);
    const canal_message *m;
    CHECK(canal_connect_fd(c, cfd) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    int64_t t0 = now_ms();
    int rc = canal_get(c, 10, 100, &m);
    int64_t took = now_ms() - t0;
    CHECK(rc == CANAL_ETIMEOUT && took >= T - 5 && took <= T + MARGIN);
    if (rc != CANAL_ETIMEOUT || took > T + MARGIN)
        fprintf(stderr, "  drip past the deadline: %s after %lld ms\n", canal_strerror(rc),
                (long long)took);
    canal_client_free(c);
    reap(pid);

    /* connect: the handshake at 2/3 T and the auth Ack at 4/3 T, each in
     * time for the read timeout: the connect succeeds, unless a call bound
     * of T ends it */
    for (int bound = 0; bound < 2; bound++) {
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        pid = fork_flushed();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(sv[0]);
            sleep_us(T * 2000 / 3);
            if (write(sv[1], sess, frame_end[0]) < 0) _exit(1);
            sleep_us(T * 2000 / 3);
            if (write(sv[1], sess + frame_end[0], frame_end[1] - frame_end[0]) < 0) _exit(1);
            char buf[512];
            while (read(sv[1], buf, sizeof buf) > 0) {
            }
            _exit(0);
        }
        close(sv[1]);
        o.call_timeout_ms = bound ? T : 0;
        c = canal_client_new(&o);
        REQUIRE(c != NULL);
        t0 = now_ms();
        rc = canal_connect_fd(c, sv[0]);
        took = now_ms() - t0;
        if (bound) CHECK(rc == CANAL_ETIMEOUT && took >= T - 5 && took <= T + MARGIN);
        else CHECK(rc == CANAL_OK && took >= T * 4 / 3 - 5);
        if (bound ? rc != CANAL_ETIMEOUT || took > T + MARGIN : rc != CANAL_OK)
            fprintf(stderr, "  connect_fd with two replies %d ms apart%s: %s after %lld ms\n",
                    T * 2 / 3, bound ? " and a call bound" : "", canal_strerror(rc),
                    (long long)took);
        canal_client_free(c);
        reap(pid);
    }
    printf("  stall: 8 cases, ETIMEOUT within %d..%d ms of silence (or of the call bound)\n", T,
           T + MARGIN);
}

/* ------------------------------------------------------------ (e) connect */

/* A TCP socket on a free port of 127.0.0.1, listening with `backlog`, or
 * only bound when backlog < 0; sets *port. -1 on failure. */
static int loopback_socket(int backlog, int *port) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (backlog >= 0 && listen(fd, backlog) < 0) ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A TCP port on 127.0.0.1 bound but not listening: connects are refused.
 * The socket is kept so nobody else takes the port. */
static int refusing_port(int *keep) {
    int port = -1;
    *keep = loopback_socket(-1, &port);
    return *keep < 0 ? -1 : port;
}

/* Try a non-blocking connect; true when it completes within ms. */
static bool connects_within(int port, int ms, int *fd_out) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    *fd_out = fd;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return true;
    if (errno != EINPROGRESS) return false;
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, ms) != 1) return false;
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    return err == 0;
}

static void test_connect_refused_and_black_hole(void) {
    int fds0 = count_fds();
    int keep, port = refusing_port(&keep);
    REQUIRE(port > 0);
    canal_options o = opts(NULL, 1000);
    o.host = "127.0.0.1";
    o.port = port;
    o.connect_timeout_ms = 5000;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    int64_t t0 = now_ms();
    int rc = canal_connect(c);
    int64_t took = now_ms() - t0;
    CHECK(rc == CANAL_EIO);
    CHECK(took < 200);
    CHECK_CONTAINS(canal_errstr(c), "refused");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    close(keep);
    printf("  refused: %s in %lld ms\n", canal_strerror(rc), (long long)took);

    /* Black hole: a listener with backlog 0 that never accepts. Once its
     * accept queue holds one connection, Linux drops further SYNs, so a
     * connect stays in progress until the client gives up. */
    int bh_port = -1;
    int l = loopback_socket(0, &bh_port);
    REQUIRE(l >= 0);
    int fill[4], nfill = 0, probe = -1;
    bool hole = false;
    for (int i = 0; i < 4 && !hole; i++) {
        int fd = -1;
        bool done = connects_within(bh_port, 150, &fd);
        if (done) fill[nfill++] = fd;
        else {
            probe = fd;
            hole = true;
        }
    }
    if (probe >= 0) close(probe);
    if (!hole) {
        printf("  note: this kernel completes connects to a full backlog-0 listener; "
               "the black-hole check is skipped\n");
    } else {
        const int CT = 300;
        o.port = bh_port;
        o.connect_timeout_ms = CT;
        c = canal_client_new(&o);
        REQUIRE(c != NULL);
        t0 = now_ms();
        rc = canal_connect(c);
        took = now_ms() - t0;
        CHECK(rc == CANAL_ETIMEOUT);
        CHECK(took >= CT - 5 && took <= CT + 200);
        CHECK_CONTAINS(canal_errstr(c), "timed out");
        canal_client_free(c);
        printf("  black hole: %s after %lld ms (connect_timeout_ms %d)\n", canal_strerror(rc),
               (long long)took, CT);
    }
    for (int i = 0; i < nfill; i++) close(fill[i]);
    close(l);
    CHECK(count_fds() == fds0);
}

/* ------------------------------------------------------------ (f) cycles */

static void test_cycles_leave_nothing(void) {
    REQUIRE(get7_n > 0);
    const int N = 10000 / scale;
    uint8_t first[4096], again[4096];
    size_t fn = 0, an = 0;
    /* the first connect subscribes fresh; later ones re-subscribe first */
    fn += unhex(HS ACK_OK ACK_OK, first + fn, sizeof first - fn);
    memcpy(first + fn, get7, get7_n);
    fn += get7_n;
    an += unhex(HS ACK_OK ACK_OK ACK_OK, again + an, sizeof again - an);
    memcpy(again + an, get7, get7_n);
    an += get7_n;

    heap_stats h;
    memset(&h, 0, sizeof h);
    canal_options o = opts(&h, 2000);
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    int fds0 = count_fds();
    long warm_blocks = 0, warm_bytes = 0;
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int cfd, sfd = i == 0 ? prewritten(first, fn, true, &cfd) : prewritten(again, an, true, &cfd);
        const canal_message *m = NULL;
        bool ok = canal_connect_fd(c, cfd) == CANAL_OK && canal_subscribe(c, "shop\\..*") == CANAL_OK &&
                  canal_get(c, 100, 1000, &m) == CANAL_OK && m && m->batch_id == 7 &&
                  canal_ack(c, 7) == CANAL_OK;
        canal_disconnect(c);
        close(sfd);
        if (!ok && bad++ < 3) fprintf(stderr, "  cycle %d: %s\n", i, canal_errstr(c));
        if (i == 0) warm_blocks = h.blocks, warm_bytes = h.bytes;
    }
    int fds1 = count_fds();
    CHECK(bad == 0);
    CHECK(fds1 == fds0);
    CHECK(h.blocks == warm_blocks && h.bytes == warm_bytes);
    printf("  cycles: %d connect/subscribe/get/ack/disconnect: fds %d -> %d, client heap after "
           "the first %ld blocks/%ld bytes, after the last %ld/%ld\n",
           N, fds0, fds1, warm_blocks, warm_bytes, h.blocks, h.bytes);
    canal_client_free(c);
    CHECK(h.blocks == 0 && h.bytes == 0 && h.foreign_frees == 0);

    /* failed connects */
    int keep, port = refusing_port(&keep);
    REQUIRE(port > 0);
    memset(&h, 0, sizeof h);
    o = opts(&h, 2000);
    o.port = port;
    c = canal_client_new(&o);
    REQUIRE(c != NULL);
    long b0 = h.blocks, y0 = h.bytes;
    fds0 = count_fds();
    bad = 0;
    for (int i = 0; i < N; i++)
        if (canal_connect(c) != CANAL_EIO) bad++;
    fds1 = count_fds();
    CHECK(bad == 0);
    CHECK(fds1 == fds0);
    CHECK(h.blocks == b0 && h.bytes == y0);
    printf("  refused connects: %d: fds %d -> %d, client heap %ld/%ld -> %ld/%ld\n", N, fds0,
           fds1, b0, y0, h.blocks, h.bytes);
    canal_client_free(c);
    close(keep);
    CHECK(h.blocks == 0 && h.bytes == 0 && h.foreign_frees == 0);
}

/* ------------------------------------------------------------ (g) SIGPIPE */

static void test_sigpipe(void) {
    /* the handler really is the default one: a SIGPIPE would kill us */
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL);

    /* socketpair: the peer closes; every request send hits EPIPE */
    uint8_t s[64];
    size_t n = unhex(HS ACK_OK, s, sizeof s);
    canal_options o = opts(NULL, 1000);
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    int cfd, sfd = prewritten(s, n, true, &cfd);
    CHECK(canal_connect_fd(c, cfd) == CANAL_OK);
    close(sfd);
    CHECK(canal_rollback(c, 0) == CANAL_EIO);
    CHECK(!canal_is_connected(c));
    sfd = prewritten(s, n, true, &cfd);
    CHECK(canal_connect_fd(c, cfd) == CANAL_OK);
    close(sfd);
    const canal_message *m;
    CHECK(canal_get(c, 1, 1, &m) == CANAL_EIO);
    canal_client_free(c);

    /* TCP: a forked server sends the handshake and auth Ack, then closes
     * with the client's requests unread (a reset) */
    int tcp_port = -1;
    int l = loopback_socket(4, &tcp_port);
    REQUIRE(l >= 0);
    pid_t pid = fork_flushed();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = accept(l, NULL, NULL);
        if (fd < 0 || write(fd, s, n) != (ssize_t)n) _exit(1);
        sleep_us(200000); /* let the auth and rollback requests arrive unread */
        close(fd);
        _exit(0);
    }
    o.port = tcp_port;
    c = canal_client_new(&o);
    REQUIRE(c != NULL);
    CHECK(canal_connect(c) == CANAL_OK);
    waitpid(pid, NULL, 0);
    int rc = CANAL_OK, tries = 0;
    while (rc == CANAL_OK && tries < 10) {
        rc = canal_rollback(c, 0);
        tries++;
        sleep_us(10000);
    }
    CHECK(rc == CANAL_EIO);
    printf("  sigpipe: survived; TCP send failed after %d sends: %s\n", tries, canal_errstr(c));
    canal_client_free(c);
    close(l);
}

/* ------------------------------------------------------------ (h) mistakes */

static void test_caller_mistakes(void) {
    const canal_message *m = (const canal_message *)&m;
    canal_rowchange rc;
    canal_entry e;
    uint8_t out[8];
    size_t on = 99;
    memset(&e, 0, sizeof e);
    e.entry_type = CANAL_ROWDATA;
    e.store_value.ptr = out;

    /* NULL clients */
    CHECK(canal_version() == CANAL_VERSION_NUMBER);
    canal_client *d = canal_client_new(NULL); /* NULL options: the defaults */
    CHECK(d != NULL && canal_errcode(d) == CANAL_OK && !canal_is_connected(d));
    canal_client_free(d);
    canal_options_init(NULL);
    canal_client_free(NULL);
    canal_disconnect(NULL);
    CHECK(canal_connect(NULL) == CANAL_EINVAL);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(canal_connect_fd(NULL, sv[0]) == CANAL_EINVAL);
    close(sv[0]);
    close(sv[1]);
    CHECK(!canal_is_connected(NULL));
    CHECK(canal_subscribe(NULL, "x") == CANAL_EINVAL);
    CHECK(canal_unsubscribe(NULL) == CANAL_EINVAL);
    CHECK(canal_get(NULL, 1, 1, &m) == CANAL_EINVAL);
    CHECK(canal_ack(NULL, 1) == CANAL_EINVAL);
    CHECK(canal_rollback(NULL, 0) == CANAL_EINVAL);
    CHECK(canal_errcode(NULL) == CANAL_EINVAL);
    CHECK(canal_errstr(NULL) != NULL);
    CHECK(canal_server_code(NULL) == 0);
    CHECK(canal_entry_rowchange(NULL, &e, &rc) == CANAL_EINVAL);
    CHECK(canal_message_parse(NULL, out, 1, true, &m) == CANAL_EINVAL);
    CHECK(canal_strerror(12345) != NULL && canal_strerror(CANAL_EIO) != NULL);
    CHECK(canal_entry_type_name(-1) != NULL && canal_entry_type_name(1 << 30) != NULL);
    CHECK(canal_event_type_name(-1) != NULL && canal_event_type_name(1 << 30) != NULL);

    /* NULL arguments to a live client */
    heap_stats h;
    memset(&h, 0, sizeof h);
    canal_options o = opts(&h, 1000);
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    CHECK(canal_entry_rowchange(c, NULL, &rc) == CANAL_EINVAL);
    CHECK(canal_entry_rowchange(c, &e, NULL) == CANAL_EINVAL);
    CHECK(canal_message_parse(c, NULL, 5, true, &m) == CANAL_EINVAL);
    CHECK(canal_message_parse(c, out, 1, true, NULL) == CANAL_EINVAL);
    CHECK(canal_message_parse(c, NULL, 0, false, &m) == CANAL_OK && m && m->n_entries == 0);
    CHECK(canal_latin1_to_bytes(NULL, 1, out, &on) == CANAL_EINVAL);
    CHECK(canal_latin1_to_bytes("a", 1, NULL, &on) == CANAL_EINVAL);
    CHECK(canal_latin1_to_bytes("a", 1, out, NULL) == CANAL_EINVAL);
    CHECK(canal_latin1_to_bytes(NULL, 0, NULL, &on) == CANAL_OK && on == 0);
    CHECK(canal_connect_fd(c, -1) == CANAL_EINVAL);
    /* calls before connecting */
    CHECK(canal_subscribe(c, NULL) == CANAL_ESTATE);
    CHECK(canal_unsubscribe(c) == CANAL_ESTATE);
    CHECK(canal_get(c, 1, 1, &m) == CANAL_ESTATE && m == NULL);
    CHECK(canal_ack(c, 1) == CANAL_ESTATE);
    CHECK(canal_rollback(c, 0) == CANAL_ESTATE);

    /* connected: bad batch ids and a NULL out keep the connection */
    uint8_t s[4096];
    size_t n = unhex(HS ACK_OK ACK_OK, s, sizeof s);
    memcpy(s + n, get7, get7_n);
    n += get7_n;
    memcpy(s + n, get8, get8_n);
    n += get8_n;
    int cfd, sfd = prewritten(s, n, true, &cfd);
    CHECK(canal_connect_fd(c, cfd) == CANAL_OK);
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    CHECK(canal_get(c, 1, 1, NULL) == CANAL_EINVAL);
    CHECK(canal_is_connected(c));
    CHECK(canal_ack(c, 7) == CANAL_EINVAL); /* nothing outstanding yet */
    CHECK(canal_get(c, 100, 1, &m) == CANAL_OK && m && m->batch_id == 7);
    CHECK(canal_get(c, 100, 1, &m) == CANAL_OK && m && m->batch_id == 8);
    CHECK(canal_ack(c, -1) == CANAL_OK); /* the empty batch: a no-op */
    CHECK(canal_ack(c, 0) == CANAL_EINVAL);
    CHECK(canal_ack(c, 12345) == CANAL_EINVAL);
    CHECK(canal_ack(c, INT64_MIN) == CANAL_EINVAL);
    CHECK(canal_rollback(c, 12345) == CANAL_EINVAL);
    CHECK(canal_ack(c, 8) == CANAL_ESTATE); /* out of order */
    CHECK(canal_rollback(c, 8) == CANAL_ESTATE);
    CHECK(canal_is_connected(c));
    canal_entry not_rows = m->entries[0]; /* TRANSACTIONBEGIN */
    CHECK(canal_entry_rowchange(c, &not_rows, &rc) == CANAL_EINVAL);
    CHECK(canal_ack(c, 7) == CANAL_OK);
    CHECK(canal_ack(c, 7) == CANAL_EINVAL); /* twice */
    /* then a fatal error (EOF): everything after it fails cleanly */
    CHECK(canal_get(c, 1, 1, &m) == CANAL_EIO && m == NULL);
    CHECK(!canal_is_connected(c));
    CHECK(canal_ack(c, 8) == CANAL_ESTATE); /* dead with the connection */
    CHECK(canal_rollback(c, 0) == CANAL_ESTATE);
    CHECK(canal_subscribe(c, "x") == CANAL_ESTATE);
    CHECK(canal_unsubscribe(c) == CANAL_ESTATE);
    CHECK(canal_get(c, 1, 1, &m) == CANAL_ESTATE);
    CHECK(canal_errstr(c)[0] != '\0');
    canal_disconnect(c);
    canal_disconnect(c);
    close(sfd);

    /* descriptors that are not sockets, or not open */
    int p[2];
    REQUIRE(pipe(p) == 0);
    int fds0 = count_fds();
    CHECK(canal_connect_fd(c, p[0]) == CANAL_EIO);
    CHECK(!fd_is_open(p[0])); /* the client owns it and closed it */
    CHECK(count_fds() == fds0 - 1);
    close(p[1]);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(canal_connect_fd(c, devnull) == CANAL_EIO);
    CHECK(!fd_is_open(devnull));
    CHECK(canal_connect_fd(c, 100000) == CANAL_EIO);
    canal_client_free(c);
    CHECK(h.blocks == 0 && h.bytes == 0 && h.foreign_frees == 0);

    /* invalid options: a client that refuses everything */
    canal_options b;
    for (int k = 0; k < 8; k++) {
        canal_options_init(&b);
        switch (k) {
        case 0: b.port = 0; break;
        case 1: b.host = ""; break;
        case 2: b.destination = NULL; break;
        case 3: b.client_id = 40000; break;
        case 4: b.read_timeout_ms = 0; break;
        case 5: b.connect_timeout_ms = -1; break;
        case 6: b.max_frame = 8; break;
        case 7: b.malloc_fn = h_malloc; break; /* half the hooks */
        }
        c = canal_client_new(&b);
        REQUIRE(c != NULL);
        CHECK(canal_errcode(c) == CANAL_EINVAL);
        CHECK(canal_connect(c) == CANAL_EINVAL);
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(canal_connect_fd(c, sv[0]) == CANAL_EINVAL);
        CHECK(!fd_is_open(sv[0]));
        close(sv[1]);
        CHECK(canal_subscribe(c, "") == CANAL_EINVAL);
        CHECK(canal_get(c, 1, 1, &m) == CANAL_EINVAL);
        CHECK(canal_ack(c, 1) == CANAL_EINVAL);
        CHECK(canal_rollback(c, 0) == CANAL_EINVAL);
        CHECK(canal_unsubscribe(c) == CANAL_EINVAL);
        CHECK(!canal_is_connected(c));
        /* decoding needs no connection and works on any client (canal.h) */
        CHECK(canal_message_parse(c, NULL, 0, false, &m) == CANAL_OK);
        canal_client_free(c);
    }
}

/* ------------------------------------------------------------ (i) alloc failures */

static void test_each_allocation_fails(void) {
    REQUIRE(sess_n > 0);
    int bad = 0;
    long n_alloc = 0;
    /* how many allocations a clean session makes */
    {
        heap_stats h;
        memset(&h, 0, sizeof h);
        canal_options o = opts(&h, 2000);
        canal_client *c = canal_client_new(&o);
        REQUIRE(c != NULL);
        int cfd, sfd = prewritten(sess, sess_n, true, &cfd);
        result r;
        run_session(c, cfd, &r);
        CHECK(all_ok(&r));
        canal_client_free(c);
        close(sfd);
        n_alloc = h.calls;
    }
    int enomem = 0;
    for (long k = 1; k <= n_alloc; k++) {
        heap_stats h;
        memset(&h, 0, sizeof h);
        h.fail_at = k;
        canal_options o = opts(&h, 2000);
        canal_client *c = canal_client_new(&o);
        if (!c) {
            if (h.blocks || h.bytes) bad++;
            continue;
        }
        int cfd, sfd = prewritten(sess, sess_n, true, &cfd);
        result r;
        run_session(c, cfd, &r);
        bool ok = true;
        for (int i = 0; i < N_CALLS; i++) {
            if (!valid_code(r.rc[i])) ok = false;
            if (r.rc[i] == CANAL_ENOMEM) enomem++;
        }
        canal_client_free(c);
        close(sfd);
        if (h.blocks || h.bytes || h.foreign_frees) ok = false;
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  allocation %ld failing: heap %ld/%ld left\n", k, h.blocks,
                        h.bytes);
            bad++;
        }
    }
    CHECK(bad == 0);
    printf("  alloc failures: each of %ld allocations of a session failed in turn, %d ENOMEM "
           "returns, %d wrong\n",
           n_alloc, enomem, bad);

    /* Decoding alone (message_parse + rowchange of every entry): when an
     * allocation fails, the call says so with CANAL_ENOMEM, never as
     * malformed data. */
    uint8_t pk[2048];
    size_t pn = read_fixture("packet_raw.bin", pk, sizeof pk);
    REQUIRE(pn > 0);
    int mislabeled = 0, failures = 0;
    for (long k = 1;; k++) {
        heap_stats h;
        memset(&h, 0, sizeof h);
        canal_options o = opts(&h, 2000);
        canal_client *c = canal_client_new(&o);
        REQUIRE(c != NULL);
        long base = h.calls;
        h.fail_at = base + k;
        const canal_message *m;
        int rc = canal_message_parse(c, pk, pn, true, &m);
        if (rc != CANAL_OK && rc != CANAL_ENOMEM) mislabeled++;
        for (size_t i = 0; rc == CANAL_OK && i < m->n_entries; i++) {
            canal_rowchange rch;
            if (m->entries[i].entry_type != CANAL_ROWDATA) continue;
            int r = canal_entry_rowchange(c, &m->entries[i], &rch);
            if (r != CANAL_OK && r != CANAL_ENOMEM) {
                if (mislabeled < 3)
                    fprintf(stderr, "  decode allocation %ld failing: %s: %s\n", k,
                            canal_strerror(r), canal_errstr(c));
                mislabeled++;
            }
        }
        bool fired = h.calls >= h.fail_at;
        canal_client_free(c);
        CHECK(h.blocks == 0 && h.bytes == 0);
        if (!fired) break;
        failures++;
    }
    CHECK(mislabeled == 0);
    printf("  decode alloc failures: each of %d allocations failed in turn, %d reported as "
           "something else than ENOMEM\n",
           failures, mislabeled);
}

/* ------------------------------------------------------------ (j) guards */

/* Behaviour a slip in canal.c would change without any test above noticing
 * (each found by making the slip): exact request bytes, which error Acks
 * are errors and whose, deadlines, props pointers, what ends a message. The
 * server is a scripted peer; what the client sent comes back from it. */

#define RAW_GET_5 "0000000e 1807 2a0a 0805 12020a00 12021002" /* §2: entry 2 is ROWDATA */
#define RAW_GET_6 "0000000a 1807 2a06 0806 12020a00"
#define REQ_HEAD "0a076578616d706c65 120431303031" /* destination "example", client id "1001" */

typedef struct script {
    uint8_t b[64 * 1024];
    size_t n;
} script;

static void sc_hex(script *s, const char *hex) { s->n += unhex(hex, s->b + s->n, sizeof s->b - s->n); }

/* An Ack frame as Canal's server writes it (version 1, type ACK). */
static void sc_ack(script *s, bool has_code, int code, const char *text) {
    uint8_t ack[512], pk[600];
    size_t an = 0, pn = 0;
    if (has_code) an += pw_int(ack + an, 1, code);
    if (text && *text) an += pw_str(ack + an, 2, text);
    pn += pw_int(pk + pn, 2, 1);
    pn += pw_int(pk + pn, 3, 3);
    pn += pw_bytes(pk + pn, 5, ack, an);
    s->n += pw_frame(s->b + s->n, pk, pn);
}

static canal_options guard_opts(bool rollback_on_connect) {
    canal_options o = opts(NULL, 2000);
    o.rollback_on_connect = rollback_on_connect;
    o.get_pipeline = 1; /* the scripts hold one reply per request sent */
    return o;
}

/* A client connected to a peer playing `s`; NULL if the connect failed. */
static canal_client *guard_client(const canal_options *o, const script *s, peer *p) {
    *p = peer_start(s->b, s->n, 0, 0, PEER_KEEP);
    canal_client *c = canal_client_new(o);
    if (!c) return NULL;
    if (canal_connect_fd(c, p->fd) != CANAL_OK) {
        fprintf(stderr, "  guard connect: %s\n", canal_errstr(c));
        canal_client_free(c);
        return NULL;
    }
    return c;
}

/* Frame i of what the client sent is exactly `hex` (a Packet body). */
static bool sent_frame_is(const uint8_t *sent, size_t sn, int i, const char *hex) {
    const uint8_t *body[16];
    size_t len[16];
    uint8_t want[512];
    size_t wn = unhex(hex, want, sizeof want);
    int k = split_frames(sent, sn, body, len, 16);
    bool ok = i < k && len[i] == wn && memcmp(body[i], want, wn) == 0;
    if (!ok) {
        fprintf(stderr, "  frame %d of %d sent: ", i, k);
        for (size_t j = 0; i < k && j < len[i]; j++) fprintf(stderr, "%02x", body[i][j]);
        fprintf(stderr, "\n           expected: %s\n", hex);
    }
    return ok;
}

static int sent_frames(const uint8_t *sent, size_t sn) {
    const uint8_t *body[16];
    size_t len[16];
    return split_frames(sent, sn, body, len, 16);
}

/* Get with wait 0 (wait for a full batch) sends timeout 0, present, not
 * -1; canal_rollback(c, id) sends that id; later batches stay ackable. */
static void test_guard_get_wait0_and_rollback_id_bytes(void) {
    static script s;
    static uint8_t sent[8192];
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5 RAW_GET_6);
    canal_options o = guard_opts(false);
    peer p;
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    const canal_message *m;
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 5, 0, &m) == CANAL_OK && m && m->batch_id == 5);
    CHECK(canal_get(c, 5, 0, &m) == CANAL_OK && m && m->batch_id == 6);
    CHECK(canal_rollback(c, 5) == CANAL_OK);
    CHECK(canal_ack(c, 6) == CANAL_OK); /* the server keeps 6 registered: so do we */
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    /* auth, sub, get, get, rollback, ack (protoc --decode agrees: fetch_size 5,
     * timeout 0, unit 2, auto_ack false; batch_id 5; batch_id 6) */
    CHECK(sent_frames(sent, sn) == 6);
    CHECK(sent_frame_is(sent, sn, 2, "18062a17" REQ_HEAD "1805 2000 2802 3000"));
    CHECK(sent_frame_is(sent, sn, 3, "18062a17" REQ_HEAD "1805 2000 2802 3000"));
    CHECK(sent_frame_is(sent, sn, 4, "180c2a11" REQ_HEAD "1805"));
    CHECK(sent_frame_is(sent, sn, 5, "18082a11" REQ_HEAD "1806"));
}

/* §10.2 trap 9: only a positive code is an error. An Ack where MESSAGES
 * was due that is no error is a broken protocol: close. */
static void test_guard_ack_codes(void) {
    static script s;
    const canal_message *m;
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK);
    sc_ack(&s, true, -1, "negative is fine");   /* answers Sub */
    sc_ack(&s, true, -3, "still no error");     /* answers Get */
    canal_options o = guard_opts(false);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_errcode(c) == CANAL_OK && canal_server_code(c) == 0);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_EPROTO && m == NULL);
    CHECK_CONTAINS(canal_errstr(c), "got an ACK without error");
    CHECK(canal_server_code(c) == 0);
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);

    /* a success Ack (no code, no body) answering a GET */
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK);
    c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "got an ACK without error");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

/* Which ack or rollback a refusal is pinned on. Every case: connect (with
 * or without the rollback on connect), `hex` answers, calls, then one GET
 * answered by an error Ack with `text`; its errstr must contain `want`. */
enum { G_SUB = 1, G_GET5 = 2, G_GET6 = 4, G_ACK5 = 8, G_ACK6 = 16, G_RB0 = 32, G_RB5 = 64 };

static void refusal_case(bool rb_on_connect, const char *hex, int calls, const char *text,
                         const char *want, bool still_connected) {
    static script s;
    const canal_message *m;
    peer p;
    s.n = 0;
    sc_hex(&s, hex);
    sc_ack(&s, true, 400, text);
    canal_options o = guard_opts(rb_on_connect);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    if (calls & G_SUB) CHECK(canal_subscribe(c, "") == CANAL_OK);
    if (calls & G_GET5) CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
    if (calls & G_GET6) CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 6);
    if (calls & G_RB5) CHECK(canal_rollback(c, 5) == CANAL_OK);
    if (calls & G_ACK5) CHECK(canal_ack(c, 5) == CANAL_OK);
    if (calls & G_ACK6) CHECK(canal_ack(c, 6) == CANAL_OK);
    if (calls & G_RB0) CHECK(canal_rollback(c, 0) == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    if (!strstr(canal_errstr(c), want))
        fprintf(stderr, "  refusal: wanted '%s' in: %s\n", want, canal_errstr(c));
    CHECK_CONTAINS(canal_errstr(c), want);
    CHECK(canal_is_connected(c) == still_connected);
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

static void test_guard_refusal_attribution(void) {
    /* the rollback a connect sends, versus the user's rollback of all */
    refusal_case(true, HS ACK_OK, 0, "rollback error , clientId:1001 batchId:0 is not exist",
                 "server refused the rollback sent on connect", false);
    refusal_case(false, HS ACK_OK ACK_OK, G_SUB | G_RB0,
                 "rollback error , clientId:1001 batchId:0 is not exist",
                 "server refused the rollback of all batches", false);
    refusal_case(false, HS ACK_OK ACK_OK RAW_GET_5, G_SUB | G_GET5 | G_RB5,
                 "rollback error , clientId:1001 batchId:5 is not exist",
                 "server refused the rollback of batch 5", false);
    /* two acks pending: a text naming neither blames neither, one naming
     * the second blames the second */
    refusal_case(false, HS ACK_OK ACK_OK RAW_GET_5 RAW_GET_6, G_SUB | G_GET5 | G_GET6 | G_ACK5 | G_ACK6,
                 "ack error , clientId:1001 destination:example",
                 "server refused one of the 2 acks/rollbacks sent since the last reply", false);
    refusal_case(false, HS ACK_OK ACK_OK RAW_GET_5 RAW_GET_6, G_SUB | G_GET5 | G_GET6 | G_ACK5 | G_ACK6,
                 "ack error , clientId:1001 batchId:6 is not exist , please check",
                 "server refused the ack of batch 6 (", false);
    /* nothing pending: an ack-like text answers the GET itself */
    refusal_case(false, HS ACK_OK ACK_OK, G_SUB,
                 "ack error , clientId:1001 batchId:5 is not exist", "get refused: server error 400",
                 true);

    /* An error Ack that names the GET answers it, so the acks before it
     * went through: a later ack-like refusal is the next GET's own. */
    static script s;
    const canal_message *m;
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5);
    sc_ack(&s, true, 500, "something unrelated broke. Get: destination: example");
    sc_ack(&s, true, 400, "ack error , clientId:1001 batchId:5 is not exist");
    canal_options o = guard_opts(false);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER && canal_server_code(c) == 500);
    CHECK_CONTAINS(canal_errstr(c), "get refused");
    CHECK(canal_is_connected(c));
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER && canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "get refused");
    CHECK(strstr(canal_errstr(c), "the ack of batch 5") == NULL);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);

    /* One that names no request, with the ack pending, may answer either
     * (issue 8): the connection closes rather than risk being one reply
     * out of step. */
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5);
    sc_ack(&s, true, 500, "something unrelated broke");
    c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER && canal_server_code(c) == 500);
    CHECK_CONTAINS(canal_errstr(c), "naming no request");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

/* An error Ack that answers a GET settles the acks sent before that GET:
 * a later refusal is matched against the acks sent after it only, and the
 * one it names is the one reported (not an older, settled one). */
static void test_guard_refusal_after_an_unrelated_error(void) {
    static script s;
    const canal_message *m;
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5);
    sc_ack(&s, true, 500, "Get: something unrelated broke"); /* names the GET: its own answer */
    sc_hex(&s, RAW_GET_6);
    sc_ack(&s, true, 400, "ack error , clientId:1001 batchId:6 is not exist , please check");
    canal_options o = guard_opts(false);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER && canal_server_code(c) == 500);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 6);
    CHECK(canal_ack(c, 6) == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER && canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "server refused the ack of batch 6 (");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

/* Allocation hooks that sleep on blocks of `from` bytes or more. */
typedef struct slow_heap {
    size_t from;
    long sleep_us;
    int slept;
} slow_heap;

static void *slow_malloc(void *ud, size_t n) {
    slow_heap *h = ud;
    if (n >= h->from) sleep_us(h->sleep_us), h->slept++;
    return malloc(n);
}
static void *slow_realloc(void *ud, void *p, size_t n) {
    slow_heap *h = ud;
    if (n >= h->from) sleep_us(h->sleep_us), h->slept++;
    return realloc(p, n);
}
static void slow_free(void *ud, void *p) {
    (void)ud;
    free(p);
}

/* The call's deadline (call_timeout_ms) passes while the client is not in
 * poll (here in a slow allocator growing the receive buffer): the next wait
 * must end at once, not wait for the server (which closes only after 1.5 s)
 * nor for another read timeout of silence. */
static void test_guard_deadline_passed_outside_poll(void) {
    const int T = 200;
    static script s;
    s.n = 0;
    /* a 40000-byte reply, 20000 bytes of it: the receive buffer grows as
     * they arrive (past its first 16 KiB), in the slow allocator */
    sc_hex(&s, HS ACK_OK "00009c40 1807 2a");
    memset(s.b + s.n, 0, 20000 - 3);
    s.n += 20000 - 3;
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t pid = fork_flushed();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        if (write(sv[1], s.b, s.n) < 0) _exit(1);
        sleep_us(1500000);
        _exit(0);
    }
    close(sv[1]);
    slow_heap h = {20000, 400000, 0};
    canal_options o = guard_opts(false);
    o.read_timeout_ms = T;
    o.call_timeout_ms = T;
    o.malloc_fn = slow_malloc, o.realloc_fn = slow_realloc, o.free_fn = slow_free, o.alloc_ud = &h;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    CHECK(canal_connect_fd(c, sv[0]) == CANAL_OK);
    const canal_message *m;
    int64_t t0 = now_ms();
    int rc = canal_get(c, 5, -1, &m);
    int64_t took = now_ms() - t0;
    CHECK(h.slept == 1);
    CHECK(rc == CANAL_ETIMEOUT);
    CHECK(took < 400 + T - 20); /* not another T of silence after the slow realloc */
    CHECK_CONTAINS(canal_errstr(c), "call_timeout_ms");
    if (rc != CANAL_ETIMEOUT || took >= 400 + T - 20)
        fprintf(stderr, "  deadline outside poll: %s after %lld ms: %s\n", canal_strerror(rc),
                (long long)took, canal_errstr(c));
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    reap(pid);
}

/* A reply of exactly max_frame bytes, above the first receive buffer. */
static void test_guard_reply_of_max_frame(void) {
    const size_t MAX = 20000; /* > the 16 KiB first buffer */
    static script s;
    static uint8_t f[32768];
    s.n = 0;
    sc_hex(&s, HS ACK_OK);
    size_t store = MAX, fn = 0;
    while (store > 0 && (fn = pw_messages_frame(f, 3, store)) > MAX + 4) store--;
    REQUIRE(fn == MAX + 4);
    memcpy(s.b + s.n, f, fn);
    s.n += fn;
    sc_hex(&s, "00004e21"); /* then one of max_frame + 1 */
    canal_options o = guard_opts(false);
    o.max_frame = MAX;
    peer p;
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    const canal_message *m;
    int rc = canal_get(c, 5, 10, &m);
    CHECK(rc == CANAL_OK);
    if (rc != CANAL_OK) fprintf(stderr, "  max_frame reply: %s\n", canal_errstr(c));
    if (rc == CANAL_OK) {
        CHECK(m->batch_id == 3 && m->n_entries == 1);
        bool same = m->n_entries == 1 && m->entries[0].store_value.len == store;
        for (size_t i = 0; same && i < store; i++) same = m->entries[0].store_value.ptr[i] == i % 251;
        CHECK(same);
        CHECK(canal_ack(c, 3) == CANAL_OK);
    }
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ETOOBIG);
    CHECK_CONTAINS(canal_errstr(c), "frame length 20001 exceeds max_frame 20000");
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

/* Props of every column, row and header point at their own pairs, not at
 * the first ones (a bare Messages decoded with canal_message_parse). */
static size_t pair_of(uint8_t *o, int field, const char *k, const char *v) {
    uint8_t pr[128];
    size_t n = pw_str(pr, 1, k);
    n += pw_str(pr + n, 2, v);
    return pw_bytes(o, field, pr, n);
}

static void test_guard_props_pointers(void) {
    static uint8_t col[4][256], row[2][1024], rc[4096], hdr[3][256], ent[3][4096], msg[16384];
    size_t cn[4] = {0}, rn[2] = {0}, rcn = 0, hn[3] = {0}, en[3] = {0}, mn = 0;
    /* row 0: after columns a (1 prop) and b (2 props), 1 row prop;
     * row 1: before column c (no props), d (1 prop), 1 row prop */
    const char *names[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) cn[i] = pw_str(col[i], 3, names[i]);
    cn[0] += pair_of(col[0] + cn[0], 7, "ka", "va");
    cn[1] += pair_of(col[1] + cn[1], 7, "kb1", "vb1");
    cn[1] += pair_of(col[1] + cn[1], 7, "kb2", "vb2");
    cn[3] += pair_of(col[3] + cn[3], 7, "kd", "vd");
    rn[0] += pw_bytes(row[0] + rn[0], 2, col[0], cn[0]);
    rn[0] += pw_bytes(row[0] + rn[0], 2, col[1], cn[1]);
    rn[0] += pair_of(row[0] + rn[0], 3, "row", "r0");
    rn[1] += pw_bytes(row[1] + rn[1], 1, col[2], cn[2]);
    rn[1] += pw_bytes(row[1] + rn[1], 1, col[3], cn[3]);
    rn[1] += pair_of(row[1] + rn[1], 3, "row", "r1");
    rcn += pw_int(rc + rcn, 1, 42);
    rcn += pw_bytes(rc + rcn, 12, row[0], rn[0]);
    rcn += pw_bytes(rc + rcn, 12, row[1], rn[1]);
    /* headers: 1 prop, none, 2 props */
    hn[0] += pw_str(hdr[0], 8, "s0");
    hn[0] += pair_of(hdr[0] + hn[0], 12, "h", "h0");
    hn[1] += pw_str(hdr[1], 8, "s1");
    hn[2] += pw_str(hdr[2], 8, "s2");
    hn[2] += pair_of(hdr[2] + hn[2], 12, "h", "h2a");
    hn[2] += pair_of(hdr[2] + hn[2], 12, "h", "h2b");
    for (int i = 0; i < 3; i++) {
        en[i] += pw_bytes(ent[i] + en[i], 1, hdr[i], hn[i]);
        en[i] += pw_int(ent[i] + en[i], 2, CANAL_ROWDATA);
        en[i] += pw_bytes(ent[i] + en[i], 3, rc, rcn);
    }
    mn += pw_int(msg, 1, 9);
    for (int i = 0; i < 3; i++) mn += pw_bytes(msg + mn, 2, ent[i], en[i]);

    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    const canal_message *m;
    REQUIRE(canal_message_parse(c, msg, mn, false, &m) == CANAL_OK);
    REQUIRE(m->batch_id == 9 && m->n_entries == 3);
    const canal_header *h = &m->entries[0].header;
    REQUIRE(h[0].n_props == 1);
    CHECK_STRN(h[0].props[0].value.ptr, h[0].props[0].value.len, "h0");
    h = &m->entries[1].header;
    CHECK(h->n_props == 0 && h->props == NULL);
    CHECK_STRN(h->schema_name.ptr, h->schema_name.len, "s1");
    h = &m->entries[2].header;
    REQUIRE(h->n_props == 2);
    CHECK_STRN(h->props[0].value.ptr, h->props[0].value.len, "h2a");
    CHECK_STRN(h->props[1].value.ptr, h->props[1].value.len, "h2b");

    canal_rowchange r;
    REQUIRE(canal_entry_rowchange(c, &m->entries[2], &r) == CANAL_OK);
    REQUIRE(r.table_id == 42 && r.n_rows == 2);
    REQUIRE(r.rows[0].n_after == 2 && r.rows[0].n_before == 0 && r.rows[0].n_props == 1);
    REQUIRE(r.rows[1].n_before == 2 && r.rows[1].n_after == 0 && r.rows[1].n_props == 1);
    CHECK_STRN(r.rows[0].props[0].value.ptr, r.rows[0].props[0].value.len, "r0");
    CHECK_STRN(r.rows[1].props[0].value.ptr, r.rows[1].props[0].value.len, "r1");
    const canal_column *a = r.rows[0].after, *b = r.rows[1].before;
    CHECK_STRN(a[0].name.ptr, a[0].name.len, "a");
    CHECK_STRN(a[1].name.ptr, a[1].name.len, "b");
    CHECK_STRN(b[0].name.ptr, b[0].name.len, "c");
    CHECK_STRN(b[1].name.ptr, b[1].name.len, "d");
    REQUIRE(a[0].n_props == 1 && a[1].n_props == 2 && b[0].n_props == 0 && b[1].n_props == 1);
    CHECK_STRN(a[0].props[0].key.ptr, a[0].props[0].key.len, "ka");
    CHECK_STRN(a[0].props[0].value.ptr, a[0].props[0].value.len, "va");
    CHECK_STRN(a[1].props[0].value.ptr, a[1].props[0].value.len, "vb1");
    CHECK_STRN(a[1].props[1].key.ptr, a[1].props[1].key.len, "kb2");
    CHECK_STRN(a[1].props[1].value.ptr, a[1].props[1].value.len, "vb2");
    CHECK(b[0].props == NULL);
    CHECK_STRN(b[1].props[0].value.ptr, b[1].props[0].value.len, "vd");
    canal_client_free(c);
}

/* canal_disconnect ends the current message: its entries are refused. */
static void test_guard_disconnect_ends_message(void) {
    static script s;
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK RAW_GET_5);
    canal_options o = guard_opts(false);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    const canal_message *m;
    canal_rowchange r;
    REQUIRE(canal_get(c, 5, 10, &m) == CANAL_OK && m->n_entries == 2);
    const canal_entry *e = &m->entries[1];
    CHECK(e->entry_type == CANAL_ROWDATA);
    CHECK(canal_entry_rowchange(c, e, &r) == CANAL_OK);
    canal_disconnect(c);
    CHECK(canal_entry_rowchange(c, e, &r) == CANAL_ESTATE);
    CHECK_CONTAINS(canal_errstr(c), "not from the current message");
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

/* After unsubscribe, acks and rollbacks are refused locally; a new
 * subscribe makes the batches the server kept ackable again. */
static void test_guard_ack_after_resubscribe(void) {
    static script s;
    static uint8_t sent[4096];
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5 ACK_OK ACK_OK);
    canal_options o = guard_opts(false);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    const canal_message *m;
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
    CHECK(canal_unsubscribe(c) == CANAL_OK);
    CHECK(canal_ack(c, 5) == CANAL_ESTATE);
    CHECK_CONTAINS(canal_errstr(c), "not subscribed");
    CHECK(canal_rollback(c, 0) == CANAL_ESTATE);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    /* auth, sub, get, unsub, sub, ack 5 */
    CHECK(sent_frames(sent, sn) == 6);
    CHECK(sent_frame_is(sent, sn, 3, "18052a0f" REQ_HEAD));
    CHECK(sent_frame_is(sent, sn, 5, "18082a11" REQ_HEAD "1805"));
}

/* canal_server_code belongs to the last error: an error that is not the
 * server's, or a success, resets it. */
static void test_guard_server_code_reset(void) {
    static script s;
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK);
    sc_ack(&s, true, 400, "bad filter");
    sc_ack(&s, true, 401, "bad filter again");
    sc_ack(&s, true, 402, "and again");
    sc_hex(&s, ACK_OK);
    canal_options o = guard_opts(false);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "x") == CANAL_ESERVER && canal_server_code(c) == 400);
    CHECK(canal_is_connected(c));
    CHECK(canal_connect_fd(c, -1) == CANAL_EINVAL);
    CHECK(canal_server_code(c) == 0);
    CHECK(canal_subscribe(c, "x") == CANAL_ESERVER && canal_server_code(c) == 401);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_ESTATE); /* its own live descriptor */
    CHECK(canal_server_code(c) == 0);
    CHECK(canal_subscribe(c, "x") == CANAL_ESERVER && canal_server_code(c) == 402);
    CHECK(canal_subscribe(c, "x") == CANAL_OK);
    CHECK(canal_server_code(c) == 0 && canal_errcode(c) == CANAL_OK && canal_errstr(c)[0] == '\0');
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

/* A refusal after a reply that came in between answers that reply's
 * successor: a good Ack or a delivered batch means the acks before it
 * went through. A stopped destination is blamed on the pending ack. */
static void test_guard_refusal_after_a_reply(void) {
    const char *refusal = "ack error , clientId:1001 batchId:5 is not exist";
    for (int k = 0; k < 2; k++) {
        static script s;
        const canal_message *m;
        peer p;
        s.n = 0;
        sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5 RAW_GET_6);
        if (k == 1) sc_hex(&s, ACK_OK); /* answers a second subscribe */
        sc_ack(&s, true, 400, refusal);
        canal_options o = guard_opts(false);
        canal_client *c = guard_client(&o, &s, &p);
        REQUIRE(c != NULL);
        CHECK(canal_subscribe(c, "") == CANAL_OK);
        CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
        CHECK(canal_ack(c, 5) == CANAL_OK);
        if (k == 0) {
            CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 6);
        } else {
            CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 6);
            CHECK(canal_ack(c, 6) == CANAL_OK);
            CHECK(canal_subscribe(c, "") == CANAL_OK);
        }
        CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER);
        CHECK_CONTAINS(canal_errstr(c), "get refused: server error 400");
        CHECK(canal_is_connected(c));
        canal_client_free(c);
        peer_finish(&p, s.b, sizeof s.b);
    }
    refusal_case(false, HS ACK_OK ACK_OK RAW_GET_5, G_SUB | G_GET5 | G_ACK5,
                 "destination:example should start first", "server refused the ack of batch 5",
                 false);
    /* a negative id names no pending ack */
    refusal_case(false, HS ACK_OK ACK_OK RAW_GET_5 RAW_GET_6, G_SUB | G_GET5 | G_GET6 | G_ACK5 | G_ACK6,
                 "ack error , clientId:1001 batchId:-6 is not exist",
                 "server refused one of the 2 acks/rollbacks", false);
}

/* Batch ids are positive: 0 (absent) or below -1 from the server is a
 * broken reply, closed. */
static void test_guard_invalid_batch_ids(void) {
    const char *replies[] = {"0000000a 1807 2a06 0800 12020a00", "00000008 1807 2a04 12020a00",
                             "00000013 1807 2a0f 08feffffffffffffffff01 12020a00"};
    const char *ids[] = {"invalid batch id 0", "invalid batch id 0", "invalid batch id -2"};
    for (int k = 0; k < 3; k++) {
        static script s;
        const canal_message *m;
        peer p;
        s.n = 0;
        sc_hex(&s, HS ACK_OK);
        sc_hex(&s, replies[k]);
        canal_options o = guard_opts(false);
        canal_client *c = guard_client(&o, &s, &p);
        REQUIRE(c != NULL);
        CHECK(canal_get(c, 5, 10, &m) == CANAL_EPROTO && m == NULL);
        if (!strstr(canal_errstr(c), ids[k])) fprintf(stderr, "  batch id case %d: %s\n", k, canal_errstr(c));
        CHECK_CONTAINS(canal_errstr(c), ids[k]);
        CHECK(!canal_is_connected(c));
        canal_client_free(c);
        peer_finish(&p, s.b, sizeof s.b);
    }
}

/* The ends of each option's range are accepted, and a client id at the
 * top of a Java short goes out as its text. */
static void test_guard_option_bounds(void) {
    canal_options o = guard_opts(false);
    o.client_id = -32768, o.port = 1, o.max_frame = 16;
    canal_client *c = canal_client_new(&o);
    REQUIRE(c != NULL);
    CHECK(canal_errcode(c) == CANAL_OK);
    canal_client_free(c);
    o.client_id = 32767, o.port = 65535, o.max_frame = 0x7fffffff;
    static script s;
    static uint8_t sent[2048];
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK);
    c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    CHECK(sent_frame_is(sent, sn, 1, "18042a10 0a076578616d706c65 1205 3332373637"));
}

/* Packet.compression NONE (1) is no compression; ZLIB (2) is refused. */
static void test_guard_compression(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    const canal_message *m;
    uint8_t b[64];
    size_t n = unhex("1807 2001 2a06 0805 12020a00", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_OK && m->batch_id == 5 && m->n_entries == 1);
    n = unhex("1807 2000 2a06 0805 12020a00", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_OK && m->batch_id == 5);
    n = unhex("1807 2002 2a06 0805 12020a00", b, sizeof b);
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_EPROTO);
    CHECK_CONTAINS(canal_errstr(c), "compression 2 is not supported");
    canal_client_free(c);
}

/* The last filter subscribed with is what a reconnect re-subscribes with
 * and what canal_subscribe(c, NULL) sends. */
static void test_guard_filter_kept_for_reconnect(void) {
    static script s;
    static uint8_t sent[4096];
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK);
    canal_options o = guard_opts(false);
    o.filter = "from.options";
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "db.t1") == CANAL_OK);
    canal_disconnect(c);
    peer_finish(&p, sent, sizeof sent);
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK ACK_OK); /* auth, re-subscription, subscribe(NULL) */
    p = peer_start(s.b, s.n, 0, 0, PEER_KEEP);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    CHECK(sent_frames(sent, sn) == 3);
    CHECK(sent_frame_is(sent, sn, 1, "18042a16" REQ_HEAD "3a05 64622e7431"));
    CHECK(sent_frame_is(sent, sn, 2, "18042a16" REQ_HEAD "3a05 64622e7431"));
}

/* The rollback a connect sends drops every batch id from before it: they
 * are refused locally, and nothing is sent for them. */
static void test_guard_connect_rollback_drops_ids(void) {
    static script s;
    static uint8_t sent[4096];
    const canal_message *m;
    peer p;
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK RAW_GET_5);
    canal_options o = guard_opts(true);
    canal_client *c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_OK && m->batch_id == 5);
    canal_disconnect(c);
    peer_finish(&p, sent, sizeof sent);
    s.n = 0;
    sc_hex(&s, HS ACK_OK ACK_OK); /* auth, re-subscription; then the rollback */
    p = peer_start(s.b, s.n, 0, 0, PEER_KEEP);
    CHECK(canal_connect_fd(c, p.fd) == CANAL_OK);
    CHECK(canal_ack(c, 5) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "batch 5 is not outstanding");
    CHECK(canal_rollback(c, 5) == CANAL_EINVAL);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    size_t sn = peer_finish(&p, sent, sizeof sent);
    CHECK(sent_frames(sent, sn) == 3); /* auth, re-subscription, rollback of all */
    CHECK(sent_frame_is(sent, sn, 2, "180c2a0f" REQ_HEAD));
}

/* A bytes field sent with a varint wire type is an unknown field, as
 * protobuf has it: skipped, never read as the field (nanopb used to hand
 * such a value over in a buffer of its own that died at once). */
static void test_guard_other_wire_types_skipped(void) {
    canal_client *c = canal_client_new(NULL);
    REQUIRE(c != NULL);
    const canal_message *m;
    uint8_t b[64];
    size_t n = unhex("1807 2805", b, sizeof b); /* Packet.body as a varint */
    CHECK(canal_message_parse(c, b, n, true, &m) == CANAL_OK);
    CHECK(m && m->batch_id == 0 && m->n_entries == 0);
    n = unhex("0805 1005", b, sizeof b); /* Messages.messages as a varint */
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK);
    CHECK(m && m->batch_id == 5 && m->n_entries == 0);
    n = unhex("0805 1202 1805", b, sizeof b); /* Entry.storeValue as a varint */
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK);
    CHECK(m && m->n_entries == 1 && m->entries[0].store_value.len == 0);
    n = unhex("0805 1202 0805", b, sizeof b); /* Entry.header as a varint */
    CHECK(canal_message_parse(c, b, n, false, &m) == CANAL_OK);
    CHECK(m && m->n_entries == 1 && !m->entries[0].has_header);
    canal_client_free(c);

    /* Handshake.seeds (the real seeds follow), and Ack.error_message where
     * a GET reply was due */
    static script s;
    peer p;
    s.n = 0;
    sc_hex(&s, "00000012 1001 1801 2a0c 1005 1208 0102030405060708" ACK_OK);
    canal_options o = guard_opts(false);
    c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
    s.n = 0;
    sc_hex(&s, HS ACK_OK "0000000b 1001 1803 2a05 089003 1005");
    c = guard_client(&o, &s, &p);
    REQUIRE(c != NULL);
    CHECK(canal_get(c, 5, 10, &m) == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "server error 400: ");
    CHECK(canal_is_connected(c)); /* it answers the GET itself */
    canal_client_free(c);
    peer_finish(&p, s.b, sizeof s.b);
}

int main(int argc, char **argv) {
    if (argc > 1) fixture_dir = argv[1];
    const char *sc = getenv("CANAL_FAULT_SCALE");
    if (sc && atoi(sc) > 1) scale = atoi(sc);
    signal(SIGPIPE, SIG_DFL); /* the client must not need SIGPIPE ignored */
    if (!build_session()) {
        fprintf(stderr, "fixtures missing in %s\n", fixture_dir);
        printf("faults: 0 passed, 1 failed\n");
        return 1;
    }
    printf("  session: %zu server bytes in 6 frames; CANAL_FAULT_SCALE=%d\n", sess_n, scale);
    int64_t t0 = now_ms();
    RUN(test_cut_after_every_byte);
    RUN(test_corrupt_every_byte);
    RUN(test_drip_one_byte_at_a_time);
    RUN(test_stall_times_out);
    RUN(test_connect_refused_and_black_hole);
    RUN(test_cycles_leave_nothing);
    RUN(test_sigpipe);
    RUN(test_caller_mistakes);
    RUN(test_each_allocation_fails);
    RUN(test_guard_get_wait0_and_rollback_id_bytes);
    RUN(test_guard_ack_codes);
    RUN(test_guard_refusal_attribution);
    RUN(test_guard_refusal_after_an_unrelated_error);
    RUN(test_guard_deadline_passed_outside_poll);
    RUN(test_guard_reply_of_max_frame);
    RUN(test_guard_props_pointers);
    RUN(test_guard_disconnect_ends_message);
    RUN(test_guard_ack_after_resubscribe);
    RUN(test_guard_server_code_reset);
    RUN(test_guard_refusal_after_a_reply);
    RUN(test_guard_invalid_batch_ids);
    RUN(test_guard_option_bounds);
    RUN(test_guard_compression);
    RUN(test_guard_filter_kept_for_reconnect);
    RUN(test_guard_connect_rollback_drops_ids);
    RUN(test_guard_other_wire_types_skipped);
    printf("  %lld ms in all\n", (long long)(now_ms() - t0));
    return TT_REPORT("faults");
}
