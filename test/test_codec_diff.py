#!/usr/bin/python3
"""Differential codec test: canal-c against Google's protobuf on hand-built bytes.

    /usr/bin/python3 test/test_codec_diff.py build/pbdump build [build/fuzz_diff]
    /usr/bin/python3 test/test_codec_diff.py --seeds DIR      (fuzz/corpus/fuzz_diff)

Every case below is a byte string built by hand: wrong wire types for every
string, bytes and message field (Pair key and value, RowChange.sql,
ddlSchemaName, columns, rows, header, storeValue, ...), a singular message
field sent twice (Entry.header, which protobuf merges), unknown groups (wire
types 3/4) at every level, 10-byte varints whose last byte is above 1, field
numbers above 2^29, nesting at protobuf's depth limit, and malformed input.
build/pbdump (test/pbdump.c) decodes each with canal-c and prints canonical
text through the public API (test/dump.h); this script builds the same text
from what Google's protobuf (python3-protobuf, its C++ parser) decodes from
the same bytes, and the two must be equal, including "error" for both.

A Messages is decoded here the way canal-c exposes it: the Messages, then
every entry as an Entry (protobuf's Messages keeps them as bytes). A Packet
must be MESSAGES with no compression (or NONE), as canal_message_parse
documents, before its body is read as a Messages.

Where Java (Canal's own client) and protobuf's C++ parser differ, canal-c
follows Java, as the issue asks: Java reads a tag and a length with
readRawVarint32, which takes up to 10 bytes and keeps the low 32 bits, where
the C++ parser refuses a tag longer than 5 bytes and a length above 2^31-1.
Such a case carries `java=`: the same message with that varint written the
short way, which is what Java reads; protobuf decodes that, and canal-c must
decode the long form to the same. Each such case also checks that the C++
parser really refuses the long form (else the case would be needless).

Given the fuzz_diff binary too, the reference decoder inside it (the oracle
of the fuzz target, fuzz/fuzz_diff.c) is held to the same table: its text
for every case must equal protobuf's as well. --seeds writes every case as a
seed file for that fuzz target.

Prints one line per failing case (with both texts) and ends with
"codec_diff: N passed, M failed"; exit status 1 when any case failed.
"""

import os
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'server'))
import canal_server as cs                               # noqa: E402

CP = EP = None

# ---------------------------------------------------------------- wire builders


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def padded(n, size):
    """n as a varint of exactly `size` bytes (zero groups after the value)."""
    v = bytearray(varint(n))
    assert len(v) <= size
    while len(v) < size:
        v[-1] |= 0x80
        v.append(0)
    return bytes(v)


def tag(f, wt):
    return varint(f << 3 | wt)


def ld(f, b):
    if isinstance(b, str):
        b = b.encode()
    return tag(f, 2) + varint(len(b)) + b


def vi(f, n):
    return tag(f, 0) + varint(n)


def f64(f, b=b'DROP TAB'):
    assert len(b) == 8
    return tag(f, 1) + b


def f32(f, b=b'ok!!'):
    assert len(b) == 4
    return tag(f, 5) + b


def grp(f, inner=b''):
    return tag(f, 3) + inner + tag(f, 4)


def nest(depth, inner=b'', f=20):
    for _ in range(depth):
        inner = grp(f, inner)
    return inner


def wrong_types(f):
    """The field f sent as each wire type other than length-delimited."""
    return [('varint', vi(f, 5)), ('fixed64', f64(f)), ('fixed32', f32(f)),
            ('group', grp(f, vi(1, 1) + ld(2, 'xx'))), ('empty group', grp(f))]


def ten_byte(low63, last):
    """A 10-byte varint: 9 bytes of the low 63 bits, then `last` (< 0x80)."""
    b = bytearray()
    for i in range(9):
        b.append(((low63 >> (7 * i)) & 0x7f) | 0x80)
    b.append(last)
    return bytes(b)


# ---------------------------------------------------------------- sample messages

def pair(k, v):
    return ld(1, k) + ld(2, v)


def column(i=0, name='id', value='42', mysql='bigint(20)', extra=b''):
    return (vi(1, i) + vi(2, -5) + ld(3, name) + vi(4, 1) + vi(5, 1) + vi(6, 0) +
            ld(7, pair('k%d' % i, 'v')) + ld(8, value) + vi(9, 8) + ld(10, mysql) + extra)


ROW = ld(1, column(0, value='1')) + ld(2, column(0, value='2')) + ld(2, column(1, 'name', 'x', 'varchar(8)')) + \
    ld(3, pair('rk', 'rv'))
RC = (vi(1, 7) + vi(2, 2) + vi(10, 0) + ld(11, 'UPDATE t SET a=1') + ld(12, ROW) + ld(12, b'') +
      ld(13, pair('rck', 'rcv')) + ld(14, 'shop'))

HEADER = (vi(1, 1) + ld(2, 'mysql-bin.000001') + vi(3, 4) + vi(4, 1) + ld(5, 'UTF-8') +
          vi(6, 1700000000000) + vi(7, 2) + ld(8, 'shop') + ld(9, 'orders') + vi(10, 31) +
          vi(11, 1) + ld(12, pair('rowsCount', '1')) + ld(13, 'gtid-1'))


def entry(header=HEADER, etype=2, store=RC, extra=b''):
    return ld(1, header) + vi(2, etype) + ld(3, store) + extra


def messages(*entries, batch=5, extra=b''):
    return vi(1, batch) + b''.join(ld(2, e) for e in entries) + extra


def packet(body, ptype=7, extra=b''):
    return vi(2, 1) + vi(3, ptype) + ld(5, body) + extra


# ---------------------------------------------------------------- the table

def cases():
    """(name, kind, bytes, java_bytes or None); kind 'r' RowChange, 'm' Messages, 'p' Packet."""
    t = []

    def add(name, kind, data, java=None):
        t.append((name, kind, data, java))

    # -- baselines
    add('rowchange baseline', 'r', RC)
    add('messages baseline', 'm', messages(entry(), entry(etype=1, store=b'\x08\x01')))
    add('packet baseline', 'p', packet(messages(entry())))
    add('empty rowchange', 'r', b'')
    add('empty messages', 'm', b'')

    # -- wrong wire types for every string, bytes and message field: skipped as unknown
    for wname, w in wrong_types(11):
        add('RowChange.sql as %s' % wname, 'r', RC + w)
        add('RowChange.sql as %s first' % wname, 'r', w + RC)
    for wname, w in wrong_types(14):
        add('RowChange.ddlSchemaName as %s' % wname, 'r', RC + w)
    for wname, w in wrong_types(12):
        add('RowChange.rowDatas as %s' % wname, 'r', RC + w)
    for wname, w in wrong_types(13):
        add('RowChange.props as %s' % wname, 'r', RC + w)
    for wname, w in wrong_types(1):
        add('RowData.beforeColumns as %s' % wname, 'r', ld(12, ROW + w))
    for wname, w in wrong_types(2):
        add('RowData.afterColumns as %s' % wname, 'r', ld(12, ROW + w))
        add('RowData.afterColumns as %s between columns' % wname, 'r',
            ld(12, ld(2, column(0)) + w + ld(2, column(1))))
    for wname, w in wrong_types(3):
        add('RowData.props as %s' % wname, 'r', ld(12, ROW + w))
    for f, fname in ((3, 'name'), (7, 'props'), (8, 'value'), (10, 'mysqlType')):
        for wname, w in wrong_types(f):
            add('Column.%s as %s' % (fname, wname), 'r', ld(12, ld(2, column(0, extra=w))))
    for f, fname in ((1, 'key'), (2, 'value')):
        for wname, w in wrong_types(f):
            p = pair('k', 'v') + w
            add('Pair.%s as %s in RowChange.props' % (fname, wname), 'r', RC + ld(13, p))
            add('Pair.%s as %s in RowData.props' % (fname, wname), 'r', ld(12, ld(3, p)))
            add('Pair.%s as %s in Column.props' % (fname, wname), 'r', ld(12, ld(2, ld(7, p))))
            add('Pair.%s as %s in Header.props' % (fname, wname), 'm',
                messages(entry(header=HEADER + ld(12, p))))
    # the live case of the issue: sql sent as fixed64 "DROP TAB", a column as fixed64
    add('sql fixed64 DROP TAB alone', 'r', f64(11, b'DROP TAB'))
    add('column fixed64 alone', 'r', ld(12, f64(2, b'\x1a\x02id\x42\x02ok')))
    # varint fields sent length-delimited, fixed or as groups
    for f, fname in ((1, 'tableId'), (2, 'eventType'), (10, 'isDdl')):
        for wname, w in (('ld', ld(f, b'\x01')), ('fixed64', f64(f)), ('fixed32', f32(f)),
                         ('group', grp(f))):
            add('RowChange.%s as %s' % (fname, wname), 'r', RC + w)
    for f, fname in ((1, 'index'), (2, 'sqlType'), (4, 'isKey'), (5, 'updated'), (6, 'isNull'),
                     (9, 'length')):
        for wname, w in (('ld', ld(f, b'\x01')), ('fixed64', f64(f)), ('group', grp(f))):
            add('Column.%s as %s' % (fname, wname), 'r', ld(12, ld(2, column(3, extra=w))))
    # Entry and Header fields
    for wname, w in wrong_types(1):
        add('Entry.header as %s' % wname, 'm', messages(entry(extra=w)))
        add('Entry.header only as %s' % wname, 'm', messages(w + vi(2, 1)))
    for wname, w in wrong_types(3):
        add('Entry.storeValue as %s' % wname, 'm', messages(entry(extra=w)))
    for wname, w in (('ld', ld(2, b'\x01')), ('fixed64', f64(2)), ('group', grp(2))):
        add('Entry.entryType as %s' % wname, 'm', messages(entry(extra=w)))
    for f, fname in ((2, 'logfileName'), (5, 'serverenCode'), (8, 'schemaName'), (9, 'tableName'),
                     (12, 'props'), (13, 'gtid')):
        for wname, w in wrong_types(f):
            add('Header.%s as %s' % (fname, wname), 'm', messages(entry(header=HEADER + w)))
    for f, fname in ((1, 'version'), (3, 'logfileOffset'), (7, 'sourceType'), (11, 'eventType')):
        for wname, w in (('ld', ld(f, b'\x01')), ('fixed32', f32(f)), ('group', grp(f))):
            add('Header.%s as %s' % (fname, wname), 'm', messages(entry(header=HEADER + w)))
    for wname, w in wrong_types(2):
        add('Messages.messages as %s' % wname, 'm', messages(entry(), extra=w))
    for wname, w in (('ld', ld(1, b'\x01')), ('fixed64', f64(1)), ('group', grp(1))):
        add('Messages.batchId as %s' % wname, 'm', messages(entry(), extra=w))
    for wname, w in wrong_types(5):
        add('Packet.body as %s' % wname, 'p', packet(messages(entry())) + w)
    for wname, w in (('ld', ld(3, b'\x07')), ('fixed32', f32(3))):
        add('Packet.type as %s' % wname, 'p', packet(messages(entry())) + w)
    add('Packet.compression as ld', 'p', packet(messages(entry())) + ld(4, b'\x02'))

    # -- a singular message field sent more than once is merged
    h1 = vi(1, 1) + ld(8, 'shop') + ld(12, pair('a', '1')) + vi(7, 2) + vi(3, 100)
    h2 = vi(1, 2) + ld(9, 'orders') + ld(12, pair('b', '2')) + vi(11, 3) + ld(8, 'shop2')
    add('Entry.header twice (merged)', 'm', messages(ld(1, h1) + vi(2, 2) + ld(1, h2)))
    add('Entry.header three times', 'm', messages(ld(1, h1) + ld(1, h2) + ld(1, ld(12, pair('c', '3')))))
    add('Entry.header twice, second empty', 'm', messages(ld(1, h1) + ld(1, b'')))
    add('Entry.header twice, second invalid UTF-8', 'm', messages(ld(1, h1) + ld(1, ld(8, b'\xff'))))
    add('Entry.header twice in two entries', 'm',
        messages(ld(1, h1) + ld(1, h2), ld(1, h2) + ld(1, h1), entry()))
    add('Entry.header then wrong type', 'm', messages(ld(1, h1) + vi(1, 3)))
    add('Entry.storeValue twice (last wins)', 'm', messages(entry() + ld(3, 'second')))
    add('Entry.entryType twice (last wins)', 'm', messages(entry() + vi(2, 4)))
    add('RowChange.sql twice (last wins)', 'r', RC + ld(11, 'second'))
    add('Column.name twice (last wins)', 'r', ld(12, ld(2, column(0, extra=ld(3, 'again')))))
    add('Packet.body twice (last wins)', 'p', packet(b'garbage\xff') + ld(5, messages(entry())))
    add('Messages.batchId twice (last wins)', 'm', messages(entry(), extra=vi(1, 9)))

    # -- unknown fields and groups (wire types 3/4) everywhere
    g = grp(20, vi(1, 1) + ld(2, 'xx') + f32(3) + f64(4) + grp(5, vi(6, 7)))
    add('group in RowChange', 'r', g + RC + g)
    add('group in RowData', 'r', ld(12, g + ROW + g))
    add('group in Column', 'r', ld(12, ld(2, g + column(1) + g)))
    add('group in column Pair', 'r', ld(12, ld(2, ld(7, g + pair('k', 'v') + g))))
    add('group in Header', 'm', messages(entry(header=g + HEADER + g)))
    add('group in Header Pair', 'm', messages(entry(header=ld(12, g + pair('k', 'v')))))
    add('group in Entry', 'm', messages(g + entry() + g))
    add('group in Messages', 'm', g + messages(entry()) + g)
    add('group in Packet', 'p', g + packet(messages(entry())) + g)
    add('group with a known field number in Column', 'r', ld(12, ld(2, column(0, extra=grp(8, ld(8, 'zz'))))))
    add('group with a known field number in Header', 'm', messages(entry(header=HEADER + grp(9, ld(9, 'zz')))))
    add('unknown fields of every type', 'r',
        vi(99, 1) + ld(100, 'x') + f32(101) + f64(102) + RC + vi(536870911, 1))
    add('unknown fields in Header', 'm', messages(entry(header=vi(99, 1) + ld(100, b'\xff') + HEADER)))
    add('skipped bytes are not checked as UTF-8', 'r', RC + ld(99, b'\xff\xfe') + f64(11, b'\xff' * 8))
    add('skipped group bytes are not checked as UTF-8', 'r', RC + grp(11, ld(11, b'\xff')))
    # malformed groups
    add('group without its end', 'r', RC + tag(20, 3) + vi(1, 1))
    add('group ended by another number', 'r', RC + tag(20, 3) + tag(21, 4))
    add('end group at the top', 'r', RC + tag(20, 4))
    add('end group in Column', 'r', ld(12, ld(2, column(0) + tag(20, 4))))
    add('end group in Header', 'm', messages(entry(header=HEADER + tag(20, 4))))
    add('group cut inside a length', 'r', RC + tag(20, 3) + tag(1, 2) + b'\x05ab')
    # nesting depth: protobuf allows 100 levels below the top message
    for d in (99, 100, 101):
        add('groups nested %d deep in RowChange' % d, 'r', nest(d) + RC)
    for d in (98, 99, 100):
        add('groups nested %d deep in RowData' % d, 'r', ld(12, nest(d)))
    for d in (97, 98, 99):
        add('groups nested %d deep in Column' % d, 'r', ld(12, ld(2, nest(d))))
    for d in (96, 97, 98):
        add('groups nested %d deep in a column Pair' % d, 'r', ld(12, ld(2, ld(7, nest(d)))))
    for d in (98, 99, 100):
        add('groups nested %d deep in Header' % d, 'm', messages(ld(1, nest(d))))
    for d in (100, 101):
        add('groups nested %d deep in Entry' % d, 'm', messages(nest(d)))
        add('groups nested %d deep in Messages' % d, 'm', nest(d))
        add('groups nested %d deep in Packet' % d, 'p', nest(d) + packet(messages(entry())))

    # -- varints
    for last in (1, 2, 0x7f):
        v = ten_byte((1 << 63) - 1, last)
        add('10-byte varint, last byte %#x, RowChange.tableId' % last, 'r', RC + tag(1, 0) + v)
        add('10-byte varint, last byte %#x, RowChange.eventType' % last, 'r', RC + tag(2, 0) + v)
        add('10-byte varint, last byte %#x, RowChange.isDdl' % last, 'r', RC + tag(10, 0) + ten_byte(0, last))
        add('10-byte varint, last byte %#x, Column.index' % last, 'r',
            ld(12, ld(2, column(0, extra=tag(1, 0) + v + tag(9, 0) + ten_byte(5, last)))))
        add('10-byte varint, last byte %#x, Column.isNull' % last, 'r',
            ld(12, ld(2, column(0, extra=tag(6, 0) + ten_byte(0, last)))))
        add('10-byte varint, last byte %#x, Header fields' % last, 'm',
            messages(entry(header=HEADER + tag(3, 0) + v + tag(1, 0) + v + tag(11, 0) + v)))
        add('10-byte varint, last byte %#x, Entry.entryType' % last, 'm', messages(entry() + tag(2, 0) + v))
        add('10-byte varint, last byte %#x, Messages.batchId' % last, 'm', messages(entry()) + tag(1, 0) + v)
        add('10-byte varint, last byte %#x, Packet.type' % last, 'p',
            packet(messages(entry())) + tag(3, 0) + ten_byte(7, last))
        add('10-byte varint, last byte %#x, unknown field' % last, 'r', RC + tag(50, 0) + v)
    add('11-byte varint', 'r', RC + tag(1, 0) + b'\xff' * 10 + b'\x01')
    add('11-byte varint in a Column', 'r', ld(12, ld(2, tag(1, 0) + b'\x80' * 10 + b'\x00')))
    add('varint cut short', 'r', RC + tag(1, 0) + b'\xff\xff')
    add('negative int32 (10 bytes)', 'r', ld(12, ld(2, vi(1, -1) + vi(2, -2147483648) + vi(9, -7))))
    add('int32 from a 64-bit value', 'r', ld(12, ld(2, vi(1, (1 << 40) + 5) + vi(9, (1 << 33) - 1))))
    add('enum above 32 bits', 'r', RC + vi(2, (1 << 32) + 3))
    add('enum negative', 'm', messages(entry(etype=-1, header=HEADER + vi(11, -5) + vi(7, 1 << 31))))
    add('bool from 2 and from 2^40', 'r', RC + vi(10, 2) + ld(12, ld(2, vi(4, 1 << 40) + vi(6, 2))))

    # -- field numbers and tags
    add('field number 2^29-1', 'r', RC + vi((1 << 29) - 1, 1) + ld((1 << 29) - 1, 'x'))
    add('5-byte tag above 32 bits (field number past 2^29, truncated)', 'r',
        RC + b'\xda\x80\x80\x80\x1f' + b'\x01x')
    add('5-byte tag 2^32 + sql', 'r', RC + varint((1 << 32) | (11 << 3 | 2)) + b'\x01x')
    add('5-byte tag 2^32 + column', 'r', ld(12, varint((1 << 32) | (2 << 3 | 2)) + varint(3) + ld(3, 'c')))
    add('5-byte padded tag', 'r', RC + padded(11 << 3 | 2, 5) + b'\x01y')
    add('field number 0', 'r', RC + b'\x00')
    add('field number 0 in Column', 'r', ld(12, ld(2, column(0) + b'\x02\x00')))
    add('field number 0 in Header', 'm', messages(entry(header=HEADER + b'\x00\x01')))
    add('field number 0 above 32 bits', 'r', RC + varint(1 << 32) + b'\x01')
    add('wire type 6', 'r', RC + tag(20, 6))
    add('wire type 7', 'r', RC + tag(20, 7))
    add('wire type 6 in Column', 'r', ld(12, ld(2, tag(20, 6))))
    add('wire type 7 in Header', 'm', messages(entry(header=tag(20, 7))))
    # Java's rule for tags and lengths longer than 5 bytes (see the top)
    for size in (6, 10):
        add('%d-byte tag (sql)' % size, 'r', RC + padded(11 << 3 | 2, size) + b'\x01z',
            java=RC + ld(11, 'z'))
        add('%d-byte tag, high bits dropped (Column.name)' % size, 'r',
            ld(12, ld(2, column(0) + padded((1 << 33) | 3 << 3 | 2, size) + b'\x01n')),
            java=ld(12, ld(2, column(0) + ld(3, 'n'))))
        add('%d-byte tag (Header.tableName)' % size, 'm',
            messages(entry(header=HEADER + padded(9 << 3 | 2, size) + b'\x01t')),
            java=messages(entry(header=HEADER + ld(9, 't'))))
        add('%d-byte length (sql)' % size, 'r', RC + tag(11, 2) + padded(2, size) + b'ab',
            java=RC + ld(11, 'ab'))
    add('length above 32 bits, truncated (sql)', 'r', RC + tag(11, 2) + varint((1 << 32) + 2) + b'ab',
        java=RC + ld(11, 'ab'))
    add('length 2^31 (negative in Java)', 'r', RC + tag(11, 2) + varint(1 << 31) + b'ab')
    add('length past the end', 'r', RC + tag(11, 2) + b'\x05ab')
    add('length past the end in Header', 'm', messages(entry(header=HEADER + tag(8, 2) + b'\x09ab')))
    add('length past the end in Messages', 'm', vi(1, 1) + tag(2, 2) + b'\x7f\x00')
    add('fixed64 cut short', 'r', RC + tag(20, 1) + b'1234')
    add('fixed32 cut short', 'm', messages(entry(header=HEADER + tag(20, 5) + b'12')))
    add('tag cut short', 'r', RC + b'\x80')

    # -- UTF-8
    add('invalid UTF-8 in sql', 'r', RC + ld(11, b'\xc3'))
    add('surrogate in a column value', 'r', ld(12, ld(2, ld(8, b'\xed\xa0\x80'))))
    add('overlong in a Pair key', 'r', RC + ld(13, ld(1, b'\xc0\x80')))
    add('invalid UTF-8 in Header.gtid', 'm', messages(entry(header=HEADER + ld(13, b'\xf5\x80\x80\x80'))))
    add('invalid UTF-8 in storeValue (bytes)', 'm', messages(entry(store=b'\xff\xfe')))
    add('noncharacter and U+10FFFF', 'r', RC + ld(11, '\ufffe\U0010ffff'.encode()))
    return t


# ---------------------------------------------------------------- protobuf's view

def h(s):
    if isinstance(s, str):
        s = s.encode('utf-8')
    return s.hex() if s else '-'


def pairs(label, ps):
    return ['%s k=%s v=%s' % (label, h(p.key), h(p.value)) for p in ps]


def has(m, oneof):
    return 1 if m.WhichOneof(oneof) is not None else 0


def parse(cls, data):
    """Google's parser; a warning (e.g. a stray end-group tag, on which the
    C++ parser stops early) counts as an error, as it is one for Java."""
    m = cls()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        m.ParseFromString(data)
    return m


def view_rowchange(data):
    rc = parse(EP.RowChange, data)
    out = ['rc table=%d ev=%d/%d ddl=%d/%d sql=%s schema=%s' % (
        rc.tableId, rc.eventType, has(rc, 'eventType_present'), int(rc.isDdl),
        has(rc, 'isDdl_present'), h(rc.sql), h(rc.ddlSchemaName))]
    out += pairs('prop', rc.props)
    for row in rc.rowDatas:
        out.append('row')
        for label, cols in (('before', row.beforeColumns), ('after', row.afterColumns)):
            for c in cols:
                out.append('%s index=%d sqltype=%d name=%s key=%d upd=%d null=%d/%d len=%d mysql=%s value=%s' % (
                    label, c.index, c.sqlType, h(c.name), int(c.isKey), int(c.updated), int(c.isNull),
                    has(c, 'isNull_present'), c.length, h(c.mysqlType), h(c.value)))
                out += pairs('cprop', c.props)
        out += pairs('rprop', row.props)
    return out


def view_messages(data):
    ms = parse(CP.Messages, data)
    out = ['batch %d' % ms.batch_id]
    for raw in ms.messages:
        e = parse(EP.Entry, raw)
        hd = e.header
        out.append('entry type=%d/%d header=%d' % (e.entryType, has(e, 'entryType_present'),
                                                   1 if e.HasField('header') else 0))
        out.append('hdr version=%d/%d file=%s offset=%d server=%d enc=%s time=%d src=%d/%d '
                   'schema=%s table=%s evlen=%d ev=%d/%d gtid=%s' % (
                       hd.version, has(hd, 'version_present'), h(hd.logfileName), hd.logfileOffset,
                       hd.serverId, h(hd.serverenCode), hd.executeTime, hd.sourceType,
                       has(hd, 'sourceType_present'), h(hd.schemaName), h(hd.tableName),
                       hd.eventLength, hd.eventType, has(hd, 'eventType_present'), h(hd.gtid)))
        out += pairs('prop', hd.props)
        out.append('store %s' % h(e.storeValue))
    return out


def view_packet(data):
    p = parse(CP.Packet, data)
    if p.type != CP.MESSAGES:
        raise ValueError('not a MESSAGES packet')
    if p.HasField('compression') and p.compression not in (CP.COMPRESSIONCOMPATIBLEPROTO2, CP.NONE):
        raise ValueError('compressed')
    return view_messages(p.body)


VIEW = {'r': view_rowchange, 'm': view_messages, 'p': view_packet}


def expected(kind, data):
    try:
        return VIEW[kind](data)
    except Exception:       # DecodeError, a warning turned error, or our own refusals
        return ['error']


# ---------------------------------------------------------------- main

def run_decoder(cmd, env, table, build):
    """Run a decoder over every case; its text per case, or a reason it failed."""
    with tempfile.NamedTemporaryFile(prefix='codec-diff-', dir=build, delete=False) as f:
        path = f.name
        for _, kind, data, _ in table:
            f.write(kind.encode() + len(data).to_bytes(4, 'big') + data)
    try:
        e = dict(os.environ)
        e.update(env)
        r = subprocess.run(cmd + ([] if env else [path]), capture_output=True, timeout=120,
                           env={k: (path if v == '@' else v) for k, v in e.items()})
    finally:
        os.unlink(path)
    if r.returncode != 0:
        print(r.stderr.decode(errors='replace')[-2000:])
        return None, '%s exited with status %d' % (cmd[0], r.returncode)
    outputs = r.stdout.decode().split('==\n')[:-1]
    if len(outputs) != len(table):
        return None, '%d outputs for %d cases' % (len(outputs), len(table))
    return outputs, None


def write_seeds(out):
    os.makedirs(out, exist_ok=True)
    seen = set()
    for i, (_, _, data, _) in enumerate(cases()):
        if data in seen or len(data) > 4096:
            continue
        seen.add(data)
        with open(os.path.join(out, 'case_%03d' % i), 'wb') as f:
            f.write(data)


def main():
    global CP, EP
    if len(sys.argv) == 3 and sys.argv[1] == '--seeds':
        write_seeds(sys.argv[2])
        return 0
    if len(sys.argv) not in (3, 4):
        sys.exit('usage: test_codec_diff.py PBDUMP BUILD_DIR [FUZZ_DIFF]')
    pbdump, build = sys.argv[1], sys.argv[2]
    CP, EP = cs.load_pb(os.path.join(build, 'pb_py'))
    table = cases()
    decoders = [('canal-c', [pbdump], {})]
    if len(sys.argv) == 4:
        decoders.append(('fuzz_diff reference', [sys.argv[3]], {'FUZZ_DIFF_PRINT': '@'}))
    passed = failed = 0
    for label, cmd, env in decoders:
        outputs, why = run_decoder(cmd, env, table, build)
        if outputs is None:
            print('FAIL %s: %s' % (label, why))
            failed += 1
            continue
        p, f = compare(label, table, outputs)
        passed += p
        failed += f
    print('codec_diff: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


def compare(label, table, outputs):
    passed = failed = 0
    for (name, kind, data, java), got_text in zip(table, outputs):
        got = [ln for ln in got_text.splitlines() if not ln.startswith('# ')]
        why = [ln for ln in got_text.splitlines() if ln.startswith('# ')]
        if java is not None:
            want = expected(kind, java)
            problem = None if expected(kind, data) == ['error'] else 'the C++ parser accepts the long form'
        else:
            want = expected(kind, data)
            problem = None
        if got == want and problem is None:
            passed += 1
            continue
        failed += 1
        print('FAIL %s: %s (%s %s)%s' % (label, name, kind, data.hex()[:120], ': ' + problem if problem else ''))
        print('  protobuf%s: %s' % (' (Java rule)' if java is not None else '', ' | '.join(want)[:600]))
        print('  %s: %s %s' % (label, ' | '.join(got)[:600], ' '.join(why)[:200]))
    return passed, failed


if __name__ == '__main__':
    sys.exit(main())
