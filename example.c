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
 * Running as a daemon: it keeps going whatever the server does. A lost
 * connection, a timeout or a server error is followed by a pause and a
 * reconnect (which re-subscribes, and rolls back so that the batch in flight
 * comes again); the pause grows from --retry-min-ms to --retry-max-ms and
 * starts again at the minimum after the next reply. Only errors that another
 * attempt cannot fix end it: a refused login, an invalid option, bytes it
 * cannot take (a malformed entry or a frame over the limit would only come
 * again), an output error. SIGINT and SIGTERM stop it within a moment: a
 * batch being written is finished (written, flushed and acked) first, a call
 * waiting on the server returns at once. --status-every N prints one status
 * line on stderr every N seconds, never on stdout.
 *
 * Exit status: 0 when done (--max-batches reached, idle with
 * --exit-when-idle, or stopped by SIGINT/SIGTERM), 1 on an error that cannot
 * heal or an output error, 2 for a bad command line. Unacked batches stay on
 * the server and come back on the next run.
 *
 * getopt_long is not POSIX, but glibc, musl, the BSDs and macOS all have it.
 */

/* clock_gettime is POSIX, not C99: ask for it before any system header. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    const char *password_file; /* read into opt.password by main */
    int batch_size;
    int timeout_ms;      /* how long the server may wait to fill a batch */
    int retry_min_ms;    /* the first pause after a failure */
    int retry_max_ms;    /* the longest pause */
    int status_every_s;  /* 0: no status lines */
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
    uint64_t rows;    /* rows of the batch last rendered, for the status line */
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
    w->rows = 0;
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
        if (rowdata)
            w->rows += rc.n_rows;
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

/* ------------------------------------------------------------ stopping */

/* SIGINT and SIGTERM set stop_requested and write a byte into stop_pipe. The
 * client polls the pipe's read end (canal_options.interrupt_fd), so a call
 * waiting on the server returns at once; the pause between retries polls it
 * too. The byte is never read: the pipe stays readable, so a signal that
 * lands just before a call starts waiting is not lost. */
static volatile sig_atomic_t stop_requested;
static int stop_pipe[2] = {-1, -1};

static void on_stop(int sig) {
    int saved = errno;
    char b = 1;
    ssize_t w;

    (void)sig;
    stop_requested = 1;
    w = write(stop_pipe[1], &b, 1); /* when the pipe is full, a byte is there already */
    (void)w;
    errno = saved;
}

static bool setup_stop(void) {
    struct sigaction sa;

    if (pipe(stop_pipe) != 0)
        return false;
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(stop_pipe[i], F_GETFL);
        if (fl < 0 || fcntl(stop_pipe[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
            fcntl(stop_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
            return false;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    /* SA_RESTART: an output write that the signal interrupts carries on, so
     * the batch in hand is written whole before we stop. */
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGINT, &sa, NULL) == 0 && sigaction(SIGTERM, &sa, NULL) == 0;
}

/* ------------------------------------------------------------ status line */

struct status {
    int64_t every_ms;          /* 0: no status lines */
    int64_t next;              /* monotonic ms when the next line is due */
    int64_t last;              /* monotonic ms of the previous line (or the start) */
    uint64_t batches, rows, bytes;
    uint64_t rows_then, bytes_then; /* at the previous line */
    bool have_entry;
    int64_t execute_time;      /* of the last entry received */
    char position[160];        /* its binlog file:offset */
};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void status_init(struct status *st, int every_s) {
    memset(st, 0, sizeof *st);
    st->every_ms = (int64_t)every_s * 1000;
    st->last = mono_ms();
    st->next = st->last + st->every_ms;
}

/* Count a batch that was written and acked. */
static void status_batch(struct status *st, const canal_message *m, uint64_t rows) {
    const canal_header *h;
    size_t n = 0;

    st->batches++;
    st->rows += rows;
    for (size_t i = 0; i < m->n_entries; i++)
        st->bytes += m->entries[i].raw.len;
    if (m->n_entries == 0)
        return;
    h = &m->entries[m->n_entries - 1].header;
    st->have_entry = true;
    st->execute_time = h->execute_time;
    /* The file name is the server's text: keep it to one printable line. */
    for (size_t i = 0; i < h->logfile_name.len && n < sizeof st->position - 32; i++) {
        unsigned char ch = (unsigned char)h->logfile_name.ptr[i];
        st->position[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    snprintf(st->position + n, sizeof st->position - n, ":%" PRId64, h->logfile_offset);
}

/* Print the status line if it is due: batches and rows so far, rates since
 * the previous line, lag (now minus the last entry's execute time) and the
 * last binlog position. One write to stderr, so lines never interleave. */
static void status_tick(struct status *st) {
    int64_t now = mono_ms(), wall = 0;
    double secs;
    char line[400], lag[32];

    if (st->every_ms <= 0 || now < st->next)
        return;
    secs = (double)(now - st->last) / 1000.0;
    if (secs <= 0)
        secs = 0.001;
    if (st->have_entry && now_ms(&wall))
        snprintf(lag, sizeof lag, "%" PRId64, wall - st->execute_time);
    else
        snprintf(lag, sizeof lag, "-");
    snprintf(line, sizeof line,
             "example: status batches=%" PRIu64 " rows=%" PRIu64 " rows/s=%.1f bytes/s=%.0f "
             "lag_ms=%s position=%s\n",
             st->batches, st->rows, (double)(st->rows - st->rows_then) / secs,
             (double)(st->bytes - st->bytes_then) / secs, lag,
             st->have_entry ? st->position : "-");
    fputs(line, stderr);
    st->rows_then = st->rows;
    st->bytes_then = st->bytes;
    st->last = now;
    while (st->next <= now)
        st->next += st->every_ms;
}

/* Wait ms milliseconds, less when asked to stop; status lines that fall due
 * meanwhile are printed on time. */
static void pause_ms(struct status *st, int ms) {
    int64_t end = mono_ms() + ms;

    while (!stop_requested) {
        int64_t now = mono_ms(), left = end - now;
        struct pollfd p = {stop_pipe[0], POLLIN, 0};

        if (left <= 0)
            return;
        status_tick(st);
        if (st->every_ms > 0 && st->next - now < left)
            left = st->next > now ? st->next - now : 0;
        (void)poll(&p, 1, (int)left);
    }
}

/* ------------------------------------------------------------ the loop */

/* Errors another attempt cannot fix: a refused login, an invalid option, or
 * bytes we cannot take (a malformed reply or entry, a frame over max_frame:
 * the batch would come again and fail again), or no memory. Everything else
 * (the server gone, slow or restarting; a request refused for now) is worth
 * another try after a pause. */
static bool cannot_heal(int err) {
    return err == CANAL_EAUTH || err == CANAL_EINVAL || err == CANAL_EPROTO ||
           err == CANAL_ETOOBIG || err == CANAL_ENOMEM;
}

/* Connect, subscribe and follow, reconnecting after failures. Returns the
 * exit status. */
static int run(canal_client *c, const struct config *cfg, struct work *w, struct status *st) {
    long batches = 0;
    int delay = cfg->retry_min_ms; /* the pause after the next failure */

    for (;;) {
        const canal_message *m = NULL;
        const char *what;
        int rc;

        status_tick(st);
        if (stop_requested)
            return 0;
        if (!canal_is_connected(c)) {
            what = "connect"; /* which subscribes too (subscribe_on_connect) */
            rc = canal_connect(c);
        } else {
            what = "get";
            rc = canal_get(c, cfg->batch_size, cfg->timeout_ms, &m);
        }
        if (rc == CANAL_OK && m && m->batch_id != -1) {
            /* Render everything, write everything, and only then ack: an
             * error anywhere before the ack leaves the batch on the server. */
            if (!render_batch(c, cfg, w, m) || !write_out(&w->out))
                return 1;
            what = "ack";
            rc = canal_ack(c, m->batch_id);
            if (rc == CANAL_OK)
                status_batch(st, m, w->rows);
        }
        if (rc < 0) {
            if (rc == CANAL_EINTR || stop_requested)
                return 0;
            fprintf(stderr, "example: %s failed: %s%s\n", what, canal_errstr(c),
                    cannot_heal(rc) ? "" : "; will retry");
            if (cannot_heal(rc))
                return 1;
            /* Some errors leave the connection open (a refused subscribe):
             * start over from connect whatever happened. */
            canal_disconnect(c);
            fprintf(stderr, "example: retrying in %d ms\n", delay);
            pause_ms(st, delay);
            delay = delay > cfg->retry_max_ms / 2 ? cfg->retry_max_ms : delay * 2;
            continue;
        }
        if (!m)
            continue; /* connected and subscribed: now get */
        delay = cfg->retry_min_ms; /* a reply: the link works again */
        if (m->batch_id == -1) { /* nothing new within timeout_ms; never ack -1 */
            if (cfg->exit_when_idle)
                return 0;
            /* The server answered at once: pause before asking again
             * rather than spin (as Canal's own samples do). */
            if (cfg->timeout_ms < 0)
                pause_ms(st, 1000);
            continue;
        }
        if (cfg->max_batches > 0 && ++batches >= cfg->max_batches)
            return 0;
    }
}

#ifdef CANAL_ZOOKEEPER
/* The same loop in ZooKeeper mode: the server comes from ZooKeeper, and of
 * several copies with one client id only one consumes. A standby says so
 * once and keeps calling; each call returns within --zk-wait-ms. */
static int run_zk(const struct config *cfg, struct work *w) {
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

        if (stop_requested) { /* the module's own waits (--zk-wait-ms) do not see the pipe */
            status = 0;
            break;
        }
        rc = canal_zk_subscribe(z, cfg->opt.filter);
        if (rc == CANAL_OK)
            rc = canal_zk_get(z, cfg->batch_size, cfg->timeout_ms, &m);
        if (rc == CANAL_ZK_EPASSIVE || rc == CANAL_ZK_ENOSERVER || rc == CANAL_ZK_EZK) {
            if (rc != last) /* standing by, no server yet, ZooKeeper away: keep trying */
                fprintf(stderr, "example: %s\n", canal_zk_errstr(z));
            last = rc;
            continue;
        }
        last = rc;
        if (rc == CANAL_EINTR || stop_requested) { /* SIGINT/SIGTERM: a clean stop */
            status = 0;
            break;
        }
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
          "  --password-file FILE     read the password from the first line of FILE;\n"
          "                           the way to prefer (make the file mode 0600)\n"
          "  --password TEXT          password; visible to every user in ps: avoid\n"
          "                           (without either: $CANAL_PASSWORD, else none)\n"
          "  --filter REGEX           table filter, e.g. 'shop\\..*'; it replaces the\n"
          "                           filter of the whole destination (server's)\n"
          "  --batch-size N           entries per batch (1000)\n"
          "  --timeout-ms N           how long the server may wait to fill a batch;\n"
          "                           -1 answers at once, 0 waits for a full batch (1000)\n"
          "  --read-timeout-ms N      longest silence while a reply is due, on top of\n"
          "                           the server's wait (60000)\n"
          "  --connect-timeout-ms N   TCP connect deadline (10000)\n"
          "  --retry-min-ms N         first pause before reconnecting after a failure;\n"
          "                           it doubles with each failure in a row (500)\n"
          "  --retry-max-ms N         longest pause (30000)\n"
          "  --status-every N         a status line on stderr every N seconds:\n"
          "                           batches, rows, rates, lag, position (0 = off)\n"
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
          "Errors that may heal (server down, timeouts, server errors) are retried\n"
          "forever; SIGINT/SIGTERM stop it after the batch in hand is written and acked.\n"
          "Exit status: 0 done or stopped, 1 error that cannot heal, 2 bad command line.\n",
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
    enum { HOST = 256, PORT, DEST, CLIENT_ID, USER, PASSWORD, PASSWORD_FILE, FILTER,
           BATCH_SIZE, TIMEOUT, READ_TIMEOUT, CONNECT_TIMEOUT, RETRY_MIN, RETRY_MAX,
           STATUS_EVERY, MAX_BATCHES, EXIT_IDLE, JSON, HELP, ZK_HOSTS, ZK_SESSION, ZK_WAIT,
           RETRY_TIMES, RETRY_INTERVAL };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, HOST},
        {"port", required_argument, NULL, PORT},
        {"destination", required_argument, NULL, DEST},
        {"client-id", required_argument, NULL, CLIENT_ID},
        {"user", required_argument, NULL, USER},
        {"password", required_argument, NULL, PASSWORD},
        {"password-file", required_argument, NULL, PASSWORD_FILE},
        {"filter", required_argument, NULL, FILTER},
        {"batch-size", required_argument, NULL, BATCH_SIZE},
        {"timeout-ms", required_argument, NULL, TIMEOUT},
        {"read-timeout-ms", required_argument, NULL, READ_TIMEOUT},
        {"connect-timeout-ms", required_argument, NULL, CONNECT_TIMEOUT},
        {"retry-min-ms", required_argument, NULL, RETRY_MIN},
        {"retry-max-ms", required_argument, NULL, RETRY_MAX},
        {"status-every", required_argument, NULL, STATUS_EVERY},
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
    bool ok = true;

    /* The library's defaults, then ours, then the command line. */
    canal_options_init(o);
    o->filter = ""; /* keep the server's */
    o->subscribe_on_connect = true;
    cfg->password_file = NULL;
    cfg->batch_size = 1000;
    cfg->retry_min_ms = 500;
    cfg->retry_max_ms = 30000;
    cfg->status_every_s = 0;
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
        /* the last of --password and --password-file wins */
        case PASSWORD: o->password = optarg; cfg->password_file = NULL; break;
        case PASSWORD_FILE: cfg->password_file = optarg; o->password = NULL; break;
        case FILTER: o->filter = optarg; break;
        case BATCH_SIZE: ok = parse_int("batch-size", optarg, 1, INT_MAX, &cfg->batch_size); break;
        case TIMEOUT: /* any negative wait means "answer at once" (-1), as in the Java client */
            ok = parse_int("timeout-ms", optarg, INT_MIN, INT_MAX, &cfg->timeout_ms);
            if (cfg->timeout_ms < 0) cfg->timeout_ms = -1;
            break;
        case READ_TIMEOUT:
            ok = parse_int("read-timeout-ms", optarg, 1, INT_MAX, &o->read_timeout_ms);
            break;
        case CONNECT_TIMEOUT:
            ok = parse_int("connect-timeout-ms", optarg, 1, INT_MAX, &o->connect_timeout_ms);
            break;
        case RETRY_MIN:
            ok = parse_int("retry-min-ms", optarg, 1, INT_MAX, &cfg->retry_min_ms);
            break;
        case RETRY_MAX:
            ok = parse_int("retry-max-ms", optarg, 1, INT_MAX, &cfg->retry_max_ms);
            break;
        case STATUS_EVERY:
            ok = parse_int("status-every", optarg, 0, 86400, &cfg->status_every_s);
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
    if (ok && cfg->retry_min_ms > cfg->retry_max_ms) {
        fprintf(stderr, "example: --retry-min-ms %d is above --retry-max-ms %d\n",
                cfg->retry_min_ms, cfg->retry_max_ms);
        ok = false;
    }
    if (ok && (o->host[0] == '\0' || o->destination[0] == '\0')) {
        fprintf(stderr, "example: --host and --destination must not be empty\n");
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "Try 'example --help'.\n");
        return 2;
    }
    return -1;
}

/* The first line of a password file, without its line end, in memory of
 * its own (wiped and freed by main once the client has hashed it). NULL
 * after printing why. */
static char *read_password_file(const char *path) {
    char *p = malloc(1024);
    size_t n;
    FILE *f;

    if (!p) {
        fprintf(stderr, "example: out of memory\n");
        return NULL;
    }
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "example: --password-file %s: %s\n", path, strerror(errno));
        free(p);
        return NULL;
    }
    if (!fgets(p, 1024, f))
        p[0] = '\0'; /* an empty file is an empty password */
    n = strlen(p);
    if (n == 1023 && p[n - 1] != '\n') {
        fprintf(stderr, "example: --password-file %s: the first line is too long\n", path);
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    if (n > 0 && p[n - 1] == '\n')
        p[--n] = '\0';
    if (n > 0 && p[n - 1] == '\r')
        p[--n] = '\0';
    return p;
}

static void free_secret(char *p) {
    if (p) {
        volatile char *v = p; /* a plain memset before free may be optimised away */
        while (*v)
            *v++ = '\0';
        free(p);
    }
}

int main(int argc, char **argv) {
    struct config cfg;
    struct work w;
    struct status st;
    canal_client *c;
    char *secret = NULL;
    int status = parse_args(argc, argv, &cfg);

    if (status >= 0)
        return status;
    if (canal_version() != CANAL_VERSION_NUMBER) {
        fprintf(stderr, "example: built with canal.h %s but linked with canal.c %d\n",
                CANAL_VERSION, canal_version());
        return 1;
    }
    if (cfg.password_file) {
        if (!(secret = read_password_file(cfg.password_file)))
            return 2;
        cfg.opt.password = secret;
    } else if (!cfg.opt.password) {
        cfg.opt.password = getenv("CANAL_PASSWORD"); /* NULL: no password */
    }
    if (!setup_stop()) {
        fprintf(stderr, "example: cannot set up signal handling: %s\n", strerror(errno));
        free_secret(secret);
        return 1;
    }
    cfg.opt.interrupt_fd = stop_pipe[0];
    memset(&w, 0, sizeof w);
    if (cfg.json && !(w.flat = canal_flat_new())) {
        fprintf(stderr, "example: cannot create the JSON writer (out of memory?)\n");
        free_secret(secret);
        return 1;
    }
#ifdef CANAL_ZOOKEEPER
    if (cfg.zk_hosts) {
        status = run_zk(&cfg, &w);
        free_secret(secret);
        work_free(&w);
        return status;
    }
#endif
    /* The options were checked above, so NULL here means out of memory. */
    c = canal_client_new(&cfg.opt);
    free_secret(secret); /* the client keeps only a hash */
    if (!c) {
        fprintf(stderr, "example: cannot create the client (out of memory?)\n");
        work_free(&w);
        return 1;
    }
    status_init(&st, cfg.status_every_s);
    status = run(c, &cfg, &w, &st);
    work_free(&w);
    canal_client_free(c);
    return status;
}
