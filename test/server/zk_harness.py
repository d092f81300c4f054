#!/usr/bin/python3
"""A real ZooKeeper and Canal test servers in cluster mode, for canal-c's tests.

ZooKeeper comes from Debian's `zookeeper` package: ZooKeeperServerMain on a
loopback port with a temporary data dir (kept across restart(), as a real
restart keeps it).  Canal servers are test/server/canal_server.py with --zk:
they publish their cluster and running nodes as Canal's servers do and share
acked cursors through ZooKeeper (see ZkRole in canal_server.py).

Everything is bounded: start-up waits have deadlines, stop() escalates from
SIGTERM to SIGKILL, and the ZooKeeper JVM is killed with its process group.
Run under /usr/bin/python3 (python3-kazoo).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, 'canal_server.py')
PYTHON = '/usr/bin/python3'
ZK_CLASSPATH = '/usr/share/java/zookeeper.jar:/usr/share/java/*'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise TimeoutError('%s: not within %.1f s' % (what, timeout))


def _stop_proc(proc, timeout=10, group=False):
    if proc is None or proc.poll() is not None:
        return
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
        proc.wait(timeout)


class ZooKeeper:
    """One standalone ZooKeeper on 127.0.0.1.  tickTime 200 ms, so sessions
    may be 400 ms .. 20 s long: tests keep session timeouts short."""

    def __init__(self, workdir, port=None):
        self.dir = os.path.join(workdir, 'zk')
        self.data = os.path.join(self.dir, 'data')
        os.makedirs(self.data, exist_ok=True)
        self.port = port or free_port()
        self.hosts = '127.0.0.1:%d' % self.port
        self.conf = os.path.join(self.dir, 'zoo.cfg')
        with open(self.conf, 'w') as f:
            f.write('tickTime=200\n'
                    'initLimit=10\nsyncLimit=5\n'
                    'maxSessionTimeout=20000\n'
                    'dataDir=%s\n'
                    'clientPort=%d\n'
                    'clientPortAddress=127.0.0.1\n'
                    '4lw.commands.whitelist=ruok,srvr\n'
                    'admin.enableServer=false\n' % (self.data, self.port))
        self.proc = None
        self.log = os.path.join(self.dir, 'zookeeper.log')

    def answers(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port), timeout=1) as s:
                s.sendall(b'ruok')
                return s.recv(16) == b'imok'
        except OSError:
            return False

    def start(self, timeout=90):
        java = shutil.which('java') or '/usr/bin/java'
        cmd = [java, '-Xmx96m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
               '-Dzookeeper.admin.enableServer=false', '-Dzookeeper.jmx.log4j.disable=true',
               '-cp', ZK_CLASSPATH, 'org.apache.zookeeper.server.ZooKeeperServerMain', self.conf]
        logf = open(self.log, 'ab')
        # Own process group, so stop() takes the JVM and anything it forked.
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        logf.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError('ZooKeeper exited with %d; log: %s' % (self.proc.returncode, self.log))
            return self.answers()
        wait_for(up, timeout, 'ZooKeeper on %s' % self.hosts, step=0.2)

    def stop(self):
        _stop_proc(self.proc, group=True)
        self.proc = None

    def restart(self, down_s=0.0):
        self.stop()
        if down_s:
            time.sleep(down_s)
        self.start()


class CanalServer:
    """canal_server.py --zk: one Canal server of the cluster."""

    def __init__(self, workdir, name, zk_hosts, args=(), delay_ms=500, session_ms=2000):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port_file = os.path.join(self.dir, 'port')
        self.log = os.path.join(self.dir, 'requests.log')
        self.stderr = os.path.join(self.dir, 'stderr.log')
        self.cmd = [PYTHON, SERVER, '--port', '0', '--port-file', self.port_file, '--log', self.log,
                    '--pb-dir', os.path.join(workdir, 'pb_py'),
                    '--zk', zk_hosts, '--zk-delay-ms', str(delay_ms), '--zk-session-ms', str(session_ms)]
        self.cmd += list(args)
        self.proc = None
        self.port = None

    @property
    def address(self):
        return '127.0.0.1:%d' % self.port

    def start(self, timeout=60):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        err = open(self.stderr, 'ab')
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        err.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %d: %s' % (self.name, self.proc.returncode,
                                                              open(self.stderr).read()[-2000:]))
            return os.path.exists(self.port_file)
        wait_for(up, timeout, 'canal server %s' % self.name)
        with open(self.port_file) as f:
            self.port = int(f.read())
        return self

    def kill(self):
        """A crash: its ZooKeeper session (and ephemeral nodes) outlive it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def release(self):
        """Canal admin's release: give up the destinations held here."""
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self):
        _stop_proc(self.proc)

    def requests(self):
        try:
            with open(self.log, encoding='utf-8') as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class Proxy:
    """A TCP relay to 127.0.0.1:target_port that can be frozen: while frozen it
    moves no bytes either way (connections stay open, as in a partition)."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.hosts = '127.0.0.1:%d' % self.port
        self.frozen = threading.Event()
        self.closing = threading.Event()
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection(('127.0.0.1', self.target), timeout=5)
            except OSError:
                c.close()
                continue
            self.socks += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        src.settimeout(0.1)
        while not self.closing.is_set():
            if self.frozen.is_set():
                time.sleep(0.05)
                continue
            try:
                data = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b''
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        for s_ in (src, dst):
            try:
                s_.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def freeze(self):
        self.frozen.set()

    def thaw(self):
        self.frozen.clear()

    def close(self):
        self.closing.set()
        self.lsock.close()
        for s_ in self.socks:
            try:
                s_.close()
            except OSError:
                pass


class Cluster:
    """A ZooKeeper plus canal servers in a temporary directory; a context manager."""

    def __init__(self, keep=False):
        self.workdir = tempfile.mkdtemp(prefix='canal-zk-')
        self.keep = keep
        self.zk = ZooKeeper(self.workdir)
        self.servers = []
        self.proxies = []
        self.kazoo = None

    def __enter__(self):
        try:
            self.zk.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def server(self, name, args=(), delay_ms=500, session_ms=2000):
        s = CanalServer(self.workdir, name, self.zk.hosts, args, delay_ms, session_ms).start()
        self.servers.append(s)
        return s

    def proxy(self):
        """A freezable relay to ZooKeeper (see Proxy)."""
        p = Proxy(self.zk.port)
        self.proxies.append(p)
        return p

    def client(self):
        """A kazoo session of the harness itself (to read and write nodes)."""
        if self.kazoo is None:
            from kazoo.client import KazooClient
            self.kazoo = KazooClient(hosts=self.zk.hosts, timeout=2.0,
                                     connection_retry={'max_tries': -1, 'delay': 0.1, 'max_delay': 0.5})
            self.kazoo.start(timeout=30)
        return self.kazoo

    def close(self):
        if self.kazoo is not None:
            try:
                self.kazoo.stop()
                self.kazoo.close()
            except Exception:
                pass
            self.kazoo = None
        for p in self.proxies:
            p.close()
        for s in self.servers:
            s.stop()
        self.zk.stop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


if __name__ == '__main__':
    # Smoke run: a ZooKeeper and two servers; print who runs "example".
    with Cluster() as c:
        a = c.server('a')
        b = c.server('b')
        zk = c.client()
        wait_for(lambda: zk.exists('/otter/canal/destinations/example/running'), 10, 'running node')
        print('cluster:', sorted(zk.get_children('/otter/canal/destinations/example/cluster')))
        print('running:', zk.get('/otter/canal/destinations/example/running')[0].decode())
        print('servers:', a.address, b.address)
    sys.exit(0)
