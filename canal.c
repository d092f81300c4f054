/*
 * canal.c - canal-c, a small blocking client for Alibaba Canal.
 * The contract is canal.h; the wire protocol is shared/spec/PROTOCOL.md
 * (section numbers in comments below point there).
 *
 * How to read this file: it is a house of rooms, each a numbered section
 * under a banner, and each uses only the rooms above it, so it reads top to
 * bottom with no forward declaration. The client struct comes first (what
 * belongs to the connection, the session and the current batch), then the
 * one error path and memory; the network goes up from transport (bytes),
 * framing (one frame) and the wire codec (protobuf fields) to packets (one
 * request or reply); the message model and row changes turn bytes into the
 * structs of canal.h; the session ties a conversation with the server
 * together. The calls on a client come last. The hot paths (utf8_valid,
 * decode_header, decode_column) are long on purpose: splitting them costs
 * speed that bench/ measures.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "canal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <pb_decode.h>
#include <pb_encode.h>

/* Batch ids, offsets and enums are 64-bit fields (canal.h, "nanopb"). */
#ifdef PB_WITHOUT_64BIT
#error "canal-c needs nanopb with 64-bit fields: build without PB_WITHOUT_64BIT"
#endif

#include "pb/CanalProtocol.pb.h"
#include "pb/EntryProtocol.pb.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* platforms without it set SO_NOSIGPIPE instead */
#endif

/* ------------------------------------------------------------ 1. configuration and the client */

/* The options a client keeps, its defaults and checks, and the client
 * itself: what belongs to the connection, the session and the current
 * batch, each in a struct of its own. */

/* Size of the receive buffer before the first frame needs more. */
#define CANAL_INITIAL_RBUF 16384

/* How much of a server error message canal_errstr keeps. */
#define CANAL_ERRSTR_SIZE 512

/* How many unanswered acks and rollbacks are remembered one by one, to name
 * the one a later error Ack refuses; beyond that they are only counted.
 * With GETs in flight about one ack per GET waits for its answer. */
#define CANAL_MAX_PENDING (CANAL_MAX_PIPELINE + 8)

#define CANAL_STR_(x) #x
#define CANAL_STR(x) CANAL_STR_(x)

/* GETs in flight at most: get_pipeline new ones plus, after a rollback,
 * get_pipeline - 1 whose replies are dropped. */
#define CANAL_MAX_GETS (2 * CANAL_MAX_PIPELINE)

/* How much of the server's own error text goes into canal_errstr, escaped. */
#define CANAL_SERVER_TEXT 320

/* The default max_decoded: a decode of n bytes may add RATIO * n + SLACK
 * bytes to the client's memory. Canal's densest real data (rows of one NULL
 * column, entries with the smallest header it writes) needs about 11 times
 * its bytes; two bytes that make a 200-byte entry would need 100. */
#define CANAL_DECODE_RATIO 16
#define CANAL_DECODE_SLACK (1024u * 1024u)

/* Memory given back after a freak batch: every TRIM_EVERY frames (batches,
 * row changes), a buffer above TRIM_FLOOR bytes holding over 4 times the
 * most those needed shrinks to that need. */
#define TRIM_EVERY 16
#define TRIM_FLOOR 65536

/* How often (in entries) a decode looks at the clock. */
#define CLOCK_EVERY 4096

void canal_options_init(canal_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 11111;
    o->destination = "example";
    o->client_id = 1001;
    o->filter = "";
    o->retry_interval_ms = 5000; /* Java's ClusterCanalConnector */
    o->connect_timeout_ms = 10000;
    o->read_timeout_ms = 60000;
    o->idle_timeout_ms = 3600000;
    o->keepalive_idle_s = 60;
    o->keepalive_interval_s = 10;
    o->keepalive_count = 6;
    o->interrupt_fd = -1;
    o->max_frame = CANAL_DEFAULT_MAX_FRAME;
    o->rollback_on_connect = true;
    o->validate_utf8 = true;
    o->get_pipeline = CANAL_DEFAULT_PIPELINE;
}

/* One server of the list in canal_options.host. */
typedef struct server_addr {
    char *host; /* in the client's block of host names */
    int port;
} server_addr;

/* Walk a server list, "h1:11111,h2,[::1]:11112": entries host, host:port
 * or [IPv6][:port], commas between, spaces around ignored; a host with two
 * or more ':' and no brackets is an IPv6 address without a port. Counts
 * the entries into *n; with names and out, also copies each host, NUL-ended,
 * into names (strlen(list) + 1 bytes are enough) and fills out[]. NULL, or
 * what is wrong with the list. */
static const char *scan_servers(const char *list, int dflt_port, char *names, server_addr *out,
                                size_t *n) {
    size_t count = 0;
    for (const char *p = list;; count++) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *a = p, *b = end, *h, *he, *colon = NULL;
        while (a < b && *a == ' ') a++;
        while (b > a && b[-1] == ' ') b--;
        if (a == b) return "options: host: an empty entry in the server list";
        if (*a == '[') {
            const char *rb = memchr(a, ']', (size_t)(b - a));
            if (!rb) return "options: host: an entry opens '[' without ']'";
            h = a + 1, he = rb;
            if (rb + 1 < b && rb[1] != ':') return "options: host: only :port may follow ']'";
            if (rb + 1 < b) colon = rb + 1;
        } else {
            const char *c1 = memchr(a, ':', (size_t)(b - a));
            h = a, he = b;
            if (c1 && !memchr(c1 + 1, ':', (size_t)(b - c1 - 1))) colon = c1, he = c1;
        }
        int port = dflt_port;
        if (colon) {
            long v = 0;
            if (colon + 1 == b) return "options: host: an entry ends in ':' without a port";
            for (const char *d = colon + 1; d < b && v <= 65535; d++) {
                if (*d < '0' || *d > '9') return "options: host: a port in the server list is not a number";
                v = v * 10 + (*d - '0');
            }
            if (v < 1 || v > 65535) return "options: host: a port in the server list is not 1..65535";
            port = (int)v;
        }
        if (h == he) return "options: host: an entry in the server list has no host";
        if (names) {
            memcpy(names, h, (size_t)(he - h));
            names[he - h] = '\0';
            out[count].host = names;
            out[count].port = port;
            names += he - h + 1;
        }
        if (!*end) break;
        p = end + 1;
    }
    *n = count + 1;
    return NULL;
}

/* Why the options are invalid, naming the bad value, into why[cap]; false
 * when they are fine. */
static bool check_options(const canal_options *o, char *why, size_t cap) {
#define BAD(...) return snprintf(why, cap, __VA_ARGS__), true
    size_t n;
    const char *bad;
    if (!o->host || !*o->host) BAD("options: host is %s", o->host ? "empty" : "NULL");
    if (o->port < 1 || o->port > 65535) BAD("options: port must be 1..65535 (got %d)", o->port);
    if ((bad = scan_servers(o->host, o->port, NULL, NULL, &n)) != NULL)
        BAD("%s (in \"%.64s\"%s)", bad, o->host, strlen(o->host) > 64 ? "..." : "");
    if (o->retry_times < 0) BAD("options: retry_times must be >= 0 (got %d)", o->retry_times);
    if (o->retry_interval_ms < 0)
        BAD("options: retry_interval_ms must be >= 0 (got %d)", o->retry_interval_ms);
    if (!o->destination || !*o->destination)
        BAD("options: destination is %s", o->destination ? "empty" : "NULL");
    if (o->client_id < -32768 || o->client_id > 32767)
        BAD("options: client_id must fit a Java short (-32768..32767) (got %d)", o->client_id);
    if (o->connect_timeout_ms <= 0)
        BAD("options: connect_timeout_ms must be > 0 (got %d)", o->connect_timeout_ms);
    if (o->read_timeout_ms <= 0)
        BAD("options: read_timeout_ms must be > 0 (got %d)", o->read_timeout_ms);
    if (o->call_timeout_ms < 0)
        BAD("options: call_timeout_ms must be >= 0 (0: no bound) (got %d)", o->call_timeout_ms);
    if (o->keepalive_idle_s < 0 || o->keepalive_idle_s > 32767)
        BAD("options: keepalive_idle_s must be 0..32767 (0: off) (got %d)", o->keepalive_idle_s);
    if (o->keepalive_interval_s < 0 || o->keepalive_interval_s > 32767 ||
        (o->keepalive_idle_s > 0 && o->keepalive_interval_s == 0))
        BAD("options: keepalive_interval_s must be 1..32767 (0 only with keepalive off) (got %d)",
            o->keepalive_interval_s);
    if (o->keepalive_count < 0 || o->keepalive_count > 127 ||
        (o->keepalive_idle_s > 0 && o->keepalive_count == 0))
        BAD("options: keepalive_count must be 1..127 (0 only with keepalive off) (got %d)",
            o->keepalive_count);
    if (o->interrupt_fd < -1 || (o->interrupt_fd >= 0 && fcntl(o->interrupt_fd, F_GETFD) < 0))
        BAD("options: interrupt_fd is not an open descriptor (-1: none) (got %d)", o->interrupt_fd);
    if (o->max_frame < 16 || o->max_frame > 0x7fffffffu)
        BAD("options: max_frame must be 16..2147483647 (got %zu)", o->max_frame);
    if (o->get_pipeline < 1 || o->get_pipeline > CANAL_MAX_PIPELINE)
        BAD("options: get_pipeline must be 1..%d (got %d)", CANAL_MAX_PIPELINE, o->get_pipeline);
    if (!!o->malloc_fn + !!o->realloc_fn + !!o->free_fn != 0 &&
        !(o->malloc_fn && o->realloc_fn && o->free_fn))
        BAD("options: set malloc_fn, realloc_fn and free_fn together (got %d of 3)",
            !!o->malloc_fn + !!o->realloc_fn + !!o->free_fn);
#undef BAD
    return false;
}

/* A growable array. Elements are addressed by index while a decode runs
 * (the array may move), and by pointer only once it is finished. */
typedef struct vec {
    void *p;
    size_t n, cap;
    size_t peak; /* the most elements used since the last trim */
} vec;

/* A decoded string arena: one block reserved up front to an upper bound, so
 * the pointers handed out never move (see copy_bytes). */
typedef struct arena {
    char *p, *end, *base;
    size_t cap;
    size_t peak; /* the most bytes used since the last trim */
} arena;

/* Where the subscription stands; a reconnect restores SUB_ON. */
enum sub_state {
    SUB_NEVER, /* no subscribe yet on this client */
    SUB_ON,    /* subscribed: restored on reconnect */
    SUB_OFF    /* canal_unsubscribe ran since the last subscribe */
};

/* An ack or rollback sent that the server has not answered: it only
 * answers those it refuses (§5.1). */
typedef struct pending_op {
    char kind; /* 'a' ack, 'r' rollback, 'c' the rollback sent on connect */
    int64_t id;
} pending_op;

/* The connection: the socket and its buffers. It ends with close_fd. */
struct conn {
    int fd;
    uint8_t *rbuf;          /* frames received: the current one, then bytes read ahead */
    size_t rcap, rpos, rlen;
    size_t frame_peak;      /* the largest frame since the last trim */
    unsigned frames;        /* frames read, for the trim */
    uint8_t *wbuf;          /* the request being sent */
    size_t wcap;
    int64_t call_deadline;  /* of the public call running (call_timeout_ms); 0: none */
    int reply_wait_ms;      /* silence allowed before the next reply's first byte on top
                               of read_timeout_ms (a GET's own wait); -1: no limit */
};

/* The session: what a reconnect restores, and what the server owes. */
struct session {
    enum sub_state state;
    char *filter;           /* the last subscribed filter, for reconnects */
    vec outstanding;        /* int64_t batch ids received, not yet acked */
    /* Acks and rollbacks sent and not yet answered by a reply after them:
     * the first n_kept one by one, and how many in all. */
    pending_op pending[CANAL_MAX_PENDING];
    int n_pending, n_kept;
    /* GETs sent whose replies are not read yet, oldest first, in a ring:
     * for each, how many of the pending acks/rollbacks went out between the
     * GET before it and it. The oldest `stale` were sent before a rollback
     * (their batches went back with it): their replies are dropped. */
    int ops_before[CANAL_MAX_GETS];
    int first_get, n_gets, stale;
    int ops_since_get; /* acks/rollbacks sent after the newest GET */
    bool flowing;      /* the last reply brought a batch: keep the pipeline full */
};

/* The current batch: the decoded message and the bytes its views point
 * into, and the last row change decoded from it; the vectors and arenas
 * are kept from batch to batch, so a steady stream does not allocate. */
struct batch {
    canal_message msg;
    const uint8_t *msg_buf;
    size_t msg_len;
    uint64_t generation; /* of the current message; its entries carry it */
    vec entries;   /* canal_entry */
    vec hdr_pairs;
    arena hdr_str;
    vec cols_before, cols_after, rows, row_ixs, fixes;
    vec col_pairs, row_pairs, rc_pairs;
    arena rc_str;
    unsigned msg_decodes, rc_decodes; /* for the trims */
    /* the decode running: what it may add to the client's memory, and has */
    size_t budget, grown;
};

struct canal_client {
    /* options, copied */
    char *host_names;      /* the servers' host names, NUL-separated */
    server_addr *servers;  /* the list canal_connect goes over */
    size_t n_servers;
    size_t next_server;    /* the one the next attempt takes */
    int dflt_port;         /* canal_options.port, for entries without one */
    int retry_times, retry_interval_ms;
    char *destination;
    char *username;
    char client_id[8]; /* canonical decimal text of a Java short */
    int connect_timeout_ms, read_timeout_ms, idle_timeout_ms, call_timeout_ms;
    int keepalive_idle_s, keepalive_interval_s, keepalive_count;
    int interrupt_fd;   /* the caller's; -1: none */
    size_t max_frame;
    size_t max_decoded; /* 0: CANAL_DECODE_RATIO times the bytes + SLACK */
    int get_pipeline;
    bool rollback_on_connect, validate_utf8, subscribe_on_connect;
    canal_trace_fn trace_fn;
    void *trace_ud;
    canal_malloc_fn malloc_fn;
    canal_realloc_fn realloc_fn;
    canal_free_fn free_fn;
    void *alloc_ud;
    bool in_pool;       /* no-heap mode: hooks above are the pool's */
    bool has_password;
    uint8_t stage1[20]; /* SHA-1(password); the clear text is never kept */
    char bad_options[160]; /* why the options are invalid (empty: they are not);
                            * every network call fails with it */

    struct conn conn;
    struct session sess;
    struct batch batch;
    char current[272]; /* "host:port" of the server connected to, or "" */

    /* the last error */
    int err;
    int server_code;
    char errstr[CANAL_ERRSTR_SIZE];
};

static const char empty_str[1] = "";

static const canal_str EMPTY = {empty_str, 0};

/* ------------------------------------------------------------ 2. errors */

/* One way to record an error (code and text naming the bad value), one
 * way to fail and close; the first error of a call wins. */

#if defined(__GNUC__)
#define CANAL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CANAL_PRINTF(a, b)
#endif

/* Record an error and return its code, so callers can `return set_error(...)`.
 * The first error of a call wins: what failed first (no memory inside a
 * decode callback, say) is the cause, and the failures it sets off on the
 * way up must not replace it. Every public call starts with clear_error. */
CANAL_PRINTF(3, 4) static int set_error(canal_client *c, int code, const char *fmt, ...) {
    if (c->err != CANAL_OK) return c->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof c->errstr, fmt, ap);
    va_end(ap);
    c->err = code;
    return code;
}

/* Put what was being done in front of the error recorded ("get: ..."),
 * cutting the end if the text no longer fits. */
static int error_in(canal_client *c, const char *what) {
    size_t k = strlen(what) + 2, n = strlen(c->errstr);
    if (k >= sizeof c->errstr) return c->err;
    if (n > sizeof c->errstr - 1 - k) n = sizeof c->errstr - 1 - k;
    memmove(c->errstr + k, c->errstr, n);
    memcpy(c->errstr, what, k - 2);
    memcpy(c->errstr + k - 2, ": ", 2);
    c->errstr[k + n] = '\0';
    return c->err;
}

static void clear_error(canal_client *c) {
    c->err = CANAL_OK;
    c->server_code = 0;
    c->errstr[0] = '\0';
}

static void close_fd(canal_client *c) {
    if (c->conn.fd >= 0) close(c->conn.fd);
    c->conn.fd = -1;
    c->conn.rpos = c->conn.rlen = 0;
    /* what the server did with them is unknown now */
    c->sess.n_pending = c->sess.n_kept = c->sess.ops_since_get = 0;
    c->sess.first_get = c->sess.n_gets = c->sess.stale = 0;
    c->sess.flowing = false;
}

/* Fail and close: the error rc, already recorded, ends the connection.
 * What was in flight is lost and the stream is out of step, so the next
 * call must reconnect: `return fail_conn(c, set_error(c, ...))`. */
static int fail_conn(canal_client *c, int rc) {
    close_fd(c);
    return rc;
}

/* ------------------------------------------------------------ 3. memory */

/* Allocator hooks, the no-heap pool, vectors that grow and settle, arenas
 * whose pointers never move. */

static void *mem_alloc(canal_client *c, size_t n) {
    return c->malloc_fn ? c->malloc_fn(c->alloc_ud, n) : malloc(n);
}

static void *mem_realloc(canal_client *c, void *p, size_t n) {
    return c->realloc_fn ? c->realloc_fn(c->alloc_ud, p, n) : realloc(p, n);
}

static void mem_free(canal_client *c, void *p) {
    if (!p) return;
    if (c->free_fn) c->free_fn(c->alloc_ud, p);
    else free(p);
}

/* No-heap mode: a first-fit allocator over the caller's buffer. The client
 * keeps a handful of live blocks (strings, buffers, vectors), so a linear
 * walk is cheap; free neighbours merge as the walk passes them. */
typedef struct pool_blk {
    size_t size; /* payload bytes after this header */
    size_t used;
} pool_blk;

typedef struct pool {
    uint8_t *start, *end;
} pool;

#define POOL_ALIGN 16

#define POOL_HDR ((sizeof(pool_blk) + POOL_ALIGN - 1) / POOL_ALIGN * POOL_ALIGN)

static pool_blk *pool_next(const pool *p, pool_blk *b) {
    uint8_t *n = (uint8_t *)b + POOL_HDR + b->size;
    return n < p->end ? (pool_blk *)(void *)n : NULL;
}

static pool *pool_init(void *buf, size_t size) {
    uintptr_t a = ((uintptr_t)buf + POOL_ALIGN - 1) & ~(uintptr_t)(POOL_ALIGN - 1);
    size_t skip = a - (uintptr_t)buf, hdr = (sizeof(pool) + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    if (size < skip + hdr + 2 * POOL_HDR + POOL_ALIGN) return NULL;
    pool *p = (pool *)a;
    p->start = (uint8_t *)a + hdr;
    p->end = (uint8_t *)buf + size;
    p->end -= (uintptr_t)p->end % POOL_ALIGN;
    pool_blk *b = (pool_blk *)(void *)p->start;
    b->size = (size_t)(p->end - p->start) - POOL_HDR;
    b->used = 0;
    return p;
}

/* Give a block exactly n bytes when the rest is worth a block of its own. */
static void pool_split(const pool *p, pool_blk *b, size_t n) {
    (void)p;
    if (b->size >= n + POOL_HDR + POOL_ALIGN) {
        pool_blk *r = (pool_blk *)(void *)((uint8_t *)b + POOL_HDR + n);
        r->size = b->size - n - POOL_HDR;
        r->used = 0;
        b->size = n;
    }
}

static void pool_merge_free(const pool *p, pool_blk *b) {
    pool_blk *n;
    while ((n = pool_next(p, b)) != NULL && !n->used) b->size += POOL_HDR + n->size;
}

static void *pool_malloc(void *ud, size_t n) {
    pool *p = ud;
    if (n > (size_t)(p->end - p->start)) return NULL;
    n = (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    for (pool_blk *b = (pool_blk *)(void *)p->start; b; b = pool_next(p, b)) {
        if (b->used) continue;
        pool_merge_free(p, b);
        if (b->size >= n) {
            pool_split(p, b, n);
            b->used = 1;
            return (uint8_t *)b + POOL_HDR;
        }
    }
    return NULL;
}

static void pool_free(void *ud, void *ptr) {
    (void)ud;
    if (ptr) ((pool_blk *)(void *)((uint8_t *)ptr - POOL_HDR))->used = 0;
}

static void *pool_realloc(void *ud, void *ptr, size_t n) {
    pool *p = ud;
    if (!ptr) return pool_malloc(ud, n);
    if (n > (size_t)(p->end - p->start)) return NULL;
    pool_blk *b = (pool_blk *)(void *)((uint8_t *)ptr - POOL_HDR);
    size_t want = (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    pool_merge_free(p, b); /* grow in place into free neighbours */
    if (b->size >= want) {
        pool_split(p, b, want);
        return ptr;
    }
    void *q = pool_malloc(ud, n);
    if (!q) return NULL;
    memcpy(q, ptr, b->size);
    b->used = 0;
    return q;
}

static char *mem_strdup(canal_client *c, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = mem_alloc(c, n);
    if (d) memcpy(d, s, n);
    return d;
}

/* How much to grow to for `need`: with headroom, so that a stream of
 * batches settles after a few growths and then never allocates; exactly
 * `need` in no-heap mode, where every byte of the caller's buffer counts. */
static size_t grow_to(const canal_client *c, size_t cap, size_t need, size_t least) {
    if (c->in_pool) return need;
    size_t n = need + need / 2;
    if (n < need) return need; /* overflow: no headroom */
    if (n < 2 * cap && 2 * cap > cap) n = 2 * cap;
    return n < least ? least : n;
}

/* Make room for `need` elements of `size` bytes. */
static bool vec_reserve(canal_client *c, vec *v, size_t need, size_t size) {
    if (need <= v->cap) return true;
    size_t cap = grow_to(c, v->cap, need, 16);
    if (cap > SIZE_MAX / size) return false;
    void *p = mem_realloc(c, v->p, cap * size);
    if (!p) return false;
    v->p = p;
    v->cap = cap;
    return true;
}

static void vec_free(canal_client *c, vec *v) {
    mem_free(c, v->p);
    v->p = NULL;
    v->n = v->cap = 0;
}

/* The most a decode of n bytes may add to the client's memory. */
static size_t decode_budget(const canal_client *c, size_t n) {
    if (c->max_decoded) return c->max_decoded;
    if (n > (SIZE_MAX - CANAL_DECODE_SLACK) / CANAL_DECODE_RATIO) return SIZE_MAX;
    return n * CANAL_DECODE_RATIO + CANAL_DECODE_SLACK;
}

static void start_decode(canal_client *c, size_t n) {
    c->batch.budget = decode_budget(c, n);
    c->batch.grown = 0;
}

static bool over_budget(canal_client *c, size_t need, const char *what) {
    set_error(c, CANAL_ETOOBIG,
              "%zu %s would take the client past the %zu bytes of memory this decode may add "
              "(canal_options.max_decoded)",
              need, what, c->batch.budget);
    return false;
}

/* Room for `need` elements in a vector of the decode running, checked
 * against what it may still add before anything grows: CANAL_ETOOBIG past
 * that, CANAL_ENOMEM when the allocator says no. The usual headroom is cut
 * to what the budget leaves. */
static bool dec_reserve(canal_client *c, vec *v, size_t need, size_t size, const char *what) {
    if (need <= v->cap) return true;
    size_t left = (c->batch.budget - c->batch.grown) / size;
    if (need - v->cap > left) return over_budget(c, need, what);
    size_t cap = grow_to(c, v->cap, need, 16);
    if (cap - v->cap > left) cap = v->cap + left;
    void *p = mem_realloc(c, v->p, cap * size);
    if (!p) {
        set_error(c, CANAL_ENOMEM, "no memory for %zu %s", need, what);
        return false;
    }
    c->batch.grown += (cap - v->cap) * size;
    v->p = p;
    v->cap = cap;
    return true;
}

/* Reserve an arena of at least n bytes for the decode running, within its
 * budget, and empty it. */
static bool dec_arena(canal_client *c, arena *a, size_t n, const char *what) {
    if (n > a->cap) {
        size_t left = c->batch.budget - c->batch.grown;
        if (n - a->cap > left) return over_budget(c, n, what);
        size_t cap = grow_to(c, a->cap, n, 4096);
        if (cap - a->cap > left) cap = a->cap + left;
        char *p = mem_realloc(c, a->base, cap);
        if (!p) {
            set_error(c, CANAL_ENOMEM, "no memory for %zu bytes of %s", n, what);
            return false;
        }
        c->batch.grown += cap - a->cap;
        a->base = p;
        a->cap = cap;
    }
    a->p = a->base;
    a->end = a->base + a->cap;
    return true;
}

/* What the last decode used, for the trims. */
static void vec_note(vec *v) {
    if (v->n > v->peak) v->peak = v->n;
}

static void arena_note(arena *a) {
    size_t used = a->base ? (size_t)(a->p - a->base) : 0;
    if (used > a->peak) a->peak = used;
}

/* Shrink a vector holding over 4 times its recent peak (and over
 * TRIM_FLOOR); start a new window. A failed shrink keeps the block. */
static void vec_trim(canal_client *c, vec *v, size_t size) {
    vec_note(v);
    if (v->cap * size > TRIM_FLOOR && v->cap / 4 > v->peak) {
        size_t cap = grow_to(c, 0, v->peak, 16);
        void *p = mem_realloc(c, v->p, cap * size);
        if (p) v->p = p, v->cap = cap;
    }
    v->peak = 0;
}

static void arena_trim(canal_client *c, arena *a) {
    arena_note(a);
    if (a->cap > TRIM_FLOOR && a->cap / 4 > a->peak) {
        size_t cap = grow_to(c, 0, a->peak, 4096);
        char *p = mem_realloc(c, a->base, cap);
        if (p) a->base = a->p = p, a->end = p + cap, a->cap = cap;
    }
    a->peak = 0;
}

/* A volatile function pointer stops the compiler from dropping the wipe of
 * memory that is about to die (a plain memset there is a dead store). */
static void *(*volatile wipe_memset)(void *, int, size_t) = memset;

static void wipe(void *p, size_t n) { wipe_memset(p, 0, n); }

/* ------------------------------------------------------------ 4. self-contained helpers */

/* SHA-1 and the password scramble, the UTF-8 check, ISO-8859-1, enum
 * names: no client, no I/O. */

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} sha1_ctx;

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(sha1_ctx *s, const uint8_t *p) {
    uint32_t w[80], a, b, cc, d, e, t;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = s->h[0], b = s->h[1], cc = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) f = (b & cc) | (~b & d), k = 0x5A827999;
        else if (i < 40) f = b ^ cc ^ d, k = 0x6ED9EBA1;
        else if (i < 60) f = (b & cc) | (b & d) | (cc & d), k = 0x8F1BBCDC;
        else f = b ^ cc ^ d, k = 0xCA62C1D6;
        t = rol32(a, 5) + f + e + k + w[i];
        e = d, d = cc, cc = rol32(b, 30), b = a, a = t;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += cc, s->h[3] += d, s->h[4] += e;
    wipe(w, sizeof w);
}

static void sha1_init(sha1_ctx *s) {
    static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(s->h, iv, sizeof iv);
    s->len = 0;
    s->nbuf = 0;
}

static void sha1_update(sha1_ctx *s, const void *data, size_t n) {
    const uint8_t *p = data;
    s->len += n;
    while (n > 0) {
        size_t k = 64 - s->nbuf;
        if (k > n) k = n;
        memcpy(s->buf + s->nbuf, p, k);
        s->nbuf += k, p += k, n -= k;
        if (s->nbuf == 64) {
            sha1_block(s, s->buf);
            s->nbuf = 0;
        }
    }
}

static void sha1_final(sha1_ctx *s, uint8_t out[20]) {
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80, zero = 0, lenb[8];
    sha1_update(s, &pad, 1);
    while (s->nbuf != 56) sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_update(s, lenb, 8);
    for (int i = 0; i < 20; i++) out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
    wipe(s, sizeof *s);
}

static void sha1(const void *data, size_t n, uint8_t out[20]) {
    sha1_ctx s;
    sha1_init(&s);
    sha1_update(&s, data, n);
    sha1_final(&s, out);
}

/* scramble411 (§4.3): token = SHA1(seed || SHA1(stage1)) XOR stage1, as
 * lowercase hex. Only stage1 is needed, so the clear password never is. */
static void scramble_hex(const uint8_t stage1[20], const uint8_t *seed, size_t seed_len,
                         char hex[41]) {
    static const char digits[] = "0123456789abcdef";
    uint8_t stage2[20], h[20];
    sha1_ctx s;
    sha1(stage1, 20, stage2);
    sha1_init(&s);
    sha1_update(&s, seed, seed_len);
    sha1_update(&s, stage2, 20);
    sha1_final(&s, h);
    for (int i = 0; i < 20; i++) {
        uint8_t t = h[i] ^ stage1[i];
        hex[2 * i] = digits[t >> 4];
        hex[2 * i + 1] = digits[t & 15];
    }
    hex[40] = '\0';
    wipe(stage2, sizeof stage2);
    wipe(h, sizeof h);
}

/* UTF-8 as Java and Python accept it in proto3 strings: no overlongs, no
 * surrogates, nothing above U+10FFFF. Runs of ASCII go 8 bytes at a time;
 * each multi-byte form is checked with straight-line tests, since column
 * text is full of CJK (3 bytes) and binary values (C2/C3 pairs). */
static bool utf8_valid(const uint8_t *p, size_t n) {
    const uint8_t *end = p + n;
    while (p < end) {
        uint32_t b0 = *p;
        if (b0 < 0x80) {
            p++;
            while ((size_t)(end - p) >= 8) {
                uint64_t w;
                memcpy(&w, p, 8);
                if (w & 0x8080808080808080ull) break;
                p += 8;
            }
            while (p < end && *p < 0x80) p++;
            continue;
        }
        size_t left = (size_t)(end - p);
        if (left >= 4) {
            /* Four bytes at once, little-endian: lead and continuation bits
             * of a whole sequence checked with one mask each. */
            uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24;
            if ((w & 0xC0E0) == 0x80C0) { /* 110xxxxx 10xxxxxx */
                if (b0 < 0xC2) return false;
                p += 2;
                continue;
            }
            if ((w & 0xC0C0F0) == 0x8080E0) { /* 1110xxxx 10xxxxxx 10xxxxxx */
                uint32_t b1 = p[1];
                if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) return false;
                p += 3;
                continue;
            }
            if ((w & 0xC0C0C0F8) == 0x808080F0) { /* 11110xxx and three 10xxxxxx */
                uint32_t b1 = p[1];
                if (b0 > 0xF4 || (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) return false;
                p += 4;
                continue;
            }
            return false;
        }
        /* the last bytes of the string, one sequence at a time */
        if (b0 >= 0xC2 && b0 < 0xE0) {
            if (left < 2 || (p[1] & 0xC0) != 0x80) return false;
            p += 2;
        } else if (b0 >= 0xE0 && b0 < 0xF0) {
            if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return false;
            if ((b0 == 0xE0 && p[1] < 0xA0) || (b0 == 0xED && p[1] > 0x9F)) return false;
            p += 3;
        } else {
            return false; /* a stray continuation, C0/C1, or a 4-byte form cut short */
        }
    }
    return true;
}

/* Write the server's text into out (cap bytes with the NUL) so it is safe
 * to print and log: valid UTF-8 as it is; control bytes (C0, DEL) and the
 * backslash escaped as \n \r \t \\ or \xHH, C1 controls as \u00HH, and
 * every byte of invalid UTF-8 as \xHH; cut between characters with "..."
 * when it does not fit. */
static void escape_text(char *out, size_t cap, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char esc[8];
        const uint8_t *seq = s + i;
        size_t k = 1, e = 0;
        uint8_t b = s[i];
        if (b >= 0x80) { /* one whole valid sequence, or one bad byte */
            size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            k = want <= n - i && utf8_valid(seq, want) ? want : 1;
        }
        if (b == '\n') memcpy(esc, "\\n", 2), e = 2;
        else if (b == '\r') memcpy(esc, "\\r", 2), e = 2;
        else if (b == '\t') memcpy(esc, "\\t", 2), e = 2;
        else if (b == '\\') memcpy(esc, "\\\\", 2), e = 2;
        else if (b < 0x20 || b == 0x7F || (b >= 0x80 && k == 1))
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[b >> 4], esc[3] = hex[b & 15], e = 4;
        else if (k == 2 && b == 0xC2 && seq[1] < 0xA0)
            memcpy(esc, "\\u00", 4), esc[4] = hex[seq[1] >> 4], esc[5] = hex[seq[1] & 15], e = 6;
        const char *piece = e ? esc : (const char *)seq;
        size_t len = e ? e : k;
        if (o + len + 4 > cap) { /* room for "..." and the NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, piece, len);
        o += len;
        i += k;
    }
    out[o] = '\0';
}

int canal_latin1_to_bytes(const char *in, size_t in_len, uint8_t *out, size_t *out_len) {
    if ((!in && in_len) || (!out && in_len) || !out_len) return CANAL_EINVAL;
    const uint8_t *p = (const uint8_t *)in;
    size_t o = 0;
    for (size_t i = 0; i < in_len;) {
        uint8_t b = p[i];
        if (b < 0x80) {
            out[o++] = b;
            i++;
        } else if ((b == 0xC2 || b == 0xC3) && i + 1 < in_len && (p[i + 1] & 0xC0) == 0x80) {
            out[o++] = (uint8_t)((b & 0x03) << 6 | (p[i + 1] & 0x3F));
            i += 2;
        } else {
            return CANAL_EINVAL;
        }
    }
    *out_len = o;
    return CANAL_OK;
}

const char *canal_entry_type_name(int t) {
    static const char *names[] = {"ENTRYTYPECOMPATIBLEPROTO2", "TRANSACTIONBEGIN", "ROWDATA",
                                  "TRANSACTIONEND", "HEARTBEAT", "GTIDLOG"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "UNRECOGNIZED";
}

const char *canal_event_type_name(int t) {
    static const char *names[] = {"EVENTTYPECOMPATIBLEPROTO2", "INSERT", "UPDATE", "DELETE",
                                  "CREATE", "ALTER", "ERASE", "QUERY", "TRUNCATE", "RENAME",
                                  "CINDEX", "DINDEX", "GTID", "XACOMMIT", "XAROLLBACK",
                                  "MHEARTBEAT"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "UNRECOGNIZED";
}

static const char *packet_type_name(int t) {
    static const char *names[] = {"PACKAGETYPECOMPATIBLEPROTO2",
                                  "HANDSHAKE",
                                  "CLIENTAUTHENTICATION",
                                  "ACK",
                                  "SUBSCRIPTION",
                                  "UNSUBSCRIPTION",
                                  "GET",
                                  "MESSAGES",
                                  "CLIENTACK",
                                  "SHUTDOWN",
                                  "DUMP",
                                  "HEARTBEAT",
                                  "CLIENTROLLBACK"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "UNRECOGNIZED";
}

int canal_version(void) {
    /* A reference the linker must resolve: a nanopb runtime built with
     * PB_WITHOUT_64BIT does not export pb_decode_varint (canal.h, "nanopb"). */
    bool (*volatile need_pb64)(pb_istream_t *, uint64_t *) = pb_decode_varint;
    (void)need_pb64;
    return CANAL_VERSION_NUMBER;
}

const char *canal_strerror(int err) {
    switch (err) {
    case CANAL_OK: return "CANAL_OK";
    case CANAL_EIO: return "CANAL_EIO";
    case CANAL_ETIMEOUT: return "CANAL_ETIMEOUT";
    case CANAL_EPROTO: return "CANAL_EPROTO";
    case CANAL_ESERVER: return "CANAL_ESERVER";
    case CANAL_EAUTH: return "CANAL_EAUTH";
    case CANAL_EINVAL: return "CANAL_EINVAL";
    case CANAL_ESTATE: return "CANAL_ESTATE";
    case CANAL_ETOOBIG: return "CANAL_ETOOBIG";
    case CANAL_ENOMEM: return "CANAL_ENOMEM";
    case CANAL_EINTR: return "CANAL_EINTR";
    default: return "CANAL_E?";
    }
}

/* ------------------------------------------------------------ 5. transport */

/* The clock, poll, send and receive on a non-blocking socket, connect.
 * Every wait is bounded by silence (read_timeout_ms since the last byte, or
 * connect_timeout_ms), by the call's own deadline (call_timeout_ms) if it
 * has one, and ends early when the caller's interrupt_fd is readable. */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bounds of a public call start with it. */
static void start_call(canal_client *c) {
    clear_error(c);
    c->conn.call_deadline = c->call_timeout_ms ? now_ms() + c->call_timeout_ms : 0;
    c->conn.reply_wait_ms = 0;
}

/* When a wait that may last silence_ms (< 0: no limit) from now must end:
 * the sooner of that and the call's deadline; 0 for never. */
static int64_t wait_until(const canal_client *c, int64_t silence_ms) {
    int64_t until = silence_ms < 0 ? 0 : now_ms() + silence_ms;
    if (c->conn.call_deadline && (!until || c->conn.call_deadline < until))
        until = c->conn.call_deadline;
    return until;
}

enum { WAIT_READY = 1, WAIT_TIMEOUT = 0, WAIT_ERROR = -1, WAIT_INTERRUPTED = -2 };

/* Wait until fd is ready for `events`, `until` passes (0: never) or the
 * caller's interrupt_fd is readable, which is checked first: a stop wins
 * over data. That descriptor is level-triggered and never read here, so a
 * signal that wrote to it before this poll is seen by it: no race between
 * a check and the wait. EINTR is retried with the time that is left, so a
 * signal alone neither ends nor stretches a wait. */
static int wait_fd(const canal_client *c, int fd, short events, int64_t until) {
    for (;;) {
        struct pollfd p[2] = {{fd, events, 0}, {c->interrupt_fd, POLLIN, 0}};
        int timeout = -1;
        if (until) {
            int64_t left = until - now_ms();
            timeout = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        int r = poll(p, c->interrupt_fd >= 0 ? 2 : 1, timeout);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return WAIT_ERROR;
        if (c->interrupt_fd >= 0 && p[1].revents) {
            if (!(p[1].revents & POLLNVAL)) return WAIT_INTERRUPTED;
            errno = EBADF; /* the caller closed it */
            return WAIT_ERROR;
        }
        if (r > 0) return WAIT_READY;
        if (until && now_ms() >= until) return WAIT_TIMEOUT;
    }
}

/* A call that would wait for the server does not start while the caller's
 * interrupt_fd is readable: nothing is sent, the connection stays. */
static int check_interrupt(canal_client *c, const char *what) {
    struct pollfd p = {c->interrupt_fd, POLLIN, 0};
    if (c->interrupt_fd < 0 || poll(&p, 1, 0) <= 0 || (p.revents & POLLNVAL)) return CANAL_OK;
    return set_error(c, CANAL_EINTR,
                     "%s: interrupted before it started (interrupt_fd %d is readable)", what,
                     c->interrupt_fd);
}

/* A wait on the connection that did not end ready: its error, and the
 * connection closes (a reply was due, or a request half sent). `doing`
 * says what was waited for; silence_ms is what the wait allowed. */
static int wait_failed(canal_client *c, int w, int64_t silence_ms, const char *doing) {
    if (w == WAIT_INTERRUPTED)
        return fail_conn(c, set_error(c, CANAL_EINTR,
                                      "interrupted (interrupt_fd %d is readable) %s",
                                      c->interrupt_fd, doing));
    if (w == WAIT_TIMEOUT && c->conn.call_deadline && now_ms() >= c->conn.call_deadline)
        return fail_conn(c, set_error(c, CANAL_ETIMEOUT, "timed out after %d ms (call_timeout_ms) %s",
                                      c->call_timeout_ms, doing));
    if (w == WAIT_TIMEOUT && silence_ms > c->read_timeout_ms)
        return fail_conn(c, set_error(c, CANAL_ETIMEOUT,
                                      "timed out after %lld ms without data (read_timeout_ms "
                                      "%d + the GET's wait) %s",
                                      (long long)silence_ms, c->read_timeout_ms, doing));
    if (w == WAIT_TIMEOUT)
        return fail_conn(c, set_error(c, CANAL_ETIMEOUT,
                                      "timed out after %d ms without data (read_timeout_ms) %s",
                                      c->read_timeout_ms, doing));
    return fail_conn(c, set_error(c, CANAL_EIO, "poll failed %s: %s", doing, strerror(errno)));
}

static int send_all(canal_client *c, const uint8_t *p, size_t n, const char *what) {
    while (n > 0) {
        ssize_t w = send(c->conn.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A server that does not read is silent too. */
            int r = wait_fd(c, c->conn.fd, POLLOUT, wait_until(c, c->read_timeout_ms));
            if (r == WAIT_READY) continue;
            char doing[96];
            snprintf(doing, sizeof doing, "sending %s", what);
            return wait_failed(c, r, c->read_timeout_ms, doing);
        }
        return fail_conn(c, set_error(c, CANAL_EIO, "sending %s failed: %s", what,
                                      strerror(errno)));
    }
    return CANAL_OK;
}

/* Read whatever the socket has (at least one byte) into the receive buffer,
 * waiting at most silence_ms (< 0: no limit) for it. */
static int fill(canal_client *c, int64_t silence_ms, const char *what, const char *part,
                size_t got, size_t want) {
    struct conn *k = &c->conn;
    for (;;) {
        ssize_t r = recv(k->fd, k->rbuf + k->rlen, k->rcap - k->rlen, MSG_DONTWAIT);
        if (r > 0) {
            k->rlen += (size_t)r;
            return CANAL_OK;
        }
        if (r == 0)
            return fail_conn(c, set_error(c, CANAL_EIO,
                             "server closed the connection while sending %s (%zu of %zu %s "
                             "bytes received)",
                             what, got, want, part));
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(c, k->fd, POLLIN, wait_until(c, silence_ms));
            if (w == WAIT_READY) continue;
            char doing[192];
            snprintf(doing, sizeof doing, "waiting for %s (%zu of %zu %s bytes received)", what,
                     got, want, part);
            return wait_failed(c, w, silence_ms, doing);
        }
        return fail_conn(c, set_error(c, CANAL_EIO, "receiving %s failed: %s", what,
                         strerror(errno)));
    }
}

/* Non-blocking, no Nagle, keepalive as configured. The socket options are
 * best effort: a Unix socket from canal_connect_fd has none of them. */
static int set_up_socket(const canal_client *c, int fd) {
    int one = 1, fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    /* Requests are small and answered at once: never let Nagle hold one. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->keepalive_idle_s > 0) {
        /* What finds a dead server while a GET waits without a limit. */
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#if defined(TCP_KEEPIDLE)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &c->keepalive_idle_s, sizeof(int));
#elif defined(TCP_KEEPALIVE) /* macOS */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPALIVE, &c->keepalive_idle_s, sizeof(int));
#endif
#ifdef TCP_KEEPINTVL
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &c->keepalive_interval_s, sizeof(int));
#endif
#ifdef TCP_KEEPCNT
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &c->keepalive_count, sizeof(int));
#endif
    }
#ifdef SO_NOSIGPIPE
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return 0;
}

/* Connect to one address by `until` (see wait_until): the socket, or -1
 * with *code and why saying what failed. */
static int connect_addr(const canal_client *c, const struct addrinfo *ai, int64_t until,
                        int *code, char *why, size_t cap) {
#ifdef SOCK_CLOEXEC
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
#else
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return -1;
    }
    if (set_up_socket(c, fd) < 0) {
        snprintf(why, cap, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
        int w = wait_fd(c, fd, POLLOUT, until);
        if (w == WAIT_TIMEOUT || w == WAIT_INTERRUPTED) {
            close(fd);
            *code = w == WAIT_TIMEOUT ? CANAL_ETIMEOUT : CANAL_EINTR;
            if (w == WAIT_INTERRUPTED)
                snprintf(why, cap, "interrupted (interrupt_fd %d is readable)", c->interrupt_fd);
            else if (until == c->conn.call_deadline)
                snprintf(why, cap, "timed out after %d ms (call_timeout_ms)", c->call_timeout_ms);
            else
                snprintf(why, cap, "timed out after %d ms", c->connect_timeout_ms);
            return -1;
        }
        int err = 0;
        socklen_t el = sizeof err;
        if (w < 0) err = errno;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
        r = err ? -1 : 0;
        errno = err;
    }
    if (r == 0) return fd;
    *code = CANAL_EIO;
    snprintf(why, cap, "%s", strerror(errno));
    close(fd);
    return -1;
}

/* Resolve the host afresh (servers move) and connect to its addresses in
 * turn, all within connect_timeout_ms (and the call's own deadline). */
static int tcp_connect(canal_client *c, const server_addr *srv) {
    struct addrinfo hints, *res = NULL, *ai;
    char port[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%d", srv->port);
    int g = getaddrinfo(srv->host, port, &hints, &res);
    if (g != 0)
        return set_error(c, CANAL_EIO, "cannot resolve %s: %s", srv->host, gai_strerror(g));
    int64_t until = wait_until(c, c->connect_timeout_ms);
    int fd = -1, code = CANAL_EIO;
    char why[160] = "no address";
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = connect_addr(c, ai, until, &code, why, sizeof why);
        if (code == CANAL_ETIMEOUT || code == CANAL_EINTR) break; /* for every address */
    }
    freeaddrinfo(res);
    if (fd < 0) return set_error(c, code, "cannot connect to %s:%d: %s", srv->host, srv->port, why);
    c->conn.fd = fd;
    return CANAL_OK;
}

/* The pause between connect attempts over a server list. */
static int pause_between(canal_client *c, int ms) {
    int w = wait_fd(c, -1, 0, wait_until(c, ms));
    if (w == WAIT_INTERRUPTED)
        return set_error(c, CANAL_EINTR, "connect: interrupted between servers");
    if (c->conn.call_deadline && now_ms() >= c->conn.call_deadline)
        return set_error(c, CANAL_ETIMEOUT, "connect: call_timeout_ms (%d) passed between servers",
                         c->call_timeout_ms);
    return CANAL_OK;
}

/* ------------------------------------------------------------ 6. framing */

/* A frame is a 4-byte length and a body (§1); its header is read by a
 * pure function, the body into the receive buffer. */

/* A frame (§1) is a 4-byte big-endian length, then that many bytes. Read
 * the length from the `have` bytes received so far, with no socket: 0 while
 * fewer than 4 are there; 1 with *len set; CANAL_EPROTO for a length with
 * the sign bit set (Java reads an int), CANAL_ETOOBIG for one above
 * max_frame, so that no memory is ever set aside for either (*len is set
 * for the error text). */
static int frame_header(const uint8_t *p, size_t have, size_t max_frame, uint32_t *len) {
    if (have < 4) return 0;
    *len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (*len >= 0x80000000u) return CANAL_EPROTO;
    if (*len > max_frame) return CANAL_ETOOBIG;
    return 1;
}

/* Every TRIM_EVERY frames, a receive buffer far above the largest of them
 * (a freak frame has passed) shrinks back; bytes read ahead stay. */
static void frame_trim(canal_client *c) {
    struct conn *k = &c->conn;
    size_t floor = c->in_pool ? 1024 : CANAL_INITIAL_RBUF;
    if (++k->frames % TRIM_EVERY != 0) return;
    size_t want = grow_to(c, 0, k->frame_peak, floor);
    if (want < floor) want = floor; /* no-heap mode: grow_to has no floor */
    if (want < k->rlen) want = k->rlen;
    k->frame_peak = 0;
    if (k->rcap <= TRIM_FLOOR || k->rcap / 4 <= want) return;
    uint8_t *p = mem_realloc(c, k->rbuf, want);
    if (p) k->rbuf = p, k->rcap = want;
}

/* Room for more of a frame of `total` bytes (n of body), once the buffer
 * is full: it doubles, so memory follows the bytes that came (at most twice
 * them) and a length alone sets nothing aside, and a stream of frames
 * settles. In no-heap mode the caller's buffer is memory already: the whole
 * frame is set aside at once, so one that cannot fit fails before its bytes
 * are waited for. */
static int frame_room(canal_client *c, size_t total, uint32_t n, const char *what) {
    struct conn *k = &c->conn;
    size_t cap = k->rcap * 2;
    if (cap < k->rcap || cap > c->max_frame + 4) cap = c->max_frame + 4;
    if (c->in_pool) cap = total;
    uint8_t *p = mem_realloc(c, k->rbuf, cap);
    if (!p && c->in_pool)
        return fail_conn(c, set_error(c, CANAL_ETOOBIG,
                                      "frame of %u bytes in %s does not fit the client's heap "
                                      "buffer",
                                      n, what));
    if (!p)
        return fail_conn(c, set_error(c, CANAL_ENOMEM, "no memory for a frame of %u bytes in %s",
                                      n, what));
    k->rbuf = p;
    k->rcap = cap;
    return CANAL_OK;
}

/* Read one frame: its header, checked before any memory is set aside for
 * it, then the body, the buffer growing as its bytes arrive. The body stays in the receive buffer until the next
 * read_frame, which moves the buffer: whatever points into it (the current
 * message) must have ended before. */
static int read_frame(canal_client *c, const char *what, const uint8_t **body, size_t *len) {
    struct conn *k = &c->conn;
    int rc;
    uint32_t n = 0;
    if (k->rpos > 0) { /* drop the previous frame; keep bytes read ahead */
        memmove(k->rbuf, k->rbuf + k->rpos, k->rlen - k->rpos);
        k->rlen -= k->rpos;
        k->rpos = 0;
    }
    frame_trim(c);
    /* Before the first byte the server may legitimately say nothing for as
     * long as it was allowed to wait (a GET's own wait); after it, every
     * silence counts against read_timeout_ms. */
    int64_t first = k->reply_wait_ms < 0 ? -1 : (int64_t)c->read_timeout_ms + k->reply_wait_ms;
    k->reply_wait_ms = 0;
    while ((rc = frame_header(k->rbuf, k->rlen, c->max_frame, &n)) == 0)
        if ((rc = fill(c, k->rlen ? c->read_timeout_ms : first, what, "header", k->rlen, 4)) < 0)
            return rc;
    if (rc == CANAL_EPROTO)
        return fail_conn(c, set_error(c, CANAL_EPROTO, "negative frame length %u (0x%08x) in %s",
                                      n, n, what));
    if (rc == CANAL_ETOOBIG)
        return fail_conn(c, set_error(c, CANAL_ETOOBIG,
                                      "frame length %u exceeds max_frame %zu in %s", n,
                                      c->max_frame, what));
    size_t total = 4 + (size_t)n;
    if (total > k->frame_peak) k->frame_peak = total;
    if (c->in_pool && total > k->rcap && (rc = frame_room(c, total, n, what)) < 0) return rc;
    while (k->rlen < total) {
        if (k->rlen == k->rcap && (rc = frame_room(c, total, n, what)) < 0) return rc;
        if ((rc = fill(c, c->read_timeout_ms, what, "body", k->rlen - 4, n)) < 0) return rc;
    }
    *body = k->rbuf + 4;
    *len = n;
    k->rpos = total;
    return CANAL_OK;
}

/* ------------------------------------------------------------ 7. wire codec */

/* nanopb encodes requests; every message received is decoded by hand, with
 * one field scanner and protobuf's own rules (those of Google's C++ parser,
 * and of Java where the two differ): fields in any order; the last scalar or
 * string wins; repeated fields append; a message field sent twice is merged
 * (decoded again into the same one); a field of a known number but another
 * wire type is an unknown field; unknown fields are skipped, groups (wire
 * types 3/4) included. Then strings into an arena, and pairs. */

/* Encode callback for a C string field; empty strings stay off the wire as
 * protobuf (and the Java client) would leave them. */
static bool enc_str(pb_ostream_t *s, const pb_field_t *f, void *const *arg) {
    const char *str = *arg;
    size_t n = strlen(str);
    if (n == 0) return true;
    return pb_encode_tag_for_field(s, f) && pb_encode_string(s, (const pb_byte_t *)str, n);
}

typedef struct inner_msg {
    const pb_msgdesc_t *fields;
    const void *msg;
} inner_msg;

static bool enc_body(pb_ostream_t *s, const pb_field_t *f, void *const *arg) {
    const inner_msg *in = *arg;
    return pb_encode_tag_for_field(s, f) && pb_encode_submessage(s, in->fields, in->msg);
}

/* Enum fields keep any number: its low 32 bits, as Java's readEnum does. */
static int32_t enum_value(uint64_t v) { return (int32_t)(uint32_t)v; }

static void set_str(pb_callback_t *cb, const char *s) {
    cb->funcs.encode = enc_str;
    cb->arg = (void *)(uintptr_t)s; /* the callback only reads it */
}

/* How deep messages and groups may nest, the top message being 0: what
 * protobuf's parsers allow. */
#define PB_MAX_DEPTH 100

/* A varint: at most 10 bytes, bits past 64 dropped (a 10th byte above 1 is
 * fine), as protobuf and Java read it. Inline: it runs for every tag and
 * every scalar of every column. */
static inline bool get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) { /* the usual case: one byte */
        *v = *p;
        *pp = p + 1;
        return true;
    }
    uint64_t r = 0;
    for (int shift = 0; shift < 70 && p < end; shift += 7) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7F) << (shift < 64 ? shift : 63);
        if (!(b & 0x80)) {
            *v = r;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* A length as Java's readRawVarint32 reads it: the low 32 bits of the
 * varint, refused when negative as an int or longer than what is left. */
static inline const char *get_length(const uint8_t **pp, const uint8_t *end, size_t *n) {
    uint64_t v;
    if (!get_varint(pp, end, &v)) return "malformed length";
    uint32_t k = (uint32_t)v;
    if (k > INT32_MAX) return "negative length";
    if (k > (size_t)(end - *pp)) return "length past the end";
    *n = k;
    return NULL;
}

/* One field of a message: its number and wire type, and the varint (wt 0)
 * or the bytes (wt 2). */
typedef struct wire_field {
    uint32_t field, wt;
    uint64_t v;
    const uint8_t *p;
    size_t n;
} wire_field;

/* Step over a group whose start tag was just read, to its end tag, with the
 * groups inside it; `depth` is the group's own. */
static bool skip_group(const uint8_t **pp, const uint8_t *end, uint32_t tag, int depth,
                       const char **problem) {
    uint32_t open[PB_MAX_DEPTH];
    int n = 0;
    const uint8_t *p = *pp;
    if (depth > PB_MAX_DEPTH) return *problem = "groups nested too deep", false;
    open[n++] = tag;
    while (n > 0) {
        uint64_t key, v;
        size_t len;
        if (p >= end) return *problem = "group without its end", false;
        if (!get_varint(&p, end, &key)) return *problem = "malformed tag", false;
        uint32_t t = (uint32_t)key;
        if (t >> 3 == 0) return *problem = "field number 0", false;
        switch (t & 7) {
        case 0:
            if (!get_varint(&p, end, &v)) return *problem = "malformed varint", false;
            break;
        case 1:
        case 5:
            len = (t & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < len) return *problem = "fixed field past the end", false;
            p += len;
            break;
        case 2:
            if ((*problem = get_length(&p, end, &len)) != NULL) return false;
            p += len;
            break;
        case 3:
            if (depth + n > PB_MAX_DEPTH) return *problem = "groups nested too deep", false;
            open[n++] = t;
            break;
        case 4:
            if (t != ((open[n - 1] & ~7u) | 4)) return *problem = "end of another group", false;
            n--;
            break;
        default: return *problem = "invalid wire type", false;
        }
    }
    *pp = p;
    return true;
}

/* The next varint or length-delimited field of a message at `depth` from
 * *pp; fixed 32/64-bit fields and groups are stepped over (no field of
 * Canal's messages has those types, so they are unknown). A tag is the low
 * 32 bits of its varint, as Java reads it (a field number past 2^29 wraps).
 * 1: a field, 0: the end, -1: malformed (*problem says how). Inline: it
 * runs for every field of every column. */
static inline int next_field(const uint8_t **pp, const uint8_t *end, int depth, wire_field *f,
                             const char **problem) {
    const uint8_t *p = *pp;
    for (;;) {
        uint64_t key;
        if (p >= end) return 0;
        if (!get_varint(&p, end, &key)) return *problem = "malformed tag", -1;
        uint32_t tag = (uint32_t)key;
        f->field = tag >> 3, f->wt = tag & 7;
        if (f->field == 0) return *problem = "field number 0", -1;
        if (f->wt == 0) {
            if (!get_varint(&p, end, &f->v)) return *problem = "malformed varint", -1;
            *pp = p;
            return 1;
        }
        if (f->wt == 2) {
            if ((*problem = get_length(&p, end, &f->n)) != NULL) return -1;
            f->p = p;
            *pp = p + f->n;
            return 1;
        }
        if (f->wt == 1 || f->wt == 5) {
            size_t skip = f->wt == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip) return *problem = "fixed field past the end", -1;
            p += skip;
            continue;
        }
        if (f->wt == 3) {
            if (!skip_group(&p, end, tag, depth + 1, problem)) return -1;
            continue;
        }
        return *problem = f->wt == 4 ? "end of a group never started" : "invalid wire type", -1;
    }
}

/* Shared by every decode of entry trees: the client (for validation and
 * vectors), the string arena and the first problem met. A memory problem
 * (CANAL_ENOMEM, CANAL_ETOOBIG) is recorded in the client and leaves
 * problem NULL. */
typedef struct dec_ctx {
    canal_client *c;
    arena *str;
    const char *problem; /* what is wrong with the bytes */
    const char *field;   /* and where */
} dec_ctx;

/* Copy a string field into the arena, NUL-terminated. The arena was
 * reserved to the encoded size, which bounds all its strings (each one costs
 * at least a tag and a length byte on the wire, and takes one NUL here). */
static bool copy_bytes(dec_ctx *x, const uint8_t *p, size_t n, canal_str *out, const char *field) {
    if (x->c->validate_utf8 && !utf8_valid(p, n)) {
        x->problem = "invalid UTF-8";
        x->field = field;
        return false;
    }
    if ((size_t)(x->str->end - x->str->p) < n + 1) { /* cannot happen; see above */
        x->problem = "string arena overflow";
        x->field = field;
        return false;
    }
    memcpy(x->str->p, p, n);
    x->str->p[n] = '\0';
    out->ptr = x->str->p;
    out->len = n;
    x->str->p += n + 1;
    return true;
}

/* A Pair (props of Header, Column, RowData, RowChange) at `depth`,
 * appended to v. */
static bool decode_pair(dec_ctx *x, const uint8_t *p, size_t n, int depth, vec *v) {
    const uint8_t *end = p + n;
    canal_pair pr = {EMPTY, EMPTY};
    wire_field f;
    int more;
    while ((more = next_field(&p, end, depth, &f, &x->problem)) > 0) {
        if (f.wt != 2) continue;
        if (f.field == caocp_Pair_key_tag && !copy_bytes(x, f.p, f.n, &pr.key, "Pair.key"))
            return false;
        if (f.field == caocp_Pair_value_tag && !copy_bytes(x, f.p, f.n, &pr.value, "Pair.value"))
            return false;
    }
    if (more < 0) {
        x->field = "Pair";
        return false;
    }
    if (!dec_reserve(x->c, v, v->n + 1, sizeof(canal_pair), "props")) return false;
    ((canal_pair *)v->p)[v->n++] = pr;
    return true;
}

/* Does [p, p+n) overlap [q, q+qn)? */
static bool overlaps(const void *p, size_t n, const void *q, size_t qn) {
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return n && qn && q && a < b + qn && b < a + n;
}

/* Do bytes a caller passes in lie in the strings and arrays the client
 * decoded into, which the next decode rewrites? */
static bool client_owns(const canal_client *c, const void *p, size_t n) {
    const struct batch *b = &c->batch;
    const struct {
        const vec *v;
        size_t size;
    } vs[] = {{&b->entries, sizeof(canal_entry)},     {&b->hdr_pairs, sizeof(canal_pair)},
              {&b->cols_before, sizeof(canal_column)}, {&b->cols_after, sizeof(canal_column)},
              {&b->rows, sizeof(canal_row)},           {&b->col_pairs, sizeof(canal_pair)},
              {&b->row_pairs, sizeof(canal_pair)},     {&b->rc_pairs, sizeof(canal_pair)}};
    if (overlaps(p, n, b->hdr_str.base, b->hdr_str.cap) ||
        overlaps(p, n, b->rc_str.base, b->rc_str.cap))
        return true;
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        if (overlaps(p, n, vs[i].v->p, vs[i].v->cap * vs[i].size)) return true;
    return false;
}

/* ------------------------------------------------------------ 8. packets */

/* Packet (§2), Ack, Handshake, and one builder per request. */

/* Tell the trace hook, if any, of a request sent or a reply read: what
 * the header of canal_trace says, never a byte of the body. */
static void trace(const canal_client *c, bool sent, int type, size_t length, int64_t batch_id,
                  size_t n_entries, int error_code) {
    if (!c->trace_fn) return;
    canal_trace t;
    t.sent = sent;
    t.type = type;
    t.type_name = packet_type_name(type);
    t.length = length;
    t.batch_id = batch_id;
    t.n_entries = n_entries;
    t.error_code = error_code;
    c->trace_fn(c->trace_ud, &t);
}

/* Frame and send Packet{type, body} (§2) as one write; the Java client's two
 * writes without TCP_NODELAY are what stalls it ~40 ms per request.
 * batch_id is for the trace only. */
static int send_packet(canal_client *c, caocp_PacketType type, const pb_msgdesc_t *fields,
                       const void *msg, int64_t batch_id, const char *what) {
    caocp_Packet pkt;
    inner_msg in = {fields, msg};
    size_t body_size = 0, size = 0;
    memset(&pkt, 0, sizeof pkt);
    pkt.type = (uint64_t)type;
    if (!pb_get_encoded_size(&body_size, fields, msg))
        return set_error(c, CANAL_EINVAL, "cannot encode %s", what);
    if (body_size > 0) {
        pkt.body.funcs.encode = enc_body;
        pkt.body.arg = &in;
    }
    if (!pb_get_encoded_size(&size, caocp_Packet_fields, &pkt))
        return set_error(c, CANAL_EINVAL, "cannot encode %s", what);
    if (size > 0x7fffffff)
        return set_error(c, CANAL_ETOOBIG, "%s of %zu bytes is too large to send", what, size);
    if (size + 4 > c->conn.wcap) {
        uint8_t *p = mem_realloc(c, c->conn.wbuf, size + 4);
        if (!p) return set_error(c, CANAL_ENOMEM, "no memory to encode %s", what);
        c->conn.wbuf = p;
        c->conn.wcap = size + 4;
    }
    pb_ostream_t os = pb_ostream_from_buffer(c->conn.wbuf + 4, size);
    if (!pb_encode(&os, caocp_Packet_fields, &pkt))
        return set_error(c, CANAL_EINVAL, "cannot encode %s: %s", what, PB_GET_ERROR(&os));
    c->conn.wbuf[0] = (uint8_t)(size >> 24), c->conn.wbuf[1] = (uint8_t)(size >> 16);
    c->conn.wbuf[2] = (uint8_t)(size >> 8), c->conn.wbuf[3] = (uint8_t)size;
    int rc = send_all(c, c->conn.wbuf, size + 4, what);
    /* A password token lived in wbuf for ClientAuth: do not leave it there. */
    if (type == caocp_PacketType_CLIENTAUTHENTICATION) wipe(c->conn.wbuf, c->conn.wcap);
    if (rc == CANAL_OK) trace(c, true, (int)type, size, batch_id, 0, 0);
    return rc;
}

typedef struct packet_view {
    int type;
    bool has_compression;
    int compression;
    bool has_version;
    int version;
    canal_bytes body;
} packet_view;

static int parse_packet(canal_client *c, const uint8_t *buf, size_t len, packet_view *pv,
                        const char *what) {
    const uint8_t *p = buf, *end = buf + len;
    const char *problem = NULL;
    wire_field f;
    int more;
    memset(pv, 0, sizeof *pv);
    pv->body.ptr = (const uint8_t *)empty_str;
    while ((more = next_field(&p, end, 0, &f, &problem)) > 0) {
        if (f.wt == 2 && f.field == caocp_Packet_body_tag) pv->body.ptr = f.p, pv->body.len = f.n;
        if (f.wt != 0) continue;
        if (f.field == caocp_Packet_type_tag) pv->type = enum_value(f.v);
        if (f.field == caocp_Packet_version_tag)
            pv->has_version = true, pv->version = (int32_t)(uint32_t)f.v;
        if (f.field == caocp_Packet_compression_tag)
            pv->has_compression = true, pv->compression = enum_value(f.v);
    }
    if (more < 0) return set_error(c, CANAL_EPROTO, "%s: malformed Packet (%s)", what, problem);
    return CANAL_OK;
}

typedef struct ack_view {
    int code;
    canal_bytes message;
} ack_view;

static int parse_ack(canal_client *c, const packet_view *pv, ack_view *av, const char *what) {
    const uint8_t *p = pv->body.ptr, *end = p + pv->body.len;
    const char *problem = NULL;
    wire_field f;
    int more;
    memset(av, 0, sizeof *av);
    av->message.ptr = (const uint8_t *)empty_str;
    while ((more = next_field(&p, end, 0, &f, &problem)) > 0) {
        if (f.wt == 0 && f.field == caocp_Ack_error_code_tag) av->code = (int32_t)(uint32_t)f.v;
        if (f.wt == 2 && f.field == caocp_Ack_error_message_tag)
            av->message.ptr = f.p, av->message.len = f.n;
    }
    if (more < 0) return set_error(c, CANAL_EPROTO, "%s: malformed Ack (%s)", what, problem);
    /* Only a positive code is an error (§10.2 trap 9); absent reads 0. */
    return CANAL_OK;
}

/* Handshake (§4.1): version must be present and 1, type HANDSHAKE; the seed
 * for the password token (the last seeds field, as protobuf keeps it) is a
 * view into the frame. */
static int parse_handshake(canal_client *c, const packet_view *pv, canal_bytes *seed) {
    seed->ptr = (const uint8_t *)empty_str;
    seed->len = 0;
    if (!pv->has_version || pv->version != 1)
        return set_error(c, CANAL_EPROTO, "handshake: unsupported version %d%s", pv->version,
                         pv->has_version ? "" : " (absent)");
    if (pv->type != caocp_PacketType_HANDSHAKE)
        return set_error(c, CANAL_EPROTO,
                         "handshake: expected a HANDSHAKE packet, got type %d (%s)", pv->type,
                         packet_type_name(pv->type));
    const uint8_t *p = pv->body.ptr, *end = p + pv->body.len;
    const char *problem = NULL;
    wire_field f;
    int more;
    while ((more = next_field(&p, end, 0, &f, &problem)) > 0)
        if (f.wt == 2 && f.field == caocp_Handshake_seeds_tag) seed->ptr = f.p, seed->len = f.n;
    if (more < 0)
        return set_error(c, CANAL_EPROTO, "handshake: malformed Handshake (%s)", problem);
    return CANAL_OK;
}

/* Every request after login opens with the destination and the client id. */
static void set_ids(const canal_client *c, pb_callback_t *destination, pb_callback_t *client_id) {
    set_str(destination, c->destination);
    set_str(client_id, c->client_id);
}

/* ClientAuth (§4.1 step 3): the token is hex text; no password sends none. */
static int send_auth(canal_client *c, canal_bytes seed) {
    char token[41] = "";
    if (c->has_password) scramble_hex(c->stage1, seed.ptr, seed.len, token);
    caocp_ClientAuth auth;
    memset(&auth, 0, sizeof auth);
    set_str(&auth.username, c->username);
    set_str(&auth.password, token);
    auth.which_net_read_timeout_present = caocp_ClientAuth_net_read_timeout_tag;
    auth.net_read_timeout_present.net_read_timeout = c->idle_timeout_ms;
    auth.which_net_write_timeout_present = caocp_ClientAuth_net_write_timeout_tag;
    auth.net_write_timeout_present.net_write_timeout = c->idle_timeout_ms;
    int rc = send_packet(c, caocp_PacketType_CLIENTAUTHENTICATION, caocp_ClientAuth_fields, &auth,
                         0, "ClientAuth");
    wipe(token, sizeof token);
    return rc;
}

static int send_sub(canal_client *c, const char *filter) {
    caocp_Sub sub;
    memset(&sub, 0, sizeof sub);
    set_ids(c, &sub.destination, &sub.client_id);
    set_str(&sub.filter, filter);
    return send_packet(c, caocp_PacketType_SUBSCRIPTION, caocp_Sub_fields, &sub, 0, "Sub");
}

static int send_unsub(canal_client *c) {
    caocp_Unsub un;
    memset(&un, 0, sizeof un);
    set_ids(c, &un.destination, &un.client_id);
    return send_packet(c, caocp_PacketType_UNSUBSCRIPTION, caocp_Unsub_fields, &un, 0, "Unsub");
}

/* Get as the Java client sends it (§5.4): every field explicit. */
static int send_get(canal_client *c, int batch_size, int timeout_ms) {
    caocp_Get g;
    memset(&g, 0, sizeof g);
    set_ids(c, &g.destination, &g.client_id);
    g.fetch_size = batch_size > 0 ? batch_size : 1000;
    g.which_timeout_present = caocp_Get_timeout_tag;
    g.timeout_present.timeout = timeout_ms < 0 ? -1 : timeout_ms;
    g.which_unit_present = caocp_Get_unit_tag;
    g.unit_present.unit = 2; /* TimeUnit.MILLISECONDS */
    g.which_auto_ack_present = caocp_Get_auto_ack_tag;
    g.auto_ack_present.auto_ack = false;
    return send_packet(c, caocp_PacketType_GET, caocp_Get_fields, &g, 0, "Get");
}

static int send_ack(canal_client *c, int64_t batch_id) {
    caocp_ClientAck a;
    memset(&a, 0, sizeof a);
    set_ids(c, &a.destination, &a.client_id);
    a.batch_id = batch_id;
    return send_packet(c, caocp_PacketType_CLIENTACK, caocp_ClientAck_fields, &a, batch_id,
                       "ClientAck");
}

/* batch_id 0: every unacked batch. */
static int send_rollback(canal_client *c, int64_t batch_id) {
    caocp_ClientRollback r;
    memset(&r, 0, sizeof r);
    set_ids(c, &r.destination, &r.client_id);
    r.batch_id = batch_id;
    return send_packet(c, caocp_PacketType_CLIENTROLLBACK, caocp_ClientRollback_fields, &r,
                       batch_id, "ClientRollback");
}

/* ------------------------------------------------------------ 9. message model */

/* Messages -> Entry -> Header into the current message, which the
 * session ends (drop_message) and starts (decode_messages). */

/* The current message ends: its views may point into rbuf or a caller's
 * buffer that is about to change. */
static void drop_message(canal_client *c) {
    c->batch.msg_buf = NULL;
    c->batch.msg_len = 0;
    c->batch.msg.batch_id = -1;
    c->batch.msg.n_entries = 0;
    c->batch.msg.entries = NULL;
}

/* Header by hand, like Column: it is decoded for every entry of every
 * batch, also for consumers that only forward raw entries. One occurrence
 * of Entry.header (depth 1) decoded into h: a second one merges into it, as
 * protobuf merges a message field sent twice. */
static bool decode_header(dec_ctx *x, canal_header *h, const uint8_t *p, size_t n) {
    canal_client *c = x->c;
    const uint8_t *end = p + n;
    wire_field f;
    int more;
    while ((more = next_field(&p, end, 1, &f, &x->problem)) > 0) {
        bool ok = true;
        if (f.wt == 0) {
            switch (f.field) {
            case caocp_Header_version_tag: h->has_version = true, h->version = (int32_t)(uint32_t)f.v; break;
            case caocp_Header_logfileOffset_tag: h->logfile_offset = (int64_t)f.v; break;
            case caocp_Header_serverId_tag: h->server_id = (int64_t)f.v; break;
            case caocp_Header_executeTime_tag: h->execute_time = (int64_t)f.v; break;
            case caocp_Header_sourceType_tag: h->has_source_type = true, h->source_type = enum_value(f.v); break;
            case caocp_Header_eventLength_tag: h->event_length = (int64_t)f.v; break;
            case caocp_Header_eventType_tag: h->has_event_type = true, h->event_type = enum_value(f.v); break;
            default: break;
            }
            continue;
        }
        switch (f.field) {
        case caocp_Header_logfileName_tag: ok = copy_bytes(x, f.p, f.n, &h->logfile_name, "Header.logfileName"); break;
        case caocp_Header_serverenCode_tag: ok = copy_bytes(x, f.p, f.n, &h->server_encode, "Header.serverenCode"); break;
        case caocp_Header_schemaName_tag: ok = copy_bytes(x, f.p, f.n, &h->schema_name, "Header.schemaName"); break;
        case caocp_Header_tableName_tag: ok = copy_bytes(x, f.p, f.n, &h->table_name, "Header.tableName"); break;
        case caocp_Header_gtid_tag: ok = copy_bytes(x, f.p, f.n, &h->gtid, "Header.gtid"); break;
        case caocp_Header_props_tag:
            ok = decode_pair(x, f.p, f.n, 2, &c->batch.hdr_pairs);
            h->n_props++;
            break;
        default: break;
        }
        if (!ok) return false;
    }
    if (more < 0) x->field = "Header";
    return more == 0;
}

/* Pass 1 for one Entry: its top level (depth 0), that is its type, store
 * value, and the size of its header occurrences (for the arena), which
 * pass 2 decodes. NULL, or what is malformed. */
static const char *decode_entry(canal_entry *e, const uint8_t *p, size_t n, size_t *hdr_bytes) {
    const uint8_t *end = p + n;
    const char *problem = NULL;
    wire_field f;
    int more;
    memset(e, 0, sizeof *e);
    e->raw.ptr = p, e->raw.len = n;
    e->store_value.ptr = (const uint8_t *)empty_str;
    while ((more = next_field(&p, end, 0, &f, &problem)) > 0) {
        if (f.wt == 0 && f.field == caocp_Entry_entryType_tag)
            e->has_entry_type = true, e->entry_type = enum_value(f.v);
        if (f.wt != 2) continue;
        if (f.field == caocp_Entry_storeValue_tag) e->store_value.ptr = f.p, e->store_value.len = f.n;
        if (f.field == caocp_Entry_header_tag) e->has_header = true, *hdr_bytes += f.n + 1;
    }
    return more < 0 ? problem : NULL;
}

/* Pass 2 for one Entry: every occurrence of its header, merged into
 * e->header (the top level was read once: it is well formed). */
static bool decode_entry_headers(dec_ctx *x, canal_entry *e) {
    canal_header *h = &e->header;
    const uint8_t *p = e->raw.ptr, *end = p + e->raw.len;
    wire_field f;
    memset(h, 0, sizeof *h);
    h->logfile_name = h->server_encode = h->schema_name = h->table_name = h->gtid = EMPTY;
    if (!e->has_header) return true;
    while (next_field(&p, end, 0, &f, &x->problem) > 0)
        if (f.wt == 2 && f.field == caocp_Entry_header_tag && !decode_header(x, h, f.p, f.n))
            return false;
    return true;
}

/* Decoding counts against the call's deadline (call_timeout_ms; INT64_MAX:
 * none): a batch that arrived in time must not come back late. Silence
 * (read_timeout_ms) is about the server and does not apply here. */
static bool past(int64_t deadline) { return deadline != INT64_MAX && now_ms() >= deadline; }

/* What the last message used, and every TRIM_EVERY messages a trim. */
static void message_trim(canal_client *c) {
    struct batch *b = &c->batch;
    vec_note(&b->entries);
    vec_note(&b->hdr_pairs);
    arena_note(&b->hdr_str);
    if (++b->msg_decodes % TRIM_EVERY != 0) return;
    vec_trim(c, &b->entries, sizeof(canal_entry));
    vec_trim(c, &b->hdr_pairs, sizeof(canal_pair));
    arena_trim(c, &b->hdr_str);
}

/* Pass 2 for all entries, into an arena that holds every header at once;
 * then their props, which went to one vector in entry order, are pointed
 * at now that it no longer moves. */
static int decode_headers(canal_client *c, size_t total, const char *what, int64_t deadline) {
    canal_entry *es = c->batch.entries.p;
    size_t i, n = c->batch.entries.n;
    dec_ctx x = {c, &c->batch.hdr_str, NULL, NULL};
    if (!dec_arena(c, &c->batch.hdr_str, total + 1, "bytes of headers")) return error_in(c, what);
    for (i = 0; i < n; i++) {
        if (!decode_entry_headers(&x, &es[i])) {
            if (!x.problem) return error_in(c, what); /* memory, recorded */
            return set_error(c, CANAL_EPROTO, "%s: entry %zu: Header: %s in %s", what, i,
                             x.problem, x.field ? x.field : "Header");
        }
        if ((i + 1) % CLOCK_EVERY == 0 && past(deadline)) break;
    }
    const canal_pair *pairs = c->batch.hdr_pairs.p;
    for (i = 0; i < n; i++) {
        canal_header *h = &es[i].header;
        if (h->n_props) { /* never offset a NULL vector, even by 0 */
            h->props = pairs;
            pairs += h->n_props;
        }
    }
    return CANAL_OK;
}

/* The entries whose raw views c->batch.entries holds become the current
 * message: each entry's top level, then their headers. The decode's budget
 * is set (start_decode). */
static int decode_entries(canal_client *c, const uint8_t *buf, size_t len, int64_t batch_id,
                          const char *what, int64_t deadline) {
    struct batch *b = &c->batch;
    canal_entry *es = b->entries.p;
    size_t i, n = b->entries.n, hdr_total = 0;
    const char *problem;
    int rc;
    for (i = 0; i < n; i++) {
        if ((problem = decode_entry(&es[i], es[i].raw.ptr, es[i].raw.len, &hdr_total)) != NULL)
            return set_error(c, CANAL_EPROTO, "%s: entry %zu of %zu: malformed Entry (%s)", what, i,
                             n, problem);
        es[i].generation = b->generation + 1;
        if ((i + 1) % CLOCK_EVERY == 0 && past(deadline)) break;
    }
    if (i == n && (rc = decode_headers(c, hdr_total, what, deadline)) < 0) return rc;
    if (past(deadline))
        return set_error(c, CANAL_ETIMEOUT,
                         "%s: decoding the batch of %zu entries (%zu bytes) ran past "
                         "call_timeout_ms %d",
                         what, n, len, c->call_timeout_ms);
    b->generation++;
    b->msg.batch_id = batch_id;
    b->msg.n_entries = n;
    b->msg.entries = n ? es : NULL;
    b->msg_buf = buf;
    b->msg_len = len;
    return CANAL_OK;
}

/* Decode a Messages body into c->batch.msg: count the entries (nothing is
 * set aside before the count is checked against the budget), note where
 * each one is, then decode them. Callers have already ended the previous
 * message (drop_message). The deadline is the call's (INT64_MAX: none). */
static int decode_messages(canal_client *c, const uint8_t *buf, size_t len, const char *what,
                           int64_t deadline) {
    struct batch *b = &c->batch;
    const uint8_t *p, *end = buf + len;
    const char *problem = NULL;
    wire_field f;
    int more;
    int64_t batch_id = 0;
    size_t i, n = 0;
    message_trim(c);
    b->entries.n = b->hdr_pairs.n = 0;
    start_decode(c, len);
    for (p = buf; (more = next_field(&p, end, 0, &f, &problem)) > 0;) {
        if (f.wt == 0 && f.field == caocp_Messages_batch_id_tag) batch_id = (int64_t)f.v;
        if (f.wt == 2 && f.field == caocp_Messages_messages_tag) n++;
    }
    if (more < 0) return set_error(c, CANAL_EPROTO, "%s: malformed Messages (%s)", what, problem);
    if (!dec_reserve(c, &b->entries, n, sizeof(canal_entry), "entries")) return error_in(c, what);
    canal_entry *es = b->entries.p;
    b->entries.n = n;
    for (p = buf, i = 0; i < n && next_field(&p, end, 0, &f, &problem) > 0;)
        if (f.wt == 2 && f.field == caocp_Messages_messages_tag)
            es[i].raw.ptr = f.p, es[i].raw.len = f.n, i++;
    return decode_entries(c, buf, len, batch_id, what, deadline);
}

/* Interpret a MESSAGES packet (§5.4, Java's CanalMessageDeserializer). */
static int decode_messages_packet(canal_client *c, const packet_view *pv, const char *what,
                                  int64_t deadline) {
    if (pv->type != caocp_PacketType_MESSAGES)
        return set_error(c, CANAL_EPROTO, "%s: unexpected packet type %d (%s)", what, pv->type,
                         packet_type_name(pv->type));
    if (pv->has_compression && pv->compression != caocp_Compression_COMPRESSIONCOMPATIBLEPROTO2 &&
        pv->compression != caocp_Compression_NONE)
        return set_error(c, CANAL_EPROTO, "%s: compression %d is not supported", what,
                         pv->compression);
    return decode_messages(c, pv->body.ptr, pv->body.len, what, deadline);
}

/* canal_message_parse: bytes of one kind given as the other. A Packet
 * always has its type (3) or body (5); a Messages has only batch id (1,
 * varint) and entries (2, bytes), which a Packet cannot have. */
static bool looks_like_packet(const uint8_t *buf, size_t len, int *type) {
    const uint8_t *p = buf, *end = buf + len;
    const char *problem = NULL;
    wire_field f;
    int more;
    bool typed = false;
    *type = 0;
    while ((more = next_field(&p, end, 0, &f, &problem)) > 0) {
        if (f.field == 5 && f.wt == 2) typed = true;
        else if (f.field == 3 && f.wt == 0) typed = true, *type = enum_value(f.v);
        else if (f.wt != 0 || f.field > 4) return false;
    }
    return more == 0 && typed;
}

static bool looks_like_messages(const uint8_t *buf, size_t len) {
    const uint8_t *p = buf, *end = buf + len;
    const char *problem = NULL;
    wire_field f;
    int more, n = 0;
    while ((more = next_field(&p, end, 0, &f, &problem)) > 0) {
        if (!((f.field == 1 && f.wt == 0) || (f.field == 2 && f.wt == 2))) return false;
        n++;
    }
    return more == 0 && n > 0;
}

static int message_kind_check(canal_client *c, const uint8_t *buf, size_t len, bool is_packet,
                              int rc) {
    int type;
    if (!is_packet && looks_like_packet(buf, len, &type))
        return set_error(c, CANAL_EPROTO,
                         "message_parse: these bytes are a whole Packet (type %d, %s), not a "
                         "Packet's body: pass is_packet = true",
                         type, packet_type_name(type));
    if (is_packet && rc == CANAL_EPROTO && looks_like_messages(buf, len)) {
        size_t n = strlen(c->errstr);
        snprintf(c->errstr + n, sizeof c->errstr - n,
                 "; these bytes look like a Packet's body (a bare Messages): pass is_packet = false");
    }
    return rc;
}

/* An entry of the current message, or a copy of one: its generation tells
 * an entry of an earlier message even when the new one has the same
 * layout, and its store value must lie in the current message's bytes. */
static bool is_current_entry(const canal_client *c, const canal_entry *e) {
    const struct batch *b = &c->batch;
    if (!b->msg_buf || !b->msg.entries || e->generation != b->generation) return false;
    uintptr_t p = (uintptr_t)e->store_value.ptr, m = (uintptr_t)b->msg_buf;
    return e->store_value.len == 0 ||
           (p >= m && p - m <= b->msg_len && e->store_value.len <= b->msg_len - (p - m));
}

/* ------------------------------------------------------------ 10. row changes */

/* RowChange -> RowData -> Column, into vectors owned by the client. */

/* Where a row's columns and props sit in the vectors while decoding. */
typedef struct row_ix {
    size_t b0, nb, a0, na, p0, np;
} row_ix;

/* A column whose props must be pointed at once the pairs vector is final. */
typedef struct col_fix {
    int after;
    size_t col, p0;
} col_fix;

/* Column by hand (depth 2): columns are nearly all of a RowChange, and a
 * table-driven field lookup was half of the decode time there (bench/). */
static bool decode_column(dec_ctx *x, const uint8_t *p, const uint8_t *end, canal_column *col) {
    canal_client *c = x->c;
    wire_field f;
    int more;
    memset(col, 0, sizeof *col);
    col->name = col->value = col->mysql_type = EMPTY;
    size_t p0 = c->batch.col_pairs.n;
    while ((more = next_field(&p, end, 2, &f, &x->problem)) > 0) {
        bool ok = true;
        if (f.wt == 0) {
            switch (f.field) {
            case caocp_Column_index_tag: col->index = (int32_t)(uint32_t)f.v; break;
            case caocp_Column_sqlType_tag: col->sql_type = (int32_t)(uint32_t)f.v; break;
            case caocp_Column_isKey_tag: col->is_key = f.v != 0; break;
            case caocp_Column_updated_tag: col->updated = f.v != 0; break;
            case caocp_Column_isNull_tag: col->has_is_null = true, col->is_null = f.v != 0; break;
            case caocp_Column_length_tag: col->length = (int32_t)(uint32_t)f.v; break;
            default: break;
            }
            continue;
        }
        switch (f.field) {
        case caocp_Column_name_tag: ok = copy_bytes(x, f.p, f.n, &col->name, "Column.name"); break;
        case caocp_Column_value_tag: ok = copy_bytes(x, f.p, f.n, &col->value, "Column.value"); break;
        case caocp_Column_mysqlType_tag:
            ok = copy_bytes(x, f.p, f.n, &col->mysql_type, "Column.mysqlType");
            break;
        case caocp_Column_props_tag: ok = decode_pair(x, f.p, f.n, 3, &c->batch.col_pairs); break;
        default: break;
        }
        if (!ok) return false;
    }
    if (more < 0) {
        x->field = "Column";
        return false;
    }
    col->n_props = c->batch.col_pairs.n - p0;
    return true;
}

/* One column of a row, appended to its vector. */
static bool decode_row_column(dec_ctx *x, bool after, const uint8_t *p, size_t n) {
    struct batch *b = &x->c->batch;
    vec *v = after ? &b->cols_after : &b->cols_before;
    size_t p0 = b->col_pairs.n;
    if (!dec_reserve(x->c, v, v->n + 1, sizeof(canal_column), "columns")) return false;
    canal_column *col = (canal_column *)v->p + v->n;
    if (!decode_column(x, p, p + n, col)) return false;
    if (col->n_props) { /* pointed at once the pairs vector stops moving */
        if (!dec_reserve(x->c, &b->fixes, b->fixes.n + 1, sizeof(col_fix), "column props"))
            return false;
        col_fix fx = {after, v->n, p0};
        ((col_fix *)b->fixes.p)[b->fixes.n++] = fx;
    }
    v->n++;
    return true;
}

/* A RowData (depth 1): columns and props to the vectors, where they sit
 * in them to row_ixs. */
static bool decode_row(dec_ctx *x, const uint8_t *p, size_t n) {
    struct batch *b = &x->c->batch;
    const uint8_t *end = p + n;
    wire_field f;
    int more;
    row_ix ix;
    ix.b0 = b->cols_before.n;
    ix.a0 = b->cols_after.n;
    ix.p0 = b->row_pairs.n;
    while ((more = next_field(&p, end, 1, &f, &x->problem)) > 0) {
        if (f.wt != 2) continue;
        bool ok = true;
        switch (f.field) {
        case caocp_RowData_beforeColumns_tag: ok = decode_row_column(x, false, f.p, f.n); break;
        case caocp_RowData_afterColumns_tag: ok = decode_row_column(x, true, f.p, f.n); break;
        case caocp_RowData_props_tag: ok = decode_pair(x, f.p, f.n, 2, &b->row_pairs); break;
        default: break;
        }
        if (!ok) return false;
    }
    if (more < 0) {
        x->field = "RowData";
        return false;
    }
    ix.nb = b->cols_before.n - ix.b0;
    ix.na = b->cols_after.n - ix.a0;
    ix.np = b->row_pairs.n - ix.p0;
    if (!dec_reserve(x->c, &b->row_ixs, b->row_ixs.n + 1, sizeof(row_ix), "rows")) return false;
    ((row_ix *)b->row_ixs.p)[b->row_ixs.n++] = ix;
    return true;
}

/* A RowChange's top level (depth 0); rows go to the vectors. */
static bool decode_rowchange(dec_ctx *x, const uint8_t *p, size_t n, canal_rowchange *out) {
    const uint8_t *end = p + n;
    wire_field f;
    int more;
    while ((more = next_field(&p, end, 0, &f, &x->problem)) > 0) {
        bool ok = true;
        if (f.wt == 0) {
            switch (f.field) {
            case caocp_RowChange_tableId_tag: out->table_id = (int64_t)f.v; break;
            case caocp_RowChange_eventType_tag:
                out->has_event_type = true, out->event_type = enum_value(f.v);
                break;
            case caocp_RowChange_isDdl_tag: out->has_is_ddl = true, out->is_ddl = f.v != 0; break;
            default: break;
            }
            continue;
        }
        switch (f.field) {
        case caocp_RowChange_sql_tag: ok = copy_bytes(x, f.p, f.n, &out->sql, "RowChange.sql"); break;
        case caocp_RowChange_ddlSchemaName_tag:
            ok = copy_bytes(x, f.p, f.n, &out->ddl_schema_name, "RowChange.ddlSchemaName");
            break;
        case caocp_RowChange_rowDatas_tag: ok = decode_row(x, f.p, f.n); break;
        case caocp_RowChange_props_tag: ok = decode_pair(x, f.p, f.n, 1, &x->c->batch.rc_pairs); break;
        default: break;
        }
        if (!ok) return false;
    }
    if (more < 0) x->field = "RowChange";
    return more == 0;
}

static const canal_pair *pairs_at(const vec *v, size_t p0, size_t n) {
    return n ? (const canal_pair *)v->p + p0 : NULL;
}

static void empty_rowchange(canal_rowchange *out) {
    memset(out, 0, sizeof *out);
    out->sql = out->ddl_schema_name = EMPTY;
}

/* What the last row change used, and every TRIM_EVERY of them a trim. */
static void rowchange_trim(canal_client *c) {
    struct batch *b = &c->batch;
    struct {
        vec *v;
        size_t size;
    } vs[] = {{&b->cols_before, sizeof(canal_column)}, {&b->cols_after, sizeof(canal_column)},
              {&b->rows, sizeof(canal_row)},           {&b->row_ixs, sizeof(row_ix)},
              {&b->fixes, sizeof(col_fix)},            {&b->col_pairs, sizeof(canal_pair)},
              {&b->row_pairs, sizeof(canal_pair)},     {&b->rc_pairs, sizeof(canal_pair)}};
    size_t k = sizeof vs / sizeof vs[0];
    for (size_t i = 0; i < k; i++) vec_note(vs[i].v);
    arena_note(&b->rc_str);
    if (++b->rc_decodes % TRIM_EVERY != 0) return;
    for (size_t i = 0; i < k; i++) vec_trim(c, vs[i].v, vs[i].size);
    arena_trim(c, &b->rc_str);
}

/* The decode state of one RowChange: vectors emptied, within a budget of
 * its own, an arena for all its strings (the encoded size bounds them). */
static int rowchange_start(canal_client *c, dec_ctx *x, size_t len) {
    struct batch *b = &c->batch;
    rowchange_trim(c);
    b->cols_before.n = b->cols_after.n = b->rows.n = b->row_ixs.n = b->fixes.n = 0;
    b->col_pairs.n = b->row_pairs.n = b->rc_pairs.n = 0;
    start_decode(c, len);
    x->c = c;
    x->str = &b->rc_str;
    x->problem = x->field = NULL;
    if (!dec_arena(c, &b->rc_str, len + 1, "bytes of a RowChange")) return c->err;
    return CANAL_OK;
}

/* Every vector is final now: turn the rows' indexes into pointers, and
 * point the columns that have props at theirs. */
static int rowchange_finish(canal_client *c, canal_rowchange *out) {
    struct batch *b = &c->batch;
    size_t nrows = b->row_ixs.n;
    if (!dec_reserve(c, &b->rows, nrows, sizeof(canal_row), "rows")) return c->err;
    b->rows.n = nrows;
    const row_ix *ixs = b->row_ixs.p;
    canal_row *rows = b->rows.p;
    canal_column *before = b->cols_before.p, *after = b->cols_after.p;
    for (size_t i = 0; i < nrows; i++) {
        rows[i].before = ixs[i].nb ? before + ixs[i].b0 : NULL;
        rows[i].n_before = ixs[i].nb;
        rows[i].after = ixs[i].na ? after + ixs[i].a0 : NULL;
        rows[i].n_after = ixs[i].na;
        rows[i].props = pairs_at(&b->row_pairs, ixs[i].p0, ixs[i].np);
        rows[i].n_props = ixs[i].np;
    }
    const col_fix *fx = b->fixes.p;
    for (size_t i = 0; i < b->fixes.n; i++) {
        canal_column *col = (fx[i].after ? after : before) + fx[i].col;
        col->props = pairs_at(&b->col_pairs, fx[i].p0, col->n_props);
    }
    out->props = pairs_at(&b->rc_pairs, 0, b->rc_pairs.n);
    out->n_props = b->rc_pairs.n;
    out->rows = nrows ? rows : NULL;
    out->n_rows = nrows;
    return CANAL_OK;
}

/* ------------------------------------------------------------ 11. session */

/* The conversation: the record of acks and rollbacks the server has not
 * answered, replies and the errors they carry, connect, get, ack. */

static void add_pending(struct session *ss, char kind, int64_t id) {
    if (ss->n_kept == ss->n_pending && ss->n_kept < CANAL_MAX_PENDING) {
        ss->pending[ss->n_kept].kind = kind;
        ss->pending[ss->n_kept].id = id;
        ss->n_kept++;
    }
    if (ss->n_pending < INT_MAX) ss->n_pending++, ss->ops_since_get++;
}

/* A reply came to a request sent after the first n pending acks and
 * rollbacks: the server took them (it answers in order). */
static void settle_pending(struct session *ss, int n) {
    if (n > ss->n_pending) n = ss->n_pending;
    if (n >= ss->n_kept) {
        ss->n_kept = 0;
    } else {
        memmove(ss->pending, ss->pending + n, (size_t)(ss->n_kept - n) * sizeof *ss->pending);
        ss->n_kept -= n;
    }
    ss->n_pending -= n;
    if (ss->ops_since_get > ss->n_pending) ss->ops_since_get = ss->n_pending;
}

/* The pending acks and rollbacks a reply read now may answer for: those
 * sent before the oldest GET in flight, or all when none is. */
static int ops_ahead(const struct session *ss) {
    return ss->n_gets > 0 ? ss->ops_before[ss->first_get] : ss->n_pending;
}

static bool contains(const canal_bytes *b, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->ptr + i, needle, n) == 0) return true;
    return false;
}

static void describe_op(const pending_op *op, char *out, size_t cap) {
    if (op->kind == 'a') snprintf(out, cap, "the ack of batch %" PRId64, op->id);
    else if (op->kind == 'c') snprintf(out, cap, "the rollback sent on connect");
    else if (op->id == 0) snprintf(out, cap, "the rollback of all batches");
    else snprintf(out, cap, "the rollback of batch %" PRId64, op->id);
}

/* Which pending ack/rollback an error text names ("batchId:5"), if any. */
static const pending_op *named_op(const struct session *ss, const canal_bytes *msg, int n_ops) {
    static const char key[] = "batchId:";
    size_t k = sizeof key - 1;
    int n = n_ops < ss->n_kept ? n_ops : ss->n_kept;
    for (size_t i = 0; i + k < msg->len; i++) {
        if (memcmp(msg->ptr + i, key, k) != 0) continue;
        int64_t id = 0;
        size_t j = i + k;
        bool neg = j < msg->len && msg->ptr[j] == '-';
        if (neg) j++;
        for (; j < msg->len && msg->ptr[j] >= '0' && msg->ptr[j] <= '9' && id < INT64_MAX / 10; j++)
            id = id * 10 + (msg->ptr[j] - '0');
        if (neg) id = -id;
        for (int p = 0; p < n; p++)
            if (ss->pending[p].id == id && ss->pending[p].kind != 'c') return &ss->pending[p];
        return NULL;
    }
    return NULL;
}

/* Report a server error Ack: its code and its text, escaped so that it is
 * safe to print and log, and cut to fit. */
static int server_error(canal_client *c, int code, const ack_view *av, const char *head) {
    if (c->err != CANAL_OK) return c->err;
    char text[CANAL_SERVER_TEXT];
    escape_text(text, sizeof text, av->message.ptr, av->message.len);
    set_error(c, code, "%s: server error %d: %s", head, av->code, text);
    c->server_code = av->code;
    return code;
}

/* The label Canal's server puts before a request's text in its errors
 * ("Get: destination: ..."). */
static const char *request_label(const char *what) {
    if (strcmp(what, "get") == 0) return "Get:";
    if (strcmp(what, "subscription") == 0 || strcmp(what, "re-subscription") == 0) return "Sub:";
    if (strcmp(what, "unsubscription") == 0) return "Unsub:";
    return NULL;
}

/* Whether an error Ack refuses one of the first n_ops pending acks and
 * rollbacks rather than the request it came for. The server does not
 * confirm acks and rollbacks, it only reports their failures, and such a
 * report arrives where the next reply was due (§5.1). Canal's texts tell
 * them apart: a refused ack names the batch or the Ack request, or says the
 * destination or the subscription is gone; a refused rollback names the
 * batch or the Rollback request, or says the destination is not running (a
 * rollback is ignored, not refused, when not subscribed). */
static bool refuses_earlier(const struct session *ss, const canal_bytes *m, int n_ops) {
    bool acks = false, rollbacks = false;
    for (int i = 0; i < n_ops && i < ss->n_kept; i++) {
        if (ss->pending[i].kind == 'a') acks = true;
        else rollbacks = true;
    }
    if (n_ops > ss->n_kept) acks = rollbacks = true; /* not all of them remembered */
    bool gone = contains(m, "should start first");
    return (acks && (contains(m, "batchId") || contains(m, "ack error") || contains(m, "Ack:") ||
                     contains(m, "should subscribe first") || gone)) ||
           (rollbacks && (contains(m, "batchId") || contains(m, "rollback error") ||
                          contains(m, "Rollback:") || gone));
}

/* An error Ack arrived where the reply to `what` was due, after n_ops
 * pending acks and rollbacks. If it belongs to one of those, the reply to
 * this request is still on its way: the stream is out of step, so close. A
 * text that names this request is its own answer; so is a missing
 * subscription when only rollbacks are pending. Any other text with acks or
 * rollbacks pending (Canal's catch-all reports any server-side exception, a
 * ZooKeeper error say) may answer either: keeping the connection could leave
 * it one reply out of step, closing costs a redelivery. */
static int error_ack(canal_client *c, const ack_view *av, const char *what, int err_code,
                     int n_ops) {
    char head[320], op[64] = "";
    const canal_bytes *m = &av->message;
    if (refuses_earlier(&c->sess, m, n_ops)) {
        const pending_op *named = named_op(&c->sess, m, n_ops);
        if (named) describe_op(named, op, sizeof op);
        else if (n_ops == 1 && c->sess.n_kept > 0) describe_op(&c->sess.pending[0], op, sizeof op);
        else snprintf(op, sizeof op, "one of the %d acks/rollbacks sent since the last reply",
                      n_ops);
        snprintf(head, sizeof head,
                 "server refused %s (or the %s request after it); connection closed, "
                 "canal_connect resumes and unacked batches are redelivered",
                 op, what);
        return fail_conn(c, server_error(c, CANAL_ESERVER, av, head));
    }
    const char *label = request_label(what);
    /* "should subscribe first" with an ack among them was taken above */
    bool own = (label && contains(m, label)) || contains(m, "should subscribe first");
    if (n_ops > 0 && !own) {
        snprintf(head, sizeof head,
                 "%s: an error naming no request, with %d ack(s)/rollback(s) unanswered: it may "
                 "answer either; connection closed, canal_connect resumes and unacked batches "
                 "are redelivered",
                 what, n_ops);
        return fail_conn(c, server_error(c, CANAL_ESERVER, av, head));
    }
    /* It answers this request, so every earlier ack/rollback went through. */
    settle_pending(&c->sess, n_ops);
    if (err_code == CANAL_EAUTH) snprintf(head, sizeof head, "authentication failed");
    else snprintf(head, sizeof head, "%s refused", what);
    return server_error(c, err_code, av, head);
}

/* Read the reply to a request that expects an Ack (auth, sub, unsub). */
static int read_ack_reply(canal_client *c, const char *what, int err_code) {
    const uint8_t *body;
    size_t len;
    packet_view pv;
    ack_view av;
    int rc;
    if ((rc = read_frame(c, what, &body, &len)) < 0) return rc;
    if ((rc = parse_packet(c, body, len, &pv, what)) < 0) return fail_conn(c, rc);
    if (pv.type != caocp_PacketType_ACK) {
        trace(c, false, pv.type, len, 0, 0, 0);
        return fail_conn(c, set_error(c, CANAL_EPROTO,
                                      "%s: expected an ACK packet, got type %d (%s)", what,
                                      pv.type, packet_type_name(pv.type)));
    }
    if ((rc = parse_ack(c, &pv, &av, what)) < 0) return fail_conn(c, rc);
    trace(c, false, pv.type, len, 0, 0, av.code);
    /* No GET is in flight here (drain_gets), so every pending op came first. */
    if (av.code > 0) return error_ack(c, &av, what, err_code, c->sess.n_pending);
    settle_pending(&c->sess, c->sess.n_pending);
    return CANAL_OK;
}

/* Handshake and login: the server speaks first. */
static int login(canal_client *c) {
    const uint8_t *body;
    size_t len;
    packet_view pv;
    canal_bytes seed;
    int rc;
    if ((rc = read_frame(c, "the handshake", &body, &len)) < 0) return rc;
    if ((rc = parse_packet(c, body, len, &pv, "handshake")) < 0) return fail_conn(c, rc);
    trace(c, false, pv.type, len, 0, 0, 0);
    if ((rc = parse_handshake(c, &pv, &seed)) < 0) return fail_conn(c, rc);
    if ((rc = send_auth(c, seed)) < 0) return rc;
    /* On a refusal the server keeps the socket open; start_session closes it. */
    return read_ack_reply(c, "authentication", CANAL_EAUTH);
}

/* A reconnect restores the subscription (as the Java cluster client does),
 * and so does every connect with subscribe_on_connect; then the rollback,
 * which the server ignores unsubscribed, brings back unacked batches. */
static int resume(canal_client *c) {
    int rc;
    if (c->sess.state == SUB_ON || c->subscribe_on_connect) {
        if ((rc = send_sub(c, c->sess.filter)) < 0) return rc;
        if ((rc = read_ack_reply(c, "re-subscription", CANAL_ESERVER)) < 0) return rc;
        c->sess.state = SUB_ON;
    }
    if (!c->rollback_on_connect) return CANAL_OK;
    if ((rc = send_rollback(c, 0)) < 0) return rc;
    /* The server forgets every unacked batch; without this rollback it
     * keeps them for this identity, so their ids stay good to ack. */
    c->sess.outstanding.n = 0;
    settle_pending(&c->sess, c->sess.n_pending);
    add_pending(&c->sess, 'c', 0);
    return CANAL_OK;
}

/* Handshake, login, re-subscription and rollback on a connected socket. A
 * failed start leaves the client disconnected, whatever failed. */
static int start_session(canal_client *c) {
    int rc = login(c);
    if (rc == CANAL_OK) rc = resume(c);
    return rc < 0 && c->conn.fd >= 0 ? fail_conn(c, rc) : rc;
}

/* Common entry checks for calls that need a live connection. */
static int need_conn(canal_client *c, const char *what) {
    start_call(c);
    if (c->bad_options[0]) return set_error(c, CANAL_EINVAL, "%s", c->bad_options);
    if (c->conn.fd < 0)
        return set_error(c, CANAL_ESTATE, "%s: not connected (call canal_connect)", what);
    return CANAL_OK;
}

/* After canal_unsubscribe the server ignores rollbacks and refuses acks
 * while keeping the batches; sending them would only put the two sides out
 * of step. */
static int need_subscription(canal_client *c, const char *what) {
    if (c->sess.state == SUB_OFF)
        return set_error(c, CANAL_ESTATE, "%s: not subscribed (canal_unsubscribe was called)", what);
    return CANAL_OK;
}

/* Check a batch id against the unacked batches (§5.5: the server
 * wants acks in order and only for outstanding batches). */
static int check_batch(canal_client *c, int64_t id, const char *what) {
    const int64_t *ids = c->sess.outstanding.p;
    size_t i;
    for (i = 0; i < c->sess.outstanding.n; i++)
        if (ids[i] == id) break;
    if (i == c->sess.outstanding.n)
        return set_error(c, CANAL_EINVAL,
                         "%s: batch %" PRId64
                         " is not outstanding on this connection (already acked, rolled back, "
                         "empty, or dropped by the rollback of a reconnect)",
                         what, id);
    if (i != 0)
        return set_error(c, CANAL_ESTATE,
                         "%s: batch %" PRId64 " is not the oldest unacked batch (%" PRId64
                         "); ack in order",
                         what, id, ids[0]);
    return CANAL_OK;
}

static void drop_first_batch(canal_client *c) {
    int64_t *ids = c->sess.outstanding.p;
    memmove(ids, ids + 1, (c->sess.outstanding.n - 1) * sizeof *ids);
    c->sess.outstanding.n--;
}

/* Send a GET and note it in flight, after the acks/rollbacks sent since
 * the one before. */
static int push_get(canal_client *c, int batch_size, int timeout_ms) {
    struct session *ss = &c->sess;
    int rc = send_get(c, batch_size, timeout_ms);
    if (rc < 0) return rc;
    ss->ops_before[(ss->first_get + ss->n_gets) % CANAL_MAX_GETS] = ss->ops_since_get;
    ss->n_gets++;
    ss->ops_since_get = 0;
    return CANAL_OK;
}

/* The batch id of a MESSAGES reply that is dropped undecoded: all that
 * matters is whether the server handed out a batch with it. */
static int64_t reply_batch_id(const packet_view *pv) {
    const uint8_t *p = pv->body.ptr, *end = p + pv->body.len;
    const char *problem = NULL;
    wire_field f;
    int64_t id = 0;
    while (next_field(&p, end, 0, &f, &problem) > 0)
        if (f.field == 1 && f.wt == 0) id = (int64_t)f.v;
    return id;
}

/* The reply to the oldest GET in flight: MESSAGES, decoded into the
 * current message, or an error Ack. With `drop` (the GET went out before a
 * rollback, or a subscribe or close is draining the pipeline) nothing is
 * decoded and *batch_id tells whether it brought a batch; an error Ack
 * that answers the GET itself is then dropped too. */
static int read_get_reply(canal_client *c, bool drop, int64_t *batch_id) {
    const uint8_t *body;
    size_t len;
    packet_view pv;
    int rc;
    if ((rc = read_frame(c, "the reply to GET", &body, &len)) < 0) return rc;
    int n_ops = ops_ahead(&c->sess);
    c->sess.first_get = (c->sess.first_get + 1) % CANAL_MAX_GETS;
    c->sess.n_gets--;
    *batch_id = -1;
    if ((rc = parse_packet(c, body, len, &pv, "get")) < 0) return fail_conn(c, rc);
    if (pv.type == caocp_PacketType_ACK) {
        ack_view av;
        if ((rc = parse_ack(c, &pv, &av, "get")) < 0) return fail_conn(c, rc);
        trace(c, false, pv.type, len, 0, 0, av.code);
        if (av.code <= 0)
            return fail_conn(c, set_error(c, CANAL_EPROTO,
                                          "get: expected MESSAGES, got an ACK without error"));
        if (drop && !refuses_earlier(&c->sess, &av.message, n_ops)) {
            settle_pending(&c->sess, n_ops);
            return CANAL_OK;
        }
        return error_ack(c, &av, "get", CANAL_ESERVER, n_ops);
    }
    int64_t deadline = c->conn.call_deadline ? c->conn.call_deadline : INT64_MAX;
    if (drop) {
        if (pv.type != caocp_PacketType_MESSAGES)
            return fail_conn(c, set_error(c, CANAL_EPROTO, "get: unexpected packet type %d (%s)",
                                          pv.type, packet_type_name(pv.type)));
        *batch_id = reply_batch_id(&pv);
        trace(c, false, pv.type, len, *batch_id, 0, 0);
    } else if ((rc = decode_messages_packet(c, &pv, "get", deadline)) < 0) {
        /* A reply we cannot read leaves a batch outstanding that we cannot
         * name: the connection is out of step. */
        drop_message(c);
        return fail_conn(c, rc);
    } else {
        *batch_id = c->batch.msg.batch_id;
    }
    if (!drop) trace(c, false, pv.type, len, c->batch.msg.batch_id, c->batch.msg.n_entries, 0);
    settle_pending(&c->sess, n_ops);
    return CANAL_OK;
}

/* Read and drop the replies to every GET in flight, before a request whose
 * own reply must come next (subscribe, unsubscribe). Batches fetched ahead
 * were never handed out, yet the server holds them ahead of any later one:
 * give them back with everything unacked, as a reconnect would. */
static int drain_gets(canal_client *c) {
    bool fetched = false;
    int rc;
    while (c->sess.n_gets > 0) {
        bool stale = c->sess.stale > 0;
        int64_t id;
        if ((rc = read_get_reply(c, true, &id)) < 0) return rc;
        if (stale) c->sess.stale--;
        else if (id != -1) fetched = true;
    }
    c->sess.flowing = false;
    if (!fetched) return CANAL_OK;
    if ((rc = send_rollback(c, 0)) < 0) return rc;
    c->sess.outstanding.n = 0;
    add_pending(&c->sess, 'r', 0);
    return CANAL_OK;
}

/* Before closing a healthy connection: acks and rollbacks sent after a GET
 * still in flight reach the server only once it has answered that GET, and
 * a server whose reply cannot be delivered may drop the connection first.
 * Read those replies (within read_timeout_ms), so that every ack canal_ack
 * sent is taken, as it is with one GET at a time. Errors only close. */
static void settle_before_close(canal_client *c) {
    struct session *ss = &c->sess;
    if (c->conn.fd < 0 || ss->n_gets == 0 || ss->n_pending <= ops_ahead(ss)) return;
    int err = c->err, server_code = c->server_code;
    char errstr[CANAL_ERRSTR_SIZE];
    memcpy(errstr, c->errstr, sizeof errstr);
    drop_message(c);
    c->conn.call_deadline = now_ms() + c->read_timeout_ms; /* the whole settling */
    int64_t id;
    while (c->conn.fd >= 0 && ss->n_gets > 0 && ss->n_pending > ops_ahead(ss))
        if (read_get_reply(c, true, &id) < 0) break;
    c->err = err, c->server_code = server_code;
    memcpy(c->errstr, errstr, sizeof errstr);
}

/* Keep the id of the batch just received until it is acked or rolled
 * back. The server holds the batch whatever happens here, so a batch that
 * cannot be kept puts the two sides out of step. */
static int record_batch(canal_client *c) {
    int64_t id = c->batch.msg.batch_id;
    if (id == -1) return CANAL_OK; /* an empty batch: nothing to ack */
    if (id <= 0) {
        drop_message(c);
        return fail_conn(c, set_error(c, CANAL_EPROTO,
                                      "get: server sent invalid batch id %" PRId64, id));
    }
    if (!vec_reserve(c, &c->sess.outstanding, c->sess.outstanding.n + 1, sizeof(int64_t))) {
        drop_message(c);
        return fail_conn(c, set_error(c, CANAL_ENOMEM, "no memory to track batch %" PRId64, id));
    }
    ((int64_t *)c->sess.outstanding.p)[c->sess.outstanding.n++] = id;
    return CANAL_OK;
}

/* ------------------------------------------------------------ 12. the calls on a client */

/* Lifecycle, connection, subscription, batches, errors, decoding: each
 * after the calls it uses. */

void canal_client_free(canal_client *c) {
    if (!c) return;
    settle_before_close(c);
    close_fd(c);
    mem_free(c, c->host_names);
    mem_free(c, c->servers);
    mem_free(c, c->destination);
    mem_free(c, c->username);
    mem_free(c, c->sess.filter);
    mem_free(c, c->conn.rbuf);
    mem_free(c, c->conn.wbuf);
    mem_free(c, c->batch.hdr_str.base);
    mem_free(c, c->batch.rc_str.base);
    struct batch *b = &c->batch;
    vec *vs[] = {&c->sess.outstanding, &b->entries,   &b->hdr_pairs, &b->cols_before,
                 &b->cols_after,       &b->rows,      &b->row_ixs,   &b->fixes,
                 &b->col_pairs,        &b->row_pairs, &b->rc_pairs};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) vec_free(c, vs[i]);
    wipe(c->stage1, sizeof c->stage1);
    canal_free_fn f = c->free_fn;
    void *ud = c->alloc_ud;
    /* Poison, so a use after free shows up quickly. */
    memset(c, 0xff, sizeof *c);
    if (f) f(ud, c);
    else free(c);
}

/* Copy valid options into the client: strings duplicated, the password
 * kept only as SHA-1(password). False when out of memory. */
/* Parse a (checked) server list into fresh blocks; false when out of
 * memory, leaving the client's list as it was. */
static bool take_servers(canal_client *c, const char *list, int port) {
    size_t n;
    if (scan_servers(list, port, NULL, NULL, &n) != NULL) return false;
    char *names = mem_alloc(c, strlen(list) + 1);
    server_addr *servers = mem_alloc(c, n * sizeof *servers);
    if (!names || !servers) {
        mem_free(c, names);
        mem_free(c, servers);
        return false;
    }
    (void)scan_servers(list, port, names, servers, &n);
    mem_free(c, c->host_names);
    mem_free(c, c->servers);
    c->host_names = names, c->servers = servers, c->n_servers = n, c->next_server = 0;
    return true;
}

static bool copy_options(canal_client *c, const canal_options *opt) {
    c->dflt_port = opt->port;
    c->retry_times = opt->retry_times;
    c->retry_interval_ms = opt->retry_interval_ms;
    c->connect_timeout_ms = opt->connect_timeout_ms;
    c->read_timeout_ms = opt->read_timeout_ms;
    c->idle_timeout_ms = opt->idle_timeout_ms;
    c->call_timeout_ms = opt->call_timeout_ms;
    c->keepalive_idle_s = opt->keepalive_idle_s;
    c->keepalive_interval_s = opt->keepalive_interval_s;
    c->keepalive_count = opt->keepalive_count;
    c->interrupt_fd = opt->interrupt_fd;
    c->subscribe_on_connect = opt->subscribe_on_connect;
    c->trace_fn = opt->trace_fn;
    c->trace_ud = opt->trace_ud;
    c->max_frame = opt->max_frame;
    c->max_decoded = opt->max_decoded;
    c->get_pipeline = opt->get_pipeline;
    c->rollback_on_connect = opt->rollback_on_connect;
    c->validate_utf8 = opt->validate_utf8;
    snprintf(c->client_id, sizeof c->client_id, "%d", opt->client_id);
    if (!take_servers(c, opt->host, opt->port)) return false;
    c->destination = mem_strdup(c, opt->destination);
    c->username = mem_strdup(c, opt->username ? opt->username : "");
    c->sess.filter = mem_strdup(c, opt->filter ? opt->filter : "");
    /* A small pool gets a small first buffer; it grows as frames need. */
    c->conn.rcap = c->in_pool ? 1024 : CANAL_INITIAL_RBUF;
    c->conn.rbuf = mem_alloc(c, c->conn.rcap);
    if (!c->destination || !c->username || !c->sess.filter || !c->conn.rbuf ||
        !vec_reserve(c, &c->sess.outstanding, 16, sizeof(int64_t)))
        return false;
    if (opt->password) {
        c->has_password = true;
        sha1(opt->password, strlen(opt->password), c->stage1);
    }
    return true;
}

canal_client *canal_client_new(const canal_options *opt) {
    canal_options defaults;
    if (!opt) {
        canal_options_init(&defaults);
        opt = &defaults;
    }
    canal_malloc_fn mf = NULL;
    canal_realloc_fn rf = NULL;
    canal_free_fn ff = NULL;
    void *ud = NULL;
    if (opt->heap) {
        if (opt->heap_size < CANAL_MIN_HEAP || !(ud = pool_init(opt->heap, opt->heap_size)))
            return NULL;
        mf = pool_malloc, rf = pool_realloc, ff = pool_free;
    } else if (opt->malloc_fn && opt->realloc_fn && opt->free_fn) {
        mf = opt->malloc_fn, rf = opt->realloc_fn, ff = opt->free_fn, ud = opt->alloc_ud;
    }
    canal_client *c = mf ? mf(ud, sizeof *c) : malloc(sizeof *c);
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->conn.fd = -1;
    c->interrupt_fd = -1;
    c->malloc_fn = mf, c->realloc_fn = rf, c->free_fn = ff, c->alloc_ud = ud;
    c->in_pool = opt->heap != NULL;
    c->validate_utf8 = opt->validate_utf8; /* decoding works even with bad options */
    c->batch.msg.batch_id = -1;
    if (check_options(opt, c->bad_options, sizeof c->bad_options)) {
        /* Keep the client so the reason can be read; every call repeats it. */
        set_error(c, CANAL_EINVAL, "%s", c->bad_options);
        return c;
    }
    if (!copy_options(c, opt)) {
        canal_client_free(c);
        return NULL;
    }
    return c;
}

void canal_disconnect(canal_client *c) {
    if (!c) return;
    c->current[0] = '\0';
    drop_message(c);
    settle_before_close(c);
    close_fd(c);
}

bool canal_is_connected(const canal_client *c) { return c && c->conn.fd >= 0; }

/* One attempt on one server: TCP, then the session. */
static int connect_to(canal_client *c, const server_addr *srv) {
    int rc = tcp_connect(c, srv);
    if (rc == CANAL_OK) rc = start_session(c);
    if (rc == CANAL_OK)
        snprintf(c->current, sizeof c->current, "%s%.255s%s:%d", strchr(srv->host, ':') ? "[" : "",
                 srv->host, strchr(srv->host, ':') ? "]" : "", srv->port);
    return rc;
}

int canal_connect(canal_client *c) {
    if (!c) return CANAL_EINVAL;
    canal_disconnect(c);
    start_call(c);
    if (c->bad_options[0]) return set_error(c, CANAL_EINVAL, "%s", c->bad_options);
    int rc = check_interrupt(c, "connect");
    if (rc < 0) return rc;
    /* Over a list, the next server each time, as Java's cluster connector. */
    int attempts = c->retry_times > 0 ? c->retry_times : c->n_servers > 1 ? 3 : 1;
    for (int i = 0; i < attempts; i++) {
        const server_addr *srv = &c->servers[c->next_server];
        c->next_server = (c->next_server + 1) % c->n_servers;
        if (i > 0) {
            if ((rc = pause_between(c, c->retry_interval_ms)) < 0) return rc;
            clear_error(c);
        }
        rc = connect_to(c, srv);
        if (rc == CANAL_OK || rc == CANAL_EINVAL || rc == CANAL_ENOMEM || rc == CANAL_EINTR)
            return rc;
    }
    if (attempts > 1) {
        char what[96];
        snprintf(what, sizeof what, "%d attempts over %zu server%s failed, the last", attempts,
                 c->n_servers, c->n_servers == 1 ? "" : "s");
        error_in(c, what);
    }
    return rc;
}

int canal_set_servers(canal_client *c, const char *servers) {
    if (!c) return CANAL_EINVAL;
    clear_error(c);
    if (c->bad_options[0]) return set_error(c, CANAL_EINVAL, "%s", c->bad_options);
    size_t n;
    const char *bad = !servers || !*servers ? "set_servers: the list is NULL or empty"
                                            : scan_servers(servers, 11111, NULL, NULL, &n);
    if (bad) return set_error(c, CANAL_EINVAL, "%s", bad);
    /* entries without a port take canal_options.port */
    if (!take_servers(c, servers, c->dflt_port))
        return set_error(c, CANAL_ENOMEM, "set_servers: no memory for %zu servers", n);
    return CANAL_OK;
}

const char *canal_current_server(const canal_client *c) {
    return c && c->conn.fd >= 0 ? c->current : "";
}

int canal_connect_fd(canal_client *c, int fd) {
    if (!c) {
        if (fd >= 0) close(fd); /* it was handed over: do not leak it */
        return CANAL_EINVAL;
    }
    clear_error(c);
    if (fd < 0) return set_error(c, CANAL_EINVAL, "connect_fd: negative file descriptor");
    if (fd == c->conn.fd)
        return set_error(c, CANAL_ESTATE,
                         "connect_fd: descriptor %d is this client's live connection", fd);
    canal_disconnect(c);
    start_call(c);
    if (c->bad_options[0]) {
        close(fd);
        return set_error(c, CANAL_EINVAL, "%s", c->bad_options);
    }
    c->conn.fd = fd;
    int rc = check_interrupt(c, "connect_fd");
    if (rc < 0) return fail_conn(c, rc);
    if (set_up_socket(c, fd) < 0)
        return fail_conn(c, set_error(c, CANAL_EIO, "cannot set up descriptor %d: %s", fd,
                                      strerror(errno)));
    return start_session(c);
}

int canal_subscribe(canal_client *c, const char *filter) {
    if (!c) return CANAL_EINVAL;
    drop_message(c); /* documented to end it, whatever happens next */
    int rc = need_conn(c, "subscribe");
    if (rc < 0 || (rc = check_interrupt(c, "subscribe")) < 0) return rc;
    if (!filter) filter = c->sess.filter;
    if ((rc = drain_gets(c)) < 0 || (rc = send_sub(c, filter)) < 0) return rc;
    if ((rc = read_ack_reply(c, "subscription", CANAL_ESERVER)) < 0) return rc;
    if (strcmp(c->sess.filter, filter) != 0) {
        char *copy = mem_strdup(c, filter);
        if (!copy) return set_error(c, CANAL_ENOMEM, "no memory to keep the filter");
        mem_free(c, c->sess.filter);
        c->sess.filter = copy;
    }
    c->sess.state = SUB_ON;
    return CANAL_OK;
}

int canal_unsubscribe(canal_client *c) {
    if (!c) return CANAL_EINVAL;
    drop_message(c);
    int rc = need_conn(c, "unsubscribe");
    if (rc < 0 || (rc = check_interrupt(c, "unsubscribe")) < 0) return rc;
    if ((rc = drain_gets(c)) < 0 || (rc = send_unsub(c)) < 0) return rc;
    if ((rc = read_ack_reply(c, "unsubscription", CANAL_ESERVER)) < 0) return rc;
    c->sess.state = SUB_OFF;
    return CANAL_OK;
}

int canal_get(canal_client *c, int batch_size, int timeout_ms, const canal_message **out) {
    if (!c) return CANAL_EINVAL;
    if (out) *out = NULL;
    drop_message(c);
    int rc = need_conn(c, "get");
    if (rc < 0) return rc;
    if (!out) return set_error(c, CANAL_EINVAL, "get: out is NULL");
    if ((rc = check_interrupt(c, "get")) < 0) return rc;
    /* The server may say nothing for as long as it may wait (0: no limit). */
    c->conn.reply_wait_ms = timeout_ms == 0 ? -1 : timeout_ms > 0 ? timeout_ms : 0;
    /* Keep get_pipeline GETs in flight while batches come (one GET while
     * the stream is idle), drop the replies a rollback gave back, read the
     * oldest of the rest. */
    struct session *ss = &c->sess;
    int want = ss->flowing ? c->get_pipeline : 1;
    int64_t id;
    while (ss->n_gets - ss->stale < want)
        if ((rc = push_get(c, batch_size, timeout_ms)) < 0) return rc;
    for (; ss->stale > 0; ss->stale--)
        if ((rc = read_get_reply(c, true, &id)) < 0) return rc;
    ss->flowing = false;
    if ((rc = read_get_reply(c, false, &id)) < 0 || (rc = record_batch(c)) < 0) return rc;
    ss->flowing = id != -1;
    *out = &c->batch.msg;
    return CANAL_OK;
}

int canal_ack(canal_client *c, int64_t batch_id) {
    if (!c) return CANAL_EINVAL;
    if (batch_id == -1) { /* an empty batch: the server ignores its ack, so send none */
        clear_error(c);
        return CANAL_OK;
    }
    int rc = need_conn(c, "ack");
    if (rc < 0) return rc;
    if ((rc = need_subscription(c, "ack")) < 0 || (rc = check_batch(c, batch_id, "ack")) < 0)
        return rc;
    if ((rc = send_ack(c, batch_id)) < 0) return rc;
    drop_first_batch(c);
    add_pending(&c->sess, 'a', batch_id);
    return CANAL_OK;
}

int canal_rollback(canal_client *c, int64_t batch_id) {
    if (!c) return CANAL_EINVAL;
    int rc = need_conn(c, "rollback");
    if (rc < 0) return rc;
    if ((rc = need_subscription(c, "rollback")) < 0) return rc;
    if (batch_id != 0 && (rc = check_batch(c, batch_id, "rollback")) < 0) return rc;
    /* With GETs in flight, one batch is not enough: the server would keep
     * the batches they fetch under ids never handed out, ahead of every
     * later ack. */
    if (c->sess.n_gets > 0) batch_id = 0;
    if ((rc = send_rollback(c, batch_id)) < 0) return rc;
    /* The server forgets the batch (or all of them) and rewinds to the last
     * acked position; other ids stay registered there, so they stay here.
     * The replies to GETs sent before now bring batches it gave back. */
    if (batch_id == 0) c->sess.outstanding.n = 0;
    else drop_first_batch(c);
    add_pending(&c->sess, 'r', batch_id);
    c->sess.stale = c->sess.n_gets;
    return CANAL_OK;
}

int canal_errcode(const canal_client *c) { return c ? c->err : CANAL_EINVAL; }

const char *canal_errstr(const canal_client *c) { return c ? c->errstr : "client is NULL"; }

int canal_server_code(const canal_client *c) { return c ? c->server_code : 0; }

int canal_message_parse(canal_client *c, const void *buf, size_t len, bool is_packet,
                        const canal_message **out) {
    if (!c) return CANAL_EINVAL;
    if (out) *out = NULL;
    drop_message(c);
    clear_error(c);
    if (!out || (!buf && len > 0))
        return set_error(c, CANAL_EINVAL, "message_parse: NULL %s", out ? "buf" : "out");
    if (!buf) buf = empty_str;
    if (client_owns(c, buf, len))
        return set_error(c, CANAL_EINVAL,
                         "message_parse: buf lies in memory the client owns (a string or array "
                         "it decoded, which the next decode reuses); copy the bytes out first");
    int rc;
    if (is_packet) {
        packet_view pv;
        if ((rc = parse_packet(c, buf, len, &pv, "message_parse")) < 0) return rc;
        if ((rc = parse_packet(c, buf, len, &pv, "message_parse")) == CANAL_OK)
            rc = decode_messages_packet(c, &pv, "message_parse", INT64_MAX);
    } else if ((rc = message_kind_check(c, buf, len, false, CANAL_OK)) == CANAL_OK) {
        rc = decode_messages(c, buf, len, "message_parse", INT64_MAX);
    }
    if (rc < 0) return is_packet ? message_kind_check(c, buf, len, true, rc) : rc;
    *out = &c->batch.msg;
    return CANAL_OK;
}

int canal_rowchange_parse(canal_client *c, const void *buf, size_t len, canal_rowchange *out) {
    if (!c) return CANAL_EINVAL;
    clear_error(c);
    if (!out || (!buf && len > 0))
        return set_error(c, CANAL_EINVAL, "rowchange_parse: NULL %s", out ? "buf" : "out");
    empty_rowchange(out);
    if (!buf) buf = empty_str;
    /* The strings and arrays of a row change are rewritten by the next
     * decode: bytes inside them would change while being read. */
    if (client_owns(c, buf, len))
        return set_error(c, CANAL_EINVAL,
                         "rowchange_parse: buf lies in memory the client owns (a string or array "
                         "it decoded, which this decode reuses); copy the bytes out first");
    dec_ctx x;
    int rc = rowchange_start(c, &x, len);
    if (rc == CANAL_OK && !decode_rowchange(&x, buf, len, out)) {
        if (x.problem)
            set_error(c, CANAL_EPROTO, "RowChange (row %zu): %s in %s", c->batch.row_ixs.n,
                      x.problem, x.field ? x.field : "RowChange");
        rc = c->err;
    }
    if (rc == CANAL_OK) rc = rowchange_finish(c, out);
    if (rc < 0) {
        char what[64];
        snprintf(what, sizeof what, "RowChange of %zu bytes", len);
        if (rc != CANAL_EPROTO) error_in(c, what);
        empty_rowchange(out);
    }
    return rc;
}

int canal_entry_rowchange(canal_client *c, const canal_entry *e, canal_rowchange *out) {
    if (!c) return CANAL_EINVAL;
    clear_error(c);
    if (!e || !out) return set_error(c, CANAL_EINVAL, "entry_rowchange: NULL %s", e ? "out" : "entry");
    empty_rowchange(out);
    if (e->entry_type != CANAL_ROWDATA)
        return set_error(c, CANAL_EINVAL, "entry_rowchange: entry type %d (%s) carries no RowChange",
                         (int)e->entry_type, canal_entry_type_name(e->entry_type));
    /* Only the current message's entries: an older one's bytes may be gone,
     * or reused by the current message at the same address. */
    if (!is_current_entry(c, e))
        return set_error(c, CANAL_ESTATE,
                         "entry_rowchange: the entry is not from the current message (each get, "
                         "parse, subscribe or connect replaces it)");
    return canal_rowchange_parse(c, e->store_value.ptr, e->store_value.len, out);
}

/* ------------------------------------------------------------ 13. values, lookups and positions */

/* Typed values: pure functions of one column, reading the text Canal's
 * MySQL parser writes (spec §11). No client and no allocation, so they
 * report through the caller's canal_value_err. Nothing here runs while a
 * message is decoded: these are on demand. */


/* Copy up to cap-1 bytes of v into out for an error message: printable
 * ASCII as is, anything else as '?', "..." when cut. */
static void quote_for_msg(canal_str v, char *out, size_t cap) {
    size_t n = v.len, o = 0;
    bool cut = n > cap - 1;
    if (cut) n = cap - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v.ptr[i];
        out[o++] = ch >= 0x20 && ch < 0x7F && ch != '"' ? (char)ch : '?';
    }
    if (cut) out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = '\0';
}

static int value_error(canal_value_err *err, const canal_column *col, const char *fmt, ...)
    CANAL_PRINTF(3, 4);

/* Fill *err (when given) with "column 'name' value "text": what" and
 * return CANAL_EINVAL. */
static int value_error(canal_value_err *err, const canal_column *col, const char *fmt, ...) {
    if (!err) return CANAL_EINVAL;
    size_t n = 0;
    err->code = CANAL_EINVAL;
    err->msg[0] = '\0';
    if (col && col->name.ptr && col->value.ptr) {
        char name[33], val[41];
        quote_for_msg(col->name, name, sizeof name);
        quote_for_msg(col->value, val, sizeof val);
        int k = snprintf(err->msg, sizeof err->msg, "column '%s' value \"%s\": ", name, val);
        n = k > 0 && (size_t)k < sizeof err->msg ? (size_t)k : 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
    va_end(ap);
    return CANAL_EINVAL;
}

static int value_ok(canal_value_err *err) {
    if (err) err->code = CANAL_OK, err->msg[0] = '\0';
    return CANAL_OK;
}

static char ascii_lower(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch; }

/* a[0..n) equals the lowercase literal lit, ignoring ASCII case. */
static bool ieq(const char *a, size_t n, const char *lit) {
    size_t i = 0;
    for (; i < n && lit[i]; i++)
        if (ascii_lower(a[i]) != lit[i]) return false;
    return i == n && !lit[i];
}

/* s contains the lowercase literal lit, ignoring ASCII case (Canal's
 * StringUtils.containsIgnoreCase). */
static bool icontains(canal_str s, const char *lit) {
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= s.len; i++)
        if (ieq(s.ptr + i, m, lit)) return true;
    return false;
}

/* MySQL type names as SHOW CREATE TABLE writes them (druid keeps them). */
static const struct {
    const char *name;
    signed char kind, bytes;
} mysql_types[] = {
    {"tinyint", CANAL_KIND_INT, 1}, {"bool", CANAL_KIND_INT, 1}, {"boolean", CANAL_KIND_INT, 1},
    {"smallint", CANAL_KIND_INT, 2}, {"mediumint", CANAL_KIND_INT, 3}, {"int", CANAL_KIND_INT, 4},
    {"integer", CANAL_KIND_INT, 4}, {"bigint", CANAL_KIND_INT, 8}, {"bit", CANAL_KIND_BIT, 0},
    {"year", CANAL_KIND_YEAR, 0}, {"decimal", CANAL_KIND_DECIMAL, 0},
    {"numeric", CANAL_KIND_DECIMAL, 0}, {"dec", CANAL_KIND_DECIMAL, 0},
    {"fixed", CANAL_KIND_DECIMAL, 0}, {"float", CANAL_KIND_FLOAT, 0},
    {"double", CANAL_KIND_DOUBLE, 0}, {"real", CANAL_KIND_DOUBLE, 0},
    {"date", CANAL_KIND_DATE, 0}, {"time", CANAL_KIND_TIME, 0},
    {"datetime", CANAL_KIND_DATETIME, 0}, {"timestamp", CANAL_KIND_TIMESTAMP, 0},
    {"char", CANAL_KIND_TEXT, 0}, {"varchar", CANAL_KIND_TEXT, 0}, {"nchar", CANAL_KIND_TEXT, 0},
    {"nvarchar", CANAL_KIND_TEXT, 0}, {"tinytext", CANAL_KIND_TEXT, 1},
    {"text", CANAL_KIND_TEXT, 1}, {"mediumtext", CANAL_KIND_TEXT, 1},
    {"longtext", CANAL_KIND_TEXT, 1}, {"binary", CANAL_KIND_BINARY, 0},
    {"varbinary", CANAL_KIND_BINARY, 0}, {"tinyblob", CANAL_KIND_BINARY, 0},
    {"blob", CANAL_KIND_BINARY, 0}, {"mediumblob", CANAL_KIND_BINARY, 0},
    {"longblob", CANAL_KIND_BINARY, 0}, {"enum", CANAL_KIND_ENUM, 0}, {"set", CANAL_KIND_SET, 0},
    {"json", CANAL_KIND_JSON, 0}, {"geometry", CANAL_KIND_GEOMETRY, 0},
    {"point", CANAL_KIND_GEOMETRY, 0}, {"linestring", CANAL_KIND_GEOMETRY, 0},
    {"polygon", CANAL_KIND_GEOMETRY, 0}, {"multipoint", CANAL_KIND_GEOMETRY, 0},
    {"multilinestring", CANAL_KIND_GEOMETRY, 0}, {"multipolygon", CANAL_KIND_GEOMETRY, 0},
    {"geometrycollection", CANAL_KIND_GEOMETRY, 0}, {"geomcollection", CANAL_KIND_GEOMETRY, 0},
};

/* The kind an sqlType stands for when there is no usable mysqlType. With
 * no table meta Canal renders BLOB and TEXT alike as ISO-8859-1 (its
 * isText test needs the meta), hence 2004 is binary. */
static int kind_of_sql_type(int32_t t) {
    switch (t) {
    case CANAL_SQL_TINYINT: case CANAL_SQL_SMALLINT: case CANAL_SQL_INTEGER:
    case CANAL_SQL_BIGINT: case CANAL_SQL_BOOLEAN: return CANAL_KIND_INT;
    case CANAL_SQL_BIT: return CANAL_KIND_BIT;
    case CANAL_SQL_DECIMAL: case CANAL_SQL_NUMERIC: return CANAL_KIND_DECIMAL;
    case CANAL_SQL_FLOAT: case CANAL_SQL_REAL: return CANAL_KIND_FLOAT;
    case CANAL_SQL_DOUBLE: return CANAL_KIND_DOUBLE;
    case CANAL_SQL_DATE: return CANAL_KIND_DATE;
    case CANAL_SQL_TIME: return CANAL_KIND_TIME;
    case CANAL_SQL_TIMESTAMP: return CANAL_KIND_DATETIME;
    case CANAL_SQL_CHAR: case CANAL_SQL_VARCHAR: case CANAL_SQL_LONGVARCHAR:
    case CANAL_SQL_CLOB: return CANAL_KIND_TEXT;
    case CANAL_SQL_BLOB: case CANAL_SQL_BINARY: case CANAL_SQL_VARBINARY:
    case CANAL_SQL_LONGVARBINARY: return CANAL_KIND_BINARY;
    case CANAL_SQL_OTHER: return CANAL_KIND_JSON;
    default: return CANAL_KIND_UNKNOWN;
    }
}

/* An unsigned decimal of 1 to 6 digits at *pp (type arguments). */
static bool small_number(const char **pp, const char *end, int *v) {
    const char *p = *pp;
    int r = 0, n = 0;
    while (p < end && *p >= '0' && *p <= '9' && n < 6) r = r * 10 + (*p++ - '0'), n++;
    if (!n || (p < end && *p >= '0' && *p <= '9')) return false;
    *pp = p, *v = r;
    return true;
}

/* The type's arguments (a1, a2: -1 when absent) into *t, checked as MySQL
 * allows them; whole: nothing follows the arguments. */
static bool type_args(canal_type *t, canal_str mt, size_t k, int a1, int a2, bool whole) {
    int kind = mysql_types[k].kind;
    t->kind = kind;
    t->int_bytes = kind == CANAL_KIND_INT ? mysql_types[k].bytes : 0;
    /* Canal's FieldMeta.isUnsigned: the type text contains "unsigned" */
    t->is_unsigned = (kind == CANAL_KIND_INT || kind == CANAL_KIND_DECIMAL ||
                      kind == CANAL_KIND_FLOAT || kind == CANAL_KIND_DOUBLE) &&
                     icontains(mt, "unsigned");
    t->length = a1;
    t->scale = 0;
    switch (kind) {
    case CANAL_KIND_DECIMAL:
        if (a1 < 0) t->length = 10; /* MySQL's default DECIMAL(10,0) */
        if (a1 > 65 || a2 > 30 || a2 > t->length) return false;
        t->scale = a2 < 0 ? 0 : a2;
        break;
    case CANAL_KIND_BIT:
        if (a1 < 0) t->length = 1;
        if (t->length < 1 || t->length > 64 || a2 >= 0) return false;
        break;
    case CANAL_KIND_TIME: case CANAL_KIND_DATETIME: case CANAL_KIND_TIMESTAMP:
        if (a1 > 6 || a2 >= 0) return false;
        t->scale = a1 < 0 ? 0 : a1;
        t->length = -1;
        break;
    case CANAL_KIND_TEXT:
        /* Canal's isText wants the whole type to be one of the TEXT
         * names; otherwise the BLOB-typed binlog value is ISO-8859-1.
         * CHAR/VARCHAR are binary when the type mentions binary. */
        if (mysql_types[k].bytes ? !whole || a1 >= 0 : icontains(mt, "binary"))
            t->kind = CANAL_KIND_BINARY;
        break;
    default: break;
    }
    return true;
}

/* Base name, "(M[,D])" (or an ENUM/SET member list, skipped), then words.
 * False when it is not a type this library knows. */
static bool parse_mysql_type(canal_str mt, canal_type *t) {
    const char *p = mt.ptr, *end = mt.ptr + mt.len, *b = p;
    while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) p++;
    size_t k, nk = sizeof mysql_types / sizeof mysql_types[0];
    for (k = 0; k < nk && !ieq(b, (size_t)(p - b), mysql_types[k].name); k++) {}
    if (k == nk) return false;
    int kind = mysql_types[k].kind, a1 = -1, a2 = -1;
    if (p < end && *p == '(') {
        p++;
        if (kind == CANAL_KIND_ENUM || kind == CANAL_KIND_SET) {
            /* 'a','it''s': a doubled quote stays inside the member */
            bool in_quote = false;
            for (; p < end && (in_quote || *p != ')'); p++)
                if (*p == '\'') in_quote = !in_quote;
            if (p == end) return false;
        } else {
            if (!small_number(&p, end, &a1)) return false;
            if (p < end && *p == ',' && (p++, !small_number(&p, end, &a2))) return false;
            if (p == end || *p != ')') return false;
        }
        p++;
    }
    if (p < end && *p != ' ') return false;
    return type_args(t, mt, k, a1, a2, p == end);
}

int canal_column_type(const canal_column *col, canal_type *out) {
    if (!col || !out) return CANAL_EINVAL;
    canal_type t;
    memset(&t, 0, sizeof t);
    if (!col->mysql_type.ptr || !parse_mysql_type(col->mysql_type, &t)) {
        memset(&t, 0, sizeof t);
        t.kind = kind_of_sql_type(col->sql_type);
        t.guessed = true;
        t.length = -1;
        t.scale = -1;
    }
    *out = t;
    return CANAL_OK;
}

bool canal_column_is_binary(const canal_column *col) {
    canal_type t;
    return canal_column_type(col, &t) == CANAL_OK &&
           (t.kind == CANAL_KIND_BINARY || t.kind == CANAL_KIND_GEOMETRY);
}

/* The checks every accessor starts with. */
static int value_begin(const canal_column *col, const void *out, canal_type *t,
                       canal_value_err *err) {
    if (!col || !out)
        return value_error(err, NULL, "NULL %s", col ? "output" : "column");
    if (!col->value.ptr && col->value.len)
        return value_error(err, NULL, "column value has a length but no bytes");
    if (col->is_null) return value_error(err, col, "is NULL");
    canal_column_type(col, t);
    return CANAL_OK;
}

static const char *kind_name(int kind) {
    static const char *names[] = {"of an unknown type", "an integer", "a BIT", "a YEAR",
                                  "a DECIMAL", "a FLOAT", "a DOUBLE", "a DATE", "a TIME",
                                  "a DATETIME", "a TIMESTAMP", "text", "binary", "an ENUM",
                                  "a SET", "JSON", "a GEOMETRY"};
    return kind >= 0 && kind < (int)(sizeof names / sizeof names[0]) ? names[kind] : "?";
}

/* "[-]digits" into sign and magnitude; NULL or why not. */
static const char *parse_integer(canal_str v, bool *neg, uint64_t *mag) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    uint64_t r = 0;
    *neg = p < end && *p == '-';
    if (*neg) p++;
    if (p == end) return "not an integer";
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return "not an integer";
        unsigned d = (unsigned)(*p - '0');
        if (r > (UINT64_MAX - d) / 10) return "integer out of 64-bit range";
        r = r * 10 + d;
    }
    if (r == 0) *neg = false;
    *mag = r;
    return NULL;
}

/* An integer of an integer-like column, checked against the column's own
 * range when its type gives one. */
static int integer_value(const canal_column *col, const void *out, bool *neg, uint64_t *mag,
                         canal_value_err *err) {
    canal_type t;
    int rc = value_begin(col, out, &t, err);
    if (rc < 0) return rc;
    switch (t.kind) {
    case CANAL_KIND_INT: case CANAL_KIND_BIT: case CANAL_KIND_YEAR: case CANAL_KIND_ENUM:
    case CANAL_KIND_SET: case CANAL_KIND_DECIMAL: break;
    default: return value_error(err, col, "%s column, not an integer", kind_name(t.kind));
    }
    const char *why = parse_integer(col->value, neg, mag);
    if (why) return value_error(err, col, "%s", why);
    uint64_t lo = 0, hi = UINT64_MAX; /* the magnitudes allowed below and above 0 */
    if (t.guessed) {
        lo = (uint64_t)1 << 63;
    } else if (t.kind == CANAL_KIND_INT) {
        int bits = 8 * t.int_bytes;
        hi = t.is_unsigned ? (bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1)
                           : ((uint64_t)1 << (bits - 1)) - 1;
        lo = t.is_unsigned ? 0 : (uint64_t)1 << (bits - 1);
    } else if (t.kind == CANAL_KIND_BIT) {
        hi = t.length == 64 ? UINT64_MAX : ((uint64_t)1 << t.length) - 1;
    } else if (t.kind == CANAL_KIND_YEAR) {
        hi = 2155;
        if (*mag != 0 && *mag < 1901) hi = 0;
    } else if (t.kind == CANAL_KIND_ENUM) {
        hi = 65535;
    } else if (t.kind == CANAL_KIND_DECIMAL) {
        lo = (uint64_t)1 << 63;
    }
    if (*neg ? *mag > lo : *mag > hi) {
        char mt[41];
        quote_for_msg(col->mysql_type, mt, sizeof mt);
        return value_error(err, col, "out of range for %s", t.guessed ? "64 bits" : mt);
    }
    return CANAL_OK;
}

int canal_value_int64(const canal_column *col, int64_t *out, canal_value_err *err) {
    bool neg;
    uint64_t mag;
    int rc = integer_value(col, out, &neg, &mag, err);
    if (rc < 0) return rc;
    if (neg ? mag > (uint64_t)1 << 63 : mag > (uint64_t)INT64_MAX)
        return value_error(err, col, "does not fit int64_t");
    /* -(mag - 1) - 1 reaches INT64_MIN without overflowing */
    *out = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    return value_ok(err);
}

int canal_value_uint64(const canal_column *col, uint64_t *out, canal_value_err *err) {
    bool neg;
    uint64_t mag;
    int rc = integer_value(col, out, &neg, &mag, err);
    if (rc < 0) return rc;
    if (neg) return value_error(err, col, "negative, does not fit uint64_t");
    *out = mag;
    return value_ok(err);
}

int canal_value_bool(const canal_column *col, bool *out, canal_value_err *err) {
    canal_type t;
    bool neg;
    uint64_t mag;
    int rc = value_begin(col, out, &t, err);
    if (rc < 0) return rc;
    if (t.kind != CANAL_KIND_INT && t.kind != CANAL_KIND_BIT)
        return value_error(err, col, "%s column, not a boolean", kind_name(t.kind));
    if ((rc = integer_value(col, out, &neg, &mag, err)) < 0) return rc;
    *out = mag != 0;
    return value_ok(err);
}

/* A DECIMAL's text "[-]digits[.digits]" taken apart: integer digits
 * without leading zeros, fraction digits as sent. */
typedef struct dec_parts {
    bool neg;
    const char *ip, *fp;
    size_t in, fn;
} dec_parts;

static const char *parse_decimal(canal_str v, dec_parts *d) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    memset(d, 0, sizeof *d);
    d->neg = p < end && *p == '-';
    if (d->neg) p++;
    d->ip = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    d->in = (size_t)(p - d->ip);
    if (!d->in) return "not a decimal number";
    d->fp = p;
    if (p < end) {
        if (*p != '.') return "not a decimal number";
        d->fp = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        d->fn = (size_t)(p - d->fp);
        if (!d->fn || p != end) return "not a decimal number";
    }
    while (d->in > 1 && *d->ip == '0') d->ip++, d->in--;
    bool zero = d->in == 1 && *d->ip == '0';
    for (size_t i = 0; zero && i < d->fn; i++) zero = d->fp[i] == '0';
    if (zero) d->neg = false;
    return NULL;
}

/* Parse col as an exact number and pick the scale: the column's for a
 * DECIMAL with a known type, 0 for integers, else the digits sent.
 * Fraction digits beyond the scale must be zeros. */
static int decimal_value(const canal_column *col, const void *out, dec_parts *d, int *scale,
                         canal_value_err *err) {
    canal_type t;
    int rc = value_begin(col, out, &t, err);
    if (rc < 0) return rc;
    if (t.kind != CANAL_KIND_DECIMAL && t.kind != CANAL_KIND_INT)
        return value_error(err, col, "%s column, not a DECIMAL", kind_name(t.kind));
    const char *why = parse_decimal(col->value, d);
    if (why) return value_error(err, col, "%s", why);
    if (t.kind == CANAL_KIND_INT && d->fn)
        return value_error(err, col, "an integer column with a fraction");
    size_t s = t.kind == CANAL_KIND_INT ? 0 : t.scale >= 0 ? (size_t)t.scale : d->fn;
    /* DECIMAL(M,D) holds M-D integer digits (M <= 65, D <= 30); Canal
     * never sends more, nor more than D fraction digits */
    if (d->in + d->fn > 65 || d->fn > 30)
        return value_error(err, col, "more digits than a MySQL DECIMAL holds");
    if (t.kind == CANAL_KIND_DECIMAL && !t.guessed && !(d->in == 1 && *d->ip == '0') &&
        d->in > (size_t)(t.length - t.scale))
        return value_error(err, col, "more integer digits than decimal(%d,%d) holds", t.length,
                           t.scale);
    for (size_t i = s; i < d->fn; i++)
        if (d->fp[i] != '0')
            return value_error(err, col, "more fraction digits than the scale %zu", s);
    *scale = (int)s;
    return CANAL_OK;
}

int canal_value_decimal(const canal_column *col, int64_t *unscaled, int *scale,
                        canal_value_err *err) {
    dec_parts d;
    int s;
    int rc = decimal_value(col, unscaled, &d, &s, err);
    if (rc < 0) return rc;
    if (!scale) return value_error(err, NULL, "NULL scale");
    uint64_t mag = 0;
    for (size_t i = 0; i < d.in + (size_t)s; i++) {
        unsigned dg = i < d.in ? (unsigned)(d.ip[i] - '0')
                      : i - d.in < d.fn ? (unsigned)(d.fp[i - d.in] - '0') : 0;
        if (mag > (UINT64_MAX - dg) / 10)
            return value_error(err, col, "does not fit int64_t at scale %d", s);
        mag = mag * 10 + dg;
    }
    if (d.neg ? mag > (uint64_t)1 << 63 : mag > (uint64_t)INT64_MAX)
        return value_error(err, col, "does not fit int64_t at scale %d", s);
    *unscaled = d.neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    *scale = s;
    return value_ok(err);
}

int canal_value_decimal_text(const canal_column *col, char *out, size_t cap, size_t *len,
                             canal_value_err *err) {
    dec_parts d;
    int s;
    int rc = decimal_value(col, out, &d, &s, err);
    if (rc < 0) return rc;
    size_t need = d.neg + d.in + (s > 0 ? 1 + (size_t)s : 0);
    if (cap < need + 1) {
        if (len) *len = need;
        return value_error(err, col, "needs %zu bytes, have %zu", need + 1, cap);
    }
    char *o = out;
    if (d.neg) *o++ = '-';
    memcpy(o, d.ip, d.in), o += d.in;
    if (s > 0) {
        size_t k = d.fn < (size_t)s ? d.fn : (size_t)s;
        *o++ = '.';
        memcpy(o, d.fp, k), o += k;
        memset(o, '0', (size_t)s - k), o += (size_t)s - k;
    }
    *o = '\0';
    if (len) *len = need;
    return value_ok(err);
}

/* Java's Float/Double.toString forms: [-]digits[.digits][E[-]digits],
 * NaN, [-]Infinity. Handed to strtod/strtof rewritten without a point
 * ("3.14" as "314e-2"), so neither setlocale() in the program nor another
 * thread's locale changes the result. */
static const char *parse_real(canal_str v, bool as_float, double *d, float *f) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    bool neg = p < end && *p == '-';
    if (neg) p++;
    if (end - p == 8 && memcmp(p, "Infinity", 8) == 0) {
        if (as_float) *f = neg ? -INFINITY : INFINITY;
        else *d = neg ? -INFINITY : INFINITY;
        return NULL;
    }
    if (!neg && v.len == 3 && memcmp(v.ptr, "NaN", 3) == 0) {
        if (as_float) *f = NAN;
        else *d = NAN;
        return NULL;
    }
    char buf[128];
    size_t o = 0;
    long exp = 0;
    if (neg) buf[o++] = '-';
    const char *ip = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    size_t in = (size_t)(p - ip), fn = 0;
    const char *fp = p;
    if (!in) return "not a number";
    if (p < end && *p == '.') {
        fp = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        fn = (size_t)(p - fp);
        if (!fn) return "not a number";
    }
    if (p < end && (*p == 'E' || *p == 'e')) {
        bool eneg = ++p < end && *p == '-';
        p += eneg;
        const char *ep = p;
        while (p < end && *p >= '0' && *p <= '9' && p - ep < 6) exp = exp * 10 + (*p++ - '0');
        if (p == ep) return "not a number";
        if (eneg) exp = -exp;
    }
    if (p != end) return "not a number";
    if (in + fn > sizeof buf - 16) return "number text too long";
    memcpy(buf + o, ip, in), o += in;
    memcpy(buf + o, fp, fn), o += fn;
    o += (size_t)snprintf(buf + o, sizeof buf - o, "e%ld", exp - (long)fn);
    char *stop;
    int saved = errno;
    errno = 0;
    if (as_float) {
        *f = strtof(buf, &stop);
        if (errno == ERANGE && (*f == HUGE_VALF || *f == -HUGE_VALF)) return "out of float range";
    } else {
        *d = strtod(buf, &stop);
        if (errno == ERANGE && (*d == HUGE_VAL || *d == -HUGE_VAL)) return "out of double range";
    }
    errno = saved;
    if (stop != buf + o) return "not a number";
    return NULL;
}

int canal_value_float(const canal_column *col, float *out, canal_value_err *err) {
    canal_type t;
    float f;
    int rc = value_begin(col, out, &t, err);
    if (rc < 0) return rc;
    if (t.kind != CANAL_KIND_FLOAT)
        return value_error(err, col, "%s column, not a FLOAT", kind_name(t.kind));
    const char *why = parse_real(col->value, true, NULL, &f);
    if (why) return value_error(err, col, "%s", why);
    *out = f;
    return value_ok(err);
}

int canal_value_double(const canal_column *col, double *out, canal_value_err *err) {
    canal_type t;
    double d = 0;
    float f = 0;
    int rc = value_begin(col, out, &t, err);
    if (rc < 0) return rc;
    const char *why = NULL;
    switch (t.kind) {
    case CANAL_KIND_FLOAT:
        why = parse_real(col->value, true, NULL, &f);
        d = f;
        break;
    case CANAL_KIND_DOUBLE:
        why = parse_real(col->value, false, &d, NULL);
        break;
    case CANAL_KIND_DECIMAL: case CANAL_KIND_INT: case CANAL_KIND_BIT: case CANAL_KIND_YEAR: {
        dec_parts dp;
        why = parse_decimal(col->value, &dp);
        if (!why && t.kind != CANAL_KIND_DECIMAL && dp.fn) why = "not an integer";
        if (!why) why = parse_real(col->value, false, &d, NULL);
        break;
    }
    default: return value_error(err, col, "%s column, not a number", kind_name(t.kind));
    }
    if (why) return value_error(err, col, "%s", why);
    *out = d;
    return value_ok(err);
}

/* Exactly n digits at p. */
static bool fixed_digits(const char *p, int n, int *v) {
    int r = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        r = r * 10 + (p[i] - '0');
    }
    *v = r;
    return true;
}

/* "hh:mm:ss[.f{1,6}]" from p to end, hours of hour_digits digits. */
static bool parse_clock(const char *p, const char *end, int hour_digits, canal_datetime *t) {
    if (end - p < hour_digits + 6 || !fixed_digits(p, hour_digits, &t->hour)) return false;
    p += hour_digits;
    if (p[0] != ':' || !fixed_digits(p + 1, 2, &t->minute) || p[3] != ':' ||
        !fixed_digits(p + 4, 2, &t->second) || t->minute > 59 || t->second > 59)
        return false;
    p += 6;
    if (p == end) return true;
    if (*p++ != '.' || end - p < 1 || end - p > 6) return false;
    t->fsp = (int)(end - p);
    int us = 0;
    if (!fixed_digits(p, t->fsp, &us)) return false;
    for (int i = t->fsp; i < 6; i++) us *= 10;
    t->microsecond = us;
    return true;
}

/* "YYYY-MM-DD" at p; zero parts allowed, as MySQL stores them. */
static bool parse_date(const char *p, canal_datetime *t) {
    return fixed_digits(p, 4, &t->year) && p[4] == '-' && fixed_digits(p + 5, 2, &t->month) &&
           p[7] == '-' && fixed_digits(p + 8, 2, &t->day) && t->month <= 12 && t->day <= 31;
}

int canal_value_datetime(const canal_column *col, canal_datetime *out, canal_value_err *err) {
    canal_type ty;
    canal_datetime t;
    int rc = value_begin(col, out, &ty, err);
    if (rc < 0) return rc;
    memset(&t, 0, sizeof t);
    t.kind = ty.kind;
    const char *p = col->value.ptr, *end = p + col->value.len;
    size_t n = col->value.len;
    bool ok;
    switch (ty.kind) {
    case CANAL_KIND_DATE:
        ok = n == 10 && parse_date(p, &t);
        break;
    case CANAL_KIND_DATETIME: case CANAL_KIND_TIMESTAMP:
        ok = n >= 19 && parse_date(p, &t) && p[10] == ' ' && parse_clock(p + 11, end, 2, &t) &&
             t.hour <= 23;
        break;
    case CANAL_KIND_TIME:
        t.negative = n > 0 && *p == '-';
        p += t.negative;
        /* 2 hour digits, 3 from 100 h on (up to MySQL's 838) */
        ok = end - p >= 8 && (p[2] == ':' ? parse_clock(p, end, 2, &t)
                                          : p[3] == ':' && parse_clock(p, end, 3, &t)) &&
             t.hour <= 838;
        break;
    default: return value_error(err, col, "%s column, not a date or time", kind_name(ty.kind));
    }
    if (!ok) return value_error(err, col, "not %s as Canal writes it", kind_name(ty.kind));
    *out = t;
    return value_ok(err);
}

static bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int canal_datetime_to_unix(const canal_datetime *t, int32_t utc_offset_s, int64_t *sec,
                           int32_t *usec, canal_value_err *err) {
    static const short before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const signed char month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!t || !sec || !usec) return value_error(err, NULL, "NULL %s", t ? "output" : "datetime");
    if (t->kind != CANAL_KIND_DATE && t->kind != CANAL_KIND_DATETIME &&
        t->kind != CANAL_KIND_TIMESTAMP)
        return value_error(err, NULL, "%s is not a point in time", kind_name(t->kind));
    if (utc_offset_s < -64800 || utc_offset_s > 64800)
        return value_error(err, NULL, "UTC offset %" PRId32 " s is beyond 18 hours", utc_offset_s);
    int y = t->year, m = t->month, d = t->day;
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > month_days[m - 1] + (m == 2 && leap_year(y)) || t->hour < 0 || t->hour > 23 ||
        t->minute < 0 || t->minute > 59 || t->second < 0 || t->second > 59 ||
        t->microsecond < 0 || t->microsecond > 999999)
        return value_error(err, NULL, "%04d-%02d-%02d %02d:%02d:%02d is no instant (zero or partial date, or no such day)",
                           y, m, d, t->hour, t->minute, t->second);
    /* days from 0001-01-01 (proleptic Gregorian), then from 1970-01-01 */
    int64_t py = y - 1;
    int64_t days = py * 365 + py / 4 - py / 100 + py / 400 + before_month[m - 1] +
                   (m > 2 && leap_year(y)) + (d - 1) - 719162;
    *sec = days * 86400 + t->hour * 3600 + t->minute * 60 + t->second - utc_offset_s;
    *usec = t->microsecond;
    return value_ok(err);
}

/* Bytes of an ISO-8859-1 rendering (see canal_latin1_to_bytes), counted;
 * false when it is not one. */
static bool latin1_length(canal_str v, size_t *n) {
    const uint8_t *p = (const uint8_t *)v.ptr;
    size_t o = 0;
    for (size_t i = 0; i < v.len; o++) {
        if (p[i] < 0x80) i++;
        else if ((p[i] == 0xC2 || p[i] == 0xC3) && i + 1 < v.len && (p[i + 1] & 0xC0) == 0x80) i += 2;
        else return false;
    }
    *n = o;
    return true;
}

int canal_value_bytes(const canal_column *col, uint8_t *out, size_t cap, size_t *out_len,
                      canal_value_err *err) {
    canal_type t;
    size_t n;
    int rc = value_begin(col, out_len, &t, err);
    if (rc < 0) return rc;
    bool binary = t.kind == CANAL_KIND_BINARY || t.kind == CANAL_KIND_GEOMETRY;
    if (binary) {
        if (!latin1_length(col->value, &n))
            return value_error(err, col, "not an ISO-8859-1 rendering of bytes");
    } else if (t.kind == CANAL_KIND_TEXT || t.kind == CANAL_KIND_JSON) {
        n = col->value.len;
    } else {
        return value_error(err, col, "%s column has no bytes", kind_name(t.kind));
    }
    if (!out) {
        *out_len = n;
        return value_ok(err);
    }
    if (cap < n) {
        *out_len = n;
        return value_error(err, col, "needs %zu bytes, have %zu", n, cap);
    }
    if (binary) {
        size_t got;
        canal_latin1_to_bytes(col->value.ptr, col->value.len, out, &got);
    } else if (n) {
        memcpy(out, col->value.ptr, n);
    }
    *out_len = n;
    return value_ok(err);
}

int canal_value_text(const canal_column *col, canal_str *out, canal_value_err *err) {
    canal_type t;
    int rc = value_begin(col, out, &t, err);
    if (rc < 0) return rc;
    if (t.kind == CANAL_KIND_BINARY || t.kind == CANAL_KIND_GEOMETRY)
        return value_error(err, col, "%s column: its text is not its data, use canal_value_bytes",
                           kind_name(t.kind));
    out->ptr = col->value.ptr ? col->value.ptr : empty_str;
    out->len = col->value.len;
    return value_ok(err);
}

const canal_column *canal_row_column(const canal_row *row, const char *name, bool after) {
    if (!row || !name) return NULL;
    const canal_column *cols = after ? row->after : row->before;
    size_t n = after ? row->n_after : row->n_before, len = strlen(name);
    if (!len) return NULL; /* Canal without table meta may send unnamed columns */
    for (size_t i = 0; cols && i < n; i++) {
        if (cols[i].name.len != len || !cols[i].name.ptr) continue;
        size_t k = 0;
        while (k < len && ascii_lower(cols[i].name.ptr[k]) == ascii_lower(name[k])) k++;
        if (k == len) return &cols[i];
    }
    return NULL;
}

/* A binlog file name as the key (base, has a number, number, its width):
 * "mysql-bin.000123" is ("mysql-bin", yes, 123, 6); a name without a
 * numeric suffix after its last '.' is (the whole name, no). Comparing
 * keys in that order is a total order that counts files numerically. */
typedef struct file_key {
    const char *base, *digits;
    size_t base_len, n_digits;
    bool numbered;
} file_key;

static file_key binlog_key(canal_str f) {
    file_key k = {f.ptr ? f.ptr : empty_str, NULL, f.ptr ? f.len : 0, 0, false};
    size_t i = k.base_len;
    while (i > 0 && k.base[i - 1] >= '0' && k.base[i - 1] <= '9') i--;
    if (i > 0 && i < k.base_len && k.base[i - 1] == '.') {
        k.digits = k.base + i;
        k.n_digits = k.base_len - i;
        k.base_len = i - 1;
        k.numbered = true;
    }
    return k;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

int canal_position_cmp(canal_str file_a, int64_t offset_a, canal_str file_b, int64_t offset_b) {
    file_key a = binlog_key(file_a), b = binlog_key(file_b);
    int r = bytes_cmp(a.base, a.base_len, b.base, b.base_len);
    if (!r) r = (int)a.numbered - (int)b.numbered;
    if (!r && a.numbered) {
        /* numerically: strip leading zeros, then more digits is larger */
        const char *da = a.digits, *db = b.digits;
        size_t na = a.n_digits, nb = b.n_digits;
        while (na > 1 && *da == '0') da++, na--;
        while (nb > 1 && *db == '0') db++, nb--;
        r = na != nb ? (na > nb) - (na < nb) : memcmp(da, db, na);
        if (!r) r = (a.n_digits > b.n_digits) - (a.n_digits < b.n_digits);
    }
    if (r) return r < 0 ? -1 : 1;
    return (offset_a > offset_b) - (offset_a < offset_b);
}

int canal_entry_parse(canal_client *c, const void *buf, size_t len, const canal_entry **out) {
    if (!c) return CANAL_EINVAL;
    if (out) *out = NULL;
    drop_message(c);
    clear_error(c);
    if (!out || (!buf && len > 0))
        return set_error(c, CANAL_EINVAL, "entry_parse: NULL %s", out ? "buf" : "out");
    if (!buf) buf = empty_str;
    if (client_owns(c, buf, len))
        return set_error(c, CANAL_EINVAL,
                         "entry_parse: buf lies in memory the client owns (a string or array it "
                         "decoded, which the next decode reuses); copy the bytes out first");
    message_trim(c);
    c->batch.entries.n = 0;
    c->batch.hdr_pairs.n = 0;
    start_decode(c, len);
    if (!dec_reserve(c, &c->batch.entries, 1, sizeof(canal_entry), "entries"))
        return error_in(c, "entry_parse");
    canal_entry *e = c->batch.entries.p;
    memset(e, 0, sizeof *e);
    e->raw.ptr = buf;
    e->raw.len = len;
    c->batch.entries.n = 1;
    int rc = decode_entries(c, buf, len, 0, "entry_parse", INT64_MAX);
    if (rc < 0) return rc;
    *out = c->batch.msg.entries;
    return CANAL_OK;
}
