"""Helpers for the sshgate integration tests: ports, the audit-log parser,
raw TCP backends, client certificates, TLS clients and bounded waits. No
pytest in here."""

import datetime
import os
import re
import random
import select
import socket
import ssl
import subprocess
import threading
import time

# Ports outside Linux's default ephemeral range (32768-60999), so that the
# source ports of outgoing connections never collide with them.
PORT_LOW, PORT_HIGH = 20000, 32000


def _port_range():
    """This process's share of PORT_LOW..PORT_HIGH: under pytest-xdist each
    worker draws from its own slice, so that two workers never pick the
    same port between checking it and binding it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count < 2:
        return PORT_LOW, PORT_HIGH
    i = int(worker[2:]) % count
    size = (PORT_HIGH - PORT_LOW + 1) // count
    return PORT_LOW + i * size, PORT_LOW + (i + 1) * size - 1


_given = set()
_given_lock = threading.Lock()


def port_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(host="127.0.0.1"):
    """A port nobody listens on (and never given out before) on host."""
    low, high = _port_range()
    with _given_lock:
        for _ in range(200):
            p = random.randint(low, high)
            if p in _given:
                continue
            if port_free(host, p):
                _given.add(p)
                return p
    raise RuntimeError("no free port found on %s" % host)


def have_ipv6_loopback():
    """True if ::1 can be bound here."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_both(hosts=("127.0.0.1", "::1")):
    """A port free on every one of hosts."""
    for _ in range(50):
        p = free_port(hosts[0])
        if all(port_free(h, p) for h in hosts[1:]):
            return p
    raise RuntimeError("no port free on all of %s" % (hosts,))


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value (returned) or timeout.
    The first looks come quickly (5 ms apart, doubling), then every
    interval: most conditions hold within milliseconds."""
    deadline = time.monotonic() + timeout
    pause = min(0.005, interval)
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(pause)
        pause = min(pause * 2, interval)


def wait_tcp(host, port, timeout=10.0):
    """Waits until host:port accepts a TCP connection."""
    def ok():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False
    wait_until(ok, timeout, what="%s:%d to accept" % (host, port))


# ---------------------------------------------------------------------------
# The audit log, text form: TIMESTAMP key=value key="quoted \" value" ...

_ESC = {'"': b'"', "\\": b"\\", "n": b"\n", "t": b"\t"}


def parse_text_record(line):
    """Parses one text record into a dict (str values; 'time' is the
    timestamp). Raises ValueError on anything malformed."""
    if line.endswith("\n"):
        line = line[:-1]
    if "\n" in line or "\r" in line:
        raise ValueError("record spans lines: %r" % line)
    sp = line.find(" ")
    if sp <= 0:
        raise ValueError("no timestamp: %r" % line)
    rec = {"time": line[:sp]}
    i, n = sp, len(line)
    while i < n:
        if line[i] != " ":
            raise ValueError("expected a blank at %d: %r" % (i, line))
        i += 1
        eq = line.find("=", i)
        if eq <= i:
            raise ValueError("expected key= at %d: %r" % (i, line))
        key = line[i:eq]
        if not all(c.isalnum() or c == "_" for c in key):
            raise ValueError("bad key %r: %r" % (key, line))
        if key in rec:
            raise ValueError("key %r twice: %r" % (key, line))
        i = eq + 1
        if i < n and line[i] == '"':
            i += 1
            out = bytearray()
            while True:
                if i >= n:
                    raise ValueError("unterminated quote: %r" % line)
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= n:
                        raise ValueError("dangling escape: %r" % line)
                    e = line[i + 1]
                    if e in _ESC:
                        out += _ESC[e]
                        i += 2
                    elif e == "x" and i + 3 < n and \
                            all(h in "0123456789abcdefABCDEF"
                                for h in line[i + 2:i + 4]):
                        out.append(int(line[i + 2:i + 4], 16))
                        i += 4
                    else:
                        raise ValueError("bad escape at %d: %r" % (i, line))
                    continue
                out += c.encode("utf-8", "surrogateescape")
                i += 1
            value = out.decode("utf-8", "surrogateescape")
            if i < n and line[i] != " ":
                raise ValueError("junk after quoted value: %r" % line)
        else:
            j = line.find(" ", i)
            j = n if j == -1 else j
            value = line[i:j]
            if '"' in value or value == "":
                raise ValueError("bad bare value at %d: %r" % (i, line))
            i = j
        rec[key] = value
    return rec


def record_matches(rec, conds):
    for k, v in conds.items():
        if callable(v):
            if k not in rec or not v(rec[k]):
                return False
        elif rec.get(k) != v:
            return False
    return True


# ---------------------------------------------------------------------------
# Raw TCP backends (stand-ins for an SSH server)

class RawBackend:
    """A TCP server on host:port; each connection runs handler(conn, rec)
    in a thread. rec is a dict: 'received' (bytes), 'eof' (bool), 'closed'
    (threading.Event). Records are kept in self.conns."""

    def __init__(self, host, port, handler):
        self.host, self.port, self.handler = host, port, handler
        self.conns = []
        self.lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = {"received": b"", "eof": False,
                   "closed": threading.Event(), "sock": c}
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._run, args=(c, rec),
                             daemon=True).start()

    def _run(self, c, rec):
        try:
            c.settimeout(30)
            self.handler(c, rec)
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass
            rec["closed"].set()

    @property
    def hostport(self):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def wait_conns(self, n, timeout=10):
        wait_until(lambda: len(self.conns) >= n, timeout,
                   what="%d connection(s) on backend %s:%d"
                   % (n, self.host, self.port))
        return self.conns[:n]

    def close(self):
        self.stopping = True
        try:
            # wakes the accept loop at once (a plain close would leave it
            # waiting out its 0.2 s poll)
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.thread.join(2)
        with self.lock:
            for rec in self.conns:
                try:
                    rec["sock"].close()
                except OSError:
                    pass


def read_until_eof(c, rec, limit=1 << 24):
    while len(rec["received"]) < limit:
        d = c.recv(65536)
        if not d:
            rec["eof"] = True
            return
        rec["received"] += d


BANNER = b"SSH-2.0-RawBackend_1.0\r\n"


def banner_then_record(c, rec):
    """Sends an SSH server banner at once, then records what arrives."""
    c.sendall(BANNER)
    read_until_eof(c, rec)


def echo_after_eof(c, rec):
    """Reads until EOF, then answers 'got N bytes: <data>' and closes."""
    read_until_eof(c, rec)
    c.sendall(b"got %d bytes: " % len(rec["received"]) + rec["received"])
    c.shutdown(socket.SHUT_WR)


def echo(c, rec):
    """Echoes every chunk at once, until EOF."""
    while True:
        d = c.recv(65536)
        if not d:
            rec["eof"] = True
            return
        rec["received"] += d
        c.sendall(d)


def banner_then_reset_on(trigger):
    """Sends a banner, echoes, and resets the connection (RST) as soon as
    trigger (bytes) has been received."""
    def handler(c, rec):
        c.sendall(BANNER)
        while trigger not in rec["received"]:
            d = c.recv(65536)
            if not d:
                rec["eof"] = True
                return
            rec["received"] += d
            c.sendall(d)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
    return handler


class StuckListener:
    """A listening socket that never accepts, with its accept queue full,
    so that the kernel drops new SYNs: connects to it hang (a real
    connect timeout, on loopback)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, port))
        self.sock.listen(0)
        self.fillers = []
        # listen(0) queues one connection; a few more make sure it's full
        for _ in range(3):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex((host, port))
            self.fillers.append(f)
        time.sleep(0.2)

    def probe_hangs(self, secs=0.5):
        """True if a new connect does not complete within secs."""
        p = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        p.settimeout(secs)
        try:
            p.connect((self.host, self.port))
            return False
        except socket.timeout:
            return True
        except OSError:
            return False
        finally:
            p.close()

    def close(self):
        for f in self.fillers:
            f.close()
        self.sock.close()


# ---------------------------------------------------------------------------
# Client certificates, made with the openssl command

CA_CNF = """[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
new_certs_dir = newcerts
certificate = ca.pem
private_key = ca.key
serial = serial
crlnumber = crlnumber
default_md = sha256
default_days = 1
default_crl_days = 30
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
"""


def _sh(argv, cwd):
    r = subprocess.run([str(a) for a in argv], cwd=str(cwd),
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(map(str, argv)),
                                       r.stderr.decode()))


class ClientPki:
    """A client CA (with `openssl ca` state for revocation), users, and a
    second CA nobody trusts. create=False: the one already in d, to read
    (issuing more could reuse a serial)."""

    def __init__(self, d, create=True):
        self.d = d
        self.serial = 0x100
        if not create:
            return
        (d / "newcerts").mkdir()
        (d / "index.txt").write_text("")
        (d / "serial").write_text("1000\n")
        (d / "crlnumber").write_text("01\n")
        (d / "ca.cnf").write_text(CA_CNF)
        for ca in ("ca", "other-ca"):
            _sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 ca + ".key", "-out", ca + ".pem", "-days", "30", "-subj",
                 "/CN=%s" % ca], d)
        self.crl()

    def user(self, name, subj, ca="ca", start=None, end=None):
        """Issues name.crt/.key for subj; start/end: `openssl ca` dates."""
        _sh(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
             "-out", name + ".csr", "-utf8", "-subj", subj], self.d)
        if start or end:
            _sh(["openssl", "ca", "-batch", "-config", "ca.cnf",
                 "-preserveDN", "-utf8", "-startdate", start, "-enddate",
                 end, "-in", name + ".csr", "-out", name + ".crt"], self.d)
        else:
            self.serial += 1
            _sh(["openssl", "x509", "-req", "-in", name + ".csr", "-CA",
                 ca + ".pem", "-CAkey", ca + ".key", "-set_serial",
                 str(self.serial), "-days", "1", "-out", name + ".crt"],
                self.d)
        return (self.d / (name + ".crt"), self.d / (name + ".key"))

    def revoke(self, name):
        _sh(["openssl", "ca", "-config", "ca.cnf", "-revoke",
             name + ".crt"], self.d)
        self.crl()

    def crl(self):
        _sh(["openssl", "ca", "-config", "ca.cnf", "-gencrl", "-out",
             "crl.pem"], self.d)

    def path(self, f):
        return self.d / f


def utc(delta):
    """A date for `openssl ca`: now + delta seconds, in UTC."""
    t = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=delta)
    return t.strftime("%Y%m%d%H%M%SZ")


# ---------------------------------------------------------------------------
# TLS clients

def client_context(**kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if "max_version" in kw:
        ctx.maximum_version = kw["max_version"]
    if "ciphers" in kw:
        ctx.set_ciphers(kw["ciphers"])
    return ctx


def tls_connect(port, sni, host="127.0.0.1", timeout=5.0):
    """A blocking TLS connection to the gateway with this SNI."""
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return client_context().wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def recv_exactly(s, n, timeout=5.0):
    s.settimeout(timeout)
    data = b""
    while len(data) < n:
        d = s.recv(n - len(data))
        if not d:
            break
        data += d
    return data


def recv_until_closed(s, timeout=5.0, limit=1 << 24):
    """Reads until EOF (or a reset, or the TLS layer failing on close).
    Returns (data, how) where how is 'eof', 'error:...' or 'timeout'."""
    s.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < limit:
        if time.monotonic() > deadline:
            return data, "timeout"
        try:
            d = s.recv(65536)
        except socket.timeout:
            return data, "timeout"
        except (ssl.SSLError, OSError) as e:
            return data, "error:%s" % e
        if not d:
            return data, "eof"
        data += d
    return data, "limit"


class BioTLSClient:
    """A TLS client over a plain socket with memory BIOs, so that the test
    controls exactly what goes on the wire: close_notify, or a TCP FIN
    without close_notify, while still reading the other direction."""

    def __init__(self, port, sni, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        ctx = client_context()
        # Python sets this by default: a TCP FIN would then read as a
        # close_notify, and read_all could not tell them apart
        ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        self.timeout = timeout
        self._loop(self.obj.do_handshake)

    def _flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def _feed(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("TLS peer silent")
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise TimeoutError("TLS peer silent")
        d = self.sock.recv(65536)
        if not d:
            self.inc.write_eof()
        else:
            self.inc.write(d)

    def _loop(self, op, *args):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                r = op(*args)
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                self._feed(deadline)

    def send(self, data):
        self._loop(self.obj.write, data)

    def close_notify(self):
        """Sends close_notify; reading stays possible."""
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self._flush()

    def shut_wr(self):
        """A TCP FIN with no close_notify."""
        self.sock.shutdown(socket.SHUT_WR)

    def read_all(self, timeout=5.0):
        """Reads application data until the peer's close_notify or EOF.
        Returns (data, how)."""
        deadline = time.monotonic() + timeout
        data = b""
        while True:
            try:
                d = self.obj.read(65536)
                if not d:
                    return data, "close_notify"
                data += d
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return data, "close_notify"
            except ssl.SSLEOFError:
                return data, "eof"
            except ssl.SSLError as e:
                return data, "error:%s" % e
            try:
                self._feed(deadline)
            except TimeoutError:
                return data, "timeout"
            except OSError as e:
                return data, "error:%s" % e

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------
# The gateway's notice: "sshgate-notice refused|ended REASON TEXT\r\n"

NOTICE = re.compile(rb"^sshgate-notice (refused|ended) ([a-z-]+) "
                    rb"([ -~]*)\r\n$")


def notice_of(data):
    """(kind, reason, text) if data is exactly one notice, else None."""
    m = NOTICE.match(data)
    if m is None:
        return None
    return tuple(x.decode() for x in m.groups())


def is_notice(data, reason=None):
    n = notice_of(data)
    return n is not None and (reason is None or n[1] == reason)


# ---------------------------------------------------------------------------
# Processes

def run(argv, timeout=30, input=None, **kw):
    """subprocess.run with a timeout and captured text output."""
    return subprocess.run(argv, input=input, capture_output=True,
                          timeout=timeout, **kw)


def openssl_client(port, sni=None, host="127.0.0.1", extra=(), input=b"",
                   timeout=15):
    """openssl s_client against the gateway; returns CompletedProcess
    (bytes output)."""
    argv = ["openssl", "s_client", "-connect", "%s:%d" % (host, port)]
    if sni is None:
        argv.append("-noservername")
    else:
        argv += ["-servername", sni]
    argv += list(extra)
    return subprocess.run(argv, input=input, capture_output=True,
                          timeout=timeout)


def terminate(proc, timeout=5):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def read_line_from(proc, timeout=10):
    """Reads one line from proc.stdout (bytes), bounded in time."""
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no line from pid %d within %ss (got %r)"
                                 % (proc.pid, timeout, buf))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            d = os.read(fd, 1)
            if not d:
                raise AssertionError("pid %d closed stdout (got %r)"
                                     % (proc.pid, buf))
            buf += d
    return buf.decode()


def served_key_type(r):
    """From openssl s_client's output: 'rsa' or 'ecdsa', the type of
    the certificate the server sent."""
    out = r.stdout.decode(errors="replace")
    begin = out.find("-----BEGIN CERTIFICATE-----")
    end = out.find("-----END CERTIFICATE-----")
    assert begin != -1 and end != -1, out + r.stderr.decode()
    pem = out[begin:end + len("-----END CERTIFICATE-----")] + "\n"
    x = run(["openssl", "x509", "-noout", "-text"], input=pem.encode())
    text = x.stdout.decode()
    if "rsaEncryption" in text:
        return "rsa"
    if "id-ecPublicKey" in text:
        return "ecdsa"
    return text
