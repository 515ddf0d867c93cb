"""Several gateways as one: TLS session ticket keys shared through a
`tls-ticket-keys` file (first encrypts, all decrypt), and a real L4
balancer (HAProxy in mode tcp, roundrobin, PROXY v2, health checks) in
front of two gateways: logins spread over both, each log names the real
clients, a session resumes on the other gateway, and one gateway drains
on SIGTERM while the other carries on.

Client addresses: the Python clients bind 127.0.0.21 and 127.0.0.22;
HAProxy opens its connections from 127.0.0.20, so a record whose client
is not 127.0.0.20 proves the PROXY header was read."""

import base64
import os
import shlex
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import USER
from sshgate_helpers import (free_port, read_line_from, terminate,
                             wait_tcp, wait_until)

HAPROXY = "/usr/sbin/haproxy"
LB_SOURCE = "127.0.0.20"
CLIENT_A, CLIENT_B = "127.0.0.21", "127.0.0.22"
TARGET = "db.example.local"


def new_key(gw_bin):
    r = subprocess.run([gw_bin, "tls-ticket-key"], capture_output=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def write_keys(path, keys):
    """Writes the key file as an operator would: 0600, replaced whole."""
    tmp = str(path) + ".new"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# newest first: the first key encrypts\n")
        for k in keys:
            f.write(k + "\n")
    os.replace(tmp, str(path))


def fleet_conf(port, pki, keys, lines=(), proxy=False):
    return "\n".join([
        "listen 127.0.0.1:%d%s" % (port, " proxy-protocol" if proxy else ""),
        'certificate "%s"' % pki["ecdsa"],
        'tls-ticket-keys "%s"' % keys,
        "timeout connect 1s", "timeout drain 10s", "workers 2",
        "log file gateway.log"] + list(lines)) + "\n"


def client_ctx(cert=None, key=None, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def attempt(port, ctx, session=None, source=None):
    """TLS to 127.0.0.1:port (from source), an SSH banner sent; returns
    (the server's first bytes, error text, socket or None)."""
    raw = socket.create_connection(
        ("127.0.0.1", port), timeout=5,
        source_address=(source, 0) if source else None)
    try:
        s = ctx.wrap_socket(raw, server_hostname=TARGET, session=session)
        s.sendall(b"SSH-2.0-fleet-test\r\n")
        s.settimeout(5)
        data = s.recv(4096)
    except (ssl.SSLError, OSError) as e:
        raw.close()
        return b"", str(e), None
    return data, "", s


def ticket_session(s):
    """The socket's session once it holds a ticket (TLS 1.3 sends it
    after the handshake, read with the next record)."""
    def has_ticket():
        s.settimeout(0.05)
        try:
            s.recv(100)
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        return s.session is not None and s.session.has_ticket
    wait_until(has_ticket, 5, what="a session ticket")
    return s.session


def line_of(gw, **conds):
    """The raw log line of the close record matching conds."""
    rec = gw.wait_record(**conds)
    for line in gw.lines():
        if "conn=%s " % rec["conn"] in line and "event=close" in line:
            return line
    return str(rec)


@pytest.fixture
def keyfile(tmp_path, gw_bin):
    path = tmp_path / "ticket-keys"
    keys = [new_key(gw_bin)]
    write_keys(path, keys)
    return path, keys


# --- the key file and its command --------------------------------------------

def test_key_command_prints_80_random_bytes(gw_bin):
    a, b = new_key(gw_bin), new_key(gw_bin)
    assert len(a) == 108 and len(base64.b64decode(a, validate=True)) == 80
    assert a != b
    r = subprocess.run([gw_bin, "tls-ticket-key", "extra"],
                       capture_output=True, timeout=10)
    assert r.returncode == 2 and b"usage: sshgate tls-ticket-key" in r.stderr
    r = subprocess.run([gw_bin, "--help"], capture_output=True, timeout=10)
    assert b"tls-ticket-key" in r.stdout


def check(gw_bin, conf):
    return subprocess.run([gw_bin, "check", "-c", str(conf)],
                          capture_output=True, timeout=30)


def test_check_validates_the_key_file(gw_bin, pki, tmp_path, keyfile):
    keys, good = keyfile
    conf = tmp_path / "gw.conf"
    base = fleet_conf(2222, pki, keys, ["route * to 127.0.0.2:22"])
    conf.write_text(base)
    r = check(gw_bin, conf)
    assert r.returncode == 0, r.stderr
    # readable by others: refused, at the directive's line
    os.chmod(keys, 0o644)
    r = check(gw_bin, conf)
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "%s:3: tls-ticket-keys %s: mode 0644: its group and others " \
        "have access to it; it holds secret keys and must be mode 0600" \
        % (conf, keys) in err, err
    os.chmod(keys, 0o640)
    r = check(gw_bin, conf)
    assert r.returncode == 1 and b"its group has access" in r.stderr
    # bad lines: each at KEYFILE:LINE
    os.chmod(keys, 0o600)
    with open(keys, "a") as f:
        f.write("not-a-key\n" + good[0] + "\n")
    r = check(gw_bin, conf)
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "%s:3: expected a key of 108 base64 characters" % keys in err, err
    assert "%s:4: the key name (its first 16 bytes) repeats the key at " \
        "line 2" % keys in err, err
    # an empty file: no key
    write_keys(keys, [])
    r = check(gw_bin, conf)
    assert r.returncode == 1 and b"no key" in r.stderr, r.stderr
    # with tls-tickets no: valid, and a warning
    write_keys(keys, good)
    conf.write_text(base + "tls-tickets no\n")
    r = check(gw_bin, conf)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "%s:3: warning: tls-ticket-keys is unused: no ticket is " \
        "issued or resumed ('tls-tickets no' at %s:9)" % (conf, conf) \
        in err, err


# --- shared keys between two gateways ----------------------------------------

@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_ticket_from_one_gateway_resumes_on_another(gateway, pki, sshd,
                                                    keyfile, tls12):
    keys, _ = keyfile
    route = ["route * to %s" % sshd["a"].hostport]
    p1, p2, p3 = free_port(), free_port(), free_port()
    a = gateway(conf_text=fleet_conf(p1, pki, keys, route), port=p1)
    b = gateway(conf_text=fleet_conf(p2, pki, keys, route), port=p2)
    # a gateway without the file has keys of its own
    lone = gateway(conf_text=fleet_conf(p3, pki, keys, route)
                   .replace('tls-ticket-keys "%s"\n' % keys, ""), port=p3)
    ctx = client_ctx(tls12=tls12)
    data, err, s = attempt(p1, ctx)
    assert data.startswith(b"SSH-2.0-"), err
    sess = ticket_session(s)
    s.close()
    data, err, s = attempt(p2, ctx, session=sess)
    assert data.startswith(b"SSH-2.0-"), err
    assert s.session_reused, "the ticket of gateway 1 did not resume on 2"
    s.close()
    print("\nresumed on the other gateway:\n  " +
          line_of(b, tls_resumed="yes"))
    data, err, s = attempt(p3, ctx, session=sess)
    assert data.startswith(b"SSH-2.0-"), err
    assert not s.session_reused
    s.close()
    rec = lone.wait_record(result="ok")
    assert "tls_resumed" not in rec, rec


def test_policy_is_checked_where_the_ticket_is_used(gateway, pki, sshd,
                                                    client_pki, keyfile):
    """alice's ticket from gateway 1 (which lets her in) offered to
    gateway 2, whose policy refuses her: resumed, and refused."""
    keys, _ = keyfile
    common = ["route * to %s" % sshd["a"].hostport,
              'client-ca "%s"' % client_pki.path("ca.pem")]
    p1, p2 = free_port(), free_port()
    a = gateway(conf_text=fleet_conf(
        p1, pki, keys, common + ["access allow any to *"]), port=p1)
    b = gateway(conf_text=fleet_conf(
        p2, pki, keys, common + ["access deny user alice to *",
                                 "access allow any to *"]), port=p2)
    ctx = client_ctx(*client_pki.certs["alice"])
    data, err, s = attempt(p1, ctx)
    assert data.startswith(b"SSH-2.0-"), err
    sess = ticket_session(s)
    s.close()
    data, err, s = attempt(p2, ctx, session=sess)
    assert not data.startswith(b"SSH-2.0-"), "gateway 2 let alice in"
    if s is not None:
        s.close()
    line = line_of(b, user="alice", result="denied")
    print("\nrefused on resumption:\n  " + line)
    rec = b.wait_record(user="alice", result="denied")
    assert rec["reason"] == "access-denied", line
    assert rec.get("tls_resumed") == "yes", line
    a.wait_record(user="alice", result="ok")


def test_rotation_keeps_old_tickets_until_their_key_is_dropped(
        gateway, pki, sshd, keyfile, gw_bin):
    keys, k = keyfile
    port = free_port()
    gw = gateway(conf_text=fleet_conf(
        port, pki, keys, ["route * to %s" % sshd["a"].hostport]), port=port)
    ctx = client_ctx()
    data, err, s = attempt(port, ctx)
    assert data.startswith(b"SSH-2.0-"), err
    old = ticket_session(s)
    s.close()

    def reload():
        n = gw.stderr().count("reloaded")
        gw.signal(signal.SIGHUP)
        gw.wait_stderr("reloaded", count=n + 1)

    # a new key in front: the old ticket still decrypts
    k2 = new_key(gw_bin)
    write_keys(keys, [k2] + k)
    reload()
    data, err, s = attempt(port, ctx, session=old)
    assert data.startswith(b"SSH-2.0-"), err
    assert s.session_reused
    s.close()
    # its key dropped: a full handshake, not an error
    write_keys(keys, [new_key(gw_bin), k2])
    reload()
    data, err, s = attempt(port, ctx, session=old)
    assert data.startswith(b"SSH-2.0-"), err
    assert not s.session_reused
    s.close()
    recs = [r for r in gw.records() if r.get("result") == "ok"]
    wait_until(lambda: len([r for r in gw.records()
                            if r.get("result") == "ok"]) == 3, 10,
               what="three ok records")
    recs = [r for r in gw.records() if r.get("result") == "ok"]
    assert [r.get("tls_resumed") for r in recs] == [None, "yes", None], recs


# --- a fleet: HAProxy in front of two gateways -------------------------------

HAPROXY_CONF = """\
global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend ssh_in
    bind 127.0.0.1:%(port)d
    default_backend gateways
backend gateways
    balance roundrobin
    default-server send-proxy-v2 check inter 200ms fall 2 rise 2 source %(src)s
    server gw1 127.0.0.1:%(p1)d
    server gw2 127.0.0.1:%(p2)d
"""


@pytest.fixture
def haproxy(tmp_path):
    if not os.access(HAPROXY, os.X_OK):
        pytest.skip("no %s (scripts/deps.sh test installs it)" % HAPROXY)
    procs = []

    def start(p1, p2):
        port = free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(HAPROXY_CONF % {"port": port, "p1": p1, "p2": p2,
                                       "src": LB_SOURCE})
        log = open(tmp_path / "haproxy.log", "wb")
        proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)],
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log)
        procs.append(proc)
        wait_tcp("127.0.0.1", port)
        return port
    yield start
    for p in procs:
        terminate(p)


def ssh_via(gw_bin, user_key, pki, lb_port, env, cmd):
    """ssh with `sshgate connect` as its ProxyCommand, through the
    balancer; its TLS session cache in env's XDG_CACHE_HOME."""
    proxy = " ".join(shlex.quote(str(w)) for w in (
        gw_bin, "connect", "--ca", pki["ca"], "127.0.0.1:%d" % lb_port)) \
        + " %h"
    return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", "-i", str(user_key),
            "-o", "ProxyCommand=" + proxy, "%s@%s" % (USER, TARGET), cmd]


def oks(gw):
    return [r for r in gw.records() if r.get("result") == "ok"]


def opens(gw):
    return gw.records(events=("open",))


def real_records(gw):
    """Records of clients, not of HAProxy's health checks."""
    return [r for r in gw.records() if r.get("sni") == TARGET]


@pytest.mark.slow(8)
def test_fleet_behind_haproxy(gateway, haproxy, pki, sshd, keyfile, gw_bin,
                              user_key, tmp_path):
    keys, _ = keyfile
    route = ["route %s to %s" % (TARGET, sshd["a"].hostport)]
    p1, p2 = free_port(), free_port()
    gws = [gateway(conf_text=fleet_conf(p, pki, keys, route, proxy=True),
                   port=p) for p in (p1, p2)]
    lb = haproxy(p1, p2)
    # both in the pool: HAProxy's checks (PROXY LOCAL) reach each one
    for g in gws:
        wait_until(lambda: any(r.get("client", "").startswith(LB_SOURCE + ":")
                               for r in g.records()), 10,
                   what="a health check on %s" % g.addr)
    time.sleep(0.5)		# rise 2: two checks passed
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SSHGATE_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")

    # 1. OpenSSH logins through the balancer spread over both gateways;
    # after the first, each resumes the TLS session of the one before,
    # issued by the other gateway
    for i in range(4):
        r = subprocess.run(ssh_via(gw_bin, user_key, pki, lb, env,
                                   "echo login %d" % i),
                           capture_output=True, timeout=30, env=env)
        assert r.returncode == 0 and r.stdout == b"login %d\n" % i, r.stderr
    wait_until(lambda: sum(len(oks(g)) for g in gws) == 4, 10,
               what="4 ok records")
    assert [len(oks(g)) for g in gws] == [2, 2], \
        [[str(r) for r in oks(g)] for g in gws]
    for g in gws:
        for r in oks(g):
            # the client's address, from the PROXY header, not HAProxy's
            assert r["client"].startswith("127.0.0.1:"), r
            assert r["dst"] == sshd["a"].hostport, r
    resumed = [(i, r) for i, g in enumerate(gws) for r in oks(g)
               if r.get("tls_resumed") == "yes"]
    assert len(resumed) >= 2 and {i for i, _ in resumed} == {0, 1}, \
        "ssh logins did not resume on both gateways: %r" % resumed
    print("\nssh logins through HAProxy, each resuming the other "
          "gateway's ticket:")
    for i, g in enumerate(gws):
        for line in g.lines():
            if "tls_resumed=yes" in line and "event=close" in line:
                print("  gw%d: %s" % (i + 1, line))

    # 2. TLS clients from two addresses: each log names its client, and
    # a session from one gateway resumes on the other
    ctx = client_ctx()
    before = [len(real_records(g)) for g in gws]
    data, err, s = attempt(lb, ctx, source=CLIENT_A)
    assert data.startswith(b"SSH-2.0-"), err
    sess = ticket_session(s)
    s.close()
    data, err, s = attempt(lb, ctx, session=sess, source=CLIENT_B)
    assert data.startswith(b"SSH-2.0-"), err
    assert s.session_reused, "no resumption through the balancer"
    s.close()
    wait_until(lambda: sum(len(real_records(g)) for g in gws) ==
               sum(before) + 2, 10, what="the 2 TLS clients' records")
    new = [real_records(g)[before[i]:] for i, g in enumerate(gws)]
    assert [len(n) for n in new] == [1, 1], new
    by_client = {n[0]["client"].split(":")[0]: (i, n[0])
                 for i, n in enumerate(new)}
    assert set(by_client) == {CLIENT_A, CLIENT_B}, by_client
    first, second = by_client[CLIENT_A], by_client[CLIENT_B]
    assert first[0] != second[0]
    assert "tls_resumed" not in first[1] and \
        second[1].get("tls_resumed") == "yes", by_client
    print("\nTLS clients %s and %s, the second resuming the first's "
          "session on the other gateway:" % (CLIENT_A, CLIENT_B))
    for i, r in sorted(by_client.values(), key=lambda x: x[0]):
        for line in gws[i].lines():
            if "conn=%s " % r["conn"] in line and "event=close" in line:
                print("  gw%d: %s" % (i + 1, line))

    # 3. a session on each gateway; one gateway drains on SIGTERM
    def session():
        p = subprocess.Popen(ssh_via(gw_bin, user_key, pki, lb, env,
                                     "echo ready; exec cat"),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        assert read_line_from(p) == "ready\n"
        return p

    def echo(p, text):
        p.stdin.write(text.encode() + b"\n")
        p.stdin.flush()
        return read_line_from(p)

    n_open = [len(opens(g)) for g in gws]
    s1 = session()
    wait_until(lambda: sum(len(opens(g)) for g in gws) == sum(n_open) + 1,
               10, what="the first session's open record")
    home = 0 if len(opens(gws[0])) > n_open[0] else 1
    s2 = session()
    wait_until(lambda: sum(len(opens(g)) for g in gws) == sum(n_open) + 2,
               10, what="the second session's open record")
    assert len(opens(gws[1 - home])) == n_open[1 - home] + 1, \
        "both sessions on one gateway"
    survivor, drained = gws[home], gws[1 - home]
    s2_conn = opens(drained)[-1]["conn"]
    drained.signal(signal.SIGTERM)
    drained.wait_stderr("stopping: no new connections")
    # during the drain: both sessions still carry data
    assert echo(s1, "on the survivor") == "on the survivor\n"
    assert echo(s2, "on the draining one") == "on the draining one\n"
    # the drained gateway's session ends by itself, well within the drain
    s2.stdin.close()
    assert s2.wait(10) == 0
    assert drained.proc.wait(15) == 0, drained.stderr()
    rec = drained.wait_record(conn=s2_conn)
    # ssh closing stdin ends both ways: which side's end the gateway
    # sees first is a race, either is the session ending by itself
    assert rec["reason"] in ("client-closed", "server-closed"), rec
    drain_line = line_of(drained, conn=s2_conn)
    # new logins: all to the survivor (HAProxy saw the other go down)
    n_ok = len(oks(survivor))
    for i in range(3):
        r = subprocess.run(ssh_via(gw_bin, user_key, pki, lb, env,
                                   "echo after %d" % i),
                           capture_output=True, timeout=30, env=env)
        assert r.returncode == 0 and r.stdout == b"after %d\n" % i, r.stderr
    wait_until(lambda: len(oks(survivor)) == n_ok + 3, 10,
               what="3 new logins on the survivor")
    assert echo(s1, "still here") == "still here\n"
    s1.stdin.close()
    assert s1.wait(10) == 0
    s1_conn = opens(survivor)[len(opens(survivor)) - 4]["conn"]
    rec = survivor.wait_record(conn=s1_conn)
    assert rec["reason"] == "client-closed", rec
    print("\ngw%d drained on SIGTERM; its session ended by itself:"
          % (2 - home))
    for line in drained.stderr().splitlines():
        if "drain" in line or "stopp" in line or "exit" in line:
            print("  gw%d stderr: %s" % (2 - home, line))
    print("  gw%d: %s" % (2 - home, drain_line))
    print("the session on gw%d, through the drain and after:" % (home + 1))
    print("  gw%d: %s" % (home + 1, line_of(survivor, conn=s1_conn)))
    print("new logins after the drain, all on gw%d:" % (home + 1))
    for r in oks(survivor)[n_ok:]:
        if r["conn"] == s1_conn:
            continue
        for line in survivor.lines():
            if "conn=%s " % r["conn"] in line and "event=close" in line:
                print("  gw%d: %s" % (home + 1, line))
