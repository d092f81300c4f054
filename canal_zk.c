/*
 * canal_zk.c - optional ZooKeeper mode for canal-c (see canal_zk.h).
 * Built on canal.h only. ZooKeeper layout and node data: PROTOCOL.md section 7;
 * the client's behaviour follows Canal's ClusterNodeAccessStrategy and
 * ClientRunningMonitor.
 *
 * Threads: libzookeeper_mt calls our watcher and completions on its own
 * completion thread. They only write a record into a pipe (one writer, so
 * records never interleave); the caller's thread reads the pipe inside our
 * calls and does everything else. So no lock is needed, and every wait is a
 * poll() on the pipe with the caller's deadline.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "canal_zk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#define ZK_ROOT "/otter/canal/destinations"
#define ZK_ERRSTR_SIZE 512
#define ZK_ADDR_SIZE 128
/* Node data and children lists larger than this are refused (a running
 * node holds ~50 bytes; a cluster list ~25 bytes per server). Kept below
 * PIPE_BUF with the record header, so a record is written in one piece. */
#define ZK_MAX_PAYLOAD 3840

/* ------------------------------------------------------------ pipe records */

enum { REC_WATCH = 1, REC_DONE = 2 };

/* Which node a watch event is about. */
enum { P_OTHER = 0, P_SERVER_RUNNING, P_CLUSTER, P_CLIENT_RUNNING };

typedef struct rec {
    int32_t kind;  /* REC_WATCH or REC_DONE */
    int32_t seq;   /* REC_DONE: the request's number */
    int32_t rc;    /* REC_DONE: ZooKeeper's result; REC_WATCH: event type */
    int32_t state; /* REC_WATCH: session state; REC_DONE: node version */
    int32_t which; /* REC_WATCH: P_* */
    int32_t len;   /* payload bytes after the header; -1: node data was null,
                      -2: more than ZK_MAX_PAYLOAD (not sent) */
    int64_t owner; /* REC_DONE: the node's ephemeral owner (a session id) */
    int64_t at_ms; /* when it happened (monotonic) */
} rec;

/* What a completion needs: the pipe and the request's number. */
typedef struct req_ctx {
    int wfd;
    int32_t seq;
} req_ctx;

/* ------------------------------------------------------------ state */

struct canal_zk {
    canal_client *c;
    /* options, copied */
    char *zk_hosts;
    char *destination;
    char *client_address;
    int client_id;
    int connect_timeout_ms;
    int session_timeout_ms, wait_ms, retry_interval_ms, reclaim_delay_ms;
    bool client_ha;
    char *bad;                    /* an invalid option, named; NULL when fine */
    /* paths */
    char *p_server_running, *p_cluster, *p_cid, *p_client_running;
    /* ZooKeeper */
    zhandle_t *zh;
    int rfd, wfd;                 /* the pipe from libzookeeper's thread */
    int32_t seq;
    bool zk_up;                   /* the session is connected */
    bool zk_expired;
    int64_t zk_down_since;        /* when the connection was lost; 0 while up */
    bool zk_ever_up;
    int zk_session_ms;            /* the timeout ZooKeeper granted */
    /* client HA (ClientRunningMonitor) */
    int role;
    bool ha_dirty;                /* re-read {cid}/running before relying on role */
    bool last_owner;              /* the node's last data named us */
    int64_t claim_after;          /* a passive consumer claims from then on */
    char my_ip[ZK_ADDR_SIZE];     /* what the node says before a connection */
    char my_addr[ZK_ADDR_SIZE];   /* what it says now: my_ip, then "ip:port" */
    char active_addr[ZK_ADDR_SIZE];
    /* the server (ClusterNodeAccessStrategy) */
    bool srv_dirty, cluster_dirty;
    char running_addr[ZK_ADDR_SIZE];  /* "" when no running node */
    char **members;
    size_t n_members;
    char server[ZK_ADDR_SIZE];        /* the one we are connected to */
    uint64_t rng;
    /* subscription the application asked for */
    bool want_sub, core_subscribed;
    char *filter;
    /* last error */
    int err;
    char errstr[ZK_ERRSTR_SIZE];
};

/* ------------------------------------------------------------ small helpers */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

#if defined(__GNUC__)
#define ZK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ZK_PRINTF(f, a)
#endif

ZK_PRINTF(1, 2) static char *fmt_str(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

ZK_PRINTF(3, 4) static int set_err(canal_zk *z, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->errstr, sizeof z->errstr, fmt, ap);
    va_end(ap);
    z->err = code;
    return code;
}

/* An error of the canal_client, kept with where it happened. */
static int core_err(canal_zk *z, int rc, const char *what) {
    if (z->server[0])
        return set_err(z, rc, "%s on %s: %s", what, z->server, canal_errstr(z->c));
    return set_err(z, rc, "%s: %s", what, canal_errstr(z->c));
}

static void clear_err(canal_zk *z) {
    z->err = CANAL_OK;
    z->errstr[0] = '\0';
}

static void copy_addr(char *dst, const char *src, size_t len) {
    if (len >= ZK_ADDR_SIZE) len = ZK_ADDR_SIZE - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

const char *canal_zk_strerror(int err) {
    switch (err) {
    case CANAL_ZK_EPASSIVE: return "CANAL_ZK_EPASSIVE";
    case CANAL_ZK_ENOSERVER: return "CANAL_ZK_ENOSERVER";
    case CANAL_ZK_EZK: return "CANAL_ZK_EZK";
    default: return canal_strerror(err);
    }
}

/* ------------------------------------------------------------ JSON (node data) */

/* Node data is written by fastjson2: the keys' order is the library's, so
 * we look keys up by name in the top-level object. This reader checks the
 * whole text is one JSON object and decodes the string values we need. */

typedef struct jcur {
    const char *p, *end;
} jcur;

static void j_ws(jcur *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static bool j_hex4(jcur *j, unsigned *out) {
    if (j->end - j->p < 4) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(j->p[i]);
        if (h < 0) return false;
        v = v * 16 + (unsigned)h;
    }
    j->p += 4;
    *out = v;
    return true;
}

/* A string at j->p (after its opening quote): decoded into out (UTF-8, at
 * most cap-1 bytes, '\0' ended) when out is not NULL; false when malformed
 * or too long. */
static bool j_string(jcur *j, char *out, size_t cap) {
    size_t n = 0;
    while (j->p < j->end) {
        unsigned char ch = (unsigned char)*j->p++;
        unsigned cp;
        if (ch == '"') {
            if (out) out[n] = '\0';
            return true;
        }
        if (ch < 0x20) return false;
        if (ch != '\\') {
            cp = ch; /* bytes >= 0x80 pass through as they are */
            if (out) {
                if (n + 1 >= cap) return false;
                out[n++] = (char)ch;
            }
            continue;
        }
        if (j->p >= j->end) return false;
        switch (*j->p++) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            if (!j_hex4(j, &cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') return false;
                j->p += 2;
                if (!j_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return false;
            }
            break;
        }
        default: return false;
        }
        if (!out) continue;
        char buf[4];
        size_t k;
        if (cp < 0x80) buf[0] = (char)cp, k = 1;
        else if (cp < 0x800) buf[0] = (char)(0xC0 | cp >> 6), buf[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
        else if (cp < 0x10000)
            buf[0] = (char)(0xE0 | cp >> 12), buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
            buf[2] = (char)(0x80 | (cp & 0x3F)), k = 3;
        else
            buf[0] = (char)(0xF0 | cp >> 18), buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
            buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), buf[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
        if (n + k >= cap) return false;
        memcpy(out + n, buf, k);
        n += k;
    }
    return false;
}

static bool j_lit(jcur *j, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0) return false;
    j->p += n;
    return true;
}

/* Skip one value. Nesting is bounded so hostile data cannot recurse deep. */
static bool j_skip(jcur *j, int depth) {
    j_ws(j);
    if (j->p >= j->end || depth > 32) return false;
    char ch = *j->p;
    if (ch == '"') {
        j->p++;
        return j_string(j, NULL, 0);
    }
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            if (ch == '{') {
                j_ws(j);
                if (j->p >= j->end || *j->p++ != '"' || !j_string(j, NULL, 0)) return false;
                j_ws(j);
                if (j->p >= j->end || *j->p++ != ':') return false;
            }
            if (!j_skip(j, depth + 1)) return false;
            j_ws(j);
            if (j->p >= j->end) return false;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != close) return false;
            return true;
        }
    }
    if (j_lit(j, "true") || j_lit(j, "false") || j_lit(j, "null")) return true;
    /* a number: JSON's grammar, loosely (digits, sign, point, exponent) */
    const char *start = j->p;
    while (j->p < j->end && (strchr("+-.eE", *j->p) || (*j->p >= '0' && *j->p <= '9'))) j->p++;
    return j->p > start;
}

typedef struct run_data {
    char address[ZK_ADDR_SIZE];
    bool has_address;
    bool active;     /* absent reads true, as Java's field default */
} run_data;

/* ServerRunningData / ClientRunningData: "address" and "active" by name;
 * other keys ("cid", "clientId", unknown ones) are skipped. */
static bool parse_running(const char *data, size_t len, run_data *out) {
    jcur j = {data, data + len};
    memset(out, 0, sizeof *out);
    out->active = true;
    j_ws(&j);
    if (j.p >= j.end || *j.p++ != '{') return false;
    j_ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            char key[16];
            j_ws(&j);
            if (j.p >= j.end || *j.p++ != '"') return false;
            const char *kstart = j.p;
            if (!j_string(&j, key, sizeof key)) {
                /* a key too long to be one of ours: skip it */
                j.p = kstart;
                if (!j_string(&j, NULL, 0)) return false;
                key[0] = '\0';
            }
            j_ws(&j);
            if (j.p >= j.end || *j.p++ != ':') return false;
            j_ws(&j);
            if (strcmp(key, "address") == 0 && j.p < j.end && *j.p == '"') {
                j.p++;
                if (!j_string(&j, out->address, sizeof out->address)) return false;
                out->has_address = true;
            } else if (strcmp(key, "address") == 0 && j_lit(&j, "null")) {
                out->has_address = false;
            } else if (strcmp(key, "active") == 0) {
                if (j_lit(&j, "true")) out->active = true;
                else if (j_lit(&j, "false")) out->active = false;
                else return false;
            } else if (!j_skip(&j, 1)) {
                return false;
            }
            j_ws(&j);
            if (j.p >= j.end) return false;
            if (*j.p == ',') {
                j.p++;
                continue;
            }
            if (*j.p++ != '}') return false;
            break;
        }
    }
    j_ws(&j);
    return j.p == j.end;
}

/* ClientRunningData as Java writes it: {"active":true,"address":"..","clientId":N}. */
static int client_json(char *buf, size_t cap, const char *address, int client_id) {
    char esc[2 * ZK_ADDR_SIZE + 8];
    size_t n = 0;
    for (const char *s = address; *s && n + 7 < sizeof esc; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') esc[n++] = '\\', esc[n++] = (char)ch;
        else if (ch < 0x20) n += (size_t)snprintf(esc + n, sizeof esc - n, "\\u%04x", ch);
        else esc[n++] = (char)ch;
    }
    esc[n] = '\0';
    return snprintf(buf, cap, "{\"active\":true,\"address\":\"%s\",\"clientId\":%d}", esc, client_id);
}

/* "host:port" as ClusterNodeAccessStrategy accepts it: split on ':' (runs
 * of ':' count as one, as StringUtils.split does), exactly two parts, a
 * decimal port. */
static bool split_addr(const char *addr, char *host, size_t hcap, int *port) {
    const char *a = addr;
    while (*a == ':') a++;
    const char *colon = strchr(a, ':');
    if (!colon || colon == a) return false;
    const char *p = colon;
    while (*p == ':') p++;
    if (!*p || strchr(p, ':')) return false;
    long v = 0;
    for (const char *d = p; *d; d++) {
        if (*d < '0' || *d > '9' || v > 65535) return false;
        v = v * 10 + (*d - '0');
    }
    if (v < 1 || v > 65535 || (size_t)(colon - a) >= hcap) return false;
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = '\0';
    *port = (int)v;
    return true;
}

/* ------------------------------------------------------------ libzookeeper side */

/* These run on libzookeeper's completion thread: they touch nothing but
 * the pipe, whose write end stays open until zookeeper_close returns. */

static void put_rec(int wfd, rec *r, const void *payload) {
    char buf[sizeof(rec) + ZK_MAX_PAYLOAD];
    size_t n = sizeof *r;
    if (r->len > ZK_MAX_PAYLOAD) r->len = -2;
    memcpy(buf, r, sizeof *r);
    if (r->len > 0) {
        memcpy(buf + n, payload, (size_t)r->len);
        n += (size_t)r->len;
    }
    /* One write of at most PIPE_BUF bytes is atomic. The pipe holds far
     * more records than can be outstanding (each comes from one request
     * or one armed watch of ours, or a session change), so it never fills
     * in practice; if it ever did, the record is dropped and the caller's
     * wait for it ends at its deadline. */
    ssize_t w;
    do {
        w = write(wfd, buf, n);
    } while (w < 0 && errno == EINTR);
}

static void on_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)ctx;
    const canal_zk *z = zoo_get_context(zh);
    if (!z) return;
    rec r;
    memset(&r, 0, sizeof r);
    r.kind = REC_WATCH;
    r.rc = type;
    r.state = state;
    r.at_ms = now_ms();
    /* The paths never change while the handle lives. */
    if (path && z->p_server_running && strcmp(path, z->p_server_running) == 0) r.which = P_SERVER_RUNNING;
    else if (path && z->p_cluster && strcmp(path, z->p_cluster) == 0) r.which = P_CLUSTER;
    else if (path && z->p_client_running && strcmp(path, z->p_client_running) == 0)
        r.which = P_CLIENT_RUNNING;
    put_rec(z->wfd, &r, NULL);
}

static void done_rec(const void *data, int rc, const struct Stat *stat, const void *payload, int len) {
    const req_ctx *q = data;
    rec r;
    memset(&r, 0, sizeof r);
    r.kind = REC_DONE;
    r.seq = q->seq;
    r.rc = rc;
    r.state = stat ? stat->version : -1;
    r.owner = stat ? stat->ephemeralOwner : 0;
    r.len = len;
    r.at_ms = now_ms();
    put_rec(q->wfd, &r, payload);
    free((void *)(uintptr_t)data);
}

static void on_data(int rc, const char *value, int value_len, const struct Stat *stat,
                    const void *data) {
    done_rec(data, rc, stat, value, value ? value_len : -1);
}

static void on_void(int rc, const void *data) { done_rec(data, rc, NULL, NULL, 0); }

static void on_string(int rc, const char *value, const void *data) {
    (void)value;
    done_rec(data, rc, NULL, NULL, 0);
}

static void on_stat(int rc, const struct Stat *stat, const void *data) {
    done_rec(data, rc, stat, NULL, 0);
}

static void on_children(int rc, const struct String_vector *sv, const void *data) {
    /* The names, each ended by '\0'. */
    char buf[ZK_MAX_PAYLOAD + 1];
    int n = 0;
    bool big = false;
    for (int i = 0; sv && rc == ZOK && i < sv->count; i++) {
        size_t l = strlen(sv->data[i]) + 1;
        if ((size_t)n + l > ZK_MAX_PAYLOAD) {
            big = true;
            break;
        }
        memcpy(buf + n, sv->data[i], l);
        n += (int)l;
    }
    done_rec(data, rc, NULL, buf, big ? ZK_MAX_PAYLOAD + 1 : n);
}

/* libzookeeper logs to stderr unless told otherwise; a library must not. */
static void zk_quiet(const char *message) { (void)message; }

/* ------------------------------------------------------------ caller side */

/* Results of one request. */
typedef struct reply {
    int rc;
    int32_t version;
    int64_t owner;           /* ephemeral owner's session id, 0 for persistent */
    int len;                 /* -1: null data; -2: larger than ZK_MAX_PAYLOAD */
    char data[ZK_MAX_PAYLOAD + 1];
} reply;

static void on_event(canal_zk *z, const rec *r);

static bool read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

/* Read records until the reply to seq (seq 0: until the pipe is empty, or
 * until the deadline when wait is set, returning at the first event).
 * 1: got it; 0: deadline or empty; -1: the pipe failed. */
static int pump(canal_zk *z, int32_t seq, reply *out, int64_t deadline, bool wait) {
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left < 0) left = 0;
        struct pollfd pfd = {z->rfd, POLLIN, 0};
        int pr = poll(&pfd, 1, (seq || wait) ? (int)(left > 1000000 ? 1000000 : left) : 0);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return -1;
        if (pr == 0) return 0;
        rec r;
        char payload[ZK_MAX_PAYLOAD + 1];
        if (!read_full(z->rfd, &r, sizeof r)) return -1;
        if (r.len > 0 && !read_full(z->rfd, payload, (size_t)r.len)) return -1;
        if (r.kind == REC_WATCH) {
            on_event(z, &r);
            if (wait && !seq) return 1;
            continue;
        }
        if (seq && r.seq == seq) {
            out->rc = r.rc;
            out->version = r.state;
            out->owner = r.owner;
            out->len = r.len;
            if (r.len > 0) memcpy(out->data, payload, (size_t)r.len);
            out->data[r.len > 0 ? r.len : 0] = '\0';
            return 1;
        }
        /* a reply nobody waits for any more (its call timed out): drop it */
    }
}

static req_ctx *new_req(canal_zk *z) {
    req_ctx *q = malloc(sizeof *q);
    if (!q) return NULL;
    q->wfd = z->wfd;
    q->seq = ++z->seq;
    if (z->seq >= INT32_MAX - 1) z->seq = 0;
    return q;
}

enum { OP_GET, OP_EXISTS, OP_CHILDREN, OP_CREATE, OP_CREATE_EPH, OP_SET, OP_DELETE };

/* One ZooKeeper request, waited for until the deadline, but at least
 * connect_timeout_ms: a request is one step of an attempt, and a healthy
 * ZooKeeper answering late in a call must not fail it. Returns ZooKeeper's
 * result code, ZOPERATIONTIMEOUT when the time ran out first, or
 * ZSYSTEMERROR when we could not even ask. */
static int zk_call(canal_zk *z, int op, const char *path, const char *value, int version,
                   bool watch, reply *out, int64_t deadline) {
    if (!z->zh) return ZCONNECTIONLOSS;
    int64_t least = now_ms() + z->connect_timeout_ms;
    if (deadline < least) deadline = least;
    req_ctx *q = new_req(z);
    if (!q) return ZSYSTEMERROR;
    int32_t seq = q->seq;
    int rc;
    int vlen = value ? (int)strlen(value) : -1;
    switch (op) {
    case OP_GET: rc = zoo_aget(z->zh, path, watch, on_data, q); break;
    case OP_EXISTS: rc = zoo_aexists(z->zh, path, watch, on_stat, q); break;
    case OP_CHILDREN: rc = zoo_aget_children(z->zh, path, watch, on_children, q); break;
    case OP_CREATE:
        rc = zoo_acreate(z->zh, path, value, vlen, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, on_string, q);
        break;
    case OP_CREATE_EPH:
        rc = zoo_acreate(z->zh, path, value, vlen, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, on_string, q);
        break;
    case OP_SET: rc = zoo_aset(z->zh, path, value, vlen, version, on_stat, q); break;
    default: rc = zoo_adelete(z->zh, path, version, on_void, q); break;
    }
    if (rc != ZOK) {
        free(q); /* not queued: no completion will come */
        return rc;
    }
    int got = pump(z, seq, out, deadline, false);
    if (got == 1) return out->rc;
    return got == 0 ? ZOPERATIONTIMEOUT : ZSYSTEMERROR;
}

static int zk_err(canal_zk *z, int rc, const char *what, const char *path) {
    if (rc == ZOPERATIONTIMEOUT)
        return set_err(z, CANAL_ZK_EZK, "ZooKeeper %s: %s %s: no answer in time", z->zk_hosts, what,
                       path);
    return set_err(z, CANAL_ZK_EZK, "ZooKeeper %s: %s %s: %s", z->zk_hosts, what, path, zerror(rc));
}

static void close_zk(canal_zk *z) {
    if (z->zh) {
        /* Blocks until libzookeeper's threads are gone: after it, no record
         * can be written any more, so the pipe can be drained and reused. */
        zookeeper_close(z->zh);
        z->zh = NULL;
        char junk[512];
        int fl = fcntl(z->rfd, F_GETFL);
        (void)fcntl(z->rfd, F_SETFL, fl | O_NONBLOCK);
        while (read(z->rfd, junk, sizeof junk) > 0) {
        }
        (void)fcntl(z->rfd, F_SETFL, fl);
    }
    z->zk_up = false;
    z->zk_expired = false;
    z->zk_down_since = 0;
}

/* Our IP as the node shows it before the first connection: the local end
 * of a route to the first ZooKeeper host (a UDP connect sends nothing). */
static void guess_local_ip(canal_zk *z) {
    snprintf(z->my_ip, sizeof z->my_ip, "127.0.0.1");
    if (z->client_address) {
        copy_addr(z->my_ip, z->client_address, strlen(z->client_address));
        return;
    }
    char host[ZK_ADDR_SIZE];
    size_t n = strcspn(z->zk_hosts, ",/");
    int port;
    copy_addr(host, z->zk_hosts, n);
    char h[ZK_ADDR_SIZE];
    if (!split_addr(host, h, sizeof h, &port)) return;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST; /* no DNS wait here; a name keeps 127.0.0.1 */
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(h, ps, &hints, &res) != 0) return;
    int fd = socket(res->ai_family, SOCK_DGRAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char ip[INET6_ADDRSTRLEN];
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
            getnameinfo((struct sockaddr *)&ss, sl, ip, sizeof ip, NULL, 0, NI_NUMERICHOST) == 0)
            snprintf(z->my_ip, sizeof z->my_ip, "%s", ip);
    }
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
}

/* Open the session and wait for it, at most connect_timeout_ms and the
 * deadline. */
static int open_zk(canal_zk *z, int64_t deadline) {
    if (!z->zh) {
        z->zh = zookeeper_init2(z->zk_hosts, on_watch, z->session_timeout_ms, NULL, z, 0, zk_quiet);
        if (!z->zh)
            return set_err(z, CANAL_ZK_EZK, "ZooKeeper %s: cannot start a session: %s", z->zk_hosts,
                           strerror(errno));
        z->zk_up = false;
        z->zk_down_since = now_ms();
        z->srv_dirty = z->cluster_dirty = z->ha_dirty = true;
        int64_t d = now_ms() + z->connect_timeout_ms;
        if (d < deadline) deadline = d;
    }
    while (!z->zk_up && !z->zk_expired) {
        reply unused;
        int got = pump(z, 0, &unused, deadline, true);
        if (got < 0) return set_err(z, CANAL_ZK_EZK, "ZooKeeper event pipe failed: %s", strerror(errno));
        if (got == 0 && now_ms() >= deadline) break;
    }
    if (z->zk_up) return CANAL_OK;
    if (z->zk_expired)
        return set_err(z, CANAL_ZK_EZK, "ZooKeeper %s: session expired", z->zk_hosts);
    return set_err(z, CANAL_ZK_EZK, "ZooKeeper %s unreachable: no session within %d ms", z->zk_hosts,
                   z->connect_timeout_ms);
}

/* ------------------------------------------------------------ events */

/* libzookeeper declares the connection lost after 2/3 of the session
 * timeout without a word from ZooKeeper, so by then ZooKeeper may expire
 * the session 1/3 of the timeout later and hand our node to a standby. From
 * then on we must not act in the client id's name: nothing goes to the
 * server until ZooKeeper confirms the session again. */
static bool session_in_doubt(const canal_zk *z) {
    return !z->zk_up && now_ms() - z->zk_down_since >= z->zk_session_ms / 3;
}

static void drop_server(canal_zk *z) {
    canal_disconnect(z->c);
    z->server[0] = '\0';
}

static void become_passive(canal_zk *z) {
    if (z->role == CANAL_ZK_ACTIVE) drop_server(z);
    z->role = CANAL_ZK_PASSIVE;
}

static void on_event(canal_zk *z, const rec *r) {
    if (r->rc == ZOO_SESSION_EVENT) {
        if (r->state == ZOO_CONNECTED_STATE) {
            z->zk_up = true;
            z->zk_ever_up = true;
            z->zk_down_since = 0;
            /* Set before this event was queued, so safe to read now. */
            z->zk_session_ms = zoo_recv_timeout(z->zh);
            if (z->zk_session_ms <= 0) z->zk_session_ms = z->session_timeout_ms;
            /* Anything may have changed while we were away. */
            z->srv_dirty = z->cluster_dirty = z->ha_dirty = true;
        } else if (r->state == ZOO_EXPIRED_SESSION_STATE || r->state == ZOO_AUTH_FAILED_STATE) {
            z->zk_up = false;
            z->zk_expired = true;
            /* Our node died with the session: stop consuming now, before
             * anything else goes to the server in our name. */
            if (z->client_ha && z->role == CANAL_ZK_ACTIVE) {
                drop_server(z);
                z->role = CANAL_ZK_IDLE;
                z->last_owner = true;
            }
        } else {
            if (z->zk_up || !z->zk_down_since) z->zk_down_since = r->at_ms;
            z->zk_up = false;
        }
        return;
    }
    switch (r->which) {
    case P_SERVER_RUNNING:
        z->srv_dirty = true;
        break;
    case P_CLUSTER:
        z->cluster_dirty = true;
        break;
    case P_CLIENT_RUNNING:
        if (!z->client_ha) break;
        z->ha_dirty = true;
        if (r->rc == ZOO_DELETED_EVENT) {
            /* ClientRunningMonitor.handleDataDeleted: the last owner claims at
             * once, anyone else after the delay (network blips). */
            bool mine = z->role == CANAL_ZK_ACTIVE || z->last_owner;
            if (z->role == CANAL_ZK_ACTIVE) drop_server(z);
            z->role = CANAL_ZK_PASSIVE;
            z->claim_after = mine ? r->at_ms : r->at_ms + z->reclaim_delay_ms;
        }
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------ client HA */

static int ensure_path(canal_zk *z, const char *path, int64_t deadline) {
    /* Create each ancestor and the node itself, persistent, empty. */
    char buf[512];
    size_t n = strlen(path);
    if (n >= sizeof buf) return ZBADARGUMENTS;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        reply r;
        int rc = zk_call(z, OP_CREATE, buf, NULL, -1, false, &r, deadline);
        buf[i] = saved;
        if (rc != ZOK && rc != ZNODEEXISTS) return rc;
    }
    return ZOK;
}

static bool is_mine(const canal_zk *z, const char *addr) { return strcmp(addr, z->my_addr) == 0; }

/* Made by our current session: ours whatever its data says. */
static bool own_session(const canal_zk *z, int64_t owner) {
    const clientid_t *id = z->zh ? zoo_client_id(z->zh) : NULL;
    return id && owner != 0 && owner == id->client_id;
}

/* Read {cid}/running (with a watch) and take the role it says. */
static int read_claim(canal_zk *z, int64_t deadline, bool *gone) {
    reply r;
    *gone = false;
    int rc = zk_call(z, OP_GET, z->p_client_running, NULL, -1, true, &r, deadline);
    if (rc == ZNONODE) {
        *gone = true;
        return CANAL_OK;
    }
    if (rc != ZOK) return zk_err(z, rc, "reading", z->p_client_running);
    run_data d;
    if (r.len < 0 || !parse_running(r.data, (size_t)r.len, &d) || !d.has_address) {
        /* Someone holds it with data we cannot read: stand by, as Java
         * would fail to parse it and not take over either. */
        snprintf(z->active_addr, sizeof z->active_addr, "(unreadable node data)");
        z->last_owner = false;
        become_passive(z);
        return CANAL_OK;
    }
    snprintf(z->active_addr, sizeof z->active_addr, "%s", d.address);
    bool ours = own_session(z, r.owner);
    z->last_owner = ours || is_mine(z, d.address);
    if (z->last_owner && !d.active) {
        /* An operator asked us to let go (handleDataChange, active=false). */
        drop_server(z);
        (void)zk_call(z, OP_DELETE, z->p_client_running, NULL, r.version, false, &r, deadline);
        z->role = CANAL_ZK_PASSIVE;
        z->last_owner = false;
        z->claim_after = now_ms() + z->reclaim_delay_ms;
        return CANAL_OK;
    }
    /* Java takes a node naming its own "ip:port" as its own. We go by the
     * session that made it: a node of an earlier session of ours names our
     * address but dies with that session, so we wait for that and then
     * claim at once (we were the last owner). */
    if (ours) {
        z->role = CANAL_ZK_ACTIVE;
    } else {
        become_passive(z);
        if (z->last_owner) z->claim_after = now_ms();
    }
    return CANAL_OK;
}

/* ClientRunningMonitor.initRunning: create the ephemeral node, else read it. */
static int claim(canal_zk *z, int64_t deadline) {
    char json[2 * ZK_ADDR_SIZE + 64];
    for (int round = 0; round < 3; round++) {
        /* Before a connection Java writes the bare host IP. */
        snprintf(z->my_addr, sizeof z->my_addr, "%s", z->my_ip);
        client_json(json, sizeof json, z->my_addr, z->client_id);
        reply r;
        int rc = zk_call(z, OP_CREATE_EPH, z->p_client_running, json, -1, false, &r, deadline);
        if (rc == ZOK) {
            z->role = CANAL_ZK_ACTIVE;
            z->last_owner = true;
            snprintf(z->active_addr, sizeof z->active_addr, "%s", z->my_addr);
            /* Watch our own node: its deletion, or a change by someone else,
             * must reach us. */
            rc = zk_call(z, OP_EXISTS, z->p_client_running, NULL, -1, true, &r, deadline);
            if (rc != ZOK && rc != ZNONODE) return zk_err(z, rc, "watching", z->p_client_running);
            if (rc == ZNONODE) z->ha_dirty = true;
            return CANAL_OK;
        }
        if (rc == ZNONODE) {
            rc = ensure_path(z, z->p_cid, deadline);
            if (rc != ZOK) return zk_err(z, rc, "creating", z->p_cid);
            continue;
        }
        if (rc != ZNODEEXISTS) return zk_err(z, rc, "creating", z->p_client_running);
        bool gone;
        int e = read_claim(z, deadline, &gone);
        if (e < 0 || !gone) return e;
        /* deleted between our create and our read: try once more at once */
    }
    return CANAL_OK;
}

/* After connecting: the node names "ip:port" of our connection (Java's
 * processActiveEnter), which is how a consumer recognises its own node. */
static int publish_connection(canal_zk *z, const char *local, int64_t deadline) {
    char json[2 * ZK_ADDR_SIZE + 64];
    snprintf(z->my_addr, sizeof z->my_addr, "%s", local);
    if (!z->client_ha) return CANAL_OK;
    client_json(json, sizeof json, z->my_addr, z->client_id);
    reply r;
    int rc = zk_call(z, OP_SET, z->p_client_running, json, -1, false, &r, deadline);
    if (rc == ZOK) {
        snprintf(z->active_addr, sizeof z->active_addr, "%s", z->my_addr);
        z->last_owner = true;
        return CANAL_OK;
    }
    if (rc == ZNONODE) {
        /* Gone meanwhile (deleted by hand, or our session expired). */
        drop_server(z);
        z->role = CANAL_ZK_PASSIVE;
        z->ha_dirty = true;
        z->claim_after = now_ms();
        return set_err(z, CANAL_ZK_EPASSIVE, "%s vanished while connecting; claiming again",
                       z->p_client_running);
    }
    drop_server(z);
    return zk_err(z, rc, "writing", z->p_client_running);
}

/* Delete our node if it is ours (ClientRunningMonitor.releaseRunning). */
static void release_claim(canal_zk *z, int64_t deadline) {
    if (!z->zh || !z->zk_up || z->role != CANAL_ZK_ACTIVE) return;
    reply r;
    int rc = zk_call(z, OP_GET, z->p_client_running, NULL, -1, false, &r, deadline);
    run_data d;
    if (rc == ZOK && r.len >= 0 && parse_running(r.data, (size_t)r.len, &d) && d.has_address &&
        is_mine(z, d.address))
        (void)zk_call(z, OP_DELETE, z->p_client_running, NULL, r.version, false, &r, deadline);
}

/* ------------------------------------------------------------ the server */

static void free_members(canal_zk *z) {
    for (size_t i = 0; i < z->n_members; i++) free(z->members[i]);
    free(z->members);
    z->members = NULL;
    z->n_members = 0;
}

static uint64_t next_rand(canal_zk *z) {
    /* xorshift64*: only to shuffle the members as Java does */
    z->rng ^= z->rng >> 12;
    z->rng ^= z->rng << 25;
    z->rng ^= z->rng >> 27;
    return z->rng * 2685821657736338717ULL;
}

/* Read {dest}/running and {dest}/cluster (with watches) when they changed.
 * A missing node is "no server yet": we watch for its creation. */
static int refresh_servers(canal_zk *z, int64_t deadline) {
    reply r;
    int rc;
    if (z->srv_dirty) {
        rc = zk_call(z, OP_GET, z->p_server_running, NULL, -1, true, &r, deadline);
        if (rc == ZNONODE) {
            z->running_addr[0] = '\0';
            rc = zk_call(z, OP_EXISTS, z->p_server_running, NULL, -1, true, &r, deadline);
            if (rc != ZOK && rc != ZNONODE) return zk_err(z, rc, "watching", z->p_server_running);
            /* ZOK: created meanwhile; its watch event makes us read it */
        } else if (rc != ZOK) {
            return zk_err(z, rc, "reading", z->p_server_running);
        } else {
            run_data d;
            char host[ZK_ADDR_SIZE];
            int port;
            z->running_addr[0] = '\0';
            if (r.len >= 0 && parse_running(r.data, (size_t)r.len, &d) && d.has_address &&
                split_addr(d.address, host, sizeof host, &port))
                snprintf(z->running_addr, sizeof z->running_addr, "%s", d.address);
        }
        z->srv_dirty = false;
    }
    if (z->cluster_dirty) {
        rc = zk_call(z, OP_CHILDREN, z->p_cluster, NULL, -1, true, &r, deadline);
        if (rc == ZNONODE) {
            free_members(z);
            rc = zk_call(z, OP_EXISTS, z->p_cluster, NULL, -1, true, &r, deadline);
            if (rc != ZOK && rc != ZNONODE) return zk_err(z, rc, "watching", z->p_cluster);
        } else if (rc != ZOK) {
            return zk_err(z, rc, "listing", z->p_cluster);
        } else if (r.len == -2) {
            return set_err(z, CANAL_ZK_EZK, "%s lists more than %d bytes of members", z->p_cluster,
                           ZK_MAX_PAYLOAD);
        } else {
            free_members(z);
            size_t count = 0;
            for (int i = 0; i < r.len; i++) count += r.data[i] == '\0';
            z->members = calloc(count ? count : 1, sizeof *z->members);
            if (!z->members) return set_err(z, CANAL_ENOMEM, "no memory for the cluster list");
            for (const char *p = r.data; p < r.data + r.len; p += strlen(p) + 1) {
                char host[ZK_ADDR_SIZE];
                int port;
                if (!split_addr(p, host, sizeof host, &port)) continue; /* skipped, as Java */
                char *m = dup_str(p);
                if (!m) return set_err(z, CANAL_ENOMEM, "no memory for the cluster list");
                z->members[z->n_members++] = m;
            }
            for (size_t i = z->n_members; i > 1; i--) {
                size_t k = (size_t)(next_rand(z) % i);
                char *t = z->members[i - 1];
                z->members[i - 1] = z->members[k];
                z->members[k] = t;
            }
        }
        z->cluster_dirty = false;
    }
    return CANAL_OK;
}

/* TCP connect to "host:port" within the bound; the local "ip:port" into local. */
static int dial(canal_zk *z, const char *addr, int64_t deadline, char *local, size_t lcap) {
    char host[ZK_ADDR_SIZE], ps[8];
    int port;
    if (!split_addr(addr, host, sizeof host, &port))
        return set_err(z, CANAL_EINVAL, "server address \"%s\" is not host:port", addr);
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g != 0) return set_err(z, CANAL_EIO, "cannot resolve %s: %s", host, gai_strerror(g));
    int64_t d = now_ms() + z->connect_timeout_ms;
    if (d > deadline) d = deadline;
    int code = CANAL_EIO;
    char why[160] = "no address";
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            snprintf(why, sizeof why, "socket: %s", strerror(errno));
            continue;
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            snprintf(why, sizeof why, "fcntl: %s", strerror(errno));
            close(fd);
            continue;
        }
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int pr;
            do {
                int64_t left = d - now_ms();
                pr = poll(&pfd, 1, left > 0 ? (int)left : 0);
            } while (pr < 0 && errno == EINTR);
            if (pr == 0) {
                close(fd);
                code = CANAL_ETIMEOUT;
                snprintf(why, sizeof why, "timed out");
                break;
            }
            int err = 0;
            socklen_t el = sizeof err;
            if (pr < 0) err = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
            r = err ? -1 : 0;
            errno = err;
        }
        if (r == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            char ip[INET6_ADDRSTRLEN], lp[8];
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
                getnameinfo((struct sockaddr *)&ss, sl, ip, sizeof ip, lp, sizeof lp,
                            NI_NUMERICHOST | NI_NUMERICSERV) == 0)
                snprintf(local, lcap, "%s:%s", ip, lp);
            else
                snprintf(local, lcap, "%s", z->my_ip);
            freeaddrinfo(res);
            return fd;
        }
        code = CANAL_EIO;
        snprintf(why, sizeof why, "%s", strerror(errno));
        close(fd);
    }
    freeaddrinfo(res);
    return set_err(z, code, "cannot connect to %s: %s", addr, why);
}

/* Canal's answer when a server is a member but does not run the destination
 * (another member holds its running node): look elsewhere. */
static bool not_running_here(canal_zk *z) {
    return canal_errcode(z->c) == CANAL_ESERVER && strstr(canal_errstr(z->c), "should start first");
}

/* Connect to one server: TCP, login (re-subscribing and rolling back, as
 * canal.h does on any reconnect), the first subscription if one is pending,
 * then the node names this connection. */
static int connect_to(canal_zk *z, const char *addr, int64_t deadline) {
    char local[ZK_ADDR_SIZE] = "";
    int fd = dial(z, addr, deadline, local, sizeof local);
    if (fd < 0) return fd;
    snprintf(z->server, sizeof z->server, "%s", addr);
    int rc = canal_connect_fd(z->c, fd);
    if (rc < 0) {
        if (not_running_here(z))
            rc = set_err(z, CANAL_ZK_ENOSERVER, "%s does not run %s (yet): %.300s", addr, z->destination,
                         canal_errstr(z->c));
        else
            rc = core_err(z, rc, "connect");
        z->server[0] = '\0';
        return rc;
    }
    if (z->want_sub && !z->core_subscribed) {
        rc = canal_subscribe(z->c, z->filter);
        if (rc < 0) {
            if (not_running_here(z))
                rc = set_err(z, CANAL_ZK_ENOSERVER, "%s does not run %s (yet): %.300s", addr,
                             z->destination, canal_errstr(z->c));
            else
                rc = core_err(z, rc, "subscribe");
            drop_server(z);
            return rc;
        }
        z->core_subscribed = true;
    }
    return publish_connection(z, local, deadline);
}

/* ------------------------------------------------------------ ready() */

/* Everything a call needs before it talks to the server: a ZooKeeper
 * session, the client id (when client_ha), a connection to the server that
 * runs the destination. Returns CANAL_OK, or the reason it could not within
 * the deadline. */
static int ready(canal_zk *z, int64_t deadline) {
    int rc;
    if (z->bad) return set_err(z, CANAL_EINVAL, "%s", z->bad);
    int last = CANAL_OK;
    for (;;) {
        reply unused;
        if (pump(z, 0, &unused, 0, false) < 0)
            return set_err(z, CANAL_ZK_EZK, "ZooKeeper event pipe failed: %s", strerror(errno));
        if (z->zk_expired) {
            /* A new session: our ephemeral node died with the old one. We
             * owned it last, so we claim again at once (as Java). */
            bool was_active = z->role == CANAL_ZK_ACTIVE;
            if (was_active) drop_server(z);
            close_zk(z);
            z->role = CANAL_ZK_IDLE;
            z->claim_after = was_active || z->last_owner ? 0 : now_ms() + z->reclaim_delay_ms;
        }
        if (!z->zh || (!z->zk_up && !z->zk_ever_up)) {
            if ((rc = open_zk(z, deadline)) < 0) return rc;
        }
        if (!z->zk_up) {
            /* ZooKeeper is away. An active consumer keeps its server only
             * while its session is surely alive on ZooKeeper's side. */
            bool keep = !z->client_ha || (z->role == CANAL_ZK_ACTIVE && !session_in_doubt(z));
            if (keep && canal_is_connected(z->c)) return CANAL_OK;
            if (z->role == CANAL_ZK_ACTIVE && !keep) {
                drop_server(z);
                z->role = CANAL_ZK_IDLE;
            }
            int got = pump(z, 0, &unused, deadline, true);
            if (got < 0) return set_err(z, CANAL_ZK_EZK, "ZooKeeper event pipe failed");
            if (got == 0 && now_ms() >= deadline)
                return set_err(z, CANAL_ZK_EZK, "ZooKeeper %s unreachable for %lld ms", z->zk_hosts,
                               (long long)(now_ms() - z->zk_down_since));
            continue;
        }
        /* 1. The client id. */
        if (z->client_ha && (z->role != CANAL_ZK_ACTIVE || z->ha_dirty)) {
            bool gone = false;
            z->ha_dirty = false;
            if (z->role == CANAL_ZK_ACTIVE) {
                if ((rc = read_claim(z, deadline, &gone)) < 0) return rc;
                if (gone) {
                    /* deleted under us: the last owner claims again at once */
                    become_passive(z);
                    z->claim_after = now_ms();
                }
            }
            if (z->role != CANAL_ZK_ACTIVE) {
                rc = now_ms() >= z->claim_after ? claim(z, deadline) : read_claim(z, deadline, &gone);
                if (rc < 0) return rc;
            }
        }
        if (!z->client_ha) z->role = CANAL_ZK_ACTIVE;
        if (z->role != CANAL_ZK_ACTIVE) {
            int64_t until = deadline;
            if (z->claim_after > now_ms() && z->claim_after < until) until = z->claim_after;
            int got = pump(z, 0, &unused, until, true);
            if (got < 0) return set_err(z, CANAL_ZK_EZK, "ZooKeeper event pipe failed");
            if (now_ms() >= deadline)
                return set_err(z, CANAL_ZK_EPASSIVE,
                               "passive: client id %d of destination %s is active at %s", z->client_id,
                               z->destination, z->active_addr);
            continue;
        }
        /* 2. The server. */
        if ((rc = refresh_servers(z, deadline)) < 0) return rc;
        if (canal_is_connected(z->c)) {
            /* Follow the running node when it names another server. */
            if (!z->running_addr[0] || strcmp(z->running_addr, z->server) == 0) return CANAL_OK;
            drop_server(z);
        }
        /* nextNode(): the running server, else the (shuffled) members; we
         * try them all in turn, so a stale running node (a dead server's,
         * until its session expires) does not hold us (canal#77). */
        size_t n = (z->running_addr[0] ? 1 : 0) + z->n_members;
        if (n == 0) {
            last = set_err(z, CANAL_ZK_ENOSERVER,
                           "no Canal server for destination %s yet: %s is %s and %s has no member",
                           z->destination, z->p_server_running, "missing", z->p_cluster);
        }
        for (size_t i = 0; i < n && now_ms() < deadline; i++) {
            const char *addr = z->running_addr[0] ? (i == 0 ? z->running_addr : z->members[i - 1])
                                                  : z->members[i];
            if (i > 0 && z->running_addr[0] && strcmp(addr, z->running_addr) == 0) continue;
            rc = connect_to(z, addr, deadline);
            if (rc == CANAL_OK) return CANAL_OK;
            if (rc == CANAL_ZK_EPASSIVE) break; /* our node went meanwhile: claim again */
            if (rc == CANAL_ZK_EZK || rc == CANAL_ENOMEM) return rc;
            if (rc == CANAL_EAUTH || rc == CANAL_EINVAL) return rc; /* the same everywhere */
            last = rc;
            if (z->srv_dirty || z->cluster_dirty || z->ha_dirty) break; /* news: start over */
        }
        if (now_ms() >= deadline) {
            if (last == CANAL_OK)
                last = set_err(z, CANAL_ZK_ENOSERVER, "no Canal server reached for %s within %d ms",
                               z->destination, z->wait_ms);
            else if (last != CANAL_ZK_ENOSERVER) {
                char why[ZK_ERRSTR_SIZE];
                snprintf(why, sizeof why, "%s", z->errstr);
                set_err(z, last, "no Canal server for %s within %d ms; last: %.400s", z->destination,
                        z->wait_ms, why);
            }
            return last;
        }
        if (!(z->srv_dirty || z->cluster_dirty || z->ha_dirty)) {
            /* Wait for news from ZooKeeper or the retry interval. */
            int64_t until = now_ms() + z->retry_interval_ms;
            if (until > deadline) until = deadline;
            if (pump(z, 0, &unused, until, true) < 0)
                return set_err(z, CANAL_ZK_EZK, "ZooKeeper event pipe failed");
            if (now_ms() >= deadline) {
                if (last == CANAL_OK || last == CANAL_ZK_ENOSERVER) return CANAL_ZK_ENOSERVER;
                return last;
            }
            /* a server may have died without its node going: re-read */
            z->srv_dirty = z->cluster_dirty = true;
        }
    }
}

/* ------------------------------------------------------------ public API */

void canal_zk_options_init(canal_zk_options *zo) {
    memset(zo, 0, sizeof *zo);
    zo->session_timeout_ms = 90000; /* Canal's ZooKeeperx default */
    zo->wait_ms = 5000;
    zo->retry_interval_ms = 1000;
    zo->client_ha = true;
    zo->reclaim_delay_ms = 5000;
}

static bool check_dest(const char *s) {
    /* a path segment: no '/', not "." or "..", printable */
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return false;
    for (; *s; s++)
        if (*s == '/' || (unsigned char)*s < 0x20) return false;
    return true;
}

canal_zk *canal_zk_new(const canal_options *o, const canal_zk_options *zo) {
    canal_options dflt;
    canal_zk_options zdflt;
    if (!o) canal_options_init(&dflt), o = &dflt;
    if (!zo) canal_zk_options_init(&zdflt), zo = &zdflt;
    canal_zk *z = calloc(1, sizeof *z);
    if (!z) return NULL;
    z->rfd = z->wfd = -1;
    z->c = canal_client_new(o);
    int fds[2] = {-1, -1};
    if (!z->c || pipe(fds) < 0) goto oom;
    z->rfd = fds[0], z->wfd = fds[1];
    (void)fcntl(z->rfd, F_SETFD, FD_CLOEXEC);
    (void)fcntl(z->wfd, F_SETFD, FD_CLOEXEC);
    /* libzookeeper's thread must never block on us */
    (void)fcntl(z->wfd, F_SETFL, fcntl(z->wfd, F_GETFL) | O_NONBLOCK);
    z->client_id = o->client_id;
    z->connect_timeout_ms = o->connect_timeout_ms;
    z->session_timeout_ms = zo->session_timeout_ms;
    z->zk_session_ms = zo->session_timeout_ms;
    z->wait_ms = zo->wait_ms;
    z->retry_interval_ms = zo->retry_interval_ms;
    z->reclaim_delay_ms = zo->reclaim_delay_ms;
    z->client_ha = zo->client_ha;
    z->rng = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)z;
    if (!z->rng) z->rng = 1;
    const char *dest = o->destination ? o->destination : "";
    if (!(z->zk_hosts = dup_str(zo->zk_hosts ? zo->zk_hosts : "")) || !(z->destination = dup_str(dest)) ||
        !(z->filter = dup_str(o->filter ? o->filter : "")))
        goto oom;
    if (zo->client_address && !(z->client_address = dup_str(zo->client_address))) goto oom;
    if (!(z->p_server_running = fmt_str("%s/%s/running", ZK_ROOT, dest)) ||
        !(z->p_cluster = fmt_str("%s/%s/cluster", ZK_ROOT, dest)) ||
        !(z->p_cid = fmt_str("%s/%s/%d", ZK_ROOT, dest, o->client_id)) ||
        !(z->p_client_running = fmt_str("%s/%s/%d/running", ZK_ROOT, dest, o->client_id)))
        goto oom;
    const char *bad = NULL;
    if (!zo->zk_hosts || !*zo->zk_hosts) bad = "zk_hosts is empty";
    else if (!check_dest(dest)) bad = "destination is not a ZooKeeper path segment";
    else if (zo->session_timeout_ms <= 0) bad = "session_timeout_ms must be > 0";
    else if (zo->wait_ms <= 0) bad = "wait_ms must be > 0";
    else if (zo->retry_interval_ms <= 0) bad = "retry_interval_ms must be > 0";
    else if (zo->reclaim_delay_ms < 0) bad = "reclaim_delay_ms must be >= 0";
    else if (zo->client_address && (!*zo->client_address || strlen(zo->client_address) >= ZK_ADDR_SIZE))
        bad = "client_address is empty or too long";
    else if (canal_errcode(z->c) != CANAL_OK) bad = canal_errstr(z->c);
    if (bad && !(z->bad = fmt_str("invalid option: %s", bad))) goto oom;
    if (bad) set_err(z, CANAL_EINVAL, "%s", z->bad);
    guess_local_ip(z);
    return z;
oom:
    canal_zk_free(z);
    return NULL;
}

void canal_zk_disconnect(canal_zk *z) {
    if (!z) return;
    drop_server(z);
    /* A clean exit hands the client id over at once. */
    release_claim(z, now_ms() + z->connect_timeout_ms);
    close_zk(z);
    z->role = CANAL_ZK_IDLE;
    z->last_owner = false;
    z->zk_ever_up = false;
    z->claim_after = 0;
    z->running_addr[0] = '\0';
    free_members(z);
}

void canal_zk_free(canal_zk *z) {
    if (!z) return;
    if (z->c) canal_zk_disconnect(z);
    canal_client_free(z->c);
    if (z->rfd >= 0) close(z->rfd);
    if (z->wfd >= 0) close(z->wfd);
    free(z->zk_hosts);
    free(z->destination);
    free(z->client_address);
    free(z->filter);
    free(z->bad);
    free(z->p_server_running);
    free(z->p_cluster);
    free(z->p_cid);
    free(z->p_client_running);
    free_members(z);
    free(z);
}

canal_client *canal_zk_client(canal_zk *z) { return z ? z->c : NULL; }

int canal_zk_connect(canal_zk *z) {
    if (!z) return CANAL_EINVAL;
    clear_err(z);
    return ready(z, now_ms() + z->wait_ms);
}

/* An error that means "this server, or the way to it, failed": another try
 * (elsewhere) may succeed. A refusal that answers the request is not. */
static bool failover_error(canal_zk *z, int rc) {
    if (rc == CANAL_ESERVER) return not_running_here(z) || !canal_is_connected(z->c);
    return rc == CANAL_EIO || rc == CANAL_ETIMEOUT || rc == CANAL_EPROTO;
}

int canal_zk_subscribe(canal_zk *z, const char *filter) {
    if (!z) return CANAL_EINVAL;
    clear_err(z);
    if (filter) {
        char *copy = dup_str(filter);
        if (!copy) return set_err(z, CANAL_ENOMEM, "no memory to keep the filter");
        free(z->filter);
        z->filter = copy;
    }
    z->want_sub = true;
    /* A connection made by this call subscribes with the new filter itself
     * (connect_to); one already open gets it below. */
    z->core_subscribed = false;
    int64_t deadline = now_ms() + z->wait_ms;
    for (;;) {
        int rc = ready(z, deadline);
        if (rc < 0) return rc;
        if (z->core_subscribed) return CANAL_OK;
        rc = canal_subscribe(z->c, z->filter);
        if (rc == CANAL_OK) {
            z->core_subscribed = true;
            return CANAL_OK;
        }
        rc = core_err(z, rc, "subscribe");
        if (!failover_error(z, rc) || now_ms() >= deadline) return rc;
        drop_server(z);
        z->srv_dirty = z->cluster_dirty = true;
    }
}

int canal_zk_unsubscribe(canal_zk *z) {
    if (!z) return CANAL_EINVAL;
    clear_err(z);
    int64_t deadline = now_ms() + z->wait_ms;
    for (;;) {
        int rc = ready(z, deadline);
        if (rc < 0) return rc;
        rc = canal_unsubscribe(z->c);
        if (rc == CANAL_OK) {
            z->want_sub = false;
            z->core_subscribed = false;
            return CANAL_OK;
        }
        rc = core_err(z, rc, "unsubscribe");
        if (!failover_error(z, rc) || now_ms() >= deadline) return rc;
        drop_server(z);
        z->srv_dirty = z->cluster_dirty = true;
    }
}

int canal_zk_get(canal_zk *z, int batch_size, int timeout_ms, const canal_message **out) {
    if (!z) return CANAL_EINVAL;
    if (out) *out = NULL;
    clear_err(z);
    int64_t deadline = now_ms() + z->wait_ms;
    for (;;) {
        int rc = ready(z, deadline);
        if (rc < 0) return rc;
        rc = canal_get(z->c, batch_size, timeout_ms, out);
        if (rc == CANAL_OK) return CANAL_OK;
        rc = core_err(z, rc, "get");
        if (!failover_error(z, rc) || now_ms() >= deadline) return rc;
        /* The server went away or no longer runs the destination: look
         * again; the next connect rolls back, so nothing unacked is lost. */
        drop_server(z);
        z->srv_dirty = z->cluster_dirty = true;
    }
}

/* ack and rollback send without waiting for a reply (canal.h): no failover
 * here; a refusal or a dead connection shows in the next get. */
static int send_only(canal_zk *z, int64_t batch_id, bool ack) {
    if (!z) return CANAL_EINVAL;
    clear_err(z);
    if (z->bad) return set_err(z, CANAL_EINVAL, "%s", z->bad);
    reply unused;
    if (z->zh && pump(z, 0, &unused, 0, false) < 0)
        return set_err(z, CANAL_ZK_EZK, "ZooKeeper event pipe failed");
    /* Only while we surely hold the client id: after our session may have
     * expired, another consumer may hold it and the server's batch ids. */
    if (z->client_ha && z->role == CANAL_ZK_ACTIVE && session_in_doubt(z)) {
        drop_server(z);
        z->role = CANAL_ZK_IDLE;
    }
    if (z->client_ha && z->role != CANAL_ZK_ACTIVE)
        return set_err(z, CANAL_ZK_EPASSIVE,
                       "passive: batch %lld is not %s here; the active consumer gets it again",
                       (long long)batch_id, ack ? "acked" : "rolled back");
    int rc = ack ? canal_ack(z->c, batch_id) : canal_rollback(z->c, batch_id);
    return rc < 0 ? core_err(z, rc, ack ? "ack" : "rollback") : CANAL_OK;
}

int canal_zk_ack(canal_zk *z, int64_t batch_id) { return send_only(z, batch_id, true); }
int canal_zk_rollback(canal_zk *z, int64_t batch_id) { return send_only(z, batch_id, false); }

int canal_zk_errcode(const canal_zk *z) { return z ? z->err : CANAL_EINVAL; }
const char *canal_zk_errstr(const canal_zk *z) { return z ? z->errstr : "no client"; }
int canal_zk_role(const canal_zk *z) { return z ? z->role : CANAL_ZK_IDLE; }
const char *canal_zk_server(const canal_zk *z) { return z && canal_is_connected(z->c) ? z->server : ""; }
