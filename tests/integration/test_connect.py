"""`sshgate connect` (the verifying ProxyCommand client) and
`sshgate ssh-config`, as a user sees them: real ssh through the gateway to
real sshd backends with `ProxyCommand sshgate connect --ca CA GW:PORT %h`,
the exit status, the exact `sshgate: ...` line on stderr, which backend
answered ($SSH_CONNECTION), and the gateway's audit record.

Every run gets XDG_CACHE_HOME in a temporary directory (the TLS session
cache) and no SSHGATE_* variable from the caller's environment."""

import hashlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import made_once
from sshgate_helpers import (StuckListener, echo_after_eof, free_port,
                             have_ipv6_loopback, port_free, read_until_eof,
                             terminate, wait_until)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
USER = pwd.getpwuid(os.getuid()).pw_name
MAN_PAGE = os.path.join(TOP, "doc", "sshgate-connect.1")
SSH_BANNER = b"SSH-2.0-OpenSSH_test\r\n"
INSECURE_WARNING = ("sshgate: warning: --insecure: the gateway's "
                    "certificate is not verified")


# --- fixtures ---

def _sh(argv, cwd):
    r = subprocess.run([str(a) for a in argv], cwd=str(cwd),
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(map(str, argv)),
                                       r.stderr.decode()))


@pytest.fixture(scope="session")
def xpki(pki, tmp_path_factory):
    """Extra gateway certificates from the session CA (pki): one whose SAN
    lacks DNS:localhost, one expired; and a CA that signed nothing. Made
    once per run."""
    def make(d):
        _sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other-ca.key",
             "-out", "other-ca.pem", "-days", "30", "-subj", "/CN=another CA"],
            d)
        for serial, (name, san, days) in enumerate((
                ("noname", "DNS:gw.example.test,IP:127.0.0.1", "30"),
                ("expired", "DNS:localhost,IP:127.0.0.1,IP:::1", "-1")), 7):
            (d / (name + ".ext")).write_text("subjectAltName=%s\n" % san)
            _sh(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 name + ".key", "-out", name + ".csr", "-subj",
                 "/CN=gateway"], d)
            _sh(["openssl", "x509", "-req", "-in", name + ".csr", "-CA",
                 pki["ca"], "-CAkey", pki["dir"] / "ca.key", "-set_serial",
                 str(serial), "-days", days, "-extfile", name + ".ext",
                 "-out", name + ".crt"], d)
            (d / (name + ".pem")).write_text(
                (d / (name + ".crt")).read_text() +
                (d / (name + ".key")).read_text())
    d = made_once(tmp_path_factory, "connect-pki", make)
    return {"dir": d, "other_ca": d / "other-ca.pem",
            "noname": d / "noname.pem", "expired": d / "expired.pem"}


@pytest.fixture
def cpki(client_pki):
    """alice and bob from the client CA, mallory from a CA the gateway does
    not trust, dave expired, rita revoked (conftest's client_pki)."""
    return client_pki


@pytest.fixture
def env(tmp_path):
    """The environment for sshgate connect / ssh: no SSHGATE_* from the
    caller, the session cache in a temporary directory."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SSHGATE_")}
    cache = tmp_path / "xdg-cache"
    cache.mkdir()
    e["XDG_CACHE_HOME"] = str(cache)
    return e


def cache_file(env):
    return os.path.join(env["XDG_CACHE_HOME"], "sshgate", "sessions")


@pytest.fixture
def acl_gateway(gateway, pki, cpki, sshd):
    """A gateway with client-ca, a CRL and `access allow user alice to *`;
    a.example.local goes to sshd a, anything else to sshd b."""
    def start(rules=("access allow user alice to *",)):
        port = free_port()
        lines = ["listen 127.0.0.1:%d" % port,
                 'certificate "%s"' % pki["ecdsa"],
                 'client-ca "%s"' % cpki.path("ca.pem"),
                 'crl "%s"' % cpki.path("crl.pem"),
                 "timeout connect 1s", "timeout drain 2s", "workers 2",
                 "log file gateway.log",
                 "route a.example.local to %s" % sshd["a"].hostport,
                 "route * to %s" % sshd["b"].hostport] + list(rules)
        return gateway(conf_text="\n".join(lines) + "\n", port=port)
    return start


def two_routes(sshd):
    return ["a.example.local to %s" % sshd["a"].hostport,
            "b.example.local to %s" % sshd["b"].hostport]


# --- running the client ---

def q(*words):
    return " ".join(shlex.quote(str(w)) for w in words)


def proxy(gw_bin, gateway_addr, *opts):
    """ProxyCommand text: SSHGATE_BIN connect OPTS GATEWAY %h."""
    return q(gw_bin, "connect", *opts, gateway_addr) + " %h"


def ssh_argv(user_key, proxy_command, target, cmd="echo $SSH_CONNECTION",
             config="/dev/null"):
    argv = ["ssh", "-F", str(config),
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=20",
            "-i", str(user_key)]
    if proxy_command is not None:
        argv += ["-o", "ProxyCommand=" + proxy_command]
    return argv + ["%s@%s" % (USER, target), cmd]


def run_ssh(user_key, proxy_command, target, env, cmd="echo $SSH_CONNECTION",
            input=b"", timeout=30, **kw):
    return subprocess.run(ssh_argv(user_key, proxy_command, target, cmd,
                                   **kw),
                          input=input, capture_output=True, timeout=timeout,
                          env=env)


def answered_by(r):
    """The backend address from `echo $SSH_CONNECTION`; asserts success."""
    assert r.returncode == 0, "ssh failed (%d): %s" % (
        r.returncode, r.stderr.decode(errors="replace"))
    fields = r.stdout.decode().split()
    assert len(fields) == 4, r.stdout
    return fields[2]


def connect(gw_bin, *args, env, input=b"", timeout=30):
    return subprocess.run([gw_bin, "connect"] + [str(a) for a in args],
                          input=input, capture_output=True, timeout=timeout,
                          env=env)


def err_lines(r):
    return r.stderr.decode(errors="replace").splitlines()


def assert_message(r, line, rc=1):
    """Exit status rc, the exact line on stderr, and every stderr line is
    an `sshgate: ` message."""
    lines = err_lines(r)
    assert r.returncode == rc, "exit %d, wanted %d; stderr: %r" % (
        r.returncode, rc, lines)
    assert line in lines, "wanted the line %r on stderr, got %r" % (
        line, lines)
    assert all(l.startswith("sshgate: ") for l in lines), lines


def assert_ssh_shows(r, line):
    """ssh failed and its stderr carries the ProxyCommand's line."""
    assert r.returncode == 255, (r.returncode, r.stderr)
    assert line in err_lines(r), "wanted %r in ssh's stderr: %r" % (
        line, err_lines(r))


def records_for(gw, sni):
    return [r for r in gw.records() if r.get("sni") == sni]


def wait_records(gw, sni, n, timeout=10):
    wait_until(lambda: len(records_for(gw, sni)) >= n, timeout,
               what="%d record(s) for %s; log:\n%s"
               % (n, sni, "\n".join(gw.lines())))
    return records_for(gw, sni)


def gw_host_port(gw):
    return "127.0.0.1:%d" % gw.port


# --- it works ---

def test_success_with_ca_each_target_reaches_its_backend(
        gateway, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    r = run_ssh(user_key, pc, "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr
    assert r.stderr == b""
    r = run_ssh(user_key, pc, "b.example.local", env)
    assert answered_by(r) == sshd["b"].addr
    rec = gw.wait_record(sni="b.example.local")
    # after an ssh session either side may finish first
    assert rec["result"] == "ok", rec
    assert rec["reason"] in ("client-closed", "server-closed"), rec
    assert rec["dst"] == sshd["b"].hostport
    assert rec["tls"].startswith(("TLSv1.2/", "TLSv1.3/")), rec


@pytest.mark.parametrize("target,backend", [("10.1.2.3", "b"),
                                            ("fd00::7", "c")])
def test_ip_literal_target_is_sent_as_sni(gateway, gw_bin, pki, sshd,
                                          user_key, env, target, backend):
    gw = gateway(["10.1.2.3 to %s" % sshd["b"].hostport,
                  "fd00::7 to %s" % sshd["c"].hostport,
                  "* to %s" % sshd["a"].hostport])
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    r = run_ssh(user_key, pc, target, env)
    assert answered_by(r) == sshd[backend].addr
    rec = gw.wait_record(sni=target)
    assert rec["result"] == "ok"


def test_stdin_and_stdout_are_relayed(gateway, gw_bin, pki, sshd, user_key,
                                      env):
    gw = gateway(two_routes(sshd))
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    r = run_ssh(user_key, pc, "a.example.local", env, cmd="cat",
                input=b"line one\nline two\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"line one\nline two\n"


def test_ipv6_gateway_address(gateway, gw_bin, pki, sshd, user_key, env):
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    port = free_port("::1")
    gw = gateway(two_routes(sshd), port=port, host="::1",
                 listen=["[::1]:%d" % port])
    pc = proxy(gw_bin, "[::1]:%d" % port, "--ca", pki["ca"])
    r = run_ssh(user_key, pc, "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr
    assert r.stderr == b""
    rec = gw.wait_record(sni="a.example.local")
    assert rec["client"].startswith("[::1]:"), rec


def test_default_port_is_2222(gateway, gw_bin, pki, sshd, user_key, env):
    if not port_free("127.0.0.1", 2222):
        pytest.skip("127.0.0.1:2222 is in use")
    gw = gateway(two_routes(sshd), port=2222)
    pc = proxy(gw_bin, "127.0.0.1", "--ca", pki["ca"])
    r = run_ssh(user_key, pc, "b.example.local", env)
    assert answered_by(r) == sshd["b"].addr
    gw.wait_record(sni="b.example.local")


# --- client certificates ---

def test_success_with_client_certificate(acl_gateway, gw_bin, pki, cpki,
                                         sshd, user_key, env):
    gw = acl_gateway()
    crt, key = cpki.certs["alice"]
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"], "--cert", crt,
               "--key", key)
    r = run_ssh(user_key, pc, "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr
    assert r.stderr == b""
    rec = gw.wait_record(sni="a.example.local")
    assert (rec["result"], rec["user"]) == ("ok", "alice")


def test_key_defaults_to_the_certificate_file(acl_gateway, gw_bin, pki, cpki,
                                              sshd, user_key, env):
    gw = acl_gateway()
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"], "--cert",
               cpki.alice_pem)
    r = run_ssh(user_key, pc, "x.example.local", env)
    assert answered_by(r) == sshd["b"].addr
    assert gw.wait_record(sni="x.example.local")["user"] == "alice"


def test_environment_instead_of_options(acl_gateway, gw_bin, pki, cpki, sshd,
                                        user_key, env):
    gw = acl_gateway()
    crt, key = cpki.certs["alice"]
    env.update(SSHGATE_CA=str(pki["ca"]), SSHGATE_CERT=str(crt),
               SSHGATE_KEY=str(key))
    pc = proxy(gw_bin, gw_host_port(gw))
    r = run_ssh(user_key, pc, "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr
    assert r.stderr == b""
    assert gw.wait_record(sni="a.example.local")["user"] == "alice"


def test_command_line_options_win_over_environment(acl_gateway, gw_bin, pki,
                                                   cpki, xpki, sshd, user_key,
                                                   env):
    gw = acl_gateway()
    bob_crt, bob_key = cpki.certs["bob"]
    env.update(SSHGATE_CA=str(xpki["other_ca"]), SSHGATE_CERT=str(bob_crt),
               SSHGATE_KEY=str(bob_key))
    crt, key = cpki.certs["alice"]
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"], "--cert", crt,
               "--key", key)
    r = run_ssh(user_key, pc, "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr
    assert gw.wait_record(sni="a.example.local")["user"] == "alice"


# --- the gateway's certificate ---

@pytest.fixture
def recording_gateway(gateway, raw_backend):
    """A gateway routing everything to a raw backend that answers with an
    SSH banner and records what it receives."""
    def handler(c, rec):
        c.sendall(b"SSH-2.0-RawBackend_1.0\r\n")
        read_until_eof(c, rec)
    b = raw_backend(handler)
    gw = gateway(["* to %s" % b.hostport])
    return gw, b


def assert_backend_got_nothing(gw, b, sni):
    rec = gw.wait_record(sni=sni)
    assert rec["bytes_up"] == "0", rec
    assert rec["result"] != "ok", rec
    assert not [r for r in gw.records() if int(r["bytes_up"]) > 0]
    time.sleep(0.2)
    assert all(c["received"] == b"" for c in b.conns), b.conns


@pytest.mark.parametrize("how", ["other-ca", "no-ca"])
def test_untrusted_gateway_certificate(recording_gateway, gw_bin, xpki,
                                       user_key, env, how):
    gw, b = recording_gateway
    opts = ["--ca", xpki["other_ca"]] if how == "other-ca" else []
    line = ("sshgate: cannot verify gateway 127.0.0.1:%d: certificate "
            "signed by an unknown CA" % gw.port)
    r = connect(gw_bin, *opts, gw_host_port(gw), "secret.example.local",
                env=env, input=SSH_BANNER + b"secret bytes\n")
    assert_message(r, line)
    assert r.stdout == b""
    assert_backend_got_nothing(gw, b, "secret.example.local")
    r = run_ssh(user_key, proxy(gw_bin, gw_host_port(gw), *opts),
                "ssh.example.local", env)
    assert_ssh_shows(r, line)
    assert_backend_got_nothing(gw, b, "ssh.example.local")


def test_address_mismatch_and_names_that_match(gateway, gw_bin, pki, sshd,
                                               user_key, env):
    # one port on 127.0.0.1 and 127.0.0.7; the SAN has 127.0.0.1 only
    for _ in range(50):
        port = free_port()
        if port_free("127.0.0.7", port):
            break
    gw = gateway(two_routes(sshd), port=port,
                 listen=["127.0.0.1:%d" % port, "127.0.0.7:%d" % port])
    r = run_ssh(user_key, proxy(gw_bin, "127.0.0.7:%d" % port, "--ca",
                                pki["ca"]), "a.example.local", env)
    assert_ssh_shows(r, "sshgate: cannot verify gateway 127.0.0.7:%d: "
                     "address mismatch: wanted 127.0.0.7, the gateway's "
                     "certificate is for localhost, 127.0.0.1, ::1" % port)
    r = connect(gw_bin, "--ca", pki["ca"], "127.0.0.7:%d" % port,
                "a.example.local", env=env, input=SSH_BANNER)
    assert_message(r, "sshgate: cannot verify gateway 127.0.0.7:%d: "
                   "address mismatch: wanted 127.0.0.7, the gateway's "
                   "certificate is for localhost, 127.0.0.1, ::1" % port)
    assert r.stdout == b""
    for rec in wait_records(gw, "a.example.local", 2):
        assert rec["result"] != "ok" and rec["bytes_up"] == "0", rec
    # DNS:localhost and IP:127.0.0.1 are in the SAN
    for gw_addr, target, backend in (("localhost:%d" % port,
                                      "a.example.local", "a"),
                                     ("127.0.0.1:%d" % port,
                                      "b.example.local", "b")):
        r = run_ssh(user_key, proxy(gw_bin, gw_addr, "--ca", pki["ca"]),
                    target, env)
        assert answered_by(r) == sshd[backend].addr, gw_addr
        assert r.stderr == b""


def test_name_mismatch(gateway, gw_bin, pki, xpki, sshd, user_key, env):
    # a certificate for gw.example.test and 127.0.0.1, not localhost
    gw = gateway(two_routes(sshd), certs=['"%s"' % xpki["noname"]])
    line = ("sshgate: cannot verify gateway localhost:%d: name mismatch: "
            "wanted localhost, the gateway's certificate is for "
            "gw.example.test, 127.0.0.1" % gw.port)
    r = connect(gw_bin, "--ca", pki["ca"], "localhost:%d" % gw.port,
                "a.example.local", env=env, input=SSH_BANNER)
    assert_message(r, line)
    r = run_ssh(user_key, proxy(gw_bin, "localhost:%d" % gw.port, "--ca",
                                pki["ca"]), "a.example.local", env)
    assert_ssh_shows(r, line)
    # the same gateway by its address verifies
    r = run_ssh(user_key, proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"]),
                "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr


def test_expired_gateway_certificate(gateway, gw_bin, pki, xpki, sshd, env):
    gw = gateway(two_routes(sshd), certs=['"%s"' % xpki["expired"]])
    r = connect(gw_bin, "--ca", pki["ca"], gw_host_port(gw),
                "a.example.local", env=env, input=SSH_BANNER)
    assert_message(r, "sshgate: cannot verify gateway 127.0.0.1:%d: "
                   "certificate expired" % gw.port)
    rec = gw.wait_record(sni="a.example.local")
    assert rec["bytes_up"] == "0"


def test_insecure_connects_and_warns(gateway, gw_bin, sshd, user_key, env):
    for _ in range(50):
        port = free_port()
        if port_free("127.0.0.7", port):
            break
    gw = gateway(two_routes(sshd), port=port,
                 listen=["127.0.0.1:%d" % port, "127.0.0.7:%d" % port])
    r = run_ssh(user_key, proxy(gw_bin, "127.0.0.7:%d" % port, "--insecure"),
                "b.example.local", env)
    assert answered_by(r) == sshd["b"].addr
    assert INSECURE_WARNING in err_lines(r), err_lines(r)
    gw.wait_record(sni="b.example.local", result="ok")


# --- refusals ---

@pytest.mark.parametrize("who,line,reason", [
    ("bob", "access denied", "access-denied"),
    (None, "a client certificate is required", "no-client-cert"),
    ("mallory", "your certificate is not trusted", "cert-untrusted"),
    ("dave", "your certificate has expired", "cert-expired"),
    ("rita", "your certificate is revoked", "cert-revoked"),
])
def test_refused_by_the_gateway(acl_gateway, gw_bin, pki, cpki, sshd,
                                user_key, env, who, line, reason):
    gw = acl_gateway()
    opts = ["--ca", pki["ca"]]
    if who:
        crt, key = cpki.certs[who]
        opts += ["--cert", crt, "--key", key]
    line = "sshgate: gateway refused: " + line
    r = connect(gw_bin, *opts, gw_host_port(gw), "a.example.local", env=env,
                input=SSH_BANNER)
    assert_message(r, line)
    assert r.stdout == b""
    rec = gw.wait_record(sni="a.example.local")
    assert (rec["result"], rec["reason"]) == ("denied", reason), rec
    if who:
        assert rec["user"] == who
    # what the ssh user sees
    r = run_ssh(user_key, proxy(gw_bin, gw_host_port(gw), *opts),
                "b.example.local", env)
    assert_ssh_shows(r, line)
    rec = gw.wait_record(sni="b.example.local")
    assert rec["reason"] == reason and rec["bytes_up"] == "0"


def test_unknown_server_name(gateway, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    line = "sshgate: gateway refused: unknown server name 'nowhere.example'"
    r = connect(gw_bin, "--ca", pki["ca"], gw_host_port(gw),
                "nowhere.example", env=env, input=SSH_BANNER)
    assert_message(r, line)
    r = run_ssh(user_key, proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"]),
                "nowhere.example", env)
    assert_ssh_shows(r, line)
    rec = gw.wait_record(sni="nowhere.example")
    assert (rec["result"], rec["reason"]) == ("denied", "no-route")


@pytest.mark.parametrize("case", ["connect-failed", "not-ssh"])
def test_gateway_closes_before_the_server_answers(gateway, gw_bin, pki,
                                                  raw_backend, env, case):
    silent = raw_backend(read_until_eof)
    gw = gateway(["dead.example.local to 127.0.0.9:1",
                  "silent.example.local to %s" % silent.hostport])
    target, data = (("dead.example.local", SSH_BANNER)
                    if case == "connect-failed"
                    else ("silent.example.local", b"hello there\r\n"))
    r = connect(gw_bin, "--ca", pki["ca"], gw_host_port(gw), target, env=env,
                input=data)
    # the gateway says why in a notice; connect says it in words
    assert_message(r, "sshgate: gateway refused: the server 127.0.0.9:1 "
                   "cannot be reached" if case == "connect-failed" else
                   "sshgate: gateway refused: the stream is not SSH")
    assert r.stdout == b""
    rec = gw.wait_record(sni=target)
    assert rec["reason"] == case
    assert all(c["received"] == b"" for c in silent.conns)


def test_cannot_connect(gw_bin, pki, env):
    port = free_port()
    r = connect(gw_bin, "--ca", pki["ca"], "127.0.0.1:%d" % port,
                "a.example.local", env=env, input=SSH_BANNER)
    assert_message(r, "sshgate: cannot connect to 127.0.0.1:%d: Connection "
                   "refused" % port)


def test_no_tls_handshake_within_timeout(gw_bin, pki, env):
    # a listener that never accepts: TCP completes, TLS never answers
    port = free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    try:
        t0 = time.monotonic()
        r = connect(gw_bin, "--ca", pki["ca"], "--timeout", "1",
                    "127.0.0.1:%d" % port, "a.example.local", env=env,
                    input=SSH_BANNER, timeout=20)
        took = time.monotonic() - t0
    finally:
        s.close()
    assert_message(r, "sshgate: 127.0.0.1:%d: no TLS handshake within 1s"
                   % port)
    assert 0.8 < took < 4, took


def test_tcp_connect_timeout(gw_bin, pki, env):
    port = free_port("127.0.0.6")
    stuck = StuckListener("127.0.0.6", port)
    try:
        if not stuck.probe_hangs():
            pytest.skip("could not make a connect hang on loopback")
        t0 = time.monotonic()
        r = connect(gw_bin, "--insecure", "--timeout", "1",
                    "127.0.0.6:%d" % port, "a.example.local", env=env,
                    input=SSH_BANNER, timeout=20)
        took = time.monotonic() - t0
    finally:
        stuck.close()
    assert r.returncode == 1, r.stderr
    lines = [l for l in err_lines(r) if l != INSECURE_WARNING]
    assert len(lines) == 1 and lines[0].startswith("sshgate: ") and \
        "127.0.0.6:%d" % port in lines[0], err_lines(r)
    assert 0.8 < took < 4, took


# --- volume and half-close ---

def test_fifty_megabytes_each_way(gateway, gw_bin, pki, sshd, user_key, env,
                                  big_file):
    f, digest = big_file
    gw = gateway(["* to %s" % sshd["a"].hostport])
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    with open(f, "rb") as fh:
        r = subprocess.run(ssh_argv(user_key, pc, "up.example.local",
                                    "sha256sum"),
                           stdin=fh, capture_output=True, timeout=180,
                           env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0].decode() == digest
    assert int(gw.wait_record(sni="up.example.local")["bytes_up"]) > 50000000

    p = subprocess.Popen(ssh_argv(user_key, pc, "down.example.local",
                                  "cat %s" % shlex.quote(str(f))),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    h, n = hashlib.sha256(), 0
    try:
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
        p.wait(180)
    finally:
        terminate(p)
    assert p.returncode == 0, p.stderr.read()
    assert (n, h.hexdigest()) == (50000000, digest)
    rec = gw.wait_record(sni="down.example.local")
    assert int(rec["bytes_down"]) > 50000000


def test_half_close_reply_after_eof(gateway, gw_bin, pki, raw_backend, env):
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no")
    r = connect(gw_bin, "--ca", pki["ca"], gw_host_port(gw),
                "half.example.local", env=env, input=b"hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"got 5 bytes: hello"
    assert r.stderr == b""
    conn = b.wait_conns(1)[0]
    assert conn["eof"] and conn["received"] == b"hello"
    rec = gw.wait_record(sni="half.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed")
    assert (rec["bytes_up"], rec["bytes_down"]) == ("5", "18")


def test_half_close_with_a_shell_pipe(gateway, gw_bin, pki, raw_backend,
                                      env):
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no")
    r = subprocess.run("printf hello | %s" % q(
        gw_bin, "connect", "--ca", pki["ca"], gw_host_port(gw),
        "half.example.local"), shell=True, capture_output=True, timeout=30,
        env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"got 5 bytes: hello",
                                                  b"")


# --- ssh-config ---

def ssh_config(gw_bin, *args, cwd=None, env=None):
    return subprocess.run([gw_bin, "ssh-config"] + [str(a) for a in args],
                          capture_output=True, timeout=30, cwd=cwd, env=env)


def test_ssh_config_prints_a_host_block(gw_bin, pki, cpki, env):
    # relative paths in, absolute paths out
    r = ssh_config(gw_bin, "--gateway", "127.0.0.1:2299", "--ca", "ca.pem",
                   "--cert", os.path.relpath(cpki.alice_pem, pki["dir"]),
                   "*.example.local", "db7.internal", cwd=pki["dir"], env=env)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.decode().splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    assert lines[0] == "Host *.example.local db7.internal", lines
    assert lines[1].startswith("    ProxyCommand "), lines
    words = shlex.split(lines[1].split("ProxyCommand ", 1)[1])
    assert len(words) == 8, words
    for w, want in ((words[0], gw_bin), (words[3], pki["ca"]),
                    (words[5], cpki.alice_pem)):
        assert os.path.isabs(w) and \
            os.path.realpath(w) == os.path.realpath(want), (w, want)
    assert [words[i] for i in (1, 2, 4, 6)] == \
        ["connect", "--ca", "--cert", "127.0.0.1:2299"] and \
        words[7] == "%h", words
    assert lines[1].endswith(" 127.0.0.1:2299 %h"), lines
    assert lines[1] == "    ProxyCommand %s connect --ca %s --cert %s " \
        "127.0.0.1:2299 %%h" % (words[0], words[3], words[5])
    assert len(lines) == 2, lines


def test_ssh_config_block_works_with_ssh(acl_gateway, gw_bin, pki, cpki,
                                         sshd, user_key, env, tmp_path):
    gw = acl_gateway()
    crt, key = cpki.certs["alice"]
    r = ssh_config(gw_bin, "--gateway", gw_host_port(gw), "--ca", pki["ca"],
                   "--cert", crt, "--key", key, "*.example.local", env=env)
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    words = shlex.split(text.split("ProxyCommand ", 1)[1].splitlines()[0])
    i = words.index("--key")
    assert os.path.realpath(words[i + 1]) == os.path.realpath(key), words
    cfg = tmp_path / "ssh_config"
    cfg.write_text(text)
    r = run_ssh(user_key, None, "a.example.local", env, config=cfg)
    assert answered_by(r) == sshd["a"].addr
    rec = gw.wait_record(sni="a.example.local")
    assert (rec["result"], rec["user"]) == ("ok", "alice")


@pytest.mark.parametrize("args", [
    ["*.example.local"],
    ["--gateway", "127.0.0.1:2222"],
    ["--gateway"],
    ["--bogus", "--gateway", "127.0.0.1:2222", "x"],
], ids=["no-gateway", "no-pattern", "gateway-without-value", "unknown-option"])
def test_ssh_config_usage_errors(gw_bin, env, args):
    r = ssh_config(gw_bin, *args, env=env)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == b""
    assert b"sshgate" in r.stderr, r.stderr


def _use_block(block, user_key, env, tmp_path, target):
    """What a user does with a printed block: put it in a config, run ssh."""
    cfg = tmp_path / "ssh_config"
    cfg.write_bytes(block)
    run_ssh(user_key, None, target, env, config=cfg, timeout=30)


def test_ssh_config_gateway_holding_a_command_is_refused(gw_bin, user_key,
                                                         env, tmp_path):
    made = tmp_path / "made-by-the-gateway-argument"
    gw = "$(touch %s)" % made
    r = ssh_config(gw_bin, "--gateway", gw, "*.example.local", env=env)
    if r.returncode == 0:
        _use_block(r.stdout, user_key, env, tmp_path, "a.example.local")
    assert not made.exists(), "the --gateway value ran as a command"
    assert_message(r, "sshgate: ssh-config: --gateway '%s': expected a "
                   "host name, an IPv4 address or an [IPv6] address in "
                   "brackets, with an optional :PORT (1-65535)" % gw, rc=2)
    assert r.stdout == b""


def test_ssh_config_pattern_with_a_newline_is_refused(gw_bin, user_key, env,
                                                      tmp_path):
    made = tmp_path / "made-by-the-pattern"
    pattern = "a.example.local\n    ProxyCommand touch %s" % made
    r = ssh_config(gw_bin, "--gateway", "127.0.0.1:2222", pattern, env=env)
    if r.returncode == 0:
        _use_block(r.stdout, user_key, env, tmp_path, "a.example.local")
    assert not made.exists(), "the pattern added a directive"
    assert_message(r, "sshgate: ssh-config: pattern '%s' refused: "
                   "ssh_config would misread it (a pattern is letters, "
                   "digits, '.', '-', '_', ':', '*', '?', after an "
                   "optional '!')" % pattern.replace("\n", "\\n"), rc=2)
    assert r.stdout == b""


@pytest.mark.parametrize("gateway_arg,patterns,bad", [
    ("gw.example;id", ["x"], "gw.example;id"),
    ("gw example", ["x"], "gw example"),
    ("-oProxyCommand", ["x"], "-oProxyCommand"),
    ("::1", ["x"], "::1"),
    ("gw.example:0", ["x"], "gw.example:0"),
    ("gw.example", ["a b"], "a b"),
    ("gw.example", ['db"7'], 'db"7'),
    ("gw.example", ["db'7"], "db'7"),
    ("gw.example", ["db#7"], "db#7"),
    ("gw.example", ["ok", "db%h"], "db%h"),
], ids=["gateway-semicolon", "gateway-blank", "gateway-option",
        "gateway-bare-ipv6", "gateway-port-0", "pattern-blank",
        "pattern-double-quote", "pattern-single-quote", "pattern-comment",
        "pattern-percent"])
def test_ssh_config_refuses_what_ssh_config_would_misread(
        gw_bin, env, gateway_arg, patterns, bad):
    r = ssh_config(gw_bin, "--gateway", gateway_arg, *patterns, env=env)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == b""
    assert ("'%s'" % bad).encode() in r.stderr, r.stderr


def test_ssh_config_quotes_an_ipv6_gateway_and_odd_paths(
        gateway, gw_bin, pki, sshd, user_key, env, tmp_path):
    """[::1]:PORT is a shell glob unless quoted, and a CA path may hold
    blanks, quotes, '$' and '%': the block still works with real ssh, run
    from a directory where the unquoted glob would match files."""
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    port = free_port("::1")
    gw = gateway(two_routes(sshd), port=port, host="::1",
                 listen=["[::1]:%d" % port])
    odd = tmp_path / "it's a $HOME 100%h dir"
    odd.mkdir()
    ca = odd / "ca.pem"
    shutil.copy(str(pki["ca"]), str(ca))
    r = ssh_config(gw_bin, "--gateway", "[::1]:%d" % port, "--ca", ca,
                   "a.example.local", env=env)
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "ssh_config"
    cfg.write_bytes(r.stdout)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for name in (":%d" % port, "1:%d" % port):
        (cwd / name).write_text("")
    r = subprocess.run(ssh_argv(user_key, None, "a.example.local",
                                config=cfg),
                       capture_output=True, timeout=30, env=env, cwd=str(cwd))
    assert answered_by(r) == sshd["a"].addr
    assert gw.wait_record(sni="a.example.local")["result"] == "ok"


# --- TLS session resumption ---

def test_second_run_resumes_the_tls_session(gateway, gw_bin, pki, sshd,
                                            user_key, env):
    gw = gateway(two_routes(sshd))
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    assert answered_by(run_ssh(user_key, pc, "a.example.local", env)) == \
        sshd["a"].addr
    first = wait_records(gw, "a.example.local", 1)[0]
    assert "tls_resumed" not in first, first
    f = cache_file(env)
    assert os.path.isfile(f), "no session cache at %s" % f
    assert os.stat(f).st_mode & 0o777 == 0o600, oct(os.stat(f).st_mode)
    d = os.path.dirname(f)
    assert os.stat(d).st_mode & 0o777 == 0o700, oct(os.stat(d).st_mode)
    r = run_ssh(user_key, pc, "a.example.local", env)
    assert answered_by(r) == sshd["a"].addr
    second = wait_records(gw, "a.example.local", 2)[1]
    assert second.get("tls_resumed") == "yes", second
    assert second["result"] == "ok"


def test_gateway_without_tickets_never_resumes(gateway, gw_bin, pki, sshd,
                                               user_key, env):
    gw = gateway(two_routes(sshd), extra="tls-tickets no")
    pc = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    for i in (1, 2, 3):
        assert answered_by(run_ssh(user_key, pc, "a.example.local", env)) \
            == sshd["a"].addr
    recs = wait_records(gw, "a.example.local", 3)
    assert [r.get("tls_resumed") for r in recs] == [None] * 3, recs
    assert [r["result"] for r in recs] == ["ok"] * 3, recs


def test_no_resume(gateway, gw_bin, pki, sshd, user_key, env):
    gw = gateway(two_routes(sshd))
    no = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"], "--no-resume")
    for i in (1, 2):
        assert answered_by(run_ssh(user_key, no, "b.example.local", env)) \
            == sshd["b"].addr
        wait_records(gw, "b.example.local", i)
    # a cache filled by a normal run is not used either
    yes = proxy(gw_bin, gw_host_port(gw), "--ca", pki["ca"])
    answered_by(run_ssh(user_key, yes, "b.example.local", env))
    wait_records(gw, "b.example.local", 3)
    answered_by(run_ssh(user_key, no, "b.example.local", env))
    recs = wait_records(gw, "b.example.local", 4)
    assert [r.get("tls_resumed") for r in recs] == [None] * 4, recs


def test_cache_modes_with_a_permissive_umask(gateway, gw_bin, pki,
                                             raw_backend, env):
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no")
    r = subprocess.run([gw_bin, "connect", "--ca", str(pki["ca"]),
                        gw_host_port(gw), "half.example.local"],
                       input=b"hi", capture_output=True, timeout=30, env=env,
                       preexec_fn=lambda: os.umask(0))
    assert r.returncode == 0 and r.stdout == b"got 2 bytes: hi", r.stderr
    f = cache_file(env)
    assert os.stat(f).st_mode & 0o777 == 0o600, oct(os.stat(f).st_mode)
    d = os.path.dirname(f)
    assert os.stat(d).st_mode & 0o777 == 0o700, oct(os.stat(d).st_mode)


def test_cache_defaults_to_home_cache(gateway, gw_bin, pki, raw_backend,
                                      env, tmp_path):
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no")
    home = tmp_path / "home"
    home.mkdir()
    del env["XDG_CACHE_HOME"]
    env["HOME"] = str(home)
    for i in (1, 2):
        r = connect(gw_bin, "--ca", pki["ca"], gw_host_port(gw),
                    "half.example.local", env=env, input=b"hi")
        assert r.returncode == 0 and r.stdout == b"got 2 bytes: hi", r.stderr
        recs = wait_records(gw, "half.example.local", i)
    assert os.path.isfile(home / ".cache" / "sshgate" / "sessions")
    assert recs[1].get("tls_resumed") == "yes", recs


def test_cached_session_never_skips_verification(gateway, gw_bin, pki, xpki,
                                                 raw_backend, env):
    # a session made with --insecure, or trusted through one CA, must not
    # let a run that verifies differently skip its verification
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s" % b.hostport], ssh_only="no")
    unknown = ("sshgate: cannot verify gateway 127.0.0.1:%d: certificate "
               "signed by an unknown CA" % gw.port)
    steps = [(["--insecure"], 0), ([], 1), (["--ca", pki["ca"]], 0),
             (["--ca", xpki["other_ca"]], 1)]
    for i, (opts, rc) in enumerate(steps, 1):
        r = connect(gw_bin, *opts, gw_host_port(gw), "half.example.local",
                    env=env, input=b"hi")
        recs = wait_records(gw, "half.example.local", i)
        if rc == 0:
            assert r.returncode == 0, r.stderr
            assert r.stdout == b"got 2 bytes: hi"
        else:
            assert_message(r, unknown)
            assert recs[-1].get("tls_resumed") is None, recs[-1]
            assert recs[-1]["bytes_up"] == "0"
    assert os.path.isfile(cache_file(env))
    assert [c["received"] for c in b.conns] == [b"hi", b"hi"]


# --- usage errors ---

@pytest.mark.parametrize("args", [
    [],
    ["127.0.0.1:2222"],
    ["--ca"],
    ["127.0.0.1:99999", "a.example.local"],
    ["127.0.0.1:abc", "a.example.local"],
    ["127.0.0.1:0", "a.example.local"],
    ["127.0.0.1:", "a.example.local"],
    ["--bogus", "127.0.0.1:2222", "a.example.local"],
    ["--timeout", "soon", "127.0.0.1:2222", "a.example.local"],
    ["127.0.0.1:2222", "a.example.local", "extra"],
], ids=["nothing", "no-target", "ca-without-value", "port-too-big",
        "port-not-a-number", "port-zero", "port-empty", "unknown-option",
        "bad-timeout", "extra-argument"])
def test_connect_usage_errors(gw_bin, env, args):
    r = connect(gw_bin, *args, env=env, timeout=20)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == b""
    assert b"sshgate" in r.stderr, r.stderr


# --- the man page ---

def test_man_page_renders_without_warnings():
    assert shutil.which("groff"), "groff is not installed " \
        "(scripts/deps.sh installs groff-base)"
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN_PAGE],
                       capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()


def test_man_page_documents_every_option_and_message():
    text = open(MAN_PAGE, encoding="utf-8").read().replace("\\-", "-")
    for word in ("--ca", "--cert", "--key", "--insecure", "--no-resume",
                 "--timeout", "--gateway", "SSHGATE_CA", "SSHGATE_CERT",
                 "SSHGATE_KEY", "XDG_CACHE_HOME", "ssh-config",
                 "unknown CA", "name mismatch", "address mismatch",
                 "certificate expired", "unknown server name",
                 "access denied", "a client certificate is required",
                 "your certificate is not trusted",
                 "your certificate has expired",
                 "your certificate is revoked", "no TLS handshake within",
                 "cannot connect to",
                 "before the server answered"):
        assert word in text, word


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM],
                         ids=["int", "term"])
def test_key_passphrase_prompt_killed_gives_echo_back(gw_bin, tmp_path, sig):
    """^C or a kill while connect asks for the passphrase of an encrypted
    client key ends it as it would have, with the terminal's echo back."""
    import pty
    import select
    import termios
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-keyout", str(key), "-out",
                    str(crt), "-days", "2", "-subj", "/CN=alice",
                    "-passout", "pass:secret"], check=True,
                   capture_output=True, timeout=60)
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(gw_bin, [gw_bin, "connect", "--cert", str(crt), "--key",
                          str(key), "127.0.0.1:9", "x"])
    seen = b""
    deadline = time.monotonic() + 20
    try:
        while b"Passphrase for" not in seen:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([fd], [], [], left)[0], seen
            seen += os.read(fd, 1024)
        time.sleep(0.2)
        assert not termios.tcgetattr(fd)[3] & termios.ECHO
        os.kill(pid, sig)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig, status
        assert termios.tcgetattr(fd)[3] & termios.ECHO, \
            "the terminal was left without echo"
    finally:
        os.close(fd)
