#!/usr/bin/python3
"""Memory per frame: the whole example process on the worst inputs.

    /usr/bin/python3 test/test_memory.py build/example build

The test server (test/server/canal_server.py) answers example's first GET
with one hand-built 2 MB frame instead of its own reply (a raw_hex fault),
and the peak resident memory of the whole example process is read from the
kernel when it ends (os.wait4's ru_maxrss). The issue's bound: under 48 MB
for a 2 MB frame, whatever is in it.

  - a million empty entries (2 bytes each on the wire, about 200 decoded);
  - the row amplifier: one ROWDATA entry whose RowChange is a million empty
    columns;
  - real data as dense as Canal makes it (entries with the smallest header
    Canal writes, each with a RowChange of small columns): must be decoded
    and printed, not refused, within the same bound.

A refused frame must come with an error naming why; the process must end
by itself (each run has a 60 s limit). Ends with "memory: N passed, M failed".
Meant for the plain build: sanitizers change what resident memory means.
"""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'server'))
PYTHON = '/usr/bin/python3'
SERVER = os.path.join(HERE, 'server', 'canal_server.py')
LIMIT_KB = 48 * 1024
FRAME = 2 * 1000 * 1000


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


def ld(f, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(f << 3 | 2) + varint(len(b)) + b


def vi(f, n):
    return varint(f << 3) + varint(n)


def frame_of(messages_body):
    pkt = vi(2, 1) + vi(3, 7) + ld(5, messages_body)
    return len(pkt).to_bytes(4, 'big') + pkt


def empty_entries():
    return frame_of(vi(1, 1) + b'\x12\x00' * (FRAME // 2))


def empty_columns():
    header = ld(8, 'shop') + ld(9, 't') + vi(11, 1)
    rc = vi(2, 1) + ld(12, b'\x12\x00' * (FRAME // 2))
    entry = ld(1, header) + vi(2, 2) + ld(3, rc)
    return frame_of(vi(1, 1) + ld(2, entry))


def dense_real():
    header = (ld(2, 'mysql-bin.000001') + vi(3, 4) + vi(4, 1) + ld(5, 'UTF-8') +
              vi(6, 1700000000000) + vi(7, 2) + ld(8, 's') + ld(9, 't') + vi(10, 31) + vi(11, 1))
    col = vi(2, 4) + ld(3, 'a') + vi(6, 1) + ld(10, 'int')
    rc = vi(2, 1) + ld(12, ld(2, col) * 8)
    entry = ld(1, header) + vi(2, 2) + ld(3, rc)
    body = vi(1, 1)
    one = ld(2, entry)
    body += one * (FRAME // len(one))
    return frame_of(body)


def run_example(example, build, frame, name):
    """Serve `frame` for the first GET; return (status, peak KiB, stdout bytes, stderr)."""
    work = tempfile.mkdtemp(prefix='memory-', dir=build)
    script = os.path.join(work, 'script.json')
    with open(script, 'w') as f:
        f.write('{"faults": [{"on": "GET", "action": "raw_hex", "hex": "%s"}]}' % frame.hex())
    port_file = os.path.join(work, 'port')
    srv = subprocess.Popen([PYTHON, SERVER, '--port', '0', '--port-file', port_file,
                            '--pb-dir', os.path.join(build, 'pb_py'), '--script', script,
                            '--user', 'canal', '--password', 'canal'],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(work, 'server.stderr'), 'wb'))
    try:
        deadline = time.monotonic() + 30
        while not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
            if time.monotonic() > deadline or srv.poll() is not None:
                raise RuntimeError('test server did not start')
            time.sleep(0.05)
        port = open(port_file).read().strip()
        out_path = os.path.join(work, 'stdout')
        err_path = os.path.join(work, 'stderr')
        with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
            proc = subprocess.Popen([example, '--port', port, '--user', 'canal', '--password', 'canal',
                                     '--max-batches', '1', '--timeout-ms', '-1',
                                     '--read-timeout-ms', '30000'],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            killer = threading.Timer(60, lambda: os.kill(proc.pid, signal.SIGKILL))
            killer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                killer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
        return (proc.returncode, usage.ru_maxrss, os.path.getsize(out_path),
                open(err_path, 'rb').read().decode('utf-8', 'replace'))
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        subprocess.run(['rm', '-rf', work])


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: test_memory.py EXAMPLE BUILD_DIR')
    example, build = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for name, make, must_decode in (('a million empty entries', empty_entries, False),
                                    ('a million empty columns', empty_columns, False),
                                    ('dense real data', dense_real, True)):
        frame = make()
        rc, peak_kb, out_bytes, err = run_example(example, build, frame, name)
        problems = []
        if peak_kb >= LIMIT_KB:
            problems.append('peak %d KiB >= %d KiB' % (peak_kb, LIMIT_KB))
        if must_decode and (rc != 0 or out_bytes == 0):
            problems.append('not decoded (exit %d): %s' % (rc, err.strip()[:300]))
        if not must_decode and rc not in (0, 1):
            problems.append('exit status %d: %s' % (rc, err.strip()[:300]))
        if rc == 1 and not err.strip():
            problems.append('exit 1 without a message')
        verdict = 'FAIL' if problems else 'ok'
        print('%s %s: %d-byte frame, example exit %d, peak RSS %d KiB, %d bytes printed%s%s' % (
            verdict, name, len(frame), rc, peak_kb, out_bytes,
            ('; ' + err.strip().splitlines()[-1][:200]) if rc and err.strip() else '',
            ('; ' + '; '.join(problems)) if problems else ''))
        if problems:
            failed += 1
        else:
            passed += 1
    print('memory: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
