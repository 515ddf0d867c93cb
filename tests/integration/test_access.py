"""Who may go where: client certificates (client-ca), CRLs, the
first-match access policy, access-pairs files as the HAProxy recipe
writes them, and revocation and policy changes reaching live sessions.
The test PKI is made with the openssl command (ClientPki)."""

import datetime
import json
import signal
import socket
import ssl
import subprocess
import time

import pytest
from cryptography import x509

from sshgate_helpers import (ClientPki, free_port, is_notice, notice_of, utc,
                             wait_until)

# Its client PKI changes as tests revoke users: one worker runs them all.
pytestmark = pytest.mark.xdist_group("access")


@pytest.fixture(scope="session")
def cpki(tmp_path_factory):
    """The users of these tests; tests add (and revoke) their own."""
    p = ClientPki(tmp_path_factory.mktemp("client-pki"))
    p.certs = {
        "alice": p.user("alice", "/CN=alice/OU=ops/OU=dev"),
        "bob": p.user("bob", "/CN=bob/OU=dev"),
        "carol": p.user("carol", "/CN=carol/OU=support"),
        "mallory": p.user("mallory", "/CN=mallory/OU=dev", ca="other-ca"),
        "dave": p.user("dave", "/CN=dave", start=utc(-86400 * 3),
                       end=utc(-86400 * 2)),
        "erin": p.user("erin", "/CN=erin", start=utc(86400),
                       end=utc(86400 * 2)),
        "comma": p.user("comma", "/CN=alice\\,ops/OU=dev\\,ops"),
        "odd": p.user("odd", '/CN=j\u00fcrgen "the" = admin/OU=d\u00e9v'),
    }
    return p


def gw_conf(port, pki, cpki, lines, crl=True):
    out = ["listen 127.0.0.1:%d" % port,
           'certificate "%s"' % pki["ecdsa"],
           'client-ca "%s"' % cpki.path("ca.pem"),
           "timeout connect 1s", "timeout drain 1s", "workers 2",
           "log file gateway.log"]
    if crl:
        out.append('crl "%s"' % cpki.path("crl.pem"))
    return "\n".join(out + lines) + "\n"


@pytest.fixture
def acl_gateway(gateway, pki, cpki):
    def start(lines, crl=True, log_format=None):
        port = free_port()
        text = gw_conf(port, pki, cpki, lines, crl)
        if log_format:
            text += "log-format %s\n" % log_format
        return gateway(conf_text=text, port=port)
    return start


_contexts = {}


def tls(gw, sni, who, cpki, session=None):
    """A TLS connection as user who (None: no certificate). Returns the
    socket after the handshake, or raises ssl.SSLError. One context per
    certificate, so that its sessions can be resumed."""
    crt, key = cpki.certs[who] if who is not None else (None, None)
    ctx = _contexts.get(crt)
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if crt is not None:
            ctx.load_cert_chain(str(crt), str(key))
        _contexts[crt] = ctx
    raw = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname=sni, session=session)
    return s


def attempt(gw, sni, who, cpki):
    """Connects as who, sends an SSH banner, returns (banner_received,
    error_text). TLS 1.3 reports a refused certificate on the first read."""
    try:
        s = tls(gw, sni, who, cpki)
    except (ssl.SSLError, OSError) as e:
        return b"", str(e)
    try:
        s.sendall(b"SSH-2.0-test\r\n")
        s.settimeout(5)
        data = s.recv(4096)
        return data, ""
    except (ssl.SSLError, OSError) as e:
        return b"", str(e)
    finally:
        s.close()


def named(name):
    def handler(c, rec):
        c.sendall(b"SSH-2.0-%s\r\n" % name.encode())
        while True:
            d = c.recv(4096)
            if not d:
                return
            rec["received"] += d
    return handler


@pytest.fixture
def backend(raw_backend):
    return raw_backend(named("backend"))


def allowed(gw, sni, who, cpki):
    data, err = attempt(gw, sni, who, cpki)
    return data.startswith(b"SSH-2.0-backend"), err


# --- who may go where ----------------------------------------------------

def test_user_and_group_rules_by_name_and_wildcard(acl_gateway, cpki,
                                                   backend):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow user alice to db.example.local",
                      "access allow group dev to *.dev.example.local"])
    assert allowed(gw, "db.example.local", "alice", cpki)[0]
    assert allowed(gw, "x.dev.example.local", "bob", cpki)[0]
    assert not allowed(gw, "db.example.local", "bob", cpki)[0]
    assert not allowed(gw, "dev.example.local", "bob", cpki)[0]
    rec = gw.wait_record(sni="db.example.local", user="bob")
    assert (rec["result"], rec["reason"]) == ("denied", "access-denied")
    assert rec["groups"] == "dev" and rec["cert_serial"]
    assert "no access rule matches" in rec["detail"]
    ok = gw.wait_record(sni="db.example.local", user="alice")
    assert ok["groups"] == "ops,dev" and ok["result"] == "ok"


def test_second_ou_matches(acl_gateway, cpki, backend):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow group dev to *"])
    assert allowed(gw, "db.example.local", "alice", cpki)[0]   # ops,dev
    assert not allowed(gw, "db.example.local", "carol", cpki)[0]


def test_deny_before_allow_and_any(acl_gateway, cpki, backend):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access deny user bob to secret.example.local",
                      "access allow any to *.example.local"])
    assert not allowed(gw, "secret.example.local", "bob", cpki)[0]
    assert allowed(gw, "secret.example.local", "alice", cpki)[0]
    assert allowed(gw, "other.example.local", "bob", cpki)[0]
    rec = gw.wait_record(user="bob", sni="secret.example.local")
    assert "access deny user bob to secret.example.local" in rec["detail"]


def test_address_and_cidr_targets_after_routing(acl_gateway, cpki, backend):
    ip = backend.host
    gw = acl_gateway(["route a.example.local to %s" % backend.hostport,
                      "route b.example.local to 127.0.0.9:1",
                      "access allow user alice to %s" % ip,
                      "access allow group dev to 127.0.0.8/30"])
    # alice reaches the backend's address whatever the name
    assert allowed(gw, "a.example.local", "alice", cpki)[0]
    # bob's rule covers 127.0.0.8-11, not the backend: refused before
    # any connection is made
    assert not allowed(gw, "a.example.local", "bob", cpki)[0]
    rec = gw.wait_record(user="bob")
    assert rec["reason"] == "access-denied"
    assert len(backend.conns) == 1, "a connection made for bob"


def test_recipe_pair_files(acl_gateway, cpki, backend, tmp_path):
    users = tmp_path / "users.acl"
    users.write_text("# user,destination\nalice,db.example.local\n\n"
                     "bob , web.example.local \r\n")
    groups = tmp_path / "groups.acl"
    groups.write_text("support,%s\n" % backend.host)
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      'access-pairs user "%s"' % users,
                      'access-pairs group "%s"' % groups])
    assert allowed(gw, "db.example.local", "alice", cpki)[0]
    assert allowed(gw, "web.example.local", "bob", cpki)[0]
    assert not allowed(gw, "db.example.local", "bob", cpki)[0]
    assert allowed(gw, "anything.example.local", "carol", cpki)[0]


def test_recipe_with_openssl_s_client_and_ssh(acl_gateway, cpki, sshd, ssh):
    a = sshd["a"]
    gw = acl_gateway(["route db.example.local to %s" % a.hostport,
                      "access allow user alice to db.example.local"])
    crt, key = cpki.certs["alice"]
    r = ssh(gw, "db.example.local",
            s_client_extra="-cert %s -key %s" % (crt, key))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[2] == a.addr.encode()
    crt, key = cpki.certs["bob"]
    r = ssh(gw, "db.example.local",
            s_client_extra="-cert %s -key %s" % (crt, key))
    assert r.returncode != 0
    assert gw.wait_record(user="bob")["reason"] == "access-denied"


# --- certificates refused ------------------------------------------------

@pytest.mark.parametrize("who,reason,alert", [
    ("mallory", "cert-untrusted", "unknown ca"),
    ("dave", "cert-expired", "certificate expired"),
    ("erin", "cert-expired", "certificate expired"),
    (None, "no-client-cert", "certificate required"),
])
def test_refused_certificates(acl_gateway, cpki, backend, who, reason,
                              alert):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *"])
    r = subprocess.run(
        ["openssl", "s_client", "-quiet", "-connect", gw.addr,
         "-servername", "db.example.local"] +
        (["-cert", str(cpki.certs[who][0]), "-key", str(cpki.certs[who][1])]
         if who else []),
        input=b"SSH-2.0-x\r\n", capture_output=True, timeout=20)
    assert alert in r.stderr.decode().lower(), r.stderr
    rec = gw.wait_record(sni="db.example.local")
    assert (rec["result"], rec["reason"]) == ("denied", reason)
    if who:
        assert rec["user"] == who and rec["cert_serial"]
        assert rec["cert_subject"].startswith("CN=%s" % who), rec
    assert backend.conns == []


def test_revoked_certificate(acl_gateway, cpki, backend):
    cpki.user("rita", "/CN=rita")
    cpki.certs["rita"] = (cpki.path("rita.crt"), cpki.path("rita.key"))
    cpki.revoke("rita")
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *"])
    crt, key = cpki.certs["rita"]
    r = subprocess.run(["openssl", "s_client", "-quiet", "-connect", gw.addr,
                        "-servername", "db.example.local", "-cert", str(crt),
                        "-key", str(key)], input=b"SSH-2.0-x\r\n",
                       capture_output=True, timeout=20)
    assert b"alert certificate revoked" in r.stderr, r.stderr
    assert r.stdout == b""
    rec = gw.wait_record(user="rita")
    assert rec["reason"] == "cert-revoked"
    assert allowed(gw, "db.example.local", "alice", cpki)[0]


# --- changes reach live sessions ------------------------------------------

def hold(gw, sni, who, cpki):
    s = tls(gw, sni, who, cpki)
    s.sendall(b"SSH-2.0-test\r\n")
    s.settimeout(5)
    assert s.recv(4096).startswith(b"SSH-2.0-backend")
    return s


def reload(gw, text):
    gw.conf.write_text(text)
    n = gw.stderr().count("reloaded")
    gw.signal(signal.SIGHUP)
    wait_until(lambda: gw.stderr().count("reloaded") > n, 10,
               what="reload")


def test_reload_with_new_crl_cuts_live_session(acl_gateway, cpki, backend,
                                                pki):
    cpki.user("sam", "/CN=sam/OU=dev")
    cpki.certs["sam"] = (cpki.path("sam.crt"), cpki.path("sam.key"))
    lines = ["route * to %s" % backend.hostport, "access allow any to *"]
    gw = acl_gateway(lines)
    sam = hold(gw, "db.example.local", "sam", cpki)
    alice = hold(gw, "db.example.local", "alice", cpki)
    cpki.revoke("sam")
    t0 = time.monotonic()
    reload(gw, gw.conf.read_text())
    rec = gw.wait_record(user="sam", timeout=5)
    assert time.monotonic() - t0 < 1.5
    assert (rec["result"], rec["reason"]) == ("ok", "killed")
    assert "revoked" in rec["detail"]
    data = b""
    try:
        data = sam.recv(300)
    except (ssl.SSLError, OSError):
        pass
    assert notice_of(data) == ("ended", "killed",
                               "your certificate was revoked"), data
    # alice's session is untouched
    alice.sendall(b"still here\n")
    wait_until(lambda: any(b"still here" in c["received"]
                           for c in backend.conns), 5, what="alice's bytes")
    assert not [r for r in gw.records() if r.get("user") == "alice"]
    sam.close()
    alice.close()


def test_reload_removing_a_rule_cuts_only_that_user(acl_gateway, cpki,
                                                     backend):
    base = ["route * to %s" % backend.hostport]
    gw = acl_gateway(base + ["access allow user bob to *",
                             "access allow user alice to *"])
    bob = hold(gw, "db.example.local", "bob", cpki)
    alice = hold(gw, "db.example.local", "alice", cpki)
    reload(gw, gw.conf.read_text().replace("access allow user bob to *\n",
                                           ""))
    rec = gw.wait_record(user="bob", timeout=5)
    assert rec["reason"] == "killed"
    assert "no longer allowed" in rec["detail"]
    alice.sendall(b"ping\n")
    wait_until(lambda: any(b"ping" in c["received"]
                           for c in backend.conns), 5, what="alice's bytes")
    assert not [r for r in gw.records() if r.get("user") == "alice"]
    bob.close()
    alice.close()


def test_resumed_session_is_checked_again(acl_gateway, cpki, backend):
    cpki.user("tess", "/CN=tess")
    cpki.certs["tess"] = (cpki.path("tess.crt"), cpki.path("tess.key"))
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *"])
    s = hold(gw, "db.example.local", "tess", cpki)
    session = s.session
    s.close()
    # resumption works and still names the user
    s = tls(gw, "db.example.local", "tess", cpki, session=session)
    assert s.session_reused
    s.sendall(b"SSH-2.0-test\r\n")
    s.settimeout(5)
    assert s.recv(4096).startswith(b"SSH-2.0-backend")
    session = s.session
    s.close()
    rec = gw.wait_record(user="tess", tls_resumed="yes")
    assert rec["result"] == "ok"
    # revoked and reloaded: the ticket gets nothing
    cpki.revoke("tess")
    reload(gw, gw.conf.read_text())
    data, err = b"", ""
    try:
        s = tls(gw, "db.example.local", "tess", cpki, session=session)
        s.sendall(b"SSH-2.0-test\r\n")
        s.settimeout(5)
        data = s.recv(4096)
        s.close()
    except (ssl.SSLError, OSError) as e:
        err = str(e)
    assert not data.startswith(b"SSH-2.0-backend"), (data, err)
    gw.wait_record(user="tess", reason="cert-revoked")


def short_lived(cpki, name):
    """Issues name a certificate that expires within 1 to 2 s; returns its
    notAfter (a time.time() value). Start the gateway first."""
    cpki.user(name, "/CN=%s" % name, start=utc(-60), end=utc(2))
    cpki.certs[name] = (cpki.path(name + ".crt"), cpki.path(name + ".key"))
    cert = x509.load_pem_x509_certificate(cpki.certs[name][0].read_bytes())
    return cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc).timestamp()


def sleep_until(t):
    time.sleep(max(0.0, t - time.time()))


def test_session_closed_when_certificate_expires(acl_gateway, cpki,
                                                 backend):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *"])
    short_lived(cpki, "uma")
    s = hold(gw, "db.example.local", "uma", cpki)
    rec = gw.wait_record(user="uma", timeout=10)
    assert (rec["result"], rec["reason"]) == ("denied", "cert-expired")
    s.close()


def test_expire_sessions_no_keeps_session(acl_gateway, cpki, backend):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *", "expire-sessions no"])
    expiry = short_lived(cpki, "vic")
    s = hold(gw, "db.example.local", "vic", cpki)
    # past the moment the gateway would have ended it
    sleep_until(expiry + 0.5)
    s.sendall(b"after expiry\n")
    wait_until(lambda: any(b"after expiry" in c["received"]
                           for c in backend.conns), 5, what="bytes")
    assert not [r for r in gw.records() if r.get("user") == "vic"]
    s.close()


# --- odd subjects ---------------------------------------------------------

def test_comma_in_cn_matches_no_pair_for_its_prefix(acl_gateway, cpki,
                                                    backend, tmp_path):
    users = tmp_path / "users.acl"
    users.write_text("alice,*\n")
    groups = tmp_path / "groups.acl"
    groups.write_text("dev,*\n")
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      'access-pairs user "%s"' % users,
                      'access-pairs group "%s"' % groups])
    # CN "alice,ops" is not alice; OU "dev,ops" is not dev
    assert not allowed(gw, "db.example.local", "comma", cpki)[0]
    rec = gw.wait_record(reason="access-denied")
    assert rec["user"] == "alice,ops"
    assert rec["groups"] == "dev\\,ops"


def test_odd_subject_is_logged_on_one_line(acl_gateway, cpki, backend):
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *"], log_format="json")
    assert allowed(gw, "db.example.local", "odd", cpki)[0]
    gw.wait_record(json_format=True, sni="db.example.local")
    lines = [l for l in gw.lines() if l.strip()]
    assert len(lines) == 2 and all(json.loads(l)["user"] for l in lines)
    rec = json.loads(lines[-1])
    assert rec["user"] == 'j\u00fcrgen "the" = admin'
    assert rec["groups"] == "d\u00e9v"
    # in certificate order, RFC 2253 escapes, UTF-8 kept
    assert rec["cert_subject"] == 'CN=j\u00fcrgen \\"the\\" = admin,' \
        'OU=d\u00e9v', rec["cert_subject"]


def test_access_rules_need_client_ca(gw_bin, pki, tmp_path):
    f = tmp_path / "a.conf"
    f.write_text("listen 127.0.0.1:2222\ncertificate \"%s\"\n"
                 "route * to 127.0.0.2:22\naccess allow any to *\n"
                 % pki["ecdsa"])
    r = subprocess.run([gw_bin, "check", "-c", str(f)], capture_output=True,
                       timeout=30)
    assert r.returncode == 1
    assert b"a.conf:4: access rules need 'client-ca'" in r.stderr, r.stderr


def test_resumed_session_with_expired_certificate_is_refused(
        acl_gateway, cpki, backend):
    # the ticket stays valid; the certificate does not: a resumption skips
    # OpenSSL's verification, so the gateway checks again itself
    gw = acl_gateway(["route * to %s" % backend.hostport,
                      "access allow any to *", "expire-sessions no"])
    expiry = short_lived(cpki, "walt")
    s = hold(gw, "db.example.local", "walt", cpki)
    session = s.session
    s.close()
    sleep_until(expiry + 0.5)
    data = b""
    try:
        s = tls(gw, "db.example.local", "walt", cpki, session=session)
        assert s.session_reused
        s.sendall(b"SSH-2.0-test\r\n")
        s.settimeout(5)
        data = s.recv(4096)
        s.close()
    except (ssl.SSLError, OSError):
        pass
    assert is_notice(data, "cert-expired"), data
    rec = gw.wait_record(user="walt", reason="cert-expired")
    assert rec["tls_resumed"] == "yes"
