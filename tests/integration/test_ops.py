"""Running it in production: log files reopened on SIGUSR1 (logrotate)."""

import os
import time
import signal

from sshgate_helpers import terminate, wait_until


def test_sigusr1_reopens_log_file(gateway, sshd, ssh):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    assert ssh.server_addr(gw, "one") == sshd["a"].addr
    gw.wait_record(sni="one")
    rotated = gw.dir / "gateway.log.1"
    os.rename(gw.logfile, rotated)		# what logrotate does
    gw.signal(signal.SIGUSR1)
    gw.wait_stderr("log files reopened")
    assert ssh.server_addr(gw, "two") == sshd["a"].addr
    wait_until(lambda: gw.logfile.exists() and
               "sni=two" in gw.logfile.read_text(), 10,
               what="a record in the new log file")
    old = rotated.read_text()
    assert "sni=one" in old and "sni=two" not in old
    assert "sni=one" not in gw.logfile.read_text()
    assert oct(gw.logfile.stat().st_mode & 0o777) == "0o640"


# --- per-client-address limits -------------------------------------------

import socket
import ssl


def session(port, src="127.0.0.1"):
    """A TLS session from source address src that has sent its SSH
    banner; returns the socket, or None if the gateway refused."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5,
                                   source_address=(src, 0))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        s = ctx.wrap_socket(raw, server_hostname="db.example.local")
        s.sendall(b"SSH-2.0-test\r\n")
        s.settimeout(5)
        return s if s.recv(100) else None
    except (ssl.SSLError, OSError):
        raw.close()
        return None


def banner(c, rec):
    c.sendall(b"SSH-2.0-backend\r\n")
    while c.recv(4096):
        pass


def test_max_connections_per_ip(gateway, raw_backend):
    b = raw_backend(banner)
    gw = gateway(["* to %s" % b.hostport], extra="max-connections-per-ip 2")
    held = [session(gw.port), session(gw.port)]
    assert all(held)
    assert session(gw.port) is None
    rec = gw.wait_record(reason="too-many")
    assert rec["result"] == "denied"
    assert rec["client"].startswith("127.0.0.1:")
    assert "max-connections-per-ip" in rec["detail"]
    # another address is not counted with this one
    other = session(gw.port, src="127.0.0.8")
    assert other is not None
    # a session that ends makes room again
    held.pop().close()
    gw.wait_record(client=lambda v: v.startswith("127.0.0.1:"),
                   reason="client-closed")
    again = session(gw.port)
    assert again is not None
    for s in held + [other, again]:
        s.close()


def test_rate_limit_per_ip(gateway, raw_backend):
    b = raw_backend(banner)
    gw = gateway(["* to %s" % b.hostport], extra="rate-limit-per-ip 3/60")
    for _ in range(3):
        s = session(gw.port)
        assert s is not None
        s.close()
    assert session(gw.port) is None
    rec = gw.wait_record(reason="rate-limited")
    assert rec["result"] == "denied" and "rate-limit-per-ip" in rec["detail"]
    s = session(gw.port, src="127.0.0.8")
    assert s is not None
    s.close()


def test_limit_flood_is_refused_cheaply(gateway, raw_backend):
    b = raw_backend(banner)
    gw = gateway(["* to %s" % b.hostport], extra="rate-limit-per-ip 5/60")
    refused = 0
    for _ in range(200):		# bounded: 200 plain TCP connects
        c = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        c.close()
    wait_until(lambda: sum(1 for r in gw.records()
                           if r["reason"] == "rate-limited") >= 195, 15,
               what="195 rate-limited records")
    refused = [r for r in gw.records() if r["reason"] == "rate-limited"]
    assert len(refused) == 195
    # no TLS work was done for them
    assert all("tls" not in r for r in refused)


# --- privilege drop --------------------------------------------------------

import grp
import pwd
import shutil
import subprocess
import tempfile

from sshgate_helpers import free_port

import pytest


def ids(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = v.split()
    return out


@pytest.fixture
def open_dir(pki):
    """A directory anyone can read, with the gateway certificate: what an
    unprivileged gateway needs to reload."""
    d = tempfile.mkdtemp(prefix="sshgate-priv-")
    os.chmod(d, 0o755)
    shutil.copy(str(pki["ecdsa"]), d + "/gw.pem")
    os.chmod(d + "/gw.pem", 0o644)
    yield d
    shutil.rmtree(d)


class OpenGateway:
    """A gateway whose config lives in open_dir (readable by nobody), so
    that it can reload after dropping root. Stopped and checked at exit."""

    def __init__(self, gw_bin, d, text):
        self.dir = d
        self.conf = d + "/sshgate.conf"
        self.write(text)
        self.err = open(d + "/stderr.txt", "wb")
        self.proc = subprocess.Popen([gw_bin, "serve", "-c", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err)
        wait_until(lambda: "serving with" in self.stderr() or
                   self.proc.poll() is not None, 10, what="start")
        assert self.proc.poll() is None, self.stderr()

    def write(self, text):
        with open(self.conf, "w") as f:
            f.write(text)
        os.chmod(self.conf, 0o644)

    def stderr(self):
        with open(self.dir + "/stderr.txt", errors="replace") as f:
            return f.read()

    def reload(self, text):
        n = self.stderr().count("reload")
        self.write(text)
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.stderr().count("reload") >= n + 2, 10,
                   what="reload outcome")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(20)
        self.err.close()
        assert rc == 0, self.stderr()
        for mark in ("ERROR: AddressSanitizer", "runtime error:",
                     "LeakSanitizer"):
            assert mark not in self.stderr()


def priv_conf(port, d, backend, extra=""):
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    return ("listen 127.0.0.1:%d\ncertificate %s/gw.pem\nworkers 2\n"
            "timeout drain 1s\nlog file %s/gateway.log\n"
            "user nobody group %s\nroute * to %s\n%s"
            % (port, d, d, group, backend, extra))


def test_user_drops_root_and_reload_still_works(gw_bin, sshd, ssh,
                                                 open_dir):
    if os.getuid() != 0:
        pytest.skip("needs root to drop privileges")
    nobody = pwd.getpwnam("nobody")
    port = free_port()
    text = priv_conf(port, open_dir, sshd["a"].hostport)
    gw = OpenGateway(gw_bin, open_dir, text)
    try:
        got = ids(gw.proc.pid)
        assert got["Uid"] == [str(nobody.pw_uid)] * 4, got
        assert got["Gid"] == [str(nobody.pw_gid)] * 4, got
        assert got.get("Groups", []) in ([], [str(nobody.pw_gid)]), got
        assert "running as user nobody" in gw.stderr()
        assert ssh.server_addr("127.0.0.1:%d" % port, "one") == \
            sshd["a"].addr
        # the log file belongs to nobody, so a reload can reopen it
        assert os.stat(open_dir + "/gateway.log").st_uid == nobody.pw_uid
        gw.reload(priv_conf(port, open_dir, sshd["a"].hostport,
                            "route two.example to %s\n"
                            % sshd["b"].hostport).replace(
            "route * to %s\n" % sshd["a"].hostport, "") +
            "route * to %s\n" % sshd["a"].hostport)
        assert "reloaded" in gw.stderr(), gw.stderr()
        assert ssh.server_addr("127.0.0.1:%d" % port, "two.example") == \
            sshd["b"].addr
    finally:
        gw.stop()


def test_reload_with_unreadable_file_after_drop_is_clear(gw_bin, sshd,
                                                         open_dir):
    if os.getuid() != 0:
        pytest.skip("needs root to drop privileges")
    port = free_port()
    text = priv_conf(port, open_dir, sshd["a"].hostport)
    gw = OpenGateway(gw_bin, open_dir, text)
    try:
        shutil.copy(open_dir + "/gw.pem", open_dir + "/secret.pem")
        os.chmod(open_dir + "/secret.pem", 0o600)	# root's only
        gw.reload(text.replace("/gw.pem", "/secret.pem"))
        assert "reload failed" in gw.stderr()
        assert "secret.pem: Permission denied" in gw.stderr()
    finally:
        gw.stop()


# --- systemd ---------------------------------------------------------------

def test_sd_notify_ready_reloading_stopping(gw_bin, pki, sshd, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(sock_path)
    n.settimeout(10)
    port = free_port()
    conf = tmp_path / "sshgate.conf"
    conf.write_text("listen 127.0.0.1:%d\ncertificate \"%s\"\nworkers 1\n"
                    "timeout drain 1s\nlog file %s\nroute * to %s\n"
                    % (port, pki["ecdsa"], tmp_path / "gw.log",
                       sshd["a"].hostport))
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    err = open(tmp_path / "stderr.txt", "wb")
    p = subprocess.Popen([gw_bin, "serve", "-c", str(conf)], env=env,
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        assert n.recv(256) == b"READY=1"
        p.send_signal(signal.SIGHUP)
        msg = n.recv(256).decode()
        assert msg.startswith("RELOADING=1\nMONOTONIC_USEC="), msg
        assert n.recv(256) == b"READY=1"
        p.send_signal(signal.SIGTERM)
        assert n.recv(256) == b"STOPPING=1"
        assert p.wait(20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        err.close()
        n.close()


def test_systemd_unit_verifies(tmp_path):
    import shutil as sh
    if sh.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    prefix = tmp_path / "usr"
    r = subprocess.run(["make", "-s", "-C", top, "install",
                        "PREFIX=%s" % prefix,
                        "SYSCONFDIR=%s" % (tmp_path / "etc"),
                        "BUILD=%s" % os.path.dirname(
                            os.environ.get("SSHGATE_BIN",
                                           top + "/build/sshgate"))],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    unit = prefix / "lib/systemd/system/sshgate.service"
    assert (prefix / "bin/sshgate").exists()
    assert (tmp_path / "etc/sshgate/sshgate.conf.example").exists()
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, timeout=60)
    # only our unit's lines count: the host's own units may warn
    ours = [l for l in r.stderr.decode().splitlines()
            if "sshgate.service" in l]
    assert ours == [], r.stderr.decode()


# --- explain ---------------------------------------------------------------

from test_dns import Dnsmasq


def explain(gw_bin, conf, *args):
    r = subprocess.run([gw_bin, "explain", "-c", str(conf)] + list(args),
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


@pytest.fixture(scope="module")
def explain_conf(tmp_path_factory, pki):
    tmp_path = tmp_path_factory.mktemp("explain")
    d = tmp_path / "dns"
    d.mkdir()
    dns = Dnsmasq(d)
    dns.set({"db7.internal": "127.0.0.2", "evil.internal": "127.0.0.1"})
    ca = tmp_path / "ca.pem"
    ca.write_text(open(pki["ca"]).read())
    conf = tmp_path / "x.conf"
    conf.write_text(
        "listen 127.0.0.1:2222\n"                      # 1
        'certificate "%s"\n' % pki["ecdsa"] +          # 2
        "client-ca ca.pem\n"                           # 3
        "resolver %s\n" % dns.server +                 # 4
        "allow-destination 127.0.0.2/32\n"             # 5
        "deny-destination 127.0.0.3\n"                 # 6
        "route *.internal resolve port 2201\n"         # 7
        "route static.example to 127.0.0.2:22\n"       # 8
        "route 127.0.0.0/8 direct\n"                   # 9
        "access deny user bob to *\n"                  # 10
        "access allow group dev to *.internal\n"       # 11
        "access allow user alice to 127.0.0.2\n")      # 12
    yield conf
    dns.proc.terminate()
    dns.proc.wait(5)


def test_explain_resolve_route_allowed_by_address_rule(gw_bin,
                                                        explain_conf):
    rc, out, err = explain(gw_bin, explain_conf, "--user", "alice",
                           "db7.internal")
    assert rc == 0, (out, err)
    assert "route:       *.internal resolve (%s:7)" % explain_conf in out
    assert "127.0.0.2:2201: destination allowed (allow-destination at " \
        "%s:5); access allowed by %s:12 (access allow user alice to " \
        "127.0.0.2)" % (explain_conf, explain_conf) in out
    assert out.rstrip().endswith("verdict:     allowed")


def test_explain_group_rule_and_dns_rebinding(gw_bin, explain_conf):
    rc, out, _ = explain(gw_bin, explain_conf, "--user", "carol", "--group",
                         "ops", "--group", "dev", "evil.internal")
    assert rc == 1
    assert "groups ops,dev" in out
    assert "127.0.0.1:2201: refused, destination-denied: 127.0.0.1 is " \
        "loopback" in out
    rc, out, _ = explain(gw_bin, explain_conf, "--group", "dev",
                         "db7.internal")
    assert rc == 0 and "access allowed by %s:11" % explain_conf in out


def test_explain_deny_rule_static_route_and_no_route(gw_bin, explain_conf):
    rc, out, _ = explain(gw_bin, explain_conf, "--user", "bob",
                         "static.example")
    assert rc == 1
    assert "route:       static.example to servers (%s:8)" % explain_conf \
        in out
    assert "refused, access-denied by %s:10 (access deny user bob to *)" \
        % explain_conf in out
    rc, out, _ = explain(gw_bin, explain_conf, "127.0.0.3")
    assert rc == 1
    assert "127.0.0.3 is in deny-destination (deny-destination at %s:6)" \
        % explain_conf in out
    rc, out, _ = explain(gw_bin, explain_conf, "--user", "alice",
                         "nope.example")
    assert rc == 1 and "none matches (refused, no-route)" in out
    rc, out, _ = explain(gw_bin, explain_conf, "--user", "zed",
                         "db7.internal")
    assert rc == 1 and "no access rule matches" in out


def test_explain_usage_and_bad_config(gw_bin, tmp_path):
    assert explain(gw_bin, tmp_path / "x.conf")[0] == 2
    bad = tmp_path / "bad.conf"
    bad.write_text("frobnicate\n")
    rc, _, err = explain(gw_bin, bad, "x")
    assert rc == 1 and "bad.conf:1: unknown keyword 'frobnicate'" in err


# --- metrics ---------------------------------------------------------------

def http(port, request, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(request)
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                return data
            data += d
    finally:
        s.close()


def scrape(port):
    r = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = r.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            values[k] = float(v)
    return values


def test_metrics_move_with_connections(gateway, sshd, ssh):
    mport = free_port()
    gw = gateway(["db.example.local to %s" % sshd["a"].hostport],
                 extra="metrics 127.0.0.1:%d" % mport)
    gw.wait_stderr("metrics on http://127.0.0.1:%d/metrics" % mport)
    before = scrape(mport)
    assert before['sshgate_build_info{version="0.1.0"}'] == 1
    assert before["sshgate_sessions_active"] == 0
    assert ssh.server_addr(gw, "db.example.local") == sshd["a"].addr
    r = ssh(gw, "nowhere.example")
    assert r.returncode != 0
    gw.wait_record(sni="nowhere.example")
    gw.wait_record(sni="db.example.local")
    after = scrape(mport)
    assert after['sshgate_connections_total{result="ok"}'] == 1
    assert after['sshgate_denied_total{reason="no-route"}'] == 1
    assert after['sshgate_bytes_total{direction="up"}'] > 1000
    assert after['sshgate_bytes_total{direction="down"}'] > 1000
    assert after["sshgate_handshake_seconds_count"] >= 1
    assert after['sshgate_handshake_seconds_bucket{le="+Inf"}'] == \
        after["sshgate_handshake_seconds_count"]
    # a live session shows as active (until it is told to end)
    p = ssh.popen(gw, "db.example.local", cmd="read line")
    wait_until(lambda: scrape(mport)["sshgate_sessions_active"] == 1, 10,
               what="one active session")
    p.communicate(b"end\n", timeout=20)
    assert p.returncode == 0
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reloaded")
    assert scrape(mport)['sshgate_reloads_total{result="ok"}'] == 1


@pytest.mark.slow(5)
def test_metrics_refuses_other_requests(gateway, sshd):
    mport = free_port()
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 extra="metrics 127.0.0.1:%d" % mport)
    gw.wait_stderr("metrics on")
    assert http(mport, b"GET / HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 404")
    r = http(mport, b"POST /metrics HTTP/1.1\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 405") and b"Allow: GET" in r
    assert http(mport, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert http(mport, b"GET /metrics HTTP/2.0\r\n\r\n").startswith(
        b"HTTP/1.1 400")
    assert http(mport, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 5000 +
                b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    # a slow client is cut without an answer after 5 s
    s = socket.create_connection(("127.0.0.1", mport), timeout=10)
    s.sendall(b"GET /metr")
    t0 = time.monotonic()
    assert s.recv(100) == b""
    assert 4 < time.monotonic() - t0 < 9
    s.close()
    # and the endpoint still works
    assert scrape(mport)["sshgate_sessions_active"] == 0


# --- control socket ----------------------------------------------------------

def ctl(gw_bin, sock, *args):
    r = subprocess.run([gw_bin, "ctl", "-s", str(sock)] + list(args),
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def ctl_sessions(gw_bin, sock):
    """The live sessions (`ctl sessions --json`), or [] if ctl failed."""
    rc, out, _ = ctl(gw_bin, sock, "sessions", "--json")
    return __import__("json").loads(out) if rc == 0 else []


def test_ctl_sessions_kill_reload_stats(gateway, gw_bin, sshd, ssh,
                                        tmp_path):
    sock = tmp_path / "ctl.sock"
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 extra="control %s" % sock, workers=2)
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
    # two live sessions, likely on both workers
    procs = [ssh.popen(gw, "s%d.example" % i, cmd="sleep 30")
             for i in range(4)]
    try:
        wait_until(lambda: len(ctl_sessions(gw_bin, sock)) == 4, 15,
                   what="4 sessions listed")
        rc, out, _ = ctl(gw_bin, sock, "sessions")
        assert rc == 0
        lines = out.strip().splitlines()
        assert lines[0].split()[:3] == ["ID", "CLIENT", "USER"]
        assert len(lines) == 5
        sessions = __import__("json").loads(
            ctl(gw_bin, sock, "sessions", "--json")[1])
        assert {s["sni"] for s in sessions} == \
            {"s%d.example" % i for i in range(4)}
        assert all(s["dst"] == sshd["a"].hostport for s in sessions)
        assert {s["worker"] for s in sessions} <= {0, 1}
        victim = [s for s in sessions if s["sni"] == "s1.example"][0]
        rc, out, _ = ctl(gw_bin, sock, "kill", str(victim["id"]))
        assert (rc, out) == (0, "killed 1 session\n")
        rec = gw.wait_record(sni="s1.example")
        assert (rec["result"], rec["reason"]) == ("ok", "killed")
        assert rec["detail"] == "sshgate ctl kill %d" % victim["id"]
        rc, _, err = ctl(gw_bin, sock, "kill", "999999")
        assert rc == 1 and "no session with id 999999" in err
        assert len(__import__("json").loads(
            ctl(gw_bin, sock, "sessions", "--json")[1])) == 3
        rc, out, _ = ctl(gw_bin, sock, "stats")
        assert rc == 0 and "sshgate_sessions_active 3" in out
        assert 'sshgate_closed_total{reason="killed"} 1' in out
        # reload: good, then bad with its errors
        rc, out, _ = ctl(gw_bin, sock, "reload")
        assert (rc, out) == (0, "reloaded\n")
        good = gw.conf.read_text()
        gw.conf.write_text(good + "bogus-keyword 1\n")
        rc, _, err = ctl(gw_bin, sock, "reload")
        assert rc == 1
        assert "unknown keyword 'bogus-keyword'" in err
        assert "reload failed" in err
        gw.conf.write_text(good)
        # sessions survived both reloads
        assert len(__import__("json").loads(
            ctl(gw_bin, sock, "sessions", "--json")[1])) == 3
        rc, _, err = ctl(gw_bin, sock, "frobnicate")
        assert rc == 1 and "unknown command" in err
    finally:
        for p in procs:
            terminate(p)	# not SIGKILL: ssh ends its ProxyCommand too


def test_ctl_kill_user(gateway, gw_bin, pki, tmp_path, raw_backend,
                      client_pki):
    from test_access import tls
    cp = client_pki
    b = raw_backend(banner)
    sock = tmp_path / "ctl.sock"
    gw = gateway(["* to %s" % b.hostport], extra="control %s\n"
                 "client-ca %s\naccess allow any to *" % (
                     sock, cp.path("ca.pem")))
    held = []
    for who in ("alice", "alice", "bob"):
        s = tls(gw, "db.example.local", who, cp)
        s.sendall(b"SSH-2.0-x\r\n")
        s.settimeout(5)
        assert s.recv(100)
        held.append(s)
    wait_until(lambda: len(ctl_sessions(gw_bin, sock)) == 3, 10,
               what="3 sessions")
    rc, out, _ = ctl(gw_bin, sock, "kill-user", "alice")
    assert (rc, out) == (0, "killed 2 sessions\n")
    sessions = __import__("json").loads(
        ctl(gw_bin, sock, "sessions", "--json")[1])
    assert [s["user"] for s in sessions] == ["bob"]
    rec = gw.wait_record(user="alice", reason="killed")
    assert rec["detail"] == "sshgate ctl kill-user alice"
    for s in held:
        s.close()


def test_ctl_usage_and_missing_socket(gw_bin, tmp_path):
    assert ctl(gw_bin, tmp_path / "none.sock", "sessions")[0] == 1
    r = subprocess.run([gw_bin, "ctl"], capture_output=True, timeout=10)
    assert r.returncode == 2


# --- PROXY protocol ----------------------------------------------------------

import struct


def v2_header(src, sport, dst, dport):
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) +
            struct.pack("!H", 12) + socket.inet_aton(src) +
            socket.inet_aton(dst) + struct.pack("!HH", sport, dport))


def tls_after(port, header, sni="db.example.local"):
    """TLS with the SSH banner after a raw PROXY header; returns what the
    backend said, or b"" if the gateway refused."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(header)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
        s.sendall(b"SSH-2.0-test\r\n")
        s.settimeout(5)
        data = s.recv(100)
        s.close()
        return data
    except (ssl.SSLError, OSError):
        raw.close()
        return b""


def proxy_gateway(gateway, backend, **kw):
    port = free_port()
    return gateway(["* to %s" % backend.hostport], port=port,
                   listen=["127.0.0.1:%d proxy-protocol" % port], **kw)


def test_proxy_v1_and_v2_carry_the_client(gateway, raw_backend):
    b = raw_backend(banner)
    gw = proxy_gateway(gateway, b)
    assert tls_after(gw.port, b"PROXY TCP4 192.0.2.7 127.0.0.1 51000 "
                     b"%d\r\n" % gw.port).startswith(b"SSH-2.0-backend")
    assert gw.wait_record(client="192.0.2.7:51000")["result"] == "ok"
    assert tls_after(gw.port, v2_header("198.51.100.9", 40000, "127.0.0.1",
                                        gw.port)).startswith(b"SSH-2.0")
    gw.wait_record(client="198.51.100.9:40000")
    # LOCAL (the balancer's own check): the socket's address stays
    local = b"\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"
    assert tls_after(gw.port, local).startswith(b"SSH-2.0")
    gw.wait_record(client=lambda v: v.startswith("127.0.0.1:"))


@pytest.mark.parametrize("header,why", [
    (b"", "closed before its PROXY protocol header"),
    (b"GET / HTTP/1.0\r\n\r\n", "not a PROXY protocol header"),
    (b"PROXY TCP4 192.0.2.7\r\n", "PROXY v1 header is not TCP4"),
    (b"PROXY TCP4 " + b"9" * 200, "longer than 107 bytes"),
    (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff", "too large"),
    (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x01\x02", None),
])
def test_proxy_bad_headers_are_refused(gateway, raw_backend, header, why):
    b = raw_backend(banner)
    gw = proxy_gateway(gateway, b, timeouts={"handshake": "300ms"})
    c = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    if header:
        c.sendall(header)
    else:
        c.shutdown(socket.SHUT_WR)
    c.settimeout(5)
    try:
        assert c.recv(100) == b""		# closed, nothing said
    except ConnectionResetError:
        pass
    c.close()
    rec = gw.wait_record(timeout=10)
    if why is None:				# truncated: waits, then times out
        assert rec["reason"] == "handshake-timeout", rec
    else:
        assert rec["reason"] == "handshake-failed", rec
        assert why in rec["detail"], rec
    assert b.conns == []


def test_proxy_address_counts_for_per_ip_limits(gateway, raw_backend):
    b = raw_backend(banner)
    gw = proxy_gateway(gateway, b, extra="max-connections-per-ip 1")
    hdr = b"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\r\n"
    raw = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    raw.sendall(hdr)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = ctx.wrap_socket(raw, server_hostname="db.example.local")
    held.sendall(b"SSH-2.0-x\r\n")
    held.settimeout(5)
    assert held.recv(100)
    # the same carried address is refused; another is served
    assert tls_after(gw.port, hdr) == b""
    assert gw.wait_record(reason="too-many")["client"] == "192.0.2.7:1"
    assert tls_after(gw.port, b"PROXY TCP4 192.0.2.8 127.0.0.1 1 2\r\n")
    held.close()


def test_send_proxy_tells_the_server(gateway, raw_backend):
    seen = {}

    def handler(c, rec):
        data = b""
        while len(data) < 28 + 14:
            d = c.recv(4096)
            if not d:
                break
            data += d
        seen["data"] = data
        c.sendall(b"SSH-2.0-backend\r\n")
        while c.recv(4096):
            pass
    b = raw_backend(handler)
    gw = gateway(["* to %s send-proxy" % b.hostport], workers=1)
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5,
                                 source_address=("127.0.0.8", 0))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="db.example.local")
    t.sendall(b"SSH-2.0-client\r\n")
    t.settimeout(5)
    assert t.recv(100).startswith(b"SSH-2.0-backend")
    sport = t.getsockname()[1]
    t.close()
    hdr = seen["data"][:28]
    assert hdr == v2_header("127.0.0.8", sport, "127.0.0.1", gw.port)
    assert seen["data"][28:] == b"SSH-2.0-client\r\n"


# --- man pages ---------------------------------------------------------------

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.mark.parametrize("page", ["sshgate.8", "sshgate.conf.5",
                                  "sshgate-connect.1",
                                  "sshgate-ssh-config.1"])
def test_man_page_renders_without_warnings(page):
    import shutil as sh
    path = os.path.join(TOP, "doc", page)
    assert sh.which("groff") and sh.which("man"), "groff or man is not " \
        "installed (scripts/deps.sh installs groff-base and man-db)"
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    r = subprocess.run(["man", "-l", path], capture_output=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80", PAGER="cat"))
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert b"NAME" in r.stdout


def test_every_config_keyword_is_in_the_man_page():
    with open(os.path.join(TOP, "src", "config", "keywords.c")) as f:
        src = f.read()
    import re
    table = src[src.index("const struct keyword conf_keywords[]"):]
    table = table[:table.index("};")]
    kws = re.findall(r'[A-Z]+\("([a-z-]+)",', table)
    assert len(kws) > 20
    with open(os.path.join(TOP, "doc", "sshgate.conf.5")) as f:
        man = f.read().replace("\\-", "-")
    missing = [k for k in kws if k not in man]
    assert missing == [], missing


def test_reload_says_control_moves_at_next_start(gateway, gw_bin, sshd,
                                                 tmp_path):
    sock = tmp_path / "ctl.sock"
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 extra="control %s" % sock)
    gw.conf.write_text(gw.conf.read_text().replace(str(sock),
                                                   str(tmp_path / "b.sock")))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reloaded")
    assert "'control' takes effect at the next start" in gw.stderr()
    assert ctl(gw_bin, sock, "stats")[0] == 0	# the old one still works


def test_log_syslog_facility(gateway, raw_backend):
    # a receiver on /dev/log, only where no syslog daemon has one
    if os.getuid() != 0 or os.path.exists("/dev/log"):
        pytest.skip("needs root and a free /dev/log")
    r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    r.bind("/dev/log")
    try:
        r.settimeout(10)
        b = raw_backend(banner)
        gw = gateway(["* to %s" % b.hostport], log="syslog local3")
        assert session(gw.port) is not None
        # this gateway's records, open then close (another program may log
        # meanwhile)
        msgs = []
        while len(msgs) < 2:
            msg = r.recv(4096).decode(errors="replace")
            if "sshgate[%d]: " % gw.proc.pid in msg:
                msgs.append(msg)
        for msg in msgs:
            # <PRI> = local3 (19) * 8 + info (6)
            assert msg.startswith("<158>"), msg
            assert "sni=db.example.local" in msg
        assert "event=open" in msgs[0] and "event=close" in msgs[1], msgs
    finally:
        r.close()
        os.unlink("/dev/log")


# --- sshgate connect: an encrypted key asks on the terminal -------------------

import pty
import select as _select
import termios


def run_on_tty(argv, answer, timeout=15):
    """Runs argv on a new terminal; types answer when asked for a
    passphrase. Returns (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out, sent = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = _select.select([fd], [], [], 0.2)
            if r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    break
                if not d:
                    break
                out += d
            if not sent and b"Passphrase for" in out:
                # once it has turned echo off (the master reads the
                # terminal's modes)
                wait_until(lambda: not termios.tcgetattr(fd)[3] &
                           termios.ECHO, 5, what="echo off")
                os.write(fd, answer + b"\n")
                sent = True
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_connect_asks_for_a_key_passphrase(gateway, gw_bin, pki, tmp_path,
                                           raw_backend, client_pki):
    cp = client_pki
    crt, key = cp.certs["alice"]
    enc = tmp_path / "alice-enc.key"
    subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256",
                    "-passout", "pass:s3cret", "-out", str(enc)],
                   check=True, capture_output=True, timeout=30)
    b = raw_backend(banner)
    # a short inspect timeout: nothing is typed after the passphrase
    gw = gateway(["* to %s" % b.hostport], extra="client-ca %s\n"
                 "access allow user alice to *" % cp.path("ca.pem"),
                 timeouts={"inspect": "500ms"})
    argv = [gw_bin, "connect", "--ca", str(pki["ca"]), "--cert", str(crt),
            "--key", str(enc), "--timeout", "5", gw.addr, "db.example.local"]
    rc, out = run_on_tty(argv, b"wrong")
    assert rc == 1
    assert "client certificate: cannot decrypt the private key in " \
        "%s (a wrong passphrase" % enc in out, out
    rc, out = run_on_tty(argv, b"s3cret")
    # the passphrase is not echoed; the gateway let alice through
    assert "s3cret" not in out
    assert "SSH-2.0-backend" in out, out
    # alice was let through (nothing typed after: the gate times out)
    rec = gw.wait_record(user="alice")
    assert int(rec["bytes_down"]) > 0 and rec["dst"] == b.hostport


# --- bad files and busy addresses are named ----------------------------------

def _check_text(gw_bin, tmp_path, pki, extra):
    f = tmp_path / "bad.conf"
    f.write_text("listen 127.0.0.1:2222\ncertificate \"%s\"\n"
                 "route * to 127.0.0.2:22\n%s\n" % (pki["ecdsa"], extra))
    r = subprocess.run([gw_bin, "check", "-c", str(f)], capture_output=True,
                       timeout=30)
    return f, r.returncode, r.stderr.decode()


def test_bad_client_ca_and_crl_files(gw_bin, pki, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    f, rc, err = _check_text(gw_bin, tmp_path, pki,
                             "client-ca %s\ncrl %s\naccess allow any to *"
                             % (tmp_path / "none.pem", junk))
    assert rc == 1
    assert "%s:4: client-ca: cannot load %s: No such file or directory" % (
        f, tmp_path / "none.pem") in err, err
    f, rc, err = _check_text(gw_bin, tmp_path, pki,
                             "client-ca \"%s\"\ncrl %s\naccess allow any to *"
                             % (pki["ca"], junk))
    assert rc == 1
    assert "%s:5: crl: cannot load %s: not a CRL (PEM or DER)" % (f, junk) \
        in err, err


def test_busy_metrics_address_and_stray_control_path(gw_bin, pki, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text("listen 127.0.0.1:%d\ncertificate \"%s\"\n"
                    "route * to 127.0.0.2:22\nmetrics 127.0.0.1:%d\n"
                    % (port, pki["ecdsa"], busy.getsockname()[1]))
    r = subprocess.run([gw_bin, "serve", "-c", str(conf)],
                       capture_output=True, timeout=30)
    busy.close()
    assert r.returncode == 1
    assert b"metrics: listen 127.0.0.1:" in r.stderr, r.stderr
    stray = tmp_path / "stray"
    stray.write_text("a file, not a socket\n")
    conf.write_text("listen 127.0.0.1:%d\ncertificate \"%s\"\n"
                    "route * to 127.0.0.2:22\ncontrol %s\n"
                    % (port, pki["ecdsa"], stray))
    r = subprocess.run([gw_bin, "serve", "-c", str(conf)],
                       capture_output=True, timeout=30)
    assert r.returncode == 1
    assert b"exists and is not a socket" in r.stderr, r.stderr
    assert stray.read_text() == "a file, not a socket\n"	# untouched
