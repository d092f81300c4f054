#!/usr/bin/python3
"""Encode test/fixtures/*.txt with Google's protoc (--encode), so canal-c's
decoder is checked against an encoder that is not its own.

usage: mkfixtures.py FIXTURES.txt OUTDIR   -> OUTDIR/<section>.bin
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "proto")
PKG = "com.alibaba.otter.canal.protocol."
# The two files share a package and an enum value name: load one per run.
FILE_OF = {t: "EntryProtocol.proto" for t in ("Entry", "Header", "RowChange", "RowData", "Column", "Pair")}
FILE_OF.update({t: "CanalProtocol.proto" for t in ("Packet", "Messages", "Ack", "Handshake", "Get")})


def escape(b):
    return '"' + "".join("\\%03o" % x for x in b) + '"'


def encode(typ, text):
    r = subprocess.run(["protoc", "-I", PROTO, "--encode=" + PKG + typ, FILE_OF[typ]],
                       input=text.encode(), capture_output=True, cwd=PROTO)
    if r.returncode != 0:
        sys.exit("protoc --encode=%s failed: %s" % (typ, r.stderr.decode()))
    return r.stdout


def main():
    src, out = sys.argv[1], sys.argv[2]
    sections, order, cur = {}, [], None
    for line in open(src, encoding="utf-8"):
        if line.startswith("#"):
            continue
        m = re.match(r"== (\w+) (\w+)", line)
        if m:
            cur = m.group(1)
            sections[cur] = [m.group(2), ""]
            order.append(cur)
        elif cur:
            sections[cur][1] += line
    done = {}

    def build(name):
        if name not in done:
            typ, text = sections[name]
            text = re.sub(r"@bytes (\w+)", lambda m: escape(build(m.group(1))), text)
            done[name] = encode(typ, text)
        return done[name]

    os.makedirs(out, exist_ok=True)
    for name in order:
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(build(name))


main()
