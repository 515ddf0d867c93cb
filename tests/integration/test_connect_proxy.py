"""`sshgate connect` through an HTTP proxy (CONNECT), as a user sees it:
real ssh, through a real tinyproxy (Debian's, started here with its own
config on a free port), to a real gateway and real sshd backends; the
exit status, the exact `sshgate: ...` line, the proxy's and the gateway's
logs. Statuses and answers tinyproxy never gives come from a small
scripted proxy (FakeProxy).

Every run gets XDG_CACHE_HOME in a temporary directory and no SSHGATE_*,
*_proxy or *_PROXY variable from the caller's environment."""

import base64
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import threading
import time

import pytest

from sshgate_helpers import (echo_after_eof, free_port, have_ipv6_loopback,
                             terminate, wait_tcp)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
USER = pwd.getpwuid(os.getuid()).pw_name
MAN_PAGE = os.path.join(TOP, "doc", "sshgate-connect.1")
PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
              "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
# tinyproxy's BasicAuth takes letters, digits, '-', '_' and '.' only
TP_USER, TP_PASS = "alice", "pa-ss_w.0rd"
TP_PASS_URL = "pa%2Dss_w.0rd"		# the same, one byte percent-encoded


# --- the proxies ---

class Tinyproxy:
    """One tinyproxy in the foreground, on its own config and port."""

    def __init__(self, workdir, gw_port, host="127.0.0.1", auth=None):
        self.host, self.port = host, free_port(host)
        self.log = workdir / "tinyproxy.log"
        conf = workdir / "tinyproxy.conf"
        lines = ["Port %d" % self.port, "Listen %s" % host,
                 "Allow %s" % host, "Timeout 30", "MaxClients 50",
                 "LogLevel Connect", 'LogFile "%s"' % self.log,
                 'PidFile "%s"' % (workdir / "tinyproxy.pid"),
                 # CONNECT to the gateway's port only: others get 403
                 "ConnectPort %d" % gw_port]
        if auth:
            lines.append("BasicAuth %s %s" % auth)
        conf.write_text("\n".join(lines) + "\n")
        self.out = open(workdir / "tinyproxy.out", "wb")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out)
        try:
            wait_tcp(host, self.port, timeout=10)
        except AssertionError:
            raise RuntimeError("tinyproxy did not start: %s" % (
                (workdir / "tinyproxy.out").read_text(errors="replace")))

    def url(self, cred=""):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s%s:%d" % (cred, h, self.port)

    def connects(self, gw_port):
        """How many CONNECTs to the gateway port tinyproxy has logged."""
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return 0
        return text.count(":%d HTTP/1.1" % gw_port)

    def stop(self):
        terminate(self.proc)
        self.out.close()


@pytest.fixture
def tinyproxy(tmp_path):
    """Factory: tinyproxy(gw_port, auth=None, host=...) -> Tinyproxy."""
    assert shutil.which("tinyproxy"), "tinyproxy is not installed " \
        "(scripts/deps.sh test installs it)"
    made = []

    def start(gw_port, auth=None, host="127.0.0.1"):
        d = tmp_path / ("tinyproxy%d" % len(made))
        d.mkdir()
        p = Tinyproxy(d, gw_port, host, auth)
        made.append(p)
        return p
    yield start
    for p in made:
        p.stop()


class FakeProxy:
    """A scripted proxy: reads each client's request head, keeps it in
    .requests, then hands the socket and the head to handler."""

    def __init__(self, handler, host="127.0.0.1"):
        self.host, self.port = host, free_port(host)
        self.handler = handler
        self.requests = []
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, cred=""):
        return "http://%s%s:%d" % (cred, self.host, self.port)

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,),
                             daemon=True).start()

    def _one(self, c):
        with c:
            c.settimeout(15)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    d = c.recv(4096)
                    if not d:
                        return
                    head += d
                self.requests.append(head)
                self.handler(c, head)
            except OSError:
                pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


@pytest.fixture
def fake_proxy():
    """Factory: fake_proxy(handler, host=...) -> FakeProxy."""
    made = []

    def make(handler, host="127.0.0.1"):
        p = FakeProxy(handler, host)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


def answer(data):
    """A handler that sends data and closes."""
    def handler(c, head):
        c.sendall(data)
    return handler


def silent(c, head):
    """A handler that never answers (until the client gives up)."""
    while c.recv(4096):
        pass


def relay(a, b):
    def pump(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join(15)


def glued_to(addr, port):
    """A handler that opens the tunnel to addr:port, and sends the
    server's first bytes in the same segment as its own 200 answer."""
    def handler(c, head):
        with socket.create_connection((addr, port), timeout=10) as up:
            first = up.recv(4096)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n" + first)
            relay(c, up)
    return handler


# --- running the client ---

@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("SSHGATE_") and k not in PROXY_VARS}
    cache = tmp_path / "xdg-cache"
    cache.mkdir()
    e["XDG_CACHE_HOME"] = str(cache)
    return e


def q(*words):
    """Words for a ProxyCommand: quoted for the shell, '%' doubled (ssh
    expands %-tokens in it first)."""
    return " ".join(shlex.quote(str(w)).replace("%", "%%") for w in words)


def proxy_command(gw_bin, gw, pki, *opts):
    return q(gw_bin, "connect", "--ca", pki["ca"], *opts,
             "127.0.0.1:%d" % gw.port) + " %h"


def run_ssh(user_key, proxy_cmd, target, env, config="/dev/null"):
    argv = ["ssh", "-F", str(config), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20",
            "-i", str(user_key)]
    if proxy_cmd is not None:
        argv += ["-o", "ProxyCommand=" + proxy_cmd]
    return subprocess.run(argv + ["%s@%s" % (USER, target),
                                  "echo $SSH_CONNECTION"],
                          capture_output=True, timeout=40, env=env)


def answered_by(r):
    assert r.returncode == 0, "ssh failed (%d): %s" % (
        r.returncode, r.stderr.decode(errors="replace"))
    fields = r.stdout.decode().split()
    assert len(fields) == 4, r.stdout
    return fields[2]


def connect(gw_bin, *args, env, input=b"SSH-2.0-OpenSSH_test\r\n",
            timeout=30):
    return subprocess.run([gw_bin, "connect"] + [str(a) for a in args],
                          input=input, capture_output=True, timeout=timeout,
                          env=env)


def err_lines(r):
    return r.stderr.decode(errors="replace").splitlines()


def assert_message(r, line, rc=1):
    lines = err_lines(r)
    assert r.returncode == rc, "exit %d, wanted %d; stderr: %r" % (
        r.returncode, rc, lines)
    assert line in lines, "wanted %r on stderr, got %r" % (line, lines)
    assert all(l.startswith("sshgate: ") or l.startswith("usage: ") or
               l.startswith("  ") for l in lines), lines


def assert_ssh_shows(r, line):
    assert r.returncode == 255, (r.returncode, r.stderr)
    assert line in err_lines(r), "wanted %r in ssh's stderr: %r" % (
        line, err_lines(r))


def two_routes(sshd):
    return ["a.example.local to %s" % sshd["a"].hostport,
            "b.example.local to %s" % sshd["b"].hostport]


def records_for(gw, sni):
    return [r for r in gw.records() if r.get("sni") == sni]


# --- it works, through tinyproxy ---

def test_login_through_tinyproxy(gateway, tinyproxy, gw_bin, pki, sshd,
                                 user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port)
    pc = proxy_command(gw_bin, gw, pki, "--proxy", tp.url())
    assert answered_by(run_ssh(user_key, pc, "a.example.local", env)) == \
        sshd["a"].addr
    assert answered_by(run_ssh(user_key, pc, "b.example.local", env)) == \
        sshd["b"].addr
    assert tp.connects(gw.port) == 2
    rec = gw.wait_record(sni="b.example.local")
    assert rec["result"] == "ok"


def test_login_with_credentials(gateway, tinyproxy, gw_bin, pki, sshd,
                                user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port, auth=(TP_USER, TP_PASS))
    pc = proxy_command(gw_bin, gw, pki, "--proxy",
                       tp.url("%s:%s@" % (TP_USER, TP_PASS_URL)))
    assert answered_by(run_ssh(user_key, pc, "a.example.local", env)) == \
        sshd["a"].addr
    assert tp.connects(gw.port) == 1


def test_proxy_wants_credentials(gateway, tinyproxy, gw_bin, pki, sshd,
                                 user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port, auth=(TP_USER, TP_PASS))
    r = run_ssh(user_key, proxy_command(gw_bin, gw, pki, "--proxy",
                                        tp.url()), "a.example.local", env)
    assert_ssh_shows(r, "sshgate: proxy 127.0.0.1:%d wants credentials "
                     "(407 Proxy Authentication Required): give them in "
                     "the proxy URL, http://USER:PASSWORD@127.0.0.1:%d"
                     % (tp.port, tp.port))
    assert records_for(gw, "a.example.local") == []


def test_wrong_credentials_are_refused_and_never_shown(
        gateway, tinyproxy, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port, auth=(TP_USER, TP_PASS))
    r = run_ssh(user_key, proxy_command(
        gw_bin, gw, pki, "--proxy", tp.url("alice:Wr0ngSecret@")),
        "a.example.local", env)
    # tinyproxy answers wrong credentials with 401, not 407
    assert_ssh_shows(r, "sshgate: proxy 127.0.0.1:%d refused the "
                     "credentials of user 'alice' (401 Unauthorized)"
                     % tp.port)
    assert b"Wr0ngSecret" not in r.stderr


def test_407_to_credentials(fake_proxy, gw_bin, pki, env):
    p = fake_proxy(answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                          b"Proxy-Authenticate: Basic realm=\"corp\"\r\n"
                          b"Content-Length: 0\r\n\r\n"))
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy",
                p.url("bob:Secr3t%40x@"), "127.0.0.1:2222", "a", env=env)
    assert_message(r, "sshgate: proxy 127.0.0.1:%d refused the credentials "
                   "of user 'bob' (407 Proxy Authentication Required)"
                   % p.port)
    assert b"Secr3t" not in r.stderr


def test_request_is_connect_with_host_and_basic_credentials(
        fake_proxy, gw_bin, pki, env):
    p = fake_proxy(answer(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"))
    # every byte that needs it percent-encoded: '@', ':', '%', '/'
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy",
                p.url("d%C3%A9v:p%40ss%3Aw%25rd%2Fx@"), "localhost:4433",
                "a.example.local", env=env)
    assert_message(r, "sshgate: proxy 127.0.0.1:%d could not reach the "
                   "gateway localhost:4433 (502 Bad Gateway)" % p.port)
    assert len(p.requests) == 1
    lines = p.requests[0].decode("latin-1").split("\r\n")
    assert lines[0] == "CONNECT localhost:4433 HTTP/1.1", lines
    assert "Host: localhost:4433" in lines, lines
    cred = base64.b64encode("dév:p@ss:w%rd/x".encode()).decode()
    assert "Proxy-Authorization: Basic %s" % cred in lines, lines
    assert lines[-2:] == ["", ""], lines
    assert b"p@ss" not in r.stderr and b"p%40ss" not in r.stderr


def test_no_credentials_header_without_credentials(fake_proxy, gw_bin, pki,
                                                   env):
    p = fake_proxy(answer(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"))
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy", p.url(), "[::1]:2222",
                "a", env=env)
    assert_message(r, "sshgate: proxy 127.0.0.1:%d could not reach the "
                   "gateway [::1]:2222 (503 Service Unavailable)" % p.port)
    head = p.requests[0].decode("latin-1")
    assert head.startswith("CONNECT [::1]:2222 HTTP/1.1\r\n"), head
    assert "Host: [::1]:2222\r\n" in head
    assert "Proxy-Authorization" not in head


# --- the proxy's refusals ---

def test_proxy_refuses_the_gateway_port(gateway, tinyproxy, gw_bin, pki,
                                        sshd, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port + 1)	# ConnectPort: not the gateway's
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy", tp.url(),
                "127.0.0.1:%d" % gw.port, "a.example.local", env=env)
    assert_message(r, "sshgate: proxy 127.0.0.1:%d refuses to connect to "
                   "the gateway 127.0.0.1:%d (403 Access violation)"
                   % (tp.port, gw.port))
    assert records_for(gw, "a.example.local") == []


def test_tinyproxy_cannot_reach_the_gateway(tinyproxy, gw_bin, pki, env):
    port = free_port()
    tp = tinyproxy(port)
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy", tp.url(),
                "127.0.0.1:%d" % port, "a.example.local", env=env)
    # tinyproxy says 500 where others say 502: its words are quoted
    assert_message(r, "sshgate: proxy 127.0.0.1:%d answered CONNECT "
                   "127.0.0.1:%d with 'HTTP/1.1 500 Unable to connect'"
                   % (tp.port, port))


@pytest.mark.parametrize("reply,message", [
    (b"HTTP/1.1 502 Bad Gateway\r\n\r\n",
     "could not reach the gateway 127.0.0.1:2222 (502 Bad Gateway)"),
    (b"HTTP/1.0 504 Gateway Timeout\r\nVia: 1.1 squid\r\n\r\n<html>",
     "could not reach the gateway 127.0.0.1:2222 (504 Gateway Timeout)"),
    (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!",
     "refuses to connect to the gateway 127.0.0.1:2222 (403 Forbidden)"),
    (b"HTTP/1.1 405 M\xe9thode \\ interdite\r\n\r\n",
     "answered CONNECT 127.0.0.1:2222 with 'HTTP/1.1 405 M\\xe9thode "
     "\\x5c interdite'"),
    (b"HTTP/1.1 405 Not \x1b[31mAllowed\r\n\r\n",
     "sent a malformed answer to CONNECT: a malformed status line"),
    (b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Negotiate\r\n"
     b"Proxy-Authenticate: NTLM\r\n\r\n",
     "wants Negotiate authentication (407 Auth): sshgate connect only "
     "does Basic"),
    (b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: NTLM\r\n"
     b"Proxy-Authenticate: basic realm=x\r\n\r\n",
     "wants credentials (407 Auth): give them in the proxy URL, "
     "http://USER:PASSWORD@127.0.0.1:{port}"),
], ids=["502", "504", "403", "405-escaped", "405-escape-sequence",
        "407-negotiate",
        "407-basic-among-others"])
def test_status_messages(fake_proxy, gw_bin, pki, env, reply, message):
    p = fake_proxy(answer(reply))
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy", p.url(),
                "127.0.0.1:2222", "a", env=env)
    assert_message(r, "sshgate: proxy 127.0.0.1:%d %s" % (
        p.port, message.format(port=p.port)))
    assert r.stdout == b""


@pytest.mark.parametrize("reply,message", [
    (b"SSH-2.0-OpenSSH_9.2p1\r\n",
     "is not an HTTP proxy: it answered CONNECT with 'SSH-2.0-OpenSSH_9.2p1'"),
    (b"HTTP/1.1 200 OK\nVia: x\n\n",
     "sent a malformed answer to CONNECT: a malformed header"),
    (b"HTTP/1.1 2OO OK\r\n\r\n",
     "sent a malformed answer to CONNECT: a malformed status line"),
    (b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"x" * 9000,
     "sent a malformed answer to CONNECT: no end of the header within "
     "8192 bytes"),
    (b"", "closed the connection without answering CONNECT"),
    (b"HTTP/1.1 200 Connection est",
     "closed the connection in the middle of its answer to CONNECT"),
], ids=["ssh-banner", "bare-lf", "bad-status", "too-large", "closed",
        "cut"])
def test_malformed_answers(fake_proxy, gw_bin, pki, env, reply, message):
    p = fake_proxy(answer(reply))
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy", p.url(),
                "127.0.0.1:2222", "a", env=env)
    assert_message(r, "sshgate: proxy 127.0.0.1:%d %s" % (p.port, message))


def test_proxy_that_never_answers(fake_proxy, gw_bin, pki, env):
    p = fake_proxy(silent)
    t0 = time.monotonic()
    r = connect(gw_bin, "--ca", pki["ca"], "--timeout", "1", "--proxy",
                p.url(), "127.0.0.1:2222", "a", env=env)
    took = time.monotonic() - t0
    assert_message(r, "sshgate: proxy 127.0.0.1:%d: no answer to CONNECT "
                   "within 1s" % p.port)
    assert 0.8 < took < 4, took


def test_proxy_down(gateway, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    port = free_port()
    r = run_ssh(user_key, proxy_command(
        gw_bin, gw, pki, "--proxy", "http://127.0.0.1:%d" % port),
        "a.example.local", env)
    assert_ssh_shows(r, "sshgate: cannot connect to proxy 127.0.0.1:%d: "
                     "Connection refused" % port)


def test_bytes_after_the_answer_reach_tls(fake_proxy, gw_bin, pki, sshd,
                                          env):
    # The proxy sends the 200 and the server's first bytes in one
    # segment: connect must hand those bytes to TLS, which then sees an
    # SSH banner where a ServerHello should be.
    s = sshd["a"]
    p = fake_proxy(glued_to(s.addr, s.port))
    r = connect(gw_bin, "--ca", pki["ca"], "--timeout", "5", "--proxy",
                p.url(), s.hostport, "a", env=env)
    assert_message(r, "sshgate: %s is an SSH server, not an sshgate "
                   "gateway: connect to it with plain ssh, or give connect "
                   "the gateway's TLS address" % s.hostport)


# --- the environment ---

def test_https_proxy_environment(gateway, tinyproxy, gw_bin, pki, sshd,
                                 user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port)
    env["HTTPS_PROXY"] = tp.url()
    pc = proxy_command(gw_bin, gw, pki)
    assert answered_by(run_ssh(user_key, pc, "a.example.local", env)) == \
        sshd["a"].addr
    assert tp.connects(gw.port) == 1
    # lowercase wins over uppercase (as in curl)
    env["https_proxy"] = tp.url()
    env["HTTPS_PROXY"] = "http://127.0.0.1:%d" % free_port()
    assert answered_by(run_ssh(user_key, pc, "b.example.local", env)) == \
        sshd["b"].addr
    assert tp.connects(gw.port) == 2


@pytest.mark.parametrize("var,value", [
    ("no_proxy", "127.0.0.1"),
    ("NO_PROXY", "127.0.0.0/8"),
    ("no_proxy", "*"),
    ("no_proxy", "example.test, .corp.example,127.0.0.1"),
], ids=["address", "cidr-uppercase", "star", "list"])
def test_no_proxy_bypasses_the_proxy(gateway, gw_bin, pki, sshd, user_key,
                                     env, var, value):
    gw = gateway(two_routes(sshd))
    env["https_proxy"] = "http://127.0.0.1:%d" % free_port()	# down
    env[var] = value
    assert answered_by(run_ssh(user_key, proxy_command(gw_bin, gw, pki),
                               "a.example.local", env)) == sshd["a"].addr


def test_no_proxy_by_name(gateway, gw_bin, pki, raw_backend, env):
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no")
    env["https_proxy"] = "http://127.0.0.1:%d" % free_port()	# down
    env["no_proxy"] = ".localhost"
    r = connect(gw_bin, "--ca", pki["ca"], "localhost:%d" % gw.port,
                "half.example.local", env=env, input=b"hi")
    assert r.returncode == 0 and r.stdout == b"got 2 bytes: hi", r.stderr


def test_no_proxy_that_does_not_match(gw_bin, pki, env):
    port = free_port()
    env["https_proxy"] = "http://127.0.0.1:%d" % port
    env["no_proxy"] = "127.0.0.2,localhost,gw.example"
    r = connect(gw_bin, "--ca", pki["ca"], "127.0.0.1:2222", "a", env=env)
    assert_message(r, "sshgate: cannot connect to proxy 127.0.0.1:%d: "
                   "Connection refused" % port)


def test_empty_proxy_option_turns_the_environment_off(
        gateway, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    env["https_proxy"] = "http://127.0.0.1:%d" % free_port()	# down
    assert answered_by(run_ssh(user_key, proxy_command(
        gw_bin, gw, pki, "--proxy", ""), "a.example.local", env)) == \
        sshd["a"].addr


def test_proxy_option_wins_over_the_environment(gateway, tinyproxy, gw_bin,
                                                pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port)
    env["https_proxy"] = "http://127.0.0.1:%d" % free_port()	# down
    assert answered_by(run_ssh(user_key, proxy_command(
        gw_bin, gw, pki, "--proxy", tp.url()), "a.example.local", env)) == \
        sshd["a"].addr
    assert tp.connects(gw.port) == 1


@pytest.mark.parametrize("where,url,message", [
    ("--proxy", "https://u:S3cret@proxy:3128",
     "connect: --proxy 'https://u:***@proxy:3128': https:// proxies (TLS "
     "to the proxy) are not supported: give the proxy's http:// URL"),
    ("https_proxy", "socks5://proxy:1080",
     "connect: https_proxy 'socks5://proxy:1080': socks5:// proxies are not "
     "supported, only http://"),
    ("HTTPS_PROXY", "http://u:S3cret@proxy:99999",
     "connect: HTTPS_PROXY 'http://u:***@proxy:99999': the proxy's port "
     "must be 1-65535"),
    ("--proxy", "http://::1:3128",
     "connect: --proxy 'http://::1:3128': write an IPv6 proxy address in "
     "brackets: http://[ADDRESS]:PORT"),
], ids=["https", "socks", "port", "bare-ipv6"])
def test_bad_proxy_urls(gw_bin, env, where, url, message):
    args = ["127.0.0.1:2222", "a"]
    if where == "--proxy":
        args = ["--proxy", url] + args
    else:
        env[where] = url
    r = connect(gw_bin, *args, env=env)
    assert_message(r, "sshgate: " + message, rc=2)
    assert b"S3cret" not in r.stderr


# --- TLS through the tunnel is the same TLS ---

def test_second_run_resumes_the_tls_session_through_the_proxy(
        gateway, tinyproxy, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port)
    pc = proxy_command(gw_bin, gw, pki, "--proxy", tp.url())
    for _ in (1, 2):
        assert answered_by(run_ssh(user_key, pc, "a.example.local", env)) \
            == sshd["a"].addr
    gw.wait_record(sni="a.example.local", tls_resumed="yes")
    recs = records_for(gw, "a.example.local")
    assert [r.get("tls_resumed") for r in recs] == [None, "yes"], recs
    assert tp.connects(gw.port) == 2


def test_gateway_is_verified_through_the_proxy(gateway, tinyproxy, gw_bin,
                                               pki, sshd, env, tmp_path):
    # the CA that signed the gateway is not this one: the tunnel changes
    # nothing about verification
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port)
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    str(tmp_path / "o.key"), "-out", str(other), "-days",
                    "2", "-subj", "/CN=other"], check=True,
                   capture_output=True, timeout=30)
    r = connect(gw_bin, "--ca", other, "--proxy", tp.url(),
                "127.0.0.1:%d" % gw.port, "a.example.local", env=env)
    assert_message(r, "sshgate: cannot verify gateway 127.0.0.1:%d: "
                   "certificate signed by an unknown CA" % gw.port)


def test_ipv6_proxy(gateway, tinyproxy, gw_bin, pki, raw_backend, env):
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    b = raw_backend(echo_after_eof)
    port = free_port("::1")
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no",
                 listen=["[::1]:%d" % port], port=port, host="::1")
    tp = tinyproxy(gw.port, host="::1")
    r = connect(gw_bin, "--ca", pki["ca"], "--proxy", tp.url(),
                "[::1]:%d" % gw.port, "half.example.local", env=env,
                input=b"hi")
    assert r.returncode == 0 and r.stdout == b"got 2 bytes: hi", r.stderr
    assert tp.connects(gw.port) == 1


# --- ssh-config ---

def test_ssh_config_writes_the_proxy(gateway, tinyproxy, gw_bin, pki, sshd,
                                     user_key, env, tmp_path):
    gw = gateway(two_routes(sshd))
    tp = tinyproxy(gw.port, auth=(TP_USER, TP_PASS))
    url = tp.url("%s:%s@" % (TP_USER, TP_PASS_URL))
    r = subprocess.run([gw_bin, "ssh-config", "--gateway",
                        "127.0.0.1:%d" % gw.port, "--ca", str(pki["ca"]),
                        "--proxy", url, "*.example.local"],
                       capture_output=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    # '%' is ssh's escape: doubled, and the word quoted for the shell
    assert " --proxy '%s' " % url.replace("%", "%%") in text, text
    cfg = tmp_path / "ssh_config"
    cfg.write_text(text)
    assert answered_by(run_ssh(user_key, None, "a.example.local", env,
                               config=cfg)) == sshd["a"].addr
    assert tp.connects(gw.port) == 1


def test_ssh_config_refuses_a_bad_proxy_url(gw_bin, env):
    r = subprocess.run([gw_bin, "ssh-config", "--gateway", "gw:2222",
                        "--proxy", "https://u:S3cret@p:1", "x"],
                       capture_output=True, timeout=30, env=env)
    assert r.returncode == 2 and r.stdout == b"", r
    assert b"https:// proxies" in r.stderr and b"S3cret" not in r.stderr


# --- no leaks (valgrind), the docs ---

@pytest.mark.slow(8)
def test_no_leak_through_the_proxy(gateway, tinyproxy, gw_bin, pki,
                                   raw_backend, env):
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed")
    if os.environ.get("SSHGATE_SANITIZE") == "1":
        pytest.skip("a sanitizer build does not run under valgrind")
    b = raw_backend(echo_after_eof)
    # valgrind is slow: the gateway waits for it
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no",
                 timeouts={"handshake": "30s", "inspect": "30s"})
    tp = tinyproxy(gw.port, auth=(TP_USER, TP_PASS))
    r = subprocess.run(["valgrind", "-q", "--leak-check=full",
                        "--show-leak-kinds=definite,indirect",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--error-exitcode=99", gw_bin, "connect", "--ca",
                        str(pki["ca"]), "--timeout", "30", "--proxy",
                        tp.url("%s:%s@" % (TP_USER, TP_PASS_URL)),
                        "127.0.0.1:%d" % gw.port, "half.example.local"],
                       input=b"hi", capture_output=True, timeout=120,
                       env=env)
    assert r.returncode == 0 and r.stdout == b"got 2 bytes: hi", \
        r.stderr.decode(errors="replace")


def test_man_page_documents_the_proxy():
    text = open(MAN_PAGE, encoding="utf-8").read().replace("\\-", "-")
    for word in ("--proxy", "https_proxy", "HTTPS_PROXY", "no_proxy",
                 "NO_PROXY", "wants credentials", "refused the credentials",
                 "refuses to connect to the gateway",
                 "could not reach the gateway", "answered CONNECT",
                 "is not an HTTP proxy", "malformed answer to CONNECT",
                 "no answer to CONNECT within",
                 "closed the connection without answering CONNECT",
                 "cannot connect to proxy", "cannot resolve proxy"):
        assert word in text, word
