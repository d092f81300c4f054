/* fuzz_decode.c - libFuzzer target for canal-c's decoders, without sockets.
 *
 * The input is taken, unchanged, as
 *   1. a serialized Packet (canal_message_parse, is_packet = true),
 *   2. a bare serialized Messages (is_packet = false),
 *   3. the storeValue of a ROWDATA entry (canal_entry_rowchange directly),
 *   4. one serialized Entry (canal_entry_parse),
 * each by a client with UTF-8 validation on and one with it off (that one in
 * no-heap mode, inside a 256 KiB buffer of its own). Every entry
 * of a parsed message goes through canal_entry_rowchange as it is and again
 * with its type forced to ROWDATA, so the RowChange decoder is reached even
 * when the type field is mangled; every column value goes through
 * canal_latin1_to_bytes. fuzz_common.h checks everything handed out.
 *
 * Seeds: fuzz/corpus/fuzz_decode (protoc-encoded fixtures and GET replies
 * captured from the test server). */
#include "../canal.c"

#include "fuzz_common.h"

static canal_client *new_client(bool validate, void *heap, size_t heap_size) {
    canal_options o;
    canal_options_init(&o);
    o.validate_utf8 = validate;
    o.heap = heap, o.heap_size = heap_size;
    canal_client *c = canal_client_new(&o);
    FZ_CHECK(c != NULL && canal_errcode(c) == CANAL_OK);
    return c;
}

static void one_client(canal_client *c, const uint8_t *data, size_t size) {
    const canal_message *m;
    fz_may_run_out = c->in_pool; /* a no-heap client has a fixed buffer */
    for (int is_packet = 1; is_packet >= 0; is_packet--) {
        m = (const canal_message *)&m; /* must be reset on failure */
        int rc;
        FZ_CALL(c, rc, canal_message_parse(c, size ? data : NULL, size, is_packet, &m));
        if (rc < 0) {
            FZ_CHECK(rc == CANAL_EPROTO || rc == CANAL_ENOMEM);
            FZ_CHECK(m == NULL);
            continue;
        }
        fz_check_message(c, m, data, size);
        fz_rowchanges(c, m);
        /* rowchange decodes leave the message intact */
        fz_check_message(c, m, data, size);
    }
    fz_rowchange_parse(c, size ? data : (const uint8_t *)empty_str, size);
    /* 4. one serialized Entry */
    const canal_entry *e = (const canal_entry *)&m; /* must be reset on failure */
    int rc;
    FZ_CALL(c, rc, canal_entry_parse(c, data, size, &e));
    if (rc < 0) {
        FZ_CHECK(rc == CANAL_EPROTO || rc == CANAL_ENOMEM);
        FZ_CHECK(e == NULL);
        return;
    }
    FZ_CHECK(c->batch.msg.n_entries == 1 && e == &c->batch.msg.entries[0] && c->batch.msg.batch_id == 0);
    FZ_CHECK(e->raw.len == size);
    fz_check_message(c, &c->batch.msg, data, size);
    fz_rowchanges(c, &c->batch.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Long-lived clients, as in a consumer: their vectors and arenas are
     * reused from input to input, which is what has to stay right. */
    static canal_client *strict, *lax;
    static uint8_t *lax_heap;
    if (!strict) strict = new_client(true, NULL, 0);
    if (!lax) {
        lax_heap = malloc(256 * 1024);
        FZ_CHECK(lax_heap != NULL);
        lax = new_client(false, lax_heap, 256 * 1024);
    }

    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    FZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    one_client(strict, buf, size);
    one_client(lax, buf, size);

    /* The helpers on the whole input, against the references. */
    FZ_CHECK(utf8_valid(buf, size) == (bool)ref_utf8_valid(buf, size));
    canal_str whole = {(const char *)buf, size};
    fz_check_latin1(whole);
    free(buf);
    return 0;
}
