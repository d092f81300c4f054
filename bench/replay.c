/*
 * replay.c - a fast Canal server that replays recorded GET replies.
 *
 * The end-to-end benchmark needs a server that is never the bottleneck: the
 * Python test server spends far more time per batch than canal-c does. This
 * one loads a file of ready-made MESSAGES frames (mmap, prefaulted) and
 * answers each GET with the next frame, sent as is in one write, so the hot
 * path does no per-byte work at all: the kernel copies the bytes from the
 * page cache into the socket and that is the whole cost.
 *
 *     replay --port 0 --port-file F --stream frames.bin [--user U --password P] [--once]
 *            [--rtt-ms MS]
 *
 * --stream FILE is a sequence of frames, each a 4-byte big-endian length and
 * a Packet{type=MESSAGES, body=Messages{batch_id, entries...}}, i.e. exactly
 * the bytes Canal sends for a non-empty GET reply (PROTOCOL.md §1, §5.4).
 * Their batch ids are expected to be 1, 2, 3, ...; a frame whose stored id is
 * not the id the session must hand out next (after a rollback, or on the
 * second pass of --repeat) is renumbered on the fly with a gathered write.
 *
 * Protocol (PROTOCOL.md §4, §5), as Canal's server behaves on the happy path:
 *   - on accept: Packet{version=1, type=HANDSHAKE, body=Handshake{8-byte seed}};
 *   - the next frame, whatever its type, is a ClientAuth; with --user and/or
 *     --password the scramble411 token is checked (§4.2, §4.3): a refusal is
 *     the error Ack 400 "auth failed for user:<u>" and the connection stays in
 *     the auth phase; a token that is not hex or shorter than 20 bytes closes
 *     the connection without a reply, as Canal's exception does;
 *   - SUBSCRIPTION / UNSUBSCRIPTION: success Ack;
 *   - GET: the next frame of the stream, or the empty batch (id -1) once the
 *     stream is exhausted; batch ids start at 1, grow by one per non-empty
 *     batch and are never reused; several GETs may be outstanding;
 *   - CLIENTACK: no reply; the id must be the oldest outstanding batch, else
 *     Canal's error Ack 400 ("... is not exist , please check" /
 *     "batchId:X is not the firstly:Y"); 402 for id 0; -1 is ignored;
 *   - CLIENTROLLBACK: no reply; rewinds to the first unacked frame, so every
 *     unacked batch comes again under new ids (ignored before subscribe);
 *   - other packet types: 400 "packet type: NAME is NOT supported!".
 *
 * --rtt-ms MS simulates a link with that round trip: each request is handled
 * when it arrives (in order, as Canal does) but its reply leaves MS ms later,
 * queued, while later requests keep being read. Only latency is simulated,
 * not bandwidth or TCP's window. 0 (the default) sends at once.
 *
 * Simplifications (fine for a benchmark, documented so nobody is surprised):
 *   - GET ignores fetch_size (the batches are in the file) and never waits:
 *     an exhausted stream answers the empty batch at once, whatever the GET's
 *     timeout;
 *   - one connection at a time (single-threaded, blocking); every connection
 *     starts a fresh session: stream from the start, batch ids from 1 (as if
 *     the instance had restarted), so a benchmark can be re-run against the
 *     same server;
 *   - any destination is "running"; one identity per connection (the one that
 *     subscribed); UNSUBSCRIPTION only drops the subscription (position and
 *     outstanding batches stay); no idle watchdog; 400/401 texts carry
 *     Canal's first line only (no Java stack trace, no full protobuf text).
 *
 * Only POSIX sockets and a hand-written protobuf reader/writer for the few
 * fields involved: no protobuf library, no canal-c.
 */
#define _DEFAULT_SOURCE /* MAP_POPULATE, and with it POSIX.1-2008 under -std=c99 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* PacketType numbers (§2). */
enum {
    HANDSHAKE = 1,
    CLIENTAUTHENTICATION = 2,
    ACK = 3,
    SUBSCRIPTION = 4,
    UNSUBSCRIPTION = 5,
    GET = 6,
    MESSAGES = 7,
    CLIENTACK = 8,
    CLIENTROLLBACK = 12
};

static const char *const packet_type_names[] = {
    "PACKAGETYPECOMPATIBLEPROTO2", "HANDSHAKE", "CLIENTAUTHENTICATION", "ACK", "SUBSCRIPTION",
    "UNSUBSCRIPTION", "GET", "MESSAGES", "CLIENTACK", "SHUTDOWN", "DUMP", "HEARTBEAT",
    "CLIENTROLLBACK"};

/* A request frame larger than this closes the connection. Canal has no limit
 * of its own; real requests are well under a kilobyte (a long filter regex is
 * the only thing that grows), so this only stops a broken client from making
 * us buffer without end. */
#define MAX_REQUEST (16u << 20)

/* Canal's empty GET reply (§2 table), byte for byte. */
static const uint8_t EMPTY_BATCH[] = {0x00, 0x00, 0x00, 0x11, 0x10, 0x01, 0x18, 0x07, 0x2a, 0x0b, 0x08,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
/* Canal's success Ack: version 1, type ACK, no body. */
static const uint8_t SUCCESS_ACK[] = {0x00, 0x00, 0x00, 0x04, 0x10, 0x01, 0x18, 0x03};

/* Let the compiler check our printf-style calls (and not warn that the
 * format inside them is not a literal). */
#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#endif

static void die(const char *fmt, ...) PRINTF_LIKE(1, 2) NORETURN;
static void note(const char *fmt, ...) PRINTF_LIKE(1, 2);
typedef struct session session;
static bool send_error(session *ss, int code, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void vnote(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);
static void vnote(const char *fmt, va_list ap) {
    fputs("replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
    exit(1);
}

static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ SHA-1 */

/* Only used for the one auth check per connection: short beats fast. */
typedef struct sha1 {
    uint32_t h[5];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} sha1;

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }

static void sha1_block(sha1 *s, const uint8_t *p) {
    uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void sha1_init(sha1 *s) {
    static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(s->h, iv, sizeof iv);
    s->len = 0, s->nbuf = 0;
}

static void sha1_update(sha1 *s, const void *data, size_t n) {
    const uint8_t *p = data;
    s->len += n;
    while (n > 0) {
        size_t k = 64 - s->nbuf < n ? 64 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, k);
        s->nbuf += k, p += k, n -= k;
        if (s->nbuf == 64) sha1_block(s, s->buf), s->nbuf = 0;
    }
}

static void sha1_final(sha1 *s, uint8_t out[20]) {
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80, zero = 0, lenb[8];
    sha1_update(s, &pad, 1);
    while (s->nbuf != 56) sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_update(s, lenb, 8);
    for (int i = 0; i < 20; i++) out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static void sha1_of(const void *a, size_t na, const void *b, size_t nb, uint8_t out[20]) {
    sha1 s;
    sha1_init(&s);
    sha1_update(&s, a, na);
    sha1_update(&s, b, nb);
    sha1_final(&s, out);
}

/* Canal's hex decoder (§4.3): either case, an odd length reads as if it had a
 * leading '0'. Returns the byte count, or -1 on a non-hex character (where
 * Canal throws). */
static int hex_nibble(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static long hex_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t nout = (n + 1) / 2, j = 0;
    if (nout > cap) return -1;
    size_t i = 0;
    if (n % 2) { /* the implied leading '0' */
        int lo = hex_nibble(in[0]);
        if (lo < 0) return -1;
        out[j++] = (uint8_t)lo;
        i = 1;
    }
    for (; i < n; i += 2) {
        int hi = hex_nibble(in[i]), lo = hex_nibble(in[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[j++] = (uint8_t)(hi << 4 | lo);
    }
    return (long)j;
}

/* ------------------------------------------------------------------ protobuf */

/* A read cursor over one message. Requests are tiny and parsed once each, so
 * a plain field walker is all that is needed. */
typedef struct pb_in {
    const uint8_t *p, *end;
} pb_in;

static bool pb_varint(pb_in *in, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (in->p >= in->end) return false;
        uint8_t b = *in->p++;
        if (shift == 63 && b > 1) return false; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* One field: its number and wire type, and its value as a varint or a
 * (pointer, length) view. Fixed 32/64-bit fields are skipped over (none of
 * the fields we read has them). Groups (3, 4) are refused, as proto3 does. */
typedef struct pb_field {
    uint32_t num;
    int wt;
    uint64_t v;
    const uint8_t *ptr;
    size_t len;
} pb_field;

static bool pb_next(pb_in *in, pb_field *f) {
    uint64_t key;
    if (!pb_varint(in, &key) || key >> 3 == 0 || key >> 3 > 0x1fffffff) return false;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    switch (f->wt) {
    case 0:
        return pb_varint(in, &f->v);
    case 1:
    case 5: {
        size_t n = f->wt == 1 ? 8 : 4;
        if ((size_t)(in->end - in->p) < n) return false;
        in->p += n;
        return true;
    }
    case 2:
        if (!pb_varint(in, &f->v) || f->v > (uint64_t)(in->end - in->p)) return false;
        f->ptr = in->p, f->len = (size_t)f->v;
        in->p += f->len;
        return true;
    default:
        return false;
    }
}

static size_t put_varint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) out[n++] = (uint8_t)(v | 0x80), v >>= 7;
    out[n++] = (uint8_t)v;
    return n;
}

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

static void put_be32(uint8_t *out, uint32_t v) {
    out[0] = (uint8_t)(v >> 24), out[1] = (uint8_t)(v >> 16), out[2] = (uint8_t)(v >> 8),
    out[3] = (uint8_t)v;
}

/* ------------------------------------------------------------------ stream */

/* One recorded GET reply, located once at load time so that serving it is a
 * pointer and a length. The body is split around its batch_id field so it can
 * be renumbered without touching the entries. */
typedef struct frame {
    const uint8_t *p;      /* the whole frame: length prefix + Packet */
    size_t len;
    int64_t batch_id;      /* as stored */
    const uint8_t *body;   /* Packet.body = Messages */
    size_t body_len;
    size_t id_off, id_len; /* the batch_id field (key + varint) inside body */
    size_t n_entries;
} frame;

typedef struct stream {
    uint8_t *map;
    size_t map_len;
    frame *f;
    size_t n;
    size_t entries, bytes;
} stream;

/* mmap the file and index its frames, checking each is a MESSAGES packet
 * with a positive batch id and at least one entry; anything else is a broken
 * generator and is reported with its offset. */
static void load_stream(const char *path, stream *s) {
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) die("%s: %s", path, strerror(errno));
    s->map_len = (size_t)st.st_size;
    if (s->map_len > 0) {
        int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
        flags |= MAP_POPULATE; /* fault it all in now, not while a benchmark runs */
#endif
        void *m = mmap(NULL, s->map_len, PROT_READ, flags, fd, 0);
        if (m == MAP_FAILED) die("%s: mmap: %s", path, strerror(errno));
        s->map = m;
    }
    close(fd);

    size_t cap = 0, pos = 0;
    while (pos < s->map_len) {
        if (s->map_len - pos < 4) die("%s: %zu stray bytes at the end", path, s->map_len - pos);
        const uint8_t *h = s->map + pos;
        uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        if (n >= 0x80000000u || n > s->map_len - pos - 4)
            die("%s: frame at offset %zu: length %u runs past the end of the file", path, pos, n);
        if (s->n == cap) {
            cap = cap ? cap * 2 : 1024;
            s->f = realloc(s->f, cap * sizeof *s->f);
            if (!s->f) die("out of memory");
        }
        frame *fr = &s->f[s->n];
        memset(fr, 0, sizeof *fr);
        fr->p = h;
        fr->len = 4 + (size_t)n;

        pb_in in = {h + 4, h + 4 + n};
        pb_field f;
        uint64_t type = 0;
        bool has_body = false, has_id = false;
        while (in.p < in.end) {
            if (!pb_next(&in, &f)) die("%s: frame at offset %zu: malformed Packet", path, pos);
            if (f.num == 3 && f.wt == 0) type = f.v;
            if (f.num == 5 && f.wt == 2) fr->body = f.ptr, fr->body_len = f.len, has_body = true;
        }
        if (type != MESSAGES)
            die("%s: frame at offset %zu: Packet type %" PRIu64 ", want MESSAGES (7)", path, pos, type);
        if (has_body) {
            pb_in b = {fr->body, fr->body + fr->body_len};
            while (b.p < b.end) {
                const uint8_t *at = b.p;
                if (!pb_next(&b, &f)) die("%s: frame at offset %zu: malformed Messages", path, pos);
                if (f.num == 1 && f.wt == 0) { /* the last one wins, as in protobuf */
                    fr->batch_id = (int64_t)f.v;
                    fr->id_off = (size_t)(at - fr->body);
                    fr->id_len = (size_t)(b.p - at);
                    has_id = true;
                }
                if (f.num == 2 && f.wt == 2) fr->n_entries++;
            }
        }
        if (!has_id || fr->batch_id <= 0 || fr->n_entries == 0)
            die("%s: frame at offset %zu: batch id %" PRId64 " with %zu entries; the stream must "
                "hold non-empty batches only",
                path, pos, has_id ? fr->batch_id : 0, fr->n_entries);
        s->entries += fr->n_entries;
        s->bytes += fr->len;
        s->n++;
        pos += fr->len;
    }
}

/* ------------------------------------------------------------------ session state */

typedef struct outstanding {
    int64_t id;
    size_t pos; /* stream position the batch was served from */
} outstanding;

struct session {
    int fd;
    const stream *s;
    size_t total;          /* stream length in frames, times --repeat */
    uint8_t seed[8];
    bool authed, subscribed;
    char dest[256];        /* the identity that subscribed */
    long cid;
    size_t read;           /* next stream position to serve */
    size_t acked;          /* first position not acked */
    int64_t next_id;       /* the next batch id to hand out */
    outstanding *out;      /* a queue: out[head..n) */
    size_t head, n, cap;
    /* receive buffer: requests are parsed in place */
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint64_t gets, acks;
    /* --rtt-ms: replies wait here until their time, in request order */
    int64_t rtt_ns;
    struct delayed *q;     /* a queue: q[qhead..qn) */
    size_t qhead, qn, qcap;
};

/* A reply held back by the simulated round trip. Pieces inside the stream's
 * mapping are referenced (it outlives every session); the rest (headers,
 * Acks, renumbered ids) is copied into small[]. */
#define DELAYED_SMALL 1200
typedef struct delayed {
    int64_t due_ns;
    struct {
        const uint8_t *p; /* NULL: small + off */
        size_t off, len;
    } pc[4];
    int n;
    size_t done; /* bytes of it written so far */
    size_t small_len;
    uint8_t small[DELAYED_SMALL];
} delayed;

typedef struct config {
    int port;
    const char *port_file;
    const char *stream_path;
    const char *user;
    bool has_passwd;
    uint8_t passwd_stage2[20]; /* canal.passwd: SHA1(SHA1(password)) */
    bool once;
    unsigned long repeat;
    bool verbose;
    int64_t rtt_ns; /* --rtt-ms */
} config;

/* ------------------------------------------------------------------ I/O */

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Write all of iov[0..n) with as few syscalls as the kernel allows: one, when
 * the socket buffer has room. MSG_NOSIGNAL: a client that hangs up must not
 * kill the server with SIGPIPE. */
static bool write_iov(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) left -= iov->iov_len, iov++, n--;
        if (n > 0) iov->iov_base = (uint8_t *)iov->iov_base + left, iov->iov_len -= left;
    }
    return true;
}

/* Send a reply now, or (--rtt-ms) queue it to leave one round trip after
 * the request came in: requests are handled on arrival, in order, and only
 * their answers are late, which is what a client on a link with that round
 * trip sees. Bandwidth is not limited. */
static bool send_iov(session *ss, struct iovec *iov, int n) {
    if (ss->rtt_ns == 0) return write_iov(ss->fd, iov, n);
    if (ss->qhead > 0 && ss->qhead == ss->qn) ss->qhead = ss->qn = 0;
    if (ss->qn == ss->qcap) {
        if (ss->qhead > 0) {
            memmove(ss->q, ss->q + ss->qhead, (ss->qn - ss->qhead) * sizeof *ss->q);
            ss->qn -= ss->qhead, ss->qhead = 0;
        }
        if (ss->qn == ss->qcap) {
            ss->qcap = ss->qcap ? ss->qcap * 2 : 16;
            delayed *q = realloc(ss->q, ss->qcap * sizeof *q);
            if (!q) die("out of memory");
            ss->q = q;
        }
    }
    delayed *d = &ss->q[ss->qn++];
    const uint8_t *map = ss->s->map, *map_end = map ? map + ss->s->map_len : NULL;
    d->due_ns = mono_ns() + ss->rtt_ns;
    d->n = n;
    d->done = 0;
    d->small_len = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t len = iov[i].iov_len;
        d->pc[i].len = len;
        if (map && p >= map && p + len <= map_end) {
            d->pc[i].p = p;
            continue;
        }
        if (len > DELAYED_SMALL - d->small_len) die("reply piece of %zu bytes too large to delay", len);
        d->pc[i].p = NULL;
        d->pc[i].off = d->small_len;
        memcpy(d->small + d->small_len, p, len);
        d->small_len += len;
    }
    return true;
}

/* Send what is due of the queued replies without blocking, so that
 * requests keep being read (and their replies timed) while the client is
 * slow to read. 1: nothing due is left, 0: the socket is full, -1: a write
 * failed. */
static int flush_due(session *ss) {
    while (ss->qhead < ss->qn && ss->q[ss->qhead].due_ns <= mono_ns()) {
        delayed *d = &ss->q[ss->qhead];
        struct iovec iov[4];
        int n = 0;
        size_t skip = d->done;
        for (int i = 0; i < d->n; i++) {
            const uint8_t *p = d->pc[i].p ? d->pc[i].p : d->small + d->pc[i].off;
            size_t len = d->pc[i].len;
            if (skip >= len) {
                skip -= len;
                continue;
            }
            iov[n].iov_base = (void *)(uintptr_t)(p + skip);
            iov[n].iov_len = len - skip;
            skip = 0;
            n++;
        }
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(ss->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        d->done += (size_t)w;
        size_t total = 0;
        for (int i = 0; i < d->n; i++) total += d->pc[i].len;
        if (d->done == total) ss->qhead++;
    }
    return 1;
}

/* How long until the next queued reply is due; false when none is queued. */
static bool due_in(const session *ss, struct timespec *ts) {
    if (ss->qhead == ss->qn) return false;
    int64_t left = ss->q[ss->qhead].due_ns - mono_ns();
    if (left < 0) left = 0;
    ts->tv_sec = (time_t)(left / 1000000000), ts->tv_nsec = (long)(left % 1000000000);
    return true;
}

static bool send_buf(session *ss, const void *p, size_t len) {
    struct iovec v = {(void *)(uintptr_t)p, len};
    return send_iov(ss, &v, 1);
}

/* An error Ack: Packet{version=1, type=ACK, body=Ack{error_code, error_message}}. */
static bool send_error(session *ss, int code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mlen = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;

    uint8_t buf[1100], *p = buf + 4;
    size_t ack_len = 1 + varint_len((uint64_t)code) + 1 + varint_len(mlen) + mlen;
    *p++ = 0x10, *p++ = 1;    /* version = 1 */
    *p++ = 0x18, *p++ = ACK;  /* type */
    *p++ = 0x2a;              /* body */
    p += put_varint(p, ack_len);
    *p++ = 0x08;              /* error_code */
    p += put_varint(p, (uint64_t)code);
    *p++ = 0x12;              /* error_message */
    p += put_varint(p, mlen);
    memcpy(p, msg, mlen);
    p += mlen;
    put_be32(buf, (uint32_t)(p - buf - 4));
    return send_buf(ss, buf, (size_t)(p - buf));
}

/* ------------------------------------------------------------------ session */


/* Java's Short.parseShort for ASCII input (§5.1): optional sign, digits,
 * -32768..32767. Returns false where Java throws NumberFormatException. */
static bool parse_short(const uint8_t *p, size_t n, long *out) {
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) neg = p[0] == '-', i = 1;
    if (i == n) return false;
    long v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (p[i] - '0');
        if (v > 32768) return false;
    }
    v = neg ? -v : v;
    if (v > 32767) return false;
    *out = v;
    return true;
}

/* The fields every command carries: destination (1) and client_id (2), plus
 * batch_id (3) for ack and rollback. Returns false on a body that does not
 * parse (Canal: InvalidProtocolBufferException -> 400). */
typedef struct ident {
    const uint8_t *dest, *cid;
    size_t dest_len, cid_len;
    int64_t batch_id;
} ident;

static bool parse_ident(const uint8_t *p, size_t n, bool has_batch_id, ident *id) {
    memset(id, 0, sizeof *id);
    pb_in in = {p, p + n};
    pb_field f;
    while (in.p < in.end) {
        if (!pb_next(&in, &f)) return false;
        if (f.num == 1 && f.wt == 2) id->dest = f.ptr, id->dest_len = f.len;
        if (f.num == 2 && f.wt == 2) id->cid = f.ptr, id->cid_len = f.len;
        if (has_batch_id && f.num == 3 && f.wt == 0) id->batch_id = (int64_t)f.v;
    }
    return true;
}

/* Canal's identity checks shared by the commands (§5.1). Returns true when
 * the request may go on; otherwise the error Ack has been sent (or sending
 * it failed, which *ok reports). */
static bool check_ident(session *ss, const ident *id, const char *label, bool need_sub, long *cid,
                        bool *ok) {
    *ok = true;
    if (id->dest_len == 0 || id->cid_len == 0) {
        *ok = send_error(ss, 401, "destination or clientId is null. %s: destination: \"%.*s\" "
                         "client_id: \"%.*s\"",
                         label, (int)id->dest_len, (const char *)id->dest, (int)id->cid_len,
                         (const char *)id->cid);
        return false;
    }
    if (!parse_short(id->cid, id->cid_len, cid)) {
        *ok = send_error(ss, 400, "something goes wrong with channel: replay, exception: "
                         "java.lang.NumberFormatException: For input string: \"%.*s\"",
                         (int)id->cid_len, (const char *)id->cid);
        return false;
    }
    if (need_sub && (!ss->subscribed || *cid != ss->cid || id->dest_len != strlen(ss->dest) ||
                     memcmp(id->dest, ss->dest, id->dest_len) != 0)) {
        *ok = send_error(ss, 400, "something goes wrong with channel: replay, exception: "
                         "com.alibaba.otter.canal.server.exception.CanalServerException: "
                         "ClientIdentity:ClientIdentity[destination=%.*s,clientId=%ld,filter=] "
                         "should subscribe first",
                         (int)id->dest_len, (const char *)id->dest, *cid);
        return false;
    }
    return true;
}

static bool push_outstanding(session *ss, int64_t id, size_t pos) {
    if (ss->head > 0 && ss->head == ss->n) ss->head = ss->n = 0; /* empty: start over */
    if (ss->n == ss->cap) {
        if (ss->head > 0) { /* slide the live part down before growing */
            memmove(ss->out, ss->out + ss->head, (ss->n - ss->head) * sizeof *ss->out);
            ss->n -= ss->head, ss->head = 0;
        }
        if (ss->n == ss->cap) {
            ss->cap = ss->cap ? ss->cap * 2 : 64;
            outstanding *o = realloc(ss->out, ss->cap * sizeof *o);
            if (!o) return false;
            ss->out = o;
        }
    }
    ss->out[ss->n].id = id;
    ss->out[ss->n].pos = pos;
    ss->n++;
    return true;
}

/* GET: the next frame, renumbered only when its stored id is not the id this
 * session must hand out (rollback, --repeat). */
static bool do_get(session *ss) {
    ss->gets++;
    if (ss->read >= ss->total) return send_buf(ss, EMPTY_BATCH, sizeof EMPTY_BATCH);
    const frame *fr = &ss->s->f[ss->read % ss->s->n];
    int64_t id = ss->next_id++;
    if (!push_outstanding(ss, id, ss->read)) die("out of memory");
    ss->read++;
    if (fr->batch_id == id) return send_buf(ss, fr->p, fr->len); /* the hot path */

    /* Raw-form Packet{type=MESSAGES, body} (no version, as Canal's raw store
     * sends it) around the original body with a new batch_id field. */
    uint8_t head[4 + 2 + 1 + 10], idf[1 + 10];
    size_t idf_len = 1 + put_varint(idf + 1, (uint64_t)id);
    idf[0] = 0x08;
    size_t body_len = fr->body_len - fr->id_len + idf_len;
    size_t h = 4;
    head[h++] = 0x18, head[h++] = MESSAGES, head[h++] = 0x2a;
    h += put_varint(head + h, body_len);
    size_t pkt_len = h - 4 + body_len;
    if (pkt_len >= 0x80000000u) die("renumbered frame too large");
    put_be32(head, (uint32_t)pkt_len);
    struct iovec iov[4] = {
        {head, h},
        {(void *)(uintptr_t)fr->body, fr->id_off},
        {idf, idf_len},
        {(void *)(uintptr_t)(fr->body + fr->id_off + fr->id_len), fr->body_len - fr->id_off - fr->id_len},
    };
    return send_iov(ss, iov, 4);
}

/* CLIENTACK and CLIENTROLLBACK share Canal's removeBatch checks (§5.5, §5.6):
 * the id must be outstanding and the smallest outstanding one. */
static bool remove_batch(session *ss, long cid, int64_t id, bool is_ack, bool *ok) {
    size_t i;
    for (i = ss->head; i < ss->n; i++)
        if (ss->out[i].id == id) break;
    if (i == ss->n) {
        *ok = send_error(ss, 400, "something goes wrong with channel: replay, exception: "
                         "com.alibaba.otter.canal.server.exception.CanalServerException: "
                         "%s error%s clientId:%ld batchId:%" PRId64 " is not exist , please check",
                         is_ack ? "ack" : "rollback", is_ack ? " ," : ",", cid, id);
        return false;
    }
    if (i != ss->head) {
        *ok = send_error(ss, 400, "something goes wrong with channel: replay, exception: "
                         "com.alibaba.otter.canal.meta.exception.CanalMetaManagerException: "
                         "batchId:%" PRId64 " is not the firstly:%" PRId64,
                         id, ss->out[ss->head].id);
        return false;
    }
    if (is_ack) ss->acked = ss->out[ss->head].pos + 1; /* the cursor moves past the batch */
    ss->head++;
    *ok = true;
    return true;
}

/* Handle one request frame of the session phase. Returns false when the
 * connection must end (a write failed or the Packet did not parse). */
static bool session_request(session *ss, const uint8_t *p, size_t n) {
    pb_in in = {p, p + n};
    pb_field f;
    uint64_t type = 0;
    const uint8_t *body = p; /* absent body = empty message (§2) */
    size_t body_len = 0;
    while (in.p < in.end) {
        if (!pb_next(&in, &f)) {
            note("unparseable Packet: closing (as Canal does, no reply)");
            return false;
        }
        if (f.num == 3 && f.wt == 0) type = f.v;
        if (f.num == 5 && f.wt == 2) body = f.ptr, body_len = f.len;
    }
    ident id;
    long cid;
    bool ok = true;
    static const char *const labels[] = {[SUBSCRIPTION] = "Sub", [UNSUBSCRIPTION] = "Unsub",
                                         [GET] = "Get", [CLIENTACK] = "Ack",
                                         [CLIENTROLLBACK] = "Rollback"};
    switch (type) {
    case GET:
    case SUBSCRIPTION:
    case UNSUBSCRIPTION:
    case CLIENTACK:
    case CLIENTROLLBACK:
        if (!parse_ident(body, body_len, type == CLIENTACK || type == CLIENTROLLBACK, &id))
            return send_error(ss, 400, "something goes wrong with channel: replay, exception: "
                              "com.google.protobuf.InvalidProtocolBufferException: malformed %s",
                              labels[type]);
        break;
    default: {
        const char *name = type < sizeof packet_type_names / sizeof *packet_type_names
                               ? packet_type_names[type]
                               : "UNRECOGNIZED";
        return send_error(ss, 400, "packet type: %s is NOT supported!", name);
    }
    }

    switch (type) {
    case GET:
        if (!check_ident(ss, &id, "Get", true, &cid, &ok)) return ok;
        return do_get(ss);
    case SUBSCRIPTION:
        if (!check_ident(ss, &id, "Sub", false, &cid, &ok)) return ok;
        if (id.dest_len >= sizeof ss->dest)
            return send_error(ss, 400, "destination name too long for this server");
        memcpy(ss->dest, id.dest, id.dest_len);
        ss->dest[id.dest_len] = '\0';
        ss->cid = cid;
        ss->subscribed = true;
        return send_buf(ss, SUCCESS_ACK, sizeof SUCCESS_ACK);
    case UNSUBSCRIPTION:
        if (!check_ident(ss, &id, "Unsub", false, &cid, &ok)) return ok;
        ss->subscribed = false;
        return send_buf(ss, SUCCESS_ACK, sizeof SUCCESS_ACK);
    case CLIENTACK:
        /* Canal's order: 401, then 402 for 0, then -1 ignored, then the rest. */
        if (id.dest_len == 0 || id.cid_len == 0) {
            check_ident(ss, &id, "Ack", false, &cid, &ok); /* sends the 401 */
            return ok;
        }
        if (id.batch_id == 0)
            return send_error(ss, 402, "batchId should assign value. Ack: destination: \"%.*s\" "
                              "client_id: \"%.*s\"",
                              (int)id.dest_len, (const char *)id.dest, (int)id.cid_len,
                              (const char *)id.cid);
        if (id.batch_id == -1) return true; /* "last get was empty" */
        if (!check_ident(ss, &id, "Ack", true, &cid, &ok)) return ok;
        ss->acks++;
        remove_batch(ss, cid, id.batch_id, true, &ok);
        return ok;
    case CLIENTROLLBACK:
        if (!check_ident(ss, &id, "Rollback", false, &cid, &ok)) return ok;
        if (!ss->subscribed) return true; /* the connect-time rollback comes before subscribe */
        if (id.batch_id == 0) ss->head = ss->n = 0; /* forget every outstanding batch */
        else if (!remove_batch(ss, cid, id.batch_id, false, &ok)) return ok;
        /* Either way the read pointer goes back to the last ack: everything
         * unacked comes again, under new ids. */
        ss->read = ss->acked;
        return true;
    }
    return true;
}

/* The auth phase (§4.1 step 4): the frame is a ClientAuth whatever its type.
 * Returns 1 authenticated, 0 refused (stay in the auth phase), -1 close. */
static int auth_request(session *ss, const config *cf, const uint8_t *p, size_t n) {
    pb_in in = {p, p + n};
    pb_field f;
    const uint8_t *body = p;
    size_t body_len = 0;
    while (in.p < in.end) {
        if (!pb_next(&in, &f)) return -1;
        if (f.num == 5 && f.wt == 2) body = f.ptr, body_len = f.len;
    }
    const uint8_t *user = NULL, *pw = NULL, *dest = NULL, *cid = NULL;
    size_t user_len = 0, pw_len = 0, dest_len = 0, cid_len = 0;
    pb_in b = {body, body + body_len};
    while (b.p < b.end) {
        if (!pb_next(&b, &f)) return -1;
        if (f.wt != 2) continue;
        if (f.num == 1) user = f.ptr, user_len = f.len;
        if (f.num == 2) pw = f.ptr, pw_len = f.len;
        if (f.num == 5) dest = f.ptr, dest_len = f.len;
        if (f.num == 6) cid = f.ptr, cid_len = f.len;
    }
    /* §4.2: a configured user must match; then, with a stored password, the
     * token must check out; an empty token against a stored password fails. */
    bool accept = true;
    if (cf->user && (strlen(cf->user) != user_len || memcmp(cf->user, user, user_len) != 0))
        accept = false;
    else if (cf->has_passwd) {
        if (pw_len == 0) {
            accept = false;
        } else {
            uint8_t t[64], h[20], x[20], check[20];
            long tn = pw_len <= 2 * sizeof t ? hex_decode(pw, pw_len, t, sizeof t) : -1;
            if (tn < 20) {
                note("auth token is not hex or shorter than 20 bytes: closing (Canal throws)");
                return -1;
            }
            /* x = token XOR SHA1(seed || stage2) should be stage1, whose
             * SHA-1 is stage2 (§4.3). */
            sha1_of(ss->seed, sizeof ss->seed, cf->passwd_stage2, 20, h);
            for (int i = 0; i < 20; i++) x[i] = t[i] ^ h[i];
            sha1_of(x, 20, NULL, 0, check);
            accept = memcmp(check, cf->passwd_stage2, 20) == 0;
        }
    }
    if (!accept) {
        if (!send_error(ss, 400, "auth failed for user:%.*s", (int)user_len, (const char *)user))
            return -1;
        return 0;
    }
    /* Subscription at auth time: only when both are given (§4.1). */
    if (dest_len > 0 && cid_len > 0) {
        long c;
        if (!parse_short(cid, cid_len, &c) || dest_len >= sizeof ss->dest) return -1;
        memcpy(ss->dest, dest, dest_len);
        ss->dest[dest_len] = '\0';
        ss->cid = c;
        ss->subscribed = true;
    }
    return send_buf(ss, SUCCESS_ACK, sizeof SUCCESS_ACK) ? 1 : -1;
}

static void make_seed(uint8_t seed[8]) {
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0 && read(fd, seed, 8) == 8) {
        close(fd);
        return;
    }
    if (fd >= 0) close(fd);
    /* No /dev/urandom (a chroot?): a weak seed only weakens replay
     * protection, which a benchmark server does not need. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t v = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)getpid();
    memcpy(seed, &v, 8);
}

/* Serve one connection to its end. */
static void serve(int fd, const config *cf, const stream *s) {
    session ss;
    memset(&ss, 0, sizeof ss);
    ss.fd = fd;
    ss.s = s;
    ss.total = s->n * cf->repeat;
    ss.next_id = 1;
    ss.rtt_ns = cf->rtt_ns;
    ss.rcap = 65536;
    ss.rbuf = malloc(ss.rcap);
    if (!ss.rbuf) die("out of memory");

    /* Handshake: Packet{version=1, type=HANDSHAKE, body=Handshake{seeds}}. */
    make_seed(ss.seed);
    uint8_t hs[20] = {0, 0, 0, 16, 0x10, 1, 0x18, HANDSHAKE, 0x2a, 10, 0x12, 8};
    memcpy(hs + 12, ss.seed, 8);
    bool alive = send_buf(&ss, hs, sizeof hs);

    while (alive) {
        /* Handle every complete frame in the buffer, then read more. A GET
         * and the ack before it often arrive in one segment. */
        size_t pos = 0;
        while (alive && ss.rlen - pos >= 4) {
            const uint8_t *h = ss.rbuf + pos;
            uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
            if (n >= 0x80000000u) { /* negative in Java: Canal closes, no reply */
                note("negative frame length: closing");
                alive = false;
                break;
            }
            if (n > MAX_REQUEST) {
                note("request frame of %u bytes is over this server's limit: closing", n);
                alive = false;
                break;
            }
            if (ss.rlen - pos - 4 < n) {
                if (4 + (size_t)n > ss.rcap) { /* make room for this frame */
                    memmove(ss.rbuf, ss.rbuf + pos, ss.rlen - pos);
                    ss.rlen -= pos, pos = 0;
                    ss.rcap = 4 + (size_t)n;
                    uint8_t *r = realloc(ss.rbuf, ss.rcap);
                    if (!r) die("out of memory");
                    ss.rbuf = r;
                }
                break;
            }
            if (!ss.authed) {
                int a = auth_request(&ss, cf, h + 4, n);
                if (a < 0) alive = false;
                if (a > 0) ss.authed = true;
            } else {
                alive = session_request(&ss, h + 4, n);
            }
            pos += 4 + (size_t)n;
        }
        if (!alive) break;
        if (pos > 0) {
            memmove(ss.rbuf, ss.rbuf + pos, ss.rlen - pos);
            ss.rlen -= pos;
        }
        /* With --rtt-ms, wait for a request, the next reply's time, or room
         * to send a reply that is due, and send what is due. */
        struct timespec ts;
        while (alive && due_in(&ss, &ts)) {
            int f = flush_due(&ss);
            if (f < 0) {
                alive = false;
                break;
            }
            fd_set rd, wr;
            FD_ZERO(&rd);
            FD_ZERO(&wr);
            FD_SET(fd, &rd);
            if (f == 0) FD_SET(fd, &wr);
            bool timed = f == 1 && due_in(&ss, &ts);
            int k = pselect(fd + 1, &rd, &wr, NULL, timed ? &ts : NULL, NULL);
            if (k < 0 && errno != EINTR) die("pselect: %s", strerror(errno));
            if (k > 0 && FD_ISSET(fd, &rd)) break;
        }
        if (!alive) break;
        ssize_t r = recv(fd, ss.rbuf + ss.rlen, ss.rcap - ss.rlen, 0);
        if (r > 0) ss.rlen += (size_t)r;
        else if (r == 0) break; /* the client closed: the normal end */
        else if (errno != EINTR) {
            note("recv: %s", strerror(errno));
            break;
        }
    }
    if (cf->verbose)
        note("connection done: %" PRIu64 " GETs, %" PRIu64 " acks, %zu of %zu frames served", ss.gets,
             ss.acks, ss.read, ss.total);
    free(ss.out);
    free(ss.q);
    free(ss.rbuf);
    close(fd);
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *to) {
    fputs("usage: replay [--port N] [--port-file F] [--stream FILE] [--repeat N]\n"
          "              [--user U] [--password P | --passwd-hash HEX40] [--rtt-ms MS]\n"
          "              [--once] [--verbose]\n"
          "  --port N          listen on 127.0.0.1:N (0 = any free port; default 11111)\n"
          "  --port-file F     write the port there once listening\n"
          "  --stream FILE     frames to serve: 4-byte big-endian length + MESSAGES Packet\n"
          "  --repeat N        serve the stream N times (renumbered; default 1)\n"
          "  --rtt-ms MS       send each reply MS ms after its request came in (a simulated\n"
          "                    round trip; fractions allowed; default 0)\n"
          "  --user U          canal.user: the user name the client must send\n"
          "  --password P      check the client's scramble411 token against P\n"
          "  --passwd-hash H   the same with canal.passwd given (hex of SHA1(SHA1(P)))\n"
          "  --once            exit after one connection\n"
          "  --verbose         a line per connection on stderr\n",
          to);
}

static unsigned long parse_num(const char *opt, const char *v, unsigned long max) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n > max) die("%s: bad value '%s'", opt, v);
    return n;
}

static void write_port_file(const char *path, int port) {
    /* Written aside and renamed, so whoever polls for it never reads half. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        die("%s: %s", path, strerror(errno));
}

int main(int argc, char **argv) {
    config cf;
    memset(&cf, 0, sizeof cf);
    cf.port = 11111;
    cf.repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_arg = i + 1 < argc;
#define ARG() (has_arg ? argv[++i] : (die("%s needs a value", a), ""))
        if (!strcmp(a, "--port")) cf.port = (int)parse_num(a, ARG(), 65535);
        else if (!strcmp(a, "--port-file")) cf.port_file = ARG();
        else if (!strcmp(a, "--stream")) cf.stream_path = ARG();
        else if (!strcmp(a, "--repeat")) cf.repeat = parse_num(a, ARG(), 1000000);
        else if (!strcmp(a, "--rtt-ms")) {
            const char *v = ARG();
            char *end;
            errno = 0;
            double ms = strtod(v, &end);
            if (errno || end == v || *end || !(ms >= 0 && ms <= 10000)) die("%s: want 0..10000 ms, got '%s'", a, v);
            cf.rtt_ns = (int64_t)(ms * 1e6 + 0.5);
        }
        else if (!strcmp(a, "--user")) cf.user = ARG();
        else if (!strcmp(a, "--password")) {
            const char *pw = ARG();
            uint8_t stage1[20];
            sha1_of(pw, strlen(pw), NULL, 0, stage1);
            sha1_of(stage1, 20, NULL, 0, cf.passwd_stage2);
            cf.has_passwd = true;
        } else if (!strcmp(a, "--passwd-hash")) {
            const char *hx = ARG();
            if (strlen(hx) != 40 ||
                hex_decode((const uint8_t *)hx, 40, cf.passwd_stage2, sizeof cf.passwd_stage2) != 20)
                die("--passwd-hash wants 40 hex digits");
            cf.has_passwd = true;
        } else if (!strcmp(a, "--once")) cf.once = true;
        else if (!strcmp(a, "--verbose")) cf.verbose = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            die("unknown argument '%s'", a);
        }
#undef ARG
    }
    if (cf.repeat == 0) die("--repeat must be at least 1");

    stream s;
    memset(&s, 0, sizeof s);
    if (cf.stream_path) load_stream(cf.stream_path, &s);
    if (s.n == 0) cf.repeat = 1; /* nothing to repeat; every GET is empty */
    note("%zu frames, %zu entries, %zu bytes%s", s.n, s.entries, s.bytes,
         cf.repeat > 1 ? " (served repeatedly)" : "");

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)cf.port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind: %s", strerror(errno));
    if (listen(lfd, 16) < 0) die("listen: %s", strerror(errno));
    socklen_t sl = sizeof sa;
    if (getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) die("getsockname: %s", strerror(errno));
    int port = ntohs(sa.sin_port);
    if (cf.port_file) write_port_file(cf.port_file, port);
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            die("accept: %s", strerror(errno));
        }
        /* Replies go out at once (as Canal's server sets it), and a send
         * buffer of several MB lets one sendmsg hand over a whole frame, so
         * the server does not wake up per 200 KB while the client reads. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int sndbuf = 8 << 20;
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        serve(fd, &cf, &s);
        if (cf.once) break;
    }
    close(lfd);
    free(s.f);
    if (s.map) munmap(s.map, s.map_len);
    return 0;
}
