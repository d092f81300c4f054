/* test_client.c - canal-c against the bundled test server
 * (test/server/canal_server.py): every call, each server error path, empty
 * batches, ack order, rollback redelivery, reconnects, and the server's
 * scripted misbehaviour. Only the public API is used. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "../canal.h"
#include "testserver.h"
#include "tinytest.h"

/* ------------------------------------------------------------ tests */

static void test_sample_stream_end_to_end(void) {
    server s;
    REQUIRE(server_start(&s, NULL, "--sample", "--user", "canal", "--password", "canal", NULL) == 0);
    canal_client *c = client_for(&s, "canal", "canal");
    REQUIRE(c != NULL);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "shop\\..*") == CANAL_OK);
    int rows = 0, ddl = 0, batches = 0, saw_binary = 0, saw_chinese = 0, saw_null = 0;
    int64_t last_id = 0;
    for (;;) {
        const canal_message *m;
        int rc = canal_get(c, 5, -1, &m);
        CHECK(rc == CANAL_OK);
        if (rc != CANAL_OK || m->batch_id == -1) break;
        CHECK(m->batch_id == last_id + 1); /* ids start at 1 and go up by one */
        last_id = m->batch_id;
        CHECK(m->n_entries > 0 && m->n_entries <= 5);
        for (size_t i = 0; i < m->n_entries; i++) {
            const canal_entry *e = &m->entries[i];
            CHECK(e->has_header && e->header.has_version && e->header.version == 1);
            CHECK(strcmp(e->header.server_encode.ptr, "UTF-8") == 0);
            CHECK(e->header.execute_time > 1000000000000LL);
            if (e->entry_type != CANAL_ROWDATA) continue;
            canal_rowchange r;
            CHECK(canal_entry_rowchange(c, e, &r) == CANAL_OK);
            CHECK(strcmp(e->header.schema_name.ptr, "shop") == 0);
            if (r.is_ddl) {
                ddl++;
                CHECK_CONTAINS(r.sql.ptr, "ALTER TABLE");
                continue;
            }
            CHECK(r.has_is_ddl && r.has_event_type && r.event_type == e->header.event_type);
            rows += (int)r.n_rows;
            for (size_t k = 0; k < r.n_rows; k++) {
                const canal_row *row = &r.rows[k];
                const canal_column *cols = r.event_type == CANAL_DELETE ? row->before : row->after;
                size_t nc = r.event_type == CANAL_DELETE ? row->n_before : row->n_after;
                for (size_t j = 0; j < nc; j++) {
                    CHECK(cols[j].has_is_null);
                    CHECK(cols[j].index == (int32_t)j);
                    if (cols[j].is_null) saw_null = 1;
                    if (cols[j].sql_type == 2004 && !cols[j].is_null) {
                        uint8_t buf[256];
                        size_t bn;
                        CHECK(cols[j].value.len < sizeof buf);
                        CHECK(canal_latin1_to_bytes(cols[j].value.ptr, cols[j].value.len, buf, &bn) ==
                              CANAL_OK);
                        saw_binary = 1;
                    }
                    for (size_t b = 0; b < cols[j].value.len; b++)
                        if ((unsigned char)cols[j].value.ptr[b] >= 0xe4) saw_chinese = 1;
                }
            }
        }
        CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
        batches++;
    }
    CHECK(batches >= 3);
    CHECK(rows >= 15);
    CHECK(ddl == 1);
    CHECK(saw_binary && saw_chinese && saw_null);
    canal_client_free(c);
    server_stop(&s);
    CHECK(log_count(&s, "CLIENTACK") == batches);
    CHECK(log_has(&s, "AUTH username=canal"));
}

static void test_auth_paths(void) {
    server s;
    REQUIRE(server_start(&s, NULL, "--user", "canal", "--password", "canal", NULL) == 0);
    canal_client *c = client_for(&s, "canal", "wrong");
    CHECK(canal_connect(c) == CANAL_EAUTH);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "auth failed for user:canal");
    CHECK(strstr(canal_errstr(c), "wrong") == NULL);
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    c = client_for(&s, "other", "canal");
    CHECK(canal_connect(c) == CANAL_EAUTH);
    CHECK_CONTAINS(canal_errstr(c), "auth failed for user:other");
    canal_client_free(c);
    c = client_for(&s, "canal", NULL); /* no password at all */
    CHECK(canal_connect(c) == CANAL_EAUTH);
    canal_client_free(c);
    c = client_for(&s, "canal", "canal");
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);

    /* a server without users accepts anyone */
    REQUIRE(server_start(&s, NULL, NULL) == 0);
    c = client_for(&s, "who", "ever");
    CHECK(canal_connect(c) == CANAL_OK);
    canal_client_free(c);
    server_stop(&s);
}

static void test_empty_batches_and_waits(void) {
    server s;
    REQUIRE(server_start(&s, NULL, NULL) == 0);
    canal_client *c = client_for(&s, NULL, NULL);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    int64_t t0 = mono_ms();
    CHECK(canal_get(c, 10, -1, &m) == CANAL_OK);
    CHECK(m && m->batch_id == -1 && m->n_entries == 0);
    CHECK(mono_ms() - t0 < 1000);
    t0 = mono_ms();
    CHECK(canal_get(c, 10, 300, &m) == CANAL_OK); /* the server waits 300 ms */
    int64_t took = mono_ms() - t0;
    CHECK(m && m->batch_id == -1);
    CHECK(took >= 250 && took < 2000);
    CHECK(canal_ack(c, -1) == CANAL_OK); /* a no-op: nothing is sent */
    canal_client_free(c);
    server_settle(&s);
    server_stop(&s);
    CHECK(log_count(&s, "CLIENTACK") == 0);
}

static void test_multi_batch_ack_order(void) {
    server s;
    canal_client *c = insert_session(&s, 6, NULL, "");
    const canal_message *m;
    REQUIRE(c != NULL);
    /* three batches of one transaction (3 entries) each, no ack in between */
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
        ids[i] = m->batch_id;
        CHECK(m->n_entries == 3);
        CHECK(first_id(c, m) == i + 1);
    }
    CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
    CHECK(canal_ack(c, 2) == CANAL_ESTATE);
    CHECK(canal_ack(c, 1) == CANAL_OK);
    CHECK(canal_ack(c, 2) == CANAL_OK);
    CHECK(canal_ack(c, 3) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK); /* the server took the acks */
    CHECK(m->batch_id == 4 && first_id(c, m) == 4);
    CHECK(canal_ack(c, 4) == CANAL_OK);
    /* an ack has no reply: one more round trip makes sure it was read */
    CHECK(canal_get(c, 3, -1, &m) == CANAL_OK);
    canal_client_free(c);
    server_stop(&s);
    CHECK(log_count(&s, "CLIENTACK") == 4);
}

/* One GET at a time: every id is handed out, and a rollback of one batch
 * leaves the later ones registered (test_pipeline_rollback_in_flight has
 * the same with GETs in flight). */
static void test_rollback_redelivers(void) {
    server s;
    canal_client *c = insert_session_depth(&s, 3, NULL, "", 1);
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 1 && first_id(c, m) == 1);
    uint8_t raw[512];
    size_t raw_len = m->entries[1].raw.len;
    REQUIRE(raw_len <= sizeof raw);
    memcpy(raw, m->entries[1].raw.ptr, raw_len);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 2 && first_id(c, m) == 2);
    CHECK(canal_rollback(c, 0) == CANAL_OK);
    CHECK(canal_ack(c, 1) == CANAL_EINVAL); /* gone with the rollback */
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 3); /* a new id for the same entries */
    CHECK(first_id(c, m) == 1);
    CHECK(m->entries[1].raw.len == raw_len && memcmp(m->entries[1].raw.ptr, raw, raw_len) == 0);
    CHECK(canal_ack(c, 3) == CANAL_OK);
    /* rolling back one batch (the oldest) also rewinds the later ones */
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 4 && first_id(c, m) == 2);
    CHECK(canal_rollback(c, 4) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 5 && first_id(c, m) == 2);
    CHECK(canal_ack(c, 5) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 6 && first_id(c, m) == 3);
    CHECK(canal_ack(c, 6) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == -1);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);
    CHECK(log_has(&s, "CLIENTROLLBACK"));
}

static void test_reconnect_resumes(void) {
    server s;
    canal_client *c = insert_session(&s, 3, NULL, "shop\\..*");
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    int64_t unacked = m->batch_id;
    CHECK(first_id(c, m) == 2);
    canal_disconnect(c);
    CHECK(!canal_is_connected(c));
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESTATE);
    /* reconnect: subscribe again with the same filter, roll back, go on */
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_ack(c, unacked) == CANAL_EINVAL); /* ids die with the connection */
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id > unacked);
    CHECK(first_id(c, m) == 2); /* the unacked rows come back, the acked ones do not */
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    /* a reply makes sure the server has handled the ack (it sends none) */
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    /* and connect on a live client starts over cleanly */
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 3);
    canal_client_free(c);
    server_stop(&s);
    CHECK(log_count(&s, "SUBSCRIPTION") == 4);
    CHECK(log_has(&s, "filter=\"shop\\\\..*\""));
}

/* ------------------------------------------------------------ subscribe filter */

/* One single-row INSERT transaction per table, in this order. */
static const char *const filter_tables[] = {"shop.orders", "shop.users", "other.t", "Shop.Audit",
                                            "db.t1", "db.t12", "db.t123"};

static char *filter_script(void) {
    size_t n = sizeof filter_tables / sizeof *filter_tables;
    char *s = malloc(512 + n * 400), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "{\"entries\":[");
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(filter_tables[i], '.');
        p += sprintf(p,
                     "%s{\"tx\":[{\"type\":\"INSERT\",\"schema\":\"%.*s\",\"table\":\"%s\","
                     "\"columns\":[{\"name\":\"id\",\"mysql_type\":\"int(11)\",\"key\":true}],"
                     "\"rows\":[{\"after\":[%d]}]}]}",
                     i ? "," : "", (int)(dot - filter_tables[i]), filter_tables[i], dot + 1, (int)i + 1);
    }
    sprintf(p, "]}");
    return s;
}

/* Subscribe client `cid` with `filter` (through canal_options.filter and
 * canal_subscribe(c, NULL) when via_options), read the whole stream and
 * write the "schema.table" of every ROWDATA entry, space separated, to out.
 * Returns the number of transaction begin/end entries, or -1 on an error. */
static int filter_run(const server *s, int cid, const char *filter, bool via_options, char *out,
                      size_t cap) {
    canal_options o;
    canal_options_init(&o);
    o.port = s->port;
    o.client_id = cid;
    o.read_timeout_ms = 5000;
    if (via_options) o.filter = filter;
    canal_client *c = canal_client_new(&o);
    int txn = 0, rc = -1;
    size_t len = 0;
    out[0] = '\0';
    if (!c || canal_connect(c) != CANAL_OK || canal_subscribe(c, via_options ? NULL : filter) != CANAL_OK)
        goto done;
    for (;;) {
        const canal_message *m;
        if (canal_get(c, 2, -1, &m) != CANAL_OK) goto done;
        if (m->batch_id == -1) break;
        for (size_t i = 0; i < m->n_entries; i++) {
            const canal_header *h = &m->entries[i].header;
            if (m->entries[i].entry_type != CANAL_ROWDATA) {
                txn++;
                continue;
            }
            len += (size_t)snprintf(out + len, cap - len, "%s%s.%s", len ? " " : "",
                                    h->schema_name.ptr, h->table_name.ptr);
            if (len >= cap) goto done;
        }
        if (canal_ack(c, m->batch_id) != CANAL_OK) goto done;
    }
    rc = txn;
done:
    if (rc < 0 && c) fprintf(stderr, "  filter run %d failed: %s\n", cid, canal_errstr(c));
    canal_client_free(c);
    return rc;
}

static void test_subscribe_filter_end_to_end(void) {
    static const struct {
        const char *filter;
        bool via_options;
        const char *want;
    } cases[] = {
        {"", false, "shop.orders shop.users other.t Shop.Audit db.t1 db.t12 db.t123"},
        {"shop\\.orders", false, "shop.orders"},
        {"shop\\.orders,other\\..*", false, "shop.orders other.t"},
        /* the comma of {1,2} belongs to its regex; anchored at the end */
        {"db\\.t\\d{1,2}", false, "db.t1 db.t12"},
        /* matched against the lowercased name, and case-insensitively */
        {"SHOP\\..*", false, "shop.orders shop.users Shop.Audit"},
        /* "" keeps the destination's filter, which the previous client set */
        {"", false, "shop.orders shop.users Shop.Audit"},
        /* anchored at the start: "hop" does not match inside "shop" */
        {"hop\\..*,.*\\.t1", true, "db.t1"},
        {"(shop|other)\\.(orders|t)", true, "shop.orders other.t"},
    };
    server s;
    char *script = filter_script();
    REQUIRE(script != NULL);
    int started = server_start(&s, script, NULL) == 0;
    free(script);
    REQUIRE(started);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char seen[1024];
        int txn = filter_run(&s, 3000 + (int)i, cases[i].filter, cases[i].via_options, seen, sizeof seen);
        /* transaction begin and end carry no table name: they always pass */
        CHECK(txn == 14);
        if (strcmp(seen, cases[i].want) != 0) {
            fprintf(stderr, "  filter \"%s\": got \"%s\", want \"%s\"\n", cases[i].filter, seen,
                    cases[i].want);
            CHECK(strcmp(seen, cases[i].want) == 0);
        }
    }
    server_stop(&s);
    CHECK(log_has(&s, "filter=\"db\\\\.t\\\\d{1,2}\""));
}

static void test_server_errors_keep_connection(void) {
    server s;
    REQUIRE(server_start(&s, NULL, NULL) == 0);
    canal_client *c = client_for(&s, NULL, NULL);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    /* GET before subscribe */
    CHECK(canal_get(c, 10, -1, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "should subscribe first");
    CHECK(canal_is_connected(c)); /* it answered our own request: still in step */
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 10, -1, &m) == CANAL_OK && m && m->batch_id == -1);
    CHECK(canal_unsubscribe(c) == CANAL_OK);
    CHECK(canal_get(c, 10, -1, &m) == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "should subscribe first");
    canal_client_free(c);

    /* a destination the server does not run */
    canal_options o;
    canal_options_init(&o);
    o.port = s.port;
    o.destination = "nosuch";
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_OK);
    /* the rollback sent on connect is refused too, and its refusal arrives
     * first: the client cannot pair replies any more and closes */
    CHECK(canal_subscribe(c, "") == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "destination:nosuch should start first");
    CHECK_CONTAINS(canal_errstr(c), "rollback sent on connect");
    CHECK(!canal_is_connected(c));
    canal_client_free(c);
    o.rollback_on_connect = false; /* without it the refusal is the reply's own */
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "subscription refused: server error 400");
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);
}

static void test_refused_ack_reported_as_such(void) {
    server s;
    canal_client *c = insert_session(&s, 2, "{\"on\":\"ACK\",\"nth\":1,\"action\":\"error\",\"code\":400,"
                                    "\"message\":\"ack error , clientId:1001 batchId:1 is not exist , "
                                    "please check\"}", "");
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 1);
    CHECK(canal_ack(c, 1) == CANAL_OK); /* no reply: the refusal comes later */
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "ack of batch 1");
    CHECK_CONTAINS(canal_errstr(c), "is not exist");
    CHECK(!canal_is_connected(c));
    /* the GET sent after the ack may still be in the server's hands */
    CHECK(wait_closed(&s, 1));
    /* reconnecting redelivers the batch the server did not take */
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2);
    canal_client_free(c);
    server_stop(&s);
}

static void test_refused_rollback_reported_as_such(void) {
    server s;
    /* the 2nd rollback: the 1st is the one sent on connect */
    canal_client *c = insert_session(&s, 2, "{\"on\":\"ROLLBACK\",\"nth\":2,\"action\":\"error\","
                                             "\"code\":400,\"message\":\"rollback error, clientId:1001 "
                                             "batchId:1 is not exist , please check\"}", "");
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(canal_rollback(c, m->batch_id) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_ESERVER); /* the refusal comes with the next reply */
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "the rollback of batch 1");
    CHECK_CONTAINS(canal_errstr(c), "rollback error");
    CHECK(!canal_is_connected(c));
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1);
    canal_client_free(c);
    server_stop(&s);
}

static void test_no_rollback_on_connect_keeps_batches(void) {
    server s;
    char *script = insert_script(3, NULL);
    REQUIRE(server_start(&s, script, NULL) == 0);
    free(script);
    canal_options o;
    canal_options_init(&o);
    o.port = s.port;
    o.rollback_on_connect = false;
    canal_client *c = canal_client_new(&o);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    int64_t first = m->batch_id;
    CHECK(first_id(c, m) == 1);
    canal_disconnect(c);
    CHECK(canal_connect(c) == CANAL_OK);
    /* without the rollback the server still holds batch 1 for us */
    CHECK(canal_ack(c, first) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 3);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);
}

static void test_own_refusals_after_connect_keep_connection(void) {
    server s;
    const canal_message *m;
    canal_client *c;
    /* a refused first subscribe after a connect, with the connect's
     * rollback unanswered: a text naming the Sub request is the subscribe's
     * own answer and the connection stays; a text naming no request may
     * answer the rollback, so the connection closes */
    REQUIRE(server_start(&s, "{\"faults\":[{\"on\":\"SUB\",\"action\":\"error\",\"code\":400,"
                             "\"message\":\"bad filter regex. Sub: destination: example\"},"
                             "{\"on\":\"SUB\",\"nth\":2,\"action\":\"error\",\"code\":400,"
                             "\"message\":\"bad filter regex\"}]}", NULL) == 0);
    c = client_for(&s, NULL, NULL);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "(") == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "subscription refused: server error 400: bad filter regex");
    CHECK(canal_is_connected(c));
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "(") == CANAL_ESERVER);
    CHECK_CONTAINS(canal_errstr(c), "naming no request");
    CHECK(!canal_is_connected(c));
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_unsubscribe(c) == CANAL_OK);
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESERVER); /* the server's own answer */
    CHECK(canal_rollback(c, 0) == CANAL_ESTATE);     /* not sent: the server would ignore it */
    canal_client_free(c);
    server_stop(&s);
}

/* Start a server whose first GET misbehaves as `fault`; return get's code. */
static int get_with_fault(const char *fault, int read_timeout_ms, size_t max_frame, char *err,
                          size_t errcap, int64_t *took) {
    server s;
    char *script = insert_script(2, fault);
    int rc = -100;
    if (server_start(&s, script, NULL) != 0) {
        free(script);
        return rc;
    }
    free(script);
    canal_options o;
    canal_options_init(&o);
    o.port = s.port;
    o.read_timeout_ms = read_timeout_ms;
    if (max_frame) o.max_frame = max_frame;
    canal_client *c = canal_client_new(&o);
    const canal_message *m = NULL;
    if (canal_connect(c) == CANAL_OK && canal_subscribe(c, "") == CANAL_OK) {
        int64_t t0 = mono_ms();
        rc = canal_get(c, 3, -1, &m);
        if (took) *took = mono_ms() - t0;
        snprintf(err, errcap, "%s", canal_errstr(c));
        if (rc < 0 && canal_is_connected(c) && rc != CANAL_ESERVER) rc = -200; /* must close */
    }
    canal_client_free(c);
    server_stop(&s);
    return rc;
}

static void test_get_faults(void) {
    char err[512];
    int64_t took = 0;
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"close\"}", 3000, 0, err, sizeof err, NULL) ==
          CANAL_EIO);
    CHECK_CONTAINS(err, "closed the connection");
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"truncate\",\"bytes\":10}", 3000, 0, err,
                         sizeof err, NULL) == CANAL_EIO);
    CHECK_CONTAINS(err, "body bytes");
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"stall\",\"ms\":3000}", 400, 0, err, sizeof err,
                         &took) == CANAL_ETIMEOUT);
    CHECK(took >= 390 && took < 1500);
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"compression\",\"value\":2}", 3000, 0, err,
                         sizeof err, NULL) == CANAL_EPROTO);
    CHECK_CONTAINS(err, "compression 2");
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"wrong_type\",\"type\":1}", 3000, 0, err,
                         sizeof err, NULL) == CANAL_EPROTO);
    CHECK_CONTAINS(err, "HANDSHAKE");
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"length\",\"value\":2147483648}", 3000, 0, err,
                         sizeof err, NULL) == CANAL_EPROTO);
    CHECK_CONTAINS(err, "negative frame length");
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"length\",\"value\":300000000}", 3000, 0, err,
                         sizeof err, NULL) == CANAL_ETOOBIG);
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"raw_hex\",\"hex\":\"000000021807\"}", 3000, 0,
                         err, sizeof err, NULL) == CANAL_EPROTO); /* no body: batch id 0 */
    CHECK_CONTAINS(err, "invalid batch id 0");
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"raw_hex\",\"hex\":\"00000003ffffff\"}", 3000,
                         0, err, sizeof err, NULL) == CANAL_EPROTO);
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"drip\",\"ms\":2}", 5000, 0, err, sizeof err,
                         NULL) == CANAL_OK);
    CHECK(get_with_fault(NULL, 3000, 100, err, sizeof err, NULL) == CANAL_ETOOBIG); /* tiny max */
    CHECK(get_with_fault("{\"on\":\"GET\",\"action\":\"error\",\"code\":401,\"message\":\"nope\"}",
                         3000, 0, err, sizeof err, NULL) == CANAL_ESERVER);
    CHECK_CONTAINS(err, "server error 401: nope");
}

static void test_normal_form_and_large_values(void) {
    /* a 3 MB value arrives in many segments; --no-raw sends version 1 packets */
    size_t big = 3u << 20;
    char *script = malloc(big + 1024), *p = script;
    p += sprintf(p, "{\"entries\":[{\"tx\":[{\"type\":\"INSERT\",\"schema\":\"s\",\"table\":\"t\","
                    "\"columns\":[{\"name\":\"id\",\"mysql_type\":\"int\",\"sql_type\":4,\"key\":true},"
                    "{\"name\":\"doc\",\"mysql_type\":\"longtext\",\"sql_type\":2005}],"
                    "\"rows\":[{\"after\":[1,\"");
    for (size_t i = 0; i < big; i++) *p++ = (char)('a' + i % 26);
    p += sprintf(p, "\"]}]}]}]}");
    server s;
    REQUIRE(server_start(&s, script, "--no-raw", NULL) == 0);
    free(script);
    canal_client *c = client_for(&s, NULL, NULL);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    REQUIRE(canal_get(c, 10, -1, &m) == CANAL_OK);
    REQUIRE(m->n_entries == 3);
    canal_rowchange rc;
    REQUIRE(canal_entry_rowchange(c, &m->entries[1], &rc) == CANAL_OK);
    REQUIRE(rc.n_rows == 1 && rc.rows[0].n_after == 2);
    const canal_str *v = &rc.rows[0].after[1].value;
    CHECK(v->len == big && v->ptr[big] == '\0' && v->ptr[27] == 'b');
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    canal_client_free(c);
    server_stop(&s);
}

static void test_server_restart_between_get_and_ack(void) {
    char state[300], port[16];
    snprintf(state, sizeof state, "%s/tmp/state-%d.json", build_dir, (int)getpid());
    unlink(state);
    server s;
    char *script = insert_script(3, NULL);
    REQUIRE(server_start(&s, script, "--state-file", state, NULL) == 0);
    canal_client *c = client_for(&s, NULL, NULL);
    const canal_message *m;
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 1);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2);
    int64_t unacked = m->batch_id;
    /* the server dies before the ack; it comes back on the same port */
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
    snprintf(port, sizeof port, "%d", s.port);
    server s2;
    REQUIRE(server_start(&s2, script, "--state-file", state, "--port", port, NULL) == 0);
    free(script);
    int rc = canal_ack(c, unacked); /* lost with the old connection, if sent at all */
    CHECK(rc == CANAL_OK || rc == CANAL_EIO);
    rc = canal_get(c, 3, -1, &m);
    CHECK(rc == CANAL_EIO || rc == CANAL_ESTATE);
    CHECK(!canal_is_connected(c));
    CHECK(canal_connect(c) == CANAL_OK); /* re-subscribes and rolls back */
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2); /* the unacked rows come back, the acked do not */
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 3);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == -1);
    canal_client_free(c);
    server_stop(&s2);
    CHECK(log_count(&s2, "SUBSCRIPTION") == 1);
    unlink(state);
}

/* ------------------------------------------------------------ pipelined GETs */

static canal_client *pipe_session(server *s, int n, const char *faults, int depth) {
    return insert_session_depth(s, n, faults, "", depth);
}

/* How many GET requests the server handled before the nth request whose
 * log line starts with `prefix`; -1 if there is no nth. */
static int gets_before(const server *s, const char *prefix, int nth) {
    FILE *f = fopen(s->log, "r");
    char line[8192];
    int gets = 0, seen = 0;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, prefix, strlen(prefix)) == 0 && ++seen == nth) break;
        if (strncmp(line, "GET ", 4) == 0) gets++;
    }
    fclose(f);
    return seen == nth ? gets : -1;
}

/* Wait (bounded) until the server's log has `want` lines starting with
 * prefix: it handles what a closed connection sent after canal-c is done. */
static int log_count_reaches(const server *s, const char *prefix, int want) {
    int64_t deadline = mono_ms() + 3000;
    int n;
    while ((n = log_count(s, prefix)) < want && mono_ms() < deadline) sleep_ms(20);
    return n;
}

static void test_pipeline_in_order(void) {
    server s;
    canal_client *c = pipe_session(&s, 12, NULL, 4);
    const canal_message *m;
    REQUIRE(c != NULL);
    int i;
    for (i = 1; i <= 20; i++) {
        REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
        if (m->batch_id == -1) break;
        CHECK(m->batch_id == i); /* every batch, in order, none fetched and dropped */
        CHECK(m->n_entries == 3 && first_id(c, m) == i);
        CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    }
    CHECK(i == 13);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    CHECK(log_count_reaches(&s, "CLIENTACK", 12) == 12);
    server_stop(&s);
    /* the first GET goes alone; once a batch came back, the second call
     * keeps 4 in flight: G1 A1 G2 G3 G4 G5 A2 */
    CHECK(gets_before(&s, "CLIENTACK", 1) == 1);
    CHECK(gets_before(&s, "CLIENTACK", 2) == 5);
}

static void test_pipeline_rollback_in_flight(void) {
    server s;
    canal_client *c = pipe_session(&s, 6, NULL, 4);
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 1);
    CHECK(canal_ack(c, 1) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 2);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 3);
    /* batches 4, 5 and 6 are on their way; the rollback gives them back */
    CHECK(canal_rollback(c, 0) == CANAL_OK);
    CHECK(canal_ack(c, 2) == CANAL_EINVAL);
    int want = 2;
    int64_t last = 6;
    for (int k = 0; k < 10; k++) {
        REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
        if (m->batch_id == -1) break;
        CHECK(m->batch_id > last); /* 4, 5, 6 never handed out */
        last = m->batch_id;
        CHECK(first_id(c, m) == want); /* everything after the ack comes again, in order */
        want++;
        CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    }
    CHECK(want == 7);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);

    /* rolling back one batch with GETs in flight gives back all of them:
     * otherwise the server would keep the in-flight batches under ids the
     * caller never saw, ahead of every later ack */
    c = pipe_session(&s, 6, NULL, 4);
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 1);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 2);
    CHECK(canal_rollback(c, 1) == CANAL_OK);
    CHECK(canal_ack(c, 2) == CANAL_EINVAL);
    want = 1;
    for (int k = 0; k < 10; k++) {
        REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
        if (m->batch_id == -1) break;
        CHECK(m->batch_id > 5 && first_id(c, m) == want);
        want++;
        CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    }
    CHECK(want == 7);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);
    /* the connect's rollback and the one that gave back everything */
    CHECK(log_count(&s, "CLIENTROLLBACK") == 2);
    CHECK(!log_has(&s, "CLIENTROLLBACK destination=\"example\" client_id=\"1001\" batch_id=1"));
}

static void test_pipeline_refused_ack(void) {
    server s;
    /* the ack of batch 2 is refused; GETs 3 and 4 were sent before it */
    canal_client *c = pipe_session(&s, 6,
                                   "{\"on\":\"ACK\",\"nth\":2,\"action\":\"error\",\"code\":400,"
                                   "\"message\":\"ack error , clientId:1001 batchId:2 is not exist , "
                                   "please check\"}", 3);
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 1);
    CHECK(canal_ack(c, 1) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 2);
    CHECK(canal_ack(c, 2) == CANAL_OK); /* sent; the server refuses it */
    /* the replies to the GETs sent before the refused ack are good batches */
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 3 && first_id(c, m) == 3);
    CHECK(canal_ack(c, 3) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == 4 && first_id(c, m) == 4);
    /* the refusal arrives where the next reply was due, and names the ack */
    CHECK(canal_get(c, 3, -1, &m) == CANAL_ESERVER);
    CHECK(canal_server_code(c) == 400);
    CHECK_CONTAINS(canal_errstr(c), "the ack of batch 2");
    CHECK_CONTAINS(canal_errstr(c), "is not exist");
    CHECK(!canal_is_connected(c));
    /* reconnecting redelivers from the batch the server did not take */
    CHECK(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2);
    canal_client_free(c);
    server_stop(&s);
}

static void test_pipeline_cut_redelivers(void) {
    server s;
    /* the server takes the 4th GET's batch, then drops the connection */
    canal_client *c = pipe_session(&s, 8, "{\"on\":\"GET\",\"nth\":4,\"action\":\"close\",\"apply\":true}",
                                   3);
    const canal_message *m;
    REQUIRE(c != NULL);
    int64_t ids[64];
    int txs[64], n = 0, reconnects = 0, seen[9] = {0}, after = -1;
    while (n < 64 && reconnects < 5) {
        int rc = canal_get(c, 3, -1, &m);
        if (rc == CANAL_OK && m->batch_id == -1) break;
        if (rc == CANAL_OK) {
            ids[n] = m->batch_id;
            txs[n] = first_id(c, m);
            if (txs[n] >= 1 && txs[n] <= 8) seen[txs[n]]++;
            n++;
            rc = canal_ack(c, m->batch_id);
        }
        if (rc != CANAL_OK) {
            CHECK(rc == CANAL_EIO);
            reconnects++;
            after = n;
            REQUIRE(canal_connect(c) == CANAL_OK);
        }
    }
    CHECK(reconnects == 1);
    for (int t = 1; t <= 8; t++) CHECK(seen[t] >= 1); /* nothing lost */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) CHECK(ids[i] != ids[j]); /* no id handed out twice */
    /* before the cut and after it, each an unbroken run that ends at the last */
    for (int i = 1; i < n; i++)
        if (i != after) CHECK(txs[i] == txs[i - 1] + 1 && ids[i] > ids[i - 1]);
    CHECK(after > 0 && after < n && txs[after] <= txs[after - 1] + 1 && txs[n - 1] == 8);
    canal_client_free(c);
    /* the last ack has no reply: wait until the server has closed every
     * connection so far (handled all they sent), or the new connection's
     * rollback could overtake it */
    CHECK(wait_closed(&s, log_count(&s, "CONNECT ")));
    /* the server's cursor is at the end: a new client of the same identity
     * (its connect rolls back) gets nothing */
    c = client_for(&s, NULL, NULL);
    CHECK(canal_connect(c) == CANAL_OK && canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == -1);
    canal_client_free(c);
    server_stop(&s);
}

static void test_pipeline_empty_among_prefetched(void) {
    server s;
    canal_client *c = pipe_session(&s, 4, "{\"on\":\"GET\",\"nth\":3,\"action\":\"empty\"}", 3);
    const canal_message *m;
    REQUIRE(c != NULL);
    int64_t got[8];
    int first[8], n = 0;
    while (n < 8) {
        REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
        got[n] = m->batch_id;
        first[n] = m->batch_id == -1 ? 0 : first_id(c, m);
        n++;
        if (m->batch_id != -1) CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
        else if (n > 3) break;
    }
    static const int64_t want_ids[] = {1, 2, -1, 3, 4, -1};
    static const int want_first[] = {1, 2, 0, 3, 4, 0};
    CHECK(n == 6);
    for (int i = 0; i < n && i < 6; i++) CHECK(got[i] == want_ids[i] && first[i] == want_first[i]);
    canal_client_free(c);
    server_stop(&s);
}

static void test_pipeline_subscribe_unsubscribe_in_flight(void) {
    server s;
    canal_client *c = pipe_session(&s, 5, NULL, 3);
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && first_id(c, m) == 1);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && first_id(c, m) == 2);
    int64_t two = m->batch_id;
    /* batches 3 and 4 are in flight: subscribing again gives them back */
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    CHECK(canal_ack(c, two) == CANAL_EINVAL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(first_id(c, m) == 2 && m->batch_id > 4);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && first_id(c, m) == 3);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && first_id(c, m) == 4);
    CHECK(canal_unsubscribe(c) == CANAL_OK);
    CHECK(canal_subscribe(c, "") == CANAL_OK);
    for (int want = 4; want <= 5; want++) {
        REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
        CHECK(first_id(c, m) == want); /* nothing skipped */
        CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    }
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK);
    CHECK(m->batch_id == -1);
    CHECK(canal_is_connected(c));
    canal_client_free(c);
    server_stop(&s);
}

static void test_pipeline_acks_reach_server_on_close(void) {
    server s;
    /* GETs 3 and 4 answer slowly; the ack of batch 2 is behind them */
    canal_client *c = pipe_session(&s, 6, "{\"on\":\"GET\",\"nth\":3,\"times\":2,\"action\":\"stall\","
                                   "\"ms\":200}", 3);
    const canal_message *m;
    REQUIRE(c != NULL);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 1);
    CHECK(canal_ack(c, 1) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id == 2);
    CHECK(canal_ack(c, 2) == CANAL_OK);
    int64_t t0 = mono_ms();
    canal_client_free(c); /* reads the two replies, so the server takes the ack */
    CHECK(mono_ms() - t0 < 4000);
    CHECK(log_count_reaches(&s, "CLIENTACK", 2) == 2);
    server_stop(&s);
}

static void test_pipeline_option(void) {
    canal_options o;
    canal_options_init(&o);
    CHECK(o.get_pipeline >= 1 && o.get_pipeline <= CANAL_MAX_PIPELINE);
    int bad[] = {0, -1, CANAL_MAX_PIPELINE + 1};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.get_pipeline = bad[i];
        canal_client *c = canal_client_new(&o);
        REQUIRE(c != NULL);
        CHECK(canal_errcode(c) == CANAL_EINVAL);
        CHECK_CONTAINS(canal_errstr(c), "get_pipeline");
        canal_client_free(c);
    }
}

static void test_connect_failures(void) {
    canal_options o;
    canal_options_init(&o);
    /* nothing listens on port 1 of loopback: refused at once */
    o.port = 1;
    canal_client *c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "cannot connect to 127.0.0.1:1");
    canal_client_free(c);
    canal_options_init(&o);
    o.host = "no-such-host.invalid";
    c = canal_client_new(&o);
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "cannot resolve no-such-host.invalid");
    canal_client_free(c);
}

/* ------------------------------------------------------------ server lists */

static canal_client *list_client(const char *hosts, int retry_times) {
    canal_options o;
    canal_options_init(&o);
    o.host = hosts;
    o.read_timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.retry_times = retry_times;
    o.retry_interval_ms = 50;
    return canal_client_new(&o);
}

/* The first server is down, the second serves; later the first comes
 * round again in turn. */
static void test_server_list_first_down(void) {
    server s;
    char *script = insert_script(3, NULL);
    int started = server_start(&s, script, NULL) == 0;
    free(script);
    REQUIRE(started);
    char hosts[128], want[64];
    snprintf(hosts, sizeof hosts, "127.0.0.1:1 , 127.0.0.1:%d", s.port);
    snprintf(want, sizeof want, "127.0.0.1:%d", s.port);
    canal_client *c = list_client(hosts, 0);
    REQUIRE(c && canal_errcode(c) == CANAL_OK);
    CHECK(strcmp(canal_current_server(c), "") == 0);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(strcmp(canal_current_server(c), want) == 0);
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    const canal_message *m;
    CHECK(canal_get(c, 10, -1, &m) == CANAL_OK && first_id(c, m) == 1);
    CHECK(log_count(&s, "CONNECT ") == 1);
    /* The next connect starts after the server used last: port 1 (down),
     * then this one again. */
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(strcmp(canal_current_server(c), want) == 0);
    CHECK(canal_get(c, 10, -1, &m) == CANAL_OK && first_id(c, m) == 1); /* rolled back */
    CHECK(log_count(&s, "CONNECT ") == 2);
    CHECK(log_count(&s, "CLIENTROLLBACK ") == 2);
    canal_disconnect(c);
    CHECK(strcmp(canal_current_server(c), "") == 0);
    canal_client_free(c);
    server_stop(&s);
}

/* The server in use goes away: canal_connect moves to the next one, which
 * gets the subscription again (last filter) and the rollback. */
static void test_server_list_failover(void) {
    server a, b;
    char *script = insert_script(5, NULL);
    int started = server_start(&a, script, NULL) == 0;
    started = started && server_start(&b, script, NULL) == 0;
    free(script);
    REQUIRE(started);
    char hosts[128], want[64];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d,127.0.0.1:%d", a.port, b.port);
    snprintf(want, sizeof want, "127.0.0.1:%d", b.port);
    canal_client *c = list_client(hosts, 0);
    REQUIRE(c);
    REQUIRE(canal_connect(c) == CANAL_OK);
    REQUIRE(canal_subscribe(c, "shop\\..*") == CANAL_OK);
    const canal_message *m;
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id > 0);
    CHECK(canal_ack(c, m->batch_id) == CANAL_OK);
    REQUIRE(canal_get(c, 3, -1, &m) == CANAL_OK && m->batch_id > 0); /* left unacked */
    server_stop(&a);
    /* replies to GETs already in flight (get_pipeline) may still be read */
    int rc, k = 0;
    while ((rc = canal_get(c, 3, -1, &m)) == CANAL_OK && ++k < CANAL_DEFAULT_PIPELINE) {
    }
    CHECK(rc == CANAL_EIO || rc == CANAL_ETIMEOUT);
    CHECK(canal_connect(c) == CANAL_OK);
    CHECK(strcmp(canal_current_server(c), want) == 0);
    CHECK(log_has(&b, "SUBSCRIPTION destination=example client_id=1001 filter=\"shop\\\\..*\""));
    CHECK(canal_get(c, 3, -1, &m) == CANAL_OK && first_id(c, m) == 1); /* b's own cursor */
    CHECK(log_count(&b, "CLIENTROLLBACK ") == 1); /* sent before that GET */
    canal_client_free(c);
    server_stop(&b);
}

/* A standby (a member that does not run the destination) refuses the
 * re-subscription: the same canal_connect goes on to the next server. */
static void test_server_list_skips_standby(void) {
    server standby, live;
    char *script = insert_script(2, NULL);
    int started = server_start(&standby, script, "--destination", "other", NULL) == 0;
    started = started && server_start(&live, script, NULL) == 0;
    free(script);
    REQUIRE(started);
    char hosts[128], want[64];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d,127.0.0.1:%d", standby.port, live.port);
    snprintf(want, sizeof want, "127.0.0.1:%d", live.port);
    canal_client *c = list_client(hosts, 0);
    REQUIRE(c);
    CHECK(canal_connect(c) == CANAL_OK); /* the standby logs us in... */
    CHECK(canal_subscribe(c, NULL) == CANAL_ESERVER); /* ...but does not run it */
    CHECK_CONTAINS(canal_errstr(c), "should start first");
    CHECK(canal_connect(c) == CANAL_OK && strcmp(canal_current_server(c), want) == 0);
    CHECK(canal_subscribe(c, NULL) == CANAL_OK);
    /* Now subscribed: the next connect tries the standby first, which
     * refuses the re-subscription, and ends on the live one. */
    int subs = log_count(&standby, "SUBSCRIPTION ");
    CHECK(canal_connect(c) == CANAL_OK && strcmp(canal_current_server(c), want) == 0);
    CHECK(log_count(&standby, "SUBSCRIPTION ") == subs + 1);
    const canal_message *m;
    CHECK(canal_get(c, 10, -1, &m) == CANAL_OK && first_id(c, m) == 1);
    canal_client_free(c);
    server_stop(&standby);
    server_stop(&live);
}

/* Every server down: a clear error after the configured attempts, each on
 * the next server; with one server and no retry_times, one attempt. */
static void test_server_list_all_down(void) {
    server a, b;
    const char *script = "{\"faults\":[{\"on\":\"CONNECT\",\"action\":\"close\",\"always\":true}]}";
    int started = server_start(&a, script, NULL) == 0 && server_start(&b, script, NULL) == 0;
    REQUIRE(started);
    char hosts[128];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d,127.0.0.1:%d", a.port, b.port);
    canal_client *c = list_client(hosts, 0);
    REQUIRE(c);
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "3 attempts over 2 servers failed, the last: ");
    CHECK_CONTAINS(canal_errstr(c), "server closed the connection");
    CHECK(!canal_is_connected(c));
    CHECK(log_count(&a, "CONNECT ") == 2 && log_count(&b, "CONNECT ") == 1);
    canal_client_free(c);

    c = list_client(hosts, 5);
    REQUIRE(c);
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "5 attempts over 2 servers failed");
    CHECK(log_count(&a, "CONNECT ") == 5 && log_count(&b, "CONNECT ") == 3);
    canal_client_free(c);

    /* both ports closed for good */
    c = list_client("127.0.0.1:1,127.0.0.1:2", 2);
    REQUIRE(c);
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "2 attempts over 2 servers failed, the last: cannot connect to 127.0.0.1:2");
    canal_client_free(c);

    snprintf(hosts, sizeof hosts, "127.0.0.1:%d", a.port);
    c = list_client(hosts, 0);
    REQUIRE(c);
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK(strstr(canal_errstr(c), "attempts") == NULL);
    CHECK(log_count(&a, "CONNECT ") == 6);
    canal_client_free(c);
    server_stop(&a);
    server_stop(&b);
}

static void test_server_list_syntax_and_set_servers(void) {
    static const char *bad[] = {"127.0.0.1:", ",127.0.0.1", "h1,,h2", " , ", "h:0", "h:65536",
                                "h:1x", "[::1", "[::1]x", "[]:5", ":5", "h:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        canal_client *c = list_client(bad[i], 0);
        REQUIRE(c);
        if (canal_errcode(c) != CANAL_EINVAL || !strstr(canal_errstr(c), "options: host")) {
            fprintf(stderr, "  accepted host list \"%s\"\n", bad[i]);
            CHECK(!"bad host list accepted");
        }
        canal_client_free(c);
    }
    canal_client *c = list_client("[::1]:5, localhost ,127.0.0.1:7,::1", 0);
    REQUIRE(c);
    CHECK(canal_errcode(c) == CANAL_OK);
    canal_client_free(c);
    c = list_client("h", -1);
    CHECK(c && canal_errcode(c) == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "retry_times");
    canal_client_free(c);

    server s;
    char *script = insert_script(1, NULL);
    int started = server_start(&s, script, NULL) == 0;
    free(script);
    REQUIRE(started);
    char list[64], want[64];
    snprintf(list, sizeof list, " 127.0.0.1:%d ", s.port);
    snprintf(want, sizeof want, "127.0.0.1:%d", s.port);
    c = list_client("127.0.0.1:1", 0);
    REQUIRE(c);
    CHECK(canal_set_servers(c, "h:0") == CANAL_EINVAL);
    CHECK_CONTAINS(canal_errstr(c), "port");
    CHECK(canal_set_servers(c, "") == CANAL_EINVAL);
    CHECK(canal_set_servers(c, NULL) == CANAL_EINVAL);
    CHECK(canal_connect(c) == CANAL_EIO); /* still the old list */
    CHECK_CONTAINS(canal_errstr(c), "127.0.0.1:1");
    CHECK(canal_set_servers(c, list) == CANAL_OK);
    CHECK(!canal_is_connected(c));
    CHECK(canal_connect(c) == CANAL_OK && strcmp(canal_current_server(c), want) == 0);
    /* an entry without a port takes canal_options.port (11111 here) */
    CHECK(canal_set_servers(c, "127.0.0.1") == CANAL_OK);
    CHECK(canal_is_connected(c)); /* the connection in use is left alone */
    CHECK(canal_connect(c) == CANAL_EIO);
    CHECK_CONTAINS(canal_errstr(c), "127.0.0.1:11111");
    canal_client_free(c);
    server_stop(&s);
    CHECK(canal_set_servers(NULL, "h") == CANAL_EINVAL);
    CHECK(strcmp(canal_current_server(NULL), "") == 0);
}

int main(int argc, char **argv) {
    if (argc > 1) build_dir = argv[1];
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/tmp", build_dir);
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
        perror(tmp);
        return 2;
    }
    signal(SIGPIPE, SIG_DFL); /* the client must not need SIGPIPE ignored */
    RUN(test_sample_stream_end_to_end);
    RUN(test_auth_paths);
    RUN(test_empty_batches_and_waits);
    RUN(test_multi_batch_ack_order);
    RUN(test_rollback_redelivers);
    RUN(test_reconnect_resumes);
    RUN(test_subscribe_filter_end_to_end);
    RUN(test_server_errors_keep_connection);
    RUN(test_refused_ack_reported_as_such);
    RUN(test_refused_rollback_reported_as_such);
    RUN(test_no_rollback_on_connect_keeps_batches);
    RUN(test_own_refusals_after_connect_keep_connection);
    RUN(test_get_faults);
    RUN(test_normal_form_and_large_values);
    RUN(test_server_restart_between_get_and_ack);
    RUN(test_connect_failures);
    RUN(test_server_list_first_down);
    RUN(test_server_list_failover);
    RUN(test_server_list_skips_standby);
    RUN(test_server_list_all_down);
    RUN(test_server_list_syntax_and_set_servers);
    RUN(test_pipeline_option);
    RUN(test_pipeline_in_order);
    RUN(test_pipeline_rollback_in_flight);
    RUN(test_pipeline_refused_ack);
    RUN(test_pipeline_cut_redelivers);
    RUN(test_pipeline_empty_among_prefetched);
    RUN(test_pipeline_subscribe_unsubscribe_in_flight);
    RUN(test_pipeline_acks_reach_server_on_close);
    return TT_REPORT("client");
}
