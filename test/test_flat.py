#!/usr/bin/python3
"""canal_flat against the reference of PROTOCOL.md section 8 (flat_ref.py) on
many generated inputs.

    /usr/bin/python3 test/test_flat.py build/test_flat build [SEED] [COUNT]

Builds COUNT random Messages with Google's protobuf (entry types present,
absent or unknown; every event type and unknown ones; DDL or not; rows with
repeated, empty, Unicode and control-character names; NULLs with isNull
present or absent; keys and updated flags at random), writes them to one file,
has `test_flat --dump` convert them with canal_message_parse,
canal_entry_rowchange and canal_flat, and compares every line with
flat_ref.flat_lines on the same bytes. test_flat itself checks that the
callback and the buffer forms agree. Ends with "flat: N passed, M failed".
"""

import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, 'server'))
import flat_ref                                         # noqa: E402
import canal_server as cs                               # noqa: E402

TS = 1700000009999
NAMES = ['id', 'name', 'qty', '', 'ts', 'type', 'data', 'é', '名字', 'a"b', 'a\\b', 'c\nd',
         '\x00', '\x1f\x7f', '😀', 'x' * 40, 'u\u2028v']
TEXTS = ['', '1', '-5', '189.0', 'a"b', 'tab\there', 'nl\n', '\x00\xffA', '\b\f\r', 'ÿ',
         '张三', '😀 emoji', '\u2028\u2029', '/', 'NULL', 'null', 'x' * 300, '\x7f']


def rand_text(r):
    if r.random() < 0.15:
        return ''.join(chr(r.choice([r.randrange(0, 0x80), r.randrange(0x80, 0x800),
                                     r.randrange(0x800, 0xd800), r.randrange(0xe000, 0x110000)]))
                       for _ in range(r.randrange(0, 12)))
    return r.choice(TEXTS)


def rand_column(r, pb):
    c = pb.Column()
    c.index = r.randrange(0, 50)
    c.sqlType = r.choice([-7, -6, -5, -4, -3, -2, 1, 3, 4, 12, 91, 93, 2004, 2005,
                          r.randrange(-2**31, 2**31)])
    c.name = r.choice(NAMES)
    if r.random() < 0.8:
        c.mysqlType = r.choice(['bigint(20)', 'varchar(64)', 'int(11) unsigned', 'blob', '', 'é"'])
    c.isKey = r.random() < 0.3
    c.updated = r.random() < 0.5
    p = r.random()
    if p < 0.2:
        c.isNull = True
    elif p < 0.6:
        c.isNull = False
    if r.random() < 0.85:
        c.value = rand_text(r)          # a NULL with a value: isNull wins
    return c


def rand_entry(r):
    EP = cs.EP
    e = EP.Entry()
    p = r.random()
    if p < 0.75:
        e.entryType = EP.ROWDATA
    elif p < 0.85:
        e.entryType = r.choice([1, 3, 4, 5, 0, 77])
    # else absent
    h = e.header
    h.schemaName = r.choice(['shop', '', 'Shop', 'é', 'a"b\n'])
    h.tableName = r.choice(['orders', '', 'users', 't\x01'])
    h.executeTime = r.choice([0, 1700000000000, -1, 2**63 - 1, -2**63, r.randrange(0, 2**40)])
    if r.random() < 0.3:
        h.gtid = r.choice(['3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', '', 'g"\\'])
    rc = EP.RowChange()
    p = r.random()
    if p < 0.7:
        rc.eventType = r.choice([1, 1, 2, 2, 2, 3, 3])
    elif p < 0.9:
        rc.eventType = r.choice(list(range(0, 16)) + [16, 99, 2**31 - 1])
    if r.random() < 0.3:
        rc.isDdl = r.random() < 0.5
    if r.random() < 0.3:
        rc.sql = rand_text(r)
    for _ in range(r.choice([0, 1, 1, 2, 3, 5])):
        rd = rc.rowDatas.add()
        for _ in range(r.choice([0, 1, 2, 3, 6])):
            rd.beforeColumns.append(rand_column(r, EP))
        for _ in range(r.choice([0, 1, 2, 3, 6])):
            rd.afterColumns.append(rand_column(r, EP))
    e.storeValue = rc.SerializeToString()
    return e.SerializeToString()


def main():
    binary, build = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261129
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 600
    cs.load_pb(os.path.join(build, 'pb_py'))
    r = random.Random(seed)
    tmp = os.path.join(build, 'tmp')
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, 'flat-%d.bin' % os.getpid())
    want = []
    with open(path, 'wb') as f:
        for k in range(count):
            entries = [rand_entry(r) for _ in range(r.randrange(0, 6))]
            m = cs.CP.Messages()
            m.batch_id = r.choice([k + 1, -1, 2**63 - 1, 0])
            m.messages.extend(entries)
            body = m.SerializeToString()
            f.write(struct.pack('>I', len(body)) + body)
            dicts = [flat_ref.entry_from_pb(cs.EP.Entry.FromString(e), cs.EP.RowChange)
                     for e in entries]
            want += flat_ref.flat_lines(m.batch_id, dicts, ts=TS) + ['-- %d' % len(entries)]
    p = subprocess.run([binary, '--dump', path, str(TS)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    got = p.stdout.decode('utf-8').split('\n')
    if got and got[-1] == '':
        got.pop()
    passed = failed = 0
    if p.returncode != 0:
        print('FAIL test_flat --dump exited %d: %s' % (p.returncode, p.stderr.decode()[:500]))
        failed += 1
    if len(got) != len(want):
        print('FAIL %d lines, want %d' % (len(got), len(want)))
        failed += 1
    for i, (g, w) in enumerate(zip(got, want)):
        if g == w:
            passed += 1
        else:
            failed += 1
            if failed <= 5:
                print('FAIL line %d\n  got  %r\n  want %r' % (i + 1, g, w))
    if failed == 0:
        os.remove(path)
    rows = sum(1 for w in want if not w.startswith('-- '))
    print('compared %d FlatMessage lines from %d messages (seed %d)' % (rows, count, seed))
    print('flat: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
