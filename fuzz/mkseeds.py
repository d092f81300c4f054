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


def main():
    build = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus")
    fx = os.path.join(build, "fixtures")
    dec = os.path.join(out, "fuzz_decode")
    frm = os.path.join(out, "fuzz_frames")
    flt = os.path.join(out, "fuzz_flat")
    for d in (dec, frm, flt):
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

    for d in (dec, frm, flt):
        for n in os.listdir(d):
            if os.path.join(d, n) not in written:
                os.remove(os.path.join(d, n))


main()
