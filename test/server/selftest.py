#!/usr/bin/python3
"""Self-test of canal_server.py against PROTOCOL.md, through a tiny Python client.

Starts the server as a subprocess (one per configuration) on a free port and checks
exact bytes where the spec gives them.  Last line: "N passed, M failed"; exit
status 1 if anything failed.  Run with /usr/bin/python3.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import canal_server as cs  # noqa: E402

CP, EP = cs.load_pb()
SEED = bytes.fromhex('0102030405060708')
PASSED = []
FAILED = []


def H(s):
    """hex with spaces -> bytes (spec examples are written spaced)."""
    return bytes.fromhex(s.replace(' ', ''))


def check(name, cond, detail=''):
    (PASSED if cond else FAILED).append(name)
    if not cond:
        print('FAIL %s %s' % (name, detail))


def expect_eq(name, got, want):
    check(name, got == want, '\n   got:  %r\n   want: %r' % (got, want))


def expect_in(name, needle, hay):
    check(name, needle in hay, '\n   %r\n   not in %r' % (needle, hay))


# ---------------------------------------------------------------- server ---

class ServerProc:
    def __init__(self, *args, script=None):
        self.dir = tempfile.mkdtemp(prefix='canal-selftest-')
        self.port_file = os.path.join(self.dir, 'port')
        self.log_path = os.path.join(self.dir, 'log')
        cmd = [sys.executable, os.path.join(HERE, 'canal_server.py'), '--port', '0',
               '--port-file', self.port_file, '--log', self.log_path, '--seed-hex', SEED.hex()]
        if script is not None:
            path = os.path.join(self.dir, 'script.json')
            with open(path, 'w') as f:
                json.dump(script, f)
            cmd += ['--script', path]
        self.proc = subprocess.Popen(cmd + list(args), stdout=subprocess.PIPE)
        deadline = time.time() + 20
        while not os.path.exists(self.port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError('server did not start: %r' % cmd)
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.banner = self.proc.stdout.readline().decode().strip()

    def log(self):
        with open(self.log_path, encoding='utf-8') as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- client ---

class Closed(Exception):
    pass


class Client:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed('eof after %d of %d bytes' % (len(buf), n))
            buf += chunk
        return buf

    def read_frame(self):
        """The whole frame, header included (exact bytes for comparisons)."""
        header = self.recv_exact(4)
        (n,) = struct.unpack('>I', header)
        return header + self.recv_exact(n)

    def read_packet(self):
        raw = self.read_frame()
        pkt = CP.Packet()
        pkt.ParseFromString(raw[4:])
        return pkt, raw

    def read_ack(self):
        pkt, raw = self.read_packet()
        ack = CP.Ack()
        ack.ParseFromString(pkt.body)
        return pkt, ack, raw

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_body(self, body):
        self.sock.sendall(struct.pack('>I', len(body)) + body)

    @staticmethod
    def request(ptype, msg):
        """Java client style: Packet fields 3 and 5 only."""
        return CP.Packet(type=ptype, body=msg.SerializeToString()).SerializeToString()

    def send(self, ptype, msg):
        body = self.request(ptype, msg)
        self.send_body(body)
        return struct.pack('>I', len(body)) + body

    def silent(self, wait=0.3):
        """True if nothing arrives (and the connection stays open) for `wait` s."""
        self.sock.settimeout(wait)
        try:
            self.sock.recv(1)
            return False                # data or EOF: not silent
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(5.0)

    def closed_without_reply(self, wait=3.0):
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b''
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(5.0)

    # --- session helpers ---

    def handshake(self):
        pkt, raw = self.read_packet()
        hs = CP.Handshake()
        hs.ParseFromString(pkt.body)
        return hs.seeds, raw

    def auth(self, user='', password=None, seed=SEED, timeout_ms=3600000):
        auth = CP.ClientAuth(username=user, net_read_timeout=timeout_ms, net_write_timeout=timeout_ms)
        if password is not None:
            auth.password = cs.scramble411(password.encode('utf-8'), seed).hex().encode()
        return self.send(CP.CLIENTAUTHENTICATION, auth)

    def login(self, **kw):
        self.handshake()
        self.auth(**kw)
        pkt, ack, _ = self.read_ack()
        assert pkt.type == CP.ACK and not ack.HasField('error_code'), ack

    def sub(self, dest='example', cid='1001', filt=''):
        self.send(CP.SUBSCRIPTION, CP.Sub(destination=dest, client_id=cid, filter=filt))
        return self.read_ack()

    def get(self, fetch=1000, timeout=-1, unit=2, dest='example', cid='1001'):
        self.send(CP.GET, CP.Get(destination=dest, client_id=cid, fetch_size=fetch, timeout=timeout,
                                 unit=unit, auto_ack=False))
        pkt, raw = self.read_packet()
        msgs = CP.Messages()
        if pkt.type == CP.MESSAGES:
            msgs.ParseFromString(pkt.body)
        return pkt, msgs, raw

    def ack(self, batch_id, dest='example', cid='1001'):
        self.send(CP.CLIENTACK, CP.ClientAck(destination=dest, client_id=cid, batch_id=batch_id))

    def rollback(self, batch_id=0, dest='example', cid='1001'):
        self.send(CP.CLIENTROLLBACK, CP.ClientRollback(destination=dest, client_id=cid, batch_id=batch_id))


def error_frame(code, message):
    """Server error Ack as the spec's table gives it: fields 2, 3, 5."""
    ack = cs.varint(code)
    m = message.encode('utf-8')
    body = b'\x08' + ack + b'\x12' + cs.varint(len(m)) + m
    pkt = b'\x10\x01\x18\x03\x2a' + cs.varint(len(body)) + body
    return struct.pack('>I', len(pkt)) + pkt


OK_ACK = H('00000004 1001 1803')


def decode_entries(msgs):
    out = []
    for b in msgs.messages:
        e = EP.Entry()
        e.ParseFromString(b)
        out.append(e)
    return out


# ----------------------------------------------------------------- tests ---

def test_wire_helpers():
    expect_eq('varint -1 is 10 bytes', cs.varint(-1), H('ffffffffffffffffff01'))
    # Hand-built Packet == protobuf's serialization for the same fields.
    body = cs.messages_body(5, [H('0a00'), H('1002')])
    expect_eq('raw MESSAGES example (spec 2)', cs.frame(cs.Reply(7, body, version=None).encode()),
              H('0000000e 1807 2a0a 0805 12020a00 12021002'))
    expect_eq('normal MESSAGES example (spec 2)', cs.frame(cs.Reply(7, body).encode()),
              H('00000010 1001 1807 2a0a 0805 12020a00 12021002'))
    ref = CP.Packet(version=1, type=7, body=CP.Messages(batch_id=5, messages=[H('0a00'), H('1002')]).SerializeToString())
    expect_eq('hand-built packet equals protobuf', cs.Reply(7, body).encode(), ref.SerializeToString())
    expect_eq('error Ack example (spec 2)', cs.frame(cs.error_reply(400, 'auth failed for user:x').encode()),
              H('00000021 1001 1803 2a1b 089003 1216') + b'auth failed for user:x')
    expect_eq('empty GET reply bytes', cs.frame(cs.Reply(7, cs.messages_body(-1, [])).encode()),
              H('00000011 1001 1807 2a0b 08ffffffffffffffffff01'))
    # scramble411 test vectors of section 4.3
    for pw, seed, token in [('63616e616c', '0102030405060708', '7de44690d8e53782cb61804a2455c284a3bbfb06'),
                            ('', '0000000000000000', '3a926ccdbea4f1106c2e8a48b63eedbdeadd7f1f'),
                            ('70c3a4737377c3b67264e282ac', 'a1b2c3d4e5f60718', '775d21881443b072ac23d819b01e2dd990ba59fd'),
                            ('313233343536', 'ffffffffffffffff', '8c3cc4d5cd7fe73525b6afa89ad29c1ee6d13831')]:
        expect_eq('scramble411 vector %s' % pw, cs.scramble411(H(pw), H(seed)).hex(), token)
    # Java emulation bits
    expect_eq('parseShort +1001', cs.java_parse_short('+1001'), 1001)
    expect_eq('parseShort 01001', cs.java_parse_short('01001'), 1001)
    expect_eq('parseShort -32768', cs.java_parse_short('-32768'), -32768)
    for bad in ('abc', '40000', ' 1', '1 ', '+', '-', '1_0', '99999999999'):
        try:
            cs.java_parse_short(bad)
            check('parseShort rejects %r' % bad, False)
        except cs.JavaException:
            check('parseShort rejects %r' % bad, True)
    g = CP.Get(destination='ex"\x07é', fetch_size=10, timeout=-1, unit=2, auto_ack=False)
    expect_eq('Java TextFormat', cs.java_text_format(g),
              'destination: "ex\\"\\a\\303\\251"\nfetch_size: 10\ntimeout: -1\nunit: 2\nauto_ack: false\n')


def test_pb_generation():
    d = tempfile.mkdtemp(prefix='canal-pb-')
    try:
        code = ('import sys; sys.path.insert(0, %r); import canal_server as c; c.load_pb(%r); '
                'import EntryProtocol_pb2 as e; print(e.DESCRIPTOR.package)' % (HERE, d))
        out = subprocess.run([sys.executable, '-B', '-c', code], capture_output=True, text=True)
        expect_eq('pb modules generated with entry sub-package', out.stdout.strip(), cs.ENTRY_PACKAGE)
        before = os.path.getmtime(os.path.join(d, 'EntryProtocol_pb2.py'))
        subprocess.run([sys.executable, '-B', '-c', code], capture_output=True, text=True)
        expect_eq('pb modules not regenerated when up to date',
                  os.path.getmtime(os.path.join(d, 'EntryProtocol_pb2.py')), before)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_handshake_and_auth():
    with ServerProc('--user', 'canal', '--password', 'canal') as srv:
        expect_in('banner', 'listening on 127.0.0.1:%d' % srv.port, srv.banner)
        c = Client(srv.port)
        seed, raw = c.handshake()
        expect_eq('handshake bytes (spec 2)', raw, H('00000010 1001 1801 2a0a 1208 0102030405060708'))
        sent = c.auth('canal', 'canal')
        expect_eq('ClientAuth bytes (spec 4.1 example)', sent,
                  H('0000003f 1802 2a3b 0a05 63616e616c 1228') + b'7de44690d8e53782cb61804a2455c284a3bbfb06'
                  + H('18 80dddb01 20 80dddb01'))
        expect_eq('auth success Ack bytes', c.read_frame(), OK_ACK)
        c.close()

        # wrong password: 400, connection stays in the auth phase, same seed valid
        c = Client(srv.port)
        c.handshake()
        c.auth('canal', 'wrong')
        expect_eq('auth failure frame', c.read_frame(), error_frame(400, 'auth failed for user:canal'))
        c.auth('other', 'canal')
        expect_eq('wrong user rejected', c.read_frame(), error_frame(400, 'auth failed for user:other'))
        c.send(CP.CLIENTAUTHENTICATION, CP.ClientAuth(username='canal'))
        expect_eq('empty password rejected', c.read_frame(), error_frame(400, 'auth failed for user:canal'))
        # any packet type in the auth phase is read as ClientAuth
        c.send(CP.GET, CP.ClientAuth(username='canal', password=cs.scramble411(b'canal', SEED).hex().upper().encode()))
        expect_eq('retry after failure, uppercase hex, type ignored', c.read_frame(), OK_ACK)
        c.close()

        for name, pw in [('non-hex password closes', b'zz' * 20), ('short token closes', b'abcd')]:
            c = Client(srv.port)
            c.handshake()
            c.send(CP.CLIENTAUTHENTICATION, CP.ClientAuth(username='canal', password=pw))
            check(name, c.closed_without_reply())
            c.close()
        c = Client(srv.port)
        c.handshake()
        c.send_body(b'\xff\xff')
        check('unparseable auth frame closes', c.closed_without_reply())
        c.close()
        log = srv.log()
        expect_in('log AUTH line', 'AUTH username=canal password=7de44690d8e53782cb61804a2455c284a3bbfb06 '
                  'net_read_timeout=3600000 net_write_timeout=3600000', log)

    with ServerProc('--passwd-hash', 'E3619321C1A937C46A0D8BD1DAC39F93B27D4458') as srv:
        c = Client(srv.port)
        c.handshake()
        c.auth('anyone', 'canal')
        expect_eq('--passwd-hash (no user): any user with right password', c.read_frame(), OK_ACK)
        c.close()

    with ServerProc() as srv:
        c = Client(srv.port)
        c.handshake()
        c.auth('whoever', None)
        expect_eq('no auth configured: accept', c.read_frame(), OK_ACK)
        c.close()

    with ServerProc('--user', 'canal') as srv:
        c = Client(srv.port)
        c.handshake()
        c.auth('canal', 'whatever')
        expect_eq('user only: any password', c.read_frame(), OK_ACK)
        c.close()
        c = Client(srv.port)
        c.handshake()
        c.auth('bob', None)
        expect_eq('user only: other user rejected', c.read_frame(), error_frame(400, 'auth failed for user:bob'))
        c.close()


def test_session():
    with ServerProc('--sample') as srv:
        total = len(cs.build_entries(cs.sample_script()))
        c = Client(srv.port)
        c.login()
        c.rollback(0)                   # connect-time rollback before subscribe: ignored
        c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=5, timeout=-1, unit=2))
        pkt, ack, raw = c.read_ack()
        expect_in('rollback before subscribe silent; GET before subscribe 400',
                  'exception: com.alibaba.otter.canal.server.exception.CanalServerException: '
                  'ClientIdentity:ClientIdentity[destination=example,clientId=1001,filter=<null>] should subscribe first\n'
                  '\tat com.alibaba.otter.canal.server.embedded.CanalServerWithEmbedded.checkSubscribe', ack.error_message)
        check('catch-all text prefix', ack.error_code == 400 and
              ack.error_message.startswith('something goes wrong with channel: [id: 0x'), ack)
        c.send(CP.SUBSCRIPTION, CP.Sub(destination='example', client_id='1001'))
        expect_eq('subscribe Ack bytes', c.read_frame(), OK_ACK)

        sent = c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=1000, timeout=1000,
                                     unit=2, auto_ack=False))
        expect_eq('GET bytes (spec 5.4 example)', sent,
                  H('0000001d 1806 2a19 0a07 6578616d706c65 1204 31303031 18e807 20e807 2802 3000'))
        pkt, raw = c.read_packet()
        check('raw reply: fields 3 and 5 only', raw[4:7] == H('18072a') and not pkt.HasField('version'), raw[:12].hex())
        msgs = CP.Messages()
        msgs.ParseFromString(pkt.body)
        expect_eq('first batch id 1', msgs.batch_id, 1)
        expect_eq('fetch_size 1000 returns the whole stream', len(msgs.messages), total)
        ref = cs.frame(cs.Reply(7, cs.messages_body(1, list(msgs.messages)), version=None).encode())
        expect_eq('raw reply bytes exact', raw, ref)
        check_sample_entries(decode_entries(msgs))

        pkt, msgs, raw = c.get(10, -1)
        expect_eq('empty GET reply exact bytes', raw, H('00000011 1001 1807 2a0b 08ffffffffffffffffff01'))
        t0 = time.time()
        pkt, msgs, raw = c.get(10, 300, 2)
        dt = time.time() - t0
        check('GET timeout 300ms waits then empty', msgs.batch_id == -1 and 0.25 <= dt < 2.0, dt)
        t0 = time.time()
        pkt, msgs, raw = c.get(10, 1, 3)
        dt = time.time() - t0
        check('GET timeout unit seconds', msgs.batch_id == -1 and 0.9 <= dt < 3.0, dt)

        c.rollback(0)
        pkt, msgs, _ = c.get(3)
        expect_eq('after rollback: new batch id 2', msgs.batch_id, 2)
        first3 = list(msgs.messages)
        pkt, msgs, _ = c.get(3)
        expect_eq('streaming second batch id 3', msgs.batch_id, 3)
        next3 = list(msgs.messages)
        c.ack(3)
        pkt, ack, raw = c.read_ack()
        expect_in('ack out of order text', 'exception: com.alibaba.otter.canal.meta.exception.CanalMetaManagerException: '
                  'batchId:3 is not the firstly:2\n', ack.error_message)
        c.ack(2)
        c.ack(3)
        check('in-order acks: no reply', c.silent())
        c.ack(3)
        pkt, ack, raw = c.read_ack()
        expect_in('ack unknown id text', 'com.alibaba.otter.canal.server.exception.CanalServerException: '
                  'ack error , clientId:1001 batchId:3 is not exist , please check\n', ack.error_message)
        expect_eq('ack error code', (pkt.version, pkt.type, ack.error_code), (1, CP.ACK, 400))
        c.ack(-1)
        check('ack -1 ignored', c.silent())
        c.ack(0)
        expect_eq('ack 0 -> 402', c.read_frame(),
                  error_frame(402, 'batchId should assign value. Ack: destination: "example"\nclient_id: "1001"\n'))

        pkt, msgs, _ = c.get(2)
        expect_eq('after acks batch id 4', msgs.batch_id, 4)
        e1 = list(msgs.messages)
        pkt, msgs, _ = c.get(2)
        e2 = list(msgs.messages)
        c.rollback(0)
        pkt, msgs, _ = c.get(4)
        check('rollback redelivers from the acked position with a new id',
              msgs.batch_id == 6 and list(msgs.messages) == e1 + e2, msgs.batch_id)
        check('batch after acks starts past the acked entries', e1[0] not in first3 + next3)
        c.rollback(6)
        check('rollback single smallest id: no reply', c.silent())
        pkt, msgs, _ = c.get(4)
        check('single rollback redelivers', msgs.batch_id == 7 and list(msgs.messages) == e1 + e2, msgs.batch_id)
        c.rollback(99)
        pkt, ack, raw = c.read_ack()
        expect_in('rollback unknown id text', 'CanalServerException: rollback error, clientId:1001 batchId:99 '
                  'is not exist , please check', ack.error_message)
        pkt, msgs, _ = c.get(1)
        c.rollback(8)
        pkt, ack, raw = c.read_ack()
        expect_in('rollback not firstly', 'batchId:8 is not the firstly:7', ack.error_message)

        # 401 with the Java toString of the request
        c.send(CP.SUBSCRIPTION, CP.Sub(client_id='1001'))
        expect_eq('401 Sub', c.read_frame(), error_frame(401, 'destination or clientId is null. Sub: client_id: "1001"\n'))
        c.send(CP.UNSUBSCRIPTION, CP.Unsub())
        expect_eq('401 Unsub', c.read_frame(), error_frame(401, 'destination or clientId is null. Unsub: '))
        c.send(CP.GET, CP.Get(destination='example', fetch_size=10, timeout=-1, unit=2, auto_ack=False))
        expect_eq('401 Get', c.read_frame(), error_frame(
            401, 'destination or clientId is null. Get: destination: "example"\nfetch_size: 10\ntimeout: -1\nunit: 2\nauto_ack: false\n'))
        c.send(CP.CLIENTACK, CP.ClientAck(destination='example', batch_id=3))
        expect_eq('401 Ack', c.read_frame(), error_frame(
            401, 'destination or clientId is null. Ack: destination: "example"\nbatch_id: 3\n'))
        c.send(CP.CLIENTROLLBACK, CP.ClientRollback(client_id='7'))
        expect_eq('401 Rollback', c.read_frame(), error_frame(
            401, 'destination or clientId is null. Rollback: client_id: "7"\n'))

        # unsupported packet types
        for ptype, name in [(11, 'HEARTBEAT'), (2, 'CLIENTAUTHENTICATION'), (9, 'SHUTDOWN'), (99, 'UNRECOGNIZED')]:
            c.send_body(CP.Packet(type=ptype).SerializeToString())
            expect_eq('unsupported type %s' % name, c.read_frame(),
                      error_frame(400, 'packet type: %s is NOT supported!' % name))
        c.send_body(b'')
        expect_eq('empty frame = type 0', c.read_frame(),
                  error_frame(400, 'packet type: PACKAGETYPECOMPATIBLEPROTO2 is NOT supported!'))

        # client id parsing and destinations
        _, ack, _ = c.sub(cid='abc')
        expect_in('client id abc -> NumberFormatException', 'exception: java.lang.NumberFormatException: '
                  'For input string: "abc"\n\tat java.lang.NumberFormatException.forInputString', ack.error_message)
        _, ack, _ = c.sub(cid='40000')
        expect_in('client id 40000 out of range', 'java.lang.NumberFormatException: Value out of range. '
                  'Value:"40000" Radix:10', ack.error_message)
        _, ack, _ = c.sub(dest='nope')
        expect_in('unknown destination', 'CanalServerException: destination:nope should start first', ack.error_message)
        c.send_body(CP.Packet(type=CP.GET, body=H('0a05 6162')).SerializeToString())
        _, ack, _ = c.read_ack()
        expect_in('truncated body -> InvalidProtocolBufferException',
                  'com.google.protobuf.InvalidProtocolBufferException: While parsing a protocol message, the input '
                  'ended unexpectedly', ack.error_message)
        c.rollback(0)
        pkt, msgs, _ = c.get(1, cid='+01001')
        expect_eq('"+01001" is client 1001 (batch ids continue)', msgs.batch_id, 9)
        c.close()

        # state survives the TCP connection: outstanding batch redelivered after reconnect
        c = Client(srv.port)
        c.login()
        c.rollback(0)
        pkt, msgs, _ = c.get(1)
        check('reconnect + rollback redelivers unacked entry with new id',
              msgs.batch_id == 10 and list(msgs.messages) == e1[:1], msgs.batch_id)
        c.ack(10)
        _, ack, _ = c.sub(cid='7')
        pkt, msgs, _ = c.get(1, cid='7')
        expect_eq('other client id: own counter and cursor', (msgs.batch_id, list(msgs.messages)), (1, first3[:1]))
        c.send(CP.UNSUBSCRIPTION, CP.Unsub(destination='example', client_id='7'))
        expect_eq('unsubscribe Ack', c.read_frame(), OK_ACK)
        c.send(CP.GET, CP.Get(destination='example', client_id='7', fetch_size=1, timeout=-1, unit=2))
        _, ack, _ = c.read_ack()
        expect_in('GET after unsubscribe', 'should subscribe first', ack.error_message)

        # unparseable Packet in the session phase closes without reply
        c.send_body(b'\x18')
        check('unparseable Packet closes', c.closed_without_reply())
        c.close()
        c = Client(srv.port)
        c.login()
        c.send_raw(b'\x80\x00\x00\x00')
        check('negative frame length closes', c.closed_without_reply())
        c.close()

        log = srv.log()
        expect_in('log GET line', 'GET destination=example client_id=1001 fetch_size=1000 timeout=1000 unit=2 '
                  'auto_ack=False\n', log)
        expect_in('log RAW line', 'RAW 18062a190a076578616d706c651204313030311' '8e80720e80728023000\n', log)
        expect_in('log CLIENTACK', 'CLIENTACK destination=example client_id=1001 batch_id=3\n', log)
        expect_in('log CLIENTROLLBACK', 'CLIENTROLLBACK destination=example client_id=1001 batch_id=0\n', log)


def check_sample_entries(entries):
    types = [e.entryType for e in entries]
    expect_eq('sample starts with TRANSACTIONBEGIN', types[0], EP.TRANSACTIONBEGIN)
    h = entries[0].header
    check('header shape', h.HasField('version') and h.version == 1 and h.logfileName == 'mysql-bin.000001'
          and h.serverId == 1 and h.serverenCode == 'UTF-8' and h.sourceType == EP.MYSQL
          and h.executeTime == 1700000000000 and not h.HasField('eventType'), h)
    offsets = [e.header.logfileOffset for e in entries]
    check('increasing logfileOffset', offsets == sorted(set(offsets)), offsets)
    rows, ddl = 0, None
    for e in entries:
        if e.entryType != EP.ROWDATA:
            continue
        rc = EP.RowChange()
        rc.ParseFromString(e.storeValue)
        check('isDdl present on every RowChange', rc.HasField('isDdl'))
        if rc.isDdl:
            ddl = (e.header.eventType, rc.sql, rc.ddlSchemaName, e.header.tableName)
            continue
        rows += len(rc.rowDatas)
        expect_eq('rowsCount prop', [(p.key, p.value) for p in e.header.props], [('rowsCount', str(len(rc.rowDatas)))])
        for rd in rc.rowDatas:
            for col in list(rd.beforeColumns) + list(rd.afterColumns):
                if not col.HasField('isNull'):
                    check('isNull always present', False, col)
                    return
    expect_eq('sample: 19 row changes', rows, 19)
    expect_eq('sample DDL', ddl, (EP.ALTER, 'ALTER TABLE shop.orders ADD COLUMN flag tinyint(1)', 'shop', 'orders'))
    # the orders INSERT: binary column ISO-8859-1 rendered, NULL note has no value
    rc = EP.RowChange()
    rc.ParseFromString(entries[4].storeValue)
    cols = rc.rowDatas[0].afterColumns
    expect_eq('binary 00 ff 41 rendering', (cols[4].value, cols[4].sqlType), ('\x00\xffA', 2004))
    check('NULL column', cols[3].isNull and not cols[3].value and cols[3].HasField('isNull'))
    check('INSERT columns all updated', all(c.updated for c in cols))
    expect_eq('UTF-8 text', cols[1].value, '张三')
    rc.ParseFromString(entries[7].storeValue)
    expect_eq('UPDATE updated flags', [c.updated for c in rc.rowDatas[0].afterColumns],
              [False, False, True, True, False, False])
    check('UPDATE before columns not updated', not any(c.updated for c in rc.rowDatas[0].beforeColumns))


def test_no_raw_and_idle():
    with ServerProc('--sample', '--no-raw') as srv:
        c = Client(srv.port)
        c.login()
        c.sub()
        pkt, msgs, raw = c.get(2)
        check('--no-raw: version 1 on MESSAGES', raw[4:8] == H('10011807') and msgs.batch_id == 1, raw[:10].hex())
        c.close()
        c = Client(srv.port)
        c.login(timeout_ms=300)
        t0 = time.time()
        closed = c.closed_without_reply(5)
        dt = time.time() - t0
        check('idle watchdog closes after net_read_timeout ms', closed and 0.2 <= dt < 2.0, dt)
        c.close()
        c = Client(srv.port)
        c.handshake()
        check('no idle watchdog before auth', c.silent(0.6))
        c.close()


def test_faults():
    script = {
        'entries': [{'tx': [{'type': 'INSERT', 'schema': 's', 'table': 't',
                             'columns': [{'name': 'id', 'mysql_type': 'int(11)', 'key': True},
                                         {'name': 'b', 'mysql_type': 'varbinary(8)', 'binary': True}],
                             'rows': [{'after': [1, '00ff41']}, {'after': [2, None]}]}]},
                    {'raw_entry_hex': '0a00'}],
        'faults': [
            {'on': 'GET', 'nth': 1, 'action': 'error', 'code': 400, 'message': 'boom'},
            {'on': 'GET', 'nth': 2, 'action': 'compression', 'value': 2},
            {'on': 'GET', 'nth': 3, 'action': 'wrong_type', 'type': 3},
            {'on': 'GET', 'nth': 4, 'action': 'stall', 'ms': 300},
            {'on': 'GET', 'nth': 5, 'action': 'drip', 'ms': 1, 'chunk': 3},
            {'on': 'GET', 'nth': 6, 'action': 'raw_hex', 'hex': '00000004 1001 1803'.replace(' ', '')},
            {'on': 'GET', 'nth': 7, 'action': 'truncate', 'bytes': 6},
            {'on': 'ACK', 'nth': 1, 'action': 'error', 'message': 'ack refused'},
            {'on': 'ACK', 'nth': 2, 'action': 'close'},
            {'on': 'SUB', 'nth': 2, 'action': 'length', 'value': 2147483648, 'hex': 'ab'},
            {'on': 'CONNECT', 'nth': 6, 'action': 'close'},
        ],
        'handshake': {'version': None},
    }
    with ServerProc(script=script) as srv:
        c = Client(srv.port)
        pkt, raw = c.read_packet()
        check('handshake override: no version', not pkt.HasField('version') and pkt.type == CP.HANDSHAKE, raw.hex())
        c.auth()
        c.read_frame()
        c.sub()
        c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=10, timeout=-1, unit=2))
        expect_eq('GET error fault', c.read_frame(), error_frame(400, 'boom'))
        pkt, msgs, raw = c.get(10)
        check('compression fault; error fault did not take a batch',
              pkt.HasField('compression') and pkt.compression == 2 and msgs.batch_id == 1, raw[:8].hex())
        es = decode_entries(msgs)
        expect_eq('raw_entry_hex placed as is', msgs.messages[-1], H('0a00'))
        rc = EP.RowChange()
        rc.ParseFromString(es[1].storeValue)
        col = rc.rowDatas[0].afterColumns[1]
        expect_eq('varbinary from script', (col.value, col.sqlType, col.mysqlType), ('\x00\xffA', 2004, 'varbinary(8)'))
        c.rollback(0)
        c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=10, timeout=-1, unit=2))
        pkt, raw = c.read_packet()
        msgs = CP.Messages()
        msgs.ParseFromString(pkt.body)
        check('wrong_type fault', pkt.type == 3 and msgs.batch_id == 2, pkt)
        c.rollback(0)
        t0 = time.time()
        pkt, msgs, _ = c.get(10)
        check('stall fault', time.time() - t0 >= 0.28 and msgs.batch_id == 3)
        c.rollback(0)
        pkt, msgs, _ = c.get(10)
        check('drip fault delivers the same frame', msgs.batch_id == 4 and len(msgs.messages) == 4)
        c.rollback(0)
        c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=10, timeout=-1, unit=2))
        expect_eq('raw_hex fault', c.read_frame(), OK_ACK)
        c.ack(5)
        _, ack, _ = c.read_ack()
        expect_eq('ACK error fault (unsolicited, not applied)', (ack.error_code, ack.error_message), (400, 'ack refused'))
        c.ack(5)
        check('ACK close fault', c.closed_without_reply())
        c.close()
        c = Client(srv.port)
        c.handshake()
        c.auth()
        c.read_frame()
        c.rollback(0)
        c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=10, timeout=-1, unit=2))
        got = c.recv_exact(6)
        check('truncate fault: 6 bytes then close', len(got) == 6 and c.closed_without_reply(), got.hex())
        c.close()
        c = Client(srv.port)
        c.handshake()
        c.auth()
        c.read_frame()
        c.send(CP.SUBSCRIPTION, CP.Sub(destination='example', client_id='1001'))
        expect_eq('length fault', c.recv_exact(5), H('80000000ab'))
        c.close()
        for _ in range(2):              # connections 4 and 5 fine, 6 closed at once
            c = Client(srv.port)
            c.handshake()
            c.close()
        c = Client(srv.port)
        check('CONNECT close fault', c.closed_without_reply())
        c.close()
        log = srv.log()
        expect_in('log FAULT line', 'FAULT on=GET nth=1 action=error', log)


def _tx_script(n, faults=()):
    cols = [{'name': 'id', 'mysql_type': 'int(11)', 'key': True}]
    return {'entries': [{'tx': [{'type': 'INSERT', 'schema': 's', 'table': 't', 'columns': cols,
                                 'rows': [{'after': [i]}]}]} for i in range(1, n + 1)],
            'faults': list(faults)}


def _tx_ids(msgs):
    """The inserted ids of a batch (fetch 3 = one begin/row/end transaction)."""
    out = []
    for e in decode_entries(msgs):
        if e.entryType == EP.ROWDATA:
            rc = EP.RowChange()
            rc.ParseFromString(e.storeValue)
            out += [int(r.afterColumns[0].value) for r in rc.rowDatas]
    return out


def test_pipelined_gets():
    """Several requests in one write, replies read afterwards: in request order,
    consecutive batches from the last one handed out, as Canal serves them."""
    def get_req(c, fetch=3):
        return c.request(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=fetch,
                                        timeout=-1, unit=2, auto_ack=False))

    def req(c, ptype, msg):
        return c.request(ptype, msg)

    def framed(*bodies):
        return b''.join(struct.pack('>I', len(b)) + b for b in bodies)

    def batch(c):
        pkt, raw = c.read_packet()
        if pkt.type != CP.MESSAGES:
            return None, raw
        msgs = CP.Messages()
        msgs.ParseFromString(pkt.body)
        return msgs.batch_id, _tx_ids(msgs)

    with ServerProc(script=_tx_script(8)) as srv:
        c = Client(srv.port)
        c.login()
        c.sub()
        ack = lambda i: req(c, CP.CLIENTACK, CP.ClientAck(destination='example', client_id='1001', batch_id=i))
        rollback = req(c, CP.CLIENTROLLBACK, CP.ClientRollback(destination='example', client_id='1001'))
        c.send_raw(framed(get_req(c), get_req(c), get_req(c)))
        expect_eq('three GETs in flight: consecutive batches in order',
                  [batch(c) for _ in range(3)], [(1, [1]), (2, [2]), (3, [3])])
        c.send_raw(framed(ack(1), get_req(c), ack(2), get_req(c)))
        expect_eq('acks between GETs: the GETs continue from the last batch handed out',
                  [batch(c) for _ in range(2)], [(4, [4]), (5, [5])])
        check('acks in order among GETs: no reply', c.silent())
        c.send_raw(framed(get_req(c), get_req(c), rollback, get_req(c)))
        expect_eq('rollback after two GETs in flight: those two answered, the GET after it '
                  'starts again from the last ack',
                  [batch(c) for _ in range(3)], [(6, [6]), (7, [7]), (8, [3])])
        c.send_raw(framed(get_req(c), ack(999), get_req(c)))
        first = batch(c)
        _, err, _ = c.read_ack()
        second = batch(c)
        check('a refused ack between two GETs: its error Ack between their replies',
              first == (9, [4]) and err.error_code == 400 and
              'batchId:999 is not exist' in err.error_message and second == (10, [5]),
              (first, err, second))
        c.close()

    with ServerProc(script=_tx_script(4, [{'on': 'GET', 'nth': 2, 'action': 'empty'}])) as srv:
        c = Client(srv.port)
        c.login()
        c.sub()
        c.send_raw(framed(get_req(c), get_req(c), get_req(c)))
        expect_eq('empty fault among GETs in flight: nothing taken, nothing skipped',
                  [batch(c) for _ in range(3)], [(1, [1]), (-1, []), (2, [2])])
        c.close()



def test_big_frame_scope_and_auth_subscribe():
    script = {
        'tables': {'s.big': [{'name': 'id', 'mysql_type': 'int(11)', 'key': True},
                             {'name': 'data', 'mysql_type': 'longblob', 'binary': True}]},
        'entries': [{'tx': [{'type': 'INSERT', 'schema': 's', 'table': 'big',
                             'rows': [{'after': [1, {'repeat': '00ff', 'times': 6 * 1024 * 1024}]}]}]}],
        'faults': [{'on': 'GET', 'scope': 'connection', 'nth': 1, 'action': 'drip', 'ms': 100, 'chunk': 4 << 20}],
    }
    with ServerProc(script=script) as srv:
        for n in (1, 2):
            c = Client(srv.port, timeout=30)
            c.handshake()
            c.send(CP.CLIENTAUTHENTICATION, CP.ClientAuth(destination='example', client_id='1001',
                                                          net_read_timeout=60000, net_write_timeout=60000))
            expect_eq('auth-time subscription (conn %d)' % n, c.read_frame(), OK_ACK)
            c.rollback(0)
            t0 = time.time()
            pkt, msgs, raw = c.get(10)
            dt = time.time() - t0
            e = decode_entries(msgs)
            rc = EP.RowChange()
            rc.ParseFromString(e[1].storeValue)
            v = rc.rowDatas[0].afterColumns[1].value
            check('12 MiB binary value, %d-byte frame, per-connection drip fault (conn %d)' % (len(raw), n),
                  len(raw) > 18 << 20 and v == '\x00\xff' * (6 << 20) and dt >= 0.25, dt)
            c.close()
        c = Client(srv.port)
        c.handshake()
        c.send(CP.CLIENTAUTHENTICATION, CP.ClientAuth(destination='example', client_id='70000'))
        check('auth-time subscription with a bad client id closes', c.closed_without_reply())
        c.close()


def test_once_and_blocking_get():
    with ServerProc('--once') as srv:
        c = Client(srv.port)
        c.login()
        c.sub()
        c.send(CP.GET, CP.Get(destination='example', client_id='1001', fetch_size=10, unit=2))
        check('GET without timeout blocks', c.silent(0.5))
        c.close()
        try:
            srv.proc.wait(5)
            check('--once exits after the connection closes (even mid blocking GET)', srv.proc.returncode == 0)
        except subprocess.TimeoutExpired:
            check('--once exits after the connection closes (even mid blocking GET)', False)


def test_filter_rules():
    """AviaterRegexFilter's rules: top-level comma split, longest piece first,
    each anchored, case-insensitive, ORO's whole-input check."""
    sf = cs.split_filter
    expect_eq('filter split at commas', sf(r'shop\.orders,shop\.users'), [r'shop\.orders', r'shop\.users'])
    expect_eq('filter split keeps {1,2} [,] (a,b)', sf(r'db\.t\d{1,2},x\.[,]y,s\.(a|b,c)'),
              [r'db\.t\d{1,2}', r'x\.[,]y', r's\.(a|b,c)'])
    expect_eq('filter split: escaped comma and bracket, empty pieces', sf(r',a\,b,,c\[d,e,'),
              [r'a\,b', r'c\[d', 'e'])
    expect_eq('filter split: stray closer does not go negative', sf('a),b'), ['a)', 'b'])
    F = cs.TableFilter
    cases = [
        ('', 'any.thing', True), (r'shop\..*', '', True),
        (r'shop\..*', 'shop.orders', True), (r'shop\..*', 'Shop.ORDERS', True),
        (r'shop\..*', 'myshop.orders', False), (r'shop\..*', 'shopx.orders', False),
        (r'shop\.orders', 'shop.orders_2023', False),
        (r'shop\.orders,other\..*', 'other.t', True), (r'shop\.orders,other\..*', 'shop.users', False),
        (r'db\.t\d{1,2}', 'db.t12', True), (r'db\.t\d{1,2}', 'db.t123', False),
        ('SHOP\\.Orders', 'shop.orders', True),              # the pattern is case-insensitive too
        (r'a\..*', 'a.x\ny', True),                           # . matches a newline (SINGLELINE)
        (r'a\.b', 'a.b\n', False),                            # $ before a final newline is not the end
        # ORO's matches(): the first match at 0 must cover the input, so a
        # top-level | inside one piece takes its leftmost alternative
        # the name is lowercased as a whole first (Java's toLowerCase: U+0130
        # becomes i + U+0307), not only compared case-insensitively
        ('db\\.i\u0307', 'db.\u0130', True),
        ('foo|foot', 'foot', False), ('foot|foo', 'foot', True), ('foo,foot', 'foot', True),
    ]
    for pattern, name, want in cases:
        expect_eq('filter %r on %r' % (pattern, name), F(pattern).matches(name), want)
    check('filter: invalid regex noted', F(r'shop\.(').error is not None)
    expect_eq('filter joined longest first', F('a,ccc,bb').joined, '^ccc$|^bb$|^a$')


def _filter_script():
    cols = [{'name': 'id', 'mysql_type': 'int(11)', 'key': True}]

    def ins(schema, table, v):
        return {'type': 'INSERT', 'schema': schema, 'table': table, 'columns': cols, 'rows': [{'after': [v]}]}
    return {'entries': [
        {'tx': [ins('shop', 'orders', 1), ins('shop', 'users', 2), ins('other', 't', 3)]},
        {'type': 'ALTER', 'schema': 'shop', 'table': 'users', 'sql': 'ALTER TABLE users ADD c INT', 'ddl': True},
        {'type': 'QUERY', 'schema': 'shop', 'table': 'users', 'sql': 'GRANT ...', 'ddl': False},
        {'type': 'CREATE', 'schema': 'newdb', 'table': '', 'sql': 'CREATE DATABASE newdb', 'ddl': True},
        {'tx': [ins('Shop', 'Orders', 4)]},
    ]}


def _seen(c, **kw):
    """Every entry a fresh GET returns, as "TYPE schema.table"."""
    _, msgs, _ = c.get(1000, **kw)
    out = []
    for e in decode_entries(msgs):
        t = EP.EntryType.Name(e.entryType)
        if e.entryType == EP.ROWDATA:
            t = EP.EventType.Name(e.header.eventType)
        out.append('%s %s.%s' % (t, e.header.schemaName, e.header.tableName) if e.header.tableName
                   else t if not e.header.schemaName else '%s %s' % (t, e.header.schemaName))
    return msgs.batch_id, out


def test_filter_end_to_end():
    B, E = 'TRANSACTIONBEGIN', 'TRANSACTIONEND'
    everything = [B, 'INSERT shop.orders', 'INSERT shop.users', 'INSERT other.t', E,
                  'ALTER shop.users', 'QUERY shop.users', 'CREATE newdb', B, 'INSERT Shop.Orders', E]
    with ServerProc(script=_filter_script()) as srv:
        c = Client(srv.port)
        c.login()
        c.sub(cid='1', filt='')
        expect_eq('no filter: every entry', _seen(c, cid='1')[1], everything)
        c.sub(cid='2', filt=r'shop\.orders')
        expect_eq('filter shop\\.orders: begin/end, QUERY and table-less DDL pass', _seen(c, cid='2')[1],
                  [B, 'INSERT shop.orders', E, 'QUERY shop.users', 'CREATE newdb', B, 'INSERT Shop.Orders', E])
        c.sub(cid='3', filt=r'shop\.users,other\..*')
        expect_eq('two regexes', _seen(c, cid='3')[1],
                  [B, 'INSERT shop.users', 'INSERT other.t', E, 'ALTER shop.users', 'QUERY shop.users',
                   'CREATE newdb', B, E])
        c.sub(cid='4', filt='')
        expect_eq('an empty filter keeps the destination\'s (set by client 3)', _seen(c, cid='4')[1],
                  [B, 'INSERT shop.users', 'INSERT other.t', E, 'ALTER shop.users', 'QUERY shop.users',
                   'CREATE newdb', B, E])
        c.sub(cid='5', filt='nomatch')
        c.send(CP.GET, CP.Get(destination='example', client_id='5', fetch_size=3, timeout=-1, unit=2))
        pkt, raw = c.read_packet()
        first = [EP.EntryType.Name(e.entryType) for e in decode_entries(CP.Messages.FromString(pkt.body))]
        expect_eq('fetch_size counts the entries that pass', first, [B, E, 'ROWDATA'])
        c.ack(1, cid='5')
        expect_eq('a batch spans the entries it dropped: the next starts after them', _seen(c, cid='5')[1],
                  ['CREATE newdb', B, E])
        c.sub(cid='6', filt=r'shop\.(')
        expect_eq('a filter that is not a regex stalls the stream', _seen(c, cid='6'), (-1, []))
        c.close()
    with ServerProc('--filter', r'other\..*', script=_filter_script()) as srv:
        c = Client(srv.port)
        c.login()
        c.sub(cid='1', filt='')
        want_own = [B, 'INSERT other.t', E, 'QUERY shop.users', 'CREATE newdb', B, E]
        expect_eq("--filter: the instance's own filter", _seen(c, cid='1')[1], want_own)
        c.sub(cid='1', filt=r'.*\.orders')
        c.rollback(0, cid='1')
        expect_eq('a subscribe filter replaces it', _seen(c, cid='1')[1],
                  [B, 'INSERT shop.orders', E, 'QUERY shop.users', 'CREATE newdb', B, 'INSERT Shop.Orders', E])
        c.send(CP.UNSUBSCRIPTION, CP.Unsub(destination='example', client_id='1'))
        c.read_ack()
        c.sub(cid='1', filt='')
        expect_eq("after the last unsubscribe (instance restart) the instance's own again",
                  _seen(c, cid='1')[1], want_own)
        c.close()


def main():
    tests = [test_wire_helpers, test_pb_generation, test_handshake_and_auth, test_session,
             test_no_raw_and_idle, test_faults, test_pipelined_gets, test_big_frame_scope_and_auth_subscribe, test_once_and_blocking_get,
             test_filter_rules, test_filter_end_to_end]
    for t in tests:
        try:
            t()
        except Exception:
            FAILED.append(t.__name__)
            print('FAIL %s raised:' % t.__name__)
            traceback.print_exc(file=sys.stdout)
    print('%d passed, %d failed' % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
