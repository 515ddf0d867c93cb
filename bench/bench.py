#!/usr/bin/python3
"""sshgate vs HAProxy, side by side, in one run (`make bench`).

Started by scripts/bench.sh, which makes the work directory (with a PKI
from scripts/pki.sh in WORK/pki), raises the open-file limit and cleans up
every process whatever happens. Stdlib only; loopback addresses only.
doc/performance.md says how to run it and what each row means.

Both proxies get the same job, configured equivalently: TLS termination
with the same ECDSA certificate (TLS 1.2+, both negotiate TLS 1.3), SNI
routing of two names to two backends, the SSH-only check (the first bytes
must be "SSH-2.0-"), 2 threads, one log record per connection written to a
file, RLIMIT_NOFILE --nofile (20000) with a connection cap the fds reach
first, nothing else. Each round starts both proxies fresh and runs every
phase on both, alternating which goes first; the summary is the median
over the rounds, and the ratio the median of the per-round ratios
sshgate/HAProxy (paired, so that the machine's drift cancels out).

Phases of a round (each bounded by a wall-clock deadline):
  mem     S idle sessions (TLS handshake + SSH banner exchange) held open:
          proxy RSS delta per session
  conn    C connections, PAR at a time: TLS 1.3 full handshake with SNI,
          "SSH-2.0-x", read the backend's banner, close: rate, proxy CPU
  up      P clients each upload X MiB to the sink: MiB/s, proxy CPU s/GiB
  down    P clients each download X MiB from the sink: same
  rtt     one echo session through each proxy, N sequential 64-byte
          round trips on each, alternating between the two proxies
          (A, B, A, B...): p50, p99
After the rounds, --pt-runs times (both proxies started fresh, each with
a passthrough route added: sshgate `route pt.bench passthrough to ...`,
HAProxy a `mode tcp` frontend routing on req.ssl_sni after
`tcp-request inspect-delay`, neither terminating TLS):
  pt_up   P clients each send a real ClientHello (SNI pt.bench), then
          upload X MiB: GiB/s, proxy CPU s/GiB
  pt_down the same, downloading. The bytes after the ClientHello are not
          TLS (the backend skips the ClientHello's record): neither proxy
          looks past it, and no endpoint pays for cryptography, so the
          proxies' own cost shows
After those, --limit-runs times (both proxies started fresh again):
  limit   idle sessions opened (4 client processes, a share of the fds
          each) until the first fails, --limit-max is reached or the
          deadline passes: how many the proxy holds at its fd limit, the
          errors, its RSS and fds there, one more attempt
The floor, the best of 3 samples taken before the rounds and between
them: what the session's cryptography alone costs on this machine
(openssl speed; X25519 keygen through libcrypto), per connection and per
GiB, to show how far above it each proxy is.

Output: the table on stdout and as Markdown in table.md beside
results.json, which keeps every round's values.
"""

import argparse
import collections
import hashlib
import json
import multiprocessing as mp
import os
import platform
import resource
import select
import shlex
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time

BANNER = b"SSH-2.0-bench\r\n"
HELLO = b"SSH-2.0-x\r\n"
SINK_SNI = "sink.bench"
PT_SNI = "pt.bench"
ECHO_SNI = "echo.bench"
ADDR = {"sshgate": "127.0.0.10", "haproxy": "127.0.0.11",
        "sink": "127.0.0.20", "echo": "127.0.0.21", "ptsink": "127.0.0.22"}
PROXIES = ("sshgate", "haproxy")
CLK = os.sysconf("SC_CLK_TCK")
MiB = 1 << 20
GiB = 1 << 30
IO_TIMEOUT = 10.0
MAIN_PID = os.getpid()

# key, label, unit, better, format, floor (what the machine's crypto floor
# for it is: "conn" per connection, "gib" per GiB, None: no floor). The
# first rows are the proxies' own costs, the "context:" rows the whole
# setup's (clients, backends and both proxies share the CPUs).
METRICS = [
    ("conn_cpu_ms", "CPU per new connection (TLS 1.3 full handshake)", "ms",
     "lower", "%.3f", "conn"),
    ("up_cpu", "CPU per GiB uploaded", "s/GiB", "lower", "%.3f", "gib"),
    ("down_cpu", "CPU per GiB downloaded", "s/GiB", "lower", "%.3f", "gib"),
    ("mem_kib", "RSS per idle session, at {S} idle", "KiB", "lower", "%.1f",
     None),
    ("rtt_p50", "RTT p50, 64 B echo, one session", "us", "lower", "%.0f",
     None),
    ("rtt_p99", "RTT p99, 64 B echo, one session", "us", "lower", "%.0f",
     None),
    ("conn_rate", "context: connection rate ({PAR} parallel)", "conn/s",
     "higher", "%.0f", None),
    ("up_rate", "context: upload throughput ({P} clients)", "MiB/s",
     "higher", "%.0f", None),
    ("down_rate", "context: download throughput ({P} clients)", "MiB/s",
     "higher", "%.0f", None),
    ("rss_idle", "context: RSS after start + warm-up", "MiB", "lower",
     "%.1f", None),
]
# the passthrough runs (no TLS termination: no crypto floor)
PT_METRICS = [
    ("pt_up_cpu", "passthrough: CPU per GiB uploaded", "s/GiB", "lower",
     "%.3f", None),
    ("pt_down_cpu", "passthrough: CPU per GiB downloaded", "s/GiB", "lower",
     "%.3f", None),
    ("pt_up_rate", "passthrough context: upload ({P} clients)", "GiB/s",
     "higher", "%.2f", None),
    ("pt_down_rate", "passthrough context: download ({P} clients)",
     "GiB/s", "higher", "%.2f", None),
]


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc

class Cpu:
    """CPU time used by a whole process (all its threads), two ways:
    utime+stime from /proc/PID/stat (clock ticks, 10 ms here), and the sum
    of the threads' on-CPU nanoseconds from /proc/PID/task/*/schedstat
    (the same quantity, exact; a thread that exits takes its time with it,
    so it is used only when the set of threads did not change)."""

    def __init__(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        self.stat = (int(fields[11]) + int(fields[12])) / CLK
        self.tids, self.sched = set(), 0
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    self.sched += int(f.read().split()[0])
                self.tids.add(tid)
        except (OSError, ValueError, IndexError):
            self.tids = None

    def __sub__(self, before):
        """Seconds used since before; the stat figure if schedstat is
        unusable or disagrees beyond the ticks' resolution."""
        st = self.stat - before.stat
        if self.tids is None or self.tids != before.tids:
            return st
        ns = (self.sched - before.sched) / 1e9
        if abs(ns - st) > 2.0 / CLK + 0.05 * st:
            return st
        return ns


def proc_cpu(pid):
    return Cpu(pid)


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError("no VmRSS for pid %d" % pid)


def proc_fds(pid):
    """Descriptors the process has open now."""
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_nofile(pid):
    """The process's RLIMIT_NOFILE, soft and hard, as the kernel holds it."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                w = line.split()
                return int(w[3]), int(w[4])
    raise BenchError("no open-file limit for pid %d" % pid)


# ------------------------------------------------------------ processes

class Children:
    """Every process this benchmark starts; their pids go to WORK/pids so
    that scripts/bench.sh can kill them even if we die."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def start(self, name, argv, out_path, nofile=None):
        """nofile: the process's RLIMIT_NOFILE (soft and hard), set
        between fork and exec, as `ulimit -n` in a launching shell."""
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        out = open(out_path, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, close_fds=True,
                             preexec_fn=limit if nofile else None)
        out.close()
        p.name = name
        p.out_path = out_path
        self.procs.append(p)
        with open(os.path.join(self.work, "pids"), "a") as f:
            f.write("%d\n" % p.pid)
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            # HAProxy: SIGUSR1 is its graceful stop (SIGTERM kills at once)
            p.send_signal(signal.SIGUSR1 if p.name == "haproxy" else
                          signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(self.procs):
            try:
                self.stop(p, grace=2.0)
            except Exception:
                pass


def tail(path, n=25):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(lines[-n:])


def free_port(ip):
    s = socket.socket()
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(p, ip, port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.poll() is not None:
            break
        try:
            socket.create_connection((ip, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    status = p.poll()
    raise BenchError("%s did not come up on %s:%d within %gs (%s); its "
                     "output:\n%s" % (p.name, ip, port, timeout,
                                      "running" if status is None else
                                      "exit status %d" % status,
                                      tail(p.out_path)))


# ------------------------------------------------------------- clients

def client_ctx(ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False      # the SNI names a backend, not the cert
    if ca is None:
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(ca)
    return ctx


def tls_open(addr, sni, ctx, timeout=IO_TIMEOUT):
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        return ctx.wrap_socket(s, server_hostname=sni)
    except BaseException:
        s.close()
        raise


def tls_close(ts):
    """close_notify, then close, without waiting for the peer's."""
    try:
        ts.setblocking(False)
        ts.unwrap()
    except (ssl.SSLError, OSError, ValueError):
        pass
    finally:
        ts.close()


class Reader:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def line(self, limit=512):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise BenchError("no line in %r" % self.buf[:80])
            d = self.s.recv(65536)
            if not d:
                raise BenchError("EOF before a line (got %r)" %
                                 self.buf[:80])
            self.buf += d
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise BenchError("EOF after %d of %d bytes" %
                                 (len(self.buf), n))
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def ssh_hello(ts, hello=HELLO):
    ts.sendall(hello)
    rd = Reader(ts)
    b = rd.line()
    if b != BANNER:
        raise BenchError("bad banner %r" % b[:80])
    return rd


def describe(e):
    s = "%s: %s" % (type(e).__name__, e)
    return s[:160]


def run_threads(n, fn):
    out = [None] * n
    def body(i):
        out[i] = fn(i)
    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0)
            for i in range(parts)]


def _worker_signals():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def conn_worker(idx, q, ev, addr, count, nthreads, deadline):
    """Connection-rate worker: count connections on nthreads threads."""
    _worker_signals()
    ctx = client_ctx()
    q.put(("ready", idx))
    if not ev.go.wait(60):
        return

    def one_thread(t):
        ok, errs = 0, collections.Counter()
        for _ in range(split(count, nthreads)[t]):
            if time.monotonic() > deadline:
                errs["not run: phase deadline"] += 1
                continue
            try:
                ts = tls_open(addr, SINK_SNI, ctx)
                try:
                    ssh_hello(ts)
                finally:
                    tls_close(ts)
                ok += 1
            except Exception as e:
                errs[describe(e)] += 1
        return ok, errs

    res = run_threads(nthreads, one_thread)
    errs = collections.Counter()
    for _, e in res:
        errs.update(e)
    q.put(("done", idx, sum(r[0] for r in res), dict(errs)))


def mem_worker(idx, q, ev, addr, count, nthreads, deadline):
    """Memory worker: opens count sessions, holds them until released."""
    _worker_signals()
    ctx = client_ctx()
    held = []
    lock = threading.Lock()

    def one_thread(t):
        ok, errs = 0, collections.Counter()
        for _ in range(split(count, nthreads)[t]):
            if time.monotonic() > deadline:
                errs["not run: phase deadline"] += 1
                continue
            try:
                ts = tls_open(addr, SINK_SNI, ctx)
                try:
                    ssh_hello(ts)
                except BaseException:
                    tls_close(ts)
                    raise
                with lock:
                    held.append(ts)
                ok += 1
            except Exception as e:
                errs[describe(e)] += 1
        return ok, errs

    res = run_threads(nthreads, one_thread)
    errs = collections.Counter()
    for _, e in res:
        errs.update(e)
    q.put(("opened", idx, sum(r[0] for r in res), dict(errs)))
    ev.release.wait(max(1.0, deadline - time.monotonic()))
    for ts in held:
        tls_close(ts)
    q.put(("closed", idx))


def transfer(sock, rd, direction, nbytes, bufsize):
    """The bulk transfer after the banners: nbytes up, then the sink's
    DONE; or nbytes down (what rd already holds counts), read bufsize at
    a time."""
    if direction == "up":
        chunk = memoryview(bytes(range(256)) * 1024)
        left = nbytes
        while left:
            k = min(left, len(chunk))
            sock.sendall(chunk[:k])
            left -= k
        d = rd.line()
        if d != b"DONE\r\n":
            raise BenchError("expected DONE, got %r" % d[:80])
        return
    got = len(rd.buf)
    buf = bytearray(bufsize)
    while got < nbytes:
        n = sock.recv_into(buf)
        if n == 0:
            raise BenchError("EOF after %d of %d bytes" % (got, nbytes))
        got += n


def bulk_worker(idx, q, ev, addr, direction, nbytes, deadline):
    """One bulk client: handshake first, then on go the transfer."""
    _worker_signals()
    try:
        ts = tls_open(addr, SINK_SNI, client_ctx())
    except Exception as e:
        q.put(("ready", idx))
        q.put(("done", idx, 0, {describe(e): 1}))
        return
    q.put(("ready", idx))
    if not ev.go.wait(60):
        ts.close()
        return
    try:
        ts.settimeout(max(1.0, deadline - time.monotonic()))
        rd = ssh_hello(ts, b"SSH-2.0-%s-%d\r\n" % (direction.encode(),
                                                 nbytes))
        transfer(ts, rd, direction, nbytes, 256 * 1024)
        tls_close(ts)
        q.put(("done", idx, nbytes, {}))
    except Exception as e:
        ts.close()
        q.put(("done", idx, 0, {describe(e): 1}))


def client_hello(sni):
    """The ClientHello Python's TLS would send for sni: real bytes, from
    a memory BIO, for clients of a passthrough route."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def pt_worker(idx, q, ev, addr, direction, nbytes, deadline):
    """One passthrough bulk client: a ClientHello routes it; on go the
    transfer, over plain TCP (the proxy does not look past the hello)."""
    _worker_signals()
    try:
        s = socket.create_connection(addr, timeout=IO_TIMEOUT)
        s.sendall(client_hello(PT_SNI))
        rd = ssh_hello(s, b"SSH-2.0-%s-%d\r\n" % (
            direction.encode(), nbytes))
    except Exception as e:
        q.put(("ready", idx))
        q.put(("done", idx, 0, {describe(e): 1}))
        return
    q.put(("ready", idx))
    if not ev.go.wait(60):
        s.close()
        return
    try:
        s.settimeout(max(1.0, deadline - time.monotonic()))
        transfer(s, rd, direction, nbytes, 1 << 20)
        s.close()
        q.put(("done", idx, nbytes, {}))
    except Exception as e:
        s.close()
        q.put(("done", idx, 0, {describe(e): 1}))


def alive(held):
    """How many of these TLS sessions the proxy still holds: one poll()
    over all of them; a socket with something to read is asked once,
    without blocking, whether that is the end."""
    pl = select.poll()
    by_fd = {}
    for ts in held:
        try:
            by_fd[ts.fileno()] = ts
            pl.register(ts, select.POLLIN | select.POLLERR | select.POLLHUP)
        except (OSError, ValueError):
            pass
    gone = len(held) - len(by_fd)
    for fd, evs in pl.poll(0):
        ts = by_fd[fd]
        if evs & (select.POLLERR | select.POLLHUP):
            gone += 1
            continue
        try:
            ts.setblocking(False)
            if ts.recv(1) == b"":
                gone += 1
        except (ssl.SSLWantReadError, BlockingIOError):
            pass
        except (ssl.SSLError, OSError):
            gone += 1
    return len(held) - gone


def limit_worker(idx, q, ev, addr, count, nthreads, deadline, timeout):
    """Idle-session limit worker: opens sessions (TLS handshake + SSH
    banner exchange, as the mem phase does) until one fails anywhere (the
    first failure sets stop for every worker), count is reached or the
    deadline passes; holds them; counts the ones still open when told to
    check; closes them on release."""
    _worker_signals()
    ctx = client_ctx()
    held = []
    lock = threading.Lock()
    q.put(("ready", idx))
    if not ev.go.wait(60):
        return

    def one_thread(t):
        ok, errs, first = 0, collections.Counter(), None
        for _ in range(split(count, nthreads)[t]):
            if ev.stop.is_set() or time.monotonic() > deadline:
                break
            try:
                ts = tls_open(addr, SINK_SNI, ctx, timeout=timeout)
                try:
                    ssh_hello(ts)
                except BaseException:
                    tls_close(ts)
                    raise
                with lock:
                    held.append(ts)
                ok += 1
            except Exception as e:
                errs[describe(e)] += 1
                first = time.time()
                ev.stop.set()
                break
        return ok, errs, first

    res = run_threads(nthreads, one_thread)
    errs = collections.Counter()
    for r in res:
        errs.update(r[1])
    firsts = [r[2] for r in res if r[2] is not None]
    q.put(("opened", idx, sum(r[0] for r in res), dict(errs),
           min(firsts) if firsts else None))
    ev.check.wait(max(1.0, deadline - time.monotonic()))
    q.put(("checked", idx, alive(held)))
    ev.release.wait(max(1.0, deadline - time.monotonic()))
    for ts in held:
        tls_close(ts)
    q.put(("closed", idx))


class Events:
    """What the main process tells its client processes: go (start),
    stop (stop opening: one of you saw an error), check (look at what you
    hold), release (close everything)."""

    def __init__(self, ctx):
        self.go = ctx.Event()
        self.stop = ctx.Event()
        self.check = ctx.Event()
        self.release = ctx.Event()


class Workers:
    """A set of forked client processes with a start gun and a release."""

    def __init__(self, target, argss):
        ctx = mp.get_context("fork")
        self.q = ctx.Queue()
        self.ev = Events(ctx)
        self.go = self.ev.go
        self.release = self.ev.release
        self.procs = [ctx.Process(target=target, daemon=True,
                                  args=(i, self.q, self.ev) + tuple(a))
                      for i, a in enumerate(argss)]
        for p in self.procs:
            p.start()

    def collect(self, kind, deadline):
        """One message of this kind from every worker, or BenchError."""
        got = {}
        while len(got) < len(self.procs):
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("phase deadline: %d of %d client "
                                 "processes reported '%s'" %
                                 (len(got), len(self.procs), kind))
            try:
                m = self.q.get(timeout=min(left, 1.0))
            except Exception:
                if not any(p.is_alive() for p in self.procs):
                    raise BenchError("client processes died before "
                                     "reporting '%s'" % kind)
                continue
            if m[0] == kind:
                got[m[1]] = m
        return [got[i] for i in sorted(got)]

    def finish(self):
        self.ev.stop.set()
        self.ev.go.set()
        self.ev.check.set()
        self.ev.release.set()
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()
                p.join()


# ---------------------------------------------------------------- phases

def merge_errs(msgs, pos):
    c = collections.Counter()
    for m in msgs:
        c.update(m[pos])
    return dict(c)


def phase_conn(pid, addr, a, deadline):
    nproc = 2 if a.conn_par >= 2 else 1
    w = Workers(conn_worker, [(addr, n, t, deadline) for n, t in
                              zip(split(a.conns, nproc),
                                  split(a.conn_par, nproc))])
    try:
        w.collect("ready", deadline)
        c0, t0 = proc_cpu(pid), time.monotonic()
        w.go.set()
        done = w.collect("done", deadline)
        t1, c1 = time.monotonic(), proc_cpu(pid)
    finally:
        w.finish()
    ok = sum(m[2] for m in done)
    errs = merge_errs(done, 3)
    if ok == 0:
        raise BenchError("no connection succeeded: %s" % errs)
    return {"conn_rate": ok / (t1 - t0), "conn_cpu_ms": (c1 - c0) * 1e3 / ok,
            "conn_ok": ok, "conn_failed": a.conns - ok,
            "conn_wall_s": t1 - t0, "conn_cpu_s": c1 - c0,
            "conn_cpu_stat_s": c1.stat - c0.stat, "errors": errs}


def phase_mem(pid, addr, a, deadline):
    nproc = 2 if a.conn_par >= 2 else 1
    time.sleep(0.3)
    r0 = proc_rss_kib(pid)
    w = Workers(mem_worker, [(addr, n, t, deadline) for n, t in
                             zip(split(a.sessions, nproc),
                                 split(a.conn_par, nproc))])
    try:
        opened = w.collect("opened", deadline)
        time.sleep(1.0)           # let the proxy settle
        r1 = proc_rss_kib(pid)
        w.release.set()
        w.collect("closed", deadline)
    finally:
        w.finish()
    ok = sum(m[2] for m in opened)
    errs = merge_errs(opened, 3)
    if ok == 0:
        raise BenchError("no session opened: %s" % errs)
    time.sleep(1.0)
    r2 = proc_rss_kib(pid)
    return {"mem_kib": (r1 - r0) / ok, "mem_sessions": ok,
            "mem_failed": a.sessions - ok, "rss_before_kib": r0,
            "rss_open_kib": r1, "rss_after_close_kib": r2, "errors": errs}


def phase_bulk(pid, addr, a, deadline, direction, pt=False):
    nbytes = a.mbytes * MiB
    w = Workers(pt_worker if pt else bulk_worker,
                [(addr, direction, nbytes, deadline)
                 for _ in range(a.parallel)])
    try:
        w.collect("ready", deadline)
        c0, t0 = proc_cpu(pid), time.monotonic()
        w.go.set()
        done = w.collect("done", deadline)
        t1, c1 = time.monotonic(), proc_cpu(pid)
    finally:
        w.finish()
    moved = sum(m[2] for m in done)
    errs = merge_errs(done, 3)
    if moved == 0:
        raise BenchError("no transfer completed: %s" % errs)
    if pt:
        k = "pt_" + direction
        return {k + "_rate": moved / GiB / (t1 - t0),
                k + "_cpu": (c1 - c0) / (moved / GiB), k + "_bytes": moved,
                k + "_wall_s": t1 - t0, k + "_cpu_s": c1 - c0,
                k + "_failed": a.parallel - sum(1 for m in done if m[2]),
                "errors": errs}
    return {direction + "_rate": moved / MiB / (t1 - t0),
            direction + "_cpu": (c1 - c0) / (moved / GiB),
            direction + "_bytes": moved, direction + "_wall_s": t1 - t0,
            direction + "_cpu_s": c1 - c0,
            direction + "_cpu_stat_s": c1.stat - c0.stat,
            direction + "_failed": a.parallel - sum(1 for m in done
                                                    if m[2]),
            "errors": errs}


def phase_rtt(pids, addrs, order, a, deadline):
    """One echo session through each proxy; the round trips alternate
    between them (A, B, A, B...) so that both see the same moments of a
    noisy machine."""
    sess = {}
    try:
        for n in order:
            ts = tls_open(addrs[n], ECHO_SNI, client_ctx())
            sess[n] = (ts, ssh_hello(ts))
        msg = bytes(range(64))
        samples = {n: [] for n in order}
        warm = 50
        c0 = {}
        for i in range(warm + a.rtts):
            if time.monotonic() > deadline:
                raise BenchError("phase deadline after %d round trips" % i)
            if i == warm:
                c0 = {n: proc_cpu(pids[n]) for n in order}
            for n in order:
                ts, rd = sess[n]
                t = time.perf_counter_ns()
                ts.sendall(msg)
                got = rd.exact(64)
                dt = time.perf_counter_ns() - t
                if got != msg:
                    raise BenchError("%s: echo mismatch at round trip %d" %
                                     (n, i))
                if i >= warm:
                    samples[n].append(dt / 1e3)
        c1 = {n: proc_cpu(pids[n]) for n in order}
    finally:
        for ts, _ in sess.values():
            tls_close(ts)
    out = {}
    for n in order:
        v = sorted(samples[n])
        out[n] = {"rtt_p50": statistics.median(v),
                  "rtt_p99": v[min(len(v) - 1,
                                   int(round(0.99 * len(v))) - 1)],
                  "rtt_max": v[-1], "rtt_n": len(v),
                  "rtt_cpu_us": (c1[n] - c0[n]) * 1e6 / len(v)}
    return out


def warm_up(addr):
    ctx = client_ctx()
    for _ in range(16):
        ts = tls_open(addr, SINK_SNI, ctx)
        ssh_hello(ts)
        tls_close(ts)
    for hello in (b"SSH-2.0-up-1048576\r\n", b"SSH-2.0-down-1048576\r\n"):
        ts = tls_open(addr, SINK_SNI, ctx)
        rd = ssh_hello(ts, hello)
        if b"up" in hello:
            ts.sendall(bytes(MiB))
            if rd.line() != b"DONE\r\n":
                raise BenchError("warm-up upload: no DONE")
        else:
            rd.exact(MiB)
        tls_close(ts)


# ---------------------------------------------------- idle-session limit

LIMIT_PROCS = 4         # client processes: each holds a share of the fds
LIMIT_MORE = 16         # most sessions tried one at a time after that


def haproxy_info(path):
    """HAProxy's "show info" on its stats socket, as a dict."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(path)
        s.sendall(b"show info\n")
        d = b""
        while True:
            x = s.recv(65536)
            if not x:
                break
            d += x
    finally:
        s.close()
    out = {}
    for line in d.decode("utf-8", "replace").splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def proxy_says(name, proc, a):
    """What the proxy itself counts now (best effort: at its descriptor
    limit it may have none left for its admin socket)."""
    try:
        if name == "haproxy":
            i = haproxy_info(proc.admin)
            return {k: int(i[k]) for k in ("CurrConns", "Maxconn", "Maxsock",
                                           "Ulimit-n") if k in i}
        r = subprocess.run([a.sshgate, "ctl", "-s", proc.admin, "stats"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=5)
        got = {}
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            for k in ("sessions_active", "sessions_max"):
                if line.startswith("sshgate_%s " % k):
                    got[k] = int(line.split()[1])
        return got or {"unavailable": r.stdout.decode("utf-8",
                                                      "replace")[:120]}
    except subprocess.TimeoutExpired:
        return {"unavailable": "its admin socket did not answer within 5s"}
    except Exception as e:
        return {"unavailable": describe(e)}


def one_at_a_time(addr, timeout, most):
    """After the first failure: sessions opened one at a time, held,
    until one fails (at most `most`). A parallel opening can fail at the
    edge for want of one descriptor that a failed attempt then gives
    back; this shows whether the proxy still had room, and how much.
    Returns the sessions opened and what stopped them."""
    held = []
    for _ in range(most):
        t = time.monotonic()
        try:
            ts = tls_open(addr, SINK_SNI, client_ctx(), timeout=timeout)
            try:
                ssh_hello(ts)
            except BaseException:
                tls_close(ts)
                raise
            held.append(ts)
        except Exception as e:
            return held, "failed after %.1fs: %s" % (time.monotonic() - t,
                                                     describe(e))
    return held, "none failed (%d tried)" % most


def wait_fds_below(pid, level, timeout):
    """Waits (bounded) until the process has at most level fds open."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if proc_fds(pid) <= level:
                return True
        except OSError:
            return True
        time.sleep(0.2)
    return False


def phase_limit(name, proc, addr, a, deadline):
    """The most idle sessions the proxy holds at its descriptor limit:
    sessions are opened (LIMIT_PROCS processes x --limit-threads threads)
    until the first one fails anywhere, --limit-max is reached or the
    deadline passes. What counts is what is held when the opening stops,
    checked to be still open; then, to show the limit was the cause:
    sessions opened one at a time, until one fails (those
    are reported apart, not counted in what the proxy held)."""
    pid = proc.pid
    time.sleep(0.3)
    r0, f0 = proc_rss_kib(pid), proc_fds(pid)
    before = proxy_says(name, proc, a)
    w = Workers(limit_worker, [(addr, c, a.limit_threads, deadline,
                                a.limit_timeout)
                               for c in split(a.limit_max, LIMIT_PROCS)])
    try:
        w.collect("ready", deadline)
        t0 = time.monotonic()
        w.go.set()
        opened = w.collect("opened", deadline)
        t1 = time.monotonic()
        time.sleep(1.0)           # let the proxy settle
        r1, f1 = proc_rss_kib(pid), proc_fds(pid)
        says = proxy_says(name, proc, a)
        w.ev.check.set()
        held = sum(m[2] for m in w.collect("checked", deadline))
        more, probe = one_at_a_time(addr, a.limit_timeout, LIMIT_MORE)
        for ts in more:
            tls_close(ts)
        w.release.set()
        w.collect("closed", deadline)
    finally:
        w.finish()
    ok = sum(m[2] for m in opened)
    errs = merge_errs(opened, 3)
    firsts = [m[4] for m in opened if m[4] is not None]
    if ok == 0:
        raise BenchError("no session opened: %s" % errs)
    if errs:
        stop = "the first error, after {:,} opened in {:.0f}s".format(
            ok, t1 - t0)
    elif ok >= a.limit_max:
        stop = "the bounded maximum ({:,}), no error".format(a.limit_max)
    else:
        stop = "the phase deadline, no error, {:,} opened".format(ok)
    drained = wait_fds_below(pid, f0 + 16, 30)
    return {"limit_held": held, "limit_opened": ok,
            "limit_dropped": ok - held, "limit_stopped_by": stop,
            "limit_errors": errs,
            "limit_first_error_unix": min(firsts) if firsts else None,
            "limit_then_one_at_a_time": len(more),
            "limit_probe": probe, "limit_open_s": t1 - t0,
            "limit_rss_before_kib": r0, "limit_rss_kib": r1,
            "limit_kib_per_session": (r1 - r0) / held if held else None,
            "limit_fds_before": f0, "limit_fds": f1,
            "limit_fds_per_session": (f1 - f0) / held if held else None,
            "limit_nofile": proc_nofile(pid)[0],
            "limit_proxy_before": before, "limit_proxy_at_limit": says,
            "limit_closed_all": drained}


# ----------------------------------------------------------------- floor

def openssl_speed(args, seconds):
    """openssl speed -mr (machine-readable), CPU time as the divisor (its
    default): the lines starting with '+F'."""
    argv = ["openssl", "speed", "-mr", "-seconds", str(seconds)] + args
    r = subprocess.run(argv, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=30 + 10 * seconds)
    if r.returncode != 0:
        raise BenchError("%s: exit status %d" % (" ".join(argv),
                                                 r.returncode))
    shown = ["openssl", "speed", "-seconds", str(seconds)] + args
    return " ".join(shown), [l.split(":") for l in
                             r.stdout.decode().splitlines()
                             if l.startswith("+F")]


def x25519_keygen_us(seconds):
    """CPU microseconds per X25519 key generation, as a TLS 1.3 server
    makes one per handshake: EVP_PKEY_keygen of the installed libcrypto,
    called through ctypes in a loop for the given seconds (openssl speed
    of OpenSSL 3.0 times the derivation only). Includes ctypes' call
    overhead, under a microsecond."""
    import ctypes
    import ctypes.util
    lc = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
    vp = ctypes.c_void_p
    lc.EVP_PKEY_CTX_new_id.restype = vp
    lc.EVP_PKEY_CTX_new_id.argtypes = [ctypes.c_int, vp]
    lc.EVP_PKEY_keygen_init.argtypes = [vp]
    lc.EVP_PKEY_keygen.argtypes = [vp, ctypes.POINTER(vp)]
    lc.EVP_PKEY_free.argtypes = [vp]
    lc.EVP_PKEY_CTX_free.argtypes = [vp]
    ctx = lc.EVP_PKEY_CTX_new_id(1034, None)        # NID_X25519
    if not ctx or lc.EVP_PKEY_keygen_init(ctx) != 1:
        raise BenchError("libcrypto: no X25519 key generation")
    try:
        key, n = vp(), 0
        c0 = time.process_time()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(50):
                if lc.EVP_PKEY_keygen(ctx, ctypes.byref(key)) != 1:
                    raise BenchError("libcrypto: X25519 keygen failed")
                lc.EVP_PKEY_free(key)
                key.value = None
            n += 50
        return (time.process_time() - c0) * 1e6 / n
    finally:
        lc.EVP_PKEY_CTX_free(ctx)


# TLS 1.3 cipher suite -> the AEAD openssl speed names
SUITE_AEAD = {"TLS_AES_128_GCM_SHA256": "aes-128-gcm",
              "TLS_AES_256_GCM_SHA384": "aes-256-gcm",
              "TLS_CHACHA20_POLY1305_SHA256": "chacha20-poly1305"}


FLOOR_AEADS = ("aes-128-gcm", "aes-256-gcm")


def floor_sample(seconds, samples, cmds, aeads=FLOOR_AEADS, pkey=True):
    """One run of each floor measurement, added to samples: per
    connection one X25519 key generation, one X25519 derivation and one
    ECDSA P-256 signature (a TLS 1.3 full handshake's server side, with
    this benchmark's certificate); per GiB one AEAD pass over the bytes
    (each relayed byte is decrypted or encrypted once by the proxy) in
    16 KiB records."""
    if pkey:
        cmd, lines = openssl_speed(["ecdhx25519", "ecdsap256"], seconds)
        cmds.append(cmd)
        got = 0
        for f in lines:
            if f[0] == "+F4" and f[2] == "256":
                samples["ecdsa_p256_sign_us"].append(1e6 / float(f[3]))
                got += 1
            elif f[0] == "+F5" and f[2] == "253":
                samples["x25519_derive_us"].append(1e6 / float(f[3]))
                got += 1
        if got != 2:
            raise BenchError("%s: no ECDSA/X25519 figures in %r" %
                             (cmd, lines))
        try:
            samples["x25519_keygen_us"].append(x25519_keygen_us(seconds))
        except Exception as e:
            samples["x25519_keygen_error"].append(describe(e))
    for c in aeads:
        cmd, lines = openssl_speed(["-aead", "-evp", c, "-bytes", "16384"],
                                   seconds)
        cmds.append(cmd)
        bps = [float(f[3]) for f in lines if f[0] == "+F" and len(f) >= 4]
        if not bps or bps[0] <= 0:
            raise BenchError("%s: no figure in %r" % (cmd, lines))
        samples[c].append(GiB / bps[0])


def floor_summary(samples, cmds, seconds):
    """Each figure is the best of its runs: a floor is the cheapest this
    machine manages, and the machine is shared (the runs are spread over
    the benchmark: before the rounds and between them)."""
    if not samples.get("x25519_derive_us"):
        return None
    out = {"commands": list(dict.fromkeys(cmds)), "seconds": seconds,
           "repeats": len(samples["x25519_derive_us"]),
           "samples": {k: list(v) for k, v in samples.items()}}
    for k in ("ecdsa_p256_sign_us", "x25519_derive_us"):
        out[k] = min(samples[k])
    if samples.get("x25519_keygen_us"):
        out["x25519_keygen_us"] = min(samples["x25519_keygen_us"])
        out["x25519_keygen_how"] = "EVP_PKEY_keygen through ctypes"
    else:
        out["x25519_keygen_us"] = out["x25519_derive_us"]
        out["x25519_keygen_how"] = ("not measured (%s): counted as one "
                                    "derivation" % "; ".join(
                                        samples["x25519_keygen_error"][:1]))
    out["per_connection_us"] = (out["x25519_keygen_us"] +
                                out["x25519_derive_us"] +
                                out["ecdsa_p256_sign_us"])
    out["per_gib_s"] = {c: min(v) for c, v in samples.items()
                        if c not in ("ecdsa_p256_sign_us",
                                     "x25519_derive_us", "x25519_keygen_us",
                                     "x25519_keygen_error") and v}
    out["per_gib_s_max"] = {c: max(samples[c]) for c in out["per_gib_s"]}
    out["per_connection_us_max"] = (
        max(samples.get("x25519_keygen_us") or samples["x25519_derive_us"])
        + max(samples["x25519_derive_us"]) +
        max(samples["ecdsa_p256_sign_us"]))
    return out


# -------------------------------------------------------- sanity checks

def backend_stats(port):
    s = socket.create_connection((ADDR["sink"], port), timeout=IO_TIMEOUT)
    try:
        s.sendall(b"SSH-2.0-stats\r\n")
        rd = Reader(s)
        rd.line()
        d = dict(kv.split("=") for kv in rd.line().decode().split())
        return {k: int(v) for k, v in d.items()}
    finally:
        s.close()


def read_to_eof(ts, limit=4096):
    got = b""
    try:
        while len(got) < limit:
            d = ts.recv(4096)
            if not d:
                return got, "closed"
            got += d
    except (ssl.SSLError, OSError) as e:
        return got, describe(e)
    return got, "still open"


def sanity(addr, ca, sink_port):
    """What a client observes: certificate, TLS, refusals (reported, and
    a failure only if the proxy routes what it must refuse)."""
    out = {}
    ts = tls_open(addr, SINK_SNI, client_ctx(ca))
    try:
        ssh_hello(ts)
        der = ts.getpeercert(binary_form=True)
        out["tls_version"] = ts.version()
        out["cipher"] = ts.cipher()[0]
        out["cert_sha256"] = hashlib.sha256(der).hexdigest()[:32]
        out["resumed"] = ts.session_reused
    finally:
        tls_close(ts)

    before = backend_stats(sink_port)
    t = time.monotonic()
    ts = tls_open(addr, SINK_SNI, client_ctx())
    ts.sendall(b"GET / HTTP/1.0\r\n\r\n")
    got, how = read_to_eof(ts)
    closed_ms = round((time.monotonic() - t) * 1e3, 1)
    ts.close()
    time.sleep(0.2)
    after = backend_stats(sink_port)
    out["not_ssh"] = {
        "client_got": got.decode("latin-1")[:60], "end": how,
        "closed_after_ms": closed_ms,
        # minus the stats connection itself
        "backend_connections": after["accepted"] - before["accepted"] - 1,
        "backend_bytes_from_client": (after["bytes"] - before["bytes"] -
                                      len(b"SSH-2.0-stats\r\n")),
    }
    if out["not_ssh"]["backend_bytes_from_client"] > 0:
        raise BenchError("a non-SSH client's bytes reached the backend")

    # a client that has completed TLS but sent nothing yet: does the
    # backend's banner reach it before the SSH check has passed?
    ts = tls_open(addr, SINK_SNI, client_ctx())
    ts.settimeout(0.5)
    try:
        early = ts.recv(4096)
    except (socket.timeout, ssl.SSLError, OSError):
        early = b""
    ts.settimeout(IO_TIMEOUT)
    tls_close(ts)
    out["before_client_hello"] = early.decode("latin-1")[:60]

    try:
        ts = tls_open(addr, "nope.bench", client_ctx())
        ts.sendall(HELLO)
        got, how = read_to_eof(ts)
        ts.close()
        out["unknown_sni"] = "handshake ok, then %s (got %r)" % (how,
                                                                got[:40])
        if got:
            raise BenchError("an unknown SNI was routed somewhere")
    except (ssl.SSLError, OSError) as e:
        out["unknown_sni"] = "refused in handshake: " + describe(e)
    return out


# --------------------------------------------------------------- configs

# Both proxies run with RLIMIT_NOFILE = nofile (20000 by default, set by
# bench.py between fork and exec) and a connection cap that the descriptors
# reach first: a proxied session holds 2 of them (client, backend), so
# sshgate's max-connections is nofile/2 (10000, its default), which sshgate
# lowers itself to what the fds hold with 64 kept spare (it says so at
# start and reports the number as sshgate_sessions_max), and HAProxy has
# no maxconn: it derives one from ulimit-n itself (9986 at 20000: its own fd
# accounting, which refuses to start with a maxconn the fds cannot hold).
# Each has its admin socket (one idle UNIX listener each): the idle-session
# limit phase asks them how many sessions they count.
# A passthrough session may hold two splice pipes besides its two
# sockets (six fds): the passthrough runs give sshgate the max-connections
# that nofile holds so (its warning at start asks for it). At nofile/2 it
# would accept as many sessions but copy instead of splicing.
def sshgate_conf(work, port, ports, rnd, nofile, extra=(), pt=False):
    return sshgate_conf_text(work, port, ports, rnd, nofile, extra,
                             nofile // 7 if pt else nofile // 2) + (
        "route {sni} passthrough to {ip}:{port}\n".format(
            sni=PT_SNI, ip=ADDR["ptsink"], port=ports["ptsink"])
        if pt else "")


def sshgate_conf_text(work, port, ports, rnd, nofile, extra=(), maxconn=None):
    return """\
# sshgate under benchmark (generated by bench/bench.py)
listen {ip}:{port}
certificate {pki}/gateway-ecdsa.pem
ssh-only yes
timeout handshake 10s
timeout inspect 5s
timeout connect 5s
timeout idle 10m
timeout drain 1s
max-connections {maxconn}
workers 2
route {sink_sni} to {sink}:{sink_port}
route {echo_sni} to {echo}:{echo_port}
log file {work}/sshgate-r{rnd}.log
log-format json
control {work}/sshgate-r{rnd}.ctl
{extra}""".format(extra="".join(l + "\n" for l in extra), maxconn=max(1, maxconn or nofile // 2), ip=ADDR["sshgate"], port=port, pki=os.path.join(work, "pki"),
           sink_sni=SINK_SNI, echo_sni=ECHO_SNI, sink=ADDR["sink"],
           echo=ADDR["echo"], sink_port=ports["sink"],
           echo_port=ports["echo"], work=work, rnd=rnd)


# The passthrough runs: HAProxy in TCP mode, routing on the ClientHello's
# SNI as its documentation shows, nothing terminated, same logging, and
# splice(2) on (option splice-auto) as sshgate's passthrough uses it.
HAPROXY_PT = """\
# HAProxy under benchmark, passthrough (generated by bench/bench.py)
global
    nbthread 2
    ulimit-n {nofile}
    stats socket {work}/haproxy-r{rnd}.sock
    log stderr format raw local0 info

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 10m
    timeout server 10m

frontend passthrough
    bind {ip}:{port}
    # zero copy where the kernel allows, as sshgate does
    option splice-auto
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    use_backend ptsink if {{ req.ssl_sni -i {sni} }}

backend ptsink
    server ptsink {ptsink}:{ptsink_port}
"""


def haproxy_conf(work, port, ports, rnd, nofile, pt=False):
    if pt:
        return HAPROXY_PT.format(ip=ADDR["haproxy"], port=port, work=work,
                                 rnd=rnd, nofile=nofile, sni=PT_SNI,
                                 ptsink=ADDR["ptsink"],
                                 ptsink_port=ports["ptsink"])
    return """\
# HAProxy under benchmark (generated by bench/bench.py): the recipe's
# frontend, minus client certificates; same job as sshgate's config.
global
    nbthread 2
    # no maxconn: derived from ulimit-n (all the fds allow, 2 per session)
    ulimit-n {nofile}
    stats socket {work}/haproxy-r{rnd}.sock
    # with -db, stderr is the file bench.py gave it: one line a connection
    log stderr format raw local0 info
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 10m
    timeout server 10m

frontend ssh_gateway
    bind {ip}:{port} ssl crt {pki}/gateway-ecdsa.pem
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.payload(0,8) -m str SSH-2.0- }}
    tcp-request content reject
    use_backend sink if {{ ssl_fc_sni -i {sink_sni} }}
    use_backend echo if {{ ssl_fc_sni -i {echo_sni} }}

backend sink
    server sink {sink}:{sink_port}

backend echo
    server echo {echo}:{echo_port}
""".format(ip=ADDR["haproxy"], port=port, pki=os.path.join(work, "pki"),
           sink_sni=SINK_SNI, echo_sni=ECHO_SNI, sink=ADDR["sink"],
           echo=ADDR["echo"], sink_port=ports["sink"],
           echo_port=ports["echo"], work=work, rnd=rnd, nofile=nofile)


def check_configs(a, work, ports):
    sg = os.path.join(work, "check-sshgate.conf")
    hp = os.path.join(work, "check-haproxy.cfg")
    sgp = os.path.join(work, "check-sshgate-pt.conf")
    hpp = os.path.join(work, "check-haproxy-pt.cfg")
    for path, text in (
            (sg, sshgate_conf(work, 1, ports, "check", a.nofile, a.sshgate_line)),
            (hp, haproxy_conf(work, 1, ports, "check", a.nofile)),
            (sgp, sshgate_conf(work, 1, ports, "check", a.nofile, a.sshgate_line, True)),
            (hpp, haproxy_conf(work, 1, ports, "check", a.nofile, True))):
        with open(path, "w") as f:
            f.write(text)
    for argv in ([a.sshgate, "check", "-c", sg],
                 [a.haproxy, "-c", "-f", hp],
                 [a.sshgate, "check", "-c", sgp],
                 [a.haproxy, "-c", "-f", hpp]):
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise BenchError("config check failed: %s\n%s" %
                             (" ".join(argv), r.stdout.decode()))
        text = r.stdout.decode().strip()
        if "WARNING" in text or "ALERT" in text:
            log("bench: %s says:\n%s" % (argv[0], text))


# ------------------------------------------------------------------ logs

def summarize_sshgate_log(path):
    results, details, n, bad = (collections.Counter(),
                                collections.Counter(), 0, [])
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return {"records": 0}
    with f:
        for line in f:
            n += 1
            try:
                r = json.loads(line)
            except ValueError:
                bad.append(line[:200])
                continue
            results["%s/%s" % (r.get("result"), r.get("reason"))] += 1
            if r.get("detail"):
                details["%s/%s: %s" % (r.get("result"), r.get("reason"),
                                       r["detail"])] += 1
    return {"records": n, "result/reason": dict(results),
            "details": dict(details.most_common(12)),
            "unparsable": bad[:5]}


def summarize_haproxy_log(path):
    states, other, n, fe = collections.Counter(), [], 0, None
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return {"records": 0}
    with f:
        for line in f:
            w = line.split()
            # tcplog: client [date] frontend backend/server Tw/Tc/Tt bytes
            #         termination_state ...
            if len(w) >= 3 and w[1].startswith("[") and w[2].endswith(":"):
                n += 1          # "frontend/bind: SSL handshake failure"
                states["(tls) " + " ".join(w[3:])] += 1
            elif len(w) >= 7 and w[1].startswith("["):
                n += 1
                states["%s %s" % (w[3], w[6])] += 1
            elif "stopped (cumulated conns" in line:
                # the soft stop's summary, printed and logged
                if "Proxy ssh_gateway stopped" in line and "FE: " in line:
                    fe = int(line.split("FE: ")[1].split(",")[0])
            elif line.strip():
                other.append(line.strip()[:200])
    return {"records": n, "frontend_connections": fe,
            "backend/server termination_state": dict(states),
            "other_output": other[:10]}


def summarize_stderr(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
    except OSError:
        return []
    return lines[:20]


# ----------------------------------------------------------------- main

def versions(a):
    def first(argv):
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=10)
            return r.stdout.decode().strip().splitlines()[0]
        except Exception as e:
            return "? (%s)" % e
    return {"sshgate": first([a.sshgate, "version"]),
            "haproxy": first([a.haproxy, "-v"]),
            "openssl": first(["openssl", "version"]),
            "python": "Python %s, %s" % (platform.python_version(),
                                         ssl.OPENSSL_VERSION),
            "kernel": platform.release(),
            "cpus": os.cpu_count()}


def start_proxy(kids, name, a, work, ports, rnd, pt=False):
    port = free_port(ADDR[name])
    if name == "sshgate":
        conf = os.path.join(work, "sshgate-r%s.conf" % rnd)
        with open(conf, "w") as f:
            f.write(sshgate_conf(work, port, ports, rnd, a.nofile,
                                 a.sshgate_line, pt))
        argv = [a.sshgate, "serve", "-c", conf]
    else:
        conf = os.path.join(work, "haproxy-r%s.cfg" % rnd)
        with open(conf, "w") as f:
            f.write(haproxy_conf(work, port, ports, rnd, a.nofile, pt))
        argv = [a.haproxy, "-db", "-f", conf]
    p = kids.start(name, argv, os.path.join(work, "%s-r%s.out" %
                                            (name, rnd)), nofile=a.nofile)
    p.admin = os.path.join(work, "%s-r%s.%s" % (
        name, rnd, "ctl" if name == "sshgate" else "sock"))
    wait_port(p, ADDR[name], port)
    return p, (ADDR[name], port)


PHASES = ("mem", "conn", "up", "down")
PHASE_CAP = {"mem": 150, "conn": 90, "up": 60, "down": 60, "rtt": 30,
             "limit": 300, "pt": 40}


def run_phase(name, pid, addr, a, deadline):
    if name == "mem":
        return phase_mem(pid, addr, a, deadline)
    if name == "conn":
        return phase_conn(pid, addr, a, deadline)
    return phase_bulk(pid, addr, a, deadline, name)


def summarize(rounds, metrics=None):
    summary = {}
    for key, label, unit, better, fmt, fl in metrics or METRICS:
        vals = {n: [r[n][key] for r in rounds
                    if r[n].get(key) is not None] for n in PROXIES}
        paired = [r["sshgate"][key] / r["haproxy"][key] for r in rounds
                  if r["sshgate"].get(key) is not None and
                  r["haproxy"].get(key)]
        s = {"label": label, "unit": unit, "better": better}
        for n in PROXIES:
            v = vals[n]
            s[n] = {"median": statistics.median(v) if v else None,
                    "min": min(v) if v else None,
                    "max": max(v) if v else None, "rounds": v}
        s["ratio"] = statistics.median(paired) if paired else None
        s["ratio_min"] = min(paired) if paired else None
        s["ratio_max"] = max(paired) if paired else None
        s["ratio_of_medians"] = (s["sshgate"]["median"] /
                                 s["haproxy"]["median"]
                                 if s["sshgate"]["median"] and
                                 s["haproxy"]["median"] else None)
        r = s["ratio"]
        s["paired_ratios"] = paired
        if r is None:
            s["verdict"] = "n/a"
        else:
            def side(x):
                g = x if better == "higher" else 1 / x
                return 0 if abs(g - 1) < 0.05 else 1 if g > 1 else -1
            sides = {side(x) for x in paired}
            v = side(r)
            s["verdict"] = ("about equal" if v == 0 else
                            "sshgate better" if v > 0 else "HAProxy better")
            if len(paired) > 1 and 1 in sides and -1 in sides:
                s["verdict"] += " (rounds disagree)"
        summary[key] = s
    return summary


def floor_of(fl, name, floor, aead):
    """The floor for this row and proxy, in the row's unit, or None."""
    if not floor or fl is None:
        return None
    if fl == "conn":
        return floor["per_connection_us"] / 1e3
    return floor["per_gib_s"].get(aead.get(name))


def table_rows(summary, floor, aead, a, dash, metrics=None):
    def cell(s, fmt):
        if s["median"] is None:
            return "FAILED"
        return "%s (%s%s%s)" % (fmt % s["median"], fmt % s["min"], dash,
                                fmt % s["max"])
    rows = [["Metric", "Unit", "Better", "sshgate", "HAProxy",
             "sshgate/HAProxy", "sshgate x floor", "HAProxy x floor",
             "Verdict"]]
    for key, label, unit, better, fmt, fl in metrics or METRICS:
        s = summary[key]
        xf = []
        for n in PROXIES:
            f = floor_of(fl, n, floor, aead)
            m = s[n]["median"]
            xf.append("-" if not f or m is None else "%.1f" % (m / f))
        rows.append([label.format(S=a.sessions, PAR=a.conn_par,
                                  P=a.parallel), unit, better,
                     cell(s["sshgate"], fmt), cell(s["haproxy"], fmt),
                     "-" if s["ratio"] is None else "%.2f (%.2f%s%.2f)" % (
                         s["ratio"], s["ratio_min"], dash, s["ratio_max"]),
                     xf[0], xf[1], s["verdict"]])
    return rows


def render_text(rows):
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for i, r in enumerate(rows):
        out.append("  ".join(c.ljust(w[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            out.append("  ".join("-" * x for x in w))
    return "\n".join(out)


def render_md(rows, right=()):
    out = ["| " + " | ".join(rows[0]) + " |",
           "|" + "|".join("---:" if i in right else "---"
                          for i in range(len(rows[0]))) + "|"]
    for r in rows[1:]:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) +
                   " |")
    return "\n".join(out)


def floor_lines(floor, aead):
    if not floor:
        return []
    g = floor["per_gib_s"]
    by = ", ".join("%s %s" % ({"sshgate": "sshgate", "haproxy": "HAProxy"}[n],
                              aead.get(n, "?")) for n in PROXIES)
    return [
        "Floor per connection: %.0f us = X25519 keygen %.0f + X25519 derive "
        "%.0f + ECDSA P-256 sign %.0f (keygen: %s, %gs; worst run's sum "
        "%.0f us)" % (
            floor["per_connection_us"], floor["x25519_keygen_us"],
            floor["x25519_derive_us"], floor["ecdsa_p256_sign_us"],
            floor["x25519_keygen_how"], floor["seconds"],
            floor["per_connection_us_max"]),
        "Floor per GiB (one AEAD pass, 16 KiB records): " + ", ".join(
            "%s %.3f s (worst run %.3f)" % (c.upper(), v,
                                            floor["per_gib_s_max"][c])
            for c, v in g.items()) +
        "; the proxies negotiate: %s (x floor uses each one's)" % by,
        "Floor: the best of %d runs of each, spread over the benchmark "
        "(before the rounds and between them), CPU time: " %
        floor["repeats"] + "; ".join(floor["commands"]),
    ]


def summarize_limit(limit_runs):
    out = {}
    for n in PROXIES:
        rs = [r[n] for r in limit_runs if r.get(n)]
        if not rs:
            continue
        held = [r["limit_held"] for r in rs]
        out[n] = {"held": held, "held_median": statistics.median(held),
                  "rss_kib": [r["limit_rss_kib"] for r in rs],
                  "fds": [r["limit_fds"] for r in rs],
                  "fds_before": [r["limit_fds_before"] for r in rs],
                  "fds_per_session": [r["limit_fds_per_session"]
                                      for r in rs],
                  "kib_per_session": [r["limit_kib_per_session"]
                                      for r in rs],
                  "nofile": [r["limit_nofile"] for r in rs],
                  "stopped_by": [r["limit_stopped_by"] for r in rs],
                  "errors": [r["limit_errors"] for r in rs],
                  "probe": [r["limit_probe"] for r in rs],
                  "more": [r["limit_then_one_at_a_time"] for r in rs],
                  "proxy_at_limit": [r["limit_proxy_at_limit"] for r in rs],
                  "proxy_before": [r["limit_proxy_before"] for r in rs]}
    return out


def limit_rows(lim, a):
    names = {"sshgate": "sshgate", "haproxy": "HAProxy"}
    ns = [n for n in PROXIES if n in lim]
    rows = [["Idle sessions at RLIMIT_NOFILE %d" % a.nofile] +
            [names[n] for n in ns]]

    def med(xs, fmt):
        xs = [x for x in xs if x is not None]
        if not xs:
            return "-"
        m = statistics.median(xs)
        return fmt % m + ("" if len(xs) == 1 else " (%s-%s)" % (
            fmt % min(xs), fmt % max(xs)))

    def cap(n):
        b = lim[n]["proxy_before"][0]
        if n == "haproxy":
            return ("maxconn %s (derived by HAProxy from ulimit-n %s; "
                    "maxsock %s)" % (b.get("Maxconn", "?"),
                                     b.get("Ulimit-n", "?"),
                                     b.get("Maxsock", "?")))
        m = lim[n]["proxy_before"][0].get("sessions_max")
        return "max-connections %d%s" % (max(1, a.nofile // 2),
                                          "" if m is None else
                                          " (%d in effect: what the fds "
                                          "hold, 64 spare)" % m)

    def says(n):
        x = lim[n]["proxy_at_limit"][-1]
        if "CurrConns" in x:
            return "CurrConns %d" % x["CurrConns"]
        if "sessions_active" in x:
            return "sessions_active %d" % x["sessions_active"]
        return clip(x.get("unavailable", "-"))

    def clip(x, n=72):
        return x if len(x) <= n else x[:n - 3] + "..."

    def errs(n):
        e = lim[n]["errors"][-1]
        return "; ".join("%dx %s" % (v, clip(k)) for k, v in
                         sorted(e.items(), key=lambda kv: -kv[1])) or "none"

    def mib(xs):
        return [x / 1024 for x in xs]
    rows += [
        ["sessions held (still open when checked)"] +
        ["{:,}".format(int(statistics.median(lim[n]["held"]))) +
         ("" if len(lim[n]["held"]) == 1 else " (%d-%d)" % (
             min(lim[n]["held"]), max(lim[n]["held"]))) for n in ns],
        ["opening stopped at"] + [lim[n]["stopped_by"][-1] for n in ns],
        ["errors seen (client side)"] + [errs(n) for n in ns],
        ["then, one at a time"] + [clip("%d more opened, then one %s" % (
            lim[n]["more"][-1], lim[n]["probe"][-1]), 90) for n in ns],
        ["the proxy's own count then"] + [says(n) for n in ns],
        ["RSS at that point (MiB)"] + [med(mib(lim[n]["rss_kib"]), "%.1f")
                                       for n in ns],
        ["RSS per session there (KiB)"] + [
            med(lim[n]["kib_per_session"], "%.1f") for n in ns],
        ["fds open at that point"] + [med(lim[n]["fds"], "%d") for n in ns],
        ["fds per session"] + [med(lim[n]["fds_per_session"], "%.2f")
                               for n in ns],
        ["connection cap in its config"] + [cap(n) for n in ns],
    ]
    return rows


def projection_rows(summary, lim, a):
    names = {"sshgate": "sshgate", "haproxy": "HAProxy"}
    rows = [["Projection, idle sessions"] +
            ["%s memory (KiB/session x N)" % names[n] for n in PROXIES] +
            ["%s fds" % names[n] for n in PROXIES]]
    for N in (100000, 1000000):
        r = ["{:,}".format(N)]
        for n in PROXIES:
            k = summary.get("mem_kib", {}).get(n, {}).get("median")
            r.append("-" if k is None else "%.2f GiB" % (k * N / 1024 / 1024))
        for n in PROXIES:
            per, base = 2.0, 0
            if n in lim:
                xs = [x for x in lim[n]["fds_per_session"] if x]
                per = statistics.median(xs) if xs else 2.0
                base = statistics.median(lim[n]["fds_before"])
            r.append("{:,}".format(int(round(base + per * N))))
        rows.append(r)
    return rows


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sshgate", required=True)
    ap.add_argument("--haproxy", default="/usr/sbin/haproxy")
    ap.add_argument("--work", required=True, help="temp dir (has pki/)")
    ap.add_argument("--out", required=True, help="results.json path")
    ap.add_argument("--table-md", help="Markdown table path (default: "
                    "table.md beside --out)")
    ap.add_argument("--invoked-as", default="")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=4, help="P bulk clients")
    ap.add_argument("--mbytes", type=int, default=256, help="X MiB/client")
    ap.add_argument("--conns", type=int, default=2000, help="C")
    ap.add_argument("--conn-par", type=int, default=8)
    ap.add_argument("--sessions", type=int, default=5000, help="S")
    ap.add_argument("--rtts", type=int, default=2000)
    ap.add_argument("--nofile", type=int, default=20000,
                    help="RLIMIT_NOFILE of both proxies, in every phase")
    ap.add_argument("--pt-runs", type=int, default=3,
                    help="passthrough runs (0: none)")
    ap.add_argument("--limit-runs", type=int, default=1,
                    help="idle-session limit runs (0: none)")
    ap.add_argument("--limit-max", type=int, default=12000,
                    help="most sessions the limit phase opens")
    ap.add_argument("--limit-threads", type=int, default=3,
                    help="opening threads in each of the %d client "
                    "processes of the limit phase" % LIMIT_PROCS)
    ap.add_argument("--limit-timeout", type=float, default=5.0,
                    help="seconds a session may take to open in the limit "
                    "phase before it counts as refused")
    ap.add_argument("--floor-seconds", type=int, default=1,
                    help="seconds per openssl speed test (0: no floor)")
    ap.add_argument("--floor-repeats", type=int, default=3,
                    help="floor figures are the best of this many runs, "
                    "one before the rounds, then one after each round")
    ap.add_argument("--sshgate-line", action="append", default=[],
                    metavar="LINE", help="a line added to sshgate's config "
                    "(repeatable), e.g. 'tls-offload no'")
    ap.add_argument("--time-limit", type=float, default=900,
                    help="seconds for the whole run")
    a = ap.parse_args()
    t_start = time.monotonic()
    run_deadline = t_start + a.time_limit
    work = os.path.abspath(a.work)
    md_path = a.table_md or os.path.join(
        os.path.dirname(os.path.abspath(a.out)), "table.md")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = {"start": loadavg()}

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    # descriptors: the proxies get a.nofile (hard limit permitting); each
    # client process holds its share of the sessions, the sink backend one
    # socket per session the proxy under test holds
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    notes = []
    if hard != resource.RLIM_INFINITY and hard < a.nofile:
        notes.append("the hard open-file limit here is %d, below --nofile "
                     "%d: both proxies ran with RLIMIT_NOFILE %d, and the "
                     "idle-session limit was measured at %d fds, not %d"
                     % (hard, a.nofile, hard, hard, a.nofile))
        a.nofile = hard
    need = max(-(-a.sessions // 2),
               -(-a.limit_max // LIMIT_PROCS) if a.limit_runs else 0,
               max(a.sessions, min(a.limit_max, a.nofile // 2))
               if a.limit_runs else a.sessions) + 512
    if soft < need:
        if hard == resource.RLIM_INFINITY or hard >= need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        else:
            raise BenchError("open-file limit %d (hard %d) is below the %d "
                             "the clients and the backend need for %d "
                             "sessions (scripts/bench.sh raises it with "
                             "ulimit -n)" % (soft, hard, need,
                                             max(a.sessions, a.limit_max)))
    for n in notes:
        log("bench: NOTE: " + n)

    ver = versions(a)
    log("bench: %s | %s | %s | load average %s" % (
        ver["sshgate"], ver["haproxy"], ver["openssl"], load["start"]))
    kids = Children(work)
    result = {"versions": ver, "started": started, "params": {
        "rounds": a.rounds, "bulk_clients_P": a.parallel,
        "bulk_MiB_per_client_X": a.mbytes, "connections_C": a.conns,
        "connection_parallelism": a.conn_par, "idle_sessions_S": a.sessions,
        "echo_round_trips": a.rtts, "threads_per_proxy": 2,
        "proxy_nofile": a.nofile, "limit_runs": a.limit_runs,
        "limit_max": a.limit_max,
        "limit_openers": "%d processes x %d threads" % (LIMIT_PROCS,
                                                        a.limit_threads),
        "limit_timeout_s": a.limit_timeout,
        "floor_seconds": a.floor_seconds,
        "floor_repeats": a.floor_repeats, "notes": notes,
        "logging": "on for both: one line per connection to a file "
                   "(sshgate: log file, json; HAProxy: option tcplog to "
                   "stderr, which is a file)",
        "units": "MiB = 2^20 bytes, GiB = 2^30 bytes, KiB = 2^10 bytes",
        "cpu": "CPU of the whole proxy process, all threads: the sum of "
               "/proc/PID/task/*/schedstat on-CPU ns (exact), checked "
               "against utime+stime of /proc/PID/stat (1/%d s ticks; "
               "*_cpu_stat_s in the rounds), which is used instead if "
               "threads came or went or the two disagree" % CLK}}
    failures, rounds, logs, sanity_out = [], [], {}, {}
    pt_rounds = []
    limit_runs, floor = [], None
    fsamples, fcmds = collections.defaultdict(list), []

    def floor_run(when, **kw):
        if a.floor_seconds <= 0 or any(f.startswith("floor") for f in
                                       failures):
            return
        try:
            floor_sample(a.floor_seconds, fsamples, fcmds, **kw)
            log("bench: floor sample %s: %s" % (when, json.dumps(
                {k: round(v[-1], 4) for k, v in fsamples.items()
                 if v and not isinstance(v[-1], str)})))
        except (BenchError, OSError, subprocess.SubprocessError) as e:
            failures.append("floor: %s" % e)
            log("bench: FAILED: " + failures[-1])
    try:
        floor_run("before the rounds")
        ports = {}
        for b in ("sink", "echo", "ptsink"):
            pf = os.path.join(work, "%s.port" % b)
            p = kids.start(b, [sys.executable, os.path.join(
                os.path.dirname(os.path.abspath(__file__)), "backend.py"),
                "--listen", ADDR[b], "--mode", "echo" if b == "echo" else
                "sink", "--port-file", pf] +
                (["--skip-hello"] if b == "ptsink" else []),
                os.path.join(work, "backend-%s.out" % b))
            end = time.monotonic() + 10
            while not os.path.exists(pf):
                if p.poll() is not None or time.monotonic() > end:
                    raise BenchError("backend %s did not start:\n%s" %
                                     (b, tail(p.out_path)))
                time.sleep(0.05)
            with open(pf) as f:
                ports[b] = int(f.read())
            wait_port(p, ADDR[b], ports[b])
        check_configs(a, work, ports)
        result["config"] = {
            "sshgate": sshgate_conf(work, 0, ports, 0, a.nofile, a.sshgate_line),
            "haproxy": haproxy_conf(work, 0, ports, 0, a.nofile),
            "sshgate_passthrough": sshgate_conf(work, 0, ports, "P",
                                                a.nofile, a.sshgate_line,
                                                True),
            "haproxy_passthrough": haproxy_conf(work, 0, ports, "P",
                                                a.nofile, True),
            "rlimit_nofile": "%d for both (soft and hard), set between "
                             "fork and exec" % a.nofile}
        backends = [p for p in kids.procs]
        sink = backends[0]

        for rnd in range(a.rounds):
            order = PROXIES if rnd % 2 == 0 else PROXIES[::-1]
            log("bench: round %d/%d, order %s, load average %s" % (
                rnd + 1, a.rounds, " then ".join(order), loadavg()))
            procs, addrs, res = {}, {}, {n: {"errors": {}} for n in PROXIES}
            for n in order:
                procs[n], addrs[n] = start_proxy(kids, n, a, work, ports, rnd)
            if rnd == 0:
                for n in order:
                    sanity_out[n] = sanity(addrs[n],
                                           os.path.join(work, "pki",
                                                        "ca.pem"),
                                           ports["sink"])
                    log("bench: %s: %s" % (n, json.dumps(sanity_out[n])))
            for n in order:
                warm_up(addrs[n])
                time.sleep(0.3)
                res[n]["rss_idle"] = proc_rss_kib(procs[n].pid) / 1024
                res[n]["nofile"] = proc_nofile(procs[n].pid)
            for ph in PHASES:
                for n in order:
                    left = run_deadline - time.monotonic()
                    if left < 5:
                        raise BenchError("run time limit (%gs) reached in "
                                         "round %d" % (a.time_limit,
                                                       rnd + 1))
                    deadline = time.monotonic() + min(PHASE_CAP[ph], left)
                    t = time.monotonic()
                    try:
                        r = run_phase(ph, procs[n].pid, addrs[n], a,
                                      deadline)
                    except BenchError as e:
                        failures.append("round %d %s %s: %s" %
                                        (rnd + 1, n, ph, e))
                        log("bench: FAILED: " + failures[-1])
                        r = {"errors": {}}
                    errs = r.pop("errors")
                    if errs:
                        res[n]["errors"][ph] = errs
                    res[n].update(r)
                    log("bench:   %-7s %-5s %5.1fs %s%s" % (
                        n, ph, time.monotonic() - t,
                        " ".join("%s=%.4g" % (k, v) for k, v in r.items()
                                 if isinstance(v, float)),
                        (" errors=%s" % errs) if errs else ""))
                    if procs[n].poll() is not None:
                        raise BenchError("%s died (exit status %s) in "
                                         "phase %s:\n%s" %
                                         (n, procs[n].returncode, ph,
                                          tail(procs[n].out_path)))
            t = time.monotonic()
            try:
                left = run_deadline - time.monotonic()
                if left < 5:
                    raise BenchError("run time limit (%gs) reached in "
                                     "round %d" % (a.time_limit, rnd + 1))
                r = phase_rtt({n: procs[n].pid for n in order}, addrs, order,
                              a, time.monotonic() + min(PHASE_CAP["rtt"],
                                                        left))
                for n in order:
                    res[n].update(r[n])
                    log("bench:   %-7s %-5s %5.1fs %s" % (
                        n, "rtt", time.monotonic() - t,
                        " ".join("%s=%.4g" % (k, v) for k, v in r[n].items()
                                 if isinstance(v, float))))
            except BenchError as e:
                failures.append("round %d rtt: %s" % (rnd + 1, e))
                log("bench: FAILED: " + failures[-1])
            except (OSError, ssl.SSLError) as e:
                failures.append("round %d rtt: %s" % (rnd + 1, describe(e)))
                log("bench: FAILED: " + failures[-1])
            for n in PROXIES:
                if procs[n].poll() is not None:
                    raise BenchError("%s died (exit status %s):\n%s" %
                                     (n, procs[n].returncode,
                                      tail(procs[n].out_path)))
            for n in PROXIES:
                res[n]["exit_status"] = kids.stop(procs[n])
            rounds.append({"round": rnd + 1, "order": list(order),
                           "loadavg": loadavg(), **res})
            if rnd + 1 < a.floor_repeats:
                floor_run("after round %d" % (rnd + 1))
            logs["round%d" % (rnd + 1)] = {
                "sshgate_log": summarize_sshgate_log(
                    os.path.join(work, "sshgate-r%d.log" % rnd)),
                "sshgate_stderr": summarize_stderr(
                    os.path.join(work, "sshgate-r%d.out" % rnd)),
                "haproxy_log": summarize_haproxy_log(
                    os.path.join(work, "haproxy-r%d.out" % rnd)),
            }

        # passthrough: both proxies started fresh, with a passthrough route
        for k in range(a.pt_runs):
            tag = "P%d" % (k + 1)
            order = PROXIES if k % 2 == 0 else PROXIES[::-1]
            log("bench: passthrough run %d/%d, order %s, load average %s" % (
                k + 1, a.pt_runs, " then ".join(order), loadavg()))
            procs, addrs, res = {}, {}, {n: {"errors": {}} for n in PROXIES}
            for n in order:
                procs[n], addrs[n] = start_proxy(kids, n, a, work, ports, tag,
                                                 pt=True)
            for ph in ("up", "down"):
                for n in order:
                    left = run_deadline - time.monotonic()
                    if left < 5:
                        raise BenchError("run time limit (%gs) reached in "
                                         "passthrough run %d" % (
                                             a.time_limit, k + 1))
                    t = time.monotonic()
                    try:
                        r = phase_bulk(procs[n].pid, addrs[n], a,
                                       time.monotonic() +
                                       min(PHASE_CAP["pt"], left), ph,
                                       pt=True)
                    except BenchError as e:
                        failures.append("passthrough run %d %s %s: %s" %
                                        (k + 1, n, ph, e))
                        log("bench: FAILED: " + failures[-1])
                        r = {"errors": {}}
                    errs = r.pop("errors")
                    if errs:
                        res[n]["errors"]["pt_" + ph] = errs
                    res[n].update(r)
                    log("bench:   %-7s pt_%-4s %5.1fs %s%s" % (
                        n, ph, time.monotonic() - t,
                        " ".join("%s=%.4g" % (x, v) for x, v in r.items()
                                 if isinstance(v, float)),
                        (" errors=%s" % errs) if errs else ""))
                    if procs[n].poll() is not None:
                        raise BenchError("%s died (exit status %s) in "
                                         "passthrough:\n%s" %
                                         (n, procs[n].returncode,
                                          tail(procs[n].out_path)))
            for n in PROXIES:
                res[n]["exit_status"] = kids.stop(procs[n])
            pt_rounds.append({"round": k + 1, "order": list(order),
                              "loadavg": loadavg(), **res})

        # the idle-session limit: both proxies started fresh again
        for k in range(a.limit_runs):
            tag = "L%d" % (k + 1)
            order = PROXIES if k % 2 == 0 else PROXIES[::-1]
            log("bench: idle-session limit run %d/%d at RLIMIT_NOFILE %d, "
                "order %s, load average %s" % (
                    k + 1, a.limit_runs, a.nofile, " then ".join(order),
                    loadavg()))
            procs, addrs, res = {}, {}, {}
            for n in order:
                procs[n], addrs[n] = start_proxy(kids, n, a, work, ports, tag)
            for n in order:
                warm_up(addrs[n])
            sink_base = proc_fds(sink.pid)
            for n in order:
                left = run_deadline - time.monotonic()
                if left < 30:
                    failures.append("idle-session limit run %d %s: not run, "
                                    "run time limit (%gs)" % (
                                        k + 1, n, a.time_limit))
                    log("bench: FAILED: " + failures[-1])
                    continue
                t = time.monotonic()
                try:
                    r = phase_limit(n, procs[n], addrs[n], a,
                                    time.monotonic() +
                                    min(PHASE_CAP["limit"], left))
                    res[n] = r
                    log("bench:   %-7s limit %5.1fs held=%d opened=%d "
                        "rss=%.1fMiB fds=%d stopped by %s errors=%s "
                        "then %d more one at a time, then %s; proxy: %s" % (
                            n, time.monotonic() - t, r["limit_held"],
                            r["limit_opened"], r["limit_rss_kib"] / 1024,
                            r["limit_fds"], r["limit_stopped_by"],
                            r["limit_errors"],
                            r["limit_then_one_at_a_time"], r["limit_probe"],
                            r["limit_proxy_at_limit"]))
                except BenchError as e:
                    failures.append("idle-session limit run %d %s: %s" %
                                    (k + 1, n, e))
                    log("bench: FAILED: " + failures[-1])
                if procs[n].poll() is not None:
                    raise BenchError("%s died (exit status %s) in the "
                                     "idle-session limit phase:\n%s" %
                                     (n, procs[n].returncode,
                                      tail(procs[n].out_path)))
                wait_fds_below(sink.pid, sink_base + 64, 30)
            for n in PROXIES:
                kids.stop(procs[n])
            limit_runs.append({"run": k + 1, "order": list(order),
                               "loadavg": loadavg(), **res})
            logs["limit%d" % (k + 1)] = {
                "sshgate_log": summarize_sshgate_log(
                    os.path.join(work, "sshgate-r%s.log" % tag)),
                "sshgate_stderr": summarize_stderr(
                    os.path.join(work, "sshgate-r%s.out" % tag)),
                "haproxy_log": summarize_haproxy_log(
                    os.path.join(work, "haproxy-r%s.out" % tag)),
            }
        for p in backends:
            if p.poll() is not None:
                failures.append("backend %s died: %s" % (p.name,
                                                         tail(p.out_path)))
    except BenchError as e:
        failures.append(str(e))
        log("bench: FAILED: %s" % e)
    finally:
        if os.getpid() == MAIN_PID:
            kids.stop_all()

    load["end"] = loadavg()
    summary = summarize(rounds) if rounds else {}
    pt_summary = summarize(pt_rounds, PT_METRICS) if pt_rounds else {}
    lim = summarize_limit(limit_runs)
    aead = {n: SUITE_AEAD.get(sanity_out.get(n, {}).get("cipher"))
            for n in PROXIES}
    # up to --floor-repeats samples: one before the rounds, one after each
    # round but the last; the rest (fewer rounds than repeats) now
    n_done = len(fsamples.get("x25519_derive_us", []))
    for k in range(n_done, a.floor_repeats if n_done else 0):
        floor_run("after the rounds")
    extra = [v for v in aead.values() if v and v not in FLOOR_AEADS]
    for k in range(a.floor_repeats if extra and n_done else 0):
        floor_run("for %s" % ", ".join(extra), aeads=extra, pkey=False)
    floor = floor_summary(fsamples, fcmds, a.floor_seconds)
    py_cmd = " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv)
    elapsed = time.monotonic() - t_start

    head = [
        "sshgate vs HAProxy, %s, %d round(s), elapsed %.0fs" % (
            started, len(rounds), elapsed),
        "command: %s" % (a.invoked_as or py_cmd),
        "versions: %s | %s | %s" % (ver["sshgate"], ver["haproxy"],
                                    ver["openssl"]),
        "machine: %s CPUs, Linux %s, %s; load average (1/5/15 min) %s at "
        "start, %s at end" % (ver["cpus"], ver["kernel"], ver["python"],
                              load["start"], load["end"]),
        "load: P=%d clients x %d MiB, C=%d connections (%d parallel), "
        "S=%d idle sessions, %d echo round trips; both proxies: 2 threads, "
        "RLIMIT_NOFILE %d, one log line per connection to a file" % (
            a.parallel, a.mbytes, a.conns, a.conn_par, a.sessions, a.rtts,
            a.nofile),
        "values: median over the rounds (min-max over the rounds); "
        "sshgate/HAProxy: median of the per-round paired ratios (min-max); "
        "x floor: the proxy's median / this machine's crypto floor for it "
        "(below); verdict: within 5% = about equal",
    ] + ["NOTE: " + n for n in notes]
    text, md = [], []
    if summary:
        rows = table_rows(summary, floor, aead, a, "-")
        text.append(render_text(rows))
        md.append(render_md(table_rows(summary, floor, aead, a, "–")))
    if pt_summary:
        note = ("passthrough (%d fresh runs, TLS not terminated; HAProxy: "
                "mode tcp, req.ssl_sni after tcp-request inspect-delay; "
                "sshgate: a passthrough route, spliced):" % len(pt_rounds))
        text += ["", note, render_text(table_rows(
            pt_summary, None, aead, a, "-", PT_METRICS))]
        md += ["", note[0].upper() + note[1:], "", render_md(table_rows(
            pt_summary, None, aead, a, "–", PT_METRICS))]
    fl = floor_lines(floor, aead)
    text += fl
    md += ["", "\n".join("- " + x for x in fl)] if fl else []
    if lim:
        lr = limit_rows(lim, a)
        pr = projection_rows(summary, lim, a)
        text += ["", render_text(lr), "", render_text(pr)]
        md += ["", render_md(lr), "", render_md(pr)]
    proj_note = ("projection: the median RSS per idle session of the table "
                 "(measured at %d sessions) x N, the RSS only (the "
                 "process's base and the kernel's socket memory come on "
                 "top); fds: the fds per session measured at the limit x N "
                 "+ the fds open before it; this kernel lets one process "
                 "have at most %s fds (fs.nr_open)" % (
                     a.sessions, open("/proc/sys/fs/nr_open").read().strip()
                     if os.path.exists("/proc/sys/fs/nr_open") else "?"))
    if lim:
        text.append(proj_note)
        md += ["", proj_note[0].upper() + proj_note[1:] + "."]

    result.update({"command": a.invoked_as or py_cmd,
                   "python_command": py_cmd,
                   "elapsed_s": round(elapsed, 1), "loadavg": load,
                   "floor": floor, "negotiated_aead": aead,
                   "sanity": sanity_out, "summary": summary,
                   "rounds": rounds, "passthrough_summary": pt_summary,
                   "passthrough_runs": pt_rounds, "limit": lim, "limit_runs": limit_runs,
                   "logs": logs, "failures": failures,
                   "table_md": md_path})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(md_path, "w") as f:
        f.write("\n".join(["- " + h for h in head]) + "\n\n" +
                "\n".join(md) + "\n")

    p = print
    p("")
    for i, h in enumerate(head):
        p(h)
        if i == 1 and a.invoked_as:
            p("  which ran: %s" % py_cmd)
    p("CPU: whole proxy process, all threads (/proc/PID/task/*/schedstat, "
      "cross-checked with /proc/PID/stat utime+stime); RSS: VmRSS")
    p("setup: both proxies terminate TLS (same ECDSA P-256 cert, TLS 1.2+), "
      "route 2 SNI names, SSH-only check, 2 threads, log one line per "
      "connection to a file; clients and backends on the same machine")
    for n in PROXIES:
        if n in sanity_out:
            s = sanity_out[n]
            p("%s: %s %s cert %s.. | non-SSH client: %s after %sms, got "
              "%r, backend saw %d connection(s) | silent client got %r "
              "before sending its SSH line | unknown SNI: %s" %
              (n, s["tls_version"], s["cipher"], s["cert_sha256"][:16],
               s["not_ssh"]["end"], s["not_ssh"]["closed_after_ms"],
               s["not_ssh"]["client_got"],
               s["not_ssh"]["backend_connections"],
               s["before_client_hello"], s["unknown_sni"]))
    p("")
    for line in text:
        p(line)
    p("")
    for r in rounds:
        for n in PROXIES:
            if r[n]["errors"]:
                p("round %d %s client-side errors: %s" %
                  (r["round"], n, json.dumps(r[n]["errors"])))
    for rk, lg in logs.items():
        sg, hp = lg["sshgate_log"], lg["haproxy_log"]
        p("%s sshgate log: %d records %s%s" % (
            rk, sg.get("records", 0), json.dumps(sg.get("result/reason", {}),
                                                 sort_keys=True),
            (" details: " + json.dumps(sg["details"])) if sg.get("details")
            else ""))
        if lg["sshgate_stderr"]:
            p("%s sshgate stderr: %s" % (rk, " | ".join(
                lg["sshgate_stderr"][:5])))
        p("%s HAProxy log: %d records (its frontend counted %s) %s" % (
            rk, hp.get("records", 0), hp.get("frontend_connections"),
            json.dumps(hp.get("backend/server termination_state", {}),
                       sort_keys=True)))
        if hp.get("other_output"):
            p("%s HAProxy other output: %s" % (rk, " | ".join(
                hp["other_output"][:5])))
    for f in failures:
        p("FAILURE: " + f)
    p("results: %s, table: %s (elapsed %.0fs)" % (
        os.path.abspath(a.out), md_path, elapsed))
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("bench: FAILED: %s" % e)
        sys.exit(1)
