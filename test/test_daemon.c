/* test_daemon.c - what a polling daemon relies on, through the public API:
 *
 *   timeouts    read_timeout_ms is the longest silence, not the length of a
 *               call: a reply of more than 1 MiB dripped over three times the
 *               read timeout arrives; silence fails within its bound, counted
 *               from the last byte; call_timeout_ms stops a drip; a GET's own
 *               wait (0 = none) is added to the silence allowed before the
 *               reply; keepalive options reach the socket
 *   interrupt   a signal whose handler writes to interrupt_fd ends a connect
 *               to a black hole, a stalled GET and an idle GET wait within
 *               100 ms; a pending interrupt stops waits, not acks; nothing
 *               acked changes and the unacked batch comes again
 *   recovery    subscribe_on_connect subscribes on a first connect (server
 *               down at start); canal_ack(c, -1) succeeds and sends nothing;
 *               an error Ack nobody can attribute closes when acks are
 *               pending and not otherwise
 *   trace       the hook sees every request and reply, in order, with the
 *               lengths the server received
 *
 * usage: test_daemon [BUILD_DIR]   (build; its fixtures/ and tmp/ are used) */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "peer.h"
#include "testserver.h"
#include "tinytest.h"

/* ------------------------------------------------------------ a scripted peer */

#define HS "00000010 1001 1801 2a0a 1208 0102030405060708"
#define ACK_OK "00000004 1001 1803"
#define EMPTY_GET "00000011 1001 1807 2a0b 08ffffffffffffffffff01"

/* Read one frame from fd; false at EOF. */
static bool skip_frame(int fd) {
    uint8_t h[4], buf[4096];
    size_t got = 0, n;
    while (got < 4) {
        ssize_t r = read(fd, h + got, 4 - got);
        if (r <= 0) return false;
        got += (size_t)r;
    }
    n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    while (n > 0) {
        ssize_t r = read(fd, buf, n < sizeof buf ? n : sizeof buf);
        if (r <= 0) return false;
        n -= (size_t)r;
    }
    return true;
}

/* A server in a child process at the other end of a socketpair: it sends
 * the handshake and the Acks of login and subscribe at once, reads the
 * client's ClientAuth, ClientRollback, Sub and Get, then answers the Get
 * with `reply`: after wait_ms of silence, its first n bytes in pieces of
 * `chunk` bytes every_ms apart; then silence until the client closes.
 * Returns the child's pid; *fd gets the client's end. */
static pid_t get_peer(const uint8_t *reply, size_t n, int wait_ms, size_t chunk, int every_ms,
                      int *fd) {
    uint8_t head[64];
    size_t hn = unhex(HS ACK_OK ACK_OK, head, sizeof head);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        if (write(sv[1], head, hn) != (ssize_t)hn) _exit(1);
        for (int i = 0; i < 4; i++)
            if (!skip_frame(sv[1])) _exit(0);
        sleep_ms(wait_ms);
        for (size_t off = 0; off < n;) {
            size_t k = chunk < n - off ? chunk : n - off;
            if (off > 0) sleep_ms(every_ms);
            if (write(sv[1], reply + off, k) < 0) _exit(1);
            off += k;
        }
        char buf[4096];
        while (read(sv[1], buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(sv[1]);
    *fd = sv[0];
    return pid;
}

static void reap(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A raw GET reply frame from the fixtures (a real batch, hundreds of bytes). */
static size_t get_reply(uint8_t *out, size_t cap) {
    char path[300];
    snprintf(path, sizeof path, "%s/fixtures", build_dir);
    size_t k = read_fixture_file(path, "packet_raw.bin", out + 4, cap - 4);
    if (k == 0) return 0;
    out[0] = (uint8_t)(k >> 24), out[1] = (uint8_t)(k >> 16);
    out[2] = (uint8_t)(k >> 8), out[3] = (uint8_t)k;
    return k + 4;
}

static canal_options opts(int read_timeout_ms) {
    canal_options o;
    canal_options_init(&o);
    o.read_timeout_ms = read_timeout_ms;
    o.connect_timeout_ms = 2000;
    return o;
}

/* A client connected and subscribed through get_peer; NULL on failure. */
static canal_client *peer_client(const canal_options *o, int fd) {
    canal_client *c = canal_client_new(o);
    if (!c) return NULL;
    if (canal_connect_fd(c, fd) != CANAL_OK || canal_subscribe(c, "") != CANAL_OK) {
        fprintf(stderr, "  peer session set-up failed: %s\n", canal_errstr(c));
        canal_client_free(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------ timeouts */

/* A GET reply of more than 1 MiB, dripped by the server in 16 KiB pieces
 * 15 ms apart (over a second in all), with a read timeout of 300 ms. */
static void test_big_reply_dripped_past_read_timeout(void) {
    const int T = 300;
    const size_t big = 1100000;
    char *script = malloc(big + 1024), *p = script;
    REQUIRE(script != NULL);
    p += sprintf(p, "{\"entries\":[{\"tx\":[{\"type\":\"INSERT\",\"schema\":\"s\",\"table\":\"t\","
                    "\"columns\":[{\"name\":\"id\",\"mysql_type\":\"int\",\"key\":true},"
                    "{\"name\":\"doc\",\"mysql_type\":\"longtext\"}],"
                    "\"rows\":[{\"after\":[1,{\"repeat\":\"abc\",\"times\":%zu}]}]}]}],"
                    "\"faults\":[{\"on\":\"GET\",\"action\":\"drip\",\"ms\":15,\"chunk\":16384}]}",
                 big / 3);
    server s;
    int started = server_start(&s, script, NULL) == 0;
    free(script);
    REQUIRE(started);
    canal_options o = opts(T);
    o.port = s.port;
    canal_client *c = canal_client_new(&o);
    const canal_message *m = NULL;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    int64_t t0 = mono_ms();
    int rc = canal_get(c, 10, -1, &m);
    int64_t took = mono_ms() - t0;
    CHECK(rc == CANAL_OK);
    if (rc != CANAL_OK) fprintf(stderr, "  big drip: %s\n", canal_errstr(c));
    CHECK(took >= 3 * T); /* else the drip was too fast to prove anything */
    if (rc == CANAL_OK) {
        canal_rowchange rc2;
        REQUIRE(m->n_entries == 3);
        CHECK(m->entries[1].raw.len > big / 3 * 3);
        REQUIRE(canal_entry_rowchange(c, &m->entries[1], &rc2) == CANAL_OK);
        CHECK(rc2.n_rows == 1 && rc2.rows[0].n_after == 2 &&
              rc2.rows[0].after[1].value.len == big / 3 * 3);
        CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    }
    printf("  drip: a %zu-byte value in %lld ms with read_timeout_ms %d\n", big / 3 * 3,
           (long long)took, T);
    canal_client_free(c);
    server_stop(&s);
}

/* Bytes every 100 ms for 900 ms, then silence: the timeout comes one read
 * timeout after the last byte, not after the start of the call. */
static void test_silence_counts_from_last_byte(void) {
    const int T = 300;
    uint8_t reply[4096];
    size_t n = get_reply(reply, sizeof reply);
    REQUIRE(n > 200);
    int fd;
    pid_t pid = get_peer(reply, 100, 0, 10, 100, &fd);
    REQUIRE(pid > 0);
    canal_options o = opts(T);
    o.call_timeout_ms = 5000; /* keeps the test bounded if silence were not caught */
    canal_client *c = peer_client(&o, fd);
    REQUIRE(c != NULL);
    const canal_message *m;
    int64_t t0 = mono_ms();
    int rc = canal_get(c, 10, -1, &m);
    int64_t took = mono_ms() - t0;
    CHECK(rc == CANAL_ETIMEOUT);
    CHECK(took >= 900 + T - 20 && took <= 900 + T + 300);
    if (rc != CANAL_ETIMEOUT) fprintf(stderr, "  silence: %s\n", canal_errstr(c));
    CHECK_CONTAINS(canal_errstr(c), "read_timeout_ms");
    CHECK(!canal_is_connected(c));
    printf("  silence after 100 bytes over 900 ms: %s after %lld ms (read_timeout_ms %d)\n",
           canal_strerror(rc), (long long)took, T);
    canal_client_free(c);
    reap(pid);
}

/* A drip fast enough for the read timeout never ends by itself: the
 * whole-call bound ends it. */
static void test_call_timeout_stops_drip(void) {
    const int T = 300, CT = 700;
    uint8_t reply[4096];
    size_t n = get_reply(reply, sizeof reply);
    REQUIRE(n > 200);
    int fd;
    pid_t pid = get_peer(reply, n, 0, 2, 50, &fd);
    REQUIRE(pid > 0);
    canal_options o = opts(T);
    o.call_timeout_ms = CT;
    canal_client *c = peer_client(&o, fd);
    REQUIRE(c != NULL);
    const canal_message *m;
    int64_t t0 = mono_ms();
    int rc = canal_get(c, 10, -1, &m);
    int64_t took = mono_ms() - t0;
    CHECK(rc == CANAL_ETIMEOUT);
    CHECK(took >= CT - 5 && took <= CT + 300);
    CHECK_CONTAINS(canal_errstr(c), "call_timeout_ms");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    reap(pid);

    /* the same drip without the bound arrives (2 bytes / 50 ms: keep it short) */
    pid = get_peer(reply, n, 0, n / 8 + 1, 50, &fd);
    REQUIRE(pid > 0);
    o.call_timeout_ms = 0;
    c = peer_client(&o, fd);
    REQUIRE(c != NULL);
    CHECK(canal_get(c, 10, -1, &m) == CANAL_OK);
    canal_client_free(c);
    reap(pid);
}

/* The server's own wait comes on top of the read timeout before the first
 * byte of the reply: a wait longer than the read timeout works, a wait of 0
 * waits as long as the server does, and a silent server still fails one
 * read timeout after the wait. */
static void test_get_wait_beyond_read_timeout(void) {
    const int T = 300;
    const canal_message *m;
    server s;
    REQUIRE(server_start(&s, "{}", NULL) == 0);
    canal_options o = opts(T);
    o.port = s.port;
    canal_client *c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    int64_t t0 = mono_ms();
    int rc = canal_get(c, 10, 800, &m);
    int64_t took = mono_ms() - t0;
    CHECK(rc == CANAL_OK && m && m->batch_id == -1);
    if (rc != CANAL_OK) fprintf(stderr, "  get with wait 800: %s\n", canal_errstr(c));
    CHECK(took >= 780); /* the server really waited */
    canal_client_free(c);
    server_stop(&s);

    /* wait 0: the peer answers after 900 ms */
    uint8_t empty[64];
    size_t en = unhex(EMPTY_GET, empty, sizeof empty);
    int fd;
    pid_t pid = get_peer(empty, en, 900, en, 0, &fd);
    REQUIRE(pid > 0);
    c = peer_client(&o, fd);
    REQUIRE(c != NULL);
    t0 = mono_ms();
    rc = canal_get(c, 10, 0, &m);
    took = mono_ms() - t0;
    CHECK(rc == CANAL_OK && m && m->batch_id == -1);
    CHECK(took >= 880);
    canal_client_free(c);
    reap(pid);

    /* wait 400 from a peer that never answers: 400 + T */
    pid = get_peer(empty, 0, 0, 1, 0, &fd);
    REQUIRE(pid > 0);
    c = peer_client(&o, fd);
    REQUIRE(c != NULL);
    t0 = mono_ms();
    rc = canal_get(c, 10, 400, &m);
    took = mono_ms() - t0;
    CHECK(rc == CANAL_ETIMEOUT);
    CHECK(took >= 400 + T - 10 && took <= 400 + T + 300);
    canal_client_free(c);
    reap(pid);
}

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

static int tcp_to(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int sockopt(int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) < 0) return -1;
    return v;
}

/* The keepalive options reach the socket: they find a dead peer while a
 * GET with wait 0 waits without a read timeout. */
static void test_keepalive_options(void) {
    for (int on = 0; on < 2; on++) {
        int port, l = loopback_socket(4, &port);
        REQUIRE(l >= 0);
        int fd = tcp_to(port);
        REQUIRE(fd >= 0);
        int sfd = accept(l, NULL, NULL);
        REQUIRE(sfd >= 0);
        uint8_t head[64];
        size_t hn = unhex(HS ACK_OK, head, sizeof head);
        CHECK(write(sfd, head, hn) == (ssize_t)hn);
        canal_options o = opts(2000);
        o.keepalive_idle_s = on ? 7 : 0;
        o.keepalive_interval_s = 3;
        o.keepalive_count = 4;
        canal_client *c = canal_client_new(&o);
        CHECK(canal_connect_fd(c, fd) == CANAL_OK);
        /* the client owns fd now; it is still open, so ask it */
        CHECK(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE) == on);
#ifdef TCP_KEEPIDLE
        if (on) {
            CHECK(sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 7);
            CHECK(sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 3);
            CHECK(sockopt(fd, IPPROTO_TCP, TCP_KEEPCNT) == 4);
        }
#endif
        canal_client_free(c);
        close(sfd);
        close(l);
    }
    /* out-of-range values are refused by name */
    canal_options o = opts(1000);
    o.keepalive_count = -1;
    canal_client *c = canal_client_new(&o);
    CHECK(canal_errcode(c) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "keepalive_count");
    canal_client_free(c);
    o = opts(1000);
    o.call_timeout_ms = -1;
    c = canal_client_new(&o);
    CHECK(canal_errcode(c) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "call_timeout_ms");
    canal_client_free(c);
}

/* ------------------------------------------------------------ interrupts */

/* The daemon's side: SIGALRM stands for SIGTERM; its handler writes a byte
 * into a pipe whose read end is the client's interrupt_fd. */
static int intr[2] = {-1, -1};
static volatile sig_atomic_t fired;
static volatile int64_t fired_at;

static void on_alarm(int sig) {
    int saved = errno;
    char b = 1;
    (void)sig;
    fired_at = mono_ms(); /* clock_gettime is async-signal-safe */
    fired = 1;
    if (write(intr[1], &b, 1) < 0) {
    }
    errno = saved;
}

static struct sigaction old_alarm;

/* A fresh pipe and the handler for SIGALRM. */
static bool arm(void) {
    if (intr[0] >= 0) close(intr[0]), close(intr[1]);
    if (pipe(intr) < 0) return false;
    fcntl(intr[0], F_SETFL, O_NONBLOCK); /* drain() reads until empty */
    fcntl(intr[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART, as a daemon would likely have it */
    sigaction(SIGALRM, &sa, &old_alarm);
    fired = 0;
    return true;
}

/* The "SIGTERM" in ms milliseconds. */
static void fire_in(int ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void) {
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old_alarm, NULL);
}

static void drain(void) {
    char buf[64];
    while (read(intr[0], buf, sizeof buf) > 0) {
    }
}

/* Check that a call interrupted by the alarm returned within 100 ms of it. */
#define CHECK_PROMPT(rc, returned_at, what)                                                    \
    do {                                                                                       \
        CHECK((rc) == CANAL_EINTR);                                                            \
        CHECK(fired);                                                                          \
        CHECK((returned_at) - fired_at <= 100);                                                \
        printf("  %s: %s %lld ms after the signal\n", what, canal_strerror(rc),               \
               (long long)((returned_at) - fired_at));                                         \
    } while (0)

static void test_interrupt_black_hole_connect(void) {
    /* A listener with backlog 0 that never accepts: once its queue is full,
     * Linux drops further SYNs and a connect stays in progress. */
    int port, l = loopback_socket(0, &port);
    REQUIRE(l >= 0);
    int fill[4], nfill = 0;
    bool hole = false;
    for (int i = 0; i < 4 && !hole; i++) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            fill[nfill++] = fd;
            continue;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, 150) == 1) fill[nfill++] = fd;
        else {
            close(fd);
            hole = true;
        }
    }
    if (!hole) {
        printf("  note: this kernel completes connects to a full backlog-0 listener; skipped\n");
    } else {
        canal_options o = opts(1000);
        o.port = port;
        o.connect_timeout_ms = 5000;
        REQUIRE(arm());
        o.interrupt_fd = intr[0];
        canal_client *c = canal_client_new(&o);
        fire_in(200);
        int64_t t0 = mono_ms();
        int rc = canal_connect(c);
        int64_t now = mono_ms();
        disarm();
        CHECK(now - t0 >= 190); /* it did wait for the signal */
        CHECK_PROMPT(rc, now, "connect to a black hole");
        CHECK_CONTAINS(canal_errstr(c), "interrupt");
        CHECK(!canal_is_connected(c));
        canal_client_free(c);
    }
    for (int i = 0; i < nfill; i++) close(fill[i]);
    close(l);
}

static void test_interrupt_stalled_get(void) {
    int fd;
    uint8_t none[1];
    pid_t pid = get_peer(none, 0, 0, 1, 0, &fd); /* never answers the GET */
    REQUIRE(pid > 0);
    REQUIRE(arm());
    canal_options o = opts(10000);
    o.interrupt_fd = intr[0];
    canal_client *c = peer_client(&o, fd);
    REQUIRE(c != NULL);
    const canal_message *m;
    fire_in(200);
    int rc = canal_get(c, 10, -1, &m);
    int64_t now = mono_ms();
    disarm();
    CHECK_PROMPT(rc, now, "stalled GET");
    CHECK(!canal_is_connected(c)); /* the reply is still due: out of step */
    canal_client_free(c);
    reap(pid);
}

/* An idle GET wait, interrupted with a batch unacked: the connection
 * closes, and the reconnect redelivers the batch. */
static void test_interrupt_idle_get_wait(void) {
    server s;
    canal_client *c = insert_session(&s, 1, NULL, "");
    REQUIRE(c != NULL);
    const canal_message *m;
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK);
    int64_t unacked = m->batch_id;
    CHECK(first_id(c, m) == 1);
    REQUIRE(arm());
    canal_options o;
    canal_client_free(c);
    /* the same identity again, now with the pipe as interrupt_fd */
    canal_options_init(&o);
    o.port = s.port;
    o.read_timeout_ms = 5000;
    o.interrupt_fd = intr[0];
    o.rollback_on_connect = false; /* so batch 1 is still unacked when the wait starts */
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    fire_in(200);
    int64_t t0 = mono_ms();
    int rc = canal_get(c, 10, 5000, &m); /* the server has nothing more: it waits */
    int64_t now = mono_ms();
    disarm();
    CHECK(now - t0 >= 150);
    CHECK_PROMPT(rc, now, "idle GET wait");
    CHECK(!canal_is_connected(c));
    drain();
    canal_client_free(c);

    o.rollback_on_connect = true;
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK);
    CHECK(m->batch_id > unacked);
    CHECK(first_id(c, m) == 1); /* the unacked batch came again */
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    canal_client_free(c);
    server_stop(&s);
}

/* An interrupt already pending: calls that would wait return at once and
 * send nothing (the connection stays), acks still go out. */
static void test_interrupt_pending(void) {
    server s;
    char *script = insert_script(2, NULL);
    REQUIRE(server_start(&s, script, NULL) == 0);
    free(script);
    REQUIRE(arm());
    canal_options o;
    canal_options_init(&o);
    o.port = s.port;
    o.interrupt_fd = intr[0];
    o.get_pipeline = 1; /* the GETs counted below are the calls' own */
    canal_client *c = canal_client_new(&o);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    int64_t id = m->batch_id;
    CHECK(write(intr[1], "x", 1) == 1);
    CHECK(canal_ack(c, id) == CANAL_OK); /* the batch in hand can still be acked */
    CHECK(canal_get(c, 3, -1, &m) == CANAL_EINTR);
    CHECK(canal_is_connected(c)); /* nothing was sent */
    CHECK(canal_subscribe(c, "") == CANAL_EINTR);
    drain();
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2);
    CHECK(write(intr[1], "x", 1) == 1);
    canal_disconnect(c);
    CHECK(canal_connect(c) == CANAL_EINTR);
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    server_settle(&s);
    server_stop(&s);
    CHECK(log_count(&s, "GET ") == 2);
    CHECK(log_count(&s, "SUBSCRIPTION") == 1);
    CHECK(log_count(&s, "CONNECT ") == 1);
    CHECK(log_has(&s, "batch_id=1"));

    /* an interrupt_fd that is not open is refused by name */
    int dead = intr[1];
    close(intr[0]);
    close(intr[1]);
    intr[0] = intr[1] = -1;
    canal_options_init(&o);
    o.interrupt_fd = dead;
    c = canal_client_new(&o);
    CHECK(canal_errcode(c) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "interrupt_fd");
    canal_client_free(c);
}

/* ------------------------------------------------------------ recovery */

/* A daemon started while its server is down: with subscribe_on_connect the
 * first successful connect subscribes, with no state kept by the caller. */
static void test_subscribe_on_connect_first_time(void) {
    server s;
    char *script = insert_script(2, NULL), port[16];
    REQUIRE(server_start(&s, script, NULL) == 0);
    server_stop(&s); /* now its port refuses */
    canal_options o;
    canal_options_init(&o);
    o.port = s.port;
    o.filter = "shop\\..*";
    o.subscribe_on_connect = true;
    canal_client *c = canal_client_new(&o);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_EIO);
    snprintf(port, sizeof port, "%d", s.port);
    REQUIRE(server_start(&s, script, "--port", port, NULL) == 0);
    free(script);
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    /* and every reconnect does the same */
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2);
    canal_client_free(c);

    /* without the option a first connect does not subscribe */
    canal_options_init(&o);
    o.port = s.port;
    o.client_id = 1002;
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "should subscribe first");
    canal_client_free(c);
    server_stop(&s);
    CHECK(log_count(&s, "SUBSCRIPTION") == 2);
    CHECK(log_has(&s, "filter=\"shop\\\\..*\""));
    /* subscribe before the rollback: a rollback before it is ignored */
    FILE *f = fopen(s.log, "r");
    char line[8192];
    int order = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (order == 0 && strncmp(line, "SUBSCRIPTION", 12) == 0) order = 1;
        else if (order == 1 && strncmp(line, "CLIENTROLLBACK", 14) == 0) order = 2;
        else if (order == 0 && strncmp(line, "CLIENTROLLBACK", 14) == 0) order = -1;
    }
    if (f) fclose(f);
    CHECK(order == 2);
}

/* Java's samples ack every batch, the empty one too: ack(-1) is a no-op. */
static void test_ack_of_empty_batch_is_noop(void) {
    server s;
    canal_client *c = insert_session(&s, 0, NULL, "");
    REQUIRE(c != NULL);
    const canal_message *m;
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == -1);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    CHECK(canal_errcode(c) == CANAL_OK && strcmp(canal_errstr(c), "") == 0);
    CHECK(canal_is_connected(c));
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK); /* still in step */
    canal_disconnect(c);
    CHECK(canal_ack(c, -1) == CANAL_OK);
    CHECK(canal_ack(c, -2) != CANAL_OK); /* other ids are still checked */
    canal_client_free(c);
    server_settle(&s);
    server_stop(&s);
    CHECK(log_count(&s, "GET ") == 2);
    CHECK(log_count(&s, "CLIENTACK") == 0);
}

#define CATCH_ALL                                                                               \
    "something goes wrong with channel:[id: 0x0a1b2c3d], exception=org.apache.zookeeper."       \
    "KeeperException$ConnectionLossException: KeeperErrorCode = ConnectionLoss"

/* An error Ack with a text no rule attributes: with an ack pending it may
 * answer the ack, so the connection closes and the batch comes again; with
 * nothing pending it answers the request, and the connection stays. */
static void test_unattributed_error_closes_when_pending(void) {
    server s;
    canal_client *c = insert_session(
        &s, 2, "{\"on\":\"ACK\",\"action\":\"error\",\"code\":400,\"message\":\"" CATCH_ALL "\"}", "");
    REQUIRE(c != NULL);
    const canal_message *m;
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "ConnectionLoss");
    CHECK_CONTAINS(canal_errstr(c), "closed");
    CHECK(!canal_is_connected(c));
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1); /* the refused ack's batch comes again */
    canal_client_free(c);
    server_stop(&s);

    c = insert_session(
        &s, 2, "{\"on\":\"GET\",\"action\":\"error\",\"code\":400,\"message\":\"" CATCH_ALL "\"}", "");
    REQUIRE(c != NULL);
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "get refused");
    CHECK(canal_is_connected(c));
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1);
    canal_client_free(c);
    server_stop(&s);
}

/* ------------------------------------------------------------ trace */

typedef struct trace_log {
    canal_trace ev[32];
    int n;
} trace_log;

static void record(void *ud, const canal_trace *t) {
    trace_log *l = ud;
    if (l->n < 32) l->ev[l->n] = *t;
    l->n++;
}

/* The lengths of the frames the server received, from its RAW log lines. */
static int server_lengths(const server *s, size_t *out, int cap) {
    FILE *f = fopen(s->log, "r");
    static char line[1 << 16];
    int n = 0;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "RAW ", 4) == 0 && n < cap) out[n++] = (strlen(line) - 5) / 2;
    fclose(f);
    return n;
}

static void test_trace_hook(void) {
    server s;
    char *script = insert_script(1, NULL);
    REQUIRE(server_start(&s, script, "--user", "canal", "--password", "secret", NULL) == 0);
    free(script);
    trace_log l;
    memset(&l, 0, sizeof l);
    canal_options o;
    canal_options_init(&o);
    o.port = s.port;
    o.username = "canal";
    o.password = "secret";
    o.trace_fn = record;
    o.trace_ud = &l;
    canal_client *c = canal_client_new(&o);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_get(c, 10, -1, &m) == CANAL_ESERVER); /* not subscribed yet */
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK);
    int64_t id = m->batch_id;
    CHECK(canal_ack(c, id) == CANAL_OK);
    CHECK(canal_rollback(c, 0) == CANAL_OK);
    canal_client_free(c);
    server_settle(&s);
    server_stop(&s);

    static const struct {
        bool sent;
        int type;
        const char *name;
    } want[] = {
        {false, 1, "HANDSHAKE"},     {true, 2, "CLIENTAUTHENTICATION"}, {false, 3, "ACK"},
        {true, 12, "CLIENTROLLBACK"}, {true, 6, "GET"},                  {false, 3, "ACK"},
        {true, 4, "SUBSCRIPTION"},   {false, 3, "ACK"},                 {true, 6, "GET"},
        {false, 7, "MESSAGES"},      {true, 8, "CLIENTACK"},            {true, 12, "CLIENTROLLBACK"},
    };
    int nw = (int)(sizeof want / sizeof want[0]);
    CHECK(l.n == nw);
    for (int i = 0; i < nw && i < l.n; i++) {
        CHECK(l.ev[i].sent == want[i].sent && l.ev[i].type == want[i].type);
        CHECK(strcmp(l.ev[i].type_name, want[i].name) == 0);
        if (l.ev[i].type != want[i].type)
            fprintf(stderr, "  trace %d: %s, want %s\n", i, l.ev[i].type_name, want[i].name);
    }
    if (l.n == nw) {
        CHECK(l.ev[5].error_code == 400); /* get before subscribe */
        CHECK(l.ev[2].error_code == 0 && l.ev[7].error_code == 0);
        CHECK(l.ev[9].batch_id == id && l.ev[9].n_entries == 3);
        CHECK(l.ev[10].batch_id == id);
        CHECK(l.ev[11].batch_id == 0);
        CHECK(l.ev[4].batch_id == 0 && l.ev[1].batch_id == 0);
    }
    /* what was sent is what the server received, frame by frame */
    size_t got[32];
    int ng = server_lengths(&s, got, 32), k = 0;
    for (int i = 0; i < l.n && i < 32; i++) {
        if (!l.ev[i].sent) continue;
        CHECK(k < ng && l.ev[i].length == got[k]);
        k++;
    }
    CHECK(k == ng);
    /* replies: the handshake of the test server is 2 + 2 + 2 + 10 + 2 bytes... at
     * least not empty, and the batch holds its entries */
    CHECK(l.n == nw && l.ev[0].length > 0 && l.ev[9].length > 100);
}

int main(int argc, char **argv) {
    if (argc > 1) build_dir = argv[1];
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/tmp", build_dir);
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
        perror(tmp);
        return 2;
    }
    signal(SIGPIPE, SIG_DFL);
    RUN(test_big_reply_dripped_past_read_timeout);
    RUN(test_silence_counts_from_last_byte);
    RUN(test_call_timeout_stops_drip);
    RUN(test_get_wait_beyond_read_timeout);
    RUN(test_keepalive_options);
    RUN(test_interrupt_black_hole_connect);
    RUN(test_interrupt_stalled_get);
    RUN(test_interrupt_idle_get_wait);
    RUN(test_interrupt_pending);
    RUN(test_subscribe_on_connect_first_time);
    RUN(test_ack_of_empty_batch_is_noop);
    RUN(test_unattributed_error_closes_when_pending);
    RUN(test_trace_hook);
    if (intr[0] >= 0) close(intr[0]), close(intr[1]);
    return TT_REPORT("daemon");
}
