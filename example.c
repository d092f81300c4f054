/*
 * example.c - follow a Canal destination and print its row changes.
 *
 * The first program to run against a Canal server, and the loop to copy into
 * your own: connect, subscribe, then get -> render -> write -> ack, forever or
 * until told to stop.
 *
 *     ./example --host 10.0.0.5 --filter 'shop\..*'
 *     ./example --json --max-batches 10 > changes.jsonl
 *     ./example --zk zk1:2181 --destination example    (built with ZOOKEEPER=1)
 *
 * Delivery is at-least-once. A batch is acked only after all of its output has
 * been written and flushed, so a crash, a write error or a bad entry can make
 * the server deliver a batch again (on the next run) but never lose one. That
 * is also why each batch is rendered completely in memory before any of it is
 * written: a batch that fails halfway prints nothing at all.
 *
 * Output, text (the default), one block per entry:
 *
 *     batch 7: 6 entries
 *     -- TRANSACTIONBEGIN binlog mysql-bin.000001:4 es=1700000000000
 *     shop.orders INSERT binlog mysql-bin.000001:1234 es=1700000000000
 *       after : id=1 name="a\"b" note=NULL img=0x00ff41
 *     shop.orders UPDATE binlog mysql-bin.000001:1500 es=1700000001000
 *       before: id=1 name=x qty=5
 *       after : id=1 *name=y qty=5
 *     shop.orders ALTER binlog mysql-bin.000001:1800 es=1700000003000
 *       sql   : ALTER TABLE orders ADD c INT
 *     -- TRANSACTIONEND binlog mysql-bin.000001:1900 es=1700000003000
 *
 *   - Entries that carry no rows (transaction begin/end, GTID, ...) get one
 *     "-- " line, so the count in the batch line matches what follows.
 *   - Each row prints its before image, then its after image, if present.
 *     In an UPDATE, '*' marks the after columns the server flagged as changed.
 *   - Values print bare when that is unambiguous; a value that is empty, holds
 *     a space, a quote, a backslash or a control character, or is the text
 *     "NULL", is quoted with C-style escapes. SQL NULL prints as NULL.
 *   - Binary columns (BLOB, BINARY, VARBINARY) print their original bytes in
 *     hex (Canal sends them as ISO-8859-1 text, see canal_latin1_to_bytes).
 *   - Control characters in names, file names and SQL are escaped, so every
 *     line of output is one line of the original. Other text is printed raw
 *     (UTF-8). Empty batches print nothing.
 *
 * Output with --json: one FlatMessage per ROWDATA entry, one per line, exactly
 * as PROTOCOL.md section 8 specifies (the same JSON that Canal's MQ producers
 * write, keys in their alphabetical order), written by the optional module
 * canal_flat.c. Nothing else is printed.
 *
 * Exit status: 0 when done (--max-batches reached, or idle with
 * --exit-when-idle), 1 on any client, decoding or output error, 2 for a bad
 * command line. Stopping it with Ctrl-C is fine: unacked batches stay on the
 * server and come back on the next run.
 *
 * getopt_long is not POSIX, but glibc, musl, the BSDs and macOS all have it.
 */

/* clock_gettime is POSIX, not C99: ask for it before any system header. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "canal.h"
#include "canal_flat.h"
#ifdef CANAL_ZOOKEEPER
#include "canal_zk.h"
#endif

static const char hex[] = "0123456789abcdef";

/* ------------------------------------------------------------ output buffer */

/* A growable byte buffer. A batch is rendered into one of these and written
 * with a single fwrite once it is complete. Appending never reports failure
 * itself: an allocation failure sets 'failed', later appends do nothing, and
 * the caller checks 'failed' once, when the text is complete (the way stdio's
 * ferror works). */
struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static bool buf_reserve(struct buf *b, size_t extra) {
    if (b->failed)
        return false;
    if (extra <= b->cap - b->len)
        return true;
    if (extra > SIZE_MAX / 2 - b->len) { /* keeps the doubling below from overflowing */
        b->failed = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void buf_add(struct buf *b, const void *p, size_t n) {
    if (n > 0 && buf_reserve(b, n)) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

static void buf_addc(struct buf *b, char ch) { buf_add(b, &ch, 1); }

/* For literals written by this program only; never for data from the server,
 * which may contain NUL bytes (use the length-carrying functions below). */
static void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_addi(struct buf *b, int64_t v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    if (n < 0 || (size_t)n >= sizeof tmp)
        b->failed = true; /* cannot happen for an int64, but costs nothing to check */
    else
        buf_add(b, tmp, (size_t)n);
}

/* Empty b for reuse, keeping its memory, and forget an earlier failure. */
static void buf_reset(struct buf *b) {
    b->len = 0;
    b->failed = false;
}

static void buf_free(struct buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ text output */

/* Append server text, escaping what would break a line or a quoted value.
 * Works byte by byte with the length, so NUL bytes are printed as \x00 rather
 * than ending the value. Bytes of multi-byte UTF-8 characters are all >= 0x80
 * and pass through unchanged. */
static void text_escaped(struct buf *b, const char *s, size_t n, bool quoted) {
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') {
            buf_adds(b, "\\n");
        } else if (ch == '\r') {
            buf_adds(b, "\\r");
        } else if (ch == '\t') {
            buf_adds(b, "\\t");
        } else if (ch < 0x20 || ch == 0x7f) {
            char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
            buf_add(b, esc, sizeof esc);
        } else if (quoted && (ch == '"' || ch == '\\')) {
            buf_addc(b, '\\');
            buf_addc(b, (char)ch);
        } else {
            buf_addc(b, (char)ch);
        }
    }
}

static void text_str(struct buf *b, canal_str s) { text_escaped(b, s.ptr, s.len, false); }

/* A value can print bare when a reader cannot mistake where it ends or take it
 * for SQL NULL. */
static bool text_is_bare(canal_str s) {
    if (s.len == 0 || (s.len == 4 && memcmp(s.ptr, "NULL", 4) == 0))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch <= ' ' || ch == '"' || ch == '\\' || ch == 0x7f)
            return false;
    }
    return true;
}

/* java.sql.Types codes of the columns Canal sends as ISO-8859-1 text. */
static bool is_binary_type(int32_t sql_type) {
    return sql_type == 2004 || sql_type == -2 || sql_type == -3 || sql_type == -4;
}

/* Append one column value. 'bytes' is scratch space for binary values, kept
 * by the caller so that it is allocated once, not once per value. */
static void text_value(struct buf *b, struct buf *bytes, const canal_column *col) {
    if (col->is_null) {
        buf_adds(b, "NULL");
        return;
    }
    if (is_binary_type(col->sql_type)) {
        size_t n = 0;
        buf_reset(bytes);
        if (!buf_reserve(bytes, col->value.len + 1)) {
            b->failed = true;
            return;
        }
        /* A value that is not ISO-8859-1 text is not really binary (some
         * other source than MySQL's parser): fall through and print it as
         * text rather than fail the batch over a display choice. */
        if (canal_latin1_to_bytes(col->value.ptr, col->value.len,
                                  (uint8_t *)bytes->p, &n) == CANAL_OK) {
            const unsigned char *u = (const unsigned char *)bytes->p;
            buf_adds(b, "0x");
            for (size_t i = 0; i < n; i++) {
                char pair[2] = {hex[u[i] >> 4], hex[u[i] & 15]};
                buf_add(b, pair, 2);
            }
            return;
        }
    }
    if (text_is_bare(col->value)) {
        buf_add(b, col->value.ptr, col->value.len);
    } else {
        buf_addc(b, '"');
        text_escaped(b, col->value.ptr, col->value.len, true);
        buf_addc(b, '"');
    }
}

/* "  after : id=1 *name=y qty=5" */
static void text_columns(struct buf *b, struct buf *bytes, const char *label,
                         const canal_column *cols, size_t n, bool mark_updated) {
    buf_adds(b, label);
    for (size_t i = 0; i < n; i++) {
        buf_addc(b, ' ');
        if (mark_updated && cols[i].updated)
            buf_addc(b, '*');
        text_str(b, cols[i].name);
        buf_addc(b, '=');
        text_value(b, bytes, &cols[i]);
    }
    buf_addc(b, '\n');
}

/* "binlog mysql-bin.000001:1234 es=1700000000000[ gtid=...]" */
static void text_position(struct buf *b, const canal_header *h) {
    buf_adds(b, "binlog ");
    text_str(b, h->logfile_name);
    buf_addc(b, ':');
    buf_addi(b, h->logfile_offset);
    buf_adds(b, " es=");
    buf_addi(b, h->execute_time);
    if (h->gtid.len > 0) {
        buf_adds(b, " gtid=");
        text_str(b, h->gtid);
    }
    buf_addc(b, '\n');
}

/* An enum name; numbers the library does not know are kept, so show them. */
static void text_type(struct buf *b, const char *name, int32_t number) {
    buf_adds(b, name);
    if (strcmp(name, "UNRECOGNIZED") == 0) {
        buf_addc(b, '(');
        buf_addi(b, number);
        buf_addc(b, ')');
    }
}

/* The text block of one entry; rc is its decoded RowChange, or NULL when the
 * entry is not ROWDATA. */
static void text_entry(struct buf *b, struct buf *bytes, const canal_entry *e,
                       const canal_rowchange *rc) {
    const canal_header *h = &e->header;
    if (!rc) {
        buf_adds(b, "-- ");
        text_type(b, canal_entry_type_name(e->entry_type), e->entry_type);
        buf_addc(b, ' ');
        text_position(b, h);
        return;
    }

    /* schema.table, just the schema for DDL such as CREATE DATABASE, or "-"
     * so that the line still starts with a word */
    if (h->schema_name.len == 0 && h->table_name.len == 0)
        buf_addc(b, '-');
    text_str(b, h->schema_name);
    if (h->table_name.len > 0) {
        buf_addc(b, '.');
        text_str(b, h->table_name);
    }
    buf_addc(b, ' ');
    text_type(b, canal_event_type_name(rc->event_type), rc->event_type);
    buf_addc(b, ' ');
    text_position(b, h);

    if (rc->is_ddl || rc->sql.len > 0) {
        buf_adds(b, "  sql   : ");
        text_escaped(b, rc->sql.ptr, rc->sql.len, false);
        buf_addc(b, '\n');
    }
    for (size_t i = 0; i < rc->n_rows; i++) {
        const canal_row *r = &rc->rows[i];
        if (r->n_before > 0)
            text_columns(b, bytes, "  before:", r->before, r->n_before, false);
        if (r->n_after > 0)
            text_columns(b, bytes, "  after :", r->after, r->n_after,
                         rc->event_type == CANAL_UPDATE);
    }
}

/* ------------------------------------------------------------ the program */

struct config {
    canal_options opt;   /* passed to canal_client_new */
    const char *filter;  /* NULL: keep the server's filter */
    int batch_size;
    int timeout_ms;      /* how long the server may wait to fill a batch */
    long max_batches;    /* 0: no limit */
    bool exit_when_idle;
    bool json;
    const char *zk_hosts; /* ZooKeeper mode (canal_zk.h) when set */
    int zk_session_ms, zk_wait_ms;
};

/* Everything reused from batch to batch. */
struct work {
    struct buf out;   /* one whole batch of output */
    struct buf bytes; /* binary values turned back into bytes (text mode) */
    canal_flat *flat; /* FlatMessage writer (JSON mode) */
};

static void work_free(struct work *w) {
    buf_free(&w->out);
    buf_free(&w->bytes);
    canal_flat_free(w->flat);
}

static bool now_ms(int64_t *ms) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return false;
    *ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return true;
}

/* canal_flat_write's receiver: append to the batch's output. */
static int flat_to_buf(void *ud, const char *p, size_t n) {
    struct buf *b = ud;
    buf_add(b, p, n);
    return b->failed ? -1 : 0;
}

/* Render the whole batch into w->out. Returns false after printing why. */
static bool render_batch(canal_client *c, const struct config *cfg, struct work *w,
                         const canal_message *m) {
    int64_t ts = 0;

    buf_reset(&w->out);
    /* One conversion time for the whole batch: it is converted in one go. */
    if (cfg->json && !now_ms(&ts)) {
        fprintf(stderr, "example: clock_gettime: %s\n", strerror(errno));
        return false;
    }
    if (!cfg->json) {
        buf_adds(&w->out, "batch ");
        buf_addi(&w->out, m->batch_id);
        buf_adds(&w->out, ": ");
        buf_addi(&w->out, (int64_t)m->n_entries);
        buf_adds(&w->out, m->n_entries == 1 ? " entry\n" : " entries\n");
    }

    for (size_t i = 0; i < m->n_entries; i++) {
        const canal_entry *e = &m->entries[i];
        canal_rowchange rc;
        /* Only an entry type that was on the wire and says ROWDATA has rows;
         * an absent type reads 0, not ROWDATA (8.1). */
        bool rowdata = e->has_entry_type && e->entry_type == CANAL_ROWDATA;

        if (rowdata && canal_entry_rowchange(c, e, &rc) < 0) {
            fprintf(stderr, "example: decode failed: batch %" PRId64 " entry %zu: %s\n",
                    m->batch_id, i, canal_errstr(c));
            return false;
        }
        if (!cfg->json)
            text_entry(&w->out, &w->bytes, e, rowdata ? &rc : NULL);
        else if (rowdata && canal_flat_write(w->flat, m->batch_id, ts, e, &rc, flat_to_buf,
                                             &w->out) < 0) {
            if (w->out.failed)
                break; /* our buffer ran out of memory: said below */
            fprintf(stderr, "example: batch %" PRId64 " entry %zu: %s\n", m->batch_id, i,
                    canal_flat_errstr(w->flat));
            return false;
        }
        if (w->out.failed)
            break;
    }
    if (w->out.failed) {
        fprintf(stderr, "example: out of memory rendering batch %" PRId64 "\n", m->batch_id);
        return false;
    }
    return true;
}

static bool write_out(const struct buf *b) {
    if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len) {
        fprintf(stderr, "example: cannot write output: %s\n", strerror(errno));
        return false;
    }
    /* Flush before the ack: the ack is our promise that the batch is safe. */
    if (fflush(stdout) != 0) {
        fprintf(stderr, "example: cannot write output: %s\n", strerror(errno));
        return false;
    }
    return true;
}

/* Connect, subscribe and follow. Returns the exit status. */
static int run(canal_client *c, const struct config *cfg, struct work *w) {
    long batches = 0;

    if (canal_connect(c) < 0) {
        fprintf(stderr, "example: connect failed: %s\n", canal_errstr(c));
        return 1;
    }
    if (canal_subscribe(c, cfg->filter) < 0) {
        fprintf(stderr, "example: subscribe failed: %s\n", canal_errstr(c));
        return 1;
    }
    for (;;) {
        const canal_message *m;

        if (canal_get(c, cfg->batch_size, cfg->timeout_ms, &m) < 0) {
            fprintf(stderr, "example: get failed: %s\n", canal_errstr(c));
            return 1;
        }
        if (m->batch_id == -1) { /* nothing new within timeout_ms; never ack -1 */
            if (cfg->exit_when_idle)
                return 0;
            if (cfg->timeout_ms < 0) {
                /* The server answered at once: pause before asking again
                 * rather than spin (as Canal's own samples do). */
                struct timespec pause = {1, 0};
                nanosleep(&pause, NULL);
            }
            continue;
        }
        /* Render everything, write everything, and only then ack: an error
         * anywhere before the ack leaves the batch on the server. */
        if (!render_batch(c, cfg, w, m) || !write_out(&w->out))
            return 1;
        if (canal_ack(c, m->batch_id) < 0) {
            fprintf(stderr, "example: ack failed: %s\n", canal_errstr(c));
            return 1;
        }
        if (cfg->max_batches > 0 && ++batches >= cfg->max_batches)
            return 0;
    }
}

#ifdef CANAL_ZOOKEEPER
/* The same loop in ZooKeeper mode: the server comes from ZooKeeper, and of
 * several copies with one client id only one consumes. A standby says so
 * once and keeps calling; each call returns within --zk-wait-ms. */
static int run_zk(const struct config *cfg, struct work *w)
{
    canal_zk_options zo;
    canal_zk *z;
    long batches = 0;
    int status = 1, last = 0, rc;

    canal_zk_options_init(&zo);
    zo.zk_hosts = cfg->zk_hosts;
    zo.session_timeout_ms = cfg->zk_session_ms;
    zo.wait_ms = cfg->zk_wait_ms;
    if (!(z = canal_zk_new(&cfg->opt, &zo))) {
        fprintf(stderr, "example: cannot create the client (out of memory?)\n");
        return 1;
    }
    for (;;) {
        const canal_message *m = NULL;

        rc = canal_zk_subscribe(z, cfg->filter);
        if (rc == CANAL_OK)
            rc = canal_zk_get(z, cfg->batch_size, cfg->timeout_ms, &m);
        if (rc == CANAL_ZK_EPASSIVE || rc == CANAL_ZK_ENOSERVER || rc == CANAL_ZK_EZK) {
            if (rc != last) /* standing by, no server yet, ZooKeeper away: keep trying */
                fprintf(stderr, "example: %s\n", canal_zk_errstr(z));
            last = rc;
            continue;
        }
        last = rc;
        if (rc < 0) {
            fprintf(stderr, "example: %s\n", canal_zk_errstr(z));
            break;
        }
        if (m->batch_id == -1) {
            if (cfg->exit_when_idle) {
                status = 0;
                break;
            }
            continue;
        }
        if (!render_batch(canal_zk_client(z), cfg, w, m) || !write_out(&w->out))
            break;
        if (canal_zk_ack(z, m->batch_id) < 0) {
            fprintf(stderr, "example: ack failed: %s\n", canal_zk_errstr(z));
            break;
        }
        if (cfg->max_batches > 0 && ++batches >= cfg->max_batches) {
            status = 0;
            break;
        }
    }
    canal_zk_free(z); /* a clean exit hands the client id over at once */
    return status;
}
#endif

/* ------------------------------------------------------------ command line */

static void usage(FILE *f) {
    fputs("usage: example [options]\n"
          "Follow a Canal destination and print each batch, then ack it.\n"
          "\n"
          "  --host HOST              server (127.0.0.1), or a list h1:11111,h2:11111\n"
          "                           that connects go over in turn (failover)\n"
          "  --port N                 server port, for hosts without one (11111)\n"
          "  --retry-times N          with a list: connect attempts (3)\n"
          "  --retry-interval-ms N    with a list: pause between attempts (5000)\n"
          "  --destination NAME       Canal instance (example)\n"
          "  --client-id N            client id, -32768..32767 (1001)\n"
          "  --user NAME              user name (none)\n"
          "  --password TEXT          password (none); visible to other users in ps\n"
          "  --filter REGEX           table filter, e.g. 'shop\\..*'; it replaces the\n"
          "                           filter of the whole destination (server's)\n"
          "  --batch-size N           entries per batch (1000)\n"
          "  --timeout-ms N           how long the server may wait to fill a batch;\n"
          "                           -1 answers at once; below --read-timeout-ms\n"
          "                           (1000, or half a shorter read timeout)\n"
          "  --read-timeout-ms N      longest wait for any reply (60000)\n"
          "  --connect-timeout-ms N   TCP connect deadline (10000)\n"
          "  --max-batches N          stop after N non-empty batches, 0 = never (0)\n"
          "  --exit-when-idle         stop at the first empty batch\n"
          "  --json                   one FlatMessage JSON line per row entry\n"
          "  --zk HOSTS               ZooKeeper mode: find the server of --destination\n"
          "                           through ZooKeeper (h1:2181,h2:2181); one consumer\n"
          "                           per client id consumes, others stand by\n"
          "                           (needs a build with ZOOKEEPER=1)\n"
          "  --zk-session-timeout-ms N  ZooKeeper session timeout (90000)\n"
          "  --zk-wait-ms N           longest a call looks for a server or waits as a\n"
          "                           standby (5000)\n"
          "  --help                   this text\n"
          "\n"
          "Exit status: 0 done, 1 error, 2 bad command line.\n",
          f);
}

/* Parse a whole decimal integer in min..max. strtol alone accepts leading
 * blanks, a '+', and trailing junk ("10ms"); a command line deserves better. */
static bool parse_long(const char *flag, const char *s, long min, long max, long *out) {
    char *end;
    long v;

    if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9'))) {
        fprintf(stderr, "example: --%s: '%s' is not an integer\n", flag, s);
        return false;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "example: --%s: '%s' is not an integer\n", flag, s);
        return false;
    }
    if (errno == ERANGE || v < min || v > max) {
        fprintf(stderr, "example: --%s: %s is out of range %ld..%ld\n", flag, s, min, max);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_int(const char *flag, const char *s, int min, int max, int *out) {
    long v;
    if (!parse_long(flag, s, min, max, &v))
        return false;
    *out = (int)v;
    return true;
}

/* Returns -1 to go on, or the exit status (0 after --help, 2 on error). */
static int parse_args(int argc, char **argv, struct config *cfg) {
    enum { HOST = 256, PORT, DEST, CLIENT_ID, USER, PASSWORD, FILTER, BATCH_SIZE,
           TIMEOUT, READ_TIMEOUT, CONNECT_TIMEOUT, MAX_BATCHES, EXIT_IDLE, JSON, HELP,
           ZK_HOSTS, ZK_SESSION, ZK_WAIT, RETRY_TIMES, RETRY_INTERVAL };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, HOST},
        {"port", required_argument, NULL, PORT},
        {"destination", required_argument, NULL, DEST},
        {"client-id", required_argument, NULL, CLIENT_ID},
        {"user", required_argument, NULL, USER},
        {"password", required_argument, NULL, PASSWORD},
        {"filter", required_argument, NULL, FILTER},
        {"batch-size", required_argument, NULL, BATCH_SIZE},
        {"timeout-ms", required_argument, NULL, TIMEOUT},
        {"read-timeout-ms", required_argument, NULL, READ_TIMEOUT},
        {"connect-timeout-ms", required_argument, NULL, CONNECT_TIMEOUT},
        {"max-batches", required_argument, NULL, MAX_BATCHES},
        {"exit-when-idle", no_argument, NULL, EXIT_IDLE},
        {"json", no_argument, NULL, JSON},
        {"help", no_argument, NULL, HELP},
        {"retry-times", required_argument, NULL, RETRY_TIMES},
        {"retry-interval-ms", required_argument, NULL, RETRY_INTERVAL},
        {"zk", required_argument, NULL, ZK_HOSTS},
        {"zk-session-timeout-ms", required_argument, NULL, ZK_SESSION},
        {"zk-wait-ms", required_argument, NULL, ZK_WAIT},
        {NULL, 0, NULL, 0},
    };
    canal_options *o = &cfg->opt;
    int ch;
    bool ok = true, timeout_given = false;

    /* The library's defaults, then ours, then the command line. */
    canal_options_init(o);
    cfg->filter = NULL;
    cfg->batch_size = 1000;
    cfg->timeout_ms = 1000;
    cfg->max_batches = 0;
    cfg->exit_when_idle = false;
    cfg->json = false;
    cfg->zk_hosts = NULL;
    cfg->zk_session_ms = 90000;
    cfg->zk_wait_ms = 5000;

    opterr = 0; /* we print our own messages, prefixed like all the others */
    /* The leading ':' makes a missing value return ':' rather than '?'. */
    while (ok && (ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (ch) {
        case HOST: o->host = optarg; break;
        case PORT: ok = parse_int("port", optarg, 1, 65535, &o->port); break;
        case DEST: o->destination = optarg; break;
        case CLIENT_ID: ok = parse_int("client-id", optarg, -32768, 32767, &o->client_id); break;
        case USER: o->username = optarg; break;
        case PASSWORD: o->password = optarg; break;
        case FILTER: cfg->filter = optarg; break;
        case BATCH_SIZE: ok = parse_int("batch-size", optarg, 1, INT_MAX, &cfg->batch_size); break;
        case TIMEOUT: /* any negative wait means "answer at once" (-1), as in the Java client */
            ok = parse_int("timeout-ms", optarg, INT_MIN, INT_MAX, &cfg->timeout_ms);
            if (cfg->timeout_ms < 0) cfg->timeout_ms = -1;
            timeout_given = true;
            break;
        case READ_TIMEOUT:
            ok = parse_int("read-timeout-ms", optarg, 1, INT_MAX, &o->read_timeout_ms);
            break;
        case CONNECT_TIMEOUT:
            ok = parse_int("connect-timeout-ms", optarg, 1, INT_MAX, &o->connect_timeout_ms);
            break;
        case MAX_BATCHES:
            ok = parse_long("max-batches", optarg, 0, LONG_MAX, &cfg->max_batches);
            break;
        case EXIT_IDLE: cfg->exit_when_idle = true; break;
        case JSON: cfg->json = true; break;
        case HELP: usage(stdout); return 0;
        case RETRY_TIMES: ok = parse_int("retry-times", optarg, 1, INT_MAX, &o->retry_times); break;
        case RETRY_INTERVAL:
            ok = parse_int("retry-interval-ms", optarg, 0, INT_MAX, &o->retry_interval_ms);
            break;
        case ZK_HOSTS: cfg->zk_hosts = optarg; break;
        case ZK_SESSION:
            ok = parse_int("zk-session-timeout-ms", optarg, 1, INT_MAX, &cfg->zk_session_ms);
            break;
        case ZK_WAIT: ok = parse_int("zk-wait-ms", optarg, 1, INT_MAX, &cfg->zk_wait_ms); break;
        case ':':
            fprintf(stderr, "example: %s needs a value\n", argv[optind - 1]);
            ok = false;
            break;
        default:
            fprintf(stderr, "example: invalid option '%s'\n", argv[optind - 1]);
            ok = false;
            break;
        }
    }
#ifndef CANAL_ZOOKEEPER
    if (ok && cfg->zk_hosts) {
        fprintf(stderr, "example: --zk: this example was built without ZooKeeper "
                        "(build it with make ZOOKEEPER=1)\n");
        ok = false;
    }
#endif
    if (ok && optind < argc) {
        fprintf(stderr, "example: unexpected argument '%s'\n", argv[optind]);
        ok = false;
    }
    if (ok && (o->host[0] == '\0' || o->destination[0] == '\0')) {
        fprintf(stderr, "example: --host and --destination must not be empty\n");
        ok = false;
    }
    /* A GET that may wait as long as a read may take would time out on our
     * side while the server is still legitimately waiting (PROTOCOL.md 6.5). */
    if (ok && cfg->timeout_ms == 0) {
        /* 0 lets the server wait with no limit of its own, so an idle
         * stream would end in our read timeout instead of an empty batch. */
        fprintf(stderr, "example: --timeout-ms 0 would wait without limit; use -1 or a "
                        "positive wait below --read-timeout-ms\n");
        ok = false;
    }
    /* The default GET wait yields to a short read timeout instead of
     * refusing to start; only a wait the user asked for is an error. */
    if (ok && !timeout_given && cfg->timeout_ms >= o->read_timeout_ms)
        cfg->timeout_ms = o->read_timeout_ms >= 2 ? o->read_timeout_ms / 2 : -1;
    if (ok && cfg->timeout_ms >= o->read_timeout_ms) {
        fprintf(stderr, "example: --timeout-ms %d must be below --read-timeout-ms %d\n",
                cfg->timeout_ms, o->read_timeout_ms);
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "Try 'example --help'.\n");
        return 2;
    }
    return -1;
}

int main(int argc, char **argv) {
    struct config cfg;
    struct work w;
    canal_client *c;
    int status = parse_args(argc, argv, &cfg);

    if (status >= 0)
        return status;
    if (canal_version() != CANAL_VERSION_NUMBER) {
        fprintf(stderr, "example: built with canal.h %s but linked with canal.c %d\n",
                CANAL_VERSION, canal_version());
        return 1;
    }
    memset(&w, 0, sizeof w);
    if (cfg.json && !(w.flat = canal_flat_new())) {
        fprintf(stderr, "example: cannot create the JSON writer (out of memory?)\n");
        return 1;
    }
#ifdef CANAL_ZOOKEEPER
    if (cfg.zk_hosts) {
        status = run_zk(&cfg, &w);
        work_free(&w);
        return status;
    }
#endif
    /* The options were checked above, so NULL here means out of memory. */
    c = canal_client_new(&cfg.opt);
    if (!c) {
        fprintf(stderr, "example: cannot create the client (out of memory?)\n");
        work_free(&w);
        return 1;
    }
    status = run(c, &cfg, &w);
    work_free(&w);
    canal_client_free(c);
    return status;
}
