"""`sshgate ca`: the README's setup run command for command, then real ssh
through the gateway with the certificates it made (ProxyCommand `sshgate
connect`), the revoked user refused with `cert-revoked`; the same files
checked by `openssl verify -crl_check`, HAProxy 2.6 (`ca-file`,
`crl-file`, `verify required`) and `sshgate explain --cert`; and each bad
input refused with one line, a non-zero exit, and the CA directory left as
it was."""

import datetime
import fcntl
import hashlib
import json
import os
import pwd
import re
import shlex
import select
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from sshgate_helpers import free_port, terminate, wait_tcp

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MAN_PAGE = os.path.join(TOP, "doc", "sshgate-ca.1")
SECTION = "## Making the certificates: `sshgate ca`"
USER = pwd.getpwuid(os.getuid()).pw_name
SUBS = ("init", "issue", "request", "gateway", "revoke", "crl", "list")


def readme_blocks():
    """The README section's command block and config block."""
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    sec = text[text.index(SECTION):]
    sec = sec[:sec.index("\n## ", 1)]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", sec, re.S | re.M)
    return blocks[0][1], blocks[1][1]


def localize(text, etc):
    """The README's paths and example address, made the test's own."""
    return text.replace("/etc/sshgate", str(etc)).replace("192.0.2.10",
                                                          "127.0.0.1")


def run_ca(gw_bin, *args, cwd=None, timeout=60):
    return subprocess.run([gw_bin, "ca"] + [str(a) for a in args],
                          cwd=None if cwd is None else str(cwd),
                          capture_output=True, timeout=timeout)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(d):
    """Every file under d (but the lock), temporary ones (.NAME.XXXXXX)
    included, with its contents' hash."""
    out = {}
    for top, _, files in os.walk(str(d)):
        for f in files:
            p = os.path.join(top, f)
            if f != "lock":
                out[os.path.relpath(p, str(d))] = sha(p)
    return out


def one_error_line(r, rc, text):
    err = r.stderr.decode()
    assert r.returncode == rc, (r.returncode, err)
    lines = err.splitlines()
    assert lines and lines[0].startswith("sshgate: ca "), err
    assert text in lines[0], err
    assert rc == 2 or len(lines) == 1, err


@pytest.fixture(scope="module")
def readme_ca(gw_bin, tmp_path_factory):
    """The README's commands, run in order in a directory of their own
    (/etc/sshgate there, 192.0.2.10 as 127.0.0.1)."""
    work = tmp_path_factory.mktemp("readme-ca")
    etc = work / "etc"
    etc.mkdir()
    cmds_text, conf_text = readme_blocks()
    cmds = [shlex.split(localize(l, etc), comments=True)
            for l in cmds_text.splitlines() if l.strip()]
    assert 0 < len(cmds) < 10, cmds
    outs = []
    for argv in cmds:
        assert argv[:2] == ["sshgate", "ca"], argv
        r = subprocess.run([gw_bin] + argv[1:], cwd=str(work),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, (argv, r.stderr.decode())
        outs.append(r.stdout.decode())
    listing = outs[-1]
    serials = {}
    for line in listing.splitlines()[1:]:
        f = line.split()
        serials[f[4]] = f[0]
    return {"work": work, "etc": etc, "ca": etc / "ca",
            "conf": localize(conf_text, etc), "list": listing,
            "serials": serials, "cmds": cmds}


# --- the README, through the gateway with real ssh ------------------------

def ssh_via_connect(gw_bin, user_key, gw, ca, who, target, env):
    work = ca["work"]
    proxy = " ".join(shlex.quote(str(w)) for w in (
        gw_bin, "connect", "--no-resume", "--ca", ca["ca"] / "ca.pem",
        "--cert", work / (who + ".crt"), "--key", work / (who + ".key"),
        "127.0.0.1:%d" % gw.port)) + " %h"
    argv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20",
            "-i", str(user_key), "-o", "ProxyCommand=" + proxy,
            "%s@%s" % (USER, target), "echo $SSH_CONNECTION"]
    return subprocess.run(argv, capture_output=True, timeout=40, env=env)


def readme_gateway(gateway, ca, backend):
    port = free_port()
    text = ("listen 127.0.0.1:%d\n" % port + ca["conf"] +
            "route * to %s\n" % backend +
            "log file gateway.log\ntimeout drain 2s\nworkers 2\n")
    return gateway(conf_text=text, port=port)


@pytest.mark.slow(3)
def test_readme_setup_then_ssh_through_the_gateway(gw_bin, readme_ca,
                                                   gateway, sshd, user_key,
                                                   tmp_path):
    ca = readme_ca
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SSHGATE_")}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    gw = readme_gateway(gateway, ca, sshd["a"].hostport)
    # alice (ops, dev) and carol (ops, 12 hours, from a request) get in
    for who, groups in (("alice", "ops,dev"), ("carol", "ops")):
        r = ssh_via_connect(gw_bin, user_key, gw, ca, who,
                            "db7.example.local", env)
        assert r.returncode == 0, (who, r.stderr.decode())
        assert r.stdout.decode().split()[2] == sshd["a"].addr
        rec = gw.wait_record(user=who)
        assert (rec["result"], rec["groups"]) == ("ok", groups), rec
        assert rec["cert_serial"].upper() == ca["serials"][who], rec
    # bob was revoked: refused in the handshake, told so, logged so
    r = ssh_via_connect(gw_bin, user_key, gw, ca, "bob",
                        "web.dev.example.local", env)
    assert r.returncode != 0
    assert "sshgate: gateway refused: your certificate is revoked" in \
        r.stderr.decode(), r.stderr.decode()
    rec = gw.wait_record(user="bob")
    assert (rec["result"], rec["reason"]) == ("denied", "cert-revoked"), rec
    assert rec["cert_serial"].upper() == ca["serials"]["bob"]


def test_readme_list_shows_each_status(gw_bin, readme_ca):
    r = run_ca(gw_bin, "list", readme_ca["ca"], "--json")
    assert r.returncode == 0, r.stderr
    rows = {c["user"]: c for c in json.loads(r.stdout)}
    assert set(rows) == {"gw.example.com", "alice", "bob", "carol"}
    assert rows["gw.example.com"]["kind"] == "gateway"
    assert rows["alice"]["groups"] == ["ops", "dev"]
    assert [rows[u]["status"] for u in ("alice", "bob", "carol")] == \
        ["valid", "revoked", "valid"]
    assert "revoked_at" in rows["bob"] and "revoked_at" not in rows["alice"]
    for u, row in rows.items():
        assert re.fullmatch(r"[4-7][0-9A-F]{31}", row["serial"]), row
    end = datetime.datetime.strptime(rows["carol"]["not_after"],
                                     "%Y-%m-%dT%H:%M:%SZ")
    left = end - datetime.datetime.utcnow()
    assert datetime.timedelta(hours=11, minutes=58) < left <= \
        datetime.timedelta(hours=12), left
    head = readme_ca["list"].splitlines()[0].split()
    assert head == ["SERIAL", "STATUS", "NOT-AFTER", "KIND", "USER",
                    "GROUPS"]
    # the index is the documented text
    index = (readme_ca["ca"] / "index.txt").read_text()
    assert re.search(r"^R [0-9A-F]{32} \S+Z \S+Z +client +bob dev$", index,
                     re.M), index


def test_readme_files_verify_with_openssl(readme_ca):
    ca, work = readme_ca["ca"], readme_ca["work"]
    base = ["openssl", "verify", "-crl_check", "-CAfile", str(ca / "ca.pem"),
            "-CRLfile", str(ca / "crl.pem"), "-purpose", "sslclient"]
    for who in ("alice", "carol"):
        r = subprocess.run(base + [str(work / (who + ".crt"))],
                           capture_output=True, timeout=30)
        assert r.returncode == 0 and b": OK" in r.stdout, r.stderr
    r = subprocess.run(base + [str(work / "bob.crt")], capture_output=True,
                       timeout=30)
    assert r.returncode != 0 and b"certificate revoked" in r.stdout + \
        r.stderr, r
    gw = readme_ca["etc"] / "gateway.pem"
    assert os.stat(gw).st_mode & 0o777 == 0o600
    r = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "ca.pem"),
                        "-purpose", "sslserver", "-verify_ip", "127.0.0.1",
                        str(gw)], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["openssl", "crl", "-in", str(ca / "crl.pem"),
                        "-CAfile", str(ca / "ca.pem"), "-noout", "-text"],
                       capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0 and "verify OK" in r.stderr.decode(), r
    assert "Version 2" in out and "CRL Number" in out, out
    assert readme_ca["serials"]["bob"] in out.upper()


def test_readme_files_work_with_explain(gw_bin, readme_ca, tmp_path):
    conf = tmp_path / "gw.conf"
    conf.write_text("listen 127.0.0.1:2222\n" + readme_ca["conf"] +
                    "route * to 127.0.0.2:22\n")
    work = readme_ca["work"]
    r = subprocess.run([gw_bin, "explain", "-c", str(conf), "--cert",
                        str(work / "alice.crt"), "db7.example.local"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b"alice" in r.stdout
    r = subprocess.run([gw_bin, "explain", "-c", str(conf), "--cert",
                        str(work / "bob.crt"), "web.dev.example.local"],
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and b"revoked" in r.stdout + r.stderr, r


# --- HAProxy's recipe with the same files ---------------------------------

def https_get(port, ca, crt=None, key=None):
    """GET / over TLS with (or without) a client certificate; the answer,
    or the exception that ended the attempt."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if crt is not None:
        ctx.load_cert_chain(str(crt), str(key))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        return data
                    data += chunk
    except (ssl.SSLError, OSError) as e:
        return e


@pytest.mark.slow(2)
def test_haproxy_ca_file_and_crl_file(readme_ca, tmp_path):
    haproxy = "/usr/sbin/haproxy"
    assert os.access(haproxy, os.X_OK), "haproxy is not installed " \
        "(scripts/deps.sh installs it)"
    ca, work = readme_ca["ca"], readme_ca["work"]
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(
        "defaults\n  mode http\n  timeout connect 2s\n"
        "  timeout client 5s\n  timeout server 5s\n"
        "frontend fe\n"
        "  bind 127.0.0.1:%d ssl crt %s ca-file %s crl-file %s "
        "verify required\n"
        "  http-request return status 200 content-type text/plain "
        "lf-string \"user=%%[ssl_c_s_dn(CN)]\"\n"
        % (port, readme_ca["etc"] / "gateway.pem", ca / "ca.pem",
           ca / "crl.pem"))
    r = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    log = open(tmp_path / "haproxy.log", "wb")
    p = subprocess.Popen([haproxy, "-db", "-f", str(cfg)],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_tcp("127.0.0.1", port)
        got = https_get(port, ca / "ca.pem", work / "alice.crt",
                        work / "alice.key")
        assert isinstance(got, bytes) and b" 200 " in got and \
            got.endswith(b"user=alice"), got
        got = https_get(port, ca / "ca.pem", work / "carol.crt",
                        work / "carol.key")
        assert isinstance(got, bytes) and got.endswith(b"user=carol"), got
        for crt, key in ((work / "bob.crt", work / "bob.key"), (None, None)):
            got = https_get(port, ca / "ca.pem", crt, key)
            assert not (isinstance(got, bytes) and b"200" in got), (crt, got)
    finally:
        terminate(p)
        log.close()


# --- what the certificates say --------------------------------------------

def test_certificate_contents(readme_ca):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    ca_dir, work = readme_ca["ca"], readme_ca["work"]
    cacert = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
    bc = cacert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = cacert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    ski = cacert.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier).value.digest
    assert cacert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]\
        .value == "Example SSH CA"
    alice = x509.load_pem_x509_certificate((work / "alice.crt").read_bytes())
    assert alice.serial_number > 0 and alice.serial_number.bit_length() in \
        range(123, 128)
    assert [a.value for a in alice.subject.get_attributes_for_oid(
        NameOID.COMMON_NAME)] == ["alice"]
    assert [a.value for a in alice.subject.get_attributes_for_oid(
        NameOID.ORGANIZATIONAL_UNIT_NAME)] == ["ops", "dev"]
    ext = alice.extensions
    assert ext.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    bc = ext.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = ext.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    assert ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value\
        .key_identifier == ski
    assert os.stat(work / "alice.key").st_mode & 0o777 == 0o600
    assert os.stat(ca_dir / "ca.key").st_mode & 0o777 == 0o600
    # the gateway's: names and addresses as SANs, chain and key in one PEM
    pem = (readme_ca["etc"] / "gateway.pem").read_bytes()
    assert pem.count(b"BEGIN CERTIFICATE") == 2 and b"PRIVATE KEY" in pem
    gw = x509.load_pem_x509_certificate(pem)
    san = gw.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gw.example.com"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == \
        ["127.0.0.1"]
    assert gw.extensions.get_extension_for_class(x509.ExtendedKeyUsage)\
        .value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    # a copy of each in the CA directory
    for who, serial in readme_ca["serials"].items():
        assert (ca_dir / "certs" / (serial + ".pem")).exists(), who


# --- a CA of each test's own, for what changes it -------------------------

@pytest.fixture
def ca(gw_bin, tmp_path):
    """A fresh CA in tmp_path/ca with alice (ops) issued; commands run in
    tmp_path."""
    r = run_ca(gw_bin, "init", "ca", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_ca(gw_bin, "issue", "ca", "alice", "--group", "ops",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_init_refuses_an_existing_ca(gw_bin, ca):
    before = snapshot(ca / "ca")
    r = run_ca(gw_bin, "init", "ca", "--key", "rsa", cwd=ca)
    one_error_line(r, 1, "ca already holds a CA (ca/")
    assert "not replaced" in r.stderr.decode()
    assert snapshot(ca / "ca") == before


def test_not_a_ca_directory(gw_bin, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_ca(gw_bin, "issue", "empty", "alice", cwd=tmp_path)
    one_error_line(r, 1, "empty is not a CA directory (no ca.pem; make one "
                         "with 'sshgate ca init empty')")
    assert os.listdir(tmp_path / "empty") == []


def test_revoke_errors_leave_the_ca_alone(gw_bin, ca):
    r = run_ca(gw_bin, "revoke", "ca", "alice", cwd=ca)
    assert r.returncode == 0, r.stderr
    serial = re.search(r"revoked ([0-9A-F]{32}) \(alice\)",
                       r.stdout.decode()).group(1)
    before = snapshot(ca / "ca")
    r = run_ca(gw_bin, "revoke", "ca", serial.lower(), cwd=ca)
    one_error_line(r, 1, "%s (alice) is already revoked, since " % serial)
    r = run_ca(gw_bin, "revoke", "ca", "alice", cwd=ca)
    one_error_line(r, 1, "\"alice\" has no certificate left to revoke")
    r = run_ca(gw_bin, "revoke", "ca", "nobody", cwd=ca)
    one_error_line(r, 1, "no certificate with the serial or user \"nobody\"")
    assert snapshot(ca / "ca") == before


def crl_info(ca_dir):
    from cryptography import x509
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    num = crl.extensions.get_extension_for_class(x509.CRLNumber).value
    return crl, num.crl_number


def test_crl_number_and_lifetime(gw_bin, ca):
    crl, n0 = crl_info(ca / "ca")
    assert (crl.next_update - crl.last_update) == \
        datetime.timedelta(days=30)
    r = run_ca(gw_bin, "crl", "ca", "--days", "7", cwd=ca)
    assert r.returncode == 0, r.stderr
    assert "CRL number %d, 0 revoked, next update" % (n0 + 1) in \
        r.stdout.decode()
    crl, n1 = crl_info(ca / "ca")
    assert n1 == n0 + 1
    assert crl.next_update - crl.last_update == datetime.timedelta(days=7)
    # a revocation re-signs with the same lifetime, the next number
    r = run_ca(gw_bin, "revoke", "ca", "alice", cwd=ca)
    assert r.returncode == 0, r.stderr
    crl, n2 = crl_info(ca / "ca")
    assert n2 == n1 + 1 and len(list(crl)) == 1
    assert crl.next_update - crl.last_update == datetime.timedelta(days=7)


def make_csr(tmp_path, subj):
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    "evil.key", "-out", "evil.csr", "-subj", subj,
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   cwd=str(tmp_path), check=True, capture_output=True,
                   timeout=30)
    return tmp_path / "evil.csr"


def test_csr_subject_cannot_add_groups(gw_bin, ca):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    csr = make_csr(ca, "/CN=admin/OU=admins/OU=ops")
    r = run_ca(gw_bin, "issue", "ca", "mallory", "--group", "dev", "--csr",
               csr, cwd=ca)
    assert r.returncode == 0, r.stderr
    assert "asked for \"OU=ops,OU=admins,CN=admin\"; what is signed is only " \
        "its key, with CN=mallory, OU=dev" in r.stderr.decode(), r.stderr
    assert not (ca / "mallory.key").exists()
    cert = x509.load_pem_x509_certificate((ca / "mallory.crt").read_bytes())
    assert cert.subject.rfc4514_string() == "OU=dev,CN=mallory"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert not bc.value.ca
    req = x509.load_pem_x509_csr(csr.read_bytes())
    assert cert.public_key().public_numbers() == \
        req.public_key().public_numbers()


def test_csr_with_a_bad_signature(gw_bin, ca):
    import base64
    csr = make_csr(ca, "/CN=mallory")
    pem = csr.read_text()
    der = bytearray(base64.b64decode("".join(pem.splitlines()[1:-1])))
    der[-5] ^= 0x01                       # inside the signature
    (ca / "bad.csr").write_text(
        "-----BEGIN CERTIFICATE REQUEST-----\n" +
        base64.encodebytes(bytes(der)).decode() +
        "-----END CERTIFICATE REQUEST-----\n")
    before = snapshot(ca / "ca")
    r = run_ca(gw_bin, "issue", "ca", "mallory", "--csr", "bad.csr", cwd=ca)
    one_error_line(r, 1, "bad.csr: the request's signature does not verify")
    assert not (ca / "mallory.crt").exists()
    assert snapshot(ca / "ca") == before
    (ca / "junk.csr").write_text("hello\n")
    r = run_ca(gw_bin, "issue", "ca", "mallory", "--csr", "junk.csr", cwd=ca)
    one_error_line(r, 1, "junk.csr holds no PEM certificate request")
    assert snapshot(ca / "ca") == before


def test_request_then_issue(gw_bin, ca):
    r = run_ca(gw_bin, "request", "dora", "--out", "me", "--key", "ed25519",
               cwd=ca)
    assert r.returncode == 0, r.stderr
    assert os.stat(ca / "me.key").st_mode & 0o777 == 0o600
    r = run_ca(gw_bin, "issue", "ca", "dora", "--csr", "me.csr", "--out",
               "me", "--hours", "1", cwd=ca)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["openssl", "verify", "-crl_check", "-CAfile",
                        str(ca / "ca/ca.pem"), "-CRLfile",
                        str(ca / "ca/crl.pem"), str(ca / "me.crt")],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["openssl", "x509", "-in", str(ca / "me.crt"),
                        "-noout", "-pubkey"], capture_output=True, timeout=30)
    k = subprocess.run(["openssl", "pkey", "-in", str(ca / "me.key"),
                        "-pubout"], capture_output=True, timeout=30)
    assert r.stdout == k.stdout and b"PUBLIC KEY" in r.stdout


def test_locked_ca_fails_at_once(gw_bin, ca):
    before = snapshot(ca / "ca")
    with open(ca / "ca" / "lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        for args in (["issue", "ca", "bob"], ["revoke", "ca", "alice"],
                     ["crl", "ca"], ["list", "ca"]):
            t0 = time.monotonic()
            r = run_ca(gw_bin, *args, cwd=ca, timeout=10)
            assert time.monotonic() - t0 < 5
            one_error_line(r, 1, "ca is in use: another 'sshgate ca' command "
                                 "holds ca/lock; try again when it is done")
    assert snapshot(ca / "ca") == before
    assert not (ca / "bob.crt").exists() and not (ca / "bob.key").exists()


@pytest.mark.parametrize("args,text", [
    (["issue", "ca", "a,b"], "the user \"a,b\" holds a comma"),
    (["issue", "ca", "a\nb"], "the user \"a\\nb\" holds a control character"),
    (["issue", "ca", ""], "the user \"\" is empty"),
    (["issue", "ca", "bob", "--group", "ops,admins"],
     "the group \"ops,admins\" holds a comma"),
    (["issue", "ca", "bob", "--group", ""], "the group \"\" is empty"),
    (["issue", "ca", "bob", "--group", "a\x1bb"], "holds a control"),
    (["issue", "ca", "bob", "--group", "x", "--group", "x"],
     "the group \"x\" is given twice"),
    (["issue", "ca", "bob", "--hours", "0"],
     "--hours must be a whole number from 1 to 87600, not \"0\""),
    (["issue", "ca", "bob", "--days", "3651"],
     "--days must be a whole number from 1 to 3650"),
    (["issue", "ca", "bob", "--days", "1", "--hours", "1"],
     "give --days or --hours, not both"),
    (["issue", "ca", "bob", "--key", "dsa"],
     "ca issue: --key must be ecdsa, ed25519 or rsa, not \"dsa\""),
    (["issue", "ca", "bob", "--frob"], "unknown option --frob"),
    (["issue", "ca"], "give DIR and one USER"),
    (["gateway", "ca", "bad_name"], "\"bad_name\" is no address"),
    (["gateway", "ca", "a,DNS:evil.com"], "is no address"),
    (["gateway", "ca", "gw", "--hours", "1"], "unknown option --hours"),
    (["crl", "ca", "--days", "366"], "from 1 to 365"),
    (["init", "new", "--name", "a,b"], "--name \"a,b\" holds a comma"),
    (["init", "new", "--days", "36501"], "from 1 to 36500"),
    (["request", "x\ty"], "holds a control character"),
    (["frob"], "unknown subcommand \"frob\""),
], ids=["comma", "newline", "empty-user", "group-comma", "empty-group",
        "group-escape", "group-twice", "hours-zero", "days-too-many",
        "days-and-hours", "key-kind", "unknown-option", "missing-user",
        "gateway-name", "gateway-san-injection", "gateway-hours",
        "crl-days", "init-name", "init-days", "request-tab", "unknown-sub"])
def test_bad_input_is_a_usage_error(gw_bin, ca, args, text):
    before = snapshot(ca)
    r = run_ca(gw_bin, *args, cwd=ca)
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert err.startswith("sshgate: ca") and text in err.splitlines()[0], err
    assert "usage: sshgate ca" in err
    assert r.stdout == b""
    assert snapshot(ca) == before


def test_outputs_are_never_replaced(gw_bin, ca):
    before = snapshot(ca)
    r = run_ca(gw_bin, "issue", "ca", "alice", "--group", "dev", cwd=ca)
    one_error_line(r, 1, "alice.crt already exists: not replaced (give "
                         "another --out PREFIX)")
    r = run_ca(gw_bin, "issue", "ca", "alice2", "--out", "alice", cwd=ca)
    one_error_line(r, 1, "alice.crt already exists")
    assert snapshot(ca) == before


def test_failed_write_leaves_nothing(gw_bin, ca):
    before = snapshot(ca)
    r = run_ca(gw_bin, "issue", "ca", "bob", "--out", "nodir/bob", cwd=ca)
    one_error_line(r, 1, "cannot write nodir/bob.key: No such file or "
                         "directory")
    assert snapshot(ca) == before


def test_failed_record_removes_the_outputs(gw_bin, ca):
    """The key and certificate are written first, then the CA's copy and
    the index; when the copy cannot be written (certs/ is no directory),
    the key and certificate are removed again and the index is as it
    was."""
    certs = ca / "ca" / "certs"
    kept = os.listdir(certs)
    shutil.rmtree(certs)
    certs.write_text("")
    before = snapshot(ca)
    r = run_ca(gw_bin, "issue", "ca", "bob", cwd=ca)
    one_error_line(r, 1, "cannot write ca/certs/")
    assert "Not a directory" in r.stderr.decode()
    assert not (ca / "bob.crt").exists() and not (ca / "bob.key").exists()
    assert snapshot(ca) == before
    assert len(kept) == 1


def run_detached(gw_bin, *args, cwd, env=None):
    """run_ca without a controlling terminal: nobody to ask."""
    return subprocess.run([gw_bin, "ca"] + [str(a) for a in args],
                          cwd=str(cwd), capture_output=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL,
                          start_new_session=True)


def passphrase_env(path, text, mode=0o600):
    path.write_text(text + "\n")
    os.chmod(path, mode)
    env = dict(os.environ)
    env["SSHGATE_CA_PASSPHRASE_FILE"] = str(path)
    return env


def test_encrypted_ca_key_from_openssl(gw_bin, ca):
    """A CA key encrypted with the openssl command: its passphrase from
    $SSHGATE_CA_PASSPHRASE_FILE; a wrong one, or none to be had, is one
    line and changes nothing."""
    key = ca / "ca" / "ca.key"
    subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256",
                    "-passout", "pass:secret", "-out", str(key) + ".enc"],
                   check=True, capture_output=True, timeout=30)
    os.rename(str(key) + ".enc", key)
    os.chmod(key, 0o600)
    before = snapshot(ca / "ca")
    r = run_detached(gw_bin, "issue", "ca", "bob", cwd=ca)
    one_error_line(r, 1, "ca/ca.key is encrypted: no terminal to ask for "
                         "the passphrase on: name a file holding it in "
                         "$SSHGATE_CA_PASSPHRASE_FILE")
    r = run_detached(gw_bin, "issue", "ca", "bob", cwd=ca,
                     env=passphrase_env(ca / "bad", "wrong"))
    one_error_line(r, 1, "ca/ca.key: wrong passphrase (or a damaged key)")
    env = passphrase_env(ca / "missing", "x")
    env["SSHGATE_CA_PASSPHRASE_FILE"] = str(ca / "nothing-here")
    r = run_detached(gw_bin, "crl", "ca", cwd=ca, env=env)
    one_error_line(r, 1, "nothing-here (SSHGATE_CA_PASSPHRASE_FILE): No "
                         "such file or directory")
    assert snapshot(ca / "ca") == before
    assert not (ca / "bob.crt").exists()
    r = run_detached(gw_bin, "issue", "ca", "bob", cwd=ca,
                     env=passphrase_env(ca / "good", "secret"))
    assert r.returncode == 0, r.stderr
    # list needs no key
    r = run_detached(gw_bin, "list", "ca", cwd=ca)
    assert r.returncode == 0 and b" bob " in r.stdout


def test_secrets_others_may_read_are_refused(gw_bin, ca):
    """ca.key, and the file holding its passphrase, are read only while
    their group and others have no access to them: else one line, the
    mode and the fix, and nothing changes."""
    key = ca / "ca" / "ca.key"
    os.chmod(key, 0o640)
    before = snapshot(ca / "ca")
    r = run_detached(gw_bin, "issue", "ca", "bob", cwd=ca)
    one_error_line(r, 1, "ca/ca.key: mode 0640: its group has access to "
                         "it; it holds secret keys and must be mode 0600 "
                         "(chmod 600 ca/ca.key)")
    assert snapshot(ca / "ca") == before
    os.chmod(key, 0o600)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256",
                    "-passout", "pass:secret", "-out", str(key) + ".enc"],
                   check=True, capture_output=True, timeout=30)
    os.rename(str(key) + ".enc", key)
    os.chmod(key, 0o600)
    before = snapshot(ca / "ca")
    r = run_detached(gw_bin, "crl", "ca", cwd=ca,
                     env=passphrase_env(ca / "pass", "secret", 0o644))
    assert r.returncode == 1, r.stderr
    assert b"mode 0644" in r.stderr and b"chmod 600" in r.stderr, r.stderr
    assert snapshot(ca / "ca") == before
    os.chmod(ca / "pass", 0o600)
    r = run_detached(gw_bin, "crl", "ca", cwd=ca,
                     env=passphrase_env(ca / "pass", "secret"))
    assert r.returncode == 0, r.stderr


def test_init_encrypt_asks_twice_on_the_terminal(gw_bin, tmp_path):
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(str(tmp_path))
        os.environ.pop("SSHGATE_CA_PASSPHRASE_FILE", None)
        os.execv(gw_bin, [gw_bin, "ca", "init", "ca", "--encrypt"])
    seen = b""

    def until(text):
        nonlocal seen
        deadline = time.monotonic() + 20
        while text not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError("no %r within 20 s: %r" % (text, seen))
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        assert text in seen, seen
    until(b"New passphrase for ca/ca.key: ")
    os.write(fd, b"tty pass phrase\n")
    until(b"Again: ")
    os.write(fd, b"tty pass phrase\n")
    until(b"keep it secret")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"tty pass phrase" not in seen          # not echoed
    assert (tmp_path / "ca/ca.key").read_text().startswith(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----")
    r = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "ca/ca.key"),
                        "-passin", "pass:tty pass phrase", "-noout"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = run_detached(gw_bin, "issue", "ca", "alice", cwd=tmp_path,
                     env=passphrase_env(tmp_path / "p", "tty pass phrase"))
    assert r.returncode == 0, r.stderr


def test_init_encrypt_without_a_passphrase_writes_nothing(gw_bin, tmp_path):
    r = run_detached(gw_bin, "init", "ca", "--encrypt", cwd=tmp_path)
    one_error_line(r, 1, "no terminal to ask for the passphrase on")
    assert os.listdir(tmp_path / "ca") in (["lock"], [])


@pytest.mark.parametrize("edit,text", [
    (lambda t: t + "V 12 2027-01-01T00:00:00Z - client eve ops,,dev\n",
     "index.txt:4: group 2 in GROUPS is empty"),
    (lambda t: t.replace("client", "admin"), "index.txt:3: KIND is not"),
    (lambda t: t + t.splitlines()[2] + "\n",
     "index.txt:4: SERIAL is already in the index"),
    (lambda t: t + "\0", "index.txt:holds a NUL byte"),
], ids=["empty-group", "kind", "duplicate", "nul"])
def test_tampered_index_is_refused(gw_bin, ca, edit, text):
    idx = ca / "ca" / "index.txt"
    idx.write_text(edit(idx.read_text()))
    before = snapshot(ca)
    for args in (["list", "ca"], ["crl", "ca"], ["issue", "ca", "bob"]):
        r = run_ca(gw_bin, *args, cwd=ca)
        one_error_line(r, 1, text)
    assert snapshot(ca) == before


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_other_key_kinds(gw_bin, tmp_path, kind):
    r = run_ca(gw_bin, "init", "ca", "--key", kind, "--days", "2",
               cwd=tmp_path)
    assert r.returncode == 0 and ("(%s key)" % kind).encode() in r.stdout
    r = run_ca(gw_bin, "issue", "ca", "u", "--key", kind, cwd=tmp_path)
    assert r.returncode == 1
    assert "the CA certificate expires at" in r.stderr.decode()
    r = run_ca(gw_bin, "issue", "ca", "u", "--key", kind, "--days", "1",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_ca(gw_bin, "revoke", "ca", "u", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["openssl", "verify", "-crl_check", "-CAfile",
                        "ca/ca.pem", "-CRLfile", "ca/crl.pem", "u.crt"],
                       cwd=str(tmp_path), capture_output=True, timeout=30)
    assert b"certificate revoked" in r.stdout + r.stderr, r


# --- help, man page, units --------------------------------------------------

def test_help_on_stdout(gw_bin):
    for sub in SUBS:
        for flag in ("--help", "-h"):
            r = subprocess.run([gw_bin, "ca", sub, flag], capture_output=True,
                               timeout=10)
            assert r.returncode == 0 and r.stderr == b"", (sub, r)
            assert r.stdout.startswith(("usage: sshgate ca %s " % sub)
                                       .encode()), r.stdout
    r = subprocess.run([gw_bin, "ca", "--help"], capture_output=True,
                       timeout=10)
    assert r.returncode == 0
    for sub in SUBS:
        assert ("sshgate ca %s " % sub).encode() in r.stdout
    r = subprocess.run([gw_bin, "--help"], capture_output=True, timeout=10)
    assert b"sshgate ca issue DIR USER" in r.stdout
    r = subprocess.run([gw_bin, "ca"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"usage: sshgate ca init" in r.stderr


def test_man_page_renders_without_warnings():
    assert shutil.which("groff"), "groff is not installed " \
        "(scripts/deps.sh installs groff-base)"
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN_PAGE],
                       capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()


def test_man_page_documents_the_commands_and_files():
    text = open(MAN_PAGE, encoding="utf-8").read().replace("\\-", "-")
    for word in ("--name", "--days", "--hours", "--key", "--group", "--csr",
                 "--out", "--json", "ca.key", "ca.pem", "crl.pem",
                 "index.txt", "certs/SERIAL.pem", "lock", "STATUS SERIAL "
                 "NOT-AFTER REVOKED KIND NAME GROUPS", "sshgate-crl@.timer",
                 "expire-sessions yes", "--encrypt",
                 "SSHGATE_CA_PASSPHRASE_FILE", "wrong passphrase", "crl-expired",
                 "openssl verify -crl_check") + SUBS:
        assert word in text, word
    cmds, _ = readme_blocks()
    for line in cmds.splitlines():
        assert line.split("#")[0].strip() in text, line


def test_install_puts_the_crl_units(tmp_path):
    prefix = tmp_path / "usr"
    r = subprocess.run(["make", "-s", "-C", TOP, "install",
                        "PREFIX=%s" % prefix,
                        "SYSCONFDIR=%s" % (tmp_path / "etc"),
                        "BUILD=%s" % os.path.dirname(
                            os.environ.get("SSHGATE_BIN",
                                           TOP + "/build/sshgate"))],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    units = prefix / "lib/systemd/system"
    service = (units / "sshgate-crl@.service").read_text()
    assert "ExecStart=%s/bin/sshgate ca crl %%f" % prefix in service
    assert "try-reload-or-restart sshgate.service" in service
    assert (units / "sshgate-crl@.timer").exists()
    assert (prefix / "share/man/man1/sshgate-ca.1").exists()
    # the passphrase file its comment suggests is one the service can read
    hidden = {"yes": ("/root", "/home", "/run/user"),
              "read-only": (), "tmpfs": ("/root", "/home", "/run/user")}
    protect = re.search(r"^ProtectHome=(\S+)$", service, re.M).group(1)
    for path in re.findall(r"SSHGATE_CA_PASSPHRASE_FILE=(\S+)", service):
        assert not path.startswith(hidden.get(protect, ())), \
            "%s is hidden from the service by ProtectHome=%s" % (path,
                                                                 protect)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for ext in ("service", "timer"):
        shutil.copy(units / ("sshgate-crl@." + ext),
                    units / ("sshgate-crl@etc-sshgate-ca." + ext))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(units / "sshgate-crl@etc-sshgate-ca.service"),
                        str(units / "sshgate-crl@etc-sshgate-ca.timer")],
                       capture_output=True, timeout=60)
    ours = [l for l in r.stderr.decode().splitlines() if "sshgate-crl" in l]
    assert ours == [], r.stderr.decode()


def test_revoke_user_leaves_a_gateway_of_that_name(gw_bin, ca):
    """revoke USER takes the user's client certificates only: a gateway
    certificate whose name is spelt like the user's stays valid."""
    r = run_ca(gw_bin, "gateway", "ca", "alice", cwd=ca)
    assert r.returncode == 0, r.stderr
    gw_serial = re.search(r"issued ([0-9A-F]{32})", r.stdout.decode()).group(1)
    r = run_ca(gw_bin, "revoke", "ca", "alice", cwd=ca)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().count("revoked ") == 1, r.stdout
    r = run_ca(gw_bin, "list", "ca", "--json", cwd=ca)
    by_serial = {c["serial"]: c for c in json.loads(r.stdout)}
    assert by_serial[gw_serial]["status"] == "valid", by_serial
    assert [c["status"] for c in by_serial.values()
            if c["kind"] == "client"] == ["revoked"]
    crl, _ = crl_info(ca / "ca")
    assert [format(e.serial_number, "X") for e in crl] != [gw_serial]
    assert len(list(crl)) == 1
    # by its serial, the gateway's is revoked
    r = run_ca(gw_bin, "revoke", "ca", gw_serial, cwd=ca)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("pkeyopts,ok", [
    (["ec_paramgen_curve:secp112r1"], False),
    (["ec_paramgen_curve:secp192k1"], False),
    (["ec_paramgen_curve:brainpoolP256r1"], False),
    (["ec_paramgen_curve:P-256", "ec_param_enc:explicit"], False),
    (["ec_paramgen_curve:P-384"], True),
    (["ec_paramgen_curve:P-521"], True),
], ids=["secp112r1", "secp192k1", "brainpool", "explicit-p256", "p384",
        "p521"])
def test_csr_key_on_an_odd_curve_is_refused(gw_bin, ca, pkeyopts, ok):
    """A request's ECDSA key is certified on P-256, P-384 and P-521 only
    (named): a weak or odd curve, or explicit parameters, is refused with
    one line, and nothing is written."""
    cmd = ["openssl", "req", "-new", "-newkey", "ec", "-nodes", "-keyout",
           "odd.key", "-out", "odd.csr", "-subj", "/CN=odd"]
    for o in pkeyopts:
        cmd += ["-pkeyopt", o]
    subprocess.run(cmd, cwd=str(ca), check=True, capture_output=True,
                   timeout=30)
    before = snapshot(ca / "ca")
    r = run_ca(gw_bin, "issue", "ca", "odd", "--csr", "odd.csr", cwd=ca)
    if ok:
        assert r.returncode == 0, r.stderr
        return
    one_error_line(r, 1, "odd.csr: the request's key is not ECDSA (P-256, "
                         "P-384 or P-521), Ed25519 or RSA of 2048 bits or "
                         "more")
    assert not (ca / "odd.crt").exists()
    assert snapshot(ca / "ca") == before


def pty_ca(gw_bin, tmp_path, *args):
    """sshgate ca ARGS on a terminal of its own: (pid, master fd, until),
    until(text) reading what it says until text shows."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(str(tmp_path))
        os.environ.pop("SSHGATE_CA_PASSPHRASE_FILE", None)
        os.execv(gw_bin, [gw_bin, "ca"] + list(args))
    seen = [b""]

    def until(text, count=1):
        deadline = time.monotonic() + 20
        while seen[0].count(text) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError("no %r within 20 s: %r" % (text,
                                                                seen[0]))
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen[0] += chunk
        assert seen[0].count(text) >= count, seen[0]
        return seen[0]
    return pid, fd, until


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGHUP, signal.SIGQUIT],
                         ids=["int", "term", "hup", "quit"])
def test_passphrase_prompt_killed_gives_echo_back(gw_bin, tmp_path, sig):
    """A signal while the passphrase is asked (^C, a kill) ends the
    command as it would have, but with the terminal's echo back on."""
    import termios
    # (echo is turned off before the prompt shows: only after it is
    # the state known)
    pid, fd, until = pty_ca(gw_bin, tmp_path, "init", "ca", "--encrypt")
    until(b"New passphrase for ca/ca.key: ")
    assert not termios.tcgetattr(fd)[3] & termios.ECHO
    os.kill(pid, sig)
    _, status = os.waitpid(pid, 0)
    try:
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig, status
        assert termios.tcgetattr(fd)[3] & termios.ECHO, \
            "the terminal was left without echo"
    finally:
        os.close(fd)
    assert not (tmp_path / "ca" / "ca.key").exists()


def test_passphrase_prompt_stopped_asks_again(gw_bin, tmp_path):
    """A stop (^Z) while the passphrase is asked gives the terminal back
    with echo; when the command goes on, it asks again."""
    import termios
    pid, fd, until = pty_ca(gw_bin, tmp_path, "init", "ca", "--encrypt")
    until(b"New passphrase for ca/ca.key: ")
    os.kill(pid, signal.SIGTSTP)
    # its process group has nobody to stop for: it goes on at once
    until(b"New passphrase for ca/ca.key: ", 2)
    assert not termios.tcgetattr(fd)[3] & termios.ECHO
    os.write(fd, b"stop then go\n")
    until(b"Again: ")
    os.write(fd, b"stop then go\n")
    until(b"keep it secret")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_gateway_first_name_longer_than_a_cn(gw_bin, ca):
    """A gateway's first NAME is its CN (64 bytes at most): a longer one
    first is a usage error naming it; after a short one, it is a SAN."""
    long_name = "a" * 60 + ".example.com"
    before = snapshot(ca / "ca")
    r = run_ca(gw_bin, "gateway", "ca", long_name, cwd=ca)
    one_error_line(r, 2, "ca gateway: \"%s\" is the first name, the "
                         "certificate's CN: at most 64 bytes" % long_name)
    assert snapshot(ca / "ca") == before
    r = run_ca(gw_bin, "gateway", "ca", "gw.example.com", long_name,
               "--out", "gw", cwd=ca)
    assert r.returncode == 0, r.stderr
    from cryptography import x509
    cert = x509.load_pem_x509_certificate((ca / "gw.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gw.example.com",
                                                     long_name]
    r = run_ca(gw_bin, "list", "ca", cwd=ca)
    assert r.returncode == 0, r.stderr
