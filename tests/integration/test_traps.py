"""Traps that bite on a later day: a second gateway on the same address,
lifetimes of CRLs and certificates, refusals the user never sees
explained, plain ssh pointed at the TLS port."""

import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import gw_config
from pkihelpers import crl, issue, name
from sshgate_helpers import (BANNER, banner_then_record, free_port,
                             terminate, tls_connect, wait_until)


_started = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _started:
        terminate(_started.pop())


def _start(gw_bin, tmp_path, name, text):
    d = tmp_path / name
    d.mkdir()
    conf = d / "sshgate.conf"
    conf.write_text(text)
    err = d / "stderr.txt"
    p = subprocess.Popen([gw_bin, "serve", "-c", str(conf)], cwd=str(d),
                         stdout=subprocess.DEVNULL, stderr=open(err, "wb"))
    _started.append(p)
    return p, err


def test_second_gateway_on_the_same_address_refuses_to_start(
        gateway, gw_bin, pki, sshd, tmp_path):
    metrics = free_port()
    first = gateway(["* to %s" % sshd["a"].hostport],
                    extra="metrics 127.0.0.1:%d" % metrics)
    # another config, same listen address: refused, naming it and the pid
    text = gw_config(first.port, ["* to %s" % sshd["b"].hostport], pki=pki,
                     log="file second.log")
    p, err = _start(gw_bin, tmp_path, "second", text)
    assert p.wait(20) == 1
    msg = err.read_text()
    assert ("listen 127.0.0.1:%d: already served by another process "
            "(pid %d, sshgate)" % (first.port, first.proc.pid)) in msg, msg
    assert "serving with" not in msg
    # a different listen address but the same metrics address: refused too
    text = gw_config(free_port(), ["* to %s" % sshd["b"].hostport], pki=pki,
                     log="file third.log",
                     extra="metrics 127.0.0.1:%d" % metrics)
    p, err = _start(gw_bin, tmp_path, "third", text)
    assert p.wait(20) == 1
    msg = err.read_text()
    assert "metrics 127.0.0.1:%d: already served by another process" % \
        metrics in msg, msg
    # the first gateway still serves every client, and reloads
    first.signal(signal.SIGHUP)
    first.wait_stderr("reloaded")
    for _ in range(10):
        tls_connect(first.port, "x.example.local").close()


def test_wildcard_and_specific_addresses_overlap(gateway, gw_bin, pki, sshd,
                                                 tmp_path):
    first = gateway(["* to %s" % sshd["a"].hostport])
    text = gw_config(first.port, ["* to %s" % sshd["b"].hostport], pki=pki,
                     log="file second.log",
                     listen=["0.0.0.0:%d" % first.port])
    p, err = _start(gw_bin, tmp_path, "second", text)
    assert p.wait(20) == 1
    assert "listen 0.0.0.0:%d: already served by another process" % \
        first.port in err.read_text(), err.read_text()


def test_restart_on_the_same_address_works(gw_bin, pki, sshd, tmp_path):
    port = free_port()
    text = gw_config(port, ["* to %s" % sshd["a"].hostport], pki=pki,
                     log="file a.log")
    for i in range(2):
        p, err = _start(gw_bin, tmp_path, "run%d" % i, text)
        wait_until(lambda: "serving with" in err.read_text() or
                   p.poll() is not None, 10)
        assert p.poll() is None, err.read_text()
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0


# --- refusals and ends explained to `sshgate connect` users ---------------



def _env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SSHGATE_")}
    e["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return e


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    """A client CA with users, its fresh CRL, an out-of-date CRL and one
    due in 3 days."""
    d = tmp_path_factory.mktemp("traps-pki")
    ca = issue(name("traps CA"), ca=True)
    (d / "ca.pem").write_bytes(ca.pem())
    (d / "crl-fresh.pem").write_bytes(crl(ca))
    (d / "crl-stale.pem").write_bytes(crl(ca, next_update_days=-1))
    (d / "crl-soon.pem").write_bytes(crl(ca, next_update_days=3))
    out = {"dir": d, "ca": ca}
    for who in ("alice", "bob"):
        u = issue(name(who, ["ops"]), ca)
        (d / (who + ".pem")).write_bytes(u.pem())
        (d / (who + ".key")).write_bytes(u.key_pem())
    return out


def _acl_conf(port, pki, users, backend, lines, crl_file="crl-fresh.pem"):
    d = users["dir"]
    return gw_config(port, ["* to %s" % backend.hostport], pki=pki,
                     extra="client-ca %s\ncrl %s\n%s" % (
                         d / "ca.pem", d / crl_file, "\n".join(lines)))


def _connect(gw_bin, gw, who, users, tmp_path, target="db.example.local",
             stdin=b"SSH-2.0-client\r\n", timeout=30):
    d = users["dir"]
    return subprocess.run(
        [gw_bin, "connect", "--insecure", "--cert", str(d / (who + ".pem")),
         "--key", str(d / (who + ".key")), "127.0.0.1:%d" % gw.port,
         target], input=stdin, capture_output=True, timeout=timeout,
        env=_env(tmp_path))


def _said(r):
    return [l for l in r.stderr.decode(errors="replace").splitlines()
            if not l.startswith("sshgate: warning: --insecure")]


def test_access_denied_by_address_is_explained(gateway, gw_bin, pki, users,
                                               raw_backend, tmp_path):
    b = raw_backend(banner_then_record)
    port = free_port()
    gw = gateway(conf_text=_acl_conf(port, pki, users, b, [
        "access allow user alice to 10.9.9.9"]), port=port)
    r = _connect(gw_bin, gw, "alice", users, tmp_path)
    assert r.returncode == 1
    assert _said(r) == ["sshgate: gateway refused: access denied for alice "
                        "to %s" % b.hostport], r.stderr
    assert r.stdout == b""
    assert gw.wait_record(user="alice")["reason"] == "access-denied"
    assert b.conns == []


def _session(gw_bin, gw, cert, key, tmp_path):
    """A `connect` client that has sent its SSH identification; stdin
    stays open, so only the gateway ends the session."""
    p = subprocess.Popen(
        [gw_bin, "connect", "--insecure", "--cert", str(cert), "--key",
         str(key), "127.0.0.1:%d" % gw.port, "db.example.local"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(tmp_path))
    p.stdin.write(b"SSH-2.0-client\r\n")
    p.stdin.flush()
    return p


def _ended(p, timeout=15):
    """Waits for the client p to end; returns (stdout, stderr)."""
    try:
        p.wait(timeout=timeout)
        return p.stdout.read(), p.stderr.read()
    finally:
        p.kill()
        for f in (p.stdin, p.stdout, p.stderr):
            f.close()


def test_kill_ends_a_connect_session_in_words(gateway, gw_bin, pki, users,
                                              raw_backend, tmp_path):
    b = raw_backend(banner_then_record)
    port = free_port()
    sock = tmp_path / "ctl.sock"
    gw = gateway(conf_text=_acl_conf(port, pki, users, b, [
        "access allow any to *", "control %s" % sock]), port=port)
    d = users["dir"]
    p = _session(gw_bin, gw, d / "bob.pem", d / "bob.key", tmp_path)
    assert p.stdout.read(len(BANNER)) == BANNER
    gw.wait_record(events=("open",), user="bob")
    r = subprocess.run([gw_bin, "ctl", "-s", str(sock), "kill-user", "bob"],
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    out, err = _ended(p)
    assert p.returncode == 1
    assert "sshgate: session ended by the gateway: closed by an operator" \
        in err.decode(), err
    assert b"sshgate-notice" not in out      # never passed on to ssh


def test_certificate_expiring_during_a_session(gateway, gw_bin, pki, users,
                                               raw_backend, tmp_path):
    b = raw_backend(banner_then_record)
    short = issue(name("carol"), users["ca"], seconds=3)
    (tmp_path / "carol.pem").write_bytes(short.pem())
    (tmp_path / "carol.key").write_bytes(short.key_pem())
    port = free_port()
    gw = gateway(conf_text=_acl_conf(port, pki, users, b, [
        "access allow any to *"]), port=port)
    p = _session(gw_bin, gw, tmp_path / "carol.pem", tmp_path / "carol.key",
                 tmp_path)
    out, err = _ended(p)
    assert p.returncode == 1
    assert "sshgate: session ended by the gateway: your certificate " \
        "expired" in err.decode(), err
    assert gw.wait_record(user="carol")["reason"] == "cert-expired"


def test_expired_crl_is_its_own_reason_and_told_as_such(
        gateway, gw_bin, pki, users, raw_backend, tmp_path):
    b = raw_backend(banner_then_record)
    port, mport = free_port(), free_port()
    text = _acl_conf(port, pki, users, b, [
        "access allow any to *", "metrics 127.0.0.1:%d" % mport],
        crl_file="crl-stale.pem")
    conf = tmp_path / "stale.conf"
    conf.write_text(text)
    # check says so, without failing (warnings do not change its status)
    r = subprocess.run([gw_bin, "check", "-c", str(conf)],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "crl-stale.pem" in r.stderr.decode() and \
        "is out of date since" in r.stderr.decode(), r.stderr
    gw = gateway(conf_text=text, port=port)
    assert "is out of date since" in gw.stderr()
    r = _connect(gw_bin, gw, "alice", users, tmp_path)
    assert r.returncode == 1
    assert _said(r) == ["sshgate: gateway refused: the gateway's certificate "
                        "revocation list is out of date, so no certificate "
                        "of your CA can be checked; its operator must "
                        "publish a new one"], r.stderr
    rec = gw.wait_record(user="alice")
    assert (rec["result"], rec["reason"]) == ("denied", "crl-expired")
    assert b.conns == []
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                  timeout=5).read().decode()
    crl_file = users["dir"] / "crl-stale.pem"
    line = [l for l in body.splitlines() if l.startswith(
        'sshgate_crl_next_update_timestamp_seconds{file="%s"}' % crl_file)]
    assert len(line) == 1, body
    assert int(line[0].split()[-1]) < time.time()
    assert 'sshgate_certificate_expiry_timestamp_seconds{file="%s",' \
        'role="gateway"}' % pki["ecdsa"] in body
    assert 'role="client-ca"}' in body
    assert 'sshgate_denied_total{reason="crl-expired"} 1' in body


def test_crl_and_certificates_running_out_soon_are_warned(
        gateway, gw_bin, users, raw_backend, tmp_path):
    b = raw_backend(banner_then_record)
    gwc = issue(name("soon gw"), users["ca"], days=5,
                server_names=["localhost"])
    (tmp_path / "gw.pem").write_bytes(gwc.pem() + gwc.key_pem())
    port = free_port()
    d = users["dir"]
    text = ("listen 127.0.0.1:%d\ncertificate %s\nroute * to %s\n"
            "client-ca %s\ncrl %s\naccess allow any to *\nlog file gateway.log\n"
            % (port, tmp_path / "gw.pem", b.hostport, d / "ca.pem",
               d / "crl-soon.pem"))
    (tmp_path / "soon.conf").write_text(text)
    # 3 and 5 days from when they were made: a second less by now
    crl_says = re.compile(r"crl %s \(/CN=traps CA\) must be renewed within "
                          r"[23] days \(next update " % re.escape(
                              str(d / "crl-soon.pem")))
    cert_says = re.compile(r"certificate %s \(/CN=soon gw\) expires in [45] "
                           r"days \(" % re.escape(str(tmp_path / "gw.pem")))
    r = subprocess.run([gw_bin, "check", "-c", str(tmp_path / "soon.conf")],
                       capture_output=True, timeout=20)
    assert r.returncode == 0
    assert crl_says.search(r.stderr.decode()) and \
        cert_says.search(r.stderr.decode()), r.stderr
    gw = gateway(conf_text=text, port=port)
    err = gw.stderr()
    assert re.search("sshgate: warning: " + crl_says.pattern, err), err
    assert re.search("sshgate: warning: " + cert_says.pattern, err), err
    # the same on a reload
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reloaded")
    assert len(crl_says.findall(gw.stderr())) == 2
    # clients are still served
    _connect(gw_bin, gw, "bob", users, tmp_path, stdin=b"")
    assert gw.wait_record(user="bob")["result"] == "ok"


# --- plain SSH where TLS is expected, and TLS where SSH is ----------------

def test_plain_ssh_to_the_gateway_is_told_what_to_do(gateway, sshd,
                                                     user_key):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o",
         "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-i", str(user_key), "-p", str(gw.port), "x@127.0.0.1", "true"],
        capture_output=True, timeout=20)
    assert r.returncode == 255
    err = r.stderr.decode()
    assert "Received disconnect from 127.0.0.1 port %d" % gw.port in err, err
    assert "this port speaks TLS, not SSH" in err and \
        "ProxyCommand='sshgate connect" in err, err
    rec = gw.wait_record(reason="plain-ssh")
    assert rec["result"] == "denied"


def test_connect_pointed_at_an_ssh_server_says_so(gw_bin, sshd, tmp_path):
    a = sshd["a"]
    r = subprocess.run([gw_bin, "connect", "--insecure", a.hostport, "x"],
                       input=b"", capture_output=True, timeout=20,
                       env=_env(tmp_path))
    assert r.returncode == 1
    assert _said(r) == ["sshgate: %s is an SSH server, not an sshgate "
                        "gateway: connect to it with plain ssh, or give "
                        "connect the gateway's TLS address" % a.hostport], \
        r.stderr


def test_connect_names_what_the_gateway_certificate_covers(
        gateway, gw_bin, tmp_path, sshd):
    ca = issue(name("mismatch CA"), ca=True)
    gwc = issue(name("gw"), ca, server_names=["gw.example.com",
                                              "*.gw.example.com"])
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    (tmp_path / "gw.pem").write_bytes(gwc.pem() + gwc.key_pem())
    port = free_port()
    gw = gateway(conf_text="listen 127.0.0.1:%d\ncertificate %s\n"
                 "route * to %s\nlog file g.log\n" % (
                     port, tmp_path / "gw.pem", sshd["a"].hostport),
                 port=port)
    r = subprocess.run([gw_bin, "connect", "--ca", str(tmp_path / "ca.pem"),
                        "127.0.0.1:%d" % gw.port, "x"], input=b"",
                       capture_output=True, timeout=20, env=_env(tmp_path))
    assert r.returncode == 1
    assert _said(r) == ["sshgate: cannot verify gateway 127.0.0.1:%d: "
                        "address mismatch: wanted 127.0.0.1, the gateway's "
                        "certificate is for gw.example.com, "
                        "*.gw.example.com" % gw.port], r.stderr


def test_certificate_and_key_mistakes_said_in_words(gw_bin, tmp_path):
    one = issue(name("gw"))
    two = issue(name("other"))
    d = tmp_path
    (d / "c.pem").write_bytes(one.pem())
    (d / "k.pem").write_bytes(one.key_pem())
    (d / "k2.pem").write_bytes(two.key_pem())
    (d / "both.pem").write_bytes(one.pem() + one.key_pem())
    cases = [
        ("c.pem", "no private key in %s/c.pem: 'key FILE' is needed (or "
         "append the key to %s/c.pem)" % (d, d)),
        ("k.pem", "%s/k.pem holds a private key, not a certificate: give "
         "the certificate first, then the key with 'key FILE'" % d),
        ("c.pem key k2.pem", "the key in %s/k2.pem does not match the "
         "certificate in %s/c.pem" % (d, d)),
        ("c.pem key c.pem", "%s/c.pem holds a certificate, not a private "
         "key" % d),
    ]
    for words, want in cases:
        conf = d / "t.conf"
        conf.write_text("listen 127.0.0.1:%d\ncertificate %s\n"
                        "route x to 127.0.0.1:22\n" % (
                            free_port(), " ".join(
                                str(d / w) if w.endswith(".pem") else w
                                for w in words.split())))
        for cmd in (["check", "-c", str(conf)], ["serve", "-c", str(conf)]):
            r = subprocess.run([gw_bin] + cmd, capture_output=True,
                               timeout=20, cwd=str(d))
            assert r.returncode != 0
            assert "certificate: " + want in r.stderr.decode(), r.stderr
            assert "unsupported" not in r.stderr.decode()

    def connect(*args):
        return subprocess.run(
            [gw_bin, "connect", "--insecure"] + list(args) +
            ["127.0.0.1:%d" % free_port(), "x"], input=b"",
            capture_output=True, timeout=20, env=_env(tmp_path))

    r = connect("--cert", str(d / "c.pem"))
    assert r.returncode == 1
    assert _said(r) == ["sshgate: client certificate: no private key in "
                        "%s/c.pem: --key is needed (or append the key to "
                        "%s/c.pem)" % (d, d)], r.stderr
    r = connect("--cert", str(d / "k.pem"), "--key", str(d / "c.pem"))
    assert _said(r)[0].startswith("sshgate: client certificate: %s/k.pem "
                                  "holds a private key, not a certificate"
                                  % d), r.stderr
    r = connect("--cert", str(d / "c.pem"), "--key", str(d / "k2.pem"))
    assert _said(r) == ["sshgate: client certificate: the key in %s/k2.pem "
                        "does not match the certificate in %s/c.pem"
                        % (d, d)], r.stderr
    # the key in the same PEM: no --key needed; it gets as far as the TCP
    r = connect("--cert", str(d / "both.pem"))
    assert _said(r)[0].startswith("sshgate: cannot connect to"), r.stderr


def test_explain_judges_a_certificate_as_the_gateway_would(
        gw_bin, pki, users, tmp_path):
    d = users["dir"]
    revoked = issue(name("mallory", ["ops"]), users["ca"])
    stranger = issue(name("alice", ["ops"]))         # another CA's alice
    (tmp_path / "mallory.pem").write_bytes(revoked.pem())
    (tmp_path / "stranger.pem").write_bytes(stranger.pem())
    (tmp_path / "crl.pem").write_bytes(crl(users["ca"], revoked=[revoked]))
    conf = tmp_path / "x.conf"
    conf.write_text(gw_config(free_port(), ["* to 127.0.0.9:22"], pki=pki,
                              log="file x.log",
                              extra="client-ca %s\ncrl %s\n"
                              "access allow group ops to db.example.local\n" % (
                                  d / "ca.pem", tmp_path / "crl.pem")))

    def explain(cert, target="db.example.local"):
        return subprocess.run([gw_bin, "explain", "-c", str(conf), "--cert",
                               str(cert), target], capture_output=True,
                              timeout=20)

    r = explain(d / "alice.pem")
    out = r.stdout.decode()
    assert r.returncode == 0, out
    assert "trusted by client-ca" in out and \
        "as:          user alice, groups ops" in out, out
    assert "access allowed by" in out and "verdict:     allowed" in out, out
    r = explain(d / "alice.pem", "web.example.local")
    assert r.returncode == 1 and "verdict:     refused" in r.stdout.decode()
    r = explain(tmp_path / "mallory.pem")
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "refused, cert-revoked:" in out and \
        "verdict:     refused" in out, out
    r = explain(tmp_path / "stranger.pem")
    assert r.returncode == 1
    assert "refused, cert-untrusted:" in r.stdout.decode(), r.stdout
    r = explain(tmp_path / "missing.pem")
    assert r.returncode == 1
    assert "explain: cannot read --cert %s" % (tmp_path / "missing.pem") in \
        r.stderr.decode(), r.stderr
    # --cert names whom; --user/--group as well is a usage error
    r = subprocess.run([gw_bin, "explain", "-c", str(conf), "--cert",
                        str(d / "alice.pem"), "--user", "bob", "x"],
                       capture_output=True, timeout=20)
    assert r.returncode == 2


def test_gateway_sends_the_chain_of_its_file_only(gateway, pki):
    """The gateway's certificate file holds its leaf only; client-ca names
    the CA that issued it. The chain sent is what the file says (one
    certificate), not one OpenSSL builds from the client CAs on every
    handshake."""
    g = gateway(["x to 127.0.0.1:9"], certs=['"%s"' % pki["ecdsa"]],
                extra='client-ca "%s"' % pki["ca"])
    r = subprocess.run(["openssl", "s_client", "-connect", g.addr,
                        "-servername", "x", "-showcerts"],
                       input=b"", capture_output=True, timeout=20)
    sent = r.stdout.count(b"-----BEGIN CERTIFICATE-----")
    assert sent == 1, r.stdout.decode(errors="replace")
