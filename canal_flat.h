/*
 * canal_flat.h - FlatMessage JSON for canal-c (optional module).
 *
 * Turns a ROWDATA entry and its decoded RowChange into one line of the JSON
 * that Canal's MQ producers put on Kafka, RocketMQ and the like (a
 * "FlatMessage"), exactly as PROTOCOL.md section 8 specifies: the same keys
 * in the same (alphabetical) order, values as strings or null, so a line
 * written here and Canal's own line for the same entry differ only in "ts".
 *
 * Built on canal.h only: vendor canal_flat.h and canal_flat.c next to canal.h
 * and canal.c if you want JSON; leave them out if you do not.
 *
 *     canal_flat *f = canal_flat_new();
 *     for (size_t i = 0; i < m->n_entries; i++) {
 *         const canal_entry *e = &m->entries[i];
 *         canal_rowchange rc;
 *         if (!canal_flat_wants(e)) continue;            // begin/end, heartbeat...
 *         if (canal_entry_rowchange(c, e, &rc) < 0) die(canal_errstr(c));
 *         if (canal_flat_write(f, m->batch_id, now_ms, e, &rc, to_file, stdout) < 0)
 *             die(canal_flat_errstr(f));
 *     }
 *     canal_flat_free(f);
 *
 * Memory: a canal_flat keeps scratch tables (an index of column names, a
 * 16 KiB output chunk) that grow to the widest entry seen and are reused, so
 * once warm a stream of entries allocates nothing. Everything it is given
 * (entry, rowchange, the strings they point to) is only read, and only during
 * the call; nothing is kept afterwards. Time and memory are linear in the
 * size of the entry (column names are found through a hash table, not by
 * scanning).
 *
 * Errors: every call returns CANAL_OK or a negative canal_err, and
 * canal_flat_errstr says what went wrong and where (entry, row, column). One
 * canal_flat is for one thread at a time; it is the caller's to share or not.
 */
#ifndef CANAL_FLAT_H
#define CANAL_FLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct canal_flat canal_flat;

/* A new writer (malloc), or NULL when out of memory. */
canal_flat *canal_flat_new(void);

/* Free a writer; NULL is a no-op. */
void canal_flat_free(canal_flat *f);

/* The last error as text ("" after a success); owned by f, valid until the
 * next call on f. */
const char *canal_flat_errstr(const canal_flat *f);

/* Does this entry produce a FlatMessage? Only an entry whose entryType was on
 * the wire and is ROWDATA does (PROTOCOL.md 8.1): transaction begin/end,
 * heartbeats, GTID entries and an absent type produce nothing. */
bool canal_flat_wants(const canal_entry *e);

/* Receives the output. It may be called several times for one line (the
 * line arrives in order, in pieces of up to 16 KiB; the last piece ends with
 * '\n'); p is valid only during the call. Return 0 to go on, anything else
 * to stop: canal_flat_write then returns CANAL_EIO and the receiver holds a
 * partial line, which it should drop. */
typedef int (*canal_flat_write_fn)(void *ud, const char *p, size_t n);

/* Write the FlatMessage of entry e, whose RowChange is rc (from
 * canal_entry_rowchange or canal_rowchange_parse on e's store_value), as one
 * '\n'-terminated line through fn. batch_id is the "id" key (the batch the
 * entry came in), ts_ms the "ts" key (conversion time, ms since the epoch).
 *
 * Returns CANAL_OK; CANAL_EINVAL for a NULL argument or an entry
 * canal_flat_wants refuses (nothing written); CANAL_EPROTO when a string the
 * line needs is not valid UTF-8 (possible only when the client was told not
 * to validate; JSON must be UTF-8 and Canal's Java would not have made such an
 * entry); CANAL_ENOMEM; CANAL_EIO when fn returned non-zero. After an error
 * fn may have received part of the line. */
int canal_flat_write(canal_flat *f, int64_t batch_id, int64_t ts_ms, const canal_entry *e,
                     const canal_rowchange *rc, canal_flat_write_fn fn, void *ud);

/* The same line written into buf (cap bytes, which may be 0 with buf NULL),
 * not NUL-terminated. *len is set to the length of the whole line, whether or
 * not it fitted, so a short buffer can be grown to *len and the call repeated
 * (as with snprintf). Returns CANAL_OK when the line fitted; CANAL_ETOOBIG
 * when it did not (buf then holds its first cap bytes, to be ignored); the
 * other errors as canal_flat_write (with *len 0). */
int canal_flat_render(canal_flat *f, int64_t batch_id, int64_t ts_ms, const canal_entry *e,
                      const canal_rowchange *rc, char *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* CANAL_FLAT_H */
