#!/usr/bin/python3
"""Regenerate the seed corpora in fuzz/corpus/ (they are committed; run this
only to refresh them).

usage: fuzz/mkseeds.py BUILD_DIR [OUT_DIR]      (OUT_DIR: fuzz/corpus)

Sources, all real encoder output, never canal-c's own:
  * BUILD_DIR/fixtures/*.bin: test/fixtures/rowchanges.txt encoded by protoc
    (`make` builds them);
  * sessions captured from the test server (test/server/canal_server.py,
    sample stream, fixed seed): BUILD_DIR/example talks to it through a
    recording proxy, and what the server sent is kept frame by frame.

fuzz_decode seeds are Packets and Messages as they are; fuzz_flat gets the
same ones (it reads its input the same three ways). fuzz_frames seeds are
the three control bytes fuzz_frames.c documents (flags, recv pattern,
failing allocation) followed by server bytes, cut to whole frames and kept
to a few KB each.

fuzz_values seeds are one column each (the layout fuzz_values.c documents:
0x80, the mysqlType's length and text, an sqlType pick, flags, the value),
one per vector kind of test/test_values.c. `mkseeds.py --values [OUT_DIR]`
writes only those (no build, no server).
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"

HS = bytes.fromhex("00000010 1001 1801 2a0a 1208 0102030405060708")
ACK_OK = bytes.fromhex("00000004 1001 1803")
EMPTY_GET = bytes.fromhex("00000011 1001 1807 2a0b 08ffffffffffffffffff01")


def frame(body):
    return struct.pack(">I", len(body)) + body


def frames(stream):
    out, i = [], 0
    while i + 4 <= len(stream):
        n = struct.unpack(">I", stream[i:i + 4])[0]
        out.append(stream[i:i + 4 + n])
        i += 4 + n
    return out


def set_batch(packet, batch):
    """Packet bytes with Messages.batch_id (1 byte varint) replaced."""
    i = packet.index(b"\x2a")  # body: field 5
    j = i + 1
    while packet[j] & 0x80:
        j += 1
    j += 1
    assert packet[j] == 0x08 and packet[j + 1] < 0x80
    return packet[:j + 1] + bytes([batch]) + packet[j + 2:]


def capture(build, name, server_args, example_args, tmp):
    """Run the test server and example through a proxy; return server bytes."""
    port_file = os.path.join(tmp, name + ".port")
    srv = subprocess.Popen([PY, os.path.join(ROOT, "test/server/canal_server.py"),
                            "--user", "canal", "--password", "canal",
                            "--pb-dir", os.path.join(build, "pb_py"), "--port", "0",
                            "--port-file", port_file, "--seed-hex", "0102030405060708"]
                           + server_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        up = int(open(port_file).read())
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        got = bytearray()

        def pump():
            c, _ = ls.accept()
            s = socket.create_connection(("127.0.0.1", up))

            def back():
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    got.extend(d)
                    try:
                        c.sendall(d)
                    except OSError:
                        break
                c.close()
            t = threading.Thread(target=back)
            t.start()
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    break
                if not d:
                    break
                s.sendall(d)
            s.shutdown(socket.SHUT_WR)
            t.join(5)
            s.close()

        t = threading.Thread(target=pump)
        t.start()
        subprocess.run([os.path.join(build, "example"), "--port", str(ls.getsockname()[1])]
                       + example_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.join(10)
        return bytes(got)
    finally:
        srv.kill()
        srv.wait()


# fuzz_values.c's sqlType table, in its order
SQL_TYPES = [-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 91, 92, 93, 1111,
             2004, 2005]
VALUE_SEEDS = [
    ("int_min", "bigint(20)", -5, 0, b"-9223372036854775808"),
    ("uint_max_moved_up", "bigint(20) unsigned", 3, 0, b"18446744073709551615"),
    ("tinyint_unsigned", "tinyint(3) unsigned", 5, 0, b"255"),
    ("tinyint_over", "tinyint(4)", -6, 0, b"128"),
    ("bool", "tinyint(1)", -6, 0, b"-5"),
    ("bit64", "bit(64)", -7, 0, b"18446744073709551615"),
    ("year_zero", "year(4)", 12, 0, b"0000"),
    ("enum", "enum('a','it''s','c')", 4, 0, b"2"),
    ("set", "set('a','b','c')", -7, 0, b"5"),
    ("decimal_189", "decimal(10,2)", 3, 0, b"189.0"),
    ("decimal_neg", "decimal(10,2)", 3, 0, b"-189.50"),
    ("decimal_65_30", "decimal(65,30)", 3, 0,
     b"-12345678901234567890123456789012345.123456789012345678901234567890"),
    ("decimal_groups", "decimal(20,10)", 3, 0, b"1.000000000"),
    ("decimal_nometa", "", 3, 0, b"12.5"),
    ("float", "float", 7, 0, b"1.6777216E7"),
    ("double_exp", "double", 8, 0, b"1.0E-4"),
    ("double_negzero", "double", 8, 0, b"-0.0"),
    ("double_nan", "double", 8, 0, b"NaN"),
    ("date_zero", "date", 91, 0, b"0000-00-00"),
    ("date_partial", "date", 91, 0, b"2020-00-00"),
    ("datetime6", "datetime(6)", 93, 0, b"2023-11-14 22:13:20.123456"),
    ("datetime3_zero", "datetime(3)", 93, 0, b"0000-00-00 00:00:00.000"),
    ("timestamp3", "timestamp(3)", 93, 0, b"2023-11-15 06:13:20.123"),
    ("time_max", "time", 92, 0, b"-838:59:59"),
    ("time_frac", "time(6)", 92, 0, b"-00:00:00.500000"),
    ("blob", "blob", 2004, 0, b"\x00\xc3\xbfA"),
    ("geometry", "point", 2004, 0, b"\x00\x00\x00\x00\x01\x01"),
    ("text", "varchar(16)", 12, 0, "北京".encode()),
    ("json", "json", 12, 0, b'{"a": [1, 2.0E10, "x"]}'),
    ("null", "int(11)", 4, 1, b""),
    ("positions", "varchar(64)", 12, 6, b"mysql-bin.999999mysql-bin.1000000"),
]


def value_seeds(put, d):
    for name, mt, sql, flags, value in VALUE_SEEDS:
        t = mt.encode()
        put(d, name, bytes([0x80, len(t)]) + t + bytes([SQL_TYPES.index(sql), flags]) + value)


def main():
    if sys.argv[1] == "--values":
        out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus")
        d = os.path.join(out, "fuzz_values")
        os.makedirs(d, exist_ok=True)
        for n in os.listdir(d):
            os.remove(os.path.join(d, n))
        value_seeds(lambda dd, n, b: open(os.path.join(dd, n), "wb").write(b), d)
        return
    build = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus")
    fx = os.path.join(build, "fixtures")
    dec = os.path.join(out, "fuzz_decode")
    frm = os.path.join(out, "fuzz_frames")
    flt = os.path.join(out, "fuzz_flat")
    val = os.path.join(out, "fuzz_values")
    for d in (dec, frm, flt, val):
        os.makedirs(d, exist_ok=True)
    written = set()

    def put(d, name, data):
        path = os.path.join(d, name)
        written.add(path)
        with open(path, "wb") as f:
            f.write(data)

    fixture = {n[:-4]: open(os.path.join(fx, n), "rb").read()
               for n in sorted(os.listdir(fx)) if n.endswith(".bin")}
    for n, b in fixture.items():
        put(dec, "fixture_" + n, b)
    value_seeds(put, val)

    user = ["--user", "canal", "--password", "canal", "--timeout-ms", "-1"]
    tmp = tempfile.mkdtemp()
    try:
        cap = {
            "raw": capture(build, "raw", ["--sample"], user + ["--batch-size", "3",
                                                                 "--exit-when-idle"], tmp),
            "noraw": capture(build, "noraw", ["--sample", "--no-raw"],
                             user + ["--batch-size", "2", "--exit-when-idle"], tmp),
        }
        faults = {
            "authfail": ([], ["--user", "canal", "--password", "wrong", "--exit-when-idle"]),
            "ackrefused": ('{"faults":[{"on":"ACK","action":"error","code":400,"message":'
                           '"ack error , clientId:1001 batchId:1 is not exist , please check"}]}',
                           user + ["--batch-size", "3", "--max-batches", "2"]),
            "compression": ('{"faults":[{"on":"GET","action":"compression","value":2}]}',
                            user + ["--batch-size", "2", "--max-batches", "1"]),
            "suberror": ('{"faults":[{"on":"SUB","action":"error","code":401,"message":'
                         '"destination:example should start first"}]}', user),
        }
        for name, (script, args) in faults.items():
            sargs = ["--sample"]
            if script:
                p = os.path.join(tmp, name + ".json")
                open(p, "w").write(script)
                sargs += ["--script", p]
            cap[name] = capture(build, name, sargs, args, tmp)
    finally:
        shutil.rmtree(tmp)

    # fuzz_decode: GET replies as the server framed them (Packet bodies)
    for name, picks in (("raw", (3, 4)), ("noraw", (5,)), ("compression", (3,))):
        fr = frames(cap[name])
        for k in picks:
            if k < len(fr):
                put(dec, "server_%s_get%d" % (name, k), fr[k][4:])

    # fuzz_frames: a whole session from the fixtures ...
    p7 = fixture["packet_raw"]
    p8 = set_batch(fixture["packet_v1"], 8)
    sess = HS + ACK_OK + ACK_OK + frame(p7) + frame(p8) + EMPTY_GET
    put(frm, "fixtures_session", b"\x80\x00\x00" + sess)
    put(frm, "fixtures_session_1byte", b"\x84\x01\x00" + sess)
    put(frm, "fixtures_session_random_splits", b"\x80\x5a\x00" + sess)
    put(frm, "fixtures_after_auth", b"\x01\x00\x00" + sess[len(HS) + len(ACK_OK):])
    put(frm, "fixtures_after_sub", b"\x23\x03\x00" + sess[len(HS) + 2 * len(ACK_OK):])
    put(frm, "fixtures_alloc_fail", b"\x80\x00\x0c" + sess)
    put(frm, "fixtures_peer_closed", b"\x88\x00\x00" + sess)
    put(frm, "fixtures_noheap_32k", b"\x80\x00\x80" + sess)
    put(frm, "fixtures_noheap_256k", b"\x80\x07\xb0" + sess)
    # ... and captured ones, cut to a few KB of whole frames
    # regressions: a storeValue sent as a varint (nanopb hands the callback a
    # copy on its stack, which a kept view outlives)
    put(dec, "regress_storevalue_as_varint", bytes.fromhex("12021805"))
    put(frm, "regress_storevalue_as_varint",
        bytes.fromhex("030000" "0000000c 1807 2a08 0801 1204 1002 1805"))
    # ... and the 15th allocation (a Column's props) failing: ENOMEM, not EPROTO
    put(frm, "regress_enomem_in_column_props", b"\x80\x00\x0f" + sess)
    for name, data in cap.items():
        keep, total = [], 0
        for f in frames(data):
            if total + len(f) > 3000 and keep:
                break
            keep.append(f)
            total += len(f)
        body = b"".join(keep)
        if name in ("raw", "noraw") and not body.endswith(EMPTY_GET):
            body += EMPTY_GET
        put(frm, "server_" + name, b"\x80\x00\x00" + body)

    # seeds this script no longer makes (the files are replaced in place, so
    # the directories never stand empty)
    # fuzz_flat: every decoder seed
    for n in sorted(os.listdir(dec)):
        if os.path.join(dec, n) in written:
            put(flt, n, open(os.path.join(dec, n), "rb").read())

    for d in (dec, frm, flt, val):
        for n in os.listdir(d):
            if os.path.join(d, n) not in written:
                os.remove(os.path.join(d, n))


main()
