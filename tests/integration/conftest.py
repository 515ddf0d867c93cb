"""Fixtures for the sshgate integration tests.

A session PKI (CA, gateway ECDSA and RSA certificates), client certificates,
a 50 MB random file, OpenSSH backends on 127.0.0.2-4, a factory that starts
gateways from config text and checks at teardown that each one stops
cleanly on SIGTERM (exit 0, no sanitizer report), raw Python backends, and
an `ssh` runner using the HAProxy recipe's ProxyCommand unchanged.

Session fixtures are made once per pytest-xdist worker, or once per run
(made_once) for what no test changes: nothing here may hold a fixed port
or a fixed path."""

import fcntl
import hashlib
import json
import os
import pwd
import shutil
import signal
import subprocess

import pytest

from sshgate_helpers import (ClientPki, RawBackend, free_port,
                             parse_text_record, record_matches, terminate,
                             wait_tcp, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "LeakSanitizer")
USER = pwd.getpwuid(os.getuid()).pw_name

# Loopback addresses: OpenSSH backends, raw Python backends, nobody.
SSHD_ADDRS = {"a": "127.0.0.2", "b": "127.0.0.3", "c": "127.0.0.4"}
RAW_ADDR = "127.0.0.5"
DEAD_ADDR = "127.0.0.9"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow(seconds): takes about that long whatever the "
        "machine; such tests run first, longest first, so that under "
        "pytest-xdist they overlap with the rest")


def pytest_collection_modifyitems(items):
    def seconds(item):
        m = item.get_closest_marker("slow")
        return m.args[0] if m else 0
    items.sort(key=lambda item: -seconds(item))


@pytest.fixture(scope="session")
def gw_bin():
    path = os.environ.get("SSHGATE_BIN",
                          os.path.join(TOP, "build", "sshgate"))
    if not os.access(path, os.X_OK):
        pytest.fail("sshgate binary not found at %s (run make, or set "
                    "SSHGATE_BIN)" % path)
    return path


def _sh(argv, cwd=None):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv),
                                               r.stderr.decode()))
    return r


def made_once(tmp_path_factory, name, make):
    """A directory that make(directory) fills once for the whole run: under
    pytest-xdist the first worker to ask makes it while the others wait,
    then all of them read it. For what no test changes."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        d = tmp_path_factory.mktemp(name)
        make(d)
        return d
    # the run's own directory, above each worker's basetemp
    root = tmp_path_factory.getbasetemp().parent
    d = root / name
    with open(root / (name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / (name + ".done")).exists():
            if d.exists():
                shutil.rmtree(d)	# a worker that failed half way
            d.mkdir()
            make(d)
            (root / (name + ".done")).write_text("")
    return d


def _make_pki(d):
    _sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "30", "-subj", "/CN=sshgate test CA"], cwd=d)
    (d / "san.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    for kind, alg in (("ecdsa", ["-newkey", "ec", "-pkeyopt",
                                 "ec_paramgen_curve:P-256"]),
                      ("rsa", ["-newkey", "rsa:2048"])):
        _sh(["openssl", "req", "-new"] + alg +
            ["-nodes", "-keyout", "gw-%s.key" % kind, "-out",
             "gw-%s.csr" % kind, "-subj", "/CN=localhost"], cwd=d)
        _sh(["openssl", "x509", "-req", "-in", "gw-%s.csr" % kind, "-CA",
             "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
             "-extfile", "san.ext", "-out", "gw-%s.crt" % kind], cwd=d)
        crt = (d / ("gw-%s.crt" % kind)).read_text()
        key = (d / ("gw-%s.key" % kind)).read_text()
        (d / ("gateway-%s.pem" % kind)).write_text(crt + key)
    _sh(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-out", "stray.key"], cwd=d)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """CA + gateway ECDSA and RSA certificates (SAN localhost, 127.0.0.1,
    ::1), each as one PEM with chain and key; the keys also separately;
    plus a stray ECDSA key that matches nothing. Made once per run."""
    d = made_once(tmp_path_factory, "pki", _make_pki)
    out = {"dir": d, "ca": d / "ca.pem", "stray_key": d / "stray.key"}
    for kind in ("ecdsa", "rsa"):
        out[kind] = d / ("gateway-%s.pem" % kind)
        out[kind + "_crt"] = d / ("gw-%s.crt" % kind)
        out[kind + "_key"] = d / ("gw-%s.key" % kind)
    return out


CLIENT_USERS = ("alice", "bob", "mallory", "dave", "rita")


def _make_client_pki(d):
    p = ClientPki(d)
    p.user("alice", "/CN=alice/OU=ops")
    p.user("bob", "/CN=bob/OU=dev")
    p.user("mallory", "/CN=mallory", ca="other-ca")
    p.user("dave", "/CN=dave", start="20200101000000Z",
           end="20200102000000Z")
    p.user("rita", "/CN=rita")
    p.revoke("rita")
    (d / "alice-combined.pem").write_text(
        (d / "alice.crt").read_text() + (d / "alice.key").read_text())


@pytest.fixture(scope="session")
def client_pki(tmp_path_factory):
    """Client certificates: alice (OU ops) and bob (OU dev) from the client
    CA, mallory from a CA the gateway does not trust, dave expired, rita
    revoked; alice also as one PEM with certificate and key. Made once per
    run: no test may add to it (test_access has its own)."""
    d = made_once(tmp_path_factory, "client-pki", _make_client_pki)
    p = ClientPki(d, create=False)
    p.certs = {u: (d / (u + ".crt"), d / (u + ".key"))
               for u in CLIENT_USERS}
    p.alice_pem = d / "alice-combined.pem"
    return p


def _make_big_file(d):
    h = hashlib.sha256()
    with open("/dev/urandom", "rb") as src, open(d / "blob", "wb") as out:
        left = 50000000
        while left:
            chunk = src.read(min(left, 1 << 20))
            h.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    (d / "blob.sha256").write_text(h.hexdigest())


@pytest.fixture(scope="session")
def big_file(tmp_path_factory):
    """50 MB from /dev/urandom and its SHA-256 (hex), made once per run."""
    d = made_once(tmp_path_factory, "big", _make_big_file)
    return d / "blob", (d / "blob.sha256").read_text()


@pytest.fixture(scope="session")
def user_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("userkey")
    _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
         str(d / "id_ed25519")])
    return d / "id_ed25519"


class Sshd:
    def __init__(self, name, addr, port, proc, log):
        self.name, self.addr, self.port = name, addr, port
        self.proc, self.log = proc, log

    @property
    def hostport(self):
        return "%s:%d" % (self.addr, self.port)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory, user_key):
    """Three OpenSSH servers: sshd['a'] on 127.0.0.2, 'b' on .3, 'c' on .4."""
    if os.getuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)
    servers = {}
    try:
        for name, addr in SSHD_ADDRS.items():
            d = tmp_path_factory.mktemp("sshd-" + name)
            _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                 str(d / "host_key")])
            shutil.copy(str(user_key) + ".pub", d / "authorized_keys")
            os.chmod(d / "authorized_keys", 0o600)
            port = free_port(addr)
            (d / "sshd_config").write_text(
                "ListenAddress %s:%d\n" % (addr, port) +
                "HostKey %s\n" % (d / "host_key") +
                "AuthorizedKeysFile %s\n" % (d / "authorized_keys") +
                "PidFile none\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "PubkeyAuthentication yes\n"
                "PermitRootLogin prohibit-password\n"
                "UsePAM no\n"
                "StrictModes no\n"
                "PrintMotd no\n"
                "MaxStartups 200\n"
                "MaxSessions 100\n"
                # the gateway relays the key exchange without reading it;
                # the default one (sntrup761) costs each session 0.1 s of
                # CPU on both ends
                "KexAlgorithms curve25519-sha256\n"
                # bash, started by sshd, reads ~/.bashrc unless it is a
                # nested shell: the user's shell setup is no part of the
                # tests (it may print, or take 0.2 s a session)
                "SetEnv SHLVL=1\n"
                "LogLevel INFO\n")
            log = open(d / "sshd.log", "wb")
            proc = subprocess.Popen(
                ["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            servers[name] = Sshd(name, addr, port, proc, d / "sshd.log")
        for s in servers.values():
            try:
                wait_tcp(s.addr, s.port, timeout=10)
            except AssertionError:
                raise RuntimeError("sshd %s did not start: %s" % (
                    s.name, s.log.read_text(errors="replace")))
        yield servers
    finally:
        for s in servers.values():
            terminate(s.proc)


class Gateway:
    """One `sshgate serve` process, started from a config text."""

    def __init__(self, bin_, workdir, conf_text, port, host="127.0.0.1",
                 prefix=()):
        self.bin, self.dir = bin_, workdir
        self.port, self.host = port, host
        self.conf = workdir / "sshgate.conf"
        self.conf.write_text(conf_text)
        self.logfile = workdir / "gateway.log"
        self.errfile = workdir / "stderr.txt"
        self._err = open(self.errfile, "wb")
        # prefix: a command that execs the gateway (e.g. prlimit ...)
        self.proc = subprocess.Popen(
            list(prefix) + [self.bin, "serve", "-c", str(self.conf)],
            cwd=str(workdir),
            stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err)
        self.stopped_rc = None

    @property
    def addr(self):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def stderr(self):
        return self.errfile.read_text(errors="replace")

    def wait_stderr(self, text, timeout=10, count=1):
        wait_until(lambda: self.stderr().count(text) >= count or
                   self.proc.poll() is not None, timeout,
                   what="%r in gateway stderr" % text)
        if self.stderr().count(text) < count:
            raise AssertionError("gateway exited (rc=%s) before %r; "
                                 "stderr:\n%s" % (self.proc.returncode,
                                                  text, self.stderr()))

    def wait_ready(self):
        self.wait_stderr("sshgate: serving with", timeout=30)
        assert "sshgate: listening on" in self.stderr()

    def lines(self):
        try:
            return self.logfile.read_text(errors="surrogateescape")\
                .splitlines()
        except FileNotFoundError:
            return []

    def records(self, json_format=False, events=("close",)):
        """The audit records, by default the "close" ones (one per
        connection); events=("open", "close") for both kinds."""
        out = []
        for line in self.lines():
            r = json.loads(line) if json_format else parse_text_record(line)
            if r.get("event") in events:
                out.append(r)
        return out

    def wait_record(self, timeout=10, json_format=False, events=("close",),
                    **conds):
        """Waits (bounded) for a record with these key=value conditions
        (a value may be a predicate); returns it."""
        found = []

        def look():
            for r in self.records(json_format, events):
                r2 = {k: str(v) for k, v in r.items()} if json_format else r
                if record_matches(r2, conds):
                    found.append(r)
                    return True
            return False
        try:
            wait_until(look, timeout, what="a log record with %r" % conds)
        except AssertionError:
            raise AssertionError(
                "no record matching %r within %ss; log:\n%s\nstderr:\n%s"
                % (conds, timeout, "\n".join(self.lines()), self.stderr()))
        return found[0]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("gateway did not exit within %ss of "
                                     "SIGTERM; stderr:\n%s"
                                     % (timeout, self.stderr()))
        self._err.close()
        return self.proc.returncode

    def assert_clean_exit(self):
        rc = self.stop()
        err = self.stderr()
        bad = [l for l in err.splitlines()
               if any(m in l for m in SANITIZER_MARKS)]
        assert not bad, "sanitizer report in gateway stderr:\n%s" % err
        assert rc == 0, "gateway exited %s; stderr:\n%s" % (rc, err)


def gw_config(port, routes, *, listen=None, certs=None, pki=None,
              ssh_only=None, timeouts=None, extra="", log="file gateway.log",
              log_format=None, workers=2, max_connections=None):
    """A config text. routes: a list of "PATTERN to HOST:PORT..." strings.
    timeouts: dict kind -> duration, merged over fast test defaults."""
    t = {"handshake": "2s", "inspect": "2s", "connect": "1s", "drain": "2s"}
    t.update(timeouts or {})
    lines = []
    for l in (listen or ["127.0.0.1:%d" % port]):
        lines.append("listen %s" % l)
    if certs is None:
        certs = ['"%s"' % pki["ecdsa"], '"%s"' % pki["rsa"]]
    for c in certs:
        lines.append("certificate %s" % c)
    if ssh_only is not None:
        lines.append("ssh-only %s" % ssh_only)
    for k, v in t.items():
        if v is not None:
            lines.append("timeout %s %s" % (k, v))
    if max_connections is not None:
        lines.append("max-connections %d" % max_connections)
    if workers is not None:
        lines.append("workers %d" % workers)
    for r in routes:
        lines.append("route %s" % r)
    if log is not None:
        lines.append("log %s" % log)
    if log_format is not None:
        lines.append("log-format %s" % log_format)
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


@pytest.fixture
def gateway(gw_bin, pki, tmp_path):
    """Factory: gateway(routes, **gw_config options) -> a ready Gateway.
    Or gateway(conf_text=..., port=...) for a text written by the test.
    Every gateway is stopped with SIGTERM at teardown and must exit 0
    with no sanitizer report."""
    started = []

    def start(routes=None, *, conf_text=None, port=None, host="127.0.0.1",
              wait=True, prefix=(), **kw):
        port = port or free_port(host)
        d = tmp_path / ("gw%d" % len(started))
        d.mkdir()
        if conf_text is None:
            conf_text = gw_config(port, routes or [], pki=pki, **kw)
        g = Gateway(gw_bin, d, conf_text, port, host, prefix)
        started.append(g)
        if wait:
            g.wait_ready()
        return g

    yield start
    errors = []
    for g in started:
        try:
            g.assert_clean_exit()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors))


@pytest.fixture
def raw_backend():
    """Factory: raw_backend(handler, host=RAW_ADDR) -> RawBackend."""
    made = []

    def make(handler, host=RAW_ADDR):
        b = RawBackend(host, free_port(host), handler)
        made.append(b)
        return b
    yield make
    for b in made:
        b.close()


def ssh_argv(user_key, gw_addr, target="x", cmd="echo $SSH_CONNECTION",
             servername="%h", extra=(), s_client_extra=""):
    """The recipe's client command: ssh with openssl s_client as the
    ProxyCommand, -servername %h unless servername is given (and no other
    s_client option unless s_client_extra is given)."""
    return ["ssh", "-F", "/dev/null",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes",
            "-i", str(user_key),
            "-o", "ProxyCommand=openssl s_client -quiet -connect %s "
                  "-servername %s%s" % (gw_addr, servername,
                                        " " + s_client_extra
                                        if s_client_extra else "")] + \
        list(extra) + ["%s@%s" % (USER, target), cmd]


class SshRunner:
    def __init__(self, user_key):
        self.user_key = user_key

    def argv(self, gw, target="x", cmd="echo $SSH_CONNECTION", **kw):
        gw_addr = gw if isinstance(gw, str) else gw.addr
        return ssh_argv(self.user_key, gw_addr, target, cmd, **kw)

    def __call__(self, gw, target="x", cmd="echo $SSH_CONNECTION",
                 input=b"", timeout=30, **kw):
        """Runs ssh to completion; returns CompletedProcess (bytes)."""
        return subprocess.run(self.argv(gw, target, cmd, **kw), input=input,
                              capture_output=True, timeout=timeout)

    def popen(self, gw, target="x", cmd="echo $SSH_CONNECTION", **kw):
        return subprocess.Popen(self.argv(gw, target, cmd, **kw),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def server_addr(self, gw, target="x", **kw):
        """The address the backend saw itself at ($SSH_CONNECTION's 3rd
        field): proves which backend answered. Asserts ssh succeeded."""
        r = self(gw, target, **kw)
        assert r.returncode == 0, "ssh to %s via %s failed (%d): %s" % (
            target, gw if isinstance(gw, str) else gw.addr, r.returncode,
            r.stderr.decode(errors="replace"))
        fields = r.stdout.decode().split()
        assert len(fields) == 4, r.stdout
        return fields[2]


@pytest.fixture(scope="session")
def ssh(user_key):
    return SshRunner(user_key)
