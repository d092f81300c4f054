#!/usr/bin/python3
"""Fake Alibaba Canal server for canal-c tests.

Implements the server side of /work/shared/spec/PROTOCOL.md (the canal-c wire
contract), section 9 "What a faithful test server must do": framing, handshake,
scramble411 auth, the five session commands with Canal's error codes and texts,
the raw MESSAGES fast path, per-identity batch bookkeeping that survives TCP
connections, the idle watchdog, and entries shaped like Canal's MySQL parser.
Run with /usr/bin/python3; only stdlib + google.protobuf.  `--help` lists the CLI.

Protobuf modules: both .proto files put an enum value HEARTBEAT in one package,
which one Python descriptor pool refuses, so load_pb() compiles its own copies into
--pb-dir with EntryProtocol moved to package com.alibaba.otter.canal.protocol.entry
(the package never reaches the wire); regenerated only when the sources change.

Script (--script FILE.json; every key optional):
  {"tables":    {"schema.table": [<column>, ...]},   # lets statements omit "columns"
   "entries":   [<event>, ...],                      # the binlog, in order
   "faults":    [<fault>, ...],
   "handshake": {"version": null|int, "type": int, "seed_hex": "..."}}
  event  = {"tx": [<stmt>, ...], "gtid": "...", "execute_time": ms, "thread_id": n, "xid": n}
             -> TRANSACTIONBEGIN, one ROWDATA per stmt, TRANSACTIONEND
         | <stmt> (+ optional "gtid", "execute_time")  -> one bare ROWDATA (e.g. a DDL)
         | {"raw_entry_hex": "0a00..."}                 -> these exact Entry bytes
  stmt   = {"type": "INSERT"|"UPDATE"|"DELETE", "schema", "table", "columns"?,
            "rows": [{"after": [..]} | {"before": [..], "after": [..]} | {"before": [..]}]}
         | {"type": "ALTER"|"CREATE"|"QUERY"|..., "schema", "table", "sql", "ddl": true}
  column = {"name", "mysql_type", "sql_type"? (inferred from mysql_type), "key"?, "binary"?}
  A row image is a list (all columns, in order) or an object {name: value} (only
  those columns, like a minimal binlog image).  Values: null -> isNull, no value;
  numbers -> their decimal text as written; true/false -> "1"/"0"; strings as is;
  {"repeat": s, "times": n} -> s repeated (big frames); for "binary" columns the
  (repeated) string is hex of the original bytes, sent ISO-8859-1 decoded with
  sqlType 2004.  `updated` follows LogEventConvert.isUpdate.  executeTime defaults
  to 1700000000000 + 1000 * (event number).  Every destination serves the same stream.

Faults: {"on": KIND, "action": ACTION, "nth": 1, "times": 1, "always": false,
         "scope": "server"|"connection", "apply": bool, "close_after": bool, ...}
  KIND: CONNECT (the handshake), AUTH, SUB, UNSUB, GET, ACK, ROLLBACK, OTHER
  (unsupported types).  Requests of each KIND are counted server-wide across all
  connections (scope "server", default) or per connection (scope "connection");
  the fault fires on the nth such request and the following ones until it has fired
  `times` times ("always": no limit).  First matching fault in list order wins.
  ACTION: error (+code, message, mode replace|before|after: the error Ack instead of,
  before or after the normal reply), close (no reply), stall (+ms before handling),
  truncate (+bytes of the reply frame, then close), drip (+ms, +chunk bytes per
  write, default 1), raw_hex (+hex sent instead of the reply), length (+value as
  the 4-byte header, +hex after it, nothing else), compression (+value put in
  Packet.compression), wrong_type (+type put in Packet.type), empty (GET only: the
  empty batch, as when Canal's store has nothing at that instant), die (the process
  exits at once, as in a crash: with --zk its nodes stay until the session expires).
  "apply" says whether the request itself takes effect; default false for close, empty
  and error/replace (e.g. a refused ACK is not applied), true otherwise.

Subscribe filter (AviaterRegexFilter, see TableFilter): a non-empty filter from
SUB (or from ClientAuth's auto-subscribe) replaces the destination's filter; an
empty one keeps it; at start and after the instance restart below it is the
instance's own (--filter, default "" = every table).  It is applied when a GET
takes entries: ROWDATA entries of INSERT/UPDATE/DELETE and of the DDL types
Canal checks (CREATE, ALTER, ERASE, TRUNCATE, RENAME, CINDEX, DINDEX) with a
table name are kept only if "schema.table" (lowercased) matches; everything
else passes (transaction begin/end, QUERY, DDL without a table, raw entries that
do not parse).  A filter that is not a valid regex stalls the stream (Canal's
parser fails on it and retries): GETs return empty batches.  Simplifications:
Canal filters when it parses the binlog, so a filter change does not reach
entries already in its store, and its sink drops the begin/end pair of a
transaction the filter emptied (except one every 5 s or 8192); here the
filter in force at GET time decides, and begin/end always pass.

Pipelining, as Canal's SessionHandler: a connection's requests are handled one at a
time in arrival order and replies leave in request order, so a client may send several
GETs (and acks) before reading; each GET continues from the last batch handed out
(the read pointer), not from the last ack, and a rollback moves the read pointer back
to the last ack.

State model (documented simplifications): identity = (destination, short client id);
each identity has its own read pointer over the stream (Canal's store has one per
destination).  UNSUB of a destination's last subscriber = instance restart:
outstanding batches dropped, batch counters back to 1, cursors kept.  The "seed is
null" auth race and unknown-field printing in 401 texts are not reproduced.

Log (--log): "CONNECT peer=.. seed=..", then per received frame "RAW <hex>" and a
decoded line ("AUTH username=.. password=..", "GET destination=.. client_id=..
fetch_size=.. timeout=.. unit=.. auto_ack=False", "CLIENTACK ... batch_id=3", ...;
unset presence fields print <absent>), "FAULT on=.. nth=.. action=..", "CLOSE reason=..".
"""

import argparse
import decimal
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO_DIR = os.path.normpath(os.path.join(HERE, '..', '..', 'proto'))
DEFAULT_PB_DIR = os.path.join(HERE, 'pb_py')
ENTRY_PACKAGE = 'com.alibaba.otter.canal.protocol.entry'

# Filled by load_pb(): the generated CanalProtocol_pb2 / EntryProtocol_pb2 modules.
CP = None
EP = None

# PacketType numbers (section 2).
HANDSHAKE, CLIENTAUTHENTICATION, ACK, SUBSCRIPTION, UNSUBSCRIPTION = 1, 2, 3, 4, 5
GET, MESSAGES, CLIENTACK, CLIENTROLLBACK = 6, 7, 8, 12

DEFAULT_IDLE_MS = 3600000            # Canal's defaultSubscriptorDisconnectIdleTimeout
POLL_SLICE = 0.05                    # granularity of waits that must notice EOF / idle / shutdown


# --------------------------------------------------------------------------
# Generated protobuf modules
# --------------------------------------------------------------------------

def _read(path):
    with open(path, 'r', encoding='utf-8') as f:
        return f.read()


def load_pb(pb_dir=DEFAULT_PB_DIR, proto_dir=DEFAULT_PROTO_DIR, protoc=None):
    """Generate (if stale) and import CanalProtocol_pb2 / EntryProtocol_pb2.

    Each .proto is compiled in its own protoc run into its own temp dir and moved
    into pb_dir with os.replace, so concurrent servers sharing pb_dir never see a
    half-written module.  A module is "up to date" when the .proto copy beside it
    equals what we would write now."""
    global CP, EP
    if CP is not None:
        return CP, EP
    pb_dir = os.path.abspath(pb_dir)
    os.makedirs(pb_dir, exist_ok=True)
    canal_src = _read(os.path.join(proto_dir, 'CanalProtocol.proto'))
    entry_src = _read(os.path.join(proto_dir, 'EntryProtocol.proto'))
    entry_src, n = re.subn(r'(?m)^package\s+[\w.]+\s*;', 'package %s;' % ENTRY_PACKAGE, entry_src, count=1)
    if n != 1:
        raise SystemExit('canal_server: no package line in EntryProtocol.proto')
    for name, text in (('CanalProtocol.proto', canal_src), ('EntryProtocol.proto', entry_src)):
        module = os.path.join(pb_dir, name[:-len('.proto')] + '_pb2.py')
        copy = os.path.join(pb_dir, name)
        if os.path.exists(module) and os.path.exists(copy) and _read(copy) == text:
            continue
        exe = protoc or shutil.which('protoc')
        if not exe:
            raise SystemExit('canal_server: protoc not found (needed to build %s)' % module)
        tmp = tempfile.mkdtemp(prefix='.gen-', dir=pb_dir)
        try:
            with open(os.path.join(tmp, name), 'w', encoding='utf-8') as f:
                f.write(text)
            subprocess.run([exe, '-I', tmp, '--python_out=' + tmp, os.path.join(tmp, name)], check=True)
            # module first, .proto copy last: the copy is the "up to date" marker
            os.replace(os.path.join(tmp, os.path.basename(module)), module)
            os.replace(os.path.join(tmp, name), copy)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if pb_dir not in sys.path:
        sys.path.insert(0, pb_dir)
    import CanalProtocol_pb2
    import EntryProtocol_pb2
    CP, EP = CanalProtocol_pb2, EntryProtocol_pb2
    return CP, EP


# --------------------------------------------------------------------------
# Wire helpers
# --------------------------------------------------------------------------

def varint(n):
    """Protobuf varint; negative numbers as 64-bit two's complement (10 bytes)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def frame(body):
    """4-byte big-endian length + body (section 1)."""
    return struct.pack('>I', len(body)) + body


class Reply:
    """A Packet to send, serialized by hand so the exact field set is under our
    control: version absent on the raw MESSAGES path, compression only when a
    fault asks for it, body absent when empty (section 2 table)."""

    def __init__(self, ptype, body=b'', version=1, compression=None):
        self.ptype = ptype
        self.body = body
        self.version = version          # None = field absent
        self.compression = compression  # None = field absent

    def encode(self):
        out = []
        if self.version is not None:
            out.append(b'\x10' + varint(self.version))
        if self.ptype:
            out.append(b'\x18' + varint(self.ptype))
        if self.compression is not None:
            out.append(b'\x20' + varint(self.compression))
        if self.body:
            out.append(b'\x2a' + varint(len(self.body)))
            out.append(self.body)
        return b''.join(out)


def ack_reply():
    return Reply(ACK, CP.Ack().SerializeToString())       # empty Ack -> no field 5


def error_reply(code, message):
    ack = CP.Ack()
    if code is not None:
        ack.error_code = code                               # oneof: present even when 0
    ack.error_message = message
    return Reply(ACK, ack.SerializeToString())


def messages_body(batch_id, entries):
    """Messages{batch_id, repeated bytes messages}, as protobuf would write it."""
    parts = [b'\x08' + varint(batch_id)]
    for e in entries:
        parts.append(b'\x12' + varint(len(e)))
        parts.append(e)
    return b''.join(parts)


# --------------------------------------------------------------------------
# Java emulation: exceptions, Short.parseShort, TextFormat, hex decoding
# --------------------------------------------------------------------------

# The tail of every stack trace thrown inside SessionHandler.messageReceived.
_NETTY_FRAMES = [
    'org.jboss.netty.channel.SimpleChannelHandler.handleUpstream(SimpleChannelHandler.java:88)',
    'org.jboss.netty.channel.DefaultChannelPipeline.sendUpstream(DefaultChannelPipeline.java:564)',
    'org.jboss.netty.channel.DefaultChannelPipeline$DefaultChannelHandlerContext.sendUpstream(DefaultChannelPipeline.java:791)',
    'org.jboss.netty.channel.Channels.fireMessageReceived(Channels.java:296)',
    'org.jboss.netty.handler.codec.replay.ReplayingDecoder.unfoldAndFireMessageReceived(ReplayingDecoder.java:600)',
    'org.jboss.netty.handler.codec.replay.ReplayingDecoder.callDecode(ReplayingDecoder.java:584)',
    'org.jboss.netty.handler.codec.replay.ReplayingDecoder.messageReceived(ReplayingDecoder.java:509)',
    'org.jboss.netty.channel.SimpleChannelUpstreamHandler.handleUpstream(SimpleChannelUpstreamHandler.java:70)',
    'org.jboss.netty.channel.DefaultChannelPipeline.sendUpstream(DefaultChannelPipeline.java:564)',
    'org.jboss.netty.channel.DefaultChannelPipeline.sendUpstream(DefaultChannelPipeline.java:559)',
    'org.jboss.netty.channel.Channels.fireMessageReceived(Channels.java:268)',
    'org.jboss.netty.channel.Channels.fireMessageReceived(Channels.java:255)',
    'org.jboss.netty.channel.socket.nio.NioWorker.read(NioWorker.java:88)',
    'org.jboss.netty.channel.socket.nio.AbstractNioWorker.process(AbstractNioWorker.java:108)',
    'org.jboss.netty.channel.socket.nio.AbstractNioSelector.run(AbstractNioSelector.java:337)',
    'org.jboss.netty.channel.socket.nio.AbstractNioWorker.run(AbstractNioWorker.java:89)',
    'org.jboss.netty.channel.socket.nio.NioWorker.run(NioWorker.java:178)',
    'org.jboss.netty.util.ThreadRenamingRunnable.run(ThreadRenamingRunnable.java:108)',
    'org.jboss.netty.util.internal.DeadLockProofWorker$1.run(DeadLockProofWorker.java:42)',
    'java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1149)',
    'java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:624)',
    'java.lang.Thread.run(Thread.java:750)',
]

# SessionHandler.messageReceived line per command (Canal master), for plausible traces.
_SESSION_LINE = {'Sub': 62, 'Unsub': 88, 'Get': 134, 'Ack': 249, 'Rollback': 275}

SERVER_EXC = 'com.alibaba.otter.canal.server.exception.CanalServerException'
META_EXC = 'com.alibaba.otter.canal.meta.exception.CanalMetaManagerException'
NFE = 'java.lang.NumberFormatException'
IPBE = 'com.google.protobuf.InvalidProtocolBufferException'
EMBEDDED = 'com.alibaba.otter.canal.server.embedded.CanalServerWithEmbedded'


class JavaException(Exception):
    """An exception Canal's server would throw; rendered like printStackTrace()."""

    def __init__(self, cls, message, frames=()):
        super().__init__(message)
        self.cls = cls
        self.message = message
        self.frames = list(frames)

    def in_command(self, label):
        """Append the SessionHandler + Netty frames (where the catch-all sits)."""
        line = _SESSION_LINE.get(label, 45)
        self.frames += ['com.alibaba.otter.canal.server.netty.handler.SessionHandler.messageReceived(SessionHandler.java:%d)' % line]
        self.frames += _NETTY_FRAMES
        return self

    def stack_trace(self):
        # ExceptionUtils.getStackTrace = printStackTrace(): "cls: msg\n\tat f\n..."
        return '%s: %s\n' % (self.cls, self.message) + ''.join('\tat %s\n' % f for f in self.frames)


def java_parse_short(s):
    """Short.parseShort(s) = Integer.parseInt(s, 10) + range check (section 5.1).

    Integer.parseInt accepts one leading '+'/'-' and Character.digit() digits, i.e.
    any BMP Unicode decimal digit; no spaces, no underscores."""
    def nfe():
        return JavaException(NFE, 'For input string: "%s"' % s, [
            'java.lang.NumberFormatException.forInputString(NumberFormatException.java:65)',
            'java.lang.Integer.parseInt(Integer.java:580)',
            'java.lang.Short.parseShort(Short.java:118)',
            'java.lang.Short.parseShort(Short.java:144)'])
    if not s:
        raise nfe()
    i, neg = 0, False
    if s[0] < '0':
        if s[0] == '-':
            neg = True
        elif s[0] != '+':
            raise nfe()
        if len(s) == 1:
            raise nfe()
        i = 1
    value = 0
    for ch in s[i:]:
        d = unicodedata.decimal(ch, -1) if ord(ch) <= 0xFFFF else -1  # non-BMP = surrogate pair -> not a digit
        if d < 0:
            raise nfe()
        value = value * 10 + d
        if value > (1 << 31) - (0 if neg else 1):               # int overflow inside parseInt
            raise nfe()
    value = -value if neg else value
    if not -32768 <= value <= 32767:
        raise JavaException(NFE, 'Value out of range. Value:"%s" Radix:10' % s, [
            'java.lang.Short.parseShort(Short.java:120)',
            'java.lang.Short.parseShort(Short.java:144)'])
    return value


def _java_escape(data):
    """TextFormat.escapeBytes: C-like escapes, other bytes outside 0x20..0x7e as 3-digit octal."""
    special = {0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t',
               0x0b: '\\v', 0x5c: '\\\\', 0x27: "\\'", 0x22: '\\"'}
    out = []
    for b in data:
        if b in special:
            out.append(special[b])
        elif 0x20 <= b < 0x7f:
            out.append(chr(b))
        else:
            out.append('\\%03o' % b)
    return ''.join(out)


def java_text_format(msg):
    """Java Message.toString() (protobuf text format) for the flat request messages
    quoted in 401/402 texts, e.g. 'destination: "example"\\nclient_id: "1001"\\n'.
    (Unknown fields, which Java would also print, are not reproduced.)"""
    lines = []
    for fd, value in msg.ListFields():          # field-number order, set/present fields only
        values = value if fd.label == fd.LABEL_REPEATED else [value]
        for v in values:
            if fd.type == fd.TYPE_STRING:
                text = '"%s"' % _java_escape(v.encode('utf-8'))
            elif fd.type == fd.TYPE_BYTES:
                text = '"%s"' % _java_escape(v)
            elif fd.type == fd.TYPE_BOOL:
                text = 'true' if v else 'false'
            elif fd.type == fd.TYPE_ENUM:
                ev = fd.enum_type.values_by_number.get(v)
                text = ev.name if ev else str(v)
            else:
                text = str(v)
            lines.append('%s: %s\n' % (fd.name, text))
    return ''.join(lines)


def java_hex_decode(text):
    """SecurityUtil.hexStr2Bytes: both cases; odd length = leading '0'; else throws."""
    if len(text) % 2:
        text = '0' + text
    if not re.fullmatch(r'[0-9a-fA-F]*', text):
        raise ValueError('non-hex character')
    return bytes.fromhex(text)


def scramble411(password, seed):
    """Client token of section 4.3 (used by selftest and handy for debugging)."""
    stage1 = hashlib.sha1(password).digest()
    stage2 = hashlib.sha1(stage1).digest()
    h = hashlib.sha1(seed + stage2).digest()
    return bytes(a ^ b for a, b in zip(h, stage1))


_DECODE_TEXT = {
    'truncated': 'While parsing a protocol message, the input ended unexpectedly in the middle of a field.  '
                 'This could mean either that the input has been truncated or that an embedded message '
                 'misreported its own length.',
    'zero': 'Protocol message contained an invalid tag (zero).',
    'varint': 'CodedInputStream encountered a malformed varint.',
    'wiretype': 'Protocol message tag had invalid wire type.',
    'negative': 'CodedInputStream encountered an embedded string or message which claimed to have negative size.',
    'endgroup': 'Protocol message end-group tag did not match expected tag.',
    'utf8': 'Protocol message had invalid UTF-8.',
}


def _classify_decode_error(data):
    """Why would Java's parser reject this (flat) message?  Walk the wire format."""
    i, n = 0, len(data)

    def rd_varint():
        nonlocal i
        shift, val = 0, 0
        for _ in range(10):
            if i >= n:
                raise LookupError('truncated')
            b = data[i]
            i += 1
            val |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return val
        raise LookupError('varint')

    try:
        depth = 0
        while i < n:
            tag = rd_varint()
            if tag >> 3 == 0:
                return 'zero'
            wt = tag & 7
            if wt == 0:
                rd_varint()
            elif wt == 1 or wt == 5:
                size = 8 if wt == 1 else 4
                if i + size > n:
                    return 'truncated'
                i += size
            elif wt == 2:
                size = rd_varint() & 0xFFFFFFFF
                if size >= 1 << 31:
                    return 'negative'
                if i + size > n:
                    return 'truncated'
                i += size
            elif wt == 3:
                depth += 1
            elif wt == 4:
                if depth == 0:
                    return 'endgroup'
                depth -= 1
            else:
                return 'wiretype'
        if depth:
            return 'truncated'
    except LookupError as e:
        return e.args[0]
    return 'utf8'


def java_parse(cls, data, label):
    """cls.parseFrom(data) or the InvalidProtocolBufferException Java would throw."""
    msg = cls()
    try:
        msg.ParseFromString(data)
        return msg
    except Exception:
        kind = _classify_decode_error(data)
        raise JavaException(IPBE, _DECODE_TEXT[kind], [
            'com.google.protobuf.AbstractParser.checkMessageInitialized(AbstractParser.java:84)',
            'com.google.protobuf.AbstractParser.parseFrom(AbstractParser.java:228)',
            'com.google.protobuf.AbstractParser.parseFrom(AbstractParser.java:49)',
            'com.alibaba.otter.canal.protocol.CanalPacket$%s.parseFrom(CanalPacket.java:%d)' % (cls.__name__, 5000)]
        ).in_command(label)


def identity_text(dest, cid, filt=None):
    """ClientIdentity.toString() (commons-lang reflectionToString, short class name)."""
    return 'ClientIdentity[destination=%s,clientId=%d,filter=%s]' % (dest, cid, '<null>' if filt is None else filt)


# --------------------------------------------------------------------------
# Entries: script events -> Entry bytes shaped like Canal's MySQL parser
# --------------------------------------------------------------------------

_DML = {'INSERT': 1, 'UPDATE': 2, 'DELETE': 3}


def sql_type_for(mysql_type, binary=False):
    """java.sql.Types code Canal's parser reports for a MySQL column type (section 8.6)."""
    t = (mysql_type or '').lower()
    base = re.match(r'[a-z]*', t).group(0)
    if binary or base in ('binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'geometry'):
        return 2004
    return {'tinyint': -6, 'smallint': 5, 'mediumint': 4, 'int': 4, 'integer': 4, 'bigint': -5,
            'decimal': 3, 'numeric': 3, 'float': 7, 'double': 8, 'real': 8, 'bit': -7,
            'char': 1, 'varchar': 12, 'tinytext': 2005, 'text': 2005, 'mediumtext': 2005,
            'longtext': 2005, 'date': 91, 'time': 92, 'datetime': 93, 'timestamp': 93,
            'year': 12, 'json': 12, 'enum': 4, 'set': -7}.get(base, 12)


def value_text(value, binary):
    """JSON value -> Column.value text; None stays None (= NULL)."""
    if value is None:
        return None
    if isinstance(value, dict) and 'repeat' in value:
        # {"repeat": "ab", "times": N}: big values (tens of MB frames) without a huge script
        value = str(value['repeat']) * int(value.get('times', 1))
    if binary:
        # original bytes as hex -> ISO-8859-1 code points (section 8.7)
        return bytes.fromhex(value).decode('latin-1')
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'))


class EntryFactory:
    """Keeps binlog position, xid and table ids while turning events into Entries."""

    LOGFILE = 'mysql-bin.000001'

    def __init__(self, tables=None):
        self.offset = 4                 # first event after the binlog magic
        self.xid = 100
        self.table_ids = {}
        self.tables = tables or {}
        self.event_no = 0

    def header(self, execute_time, event_len, schema='', table='', event_type=None, rows_count=0, gtid=''):
        h = EP.Header()
        h.version = 1
        h.logfileName = self.LOGFILE
        h.logfileOffset = self.offset   # start offset of the event, as the parser records
        h.serverId = 1
        h.serverenCode = 'UTF-8'
        h.executeTime = execute_time
        h.sourceType = EP.MYSQL
        h.schemaName = schema
        h.tableName = table
        h.eventLength = event_len
        if event_type is not None:
            h.eventType = event_type
        if rows_count > 0:
            p = h.props.add()
            p.key, p.value = 'rowsCount', str(rows_count)
        if gtid:
            h.gtid = gtid
        self.offset += event_len
        return h

    @staticmethod
    def entry(header, entry_type, store_value):
        e = EP.Entry()
        e.header.CopyFrom(header)
        e.entryType = entry_type
        e.storeValue = store_value
        return e.SerializeToString()

    def columns_for(self, stmt):
        cols = stmt.get('columns')
        if cols is None:
            cols = self.tables.get('%s.%s' % (stmt.get('schema', ''), stmt.get('table', '')))
        if cols is None:
            raise ValueError('statement on %s.%s has no "columns" and no "tables" entry'
                             % (stmt.get('schema'), stmt.get('table')))
        return cols

    @staticmethod
    def _image(cols, values):
        """Row image -> [(index, coldef, text)]; a dict image names only some columns
        (a minimal binlog row image), a list gives every column in order."""
        if isinstance(values, dict):
            by_name = {c['name']: (i, c) for i, c in enumerate(cols)}
            out = []
            for name, v in values.items():
                i, c = by_name[name]
                out.append((i, c, value_text(v, c.get('binary', False))))
            return sorted(out, key=lambda t: t[0])
        if len(values) != len(cols):
            raise ValueError('row has %d values for %d columns' % (len(values), len(cols)))
        return [(i, c, value_text(v, c.get('binary', False))) for i, (c, v) in enumerate(zip(cols, values))]

    @staticmethod
    def _column(rd_cols, i, c, text, updated):
        col = rd_cols.add()
        col.index = i
        col.sqlType = c['sql_type'] if 'sql_type' in c else sql_type_for(c.get('mysql_type'), c.get('binary', False))
        col.name = c['name']
        col.isKey = bool(c.get('key', False))
        col.updated = updated
        col.isNull = text is None       # always present, as the parser sets it
        if text is not None:
            col.value = text
        if c.get('mysql_type'):
            col.mysqlType = c['mysql_type']

    def dml(self, stmt, execute_time, gtid):
        etype = _DML[stmt['type'].upper()]
        cols = self.columns_for(stmt)
        key = '%s.%s' % (stmt.get('schema', ''), stmt.get('table', ''))
        rc = EP.RowChange()
        rc.tableId = self.table_ids.setdefault(key, 100 + len(self.table_ids))
        rc.eventType = etype
        rc.isDdl = False                # explicitly present on DML
        for row in stmt.get('rows', []):
            rd = rc.rowDatas.add()
            before = self._image(cols, row['before']) if row.get('before') is not None else []
            after = self._image(cols, row['after']) if row.get('after') is not None else []
            for i, c, text in before:
                self._column(rd.beforeColumns, i, c, text, False)
            before_by_index = {i: text for i, _, text in before}
            for i, c, text in after:
                # LogEventConvert.isUpdate: unchanged only if a before column with the
                # same index has the same value (NULL == NULL); INSERT has no before
                # image, so every INSERT column is updated.
                if i in before_by_index:
                    updated = before_by_index[i] != text
                else:
                    updated = True
                self._column(rd.afterColumns, i, c, text, updated)
        store = rc.SerializeToString()
        h = self.header(execute_time, 31 + len(store), stmt.get('schema', ''), stmt.get('table', ''),
                        etype, len(stmt.get('rows', [])), gtid)
        return self.entry(h, EP.ROWDATA, store)

    def ddl(self, stmt, execute_time, gtid):
        etype = EP.EventType.Value(stmt['type'].upper())
        rc = EP.RowChange()
        rc.eventType = etype
        rc.isDdl = bool(stmt.get('ddl', True))
        rc.sql = stmt.get('sql', '')
        schema = stmt.get('schema', '')
        if schema:
            rc.ddlSchemaName = schema
        sql_len = len(rc.sql.encode('utf-8'))
        h = self.header(execute_time, 19 + 13 + 26 + len(schema) + 1 + sql_len + 4, schema,
                        stmt.get('table', ''), etype, 0, gtid)
        return self.entry(h, EP.ROWDATA, rc.SerializeToString())

    def stmt(self, stmt, execute_time, gtid):
        if stmt.get('type', '').upper() in _DML and not stmt.get('ddl', False):
            return self.dml(stmt, execute_time, gtid)
        return self.ddl(stmt, execute_time, gtid)

    def event(self, ev):
        """One script event -> list of Entry bytes."""
        if 'raw_entry_hex' in ev:
            return [bytes.fromhex(ev['raw_entry_hex'])]
        self.event_no += 1
        execute_time = int(ev.get('execute_time', 1700000000000 + 1000 * (self.event_no - 1)))
        gtid = ev.get('gtid', '')
        if 'tx' not in ev:                       # bare statement, e.g. a DDL (implicit commit)
            return [self.stmt(ev, execute_time, gtid)]
        out = []
        begin = EP.TransactionBegin(threadId=int(ev.get('thread_id', 42)))
        out.append(self.entry(self.header(execute_time, 80, gtid=gtid), EP.TRANSACTIONBEGIN,
                              begin.SerializeToString()))
        for stmt in ev['tx']:
            out.append(self.stmt(stmt, execute_time, gtid))
        self.xid += 1
        end = EP.TransactionEnd(transactionId=str(ev.get('xid', self.xid)))
        out.append(self.entry(self.header(execute_time, 31, gtid=gtid), EP.TRANSACTIONEND,
                              end.SerializeToString()))
        return out


def build_entries(script):
    factory = EntryFactory(script.get('tables'))
    entries = []
    for ev in script.get('entries', []):
        entries.extend(factory.event(ev))
    return entries


_ORDERS = [
    {'name': 'id', 'mysql_type': 'bigint(20)', 'sql_type': -5, 'key': True},
    {'name': 'customer', 'mysql_type': 'varchar(64)', 'sql_type': 12},
    {'name': 'amount', 'mysql_type': 'decimal(12,2)', 'sql_type': 3},
    {'name': 'note', 'mysql_type': 'text', 'sql_type': 2005},
    {'name': 'img', 'mysql_type': 'blob', 'sql_type': 2004, 'binary': True},
    {'name': 'created', 'mysql_type': 'datetime', 'sql_type': 93},
]
_ORDERS_V2 = _ORDERS + [{'name': 'flag', 'mysql_type': 'tinyint(1)', 'sql_type': -6}]
_USERS = [
    {'name': 'id', 'mysql_type': 'int(11)', 'sql_type': 4, 'key': True},
    {'name': 'name', 'mysql_type': 'varchar(32)', 'sql_type': 12},
    {'name': 'email', 'mysql_type': 'varchar(128)', 'sql_type': 12},
]


def sample_script():
    """Built-in realistic stream for --sample / `make demo`: 19 row changes in five
    transactions plus one DDL (20 changes), UTF-8 Chinese text, NULLs and binary."""
    O, U = {'schema': 'shop', 'table': 'orders'}, {'schema': 'shop', 'table': 'users'}
    return {'entries': [
        {'execute_time': 1700000000000, 'tx': [
            dict(U, type='INSERT', columns=_USERS, rows=[
                {'after': [1, 'alice', 'alice@example.com']},
                {'after': [2, 'bob', None]},
                {'after': [3, 'carol', 'carol@example.org']}])]},
        {'execute_time': 1700000001000, 'tx': [
            dict(O, type='INSERT', columns=_ORDERS, rows=[
                {'after': [1001, '张三', '199.00', None, '00ff41', '2023-11-14 22:13:20']},
                {'after': [1002, '李四', '58.50', '请尽快发货', '89504e470d0a1a0a', '2023-11-14 22:13:21']},
                {'after': [1003, '王五 (VIP)', '1024.99', 'gift "wrap"\tplease', None, '2023-11-14 22:13:22']},
                {'after': [1004, 'Zoë', '12.00', None, '', '2023-11-14 22:13:23']}])]},
        {'execute_time': 1700000002000, 'tx': [
            dict(O, type='UPDATE', columns=_ORDERS, rows=[
                {'before': [1001, '张三', '199.00', None, '00ff41', '2023-11-14 22:13:20'],
                 'after': [1001, '张三', '189.00', '已发货', '00ff41', '2023-11-14 22:13:20']},
                {'before': [1002, '李四', '58.50', '请尽快发货', '89504e470d0a1a0a', '2023-11-14 22:13:21'],
                 'after': [1002, '李四', '58.50', '已发货', '89504e470d0a1a0a', '2023-11-14 22:13:21']},
                {'before': [1004, 'Zoë', '12.00', None, '', '2023-11-14 22:13:23'],
                 'after': [1004, 'Zoë', '12.00', None, '0001feff', '2023-11-14 22:13:23']}]),
            dict(U, type='UPDATE', columns=_USERS, rows=[
                {'before': [2, 'bob', None], 'after': [2, 'bob', 'bob@example.net']},
                {'before': [3, 'carol', 'carol@example.org'], 'after': [3, 'Carol', 'carol@example.org']}])]},
        {'execute_time': 1700000003000, 'tx': [
            dict(O, type='DELETE', columns=_ORDERS, rows=[
                {'before': [1003, '王五 (VIP)', '1024.99', 'gift "wrap"\tplease', None, '2023-11-14 22:13:22']}]),
            dict(O, type='INSERT', columns=_ORDERS, rows=[
                {'after': [1005, '赵六', '3.14', None, 'deadbeef', '2023-11-14 22:13:24']},
                {'after': [1006, '孙七', '0.99', 'note with\nnewline', None, '2023-11-14 22:13:25']}])]},
        {'execute_time': 1700000004000, 'type': 'ALTER', 'schema': 'shop', 'table': 'orders', 'ddl': True,
         'sql': 'ALTER TABLE shop.orders ADD COLUMN flag tinyint(1)'},
        {'execute_time': 1700000005000, 'tx': [
            dict(O, type='INSERT', columns=_ORDERS_V2, rows=[
                {'after': [1007, '周八', '88.80', None, '7f80', '2023-11-14 22:13:26', 1]},
                {'after': [1008, '吴九', '66.00', '', None, '2023-11-14 22:13:27', 0]}]),
            dict(U, type='UPDATE', columns=_USERS, rows=[
                {'before': [1, 'alice', 'alice@example.com'], 'after': [1, 'alice', None]}]),
            dict(U, type='DELETE', columns=_USERS, rows=[
                {'before': [2, 'bob', 'bob@example.net']}])]},
    ]}


# --------------------------------------------------------------------------
# Subscribe filter
# --------------------------------------------------------------------------

def split_filter(pattern):
    """AviaterRegexFilter.splitPattern: split at commas outside {}, [] and ()
    (so "\\d{1,2}" stays whole); a backslash protects the next character;
    empty pieces are dropped."""
    out, start, depth = [], 0, {'{': 0, '[': 0, '(': 0}
    close = {'}': '{', ']': '[', ')': '('}
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == '\\' and i + 1 < n:
            i += 2
            continue
        if ch in depth:
            depth[ch] += 1
        elif ch in close:
            if depth[close[ch]] > 0:
                depth[close[ch]] -= 1
        elif ch == ',' and not any(depth.values()):
            if i > start:
                out.append(pattern[start:i])
            start = i + 1
        i += 1
    if start < n:
        out.append(pattern[start:])
    return out


class TableFilter:
    """Canal's AviaterRegexFilter: the pieces sorted longest first (a stable
    sort), each anchored as ^piece$, joined with |, compiled case-insensitive
    with . matching newlines (Perl5Compiler CASE_INSENSITIVE | SINGLELINE);
    a name matches when the first match found at its start (Perl's leftmost
    alternative, as ORO's Perl5Matcher.matches takes it) spans the whole
    lowercased name.  An empty pattern or an empty name matches."""

    def __init__(self, pattern):
        self.pattern = pattern or ''
        pieces = sorted(split_filter(self.pattern), key=len, reverse=True)
        self.joined = '|'.join('^%s$' % p for p in pieces)
        self.error = None
        self.regex = None
        if self.joined:
            try:
                self.regex = re.compile(self.joined, re.IGNORECASE | re.DOTALL)
            except re.error as e:
                self.error = str(e)

    def matches(self, name):
        if not self.joined or not name:
            return True
        if self.regex is None:
            return False
        target = name.lower()
        m = self.regex.match(target)
        return m is not None and m.end() == len(target)


# Event types whose entries Canal's parser filters by table name: rows
# (parseRowsEvent) and the DDL types LogEventConvert.processFilter checks.
_FILTERED_EVENTS = {'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'ALTER', 'ERASE', 'TRUNCATE',
                    'RENAME', 'CINDEX', 'DINDEX'}


def filter_name(entry_bytes):
    """"schema.table" the filter judges this Entry by, or None when it passes
    whatever the filter (not ROWDATA, no table name, QUERY, unparseable)."""
    try:
        e = EP.Entry.FromString(entry_bytes)
        if not e.HasField('entryType') or e.entryType != EP.ROWDATA or not e.header.tableName:
            return None
        if e.header.HasField('eventType'):
            etype = e.header.eventType
        else:
            etype = EP.RowChange.FromString(e.storeValue).eventType
        if EP.EventType.Name(etype) not in _FILTERED_EVENTS:
            return None
        return '%s.%s' % (e.header.schemaName, e.header.tableName)
    except Exception:
        return None


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------

FAULT_KINDS = {
    'CONNECT': 'CONNECT', 'HANDSHAKE': 'CONNECT',
    'AUTH': 'AUTH', 'CLIENTAUTHENTICATION': 'AUTH',
    'SUB': 'SUB', 'SUBSCRIPTION': 'SUB',
    'UNSUB': 'UNSUB', 'UNSUBSCRIPTION': 'UNSUB',
    'GET': 'GET',
    'ACK': 'ACK', 'CLIENTACK': 'ACK',
    'ROLLBACK': 'ROLLBACK', 'CLIENTROLLBACK': 'ROLLBACK',
    'OTHER': 'OTHER',                   # any unsupported packet type in the session phase
}
FAULT_ACTIONS = ('error', 'close', 'stall', 'truncate', 'drip', 'raw_hex', 'length', 'compression', 'wrong_type',
                 'empty', 'die')


class Fault:
    """One scripted misbehaviour.  Fires on the nth, nth+1, ... matching request
    while it has fired fewer than `times` times (default 1; "always": true = no
    limit).  Counting is server-wide (across all connections) unless
    "scope": "connection", which counts (and limits) per connection."""

    def __init__(self, spec, index):
        self.index = index
        self.spec = spec
        on = str(spec.get('on', '')).upper()
        if on not in FAULT_KINDS:
            raise ValueError('fault %d: unknown "on": %r' % (index, spec.get('on')))
        self.on = FAULT_KINDS[on]
        self.action = spec.get('action')
        if self.action not in FAULT_ACTIONS:
            raise ValueError('fault %d: unknown "action": %r' % (index, self.action))
        self.nth = int(spec.get('nth', 1))
        self.times = float('inf') if spec.get('always') else int(spec.get('times', 1))
        self.scope = spec.get('scope', 'server')
        if self.scope not in ('server', 'connection'):
            raise ValueError('fault %d: "scope" must be "server" or "connection"' % index)
        self.mode = spec.get('mode', 'replace')                   # error: replace|before|after
        if self.mode not in ('replace', 'before', 'after'):
            raise ValueError('fault %d: "mode" must be replace, before or after' % index)
        self.code = spec.get('code', 400)
        self.message = spec.get('message', 'injected fault')
        self.ms = float(spec.get('ms', 0))
        self.bytes = int(spec.get('bytes', 0))
        self.chunk = max(1, int(spec.get('chunk', 1)))
        self.hex = bytes.fromhex(spec.get('hex', ''))
        self.value = int(spec.get('value', 0))
        if self.action == 'length' and not 0 <= self.value <= 0xFFFFFFFF:
            raise ValueError('fault %d: "length" value must fit 32 bits' % index)
        self.type = int(spec.get('type', 0))
        self.close_after = bool(spec.get('close_after', False))
        # Is the request itself carried out?  Not for close / error-instead-of-reply.
        default_apply = not (self.action in ('close', 'empty') or (self.action == 'error' and self.mode == 'replace'))
        self.apply = bool(spec.get('apply', default_apply))
        if self.action == 'empty' and (self.on != 'GET' or self.apply):
            raise ValueError('fault %d: "empty" answers a GET without taking a batch' % index)
        self.fired = 0

    def describe(self):
        return 'on=%s nth=%d action=%s' % (self.on, self.nth, self.action)


# --------------------------------------------------------------------------
# Server state (per process, per identity; survives TCP connections)
# --------------------------------------------------------------------------

class Identity:
    """Canal's per-(destination, short client id) meta: subscription, cursor
    (acked position), store read pointer, batch counter, outstanding batches."""

    def __init__(self):
        self.subscribed = False
        self.acked = 0                 # index of the first unacked entry (the cursor)
        self.read = 0                  # next entry a GET returns
        self.next_batch = 1
        self.outstanding = {}          # batch id -> (start, end) entry indexes


class State:
    def __init__(self, destinations, entries, state_file=None, instance_filter=''):
        self.lock = threading.RLock()
        self.destinations = list(destinations)
        self.entries = entries          # the same stream is served on every destination
        self.names = [filter_name(e) for e in entries]
        self.instance_filter = instance_filter or ''
        self.filters = {d: self.instance_filter for d in destinations}
        self.compiled = {}              # pattern -> TableFilter
        self.idents = {}                # (destination, cid) -> Identity
        self.state_file = state_file
        # ZooKeeper mode (--zk): only destinations this server holds the
        # running node for are started; cursors and filters live in ZooKeeper.
        self.running = None             # None: every destination runs (no ZooKeeper)
        self.zk_meta = None             # ZkRole when --zk
        self.load()

    # A restarted Canal keeps what its meta manager persisted (subscriptions,
    # filters, acked cursors) and loses the rest: outstanding batches, the
    # read pointer (back to the cursor) and the batch counter (back to 1).
    def load(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return
        with open(self.state_file, encoding='utf-8') as f:
            saved = json.load(f)
        self.filters.update(saved.get('filters', {}))
        for key, v in saved.get('idents', {}).items():
            dest, cid = key.rsplit('|', 1)
            ident = Identity()
            ident.subscribed = v['subscribed']
            ident.acked = ident.read = v['acked']
            self.idents[(dest, int(cid))] = ident

    def save(self):
        if self.zk_meta is not None:
            self.zk_meta.save_meta(self)
        if not self.state_file:
            return
        data = {'filters': self.filters,
                'idents': {'%s|%d' % k: {'subscribed': i.subscribed, 'acked': i.acked}
                           for k, i in self.idents.items()}}
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f)
        os.replace(tmp, self.state_file)

    def check_start(self, dest, where):
        if dest not in self.destinations or (self.running is not None and dest not in self.running):
            raise JavaException(SERVER_EXC, 'destination:%s should start first' % dest,
                                ['%s.checkStart(CanalServerWithEmbedded.java:534)' % EMBEDDED, where])

    def subscribed(self, dest, cid, where):
        ident = self.idents.get((dest, cid))
        if ident is None or not ident.subscribed:
            raise JavaException(SERVER_EXC, 'ClientIdentity:%s should subscribe first' % identity_text(dest, cid),
                                ['%s.checkSubscribe(CanalServerWithEmbedded.java:526)' % EMBEDDED, where])
        return ident

    def subscribe(self, dest, cid, filt, where):
        with self.lock:
            self.check_start(dest, where)
            ident = self.idents.setdefault((dest, cid), Identity())
            ident.subscribed = True     # re-subscribe replaces; cursor kept
            if filt:
                self.filters[dest] = filt  # the filter belongs to the whole destination
            self.save()

    def unsubscribe(self, dest, cid, where):
        with self.lock:
            self.check_start(dest, where)
            ident = self.idents.get((dest, cid))
            if ident is None or not ident.subscribed:
                return
            ident.subscribed = False
            self.save()
            if not any(i.subscribed for (d, _), i in self.idents.items() if d == dest):
                # Last subscriber gone: Canal releases (stops) the instance; the next
                # subscribe starts it again with fresh batch state but the persisted
                # cursor.  Model that restart right away.
                for (d, _), i in self.idents.items():
                    if d == dest:
                        i.outstanding.clear()
                        i.read = i.acked
                        i.next_batch = 1
                # The restarted instance's parser has its configured filter
                # again: no subscription is left to re-apply one.
                self.filters[dest] = self.instance_filter
                self.save()

    def table_filter(self, dest):
        pattern = self.filters.get(dest, '')
        f = self.compiled.get(pattern)
        if f is None:
            f = self.compiled[pattern] = TableFilter(pattern)
        return f

    def take(self, ident, fetch_size, full, dest=None):
        """Take up to fetch_size entries that pass dest's filter, from the
        read pointer on, as a new batch (its range also covers the entries
        the filter dropped); None if nothing to return (or, with full, less
        than a full batch)."""
        want = max(fetch_size, 0)
        filt = self.table_filter(dest) if dest is not None else TableFilter('')
        if want <= 0 or filt.error is not None:
            return None                 # a broken filter stalls the parser
        picked, end = [], ident.read
        while end < len(self.entries) and len(picked) < want:
            name = self.names[end]
            if name is None or filt.matches(name):
                picked.append(self.entries[end])
            end += 1
        if not picked or (full and len(picked) < want):
            return None
        batch_id = ident.next_batch
        ident.next_batch += 1
        ident.outstanding[batch_id] = (ident.read, end)
        ident.read = end
        return batch_id, picked

    def remove_batch(self, ident, cid, batch_id, what, where):
        """MemoryMetaManager.removeBatch: must exist and be the smallest id."""
        if batch_id not in ident.outstanding:
            fmt = ('ack error , clientId:%d batchId:%d is not exist , please check' if what == 'ack' else
                   'rollback error, clientId:%d batchId:%d is not exist , please check')
            raise JavaException(SERVER_EXC, fmt % (cid, batch_id), [where])
        first = min(ident.outstanding)
        if first != batch_id:
            raise JavaException(META_EXC, 'batchId:%d is not the firstly:%d' % (batch_id, first), [
                'com.alibaba.otter.canal.meta.MemoryMetaManager$MemoryClientIdentityBatch.removePositionRange(MemoryMetaManager.java:152)',
                'com.alibaba.otter.canal.meta.MemoryMetaManager.removeBatch(MemoryMetaManager.java:93)',
                where])
        return ident.outstanding.pop(batch_id)


# --------------------------------------------------------------------------
# ZooKeeper: cluster membership, the running node, shared cursors (--zk)
# --------------------------------------------------------------------------

ZK_ROOT = '/otter/canal/destinations'
LOG_POSITION = 'com.alibaba.otter.canal.protocol.position.LogPosition'


def zk_json(obj):
    """fastjson2-style bytes: UTF-8, compact (readers look keys up by name)."""
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


class ZkRole:
    """What a Canal server does in ZooKeeper (PROTOCOL.md section 7), for each
    destination: the ephemeral {dest}/cluster/{ip:port} member node, then
    ServerRunningMonitor's claim of the ephemeral {dest}/running node with
    {"active":true,"address":"ip:port"}; a destination is started here only
    while this server holds that node.  When the node goes away this server
    claims it again at once if it held it last, else after --zk-delay-ms
    (Canal's delayTime, 5 s).  SIGUSR1 releases every destination held here,
    as Canal's admin "release" does; this server then waits three delays
    before claiming again, so a peer takes over.

    Meta (ZooKeeperMetaManager's layout): {dest}/{cid} persistent per
    subscribed client, its filter in {dest}/{cid}/filter and the acked cursor
    in {dest}/{cid}/cursor as a LogPosition-shaped JSON whose
    postion.position is the index of the first unacked entry of the stream
    (a documented simplification).  Canal's default HA meta manager flushes
    cursors once a second; this one writes on every ack, before the next
    request is read, so a batch acked before a takeover is never served
    again by the next server."""

    def __init__(self, server, hosts, address, delay_ms, session_ms):
        from kazoo.client import KazooClient
        from kazoo.protocol.states import KazooState
        self.server = server
        self.state = server.state
        self.address = address
        self.delay = delay_ms / 1000.0
        self.lock = threading.RLock()
        self.owned_last = {}            # dest -> we held running last
        self.released_at = {}           # dest -> monotonic time of our release
        self.written = {}               # (dest, cid) -> (acked, filter) in ZooKeeper
        self.stopping = False
        self.zk = KazooClient(hosts=hosts, timeout=session_ms / 1000.0,
                              connection_retry={'max_tries': -1, 'delay': 0.1, 'max_delay': 0.5})
        self.zk.start(timeout=30)
        self.state.running = set()
        self.state.zk_meta = self
        self.lost = False

        def on_state(st):
            if st == KazooState.LOST:
                self.lost = True
            elif st == KazooState.CONNECTED and self.lost:
                # A new session: our ephemeral nodes are gone; register again.
                self.lost = False
                threading.Thread(target=self.register, daemon=True).start()
        self.zk.add_listener(on_state)
        self.register()
        for dest in self.state.destinations:
            self.zk.DataWatch(self.running_path(dest), self._watcher(dest))

    @staticmethod
    def running_path(dest):
        return '%s/%s/running' % (ZK_ROOT, dest)

    def log(self, line):
        self.server.log('ZK ' + line)

    def register(self):
        for dest in self.state.destinations:
            path = '%s/%s/cluster/%s' % (ZK_ROOT, dest, self.address)
            self.zk.ensure_path('%s/%s/cluster' % (ZK_ROOT, dest))
            try:
                self.zk.create(path, b'', ephemeral=True)
            except Exception as e:     # NodeExistsError after a reconnect
                self.log('cluster node %s: %r' % (path, e))
            self.claim(dest)

    def _watcher(self, dest):
        def watch(data, stat):
            if self.stopping:
                return False
            if data is None:
                self.on_deleted(dest)
            else:
                self.on_data(dest, data)
            return True
        return watch

    def on_data(self, dest, data):
        try:
            addr = json.loads(data.decode('utf-8')).get('address')
        except ValueError:
            addr = None
        with self.lock:
            self.owned_last[dest] = addr == self.address
            if addr != self.address and dest in self.state.running:
                self.stop_destination(dest)

    def on_deleted(self, dest):
        with self.lock:
            if dest in self.state.running:
                self.stop_destination(dest)
            if dest in self.released_at:
                wait = 3 * self.delay
            elif self.owned_last.get(dest):
                wait = 0.0
            else:
                wait = self.delay
        t = threading.Timer(wait, self.claim, args=(dest,))
        t.daemon = True
        t.start()

    def claim(self, dest):
        """ServerRunningMonitor.initRunning: create the ephemeral running node."""
        if self.stopping:
            return
        data = zk_json({'active': True, 'address': self.address})
        from kazoo.exceptions import NodeExistsError, NoNodeError
        try:
            self.zk.create(self.running_path(dest), data, ephemeral=True, makepath=True)
        except NodeExistsError:
            return
        except NoNodeError:
            return
        except Exception as e:
            self.log('claim %s failed: %r' % (dest, e))
            return
        self.log('RUNNING %s at %s' % (dest, self.address))
        with self.lock:
            self.released_at.pop(dest, None)
            self.owned_last[dest] = True
            self.start_destination(dest)

    def release(self):
        """Canal's admin release: give up every destination held here."""
        with self.lock:
            held = list(self.state.running)
            for dest in held:
                self.released_at[dest] = time.monotonic()
                self.stop_destination(dest)
        for dest in held:
            try:
                self.zk.delete(self.running_path(dest))
            except Exception as e:
                self.log('release %s: %r' % (dest, e))
            self.log('RELEASED %s' % dest)

    def start_destination(self, dest):
        """Start the instance: subscriptions and acked cursors from ZooKeeper."""
        state = self.state
        with state.lock:
            for (d, cid) in [k for k in state.idents if k[0] == dest]:
                del state.idents[(d, cid)]
            base = '%s/%s' % (ZK_ROOT, dest)
            for child in self.zk.get_children(base):
                if not re.fullmatch(r'-?\d+', child):
                    continue
                cid = int(child)
                ident = Identity()
                ident.subscribed = True
                try:
                    raw, _ = self.zk.get('%s/%s/cursor' % (base, child))
                    pos = json.loads(raw.decode('utf-8'))['postion']['position']
                    ident.acked = ident.read = int(pos)
                except Exception:
                    pass                # no cursor yet: from the start
                try:
                    raw, _ = self.zk.get('%s/%s/filter' % (base, child))
                    if raw:
                        state.filters[dest] = raw.decode('utf-8')
                except Exception:
                    pass
                state.idents[(dest, cid)] = ident
                self.written[(dest, cid)] = (ident.acked, state.filters.get(dest, ''))
            state.running.add(dest)

    def stop_destination(self, dest):
        state = self.state
        with state.lock:
            state.running.discard(dest)
            for key in [k for k in state.idents if k[0] == dest]:
                del state.idents[key]

    def save_meta(self, state):
        """Called under state.lock after every subscribe, unsubscribe and ack."""
        for (dest, cid), ident in state.idents.items():
            if dest not in state.running or not ident.subscribed:
                continue
            now = (ident.acked, state.filters.get(dest, ''))
            if self.written.get((dest, cid)) == now:
                continue
            base = '%s/%s/%d' % (ZK_ROOT, dest, cid)
            cursor = {'@type': LOG_POSITION,
                      'identity': {'slaveId': -1, 'sourceAddress': {'address': '127.0.0.1', 'port': 3306}},
                      'postion': {'gtid': '', 'included': False, 'journalName': EntryFactory.LOGFILE,
                                  'position': ident.acked, 'serverId': 1, 'timestamp': 0}}
            self.zk.ensure_path(base)
            for name, value in (('cursor', zk_json(cursor)), ('filter', now[1].encode('utf-8'))):
                path = base + '/' + name
                if self.zk.exists(path):
                    self.zk.set(path, value)
                else:
                    self.zk.create(path, value)
            self.written[(dest, cid)] = now

    def stop(self):
        self.stopping = True
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------

class ConnClosed(Exception):
    """The connection ends (EOF, idle, protocol error, fault); args[0] = reason."""


UNIT_SECONDS = {0: 1e-9, 1: 1e-6, 2: 1e-3, 3: 1.0, 4: 60.0, 5: 3600.0, 6: 86400.0}


class Conn:
    def __init__(self, server, sock, peer, number):
        self.server = server
        self.sock = sock
        self.peer = peer
        self.number = number
        self.rbuf = bytearray()
        self.seed = None
        self.authed = False
        self.read_idle = self.write_idle = None     # seconds, armed after auth
        self.last_read = self.last_write = time.monotonic()
        self.counts = {}                            # per-connection request counters
        self.fired = {}                             # per-connection fault firings
        local = sock.getsockname()
        # Netty 3 Channel.toString(), quoted in catch-all 400 messages.
        self.channel_desc = '[id: 0x%08x, /%s:%d => /%s:%d]' % (
            (number * 0x9E3779B1) & 0xFFFFFFFF, peer[0], peer[1], local[0], local[1])

    # ---- I/O ----

    def log(self, line):
        self.server.log(line)

    def check_idle(self):
        if not self.authed:
            return                      # no idle handler before authentication
        now = time.monotonic()
        if now - self.last_read >= self.read_idle:
            raise ConnClosed('reader idle %d ms' % int(self.read_idle * 1000))
        if now - self.last_write >= self.write_idle:
            raise ConnClosed('writer idle %d ms' % int(self.write_idle * 1000))

    def pump(self, timeout):
        """Wait up to timeout for input and buffer it; EOF raises ConnClosed."""
        if self.server.stopping.is_set():
            raise ConnClosed('server stopping')
        if self.authed:
            now = time.monotonic()
            timeout = min(timeout, self.last_read + self.read_idle - now, self.last_write + self.write_idle - now)
        try:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if r:
                data = self.sock.recv(1 << 16)
                if not data:
                    raise ConnClosed('eof')
                self.rbuf += data
        except OSError as e:
            raise ConnClosed('recv: %s' % e)
        self.check_idle()

    def read_exact(self, n):
        while len(self.rbuf) < n:
            self.pump(0.5)
        data = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return data

    def read_frame(self):
        header = self.read_exact(4)
        (length,) = struct.unpack('>I', header)
        if length & 0x80000000:
            # Java reads a negative int: the decoder throws, the channel is closed.
            self.log('BADLENGTH %d' % length)
            raise ConnClosed('negative frame length')
        body = self.read_exact(length)
        self.last_read = time.monotonic()
        self.log('RAW ' + body.hex())
        return body

    def send(self, data):
        if not data:
            return
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ConnClosed('send: %s' % e)
        self.last_write = time.monotonic()

    def respond(self, reply, fault):
        """Send reply (a Reply or None) as one frame, reshaped by the fault if any."""
        if fault is not None and fault.action == 'error':
            err = frame(error_reply(fault.code, fault.message).encode())
            if fault.mode == 'replace':
                self.send(err)
                reply = None
            elif fault.mode == 'before':
                self.send(err)
        data = b''
        if reply is not None:
            if fault is not None and fault.action == 'wrong_type':
                reply.ptype = fault.type
            if fault is not None and fault.action == 'compression':
                reply.compression = fault.value
            data = frame(reply.encode())
        action = fault.action if fault is not None else None
        if action == 'truncate':
            self.send(data[:fault.bytes])
            raise ConnClosed('fault truncate')
        elif action == 'drip':
            for i in range(0, len(data), fault.chunk):
                self.send(data[i:i + fault.chunk])
                if i + fault.chunk < len(data):
                    time.sleep(fault.ms / 1000.0)
        elif action == 'raw_hex':
            self.send(fault.hex)
        elif action == 'length':
            self.send(struct.pack('>I', fault.value) + fault.hex)
        else:
            self.send(data)
        if fault is not None and fault.action == 'error' and fault.mode == 'after':
            self.send(frame(error_reply(fault.code, fault.message).encode()))
        if fault is not None and fault.close_after:
            raise ConnClosed('fault close_after')

    def execute(self, kind, handler):
        """Run one request through the fault table, its handler and respond()."""
        fault = self.server.match_fault(kind, self)
        if fault is not None:
            self.log('FAULT ' + fault.describe())
            if fault.action == 'die':
                # A crash: no reply, no clean ZooKeeper close (ephemeral nodes
                # stay until the session expires), nothing flushed.
                os._exit(3)
            if fault.action == 'stall':
                time.sleep(fault.ms / 1000.0)
            if not fault.apply:
                if fault.action == 'close':
                    raise ConnClosed('fault close')
                if fault.action == 'error':
                    self.respond(None, fault)
                    return False
                if fault.action == 'empty':
                    self.respond(Reply(MESSAGES, messages_body(-1, [])), None)
                    return False
        reply = handler()
        if fault is not None and fault.action == 'close':
            raise ConnClosed('fault close')
        self.respond(reply, fault)
        return True

    # ---- phases ----

    def run(self):
        reason = 'done'
        try:
            self.handshake()
            while not self.authed:
                self.auth_step()
            while True:
                self.session_step()
        except ConnClosed as e:
            reason = e.args[0]
        except Exception as e:          # a bug here must not kill the server
            reason = 'internal error: %r' % e
            if self.server.verbose:
                import traceback
                traceback.print_exc()
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            self.log('CLOSE reason=%s' % reason)

    def handshake(self):
        hs = self.server.handshake_override
        seed = self.server.seed if self.server.seed is not None else os.urandom(8)
        if hs.get('seed_hex') is not None:
            seed = bytes.fromhex(hs['seed_hex'])
        self.seed = seed
        self.log('CONNECT peer=%s:%d seed=%s' % (self.peer[0], self.peer[1], seed.hex()))

        def handler():
            version = hs['version'] if 'version' in hs else 1
            return Reply(int(hs.get('type', HANDSHAKE)), CP.Handshake(seeds=seed).SerializeToString(), version)
        self.execute('CONNECT', handler)

    def auth_step(self):
        """Auth phase: the next frame is a ClientAuth whatever its type (section 4.1)."""
        body = self.read_frame()
        pkt = CP.Packet()
        auth = CP.ClientAuth()
        try:
            pkt.ParseFromString(body)
            auth.ParseFromString(pkt.body)
        except Exception:
            self.log('BADPACKET auth phase')
            raise ConnClosed('unparseable ClientAuth')      # exception -> channel closed, no reply
        self.log('AUTH ' + describe(auth))
        server = self.server

        def handler():
            try:
                ok = server.check_auth(auth.username, auth.password.decode('utf-8', 'replace'), self.seed)
            except ValueError as e:
                raise ConnClosed('auth check threw: %s' % e)   # bad hex / short token
            if not ok:
                return error_reply(400, 'auth failed for user:%s' % auth.username)
            if auth.destination and auth.client_id:
                try:
                    cid = java_parse_short(auth.client_id)
                    server.state.subscribe(auth.destination, cid, auth.filter, '')
                except JavaException as e:
                    raise ConnClosed('auth-time subscribe failed: %s' % e.message)
            self.pending_auth = auth
            return ack_reply()
        self.pending_auth = None
        self.execute('AUTH', handler)
        if self.pending_auth is not None:
            # Success Ack written: install the idle watchdog (ms; <= 0 -> 1 hour).
            rt = auth.net_read_timeout if auth.net_read_timeout > 0 else DEFAULT_IDLE_MS
            wt = auth.net_write_timeout if auth.net_write_timeout > 0 else DEFAULT_IDLE_MS
            self.read_idle, self.write_idle = rt / 1000.0, wt / 1000.0
            self.last_read = self.last_write = time.monotonic()
            self.authed = True

    def session_step(self):
        body = self.read_frame()
        pkt = CP.Packet()
        try:
            pkt.ParseFromString(body)
        except Exception:
            self.log('BADPACKET')
            raise ConnClosed('unparseable Packet')             # closed, no reply
        ptype = pkt.type
        spec = COMMANDS.get(ptype)
        kind = spec[0] if spec else 'OTHER'
        self.log(request_line(ptype, pkt.body))

        def handler():
            try:
                if spec is None:
                    ev = CP.PacketType.DESCRIPTOR.values_by_number.get(ptype)
                    return error_reply(400, 'packet type: %s is NOT supported!' % (ev.name if ev else 'UNRECOGNIZED'))
                return getattr(self, 'cmd_' + kind.lower())(pkt.body)
            except JavaException as e:
                return error_reply(400, 'something goes wrong with channel: %s, exception: %s'
                                   % (self.channel_desc, e.stack_trace()))
        self.execute(kind, handler)

    # ---- commands (section 5); each returns a Reply or None ----

    def _identity(self, msg, label):
        """401 check (None = reply already decided) else the parsed short id."""
        if not msg.destination or not msg.client_id:
            return None
        try:
            return java_parse_short(msg.client_id)
        except JavaException as e:
            raise e.in_command(label)

    def cmd_sub(self, body):
        sub = java_parse(CP.Sub, body, 'Sub')
        cid = self._identity(sub, 'Sub')
        if cid is None:
            return error_reply(401, 'destination or clientId is null. Sub: ' + java_text_format(sub))
        try:
            self.server.state.subscribe(sub.destination, cid, sub.filter,
                                        '%s.subscribe(CanalServerWithEmbedded.java:172)' % EMBEDDED)
        except JavaException as e:
            raise e.in_command('Sub')
        return ack_reply()

    def cmd_unsub(self, body):
        unsub = java_parse(CP.Unsub, body, 'Unsub')
        cid = self._identity(unsub, 'Unsub')
        if cid is None:
            return error_reply(401, 'destination or clientId is null. Unsub: ' + java_text_format(unsub))
        try:
            self.server.state.unsubscribe(unsub.destination, cid,
                                          '%s.unsubscribe(CanalServerWithEmbedded.java:200)' % EMBEDDED)
        except JavaException as e:
            raise e.in_command('Unsub')
        return ack_reply()

    def cmd_get(self, body):
        get = java_parse(CP.Get, body, 'Get')
        cid = self._identity(get, 'Get')
        if cid is None:
            return error_reply(401, 'destination or clientId is null. Get: ' + java_text_format(get))
        state = self.server.state
        where = '%s.getWithoutAck(CanalServerWithEmbedded.java:321)' % EMBEDDED
        timeout = get.timeout if get.HasField('timeout') else 0      # absent reads 0 = block
        unit = get.unit if get.HasField('unit') else 0               # absent reads 0 = ns
        if timeout == -1:
            deadline = time.monotonic()                              # tryGet: answer now
        elif timeout <= 0:
            deadline = None                                          # block without limit
        else:
            wait = timeout * UNIT_SECONDS.get(unit, 1e-3)
            if self.server.max_get_wait is not None:
                wait = min(wait, self.server.max_get_wait)
            deadline = time.monotonic() + wait
        while True:
            with state.lock:
                try:
                    state.check_start(get.destination, where)
                    ident = state.subscribed(get.destination, cid, where)
                except JavaException as e:
                    raise e.in_command('Get')
                if get.fetch_size <= 0:
                    break               # ITEMSIZE with batchSize <= 0: nothing to wait for
                got = state.take(ident, get.fetch_size, self.server.full_batch, get.destination)
                if got is None and deadline is not None and time.monotonic() >= deadline:
                    # at expiry return whatever is there (possibly nothing)
                    got = state.take(ident, get.fetch_size, False, get.destination)
                    if got is None:
                        break
            if got is not None:
                batch_id, entries = got
                if self.server.raw:
                    # Canal's hand-built fast path: type + body only, no version.
                    return Reply(MESSAGES, messages_body(batch_id, entries), version=None)
                return Reply(MESSAGES, messages_body(batch_id, entries))
            # Nothing yet: wait while noticing EOF, idle timeout and shutdown.
            remaining = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
            self.pump(remaining)
        return Reply(MESSAGES, messages_body(-1, []))                # empty: normal form, version 1

    def cmd_ack(self, body):
        ack = java_parse(CP.ClientAck, body, 'Ack')
        if not ack.destination or not ack.client_id:
            return error_reply(401, 'destination or clientId is null. Ack: ' + java_text_format(ack))
        if ack.batch_id == 0:
            return error_reply(402, 'batchId should assign value. Ack: ' + java_text_format(ack))
        if ack.batch_id == -1:
            return None                 # "last get was empty": ignored
        cid = self._identity(ack, 'Ack')
        state = self.server.state
        where = '%s.ack(CanalServerWithEmbedded.java:403)' % EMBEDDED
        try:
            with state.lock:
                state.check_start(ack.destination, where)
                ident = state.subscribed(ack.destination, cid, where)
                start, end = state.remove_batch(ident, cid, ack.batch_id, 'ack', where)
                ident.acked = end       # cursor moves to the batch end
                state.save()
        except JavaException as e:
            raise e.in_command('Ack')
        return None                     # success: no reply

    def cmd_rollback(self, body):
        rb = java_parse(CP.ClientRollback, body, 'Rollback')
        cid = self._identity(rb, 'Rollback')
        if cid is None:
            return error_reply(401, 'destination or clientId is null. Rollback: ' + java_text_format(rb))
        state = self.server.state
        where = '%s.rollback(CanalServerWithEmbedded.java:%d)' % (EMBEDDED, 445 if rb.batch_id == 0 else 480)
        try:
            with state.lock:
                state.check_start(rb.destination, where)
                ident = state.idents.get((rb.destination, cid))
                if ident is None or not ident.subscribed:
                    return None         # ignored: the connect-time rollback comes before subscribe
                if rb.batch_id == 0:
                    ident.outstanding.clear()
                else:
                    state.remove_batch(ident, cid, rb.batch_id, 'rollback', where)
                # Either way the store's read pointer goes back to the last ack, so
                # every unacked entry is redelivered under new batch ids.
                ident.read = ident.acked
        except JavaException as e:
            raise e.in_command('Rollback')
        return None


# type number -> (fault kind, request message class name, log name)
COMMANDS = {
    SUBSCRIPTION: ('SUB', 'Sub', 'SUBSCRIPTION'),
    UNSUBSCRIPTION: ('UNSUB', 'Unsub', 'UNSUBSCRIPTION'),
    GET: ('GET', 'Get', 'GET'),
    CLIENTACK: ('ACK', 'ClientAck', 'CLIENTACK'),
    CLIENTROLLBACK: ('ROLLBACK', 'ClientRollback', 'CLIENTROLLBACK'),
}


def _log_value(fd, v):
    if fd.type == fd.TYPE_BYTES:
        try:
            text = v.decode('ascii')
            if text.isprintable() and ' ' not in text:
                return text
        except UnicodeDecodeError:
            pass
        return 'hex:' + v.hex()
    if fd.type == fd.TYPE_STRING:
        if v.isprintable() and not re.search(r'[\s"\\]', v):
            return v
        return json.dumps(v, ensure_ascii=False)
    if fd.type == fd.TYPE_BOOL:
        return 'True' if v else 'False'
    return str(v)


def describe(msg):
    """'field=value ...' for every field in number order; unset oneof members
    (presence fields) print as <absent>."""
    parts = []
    for fd in sorted(msg.DESCRIPTOR.fields, key=lambda f: f.number):
        if fd.containing_oneof is not None and not msg.HasField(fd.name):
            parts.append('%s=<absent>' % fd.name)
        else:
            parts.append('%s=%s' % (fd.name, _log_value(fd, getattr(msg, fd.name))))
    return ' '.join(parts)


def request_line(ptype, body):
    spec = COMMANDS.get(ptype)
    if spec is None:
        ev = CP.PacketType.DESCRIPTOR.values_by_number.get(ptype)
        return '%s type=%d body=%s' % (ev.name if ev else 'UNRECOGNIZED', ptype, body.hex())
    msg = getattr(CP, spec[1])()
    try:
        msg.ParseFromString(body)
    except Exception:
        return '%s <unparseable body>' % spec[2]
    return '%s %s' % (spec[2], describe(msg))


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------

class Server:
    def __init__(self, args, script, entries):
        self.state = State(args.destination or ['example'], entries, args.state_file, args.filter)
        self.raw = not args.no_raw
        self.full_batch = args.full_batch
        self.max_get_wait = args.max_get_wait_ms / 1000.0 if args.max_get_wait_ms > 0 else None
        self.seed = bytes.fromhex(args.seed_hex) if args.seed_hex else None
        self.verbose = args.verbose
        self.user = args.user or ''
        if args.passwd_hash is not None:
            self.passwd = args.passwd_hash
        elif args.password is not None:
            self.passwd = hashlib.sha1(hashlib.sha1(args.password.encode('utf-8')).digest()).hexdigest()
        else:
            self.passwd = ''
        if self.passwd:
            java_hex_decode(self.passwd)           # fail at start-up, not per login
        self.handshake_override = script.get('handshake') or {}
        self.faults = [Fault(f, i) for i, f in enumerate(script.get('faults', []))]
        self.counts = {}
        self.fault_lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.log_file = open(args.log, 'a', encoding='utf-8') if args.log else None
        self.stopping = threading.Event()
        self.conn_count = 0

    def log(self, line):
        if self.verbose:
            sys.stderr.write('canal_server: %s\n' % line[:300])
        if self.log_file is not None:
            with self.log_lock:
                self.log_file.write(line + '\n')
                self.log_file.flush()

    def check_auth(self, user, passwd_text, seed):
        """CanalServerWithEmbedded.auth (section 4.2/4.3); ValueError = it threw."""
        if self.user and self.user != user:
            return False
        if not self.passwd:
            return True
        if not passwd_text:
            return False
        token = java_hex_decode(passwd_text)
        stored = java_hex_decode(self.passwd)
        h = hashlib.sha1(seed + stored).digest()
        if len(token) < len(h):
            raise ValueError('token shorter than 20 bytes')    # ArrayIndexOutOfBounds in Java
        x = bytes(t ^ b for t, b in zip(token, h))
        return hashlib.sha1(x).digest() == stored

    def match_fault(self, kind, conn):
        with self.fault_lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            conn.counts[kind] = conn.counts.get(kind, 0) + 1
            for f in self.faults:
                if f.on != kind:
                    continue
                if f.scope == 'server':
                    n, fired = self.counts[kind], f.fired
                else:
                    n, fired = conn.counts[kind], conn.fired.get(f.index, 0)
                if n >= f.nth and fired < f.times:
                    if f.scope == 'server':
                        f.fired += 1
                    else:
                        conn.fired[f.index] = fired + 1
                    return f
        return None

    def handle(self, sock, peer):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        with self.fault_lock:
            self.conn_count += 1
            number = self.conn_count
        Conn(self, sock, peer, number).run()


def load_script(path):
    if not path:
        return {}
    with open(path, 'r', encoding='utf-8') as f:
        # Decimal keeps "12.50"-style JSON numbers exactly as written.
        return json.load(f, parse_float=decimal.Decimal)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description='Fake Alibaba Canal server for canal-c tests (see PROTOCOL.md section 9).')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0, help='0 = pick a free port')
    ap.add_argument('--port-file', help='write the bound port here (atomically) once listening')
    ap.add_argument('--user', help='canal.user')
    ap.add_argument('--password', help='password; the server keeps only hex(SHA1(SHA1(pw)))')
    ap.add_argument('--passwd-hash', help='canal.passwd given directly (hex of SHA1(SHA1(pw)))')
    ap.add_argument('--destination', action='append', help='running destination (repeatable; default example)')
    ap.add_argument('--script', help='JSON script: entries, tables, faults, handshake')
    ap.add_argument('--filter', default='',
                    help="the instance's own table filter (canal.instance.filter.regex), kept by "
                         'a subscribe with an empty filter; default "" = every table')
    ap.add_argument('--sample', action='store_true', help='serve the built-in sample stream instead of script entries')
    ap.add_argument('--dump-script', action='store_true', help='print the effective script as JSON and exit')
    ap.add_argument('--no-raw', action='store_true', help='non-empty GET replies in normal form (version 1)')
    ap.add_argument('--full-batch', action='store_true',
                    help='GET waits for fetch_size entries (Canal ITEMSIZE) instead of returning what is there')
    ap.add_argument('--max-get-wait-ms', type=int, default=60000,
                    help='cap on a GET wait with timeout > 0 (<= 0: no cap; default 60000)')
    ap.add_argument('--once', action='store_true', help='exit after the first connection closes')
    ap.add_argument('--state-file', help='persist subscriptions, filters and acked cursors here, '
                    'so a restarted server resumes like Canal with its meta manager')
    ap.add_argument('--log', help='append one line per received request (and RAW frame hex)')
    ap.add_argument('--seed-hex', help='fixed handshake seed (hex) instead of 8 random bytes')
    ap.add_argument('--pb-dir', default=DEFAULT_PB_DIR, help='where generated *_pb2.py live')
    ap.add_argument('--proto-dir', default=DEFAULT_PROTO_DIR, help='where the .proto sources are')
    ap.add_argument('--protoc', help='protoc executable (default: from PATH)')
    ap.add_argument('--zk', help='ZooKeeper connect string: run as a Canal cluster member '
                    '(cluster and running nodes, cursors in ZooKeeper; needs python3-kazoo)')
    ap.add_argument('--zk-address', help='ip:port registered in ZooKeeper (default 127.0.0.1:<port>)')
    ap.add_argument('--zk-delay-ms', type=int, default=5000,
                    help="wait before claiming a running node another server held (Canal's delayTime)")
    ap.add_argument('--zk-session-ms', type=int, default=4000, help='ZooKeeper session timeout')
    ap.add_argument('-v', '--verbose', action='store_true', help='trace to stderr')
    args = ap.parse_args(argv)

    script = load_script(args.script)
    if args.sample:
        script = dict(script, **sample_script())
    if args.dump_script:
        try:
            sys.stdout.write(json.dumps(script, ensure_ascii=False, indent=1, default=str) + '\n')
            sys.stdout.flush()
        except BrokenPipeError:         # e.g. piped into head
            pass
        return 0
    load_pb(args.pb_dir, args.proto_dir, args.protoc)
    try:
        entries = build_entries(script)
        server = Server(args, script, entries)
    except (ValueError, KeyError, TypeError) as e:
        sys.stderr.write('canal_server: bad script or options: %s\n' % e)
        return 2

    lsock = socket.socket(socket.AF_INET6 if ':' in args.host else socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    zk_role = None
    if args.zk:
        zk_role = ZkRole(server, args.zk, args.zk_address or '%s:%d' % (args.host, port),
                         args.zk_delay_ms, args.zk_session_ms)
        signal.signal(signal.SIGUSR1,
                      lambda signum, frame_: threading.Thread(target=zk_role.release, daemon=True).start())
    if args.port_file:
        tmp = args.port_file + '.tmp.%d' % os.getpid()
        with open(tmp, 'w') as f:
            f.write('%d\n' % port)
        os.replace(tmp, args.port_file)
    print('listening on %s:%d' % (args.host, port), flush=True)

    def stop(signum, frame_):
        server.stopping.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    lsock.settimeout(0.2)               # poll so SIGTERM/SIGINT are honoured promptly
    while not server.stopping.is_set():
        try:
            sock, peer = lsock.accept()
        except socket.timeout:
            continue
        except OSError:
            if server.stopping.is_set():
                break
            raise
        sock.settimeout(None)
        if args.once:
            lsock.close()               # serve exactly one connection
            server.handle(sock, peer[:2])
            break
        t = threading.Thread(target=server.handle, args=(sock, peer[:2]), daemon=True)
        t.start()
    server.stopping.set()
    if zk_role is not None:
        zk_role.stop()                  # a clean stop deletes the ephemeral nodes at once
    try:
        lsock.close()
    except OSError:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
