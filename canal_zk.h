/*
 * canal_zk.h - optional ZooKeeper mode for canal-c: find the Canal server
 * that runs a destination, follow it when it moves, and let exactly one of
 * several consumers with the same client id consume, as Canal's Java client
 * does with a ZooKeeper connect string (PROTOCOL.md sections 6.4 and 7).
 *
 * Build: compile canal_zk.c next to canal.c and link libzookeeper_mt
 * (Debian: libzookeeper-mt-dev; our Makefile: make ZOOKEEPER=1). canal.c
 * itself never needs ZooKeeper: without this file nothing links it.
 *
 *     canal_options o;                       canal_zk_options zo;
 *     canal_options_init(&o);                canal_zk_options_init(&zo);
 *     o.destination = "example";             zo.zk_hosts = "zk1:2181,zk2:2181";
 *     canal_zk *z = canal_zk_new(&o, &zo);
 *     if (!z) die("out of memory");
 *     canal_zk_subscribe(z, "shop\\..*");    // kept even when passive
 *     for (;;) {
 *         const canal_message *m;
 *         int rc = canal_zk_get(z, 1000, 1000, &m);
 *         if (rc == CANAL_ZK_EPASSIVE) continue;      // standby: report, keep calling
 *         if (rc < 0) { log(canal_zk_errstr(z)); continue; }
 *         handle(m);                                  // canal_zk_client(z) for rows
 *         if (m->batch_id != -1) canal_zk_ack(z, m->batch_id);
 *     }
 *     canal_zk_free(z);                      // deletes our running node at once
 *
 * Threads (the choice asked for by issue 11): this module links the
 * threaded libzookeeper_mt, not the single-threaded libzookeeper_st. The
 * active consumer's ephemeral node lives only as long as its ZooKeeper
 * session, and the session only as long as someone answers ZooKeeper's
 * pings. With _st that someone is the application's thread, which is away
 * processing a batch for as long as the application likes; a batch longer
 * than the session timeout would expire the session and hand the client id
 * to a second consumer while the first still works, the double consumption
 * this mode exists to prevent. _mt keeps the session alive from its own I/O
 * thread. canal.c stays free of threads: the two threads libzookeeper_mt
 * starts (per canal_zk) never touch the canal_client; they only write small
 * records (watch events, request results) into a pipe that this module
 * reads on the caller's thread, so everything canal-c does still happens in
 * the calls you make, and a canal_zk, like a canal_client, is for one
 * thread at a time.
 *
 * Bounds: a call spends at most wait_ms looking for a server, waiting to
 * become active or waiting for ZooKeeper; no new attempt starts after that,
 * and the one under way keeps its own bounds (a ZooKeeper request, which
 * ends the call when unanswered, connect_timeout_ms; TCP connect within
 * wait_ms; login, then the request, read_timeout_ms each). So every call
 * returns within wait_ms + connect_timeout_ms + 2 * read_timeout_ms, and
 * usually within wait_ms. The first ZooKeeper session is waited for at most
 * connect_timeout_ms. ZooKeeper requests are asynchronous underneath, so a
 * ZooKeeper that stops answering cannot stretch a call further. Host names in
 * zk_hosts and in the nodes are resolved with getaddrinfo, which may block
 * while DNS is unreachable (as in canal.h).
 *
 * Memory: the module allocates with malloc (not canal_options' hooks) and
 * libzookeeper allocates its own; no-heap mode is not available here.
 */
#ifndef CANAL_ZK_H
#define CANAL_ZK_H

#include "canal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes of this module, beyond canal.h's canal_err (which it also
 * returns: CANAL_EIO, CANAL_ESERVER... from the server it talks to). */
enum canal_zk_err {
    /* Another consumer holds {dest}/{cid}/running: this one stands by. Keep
     * calling; it takes over when the other goes away. Your subscription and
     * acks are not lost: the active one acks, unacked batches come again. */
    CANAL_ZK_EPASSIVE = -20,
    /* No Canal server for the destination: neither {dest}/running nor a
     * {dest}/cluster member (the paths may not exist yet), or none of them
     * could be reached within wait_ms. */
    CANAL_ZK_ENOSERVER = -21,
    /* ZooKeeper unreachable within the bound, or it refused a request. */
    CANAL_ZK_EZK = -22
};

/* "CANAL_ZK_EPASSIVE"...; canal_strerror's names for canal_err codes. */
const char *canal_zk_strerror(int err);

typedef struct canal_zk_options {
    const char *zk_hosts;      /* ZooKeeper connect string "h1:2181,h2:2181[/chroot]"; required */
    /* Asked of ZooKeeper, which clamps it to its own range (by default at
     * most 20 ticks, 40 s). A kill -9'd consumer keeps the client id this
     * long. 90000, as Canal's Java client (ZooKeeperx) */
    int session_timeout_ms;
    /* The longest a call spends finding a server, waiting to be active or
     * waiting for ZooKeeper (see Bounds above). > 0; 5000 */
    int wait_ms;
    /* Pause between rounds over unreachable servers, cut short by any
     * ZooKeeper event. > 0; 1000 */
    int retry_interval_ms;
    /* Claim {dest}/{cid}/running so that one consumer per client id is
     * active (Java's ClientRunningMonitor). false only follows the server.
     * true */
    bool client_ha;
    /* A passive consumer waits this long after the node disappears before
     * claiming it (Java: 5 s, against flapping on network blips); the last
     * owner claims again at once. >= 0; 5000 */
    int reclaim_delay_ms;
    /* The address written in the node before the first connection ("ip",
     * then "ip:port" of each connection, as Java). NULL: the local address
     * that routes to the first ZooKeeper host. */
    const char *client_address;
} canal_zk_options;

void canal_zk_options_init(canal_zk_options *zo);

typedef struct canal_zk canal_zk;

/* A ZooKeeper-mode client for o's destination and client id (o's host and
 * port are not used; the server comes from ZooKeeper). Copies what it needs.
 * Does not touch the network. NULL only when out of memory; bad options give
 * a handle whose calls fail with CANAL_EINVAL naming the option. */
canal_zk *canal_zk_new(const canal_options *o, const canal_zk_options *zo);

/* canal_zk_disconnect, then free everything. NULL is a no-op. */
void canal_zk_free(canal_zk *z);

/* The canal_client underneath, for canal_entry_rowchange, canal_message_parse
 * and the like. Do not connect or disconnect it yourself. */
canal_client *canal_zk_client(canal_zk *z);

/* Open the ZooKeeper session, claim the client id and connect to the running
 * server. Optional: every call below does what it needs of this. Returns
 * CANAL_OK (active and connected), CANAL_ZK_EPASSIVE, CANAL_ZK_ENOSERVER,
 * CANAL_ZK_EZK (e.g. unreachable within connect_timeout_ms) or a canal_err. */
int canal_zk_connect(canal_zk *z);

/* Close the server connection, delete our {dest}/{cid}/running node if we
 * hold it (so a standby takes over without waiting for the session to
 * expire) and close the ZooKeeper session. Unacked batches come again to
 * whoever consumes next. A later call starts over. */
void canal_zk_disconnect(canal_zk *z);

/* As canal.h's calls, on the running server, failing over within wait_ms.
 * subscribe keeps the filter when passive (and returns CANAL_ZK_EPASSIVE),
 * and every connection after the first subscribes with it again. get may
 * come from a different server than the previous batch: after a move, the
 * connect rolls back and every unacked batch comes again. ack and rollback
 * only send (as in canal.h); on a passive consumer they return
 * CANAL_ZK_EPASSIVE and the batch comes again to the active one. */
int canal_zk_subscribe(canal_zk *z, const char *filter);
int canal_zk_unsubscribe(canal_zk *z);
int canal_zk_get(canal_zk *z, int batch_size, int timeout_ms, const canal_message **out);
int canal_zk_ack(canal_zk *z, int64_t batch_id);
int canal_zk_rollback(canal_zk *z, int64_t batch_id);

/* The last error's code and text (the server's text for CANAL_ESERVER).
 * Owned by z; valid until the next call on it. */
int canal_zk_errcode(const canal_zk *z);
const char *canal_zk_errstr(const canal_zk *z);

/* Where this consumer stands, as of its last call (no network). */
enum canal_zk_role {
    CANAL_ZK_IDLE = 0,    /* no claim yet (or after canal_zk_disconnect) */
    CANAL_ZK_PASSIVE = 1, /* another consumer holds the client id */
    CANAL_ZK_ACTIVE = 2   /* this one holds it (or client_ha is false and it runs) */
};
int canal_zk_role(const canal_zk *z);

/* "ip:port" of the server connected to, or "" when none. Owned by z. */
const char *canal_zk_server(const canal_zk *z);

#ifdef __cplusplus
}
#endif

#endif /* CANAL_ZK_H */
