#!/usr/bin/python3
"""ZooKeeper mode with the real thing: a ZooKeeper from Debian's package, test
Canal servers in cluster mode (test/server/zk_harness.py) and canal-c
consumers (`test_zk consume`, whose output lines are described in
test/test_zk.c).

usage: test_zk.py BUILD_DIR [--valgrind] [CASE-SUBSTRING]
       (BUILD_DIR/test_zk consume ..., BUILD_DIR/example --zk; --valgrind runs
       the consumers under valgrind, leaks and errors fatal, in the cases that
       cover the module's main paths)
Ends with "test_zk.py: N passed, M failed"; non-zero exit on failure.

Timing: ZooKeeper's tick is 200 ms; servers use 2 s sessions and a 500 ms
claim delay; consumers 2 s sessions and a 500 ms reclaim delay. Every wait
has a deadline; "within" checks allow generous margins (the machine is
shared), never less than what the protocol needs.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'server'))
import zk_harness as zh                 # noqa: E402
import canal_server as cs               # noqa: E402

TEST_ZK = None
EXAMPLE = None
WRAP = []                               # e.g. valgrind and its options
VALGRIND = ['valgrind', '-q', '--error-exitcode=99', '--leak-check=full',
            '--show-leak-kinds=definite,indirect,possible', '--errors-for-leak-kinds=definite,indirect,possible']
VALGRIND_CASES = ('server dies', 'kill -9', "Java client's node", 'ZooKeeper restarted')
DEST = 'example'
CID = 1001
RUNNING = '/otter/canal/destinations/%s/running' % DEST
CLIENT_RUNNING = '/otter/canal/destinations/%s/%d/running' % (DEST, CID)
SESSION_MS = 2000
RECLAIM_MS = 500


class CaseFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CaseFailed(msg)


def sample_offsets():
    """Logfile offsets of the --sample stream's entries, in order."""
    cs.load_pb()
    out = []
    for raw in cs.build_entries(cs.sample_script()):
        e = cs.EP.Entry()
        e.ParseFromString(raw)
        out.append(e.header.logfileOffset)
    return out


SAMPLE = None
CONSUMERS = []                          # every consumer of the running case


def sanitizer_reports():
    """ASan, UBSan or LeakSanitizer reports in any consumer's output."""
    bad = []
    for con in CONSUMERS:
        con.reader.join(10)
        for _, line in con.snapshot():
            if 'Sanitizer' in line or 'runtime error:' in line:
                bad.append('%s: %s' % (con.name, line))
    return bad


class Consumer:
    """`test_zk consume` in the background; its lines with arrival times."""

    def __init__(self, cluster, name, *args):
        self.name = name
        argv = WRAP + [TEST_ZK, 'consume', '--zk', cluster.zk.hosts, '--dest', DEST, '--cid', str(CID),
                '--session-ms', str(SESSION_MS), '--reclaim-ms', str(RECLAIM_MS), '--wait-ms', '1500',
                '--retry-ms', '200', '--rows', str(len(SAMPLE))] + [str(a) for a in args]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True)
        self.lines = []                 # (monotonic time, line)
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        CONSUMERS.append(self)

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append((time.monotonic(), line.rstrip('\n')))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def wait_line(self, pattern, timeout, after=0.0):
        """The first line matching pattern (at or after time `after`)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for t, line in self.snapshot():
                if t >= after and rx.search(line):
                    return t, line
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.05)
        raise CaseFailed('%s: no line /%s/ within %.1f s; last lines: %s'
                         % (self.name, pattern, timeout, [l for _, l in self.snapshot()[-8:]]))

    def finish(self, timeout=60):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise CaseFailed('%s: still running after %d s' % (self.name, timeout))
        self.reader.join(10)
        lines = [l for _, l in self.snapshot()]
        check(self.proc.returncode == 0, '%s exited with %d: %s' % (self.name, self.proc.returncode, lines[-10:]))
        return lines

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def check_delivery(lines, name, strict=True):
    """Every entry at least once; with strict, no entry of an acked batch
    comes again (the servers write the cursor before the next request)."""
    batches = []                        # [batch id, [offsets], acked]
    for line in lines:
        parts = line.split()
        if parts[0] == 'BATCH':
            batches.append([parts[1], [], False])
        elif parts[0] == 'E':
            batches[-1][1].append(int(parts[1]))
        elif parts[0] == 'ACKED':
            check(batches and batches[-1][0] == parts[1], '%s: ack of an unknown batch: %s' % (name, line))
            batches[-1][2] = True
    seen = set()
    for b in batches:
        seen.update(b[1])
    missing = [o for o in SAMPLE if o not in seen]
    check(not missing, '%s: entries never delivered: %s' % (name, missing))
    if strict:
        acked = set()
        for bid, offs, was_acked in batches:
            again = [o for o in offs if o in acked]
            check(not again, '%s: batch %s brought entries of an acked batch again: %s' % (name, bid, again))
            if was_acked:
                acked.update(offs)
    return batches


def servers_of(lines):
    return [l.split()[3] for l in lines if l.startswith('BATCH') and len(l.split()) > 3]


def wait_running(cluster, server, timeout=15):
    kz = cluster.client()

    def holder():
        data = kz.exists(RUNNING) and kz.get(RUNNING)[0]
        return data and json.loads(data.decode()).get('address') == server.address
    zh.wait_for(holder, timeout, 'running node of %s' % server.name)


# ---------------------------------------------------------------- scenarios

def case_server_dies():
    """The running server dies mid-stream (ZooKeeper keeps its nodes until its
    session expires); the other claims the destination; the consumer goes on
    there, every row at least once, no acked batch again."""
    with zh.Cluster() as c:
        script = os.path.join(c.workdir, 'die.json')
        with open(script, 'w') as f:
            json.dump({'faults': [{'on': 'GET', 'nth': 4, 'action': 'die'}]}, f)
        a = c.server('a', ['--sample', '--script', script])
        wait_running(c, a)
        b = c.server('b', ['--sample'])
        # One GET at a time: a server that dies takes with it the acks queued
        # behind GETs in flight (get_pipeline), whose batches then come again.
        con = Consumer(c, 'consumer', '--batch', '3', '--filter', 'shop\\..*', '--pipeline', '1')
        lines = con.finish(60)
        check('DONE %d' % len(SAMPLE) in lines, 'did not finish: %s' % lines[-5:])
        check(a.proc.poll() == 3, 'server a did not die as scripted')
        subs = [l for l in b.requests() if l.startswith('SUBSCRIPTION ')]
        check(subs and all('filter="shop\\\\..*"' in l for l in subs),
              'b should get the subscription again with its filter: %s' % subs)
        check_delivery(lines, 'consumer')
        srv = servers_of(lines)
        check(srv and srv[0] == a.address and srv[-1] == b.address,
              'batches should move from %s to %s: %s' % (a.address, b.address, srv))
        # While a's nodes linger (its session has not expired yet), calls
        # return within their bound with a status instead of blocking.
        snap = con.snapshot()
        last_a = max(t for t, l in snap if l.startswith('BATCH') and a.address in l)
        first_b = min(t for t, l in snap if l.startswith('BATCH') and b.address in l)
        check(any(l.startswith('ERR') for t, l in snap if last_a < t < first_b),
              'no status reported during the failover')
        gaps = [t2 - t1 for (t1, _), (t2, _) in zip(snap, snap[1:])]
        check(max(gaps) < 1.5 + 2 + 5 + 1.5, 'a call blocked for %.1f s' % max(gaps))


def case_running_moves():
    """The running node moves (Canal admin's release on a) while the consumer
    runs: it follows to b."""
    with zh.Cluster() as c:
        a = c.server('a', ['--sample'])
        wait_running(c, a)
        b = c.server('b', ['--sample'])
        con = Consumer(c, 'consumer', '--batch', '2', '--busy-ms', '300', '--busy-every', '1')
        con.wait_line(r'^ACKED', 20)
        a.release()
        lines = con.finish(60)
        check('DONE %d' % len(SAMPLE) in lines, 'did not finish: %s' % lines[-5:])
        check_delivery(lines, 'consumer', strict=False)
        srv = servers_of(lines)
        check(srv[0] == a.address and srv[-1] == b.address,
              'batches should move from %s to %s: %s' % (a.address, b.address, srv))
        check(a.proc.poll() is None, 'server a should still run (released, not dead)')


def case_two_consumers_kill9():
    """Two consumers, one client id: one consumes, the other is passive; kill -9
    the first: the second takes over within the session timeout plus the
    reclaim delay plus a margin. The node holds Java's JSON."""
    with zh.Cluster() as c:
        a = c.server('a', ['--sample'])
        wait_running(c, a)
        first = Consumer(c, 'first', '--batch', '1', '--busy-ms', '400', '--busy-every', '1')
        try:
            first.wait_line(r'^ACKED', 20)
            kz = c.client()
            node = json.loads(kz.get(CLIENT_RUNNING)[0].decode())
            check(set(node) == {'active', 'address', 'clientId'}, 'node keys: %s' % node)
            check(node['active'] is True and node['clientId'] == CID, 'node data: %s' % node)
            peers = [l.split()[1].split('=')[1] for l in a.requests() if l.startswith('CONNECT ')]
            check(node['address'] in peers,
                  'node address %s is not the connection the server saw (%s)' % (node['address'], peers))
            second = Consumer(c, 'second', '--batch', '1', '--rows', '0', '--idle-exit-ms', '1500')
            try:
                second.wait_line(r'^ERR CANAL_ZK_EPASSIVE passive: client id 1001 of destination example '
                                 r'is active at ' + re.escape(node['address']), 15)
                time.sleep(1.0)
                check(not any(l.startswith('BATCH') for _, l in second.snapshot()),
                      'the passive consumer received a batch')
                first.kill9()
                killed = time.monotonic()
                t, _ = second.wait_line(r'^BATCH', 30)
                took = t - killed
                check(took < (SESSION_MS + RECLAIM_MS) / 1000.0 + 6.0,
                      'takeover took %.1f s' % took)
                lines = second.finish(60)
            finally:
                second.stop()
            check(any(l.startswith('DONE') for l in lines), 'second did not finish: %s' % lines[-5:])
            # Together they delivered everything; what the first did not ack came again.
            both = [l for _, l in first.snapshot()] + lines
            check_delivery(both, 'both')
        finally:
            first.stop()


def case_clean_exit_hands_over():
    """A consumer that exits cleanly deletes its node at once: the standby
    takes over after its reclaim delay, without waiting for the (long)
    session timeout."""
    with zh.Cluster() as c:
        a = c.server('a', ['--sample'])
        wait_running(c, a)
        long_session = ['--session-ms', '15000']
        first = Consumer(c, 'first', '--batch', '1', '--busy-ms', '300', '--busy-every', '1', *long_session)
        second = None
        try:
            first.wait_line(r'^ACKED', 20)
            second = Consumer(c, 'second', '--batch', '1', '--rows', '0', '--idle-exit-ms', '1500',
                              *long_session)
            second.wait_line(r'^ERR CANAL_ZK_EPASSIVE', 15)
            first.proc.send_signal(signal.SIGTERM)
            t_exit, _ = first.wait_line(r'^DONE', 15)
            kz = c.client()
            node = kz.exists(CLIENT_RUNNING) and json.loads(kz.get(CLIENT_RUNNING)[0].decode())
            check(not node or node['address'] not in [l for _, l in first.snapshot()],
                  'node still there right after a clean exit: %s' % node)
            t, _ = second.wait_line(r'^BATCH', 20)
            check(t - t_exit < 5.0, 'takeover after a clean exit took %.1f s (session is 15 s)' % (t - t_exit))
            lines = second.finish(60)
            check(any(l.startswith('DONE') for l in lines), 'second did not finish')
            check_delivery([l for _, l in first.snapshot()] + lines, 'both')
        finally:
            first.stop()
            if second:
                second.stop()


def case_java_node_keeps_passive():
    """A node written as the Java client writes it keeps canal-c passive; when
    it goes, canal-c takes over."""
    with zh.Cluster() as c:
        c.server('a', ['--sample'])
        kz = c.client()
        kz.ensure_path('/otter/canal/destinations/%s/%d' % (DEST, CID))
        java = b'{"active":true,"address":"10.9.8.7:4321","clientId":1001}'
        kz.create(CLIENT_RUNNING, java, ephemeral=True)
        con = Consumer(c, 'consumer', '--batch', '5')
        try:
            con.wait_line(r'^ERR CANAL_ZK_EPASSIVE .*active at 10\.9\.8\.7:4321', 15)
            time.sleep(2.0)
            check(not any(l.startswith('BATCH') for _, l in con.snapshot()), 'consumed despite the Java node')
            check(kz.get(CLIENT_RUNNING)[0] == java, 'the Java node was changed')
            kz.delete(CLIENT_RUNNING)
            gone = time.monotonic()
            t, _ = con.wait_line(r'^BATCH', 15)
            check(t - gone >= RECLAIM_MS / 1000.0 - 0.05,
                  'took over %.2f s after the delete, before the reclaim delay' % (t - gone))
            lines = con.finish(60)
            check_delivery(lines, 'consumer')
        finally:
            con.stop()


def case_release_by_operator():
    """An operator writes active=false into the active consumer's node (what
    Java's release does): it lets go (deletes the node, drops its server),
    and, nobody else waiting, claims again after the reclaim delay."""
    with zh.Cluster() as c:
        c.server('a', ['--sample'])
        con = Consumer(c, 'consumer', '--batch', '1', '--busy-ms', '250', '--busy-every', '1')
        try:
            con.wait_line(r'^ACKED', 20)
            kz = c.client()
            data, stat = kz.get(CLIENT_RUNNING)
            node = json.loads(data.decode())
            events = []
            kz.DataWatch(CLIENT_RUNNING, lambda d, st: events.append((time.monotonic(), d)))
            node['active'] = False
            kz.set(CLIENT_RUNNING, json.dumps(node).encode(), version=stat.version)
            released = time.monotonic()
            zh.wait_for(lambda: any(d is None for t, d in events), 10, 'the node deleted')
            deleted = min(t for t, d in events if d is None)
            zh.wait_for(lambda: any(d is not None and t > deleted for t, d in events), 10, 'the node again')
            again = min(t for t, d in events if d is not None and t > deleted)
            check(deleted - released < 2.0, 'released after %.1f s' % (deleted - released))
            check(again - deleted >= RECLAIM_MS / 1000.0 - 0.05,
                  'claimed again %.2f s after letting go, before the reclaim delay' % (again - deleted))
            lines = con.finish(60)
            check('DONE %d' % len(SAMPLE) in lines, 'did not finish: %s' % lines[-5:])
            check_delivery(lines, 'consumer', strict=False)
        finally:
            con.stop()


def case_busy_longer_than_session():
    """The active consumer holds a batch for 2.5 session timeouts: its node
    stays (libzookeeper_mt keeps the session), the standby stays passive."""
    with zh.Cluster() as c:
        c.server('a', ['--sample'])
        first = Consumer(c, 'first', '--batch', '4', '--busy-ms', str(int(SESSION_MS * 2.5)))
        second = None
        try:
            first.wait_line(r'^BUSY', 20)
            second = Consumer(c, 'second', '--batch', '4')
            t_busy, _ = first.wait_line(r'^ACKED', 20)
            check(not any(l.startswith('BATCH') for _, l in second.snapshot()),
                  'the standby consumed while the active one was busy')
            lines = first.finish(60)
            check('DONE %d' % len(SAMPLE) in lines, 'first did not finish: %s' % lines[-5:])
            check(not any(l.startswith('BATCH') for _, l in second.snapshot()),
                  'the standby consumed while the active one held the client id')
            check(not any('EPASSIVE' in l for l in lines), 'the active consumer became passive')
            check_delivery(lines, 'first')
        finally:
            first.stop()
            if second:
                second.stop()


def case_partition():
    """The active consumer is cut off from ZooKeeper (its link frozen, as in a
    partition): its session expires and the standby takes over. Exactly one
    consumes: the cut-off one sends no ack once the standby could hold the
    client id, and when the link heals it learns it lost and stands by."""
    with zh.Cluster() as c:
        c.server('a', ['--sample'])
        link = c.proxy()
        first = Consumer(c, 'first', '--batch', '1', '--busy-ms', '300', '--busy-every', '1',
                         '--zk', link.hosts, '--rows', '0', '--run-ms', '30000')
        second = None
        try:
            first.wait_line(r'^ACKED', 20)
            second = Consumer(c, 'second', '--batch', '1', '--rows', '0', '--idle-exit-ms', '2000')
            second.wait_line(r'^ERR CANAL_ZK_EPASSIVE', 15)
            link.freeze()
            frozen = time.monotonic()
            t_second, _ = second.wait_line(r'^BATCH', 30)
            acks_first = [t for t, l in first.snapshot() if l.startswith('ACKED')]
            check(max(acks_first) < t_second,
                  'the cut-off consumer acked %.2f s after the standby took over'
                  % (max(acks_first) - t_second))
            check(t_second - frozen < (SESSION_MS + RECLAIM_MS) / 1000.0 + 6.0,
                  'takeover took %.1f s' % (t_second - frozen))
            link.thaw()
            thawed = time.monotonic()
            first.wait_line(r'^ERR CANAL_ZK_EPASSIVE', 20, after=thawed)
            lines = second.finish(60)
            after = [l for t, l in first.snapshot() if t > t_second and l.startswith(('BATCH', 'ACKED'))]
            check(not after, 'the cut-off consumer consumed after the takeover: %s' % after[:4])
            check_delivery([l for _, l in first.snapshot()] + lines, 'both')
        finally:
            first.stop()
            if second:
                second.stop()


def case_zk_restart():
    """ZooKeeper restarted mid-stream (same data dir): consumption resumes."""
    with zh.Cluster() as c:
        c.server('a', ['--sample'])
        con = Consumer(c, 'consumer', '--batch', '1', '--busy-ms', '250', '--busy-every', '1')
        try:
            con.wait_line(r'^ACKED', 20)
            c.zk.restart(down_s=1.0)
            restarted = time.monotonic()
            con.wait_line(r'^ACKED', 30, after=restarted)
            lines = con.finish(90)
            check('DONE %d' % len(SAMPLE) in lines, 'did not finish: %s' % lines[-5:])
            check_delivery(lines, 'consumer', strict=False)
        finally:
            con.stop()


def case_without_client_ha():
    """client_ha off: the consumer only follows the server; it claims no node,
    and a node of someone else's does not stop it."""
    with zh.Cluster() as c:
        c.server('a', ['--sample'])
        kz = c.client()
        kz.ensure_path('/otter/canal/destinations/%s/%d' % (DEST, CID))
        kz.create(CLIENT_RUNNING, b'{"active":true,"address":"10.9.8.7:4321","clientId":1001}',
                  ephemeral=True)
        con = Consumer(c, 'consumer', '--batch', '5', '--ha', '0')
        try:
            lines = con.finish(60)
            check_delivery(lines, 'consumer')
            check(not any('EPASSIVE' in l for l in lines), 'passive without client HA')
            check(kz.get(CLIENT_RUNNING)[0].startswith(b'{"active":true,"address":"10.9.8.7:4321"'),
                  'the node was touched')
        finally:
            con.stop()


def case_no_server_yet():
    """No cluster or running node yet: a clear status within the bound, then
    the consumer picks up the first server that appears."""
    with zh.Cluster() as c:
        con = Consumer(c, 'consumer', '--batch', '5')
        try:
            t, line = con.wait_line(r'^ERR CANAL_ZK_ENOSERVER', 15)
            check('/otter/canal/destinations/example/running' in line, 'unclear status: %s' % line)
            c.server('a', ['--sample'])
            lines = con.finish(60)
            check('DONE %d' % len(SAMPLE) in lines, 'did not finish: %s' % lines[-5:])
            check_delivery(lines, 'consumer')
        finally:
            con.stop()


def case_example_zk():
    """example --zk: finds the server through ZooKeeper, prints, acks; a second
    copy with the same client id stands by and says so."""
    with zh.Cluster() as c:
        a = c.server('a', ['--sample'])
        wait_running(c, a)
        kz = c.client()
        kz.ensure_path('/otter/canal/destinations/%s/%d' % (DEST, CID))
        kz.create(CLIENT_RUNNING, b'{"active":true,"address":"10.9.8.7:4321","clientId":1001}',
                  ephemeral=True)
        argv = [EXAMPLE, '--zk', c.zk.hosts, '--zk-session-timeout-ms', '2000', '--zk-wait-ms', '500',
                '--batch-size', '5', '--timeout-ms', '200', '--exit-when-idle']
        standby = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        kz.delete(CLIENT_RUNNING)
        try:
            out, err = standby.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            standby.kill()
            standby.communicate()
            raise CaseFailed('example --zk did not finish')
        check(standby.returncode == 0, "example exited %d: %s" % (standby.returncode, err[-3000:]))
        check(err.count('passive: client id 1001 of destination example is active at 10.9.8.7:4321') == 1,
              'the standby should say so once: %r' % err[-500:])
        check(out.count('batch ') == 4 and 'shop.orders INSERT' in out, 'output: %r' % out[:300])
        check(not kz.exists(CLIENT_RUNNING), 'example left its node behind')
        # --json with another client id (its own cursor): FlatMessage lines
        res = subprocess.run(argv + ['--json', '--client-id', '1002'], capture_output=True, text=True,
                             timeout=60)
        check(res.returncode == 0, 'example --zk --json exited %d: %s' % (res.returncode, res.stderr[-500:]))
        rows = [json.loads(l) for l in res.stdout.splitlines()]
        check(len(rows) >= 5 and all(r.get('database') == 'shop' for r in rows if not r.get('isDdl')),
              'json output: %r' % res.stdout[:300])


CASES = [
    ('server dies mid-stream, the other takes over', case_server_dies),
    ('running node moves (release)', case_running_moves),
    ('two consumers, kill -9 the active one', case_two_consumers_kill9),
    ('clean exit hands over at once', case_clean_exit_hands_over),
    ("a Java client's node keeps canal-c passive", case_java_node_keeps_passive),
    ('an operator releases the active consumer (active=false)', case_release_by_operator),
    ('busy longer than the session timeout', case_busy_longer_than_session),
    ('ZooKeeper restarted mid-stream', case_zk_restart),
    ('partition: the cut-off consumer stops, the standby takes over', case_partition),
    ('client_ha off: follows the server only', case_without_client_ha),
    ('no server yet, then one', case_no_server_yet),
    ('example --zk', case_example_zk),
]


def main():
    global TEST_ZK, SAMPLE, EXAMPLE, WRAP
    args = sys.argv[1:]
    if '--valgrind' in args:
        args.remove('--valgrind')
        WRAP = VALGRIND
    if not args:
        sys.stderr.write('usage: test_zk.py BUILD_DIR [--valgrind] [CASE-SUBSTRING]\n')
        return 2
    TEST_ZK = os.path.abspath(os.path.join(args[0], 'test_zk'))
    EXAMPLE = os.path.abspath(os.path.join(args[0], 'example'))   # built with ZOOKEEPER=1
    only = args[1] if len(args) > 1 else ''
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    SAMPLE = sample_offsets()
    passed = failed = 0
    for name, case in CASES:
        if only and only not in name:
            continue
        if WRAP and not any(v in name for v in VALGRIND_CASES):
            continue
        t0 = time.monotonic()
        del CONSUMERS[:]
        try:
            case()
            for con in CONSUMERS:
                con.stop()
            bad = sanitizer_reports()
            check(not bad, 'sanitizer: %s' % bad[:5])
        except CaseFailed as e:
            reason = str(e)
        except Exception as e:          # a test bug is a failure too
            reason = 'unexpected %s: %s' % (type(e).__name__, e)
        else:
            reason = None
        if reason is None:
            passed += 1
            print('ok   %s (%.1f s)' % (name, time.monotonic() - t0))
        else:
            failed += 1
            print('FAIL %s: %s' % (name, reason))
        sys.stdout.flush()
    print('test_zk.py: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
