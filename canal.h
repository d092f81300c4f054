/*
 * canal.h - canal-c, a small blocking client for Alibaba Canal.
 *
 * Canal reads a MySQL binlog and serves it as a stream of row changes over a
 * framed protobuf protocol on TCP (port 11111 by default). canal-c speaks that
 * protocol the way the official Java client (SimpleCanalConnector) does, with
 * no threads, no event loop and no global state: every call blocks until it is
 * done, a bound you configured passes (silence, the whole call) or the caller
 * interrupts it (interrupt_fd), and then returns a status code.
 *
 * Build it in: compile canal.c and the pb/ codecs, link nanopb (Debian:
 * libnanopb-dev, or the sources of nanopb with NANOPB_DIR=... in our Makefile).
 * Or take the amalgamation (README, "Vendoring"), or the installed libcanal.
 *
 * nanopb: compile canal.c and the codecs with the same PB_* macros as the
 * nanopb runtime you link. What a mismatch does, and what catches it:
 *  - PB_FIELD_32BIT and PB_NO_ERRMSG change the layout of nanopb's structs:
 *    wrong values or a crash. nanopb exports the same symbols either way, so
 *    neither the compiler nor the linker can see it: NOT caught.
 *  - PB_WITHOUT_64BIT: canal.c refuses to compile with it, and canal.o needs
 *    pb_decode_varint, which such a runtime lacks: a link error.
 *  - PB_ENABLE_MALLOC, PB_BUFFER_ONLY, PB_VALIDATE_UTF8: harmless for canal-c
 *    (same layouts; canal-c only uses buffer streams and callback fields).
 * The self-contained amalgamation and the installed libcanal compile nanopb
 * into canal.c itself (internal), so no mismatch can arise there.
 *
 *     canal_options o;
 *     canal_options_init(&o);
 *     o.host = "10.0.0.5";
 *     canal_client *c = canal_client_new(&o);
 *     if (!c || canal_connect(c) < 0 || canal_subscribe(c, "shop\\..*") < 0)
 *         die(c ? canal_errstr(c) : "out of memory");
 *     for (;;) {
 *         const canal_message *m;
 *         if (canal_get(c, 1000, 1000, &m) < 0) die(canal_errstr(c));
 *         for (size_t i = 0; i < m->n_entries; i++) handle(c, &m->entries[i]);
 *         if (m->batch_id != -1 && canal_ack(c, m->batch_id) < 0) die(canal_errstr(c));
 *     }
 *     canal_client_free(c);
 *
 * Clusters: canal_options.host may list several servers; canal_connect goes
 * over them as Java's cluster connector does. ZooKeeper discovery and one
 * active consumer per client id are in the optional canal_zk.h (it uses
 * libzookeeper's threaded build, so that a consumer busy with a batch keeps
 * its ZooKeeper session; canal.c itself never starts a thread).
 *
 * Errors: every call returns CANAL_OK (0) or a negative canal_err; the client
 * keeps the last error's code and text (canal_errcode, canal_errstr). Nothing
 * aborts, prints or raises a signal (SIGPIPE is suppressed per send).
 *
 * Memory: the client allocates through the hooks in canal_options (malloc,
 * realloc and free by default). It keeps one receive buffer that grows with
 * the bytes of a frame as they arrive (never beyond max_frame) and is
 * reused, plus a few reusable arrays for decoded entries and rows; a steady
 * stream of batches allocates nothing once these have grown. Decoding a
 * batch or a row change may add at most max_decoded bytes to that (by
 * default 16 times the bytes decoded plus 1 MiB), checked before anything
 * grows: a batch of a million empty entries in 2 MB is refused with
 * CANAL_ETOOBIG rather than taking 200 MB. After a freak batch the client
 * gives the memory back: every 16 frames (batches, row changes), a buffer
 * holding over 4 times what those needed shrinks to it. GETs in flight
 * (get_pipeline) cost no memory: their replies wait in the socket until
 * canal_get reads them, one frame at a time, into that one buffer.
 *
 * Decoding follows protobuf's rules (those of Google's C++ parser, and of
 * Java where they differ): unknown fields, groups and fields sent with
 * another wire type than theirs are skipped, the last value of a field
 * wins, a message field sent twice is merged; a tag or a length is read as
 * Java reads it (the low 32 bits of a varint of up to 10 bytes).
 *
 * Limits: frames larger than max_frame (256 MiB by default) are refused before
 * anything is allocated for them. Host names are resolved with getaddrinfo,
 * which may block past the connect timeout while DNS is unreachable.
 */
#ifndef CANAL_H
#define CANAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CANAL_VERSION_MAJOR 0
#define CANAL_VERSION_MINOR 1
#define CANAL_VERSION_PATCH 0
#define CANAL_VERSION "0.1.0"
#define CANAL_VERSION_NUMBER \
    (CANAL_VERSION_MAJOR * 10000 + CANAL_VERSION_MINOR * 100 + CANAL_VERSION_PATCH)

/* The largest frame accepted unless canal_options.max_frame says otherwise.
 * 256 MiB is what the Canal spec allows; lower it on small hosts. */
#ifndef CANAL_DEFAULT_MAX_FRAME
#define CANAL_DEFAULT_MAX_FRAME (256u * 1024u * 1024u)
#endif

/* canal_options.get_pipeline: the most GETs kept in flight, and the
 * default (1 = one GET at a time). */
#define CANAL_MAX_PIPELINE 32
#ifndef CANAL_DEFAULT_PIPELINE
#define CANAL_DEFAULT_PIPELINE 4
#endif

/* The version of the canal.c that was linked, CANAL_VERSION_NUMBER style.
 * Compare with CANAL_VERSION_NUMBER to catch a header/source mismatch. */
int canal_version(void);

/* ---------------------------------------------------------------- errors */

typedef enum canal_err {
    CANAL_OK = 0,
    CANAL_EIO = -1,      /* socket error, connection refused or closed by the peer */
    CANAL_ETIMEOUT = -2, /* connect or read deadline passed */
    CANAL_EPROTO = -3,   /* the server sent bytes that break the protocol */
    CANAL_ESERVER = -4,  /* the server answered with an error Ack; see canal_server_code */
    CANAL_EAUTH = -5,    /* the server refused the user name or password */
    CANAL_EINVAL = -6,   /* a bad argument from the caller */
    CANAL_ESTATE = -7,   /* the call does not fit the client's state (e.g. get before connect) */
    CANAL_ETOOBIG = -8,  /* a frame longer than max_frame, or a request too large to send */
    CANAL_ENOMEM = -9,   /* an allocation failed */
    CANAL_EINTR = -10    /* interrupt_fd was readable: the caller asked to stop */
} canal_err;

/* A fixed English name for a code ("CANAL_ETIMEOUT"), never NULL. */
const char *canal_strerror(int err);

/* ---------------------------------------------------------------- options */

/* Allocation hooks: the same contract as malloc, realloc and free, with the
 * user pointer from canal_options passed first. free_fn may get NULL. */
typedef void *(*canal_malloc_fn)(void *ud, size_t size);
typedef void *(*canal_realloc_fn)(void *ud, void *ptr, size_t size);
typedef void (*canal_free_fn)(void *ud, void *ptr);

/* What the trace hook sees: one request sent or one reply read. Nothing of
 * the body: never the password or its hash. */
typedef struct canal_trace {
    bool sent;             /* true: a request sent; false: a reply read */
    int type;              /* Packet type: 1 HANDSHAKE, 2 CLIENTAUTHENTICATION,
                              3 ACK, 4 SUBSCRIPTION, 5 UNSUBSCRIPTION, 6 GET,
                              7 MESSAGES, 8 CLIENTACK, 12 CLIENTROLLBACK */
    const char *type_name; /* "GET", "MESSAGES", ...; static, never NULL */
    size_t length;         /* of the frame, without its 4-byte length */
    int64_t batch_id;      /* MESSAGES (-1: empty), CLIENTACK, CLIENTROLLBACK
                              (0: all); 0 otherwise */
    size_t n_entries;      /* MESSAGES: entries in the batch */
    int error_code;        /* ACK: the server's error code; 0 for success */
} canal_trace;

/* Called from inside the client's calls; it must not call the client. */
typedef void (*canal_trace_fn)(void *ud, const canal_trace *t);

typedef struct canal_options {
    /* The server's host name or address, or several servers as a list,
     * "h1:11111,h2:11111,[::1]:11111": each entry host, host:port or
     * [IPv6]:port (a bare IPv6 address alone is a host), commas between,
     * spaces around entries ignored. canal_connect goes over the list (see
     * there). "127.0.0.1" */
    const char *host;
    int port;                /* for entries without a port; 11111 */
    /* With a list: how many connect attempts canal_connect makes, each on the
     * next server, before it gives up; 0 means 3 with a list (Java's
     * ClusterCanalConnector) and 1 with a single server (as its
     * SimpleCanalConnector). >= 0; 0 */
    int retry_times;
    /* The pause between those attempts. >= 0; 5000, as Java's */
    int retry_interval_ms;
    const char *destination; /* the Canal instance; "example" */
    int client_id;           /* a Java short, -32768..32767; 1001 */
    const char *username;    /* NULL or "" sends no user name; NULL */
    /* The table filter canal_subscribe(c, NULL) sends, a regex such as
     * "shop\\..*" ("" keeps the server's). Copied. "" */
    const char *filter;
    /* NULL sends no password; "" is an empty password and is hashed like any
     * other. Only SHA-1(password) is kept, computed in canal_client_new; the
     * caller's copy is the caller's to wipe. NULL */
    const char *password;
    int connect_timeout_ms;  /* TCP connect deadline, > 0; 10000 */
    /* The longest silence while a reply is due: how long the client waits
     * for the next byte, as the Java client's soTimeout does. A large batch
     * on a slow link arrives however long it takes, as long as bytes keep
     * coming; a dead or stuck server is noticed after this long. Before the
     * first byte of a GET reply the GET's own wait is added, so no wait can
     * trip it (see canal_get). Too short fails healthy but slow servers (a
     * GC pause, a busy disk); too long notices a hung server late. > 0;
     * 60000, like the Java client. */
    int read_timeout_ms;
    /* A bound on each whole call, from its start, whatever the server sends
     * (decoding the batch counts too):
     * against a server that drips bytes forever, or for a caller that must
     * answer within a time. The price: a batch that takes longer to arrive
     * (large, slow link) fails every time it is redelivered, and the client
     * never gets past it; size it for the largest batch you expect, or leave
     * it off. >= 0; 0 = no bound. 0 */
    int call_timeout_ms;
    /* TCP keepalive: after keepalive_idle_s seconds without traffic the
     * kernel probes the peer every keepalive_interval_s seconds and gives up
     * after keepalive_count unanswered probes, failing the call with
     * CANAL_EIO. This is what finds a server that died without a word (host
     * gone, cable pulled) during a GET with no wait limit; the defaults
     * notice it within about two minutes at a cost of one small packet per
     * idle minute. keepalive_idle_s 0 turns keepalive off. 0..32767,
     * 0..32767, 0..127 (the others > 0 when idle is); 60, 10, 6 */
    int keepalive_idle_s;
    int keepalive_interval_s;
    int keepalive_count;
    /* A descriptor the client polls beside its socket while it waits: when
     * it is readable, the waiting call returns CANAL_EINTR at once (closing
     * the connection if a reply was due), and canal_connect, canal_get,
     * canal_subscribe and canal_unsubscribe return CANAL_EINTR before
     * sending anything; canal_ack and canal_rollback, which do not wait for
     * a reply, still go out. The client never reads it: it stays readable
     * until the caller drains it, so there is no race between a signal and
     * a wait. Usual use: the read end of a pipe whose write end a SIGTERM
     * handler writes a byte to (write is async-signal-safe); one pipe can
     * serve many clients. Not covered: host name resolution (getaddrinfo),
     * see "Limits" above. -1: none (the client then retries EINTR itself,
     * and signals do not shorten a call). -1 */
    int interrupt_fd;
    /* Subscribe (with the last filter, at first `filter`) in every
     * canal_connect, the first one included, so that "canal_connect while
     * not connected" is the whole recovery recipe, with no need to know
     * whether a subscribe ever succeeded. false: subscribe again only after
     * a successful canal_subscribe, as the Java client does. false */
    bool subscribe_on_connect;
    /* Sent in ClientAuth: the server closes the connection after this many
     * ms without a request (<= 0: the server's default, one hour). 3600000
     * like the Java client. */
    int idle_timeout_ms;
    /* GETs kept in flight. canal_get sends GETs until this many are
     * unanswered, then reads the oldest reply: while you work on a batch the
     * next ones are on their way, and the round trip to the server no longer
     * adds to every batch. 1 sends one GET at a time, as the Java client
     * does. Only while batches come: after an empty one, one GET at a time
     * until data flows again. Replies in flight wait in the socket's
     * buffers, not in the client's memory. With rollback_on_connect off, a
     * connection lost with GETs in flight leaves the batches they fetched
     * on the server, never handed out: canal_rollback(c, 0) after such a
     * reconnect. 1..CANAL_MAX_PIPELINE; CANAL_DEFAULT_PIPELINE */
    int get_pipeline;
    size_t max_frame;        /* refuse larger frames; CANAL_DEFAULT_MAX_FRAME */
    /* The most memory decoding one batch or one row change may add to the
     * client, in bytes; past it the call fails with CANAL_ETOOBIG (and a
     * canal_get closes the connection), before anything grows. 0: 16 times
     * the bytes being decoded plus 1 MiB, which Canal's densest real data
     * (about 11 times) stays under. 0 */
    size_t max_decoded;
    /* Send rollback-all after every connect (as the Java client does), so a
     * reconnect redelivers what was not acked. true */
    bool rollback_on_connect;
    /* Check that every string in decoded entries is valid UTF-8, as Canal's
     * Java parser does. Turning it off passes the bytes through unchecked.
     * true */
    bool validate_utf8;
    /* Allocation hooks; all three or none. NULL: the C library's. */
    canal_malloc_fn malloc_fn;
    canal_realloc_fn realloc_fn;
    canal_free_fn free_fn;
    void *alloc_ud;
    /* No-heap mode: when heap is set, the client lives inside this buffer
     * of heap_size bytes (at least CANAL_MIN_HEAP) and never calls malloc
     * or the hooks above. A frame that does not fit what is left of it
     * fails with CANAL_ETOOBIG; the connection can be made again. The
     * buffer belongs to the caller and must outlive the client. NULL */
    void *heap;
    size_t heap_size;
    /* Called for every request sent and every reply read (see canal_trace),
     * with trace_ud: to log the traffic without a packet capture. NULL */
    canal_trace_fn trace_fn;
    void *trace_ud;
} canal_options;

/* The smallest buffer no-heap mode accepts; a few times the largest frame
 * expected (plus the decoded rows of one entry) is what it needs, whatever
 * get_pipeline is: replies in flight are read one at a time into the same
 * frame buffer, so pipelining needs no room of its own. */
#define CANAL_MIN_HEAP 32768

/* Fill *o with the defaults documented above. */
void canal_options_init(canal_options *o);

/* ---------------------------------------------------------------- lifecycle */

typedef struct canal_client canal_client;

/* Make a client from *o (NULL: the defaults). The strings in *o are copied;
 * the caller may free them afterwards. Does not touch the network.
 * Returns NULL only when out of memory, or when heap is set with a
 * heap_size below CANAL_MIN_HEAP (there is nowhere to put a client). An invalid option (a client id
 * outside a short, an empty host or destination, a port outside 1..65535, a
 * connect or read timeout <= 0, a call timeout or keepalive setting out of
 * its range, an interrupt_fd that is not open, max_frame outside
 * 16..2^31-1, get_pipeline outside 1..CANAL_MAX_PIPELINE, half-set
 * allocation hooks)
 * still gives a client: canal_errcode is then CANAL_EINVAL, canal_errstr
 * names the option, and every call that needs the network fails the same
 * way (decoding with canal_message_parse works on any client). */
canal_client *canal_client_new(const canal_options *o);

/* Close the connection and free everything, including every message and row
 * the client handed out. NULL is a no-op. Freeing the same client twice is
 * undefined, as with free(). Closing may wait, as canal_disconnect does. */
void canal_client_free(canal_client *c);

/* Connect and log in: resolve the host, TCP connect within connect_timeout_ms
 * (TCP_NODELAY and keepalive on), read the server's handshake, send
 * ClientAuth with the password scrambled by the handshake seed (never in
 * clear), read the Ack. Then, if this client had subscribed before (a
 * reconnect) or subscribe_on_connect is set, subscribe with the last filter
 * (at first options.filter); then, if rollback_on_connect, roll back every
 * unacked batch so that the server redelivers it.
 *
 * With a server list (canal_options.host), each attempt takes the next
 * server in turn, as Java's ClusterCanalConnector does: the first connect
 * starts with the first server, and every later one (after an error, or
 * to move on) with the server after the one used last. An attempt that
 * fails in any way but CANAL_EINVAL or CANAL_ENOMEM (including a standby
 * that refuses the re-subscription because it does not run the
 * destination) is followed, after retry_interval_ms, by the next one, up to
 * retry_times attempts. Each attempt keeps the bounds above, so the call
 * returns within retry_times * (connect_timeout_ms + read_timeout_ms) +
 * (retry_times - 1) * retry_interval_ms; the error then says how many
 * attempts failed and why the last did.
 *
 * Calling it on a connected client closes the old connection first, so
 * "on any error, canal_connect again" is the whole recovery recipe. With
 * rollback_on_connect (the default) batch ids from before are dead after
 * it; without, the server keeps those batches and they can still be acked.
 *
 * Returns CANAL_OK, CANAL_EIO (resolve, refuse, reset), CANAL_ETIMEOUT,
 * CANAL_EPROTO (not a Canal server), CANAL_EAUTH (the server's code and text
 * in canal_server_code and canal_errstr), CANAL_ESERVER (the re-subscribe was
 * refused), CANAL_EINTR, CANAL_ENOMEM. On failure the client is left
 * disconnected. */
int canal_connect(canal_client *c);

/* Replace the server list (the same syntax as canal_options.host; entries
 * without a port take canal_options.port) for the next canal_connect, which
 * starts with its first server; the connection in use, if any, is left
 * alone. For an application that finds its servers itself (a service
 * registry, canal_zk.h's ZooKeeper mode does it with canal_connect_fd).
 * CANAL_EINVAL for a bad list (the client keeps its old one), CANAL_ENOMEM. */
int canal_set_servers(canal_client *c, const char *servers);

/* "host:port" of the server this client is connected to (its entry in the
 * list), or "" when not connected or connected with canal_connect_fd. Owned
 * by the client; valid until the next connect, set_servers or free. */
const char *canal_current_server(const canal_client *c);

/* Same as canal_connect over a socket the caller already connected (a Unix
 * socket, a tunnel, a socketpair in a test). The client owns fd from now on
 * and closes it on error, on canal_disconnect and on canal_client_free. */
int canal_connect_fd(canal_client *c, int fd);

/* Close the connection. There is no goodbye packet; the server keeps this
 * client's subscription and unacked batches for the next connect. Safe to
 * call when not connected. With GETs in flight and acks or rollbacks sent
 * after them, it first reads (and drops) the replies to those GETs, within
 * read_timeout_ms: the server takes requests in order and may drop a
 * connection whose replies it cannot deliver before it reaches the acks,
 * and an ack canal_ack sent must count, as with one GET at a time. */
void canal_disconnect(canal_client *c);

/* True while the client holds an authenticated connection. A transport or
 * protocol error closes it; a server error Ack that answers the request
 * itself does not. */
bool canal_is_connected(const canal_client *c);

/* ---------------------------------------------------------------- commands */

/* Subscribe this client (destination, client id) with a table filter, a regex
 * such as "shop\\..*" or "db.t1,db.t2"; "" keeps the server's filter, NULL
 * means the last filter subscribed with (at first canal_options.filter).
 * The filter applies to the whole destination, not to this client only.
 * Waits for the server's Ack. CANAL_ESERVER carries the server's refusal.
 * A later reconnect subscribes again with the same filter.
 *
 * GETs in flight (get_pipeline > 1) are answered first: their replies are
 * read and dropped, and if they brought batches, every unacked batch is
 * rolled back (as canal_rollback(c, 0)) so that those come again rather
 * than sit on the server under ids never handed out. */
int canal_subscribe(canal_client *c, const char *filter);

/* Remove the subscription; waits for the Ack. GETs in flight are answered
 * and given back first, as for canal_subscribe. */
int canal_unsubscribe(canal_client *c);

/* Fetch the next batch without acknowledging it.
 *
 * batch_size: entries wanted (the server may count it in KiB units of entry
 * memory); <= 0 means 1000. timeout_ms: how long the server may wait to fill
 * the batch; negative means "answer at once" (sent as -1); 0 means the server
 * waits until a full batch is there, with no limit of its own. The wait is
 * added to read_timeout_ms before the first byte of the reply (0: no limit
 * before it; keepalive finds a dead server, call_timeout_ms and interrupt_fd
 * still apply), so any value works with any read timeout.
 *
 * On CANAL_OK *out points to the batch, owned by the client and valid until
 * the next call on this client that reads from the server (canal_get,
 * canal_subscribe, canal_unsubscribe, canal_connect), canal_message_parse,
 * canal_disconnect or canal_client_free. canal_ack, canal_rollback and
 * canal_entry_rowchange leave it intact. An empty batch has batch_id -1 and no
 * entries; never ack it. Every entry's header is decoded; rows are decoded
 * only on request (canal_entry_rowchange).
 *
 * With get_pipeline > 1, once a batch came back, canal_get keeps that many
 * GETs in flight: it sends what is missing, then returns the reply to the
 * oldest, so batches arrive in order while you work. Batches are handed out
 * and acked as with one GET at a time; what differs: a GET already in flight
 * carries the batch_size and timeout_ms of the call that sent it; batch ids
 * of batches fetched and given back (canal_rollback, canal_subscribe) are
 * never handed out, so ids may skip; and the server holds get_pipeline
 * batches (not one) that are not acked yet.
 *
 * Errors: CANAL_ESERVER when the server answered with an error Ack. The
 * server does not confirm good acks and rollbacks, it only reports failures,
 * and such a report arrives where the next reply was due. When acks or
 * rollbacks were sent since the last reply and the Ack's text is one Canal
 * gives them (it names the batch, the Ack or Rollback request, or a missing
 * subscription or destination), the error says which ack or rollback the
 * server refused, and the connection is closed because it is out of step;
 * canal_connect resumes and the server redelivers every unacked batch. An
 * error Ack that names the GET itself ("Get:", or a missing subscription
 * when only rollbacks are pending, which the server ignores unsubscribed)
 * answers the GET and leaves the connection open; so does any error Ack
 * when nothing is pending. Any other text with acks or rollbacks pending
 * (Canal reports every server-side exception, a ZooKeeper error say,
 * through one catch-all) cannot be attributed: the connection is closed, so
 * the cost is a redelivery, never a misread reply. CANAL_EPROTO for a
 * malformed reply or entry (nothing of that batch is delivered), CANAL_EIO,
 * CANAL_ETIMEOUT (also when decoding the batch ran past call_timeout_ms),
 * CANAL_ETOOBIG (a frame past max_frame, or a batch whose decoding would
 * pass max_decoded), and CANAL_EINTR while waiting close the connection. */
typedef struct canal_message canal_message;
int canal_get(canal_client *c, int batch_size, int timeout_ms, const canal_message **out);

/* Confirm a batch: the server forgets it and moves this client's cursor past
 * it. batch_id -1 (an empty batch) is a successful no-op that sends nothing,
 * connected or not, as the server ignores it anyway (Java's samples ack every
 * batch). Batches must be acked in the order they were received, and only
 * batches still unacked on the server: the client checks both itself
 * (CANAL_EINVAL: 0, unknown, already acked, rolled back, or dropped by the
 * rollback a connect sends; CANAL_ESTATE: not the oldest unacked batch, or
 * after canal_unsubscribe) and sends nothing in those cases. The server does not answer
 * an ack; if it refuses one anyway, the refusal comes back from the next call
 * that reads a reply (see canal_get). With GETs in flight the server takes
 * the ack after their replies, so a refusal comes back where the reply to
 * the first GET sent after the ack was due, and the batches fetched in
 * between are handed out first. */
int canal_ack(canal_client *c, int64_t batch_id);

/* Give back unacked batches so that the next canal_get delivers their entries
 * again, under new batch ids. batch_id 0 rolls back every unacked batch (the
 * usual call); another id must be the oldest unacked batch, and the server
 * then rewinds to the last acked position anyway, redelivering the later
 * batches too. No reply is read, as with canal_ack. With GETs in flight any
 * id rolls back every unacked batch (the server would otherwise keep the
 * batches they fetch, under ids never handed out, ahead of every later
 * ack), and the replies to those GETs are dropped unread: the next
 * canal_get hands out the entries after the last ack, under new ids. */
int canal_rollback(canal_client *c, int64_t batch_id);

/* ---------------------------------------------------------------- errors */

/* The last error's code (CANAL_OK when the last call succeeded). */
int canal_errcode(const canal_client *c);

/* The last error as text: what failed and why, with the bad value or the
 * server's message. Owned by the client; valid until the next call on it.
 * "" after a success. Never contains the password or anything derived from
 * it. Text from the server in it is safe to print and log: control bytes,
 * the backslash and invalid UTF-8 are escaped (\n, \\, \x1b, \u009b,
 * \xff), valid UTF-8 is kept, and it is cut at about 320 bytes. */
const char *canal_errstr(const canal_client *c);

/* The error code the server sent with its last error Ack (400, 401, 402...),
 * or 0 when the last error was not the server's. */
int canal_server_code(const canal_client *c);

/* ---------------------------------------------------------------- messages */

/* A view of bytes owned by the client; ptr[len] is always '\0' for strings
 * (which may still contain '\0' inside: use len). ptr is never NULL. */
typedef struct canal_str {
    const char *ptr;
    size_t len;
} canal_str;

/* A view of raw protobuf bytes inside the received frame (no terminator). */
typedef struct canal_bytes {
    const uint8_t *ptr;
    size_t len;
} canal_bytes;

typedef struct canal_pair {
    canal_str key;
    canal_str value;
} canal_pair;

/* Entry types (EntryProtocol.proto). Unknown numbers are kept as they are. */
enum canal_entry_type {
    CANAL_ENTRY_UNSET = 0, /* ENTRYTYPECOMPATIBLEPROTO2: absent reads 0 */
    CANAL_TRANSACTIONBEGIN = 1,
    CANAL_ROWDATA = 2,
    CANAL_TRANSACTIONEND = 3,
    CANAL_HEARTBEAT = 4,
    CANAL_GTIDLOG = 5
};

/* Event types (EntryProtocol.proto). Unknown numbers are kept as they are. */
enum canal_event_type {
    CANAL_EVENT_UNSET = 0, /* EVENTTYPECOMPATIBLEPROTO2 */
    CANAL_INSERT = 1,
    CANAL_UPDATE = 2,
    CANAL_DELETE = 3,
    CANAL_CREATE = 4,
    CANAL_ALTER = 5,
    CANAL_ERASE = 6,
    CANAL_QUERY = 7,
    CANAL_TRUNCATE = 8,
    CANAL_RENAME = 9,
    CANAL_CINDEX = 10,
    CANAL_DINDEX = 11,
    CANAL_GTID = 12,
    CANAL_XACOMMIT = 13,
    CANAL_XAROLLBACK = 14,
    CANAL_MHEARTBEAT = 15
};

/* The protobuf names: "ROWDATA", "INSERT", "ENTRYTYPECOMPATIBLEPROTO2", ...;
 * "UNRECOGNIZED" for a number outside the enum. Never NULL. */
const char *canal_entry_type_name(int entry_type);
const char *canal_event_type_name(int event_type);

/* Entry.header. The has_ flags tell whether a presence field was on the wire;
 * absent fields read 0 or "". */
typedef struct canal_header {
    int32_t version;
    canal_str logfile_name;
    int64_t logfile_offset;
    int64_t server_id;
    canal_str server_encode; /* "serverenCode": "UTF-8" from the MySQL parser */
    int64_t execute_time;    /* binlog event time, ms since the epoch */
    int32_t source_type;     /* 2 = MYSQL */
    canal_str schema_name;
    canal_str table_name;
    int64_t event_length;
    int32_t event_type;      /* enum canal_event_type */
    canal_str gtid;
    const canal_pair *props; /* e.g. "rowsCount" */
    size_t n_props;
    bool has_version, has_source_type, has_event_type;
} canal_header;

typedef struct canal_entry {
    canal_bytes raw;         /* the whole serialized Entry, for forwarding */
    int32_t entry_type;      /* enum canal_entry_type; 0 when absent */
    bool has_entry_type;
    bool has_header;
    canal_header header;
    canal_bytes store_value; /* serialized RowChange (ROWDATA), TransactionBegin... */
    /* Which message of the client the entry belongs to (each decoded
     * message has a new one): canal_entry_rowchange refuses an entry of an
     * earlier message, even a copy of one whose bytes lie where the new
     * message's do. */
    uint64_t generation;
} canal_entry;

struct canal_message {
    int64_t batch_id;        /* -1: empty batch */
    size_t n_entries;
    const canal_entry *entries;
};

typedef struct canal_column {
    int32_t index;           /* position in the table */
    int32_t sql_type;        /* java.sql.Types: -5 BIGINT, 12 VARCHAR, 2004 BLOB... */
    canal_str name;
    canal_str value;         /* "" when is_null; binary types ISO-8859-1 encoded,
                                see canal_latin1_to_bytes */
    canal_str mysql_type;    /* e.g. "bigint(20)" */
    int32_t length;
    bool is_key;
    bool updated;            /* after image: the value changed */
    bool is_null;
    bool has_is_null;
    const canal_pair *props;
    size_t n_props;
} canal_column;

typedef struct canal_row {
    const canal_column *before; /* UPDATE and DELETE */
    size_t n_before;
    const canal_column *after;  /* INSERT and UPDATE */
    size_t n_after;
    const canal_pair *props;
    size_t n_props;
} canal_row;

typedef struct canal_rowchange {
    int64_t table_id;
    int32_t event_type;      /* enum canal_event_type */
    bool has_event_type;
    bool is_ddl;
    bool has_is_ddl;
    canal_str sql;           /* DDL and query text */
    canal_str ddl_schema_name;
    const canal_row *rows;
    size_t n_rows;
    const canal_pair *props;
    size_t n_props;
} canal_rowchange;

/* Decode the RowChange of a ROWDATA entry. *out and everything it points to
 * is owned by the client and valid until the next canal_entry_rowchange,
 * canal_get, canal_message_parse, canal_disconnect or canal_client_free:
 * decode, use, move on, and memory stays the size of one entry.
 * CANAL_EINVAL if e is not a ROWDATA entry; CANAL_ESTATE if it is not an
 * entry of the current message (its bytes may be gone; use
 * canal_rowchange_parse on bytes you kept), a copy of an entry included;
 * CANAL_EPROTO (with what and where) for malformed bytes or, with
 * validate_utf8, invalid UTF-8; CANAL_ETOOBIG past max_decoded. */
int canal_entry_rowchange(canal_client *c, const canal_entry *e, canal_rowchange *out);

/* Decode serialized RowChange bytes (an entry's store_value kept from an
 * earlier batch, say) the same way; *out lives as with
 * canal_entry_rowchange, buf must not change while it is in use. buf must
 * not lie in the strings and arrays the client decoded (a column value that
 * holds a serialized RowChange, say): the decode reuses that memory, so such
 * a call fails with CANAL_EINVAL; copy the bytes out first. An entry's
 * store_value (inside the received frame) is fine. */
int canal_rowchange_parse(canal_client *c, const void *buf, size_t len, canal_rowchange *out);

/* Decode a message that did not come over this client's connection.
 * is_packet = true: buf is a whole serialized Packet of type MESSAGES,
 * i.e. what Canal's MQ producers publish with flatMessage=false, or a GET
 * reply frame without its 4-byte length. is_packet = false: buf is only
 * that Packet's body, a serialized Messages. Bytes of one kind given as
 * the other fail with CANAL_EPROTO and a message that says so whenever
 * the bytes tell (a Packet always carries its type or body fields, which a
 * Messages never has); empty bytes are an empty Messages. Canal's MQ
 * producers set no batch id in their non-raw form, so batch_id is then 0.
 * buf must stay unchanged while *out is in use; *out is owned by the
 * client and valid as for canal_get. Works on a client that never
 * connected; does not touch the connection. As with canal_rowchange_parse,
 * buf in the client's own decoded strings or arrays is refused with
 * CANAL_EINVAL. CANAL_ETOOBIG: past max_decoded. */
int canal_message_parse(canal_client *c, const void *buf, size_t len, bool is_packet,
                        const canal_message **out);

/* Canal sends BINARY/VARBINARY/BLOB values as text whose code points are the
 * original bytes (ISO-8859-1), UTF-8 encoded. Turn such a value back into its
 * bytes: out must hold in_len bytes (the result is never longer; out may be
 * in itself; both may be NULL when in_len is 0). Sets *out_len. Returns CANAL_OK, or CANAL_EINVAL when the text
 * is not UTF-8 or has a code point above U+00FF (not a binary column). */
int canal_latin1_to_bytes(const char *in, size_t in_len, uint8_t *out, size_t *out_len);

/* ---------------------------------------------------------------- values, lookups and positions */

/* Column values arrive as the text Canal's MySQL parser writes for each
 * type (spec §11): "189.0", "2023-11-14 22:13:20.123456", "-838:59:59",
 * "18446744073709551615", an ISO-8859-1 rendering of a BLOB... The calls
 * below turn that text back into C values. They read only the column you
 * pass (no client, no allocation, no global state), so they may run on any
 * thread, on a copy of a column, while the column's message is alive.
 *
 * The type comes from Column.mysqlType ("bigint(20) unsigned",
 * "decimal(10,2)", "datetime(6)"), not from sqlType: Canal moves an
 * unsigned column's sqlType up a size when a value passes the signed range
 * and gives NULL JSON and SET other codes than their values. When
 * mysqlType is empty (Canal had no table meta for the row: with
 * canal.instance.filter.table.error=true, or MySQL 8's binlog metadata
 * instead) the type is guessed from sqlType; canal_type says so.
 *
 * Errors: every accessor returns CANAL_OK or CANAL_EINVAL (a NULL
 * argument, a NULL value, a column of another type, text that does not
 * parse or does not fit). There is no client to keep the message, so each
 * takes an optional canal_value_err to fill: err->code is the returned
 * code and err->msg says what was wrong, naming the column and quoting the
 * value ("" on success). Pass NULL when the code is enough. On failure the
 * outputs are left as they were (apart from a needed size where stated). */
typedef struct canal_value_err {
    int code;
    char msg[160];
} canal_value_err;

/* java.sql.Types codes, as Canal puts them in Column.sqlType (§8.6, §11). */
enum canal_sql_type {
    CANAL_SQL_BIT = -7,           /* BIT(n) and SET (the member bitmask) */
    CANAL_SQL_TINYINT = -6,
    CANAL_SQL_BIGINT = -5,        /* also INT UNSIGNED above 2^31-1 */
    CANAL_SQL_LONGVARBINARY = -4, /* not sent for values: binary data is BLOB */
    CANAL_SQL_VARBINARY = -3,
    CANAL_SQL_BINARY = -2,
    CANAL_SQL_LONGVARCHAR = -1,
    CANAL_SQL_NULL = 0,
    CANAL_SQL_CHAR = 1,
    CANAL_SQL_NUMERIC = 2,
    CANAL_SQL_DECIMAL = 3,        /* also BIGINT UNSIGNED above 2^63-1 */
    CANAL_SQL_INTEGER = 4,        /* INT, MEDIUMINT, ENUM (the index) */
    CANAL_SQL_SMALLINT = 5,
    CANAL_SQL_FLOAT = 6,
    CANAL_SQL_REAL = 7,           /* what FLOAT columns get */
    CANAL_SQL_DOUBLE = 8,
    CANAL_SQL_VARCHAR = 12,       /* also YEAR and JSON */
    CANAL_SQL_BOOLEAN = 16,
    CANAL_SQL_DATE = 91,
    CANAL_SQL_TIME = 92,
    CANAL_SQL_TIMESTAMP = 93,     /* DATETIME and TIMESTAMP */
    CANAL_SQL_OTHER = 1111,       /* a NULL JSON */
    CANAL_SQL_BLOB = 2004,        /* BINARY, VARBINARY, BLOBs, GEOMETRY; a NULL SET */
    CANAL_SQL_CLOB = 2005         /* TINYTEXT ... LONGTEXT */
};

/* What a column holds, from its mysqlType. */
enum canal_kind {
    CANAL_KIND_UNKNOWN = 0,
    CANAL_KIND_INT,       /* TINYINT ... BIGINT, BOOL; int_bytes and is_unsigned say which */
    CANAL_KIND_BIT,       /* BIT(n): the bits as an unsigned number */
    CANAL_KIND_YEAR,      /* "0000" or "1901" ... "2155" */
    CANAL_KIND_DECIMAL,   /* DECIMAL, NUMERIC */
    CANAL_KIND_FLOAT,     /* FLOAT, FLOAT(M,D), FLOAT(p <= 24) */
    CANAL_KIND_DOUBLE,    /* DOUBLE, REAL */
    CANAL_KIND_DATE,
    CANAL_KIND_TIME,
    CANAL_KIND_DATETIME,
    CANAL_KIND_TIMESTAMP, /* wall time in the Canal server's time zone */
    CANAL_KIND_TEXT,      /* CHAR, VARCHAR, TEXTs: UTF-8 text */
    CANAL_KIND_BINARY,    /* BINARY, VARBINARY, BLOBs: bytes as ISO-8859-1 text */
    CANAL_KIND_ENUM,      /* the 1-based index as a number (0: the '' error value) */
    CANAL_KIND_SET,       /* the member bitmask as a number */
    CANAL_KIND_JSON,      /* Canal's own JSON rendering (§11.5) */
    CANAL_KIND_GEOMETRY   /* MySQL's internal geometry bytes as ISO-8859-1 text */
};

typedef struct canal_type {
    int kind;           /* enum canal_kind */
    bool is_unsigned;   /* numbers: mysqlType says unsigned (or zerofill) */
    bool guessed;       /* mysqlType was empty or unknown: kind from sqlType */
    int int_bytes;      /* CANAL_KIND_INT: 1, 2, 3, 4 or 8; 0 when guessed */
    int length;         /* the (M) or (n): DECIMAL precision (10 by default), BIT
                           width (1 by default), CHAR/BINARY length; -1 if none */
    int scale;          /* DECIMAL D (0 by default); TIME/DATETIME/TIMESTAMP
                           fsp (0 by default); -1 when guessed */
} canal_type;

/* Read col's type from its mysqlType (sqlType when that is empty or a type
 * this library does not know: guessed is then true). Always CANAL_OK
 * unless col or out is NULL: an unknown type is CANAL_KIND_UNKNOWN. */
int canal_column_type(const canal_column *col, canal_type *out);

/* True when col's value is bytes rendered as ISO-8859-1 text (BINARY,
 * VARBINARY, BLOBs, GEOMETRY, and CHAR/VARCHAR whose mysqlType says
 * binary, as Canal decides it): get the bytes with canal_value_bytes. */
bool canal_column_is_binary(const canal_column *col);

/* Integers: TINYINT ... BIGINT of either sign, BIT, YEAR (0 for "0000"),
 * ENUM (the index), SET (the bitmask) and a DECIMAL without a fraction.
 * The value must fit the C type and, when mysqlType gives one, the
 * column's own range (a TINYINT of "300" is refused, not wrapped). */
int canal_value_int64(const canal_column *col, int64_t *out, canal_value_err *err);
int canal_value_uint64(const canal_column *col, uint64_t *out, canal_value_err *err);

/* A boolean as MySQL stores it: TINYINT(1)/BOOL or any integer or BIT
 * column, 0 is false and anything else true. */
int canal_value_bool(const canal_column *col, bool *out, canal_value_err *err);

/* DECIMAL exactly, as an integer scaled by 10^scale: "189.0" in a
 * decimal(10,2) gives 18900 and scale 2 (Canal drops trailing zeros, so the
 * scale is the column's, from mysqlType; when that is unknown, the number
 * of fraction digits sent). Also takes integer columns (scale 0). Fails
 * when the value does not fit an int64_t: use canal_value_decimal_text. */
int canal_value_decimal(const canal_column *col, int64_t *unscaled, int *scale,
                        canal_value_err *err);

/* The buffer canal_value_decimal_text needs for any MySQL DECIMAL: a
 * sign, 65 digits, a point and the terminator. */
#define CANAL_DECIMAL_TEXT_MAX 68

/* DECIMAL (or integer) as validated text with the column's scale:
 * "189.0" in a decimal(10,2) gives "189.00"; no '+', no exponent, no
 * leading zeros, "0" before the point, no "-0". Writes a terminated
 * string of at most cap bytes and its length to *len (may be NULL);
 * when cap is too small, fails and sets *len to the length needed (cap
 * must exceed it by 1). */
int canal_value_decimal_text(const canal_column *col, char *out, size_t cap, size_t *len,
                             canal_value_err *err);

/* FLOAT, DOUBLE (Java's forms: "3.14", "1.0E10", "-0.0", "NaN"),
 * DECIMAL and integers. canal_value_float takes FLOAT columns only and
 * gives the float MySQL stored; canal_value_double gives a FLOAT column's
 * float widened (exact), and for DECIMAL and integers the nearest double
 * (inexact: asked for). The C locale (a decimal comma) plays no part. */
int canal_value_float(const canal_column *col, float *out, canal_value_err *err);
int canal_value_double(const canal_column *col, double *out, canal_value_err *err);

/* DATE, TIME, DATETIME or TIMESTAMP, taken apart. Nothing is checked
 * against the calendar: MySQL's zero and partial dates ("0000-00-00",
 * "2020-00-00") come back as they are, with zeros. (For a TIME in MySQL's
 * pre-5.6.4 format Canal prints 100 hours as "00"; that is lost before it
 * gets here.) */
typedef struct canal_datetime {
    int kind;            /* CANAL_KIND_DATE, _TIME, _DATETIME or _TIMESTAMP */
    int year;            /* 0 ... 9999; 0 for TIME */
    int month, day;      /* 0 ... 12, 0 ... 31 (0 in zero dates); 0 for TIME */
    int hour;            /* 0 ... 23; TIME: 0 ... 838 */
    int minute, second;  /* 0 ... 59 */
    int microsecond;     /* 0 ... 999999 */
    int fsp;             /* digits sent after the point, 0 ... 6 */
    bool negative;       /* TIME only: "-01:02:03", "-00:00:00.500000" */
} canal_datetime;

int canal_value_datetime(const canal_column *col, canal_datetime *out, canal_value_err *err);

/* Seconds and microseconds since 1970-01-01 UTC of a DATE (at midnight),
 * DATETIME or TIMESTAMP read as wall time at utc_offset_s seconds east of
 * UTC (-64800 ... 64800). A TIMESTAMP is wall time in the Canal server's
 * zone (Canal's JVM default, usually the host's; MySQL's time_zone plays
 * no part): pass that zone's offset at that moment; in an hour repeated at
 * a DST change the text itself is ambiguous. A DATETIME has no zone at
 * all: pass the one your application means. Fails for TIME and for dates
 * with no instant: zero and partial dates, or a day the month lacks. */
int canal_datetime_to_unix(const canal_datetime *t, int32_t utc_offset_s, int64_t *sec,
                           int32_t *usec, canal_value_err *err);

/* The bytes of a BINARY, VARBINARY, BLOB or GEOMETRY value (the
 * ISO-8859-1 rendering inverted, see canal_latin1_to_bytes); for text
 * columns (CHAR, VARCHAR, TEXTs, JSON) the UTF-8 text itself. out may be
 * NULL to ask for the length; the result is never longer than
 * col->value.len. When cap is too small, fails and sets *out_len to the
 * length needed. */
int canal_value_bytes(const canal_column *col, uint8_t *out, size_t cap, size_t *out_len,
                      canal_value_err *err);

/* The value as text, a view of col->value (valid while the column is):
 * any column except binary ones (whose text is not their data) and NULL.
 * JSON comes as Canal renders it (or, with MySQL's PARTIAL_JSON, a
 * JSON_REPLACE(...) call text); ENUM and SET as their number (member names
 * are only in mysqlType). */
int canal_value_text(const canal_column *col, canal_str *out, canal_value_err *err);

/* The column called name (ASCII case-insensitive, as MySQL compares
 * column names) in the after image (after = true: INSERT, UPDATE) or the
 * before image (UPDATE, DELETE) of row; NULL when there is none. Linear in
 * the number of columns: look names up once per table and keep indexes
 * when rows are many and wide. */
const canal_column *canal_row_column(const canal_row *row, const char *name, bool after);

/* Order two binlog positions, the Header's (logfile_name, logfile_offset):
 * <0, 0, >0 as a before, equal to, after b. File names compare by their
 * numeric suffix ("mysql-bin.999999" < "mysql-bin.1000000", where strcmp
 * gets it wrong), then by offset; names with another base name, or none,
 * compare as bytes. A total order, fit for "skip entries at or before the
 * last one applied".
 *
 * Caveat: a position is only meaningful within one MySQL server's binlog.
 * When Canal switches to another MySQL (failover to a replica, a new
 * master) the file names and offsets start over and say nothing about
 * order; the Header's server_id then changes. Store server_id with the
 * position and do not compare across servers; with GTID on, compare the
 * Header's gtid sets instead. RESET MASTER restarts the numbering too. */
int canal_position_cmp(canal_str file_a, int64_t offset_a, canal_str file_b, int64_t offset_b);

/* Decode one serialized Entry, as found in canal_entry.raw (forwarded
 * through a queue, say). It becomes the client's current message, a batch
 * with batch_id 0 and that one entry, so canal_entry_rowchange works on
 * it; it replaces the previous message as canal_message_parse does and
 * lives as long. buf must stay unchanged while *out is in use.
 * CANAL_EPROTO with what and where for malformed bytes; CANAL_EINVAL for
 * bytes in the client's own decoded strings or arrays, as with
 * canal_message_parse; CANAL_ETOOBIG past max_decoded. */
int canal_entry_parse(canal_client *c, const void *buf, size_t len, const canal_entry **out);

#ifdef __cplusplus
}
#endif
#endif /* CANAL_H */
