/* peer.h - a scripted Canal "server" for tests: a forked child writes
 * prepared bytes to its end of a socketpair, in pieces if asked, and hands
 * back everything the client sent once the client closes. Header-only, for
 * the test programs. */
#ifndef PEER_H
#define PEER_H
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Hex text to bytes; spaces and other non-hex characters are skipped. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        int v;
        if (*hex >= '0' && *hex <= '9') v = *hex - '0';
        else if (*hex >= 'a' && *hex <= 'f') v = *hex - 'a' + 10;
        else if (*hex >= 'A' && *hex <= 'F') v = *hex - 'A' + 10;
        else continue;
        if (hi < 0) hi = v;
        else {
            if (n < cap) out[n] = (uint8_t)(hi << 4 | v);
            n++;
            hi = -1;
        }
    }
    return n;
}

/* A scripted peer: a child process writes `script` to its end of a
 * socketpair in pieces of `chunk` bytes (0: all at once) with `delay_us`
 * between them, then optionally closes or keeps reading; everything the
 * client sent comes back through a pipe when the client closes. */
typedef struct peer {
    pid_t pid;
    int fd;   /* the client's end */
    int back; /* what the client sent, readable after it closed */
} peer;

enum { PEER_KEEP = 0, PEER_CLOSE = 1, PEER_STALL = 2 };

static inline peer peer_start(const uint8_t *script, size_t n, size_t chunk, int delay_us, int after) {
    int sv[2], pp[2];
    peer p = {-1, -1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pp) < 0) return p;
    p.pid = fork();
    if (p.pid == 0) {
        close(sv[0]);
        close(pp[0]);
        size_t off = 0;
        while (off < n) {
            size_t k = chunk && chunk < n - off ? chunk : n - off;
            if (write(sv[1], script + off, k) < 0) break;
            off += k;
            if (delay_us && off < n) {
                struct timespec ts = {0, (long)delay_us * 1000};
                nanosleep(&ts, NULL);
            }
        }
        if (after == PEER_CLOSE) shutdown(sv[1], SHUT_WR);
        if (after == PEER_STALL) sleep(5);
        uint8_t buf[4096];
        ssize_t r;
        while ((r = read(sv[1], buf, sizeof buf)) > 0)
            if (write(pp[1], buf, (size_t)r) < 0) break;
        _exit(0);
    }
    close(sv[1]);
    close(pp[1]);
    p.fd = sv[0];
    p.back = pp[0];
    return p;
}

/* Wait for the peer; returns what the client sent. */
static inline size_t peer_finish(peer *p, uint8_t *buf, size_t cap) {
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(p->back, buf + n, cap - n)) > 0) n += (size_t)r;
    close(p->back);
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    return n;
}

/* Set Messages.batch_id, when it is a 1-byte varint, inside a MESSAGES
 * Packet (body = field 5, 0x2a; batch_id = field 1, 0x08). */
static inline int peer_set_batch(uint8_t *pk, size_t n, uint8_t id) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (pk[i] != 0x2a) continue;
        size_t j = i + 1;
        while (j < n && (pk[j] & 0x80)) j++;
        j++;
        if (j + 1 < n && pk[j] == 0x08 && pk[j + 1] < 0x80) {
            pk[j + 1] = id;
            return 1;
        }
        return 0;
    }
    return 0;
}

/* Split what a client sent into frames: bodies (with their 4-byte headers
 * left out) and lengths; the number of frames, or -1 if bytes are left
 * that make no whole frame. */
static inline int split_frames(const uint8_t *p, size_t n, const uint8_t **body, size_t *len, int max) {
    int k = 0;
    while (n >= 4 && k < max) {
        size_t l = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (l > n - 4) break;
        body[k] = p + 4;
        len[k++] = l;
        p += 4 + l, n -= 4 + l;
    }
    return n == 0 ? k : -1;
}

/* Protobuf written by hand for scripts (no library, so a test can put any
 * field, order or value on the wire): a varint, a varint field, a
 * length-delimited field, a 4-byte length frame. Each returns the bytes
 * written at o. */
static inline size_t pw_varint(uint8_t *o, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) o[n++] = (uint8_t)(v | 0x80), v >>= 7;
    o[n++] = (uint8_t)v;
    return n;
}
static inline size_t pw_int(uint8_t *o, int field, int64_t v) {
    size_t n = pw_varint(o, (uint64_t)field << 3);
    return n + pw_varint(o + n, (uint64_t)v); /* negative: 10 bytes, as Java writes int32 */
}
static inline size_t pw_bytes(uint8_t *o, int field, const void *p, size_t len) {
    size_t n = pw_varint(o, (uint64_t)field << 3 | 2);
    n += pw_varint(o + n, len);
    memmove(o + n, p, len);
    return n + len;
}
static inline size_t pw_str(uint8_t *o, int field, const char *s) { return pw_bytes(o, field, s, strlen(s)); }
static inline size_t pw_frame(uint8_t *o, const uint8_t *body, size_t len) {
    o[0] = (uint8_t)(len >> 24), o[1] = (uint8_t)(len >> 16), o[2] = (uint8_t)(len >> 8), o[3] = (uint8_t)len;
    memmove(o + 4, body, len);
    return len + 4;
}

/* A GET reply as the server frames it (Packet type MESSAGES, raw form)
 * carrying batch `id` and one Entry whose storeValue is `store_len` bytes
 * of a pattern (byte i is i % 251); returns the frame's length. */
static inline size_t pw_messages_frame(uint8_t *o, int64_t id, size_t store_len) {
    static uint8_t a[1 << 19], b[1 << 19]; /* each step reads one, writes the other */
    size_t n;
    if (store_len + 64 > sizeof a) return 0;
    for (size_t i = 0; i < store_len; i++) a[i] = (uint8_t)(i % 251);
    n = pw_bytes(b, 3, a, store_len);          /* Entry.storeValue */
    size_t mn = pw_int(a, 1, id);               /* Messages.batch_id */
    mn += pw_bytes(a + mn, 2, b, n);            /* Messages.messages */
    n = pw_int(b, 3, 7);                        /* Packet.type MESSAGES */
    n += pw_bytes(b + n, 5, a, mn);             /* Packet.body */
    return pw_frame(o, b, n);
}

/* A fixture made by test/mkfixtures.py (Google's encoder), whole. */
static inline size_t read_fixture_file(const char *dir, const char *name, uint8_t *buf, size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  missing fixture %s (run make)\n", path);
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

#endif
