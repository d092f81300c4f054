/* pbdump.c - decode a list of inputs with canal-c and print what it decoded
 * as canonical text (test/dump.h), for test/test_codec_diff.py.
 *
 *     pbdump CASES
 *
 * CASES holds records of: one kind byte ('m' a bare Messages, 'p' a Packet,
 * 'r' a RowChange), a 4-byte big-endian length, the bytes. Each input is
 * decoded from a buffer of exactly its size (so ASan sees any overread) by
 * one long-lived client with UTF-8 validation on, as a consumer would reuse
 * it; the output of each ends with a line "==". After "error" comes the
 * error text as a "# " line, for the reader of a failing case. */
#include <stdio.h>
#include <stdlib.h>

#include "dump.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: pbdump CASES\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    canal_client *c = canal_client_new(NULL);
    if (!c) return 2;
    dump_buf out = {NULL, 0, 0};
    int kind;
    while ((kind = fgetc(f)) != EOF) {
        uint8_t lb[4];
        if (fread(lb, 1, 4, f) != 4) return fprintf(stderr, "pbdump: truncated record\n"), 2;
        size_t n = (size_t)lb[0] << 24 | (size_t)lb[1] << 16 | (size_t)lb[2] << 8 | lb[3];
        uint8_t *data = malloc(n ? n : 1);
        if (!data || fread(data, 1, n, f) != n) return fprintf(stderr, "pbdump: truncated record\n"), 2;
        out.n = 0;
        dump_decode(&out, c, (char)kind, n ? data : NULL, n);
        fwrite(out.p, 1, out.n, stdout);
        if (canal_errcode(c) < 0) printf("# %s\n", canal_errstr(c));
        printf("==\n");
        free(data);
    }
    fclose(f);
    free(out.p);
    canal_client_free(c);
    return 0;
}
