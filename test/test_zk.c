/* test_zk.c - canal_zk (ZooKeeper mode).
 *
 *   test_zk unit              unit tests of the node data reader and writer,
 *                             address parsing, options, and the bounds when
 *                             ZooKeeper or a server is not there
 *   test_zk consume ARGS...   a consumer for test/test_zk.py, which runs it
 *                             against a real ZooKeeper and test servers and
 *                             checks what it prints:
 *       ROLE active|passive|idle   on each change
 *       BATCH <id> <n> <server>    a batch received (before handling it)
 *       E <logfile offset>         each of its entries
 *       ACKED <id>                 after the ack was sent
 *       ERR <code name> <text>     a failed call (the loop goes on)
 *       DONE <distinct entries>    on the way out (after canal_zk_free)
 *
 * The unit part includes canal_zk.c to reach its static functions. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "../canal_zk.c"

#include <signal.h>

#include "tinytest.h"

/* ------------------------------------------------------------ unit tests */

static void test_parse_running_java_shapes(void) {
    run_data d;
    /* fastjson2's order, another order, spaces, an unknown key, a deprecated cid */
    const char *a = "{\"active\":true,\"address\":\"192.168.1.10:11111\"}";
    REQUIRE(parse_running(a, strlen(a), &d));
    CHECK(d.has_address && d.active);
    CHECK(strcmp(d.address, "192.168.1.10:11111") == 0);
    const char *b = " { \"clientId\" : 1001 , \"address\" : \"10.0.0.2:52314\", \"active\" : false,"
                    " \"x\": {\"y\": [1, 2.5e3, \"z\", null, {}]} } ";
    REQUIRE(parse_running(b, strlen(b), &d));
    CHECK(d.has_address && !d.active);
    CHECK(strcmp(d.address, "10.0.0.2:52314") == 0);
    const char *c = "{\"address\":\"h\\u0041\\/x:1\",\"cid\":null}";
    REQUIRE(parse_running(c, strlen(c), &d));
    CHECK(strcmp(d.address, "hA/x:1") == 0);
    CHECK(d.active); /* absent reads true, Java's field default */
    const char *e = "{\"address\":\"\\ud83d\\ude00\"}";
    REQUIRE(parse_running(e, strlen(e), &d));
    CHECK(strcmp(d.address, "\xf0\x9f\x98\x80") == 0);
    const char *f = "{}";
    REQUIRE(parse_running(f, strlen(f), &d));
    CHECK(!d.has_address);
}

static void test_parse_running_refuses(void) {
    static const char *bad[] = {
        "",
        "[]",
        "{\"address\":\"a:1\"",             /* unterminated */
        "{\"address\":\"a:1\"} x",          /* trailing bytes */
        "{\"address\":1:2}",
        "{\"active\":\"yes\",\"address\":\"a:1\"}",
        "{\"address\":\"a\\q\"}",           /* bad escape */
        "{\"address\":\"\\ud800\"}",        /* lone surrogate */
        "{\"address\":\"a\nb\"}",           /* raw control character */
        "{\"address\":\"a:1\",}",
        "{\"k\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", /* too deep */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_data d;
        if (parse_running(bad[i], strlen(bad[i]), &d)) {
            fprintf(stderr, "  accepted: %s\n", bad[i]);
            CHECK(!"malformed node data accepted");
        }
    }
    /* an address longer than we keep is refused, not cut */
    char big[400];
    int n = snprintf(big, sizeof big, "{\"address\":\"");
    memset(big + n, 'a', 300);
    snprintf(big + n + 300, sizeof big - (size_t)n - 300, ":1\"}");
    run_data d;
    CHECK(!parse_running(big, strlen(big), &d));
}

static void test_client_json(void) {
    char buf[256];
    client_json(buf, sizeof buf, "10.1.2.3:5555", 1001);
    CHECK(strcmp(buf, "{\"active\":true,\"address\":\"10.1.2.3:5555\",\"clientId\":1001}") == 0);
    client_json(buf, sizeof buf, "a\"b\\c\x01", -7);
    CHECK(strcmp(buf, "{\"active\":true,\"address\":\"a\\\"b\\\\c\\u0001\",\"clientId\":-7}") == 0);
    /* and our reader reads back what we write */
    run_data d;
    REQUIRE(parse_running(buf, strlen(buf), &d));
    CHECK(strcmp(d.address, "a\"b\\c\x01") == 0);
}

static void test_split_addr(void) {
    char host[64];
    int port = 0;
    CHECK(split_addr("10.0.0.5:11111", host, sizeof host, &port) && port == 11111 &&
          strcmp(host, "10.0.0.5") == 0);
    CHECK(split_addr("canal-1.svc:2", host, sizeof host, &port) && port == 2);
    CHECK(!split_addr("10.0.0.5", host, sizeof host, &port));
    CHECK(!split_addr("10.0.0.5:", host, sizeof host, &port));
    CHECK(!split_addr("10.0.0.5:0", host, sizeof host, &port));
    CHECK(!split_addr("10.0.0.5:65536", host, sizeof host, &port));
    CHECK(!split_addr("10.0.0.5:12x", host, sizeof host, &port));
    CHECK(!split_addr("fe80::1:2:3", host, sizeof host, &port)); /* three parts: skipped, as Java */
    CHECK(!split_addr(":11111", host, sizeof host, &port));
}

static void test_bad_options(void) {
    canal_options o;
    canal_zk_options zo;
    canal_options_init(&o);
    canal_zk_options_init(&zo);
    canal_zk *z = canal_zk_new(&o, &zo); /* no zk_hosts */
    REQUIRE(z);
    CHECK(canal_zk_errcode(z) == CANAL_EINVAL);
    CHECK(canal_zk_connect(z) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_zk_errstr(z), "zk_hosts");
    const canal_message *m = (const canal_message *)&z; /* must be reset */
    CHECK(canal_zk_get(z, 10, 10, &m) == CANAL_EINVAL && m == NULL);
    CHECK(canal_zk_ack(z, 1) == CANAL_EINVAL);
    canal_zk_free(z);

    zo.zk_hosts = "127.0.0.1:1";
    o.destination = "a/b";
    z = canal_zk_new(&o, &zo);
    REQUIRE(z);
    CHECK(canal_zk_subscribe(z, "x") == CANAL_EINVAL);
    CHECK_CONTAINS(canal_zk_errstr(z), "destination");
    canal_zk_free(z);

    o.destination = "example";
    o.client_id = 40000; /* not a Java short: canal.h refuses it */
    z = canal_zk_new(&o, &zo);
    REQUIRE(z);
    CHECK(canal_zk_connect(z) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_zk_errstr(z), "client_id");
    canal_zk_free(z);
    canal_zk_free(NULL);
    CHECK(strcmp(canal_zk_strerror(CANAL_ZK_EPASSIVE), "CANAL_ZK_EPASSIVE") == 0);
    CHECK(strcmp(canal_zk_strerror(CANAL_EIO), "CANAL_EIO") == 0);
}

static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        if (fd >= 0) close(fd);
        return 1;
    }
    close(fd); /* nobody listens there now */
    return ntohs(sa.sin_port);
}

/* ZooKeeper unreachable at start: a clear error within the connect timeout. */
static void test_zk_unreachable(void) {
    char hosts[64];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d", closed_port());
    canal_options o;
    canal_zk_options zo;
    canal_options_init(&o);
    canal_zk_options_init(&zo);
    o.connect_timeout_ms = 1500;
    zo.zk_hosts = hosts;
    zo.wait_ms = 3000;
    canal_zk *z = canal_zk_new(&o, &zo);
    REQUIRE(z);
    int64_t t0 = now_ms();
    int rc = canal_zk_connect(z);
    int64_t took = now_ms() - t0;
    CHECK(rc == CANAL_ZK_EZK);
    CHECK_CONTAINS(canal_zk_errstr(z), "unreachable");
    CHECK_CONTAINS(canal_zk_errstr(z), hosts);
    CHECK(took >= 1400 && took < 1500 + 1500); /* the connect timeout, not wait_ms */
    /* the next call waits again, within its own bound, and says the same */
    const canal_message *m;
    t0 = now_ms();
    CHECK(canal_zk_get(z, 10, 100, &m) == CANAL_ZK_EZK);
    CHECK(now_ms() - t0 < 3000 + 1500);
    CHECK(canal_zk_role(z) == CANAL_ZK_IDLE);
    CHECK(strcmp(canal_zk_server(z), "") == 0);
    canal_zk_free(z);
}

static int run_unit(void) {
    RUN(test_parse_running_java_shapes);
    RUN(test_parse_running_refuses);
    RUN(test_client_json);
    RUN(test_split_addr);
    RUN(test_bad_options);
    RUN(test_zk_unreachable);
    return TT_REPORT("test_zk");
}

/* ------------------------------------------------------------ consumer */

static volatile sig_atomic_t stop_flag;
static void on_term(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void sleep_for(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_flag) {
    }
}

static const char *role_name(int r) {
    return r == CANAL_ZK_ACTIVE ? "active" : r == CANAL_ZK_PASSIVE ? "passive" : "idle";
}

static int run_consumer(int argc, char **argv) {
    canal_options o;
    canal_zk_options zo;
    canal_options_init(&o);
    canal_zk_options_init(&zo);
    o.read_timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    int batch = 3, rows = 0, run_ms = 60000, busy_ms = 0, busy_every = 0, get_ms = 200, idle_ms = 0;
    const char *filter = "";
    for (int i = 0; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--zk")) zo.zk_hosts = v;
        else if (!strcmp(k, "--dest")) o.destination = v;
        else if (!strcmp(k, "--cid")) o.client_id = atoi(v);
        else if (!strcmp(k, "--session-ms")) zo.session_timeout_ms = atoi(v);
        else if (!strcmp(k, "--wait-ms")) zo.wait_ms = atoi(v);
        else if (!strcmp(k, "--retry-ms")) zo.retry_interval_ms = atoi(v);
        else if (!strcmp(k, "--reclaim-ms")) zo.reclaim_delay_ms = atoi(v);
        else if (!strcmp(k, "--ha")) zo.client_ha = atoi(v) != 0;
        else if (!strcmp(k, "--batch")) batch = atoi(v);
        else if (!strcmp(k, "--pipeline")) o.get_pipeline = atoi(v);
        else if (!strcmp(k, "--get-ms")) get_ms = atoi(v);
        else if (!strcmp(k, "--rows")) rows = atoi(v);
        else if (!strcmp(k, "--run-ms")) run_ms = atoi(v);
        else if (!strcmp(k, "--busy-ms")) busy_ms = atoi(v);   /* hold a batch this long... */
        else if (!strcmp(k, "--busy-every")) busy_every = atoi(v); /* ...every Nth one (0: first only) */
        else if (!strcmp(k, "--filter")) filter = v;
        else if (!strcmp(k, "--idle-exit-ms")) idle_ms = atoi(v); /* stop after this long empty */
        else {
            fprintf(stderr, "test_zk consume: unknown option %s\n", k);
            return 2;
        }
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    setvbuf(stdout, NULL, _IOLBF, 0);
    canal_zk *z = canal_zk_new(&o, &zo);
    if (!z) return 3;
    /* which entries were seen: offsets are unique and small in test streams */
    enum { MAXOFF = 1 << 20 };
    unsigned char *seen = calloc(MAXOFF, 1);
    if (!seen) return 3;
    int distinct = 0, role = -1, batches = 0;
    int64_t end = now_ms() + run_ms;
    bool subscribed = false;
    int64_t last_data = 0;
    while (!stop_flag && now_ms() < end && (rows <= 0 || distinct < rows)) {
        if (idle_ms > 0 && last_data && now_ms() - last_data >= idle_ms) break;
        int rc;
        if (!subscribed) {
            rc = canal_zk_subscribe(z, filter);
            subscribed = rc == CANAL_OK || rc == CANAL_ZK_EPASSIVE; /* kept while passive */
        } else {
            const canal_message *m;
            rc = canal_zk_get(z, batch, get_ms, &m);
            if (rc == CANAL_OK && m->batch_id != -1) {
                last_data = now_ms();
                printf("BATCH %lld %zu %s\n", (long long)m->batch_id, m->n_entries, canal_zk_server(z));
                for (size_t i = 0; i < m->n_entries; i++) {
                    int64_t off = m->entries[i].header.logfile_offset;
                    printf("E %lld\n", (long long)off);
                    if (off >= 0 && off < MAXOFF && !seen[off]) seen[off] = 1, distinct++;
                }
                batches++;
                if (busy_ms > 0 && (busy_every > 0 ? batches % busy_every == 0 : batches == 1)) {
                    printf("BUSY %d\n", busy_ms);
                    sleep_for(busy_ms);
                }
                rc = canal_zk_ack(z, m->batch_id);
                if (rc == CANAL_OK) printf("ACKED %lld\n", (long long)m->batch_id);
                last_data = now_ms();
            }
        }
        if (canal_zk_role(z) != role) {
            role = canal_zk_role(z);
            printf("ROLE %s\n", role_name(role));
        }
        if (rc < 0) printf("ERR %s %s\n", canal_zk_strerror(rc), canal_zk_errstr(z));
    }
    canal_zk_free(z);
    printf("DONE %d\n", distinct);
    free(seen);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "consume") == 0) return run_consumer(argc - 2, argv + 2);
    return run_unit();
}
