"""What a stranger controls in TLS is hostile input: every field of a client
certificate (before it is trusted), the chain it comes with, the session
ticket it offers and the name it asks for. Certificates are made here with
Python's `cryptography`, including ones `openssl req` cannot make."""

import signal
import socket
import ssl
import subprocess

import pytest

from pkihelpers import crl, issue, name as _name
from sshgate_helpers import free_port, wait_until

@pytest.fixture(scope="module")
def chain_pki(tmp_path_factory):
    """root -> intermediate -> leaf "ivan"; root -> leaf "alice" (no
    intermediate); each written as PEM files, the client ones with their
    chain (leaf first)."""
    d = tmp_path_factory.mktemp("chain-pki")
    root = issue(_name("test root"), ca=True)
    inter = issue(_name("test intermediate"), root, ca=True)
    other = issue(_name("other root"), ca=True)
    users = {
        "ivan": (issue(_name("ivan", ["ops"]), inter), [inter]),
        "alice": (issue(_name("alice", ["ops"]), root), []),
    }
    (d / "root.pem").write_bytes(root.pem())
    (d / "other.pem").write_bytes(other.pem())
    (d / "both.pem").write_bytes(root.pem() + other.pem())
    (d / "root-crl-empty.pem").write_bytes(crl(root))
    (d / "root-crl-revokes-inter.pem").write_bytes(crl(root, [inter]))
    (d / "inter-crl-empty.pem").write_bytes(crl(inter))
    for name, (leaf, chain) in users.items():
        (d / (name + ".pem")).write_bytes(
            leaf.pem() + b"".join(c.pem() for c in chain))
        (d / (name + ".key")).write_bytes(leaf.key_pem())
    return {"dir": d, "root": root, "inter": inter}


@pytest.fixture(scope="module")
def hostile_certs(tmp_path_factory):
    """Self-signed client certificates with subjects no CA would sign."""
    d = tmp_path_factory.mktemp("hostile")
    subjects = {
        "nul-long": _name("a\0" + "B" * 20000),
        "nul-short": _name("admin\0evil", ["ops\0x", "dev"]),
        "many-ous": _name("olga", ["g%d" % i for i in range(200)]),
        "long-ou": _name("otto", ["x" * 5000]),
    }
    out = {}
    for k, subj in subjects.items():
        c = issue(subj)
        (d / (k + ".pem")).write_bytes(c.pem())
        (d / (k + ".key")).write_bytes(c.key_pem())
        out[k] = (d / (k + ".pem"), d / (k + ".key"))
    return out


def conf(port, pki, lines):
    return "\n".join(["listen 127.0.0.1:%d" % port,
                      'certificate "%s"' % pki["ecdsa"],
                      "timeout connect 1s", "timeout drain 1s",
                      "workers 2", "log file gateway.log"] + lines) + "\n"


def backend_handler(c, rec):
    c.sendall(b"SSH-2.0-backend\r\n")
    while True:
        d = c.recv(4096)
        if not d:
            return
        rec["received"] += d


def client_ctx(cert=None, key=None, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def ticket_session(s):
    """The socket's session once it holds a ticket: TLS 1.3 tickets come
    after the handshake, and are read with the next application data."""
    def has_ticket():
        s.settimeout(0.05)
        try:
            s.recv(100)
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        return s.session is not None and s.session.has_ticket
    wait_until(has_ticket, 5, what="a session ticket")
    return s.session


def attempt(port, sni, ctx, session=None):
    """Connects, sends an SSH banner; returns (banner, error, socket or
    None). The socket is returned open when the banner came."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni, session=session)
        s.sendall(b"SSH-2.0-test\r\n")
        s.settimeout(5)
        data = s.recv(4096)
    except (ssl.SSLError, OSError) as e:
        raw.close()
        return b"", str(e), None
    return data, "", s


def test_nul_in_the_cn_is_refused_and_harmless(gateway, pki, chain_pki,
                                               hostile_certs, raw_backend):
    """A CN with a NUL byte (long or short tail) crashed or corrupted the
    gateway before any trust decision; now: cert-untrusted, nothing else."""
    b = raw_backend(backend_handler)
    port = free_port()
    gw = gateway(conf_text=conf(port, pki, [
        "route * to %s" % b.hostport,
        'client-ca "%s"' % (chain_pki["dir"] / "root.pem"),
        "access allow any to *"]), port=port)
    for k in ("nul-long", "nul-short", "nul-long"):
        cert, key = hostile_certs[k]
        data, err, s = attempt(port, "db.example.local", client_ctx(cert, key))
        assert s is None and data == b"", (k, data)
    wait_until(lambda: len([r for r in gw.records()
                            if r.get("reason") == "cert-untrusted"]) == 3,
               10, what="three cert-untrusted records")
    recs = gw.records()
    assert recs[1]["user"] == "admin?evil", recs[1]
    assert "ops" not in recs[1].get("groups", ""), recs[1]
    # still serving, and a trusted client gets through
    d = chain_pki["dir"]
    data, err, s = attempt(port, "db.example.local",
                           client_ctx(d / "alice.pem", d / "alice.key"))
    assert data.startswith(b"SSH-2.0-backend"), err
    s.close()
    assert gw.proc.poll() is None
    assert len(b.conns) == 1, "only alice reaches the backend"


@pytest.mark.parametrize("k", ["many-ous", "long-ou"])
def test_oversized_subjects_are_refused(gateway, pki, chain_pki,
                                        hostile_certs, raw_backend, k):
    """An identity the gateway cannot hold whole is refused: leaving an OU
    out could skip a deny rule."""
    b = raw_backend(backend_handler)
    port = free_port()
    gw = gateway(conf_text=conf(port, pki, [
        "route * to %s" % b.hostport,
        'client-ca "%s"' % hostile_certs[k][0],
        "access allow any to *"]), port=port)
    data, err, s = attempt(port, "db.example.local",
                           client_ctx(*hostile_certs[k]))
    assert s is None
    rec = gw.wait_record(reason="cert-untrusted")
    assert "subject too large" in rec["detail"], rec
    assert b.conns == []


def _openssl_s_client(gw, cert, key, sni="db.example.local"):
    """The client sends its whole chain (s_client sends only the leaf
    of -cert; the rest goes with -cert_chain)."""
    return subprocess.run(
        ["openssl", "s_client", "-quiet", "-connect", gw.addr,
         "-servername", sni, "-cert", str(cert), "-key", str(key),
         "-cert_chain", str(cert)],
        input=b"SSH-2.0-x\r\n", capture_output=True, timeout=20)


def test_revoked_intermediate_refuses_its_subtree(gateway, pki, chain_pki,
                                                  raw_backend):
    """The root's CRL revokes the intermediate: a leaf under it is refused
    (certificate_revoked), as `openssl verify -crl_check_all` says."""
    d = chain_pki["dir"]
    b = raw_backend(backend_handler)
    port = free_port()
    gw = gateway(conf_text=conf(port, pki, [
        "route * to %s" % b.hostport,
        'client-ca "%s"' % (d / "root.pem"),
        'crl "%s"' % (d / "root-crl-revokes-inter.pem"),
        'crl "%s"' % (d / "inter-crl-empty.pem"),
        "access allow any to *"]), port=port)
    r = _openssl_s_client(gw, d / "ivan.pem", d / "ivan.key")
    assert b"certificate revoked" in r.stderr, r.stderr
    rec = gw.wait_record(user="ivan")
    assert (rec["result"], rec["reason"]) == ("denied", "cert-revoked"), rec
    assert "test intermediate" in rec["detail"], rec
    # alice, issued by the root itself, is fine
    data, err, s = attempt(port, "db.example.local",
                           client_ctx(d / "alice.pem", d / "alice.key"))
    assert data.startswith(b"SSH-2.0-backend"), err
    s.close()
    assert len(b.conns) == 1


def test_intermediate_revoked_by_reload_kills_live_sessions(
        gateway, pki, chain_pki, raw_backend):
    d = chain_pki["dir"]
    b = raw_backend(backend_handler)
    port = free_port()
    lines = ["route * to %s" % b.hostport,
             'client-ca "%s"' % (d / "root.pem"),
             'crl "%s"' % (d / "root-crl-empty.pem"),
             'crl "%s"' % (d / "inter-crl-empty.pem"),
             "access allow any to *"]
    gw = gateway(conf_text=conf(port, pki, lines), port=port)
    data, err, s = attempt(port, "db.example.local",
                           client_ctx(d / "ivan.pem", d / "ivan.key"))
    assert data.startswith(b"SSH-2.0-backend"), err
    lines[2] = 'crl "%s"' % (d / "root-crl-revokes-inter.pem")
    gw.conf.write_text(conf(port, pki, lines))
    gw.signal(signal.SIGHUP)
    rec = gw.wait_record(user="ivan", reason="killed")
    assert "revoked" in rec["detail"], rec
    s.close()


@pytest.mark.parametrize("tls12", [True, False], ids=["tls1.2", "tls1.3"])
def test_resumption_only_under_the_same_name(gateway, pki, raw_backend,
                                             tls12):
    """A session obtained for one name resumed under another: routed and
    logged by the old name in TLS 1.2. Now a full handshake, new name."""
    b1 = raw_backend(backend_handler, host="127.0.0.5")
    b3 = raw_backend(lambda c, rec: (c.sendall(b"SSH-2.0-three\r\n"),
                                     c.recv(100)), host="127.0.0.6")
    port = free_port()
    gw = gateway(conf_text=conf(port, pki, [
        "route ssh-server1 to %s" % b1.hostport,
        "route ssh-server3 to %s" % b3.hostport]), port=port)
    ctx = client_ctx(tls12=tls12)
    data, err, s = attempt(port, "ssh-server3", ctx)
    assert data.startswith(b"SSH-2.0-three"), err
    sess = ticket_session(s)
    s.close()
    # the same name resumes ...
    data, err, s = attempt(port, "ssh-server3", ctx, session=sess)
    assert data.startswith(b"SSH-2.0-three"), err
    assert s.session_reused
    s.close()
    # ... another name does not: routed by the name sent
    data, err, s = attempt(port, "ssh-server1", ctx, session=sess)
    assert data.startswith(b"SSH-2.0-backend"), (data, err)
    assert not s.session_reused
    s.close()
    rec = gw.wait_record(sni="ssh-server1")
    assert rec["dst"] == b1.hostport and "tls_resumed" not in rec, rec


def test_resumed_session_is_killed_when_its_ca_is_removed(
        gateway, pki, chain_pki, raw_backend):
    d = chain_pki["dir"]
    b = raw_backend(backend_handler)
    port = free_port()
    lines = ["route * to %s" % b.hostport,
             'client-ca "%s"' % (d / "both.pem"),
             "access allow any to *"]
    gw = gateway(conf_text=conf(port, pki, lines), port=port)
    ctx = client_ctx(d / "ivan.pem", d / "ivan.key")
    data, err, s = attempt(port, "db.example.local", ctx)
    assert data.startswith(b"SSH-2.0-backend"), err
    sess = ticket_session(s)
    s.close()
    data, err, full = attempt(port, "db.example.local", ctx)
    assert data.startswith(b"SSH-2.0-backend"), err
    data, err, resumed = attempt(port, "db.example.local", ctx, session=sess)
    assert data.startswith(b"SSH-2.0-backend"), err
    assert resumed.session_reused
    # the root that anchors ivan's chain goes away
    lines[1] = 'client-ca "%s"' % (d / "other.pem")
    gw.conf.write_text(conf(port, pki, lines))
    gw.signal(signal.SIGHUP)
    wait_until(lambda: len([r for r in gw.records()
                            if r.get("reason") == "killed"]) == 2, 10,
               what="both sessions killed")
    recs = [r for r in gw.records() if r.get("reason") == "killed"]
    assert sorted(r.get("tls_resumed", "no") for r in recs) == ["no", "yes"]
    full.close()
    resumed.close()


def test_weak_tls12_ciphers_are_not_offered(gateway, pki, raw_backend):
    b = raw_backend(backend_handler)
    gw = gateway(["* to %s" % b.hostport])
    for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                   "AES128-GCM-SHA256"):
        r = subprocess.run(
            ["openssl", "s_client", "-connect", gw.addr, "-servername", "x",
             "-tls1_2", "-cipher", cipher], input=b"", capture_output=True,
            timeout=20)
        assert r.returncode != 0 and b"handshake failure" in r.stderr, \
            (cipher, r.stdout[-300:], r.stderr)
    r = subprocess.run(
        ["openssl", "s_client", "-connect", gw.addr, "-servername", "x",
         "-tls1_2"], input=b"", capture_output=True, timeout=20)
    assert b"ECDHE-ECDSA-AES128-GCM-SHA256" in r.stdout, r.stdout[-500:]


def test_cipher_directives(gateway, pki, raw_backend, gw_bin, tmp_path):
    b = raw_backend(backend_handler)
    gw = gateway(["* to %s" % b.hostport],
                 extra="tls-min-version 1.3\n"
                       "ciphersuites TLS_CHACHA20_POLY1305_SHA256\n"
                       "ciphers ECDHE-ECDSA-CHACHA20-POLY1305")
    r = subprocess.run(["openssl", "s_client", "-connect", gw.addr,
                        "-servername", "x", "-tls1_2"], input=b"",
                       capture_output=True, timeout=20)
    assert r.returncode != 0
    r = subprocess.run(["openssl", "s_client", "-connect", gw.addr,
                        "-servername", "x"], input=b"", capture_output=True,
                       timeout=20)
    assert b"TLS_CHACHA20_POLY1305_SHA256" in r.stdout, r.stdout[-500:]
    f = tmp_path / "bad.conf"
    f.write_text("listen 127.0.0.1:%d\ncertificate %s\nroute * to "
                 "127.0.0.2:22\nciphers NOPE-NOTHING\ntls-min-version 1.1\n"
                 % (free_port(), pki["ecdsa"]))
    r = subprocess.run([gw_bin, "check", "-c", str(f)], capture_output=True,
                       timeout=20)
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "%s:5: tls-min-version: expected 1.2 or 1.3, got '1.1'" % f in err
    assert "%s:4: ciphers: no cipher OpenSSL knows in 'NOPE-NOTHING'" % f \
        in err, err
