#!/usr/bin/python3
"""End-to-end tests of the example CLI against the fake Canal server.

    /usr/bin/python3 test/test_example.py build/example build

The first argument is the example binary, the second the build directory: the
server's generated protobuf modules go to <build>/pb_py, and port files, logs
and scripts to <build>/tmp/example-<pid>/ (kept when a case fails, so the
server logs can be read afterwards).

Each case runs example as a subprocess (always with a timeout, so nothing can
hang) and prints "ok" or "FAIL" with a short reason. The last line is
"example: N passed, M failed"; the exit status is non-zero when a case failed.

Expected output is never hard-coded JSON: the server's own entry builder makes
the exact Entry bytes it serves, and test/flat_ref.py (the reference of
PROTOCOL.md section 8) turns them into the lines example --json must print.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)                                # flat_ref
sys.path.insert(0, os.path.join(HERE, 'server'))        # canal_server, imported as a library
import flat_ref                                         # noqa: E402
import canal_server as cs                               # noqa: E402

PYTHON = '/usr/bin/python3'
SERVER = os.path.join(HERE, 'server', 'canal_server.py')
USER, PASSWORD = 'canal', 'canal'
RUN_TIMEOUT = 20.0          # seconds; no example run in these cases needs more than ~2
EXAMPLE = PB_DIR = WORKDIR = None   # set by main() from the command line


class CaseFailed(Exception):
    """A check did not hold; args[0] is the one-line reason printed."""


def expect(cond, reason):
    # Not `assert`: python -O would drop the checks.
    if not cond:
        raise CaseFailed(reason)


def snippet(text, n=300):
    """Enough of a program's output to see what went wrong, on one line."""
    text = text if isinstance(text, str) else text.decode('utf-8', 'replace')
    return repr(text if len(text) <= n else text[:n] + '...')


# ---------------------------------------------------------------- the server

class Server:
    """One canal_server.py process on a free port, with its own log.

    The port comes back through --port-file, so there is no race on picking a
    port; the server's stderr goes to a file that is quoted if it dies."""

    def __init__(self, workdir, name, extra_args):
        self.name = name
        self.port_file = os.path.join(workdir, name + '.port')
        self.log_path = os.path.join(workdir, name + '.log')
        self.err_path = os.path.join(workdir, name + '.stderr')
        self.args = [PYTHON, SERVER, '--port', '0', '--port-file', self.port_file,
                     '--pb-dir', PB_DIR, '--log', self.log_path,
                     '--user', USER, '--password', PASSWORD] + extra_args
        self.proc = None
        self.port = None

    def start(self, timeout=15.0):
        for path in (self.port_file, self.log_path):
            if os.path.exists(path):
                os.remove(path)                # the log is opened for append
        with open(self.err_path, 'wb') as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CaseFailed('server %s exited with %d: %s'
                                 % (self.name, self.proc.returncode, snippet(self.stderr())))
            try:
                with open(self.port_file) as f:
                    self.port = int(f.read())
                return self
            except (OSError, ValueError):
                time.sleep(0.05)
        self.stop()
        raise CaseFailed('server %s wrote no port file within %gs' % (self.name, timeout))

    def stop(self):
        """SIGTERM (the server polls for it every 0.2 s), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    # `with start_script_server(...) as srv:` stops a case's own server when
    # the case ends, pass or fail.
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stderr(self):
        try:
            with open(self.err_path, 'rb') as f:
                return f.read()
        except OSError:
            return b''

    def log_lines(self):
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as f:
                return f.read().splitlines()
        except OSError:
            return []

    def settled_log(self, timeout=5.0):
        """The log once every connection has ended. A CLIENTACK gets no reply,
        so example may exit before the server has read (and logged) it; the
        server logs CLOSE only after reading everything up to EOF."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines()
            opened = sum(1 for ln in lines if ln.startswith('CONNECT '))
            closed = sum(1 for ln in lines if ln.startswith('CLOSE '))
            if opened == closed or time.monotonic() >= deadline:
                return lines
            time.sleep(0.05)

    def acked_batches(self, client_id):
        """Batch ids this client acked, in log order."""
        pat = re.compile(r'^CLIENTACK .*\bclient_id=%d\b.*\bbatch_id=(-?\d+)' % client_id)
        return [int(m.group(1)) for m in map(pat.match, self.settled_log()) if m]


SERVERS = []                # every server started, so that main() stops them all
_SAMPLE = []                # the shared --sample server, started on first use


def start_server(name, extra_args):
    srv = Server(WORKDIR, name, extra_args)
    SERVERS.append(srv)
    return srv.start()


def start_script_server(name, script, extra_args=()):
    """A server of its own for a script: faults count requests server-wide, so
    sharing one would make the nth GET depend on the other cases."""
    path = os.path.join(WORKDIR, name + '.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(script, f, ensure_ascii=False)
    return start_server(name, ['--script', path] + list(extra_args))


def sample_server():
    if not _SAMPLE:
        _SAMPLE.append(start_server('sample', ['--sample']))
    return _SAMPLE[0]


# ---------------------------------------------------------------- example

_next_client_id = [2000]


def new_client_id():
    """The server keeps a cursor per (destination, client id) across
    connections, so every run on a shared server gets a fresh id and sees the
    stream from its start."""
    _next_client_id[0] += 1
    return _next_client_id[0]


class Run:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.out, self.err, self.elapsed = rc, out, err, elapsed

    def text(self):
        """stdout as text; example must write valid UTF-8."""
        try:
            return self.out.decode('utf-8')
        except UnicodeDecodeError as e:
            raise CaseFailed('stdout is not valid UTF-8: %s' % e)

    def errtext(self):
        return self.err.decode('utf-8', 'replace')


def run_example(args, timeout=RUN_TIMEOUT):
    t0 = time.monotonic()
    try:
        p = subprocess.run([EXAMPLE] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:          # run() has killed it already
        raise CaseFailed('example did not finish within %gs' % timeout)
    except OSError as e:
        raise CaseFailed('cannot run %s: %s' % (EXAMPLE, e))
    return Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def conn_args(srv, client_id, password=PASSWORD):
    return ['--host', '127.0.0.1', '--port', str(srv.port), '--user', USER,
            '--password', password, '--client-id', str(client_id)]


def expect_rc(run, rc):
    expect(run.rc == rc, 'exit status %d, want %d; stderr %s'
           % (run.rc, rc, snippet(run.errtext())))


# ---------------------------------------------------------------- reference

def entry_dicts(entries):
    """flat_ref's view of Entry bytes, parsed with the server's own modules."""
    return [flat_ref.entry_from_pb(cs.EP.Entry.FromString(e), cs.EP.RowChange) for e in entries]


def reference_lines(entries, batch_size):
    """The --json lines for entries served in batches of batch_size: the
    server's GET hands out up to fetch_size entries, ids counting from 1."""
    dicts = entry_dicts(entries)
    lines = []
    for k, start in enumerate(range(0, len(dicts), batch_size), 1):
        lines += flat_ref.flat_lines(k, dicts[start:start + batch_size], ts=0)
    return lines


def check_json_lines(text, want, t0_ms, t1_ms):
    """Compare example --json output with the reference lines: ts masked, and
    each ts checked separately to be a time between the run's start and end."""
    expect(text == '' or text.endswith('\n'), 'output does not end with a newline')
    got = text.split('\n')[:-1] if text else []
    for i, line in enumerate(got):
        try:
            msg = json.loads(line)
        except ValueError as e:
            raise CaseFailed('line %d is not JSON (%s): %s' % (i + 1, e, snippet(line)))
        ts = msg.get('ts') if isinstance(msg, dict) else None
        expect(isinstance(ts, int) and t0_ms - 1000 <= ts <= t1_ms + 1000,
               'line %d: ts %r is not the time of the run' % (i + 1, ts))
    for i, (g, w) in enumerate(zip(got, want)):
        g = flat_ref.mask_ts(g)
        expect(g == w, 'line %d differs %s' % (i + 1, first_difference(g, w)))
    expect(len(got) == len(want), '%d lines, want %d' % (len(got), len(want)))


def first_difference(got, want, context=40):
    """Where two long lines part, with a little context: FlatMessage lines run
    to hundreds of characters."""
    i = 0
    while i < min(len(got), len(want)) and got[i] == want[i]:
        i += 1
    lo = max(0, i - context)
    return 'at column %d:\n    got  ...%s\n    want ...%s' % (
        i + 1, got[lo:i + context], want[lo:i + context])


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- raw entries

def ld_field(number, payload):
    """A length-delimited protobuf field (wire type 2), written by hand."""
    return cs.varint(number << 3 | 2) + cs.varint(len(payload)) + payload


def note_entry(note):
    """A ROWDATA INSERT of (id 2, note) whose note value is the given bytes,
    which need not be valid UTF-8. The protobuf library refuses to set such a
    value, so the Column gets it appended as a raw field 8 (fields of a message
    may come in any order), and the enclosing RowData/RowChange are assembled
    by hand around it."""
    ep = cs.EP
    id_col = ep.Column(index=0, sqlType=-5, name='id', isKey=True, updated=True,
                       isNull=False, value='2', mysqlType='bigint(20)')
    note_col = ep.Column(index=1, sqlType=12, name='note', updated=True, isNull=False,
                         mysqlType='varchar(64)')
    note_col_bytes = note_col.SerializeToString() + ld_field(8, note)
    row = ld_field(2, id_col.SerializeToString()) + ld_field(2, note_col_bytes)  # afterColumns
    rowchange = (ep.RowChange(tableId=100, eventType=ep.INSERT, isDdl=False).SerializeToString()
                 + ld_field(12, row))                                           # rowDatas
    header = ep.Header(version=1, logfileName='mysql-bin.000001', logfileOffset=9000,
                       serverId=1, serverenCode='UTF-8', executeTime=1700000009000,
                       sourceType=ep.MYSQL, schemaName='shop', tableName='orders',
                       eventType=ep.INSERT)
    return ep.Entry(header=header, entryType=ep.ROWDATA, storeValue=rowchange).SerializeToString()


def bad_utf8_entry():
    """note = b'caf\\xe9' (Latin-1 "café"): invalid UTF-8 in a proto3 string."""
    # Self-check of the hand encoding with a valid value: the bad bytes must land
    # in Column.value of the first row, or this case would not test what it claims.
    e = cs.EP.Entry.FromString(note_entry(b'cafe'))
    rc = cs.EP.RowChange.FromString(e.storeValue)
    if [c.value for c in rc.rowDatas[0].afterColumns] != ['2', 'cafe']:
        raise CaseFailed('test bug: hand-encoded RowChange decodes as %r' % rc)
    return note_entry(b'caf\xe9')


def bad_utf8_script():
    """Batch 1 (batch size 3): a valid transaction (BEGIN, INSERT, END).
    Batch 2: the entry with invalid UTF-8."""
    cols = [{'name': 'id', 'mysql_type': 'bigint(20)', 'key': True},
            {'name': 'note', 'mysql_type': 'varchar(64)'}]
    return {'entries': [
        {'tx': [{'type': 'INSERT', 'schema': 'shop', 'table': 'orders', 'columns': cols,
                 'rows': [{'after': [1, 'ok']}]}]},
        {'raw_entry_hex': bad_utf8_entry().hex()},
    ]}


# ---------------------------------------------------------------- cases

def case_json_sample():
    """--json over the whole sample equals the reference, batch by batch."""
    srv = sample_server()
    t0 = now_ms()
    run = run_example(conn_args(srv, new_client_id()) +
                      ['--json', '--batch-size', '4', '--exit-when-idle'])
    t1 = now_ms()
    expect_rc(run, 0)
    want = reference_lines(cs.build_entries(cs.sample_script()), 4)
    check_json_lines(run.text(), want, t0, t1)


# Fragments of the text rendering of the sample. They restate values of
# canal_server.sample_script(); case_text_sample checks that first, so a
# changed sample is reported as such rather than as an example bug.
SAMPLE_FACTS = ["'00ff41'", "'89504e470d0a1a0a'", "'张三'",
                "'sql': 'ALTER TABLE shop.orders ADD COLUMN flag tinyint(1)'"]
TEXT_FRAGMENTS = [
    ('table line', re.compile(r'^shop\.orders INSERT binlog mysql-bin\.000001:\d+ es=\d+$', re.M)),
    ('binary as hex', 'img=0x00ff41'),                 # bytes 00 ff 41, sent as "\0ÿA"
    ('binary with high bytes', 'img=0x89504e470d0a1a0a'),
    ('Chinese UTF-8 value', 'customer=张三'),
    ('NULL', 'email=NULL'),
    ('DDL text', '\n  sql   : ALTER TABLE shop.orders ADD COLUMN flag tinyint(1)\n'),
    ('batch line', re.compile(r'^batch 1: 20 entries$', re.M)),
]


def case_text_sample():
    """Default text mode shows names, hex binaries, UTF-8, NULL and DDL."""
    sample = repr(cs.sample_script())
    for fact in SAMPLE_FACTS:
        expect(fact in sample, 'test out of date: the sample has no %s' % fact)
    srv = sample_server()
    run = run_example(conn_args(srv, new_client_id()) + ['--exit-when-idle', '--timeout-ms', '200'])
    expect_rc(run, 0)
    text = run.text()
    for what, frag in TEXT_FRAGMENTS:
        found = frag.search(text) if hasattr(frag, 'search') else frag in text
        expect(found, 'no %s (%s) in output %s'
               % (what, getattr(frag, 'pattern', frag), snippet(text, 200)))


def case_max_batches():
    """--max-batches 2 stops after two acked batches, with more data waiting."""
    srv = sample_server()
    cid = new_client_id()
    run = run_example(conn_args(srv, cid) + ['--max-batches', '2', '--batch-size', '3'])
    expect_rc(run, 0)
    heads = re.findall(r'^batch (\d+):', run.text(), re.M)
    expect(heads == ['1', '2'], 'batch lines %s, want [1, 2]' % heads)
    acked = srv.acked_batches(cid)
    expect(acked == [1, 2], 'server log shows CLIENTACK for batches %s, want [1, 2]' % acked)


def case_server_list():
    """--host takes a list: the first server is down, the second serves."""
    srv = sample_server()
    hosts = '127.0.0.1:1,127.0.0.1:%d' % srv.port
    run = run_example(['--host', hosts, '--user', USER, '--password', PASSWORD, '--client-id',
                       str(new_client_id()), '--retry-interval-ms', '50', '--exit-when-idle',
                       '--timeout-ms', '200'])
    expect_rc(run, 0)
    expect(re.search(r'^batch 1: 20 entries$', run.text(), re.M), 'output: %s' % snippet(run.text()))
    run = run_example(['--host', '127.0.0.1:1,127.0.0.1:2', '--retry-times', '2',
                       '--retry-interval-ms', '50', '--exit-when-idle'])
    expect_rc(run, 1)
    expect('2 attempts over 2 servers failed' in run.errtext(), 'stderr: %s' % snippet(run.errtext()))


def case_wrong_password():
    """A refused login is exit 1 with the server's message, and no output."""
    srv = sample_server()
    run = run_example(conn_args(srv, new_client_id(), password='not-canal'))
    expect_rc(run, 1)
    expect('auth failed for user:canal' in run.errtext(),
           'stderr lacks the server message: %s' % snippet(run.errtext()))
    expect(run.out == b'', 'stdout not empty: %s' % snippet(run.out))


def bad_flag_case(flags):
    """A command-line error is exit 2 with a message, before any connection
    (the port given is a live server, so a flag that slipped through shows)."""
    def case():
        srv = sample_server()
        args = ['--port', str(srv.port), '--client-id', str(new_client_id())]
        run = run_example(args + flags, timeout=5)
        expect_rc(run, 2)
        expect(run.errtext().startswith('example: '),
               'stderr has no "example: ..." message: %s' % snippet(run.errtext()))
        expect(run.out == b'', 'stdout not empty: %s' % snippet(run.out))
    return case


def invalid_utf8_case(json_mode):
    """Batch 1 is printed and acked; batch 2 holds invalid UTF-8, so example
    fails before printing any of it and never acks it (PROTOCOL.md 8.1)."""
    def case():
        script = bad_utf8_script()
        mode = ['--json'] if json_mode else []
        cid = new_client_id()
        with start_script_server('utf8-' + ('json' if json_mode else 'text'), script) as srv:
            t0 = now_ms()
            run = run_example(conn_args(srv, cid) + mode + ['--batch-size', '3', '--timeout-ms', '200'])
            t1 = now_ms()
            acked = srv.acked_batches(cid)
        expect_rc(run, 1)
        expect(re.search(r'invalid UTF-8', run.errtext(), re.I),
               'stderr does not name invalid UTF-8: %s' % snippet(run.errtext()))
        if json_mode:
            want = reference_lines(cs.build_entries(script)[:3], 3)
            check_json_lines(run.text(), want, t0, t1)
        else:
            text = run.text()
            expect(text.startswith('batch 1: 3 entries\n') and 'note=ok' in text,
                   'batch 1 not printed: %s' % snippet(text))
            expect('batch 2' not in text, 'part of batch 2 printed: %s' % snippet(text))
        expect(acked == [1], 'server log shows CLIENTACK for batches %s, want [1]' % acked)
    return case


def filter_case(pattern, tables):
    """--filter reaches the server: with its own server (the filter belongs
    to the whole destination), --json prints exactly the reference lines of
    the sample entries on `tables`, batched as the server batches what
    passes, and nothing of the other tables."""
    def case():
        entries = cs.build_entries(cs.sample_script())
        kept = [e for e in entries if cs.EP.Entry.FromString(e).header.tableName in tables or
                cs.EP.Entry.FromString(e).entryType != cs.EP.ROWDATA]
        want = reference_lines(kept, 4)
        expect(0 < len(want) < len(reference_lines(entries, 4)), 'test bug: the filter keeps all or nothing')
        with start_script_server('filter', {}, ['--sample']) as srv:
            t0 = now_ms()
            run = run_example(conn_args(srv, new_client_id()) +
                              ['--json', '--batch-size', '4', '--exit-when-idle', '--filter', pattern])
            t1 = now_ms()
            expect(srv.settled_log() and any(('filter="%s"' % pattern.replace('\\', '\\\\')) in l
                                             for l in srv.settled_log()),
                   'the server log shows no SUBSCRIPTION with the filter')
        expect_rc(run, 0)
        check_json_lines(run.text(), want, t0, t1)
    return case


def case_wide_row():
    """Issue 10: --json was quadratic in columns per row (40,000 columns took
    13 s). An UPDATE of one 40,000-column row, every column changed, must
    come out right within a loose bound that only quadratic work exceeds."""
    n = 40000
    cols = [{'name': 'c%d' % i, 'mysql_type': 'int(11)', 'sql_type': 4, 'key': i == 0}
            for i in range(n)]
    script = {'entries': [{'tx': [{'type': 'UPDATE', 'schema': 'wide', 'table': 't', 'columns': cols,
                                   'rows': [{'before': list(range(n)),
                                             'after': list(range(1, n + 1))}]}]}]}
    with start_script_server('wide', script) as srv:
        t0 = now_ms()
        run = run_example(conn_args(srv, new_client_id()) +
                          ['--json', '--exit-when-idle', '--timeout-ms', '200'], timeout=8)
        t1 = now_ms()
    expect_rc(run, 0)
    want = reference_lines(cs.build_entries(script), 1000)
    expect(len(want) == 1 and len(want[0]) > 40 * n, 'test bug: reference line too short')
    check_json_lines(run.text(), want, t0, t1)


def case_close_during_get():
    """The server hangs up on the second GET: exit 1, promptly, and say so."""
    fault = {'on': 'GET', 'nth': 2, 'action': 'close'}
    with start_script_server('close-get', {'faults': [fault]}, ['--sample']) as srv:
        run = run_example(conn_args(srv, new_client_id()) + ['--timeout-ms', '200'], timeout=10)
    expect_rc(run, 1)
    expect('server closed the connection' in run.errtext(),
           'stderr does not say the server closed the connection: %s' % snippet(run.errtext()))
    expect(run.elapsed < 5.0, 'took %.1fs' % run.elapsed)
    expect(run.text().startswith('batch 1: 20 entries\n'), 'first batch not printed: %s'
           % snippet(run.text(), 100))


def case_read_timeout():
    """A GET reply that stalls 5 s is given up after --read-timeout-ms 500."""
    fault = {'on': 'GET', 'action': 'stall', 'ms': 5000}
    with start_script_server('stall-get', {'faults': [fault]}, ['--sample']) as srv:
        run = run_example(conn_args(srv, new_client_id()) +
                          ['--timeout-ms', '100', '--read-timeout-ms', '500'], timeout=10)
    expect_rc(run, 1)
    expect('timed out' in run.errtext(), 'stderr does not mention a timeout: %s'
           % snippet(run.errtext()))
    expect(run.elapsed < 2.0, 'took %.1fs, want < 2s' % run.elapsed)
    expect(run.out == b'', 'stdout not empty: %s' % snippet(run.out))


CASES = [
    ('json output equals the section 8 reference', case_json_sample),
    ('text output fragments', case_text_sample),
    ('--max-batches 2 acks exactly 2 batches', case_max_batches),
    ('wrong password', case_wrong_password),
    ('--host with a server list', case_server_list),
    ('bad flag --port 0', bad_flag_case(['--port', '0'])),
    ('bad flag --port abc', bad_flag_case(['--port', 'abc'])),
    ('bad flag --batch-size -3', bad_flag_case(['--batch-size', '-3'])),
    ('bad flag: unknown option', bad_flag_case(['--no-such-flag'])),
    ('invalid UTF-8 in batch 2 (--json)', invalid_utf8_case(True)),
    ('invalid UTF-8 in batch 2 (text)', invalid_utf8_case(False)),
    ('a 40,000-column row (--json)', case_wide_row),
    ('--filter shop\\.users (--json)', filter_case(r'shop\.users', ('users',))),
    ('--filter with two regexes, one with {m,n}', filter_case(r'nope\.x,SHOP\.ORD[a-z]{2,8}', ('orders',))),
    ('server closes during GET', case_close_during_get),
    ('read timeout on a stalled GET', case_read_timeout),
]


def main():
    global EXAMPLE, PB_DIR, WORKDIR
    if len(sys.argv) != 3:
        sys.stderr.write('usage: test_example.py EXAMPLE BUILD_DIR\n')
        return 2
    EXAMPLE = os.path.abspath(sys.argv[1])
    build = os.path.abspath(sys.argv[2])
    PB_DIR = os.path.join(build, 'pb_py')
    WORKDIR = os.path.join(build, 'tmp', 'example-%d' % os.getpid())
    os.makedirs(WORKDIR, exist_ok=True)
    # A SIGTERM (e.g. from a CI timeout) unwinds through the finally below,
    # so the servers do not outlive the test.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # Generate the protobuf modules once, here, before any server starts.
    cs.load_pb(PB_DIR)

    passed = failed = 0
    try:
        for name, case in CASES:
            try:
                case()
            except CaseFailed as e:
                reason = str(e)
            except Exception as e:      # a test bug is a failure too, not a crash
                reason = 'unexpected %s: %s' % (type(e).__name__, e)
            else:
                reason = None
            if reason is None:
                passed += 1
                print('ok   %s' % name)
            else:
                failed += 1
                print('FAIL %s: %s' % (name, reason))
            sys.stdout.flush()
    finally:
        for srv in SERVERS:
            srv.stop()
    if failed:
        print('(server logs kept in %s)' % WORKDIR)
    else:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    print('example: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
