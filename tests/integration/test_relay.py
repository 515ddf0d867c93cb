"""The relay itself: data integrity, volume, concurrency, half-close,
resets, IPv6, certificate choice and the connection limit."""

import hashlib
import signal
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sshgate_helpers import (BANNER, BioTLSClient, banner_then_record,
                             banner_then_reset_on,
                             client_context, echo, echo_after_eof, free_port,
                             have_ipv6_loopback,
                             openssl_client, read_line_from, read_until_eof,
                             recv_exactly, recv_until_closed, served_key_type,
                             terminate, tls_connect, wait_until)


def test_stdin_reaches_remote_command(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = ssh(gw, "box.example.local", "cat", input=b"hi\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"


@pytest.mark.slow(10)
def test_fifty_parallel_sessions(gateway, ssh, sshd):
    gw = gateway(["*.par.local to %s %s %s" % (sshd["a"].hostport,
                                               sshd["b"].hostport,
                                               sshd["c"].hostport)],
                 timeouts={"handshake": "20s", "inspect": "20s",
                           "connect": "5s"})
    addrs = {s.addr for s in sshd.values()}

    def one(i):
        r = ssh(gw, "h%d.par.local" % i, "echo $SSH_CONNECTION; echo n%d" % i,
                timeout=90)
        return i, r

    with ThreadPoolExecutor(max_workers=50) as ex:
        results = list(ex.map(one, range(50)))
    bad = [(i, r.returncode, r.stderr[-300:]) for i, r in results
           if r.returncode != 0]
    assert not bad, bad
    for i, r in results:
        lines = r.stdout.decode().split("\n")
        assert lines[0].split()[2] in addrs
        assert lines[1] == "n%d" % i
    gw.wait_record(sni="h49.par.local")
    recs = [r for r in gw.records() if r["sni"].endswith(".par.local")]
    gw_wait = time.monotonic() + 10
    while len(recs) < 50 and time.monotonic() < gw_wait:
        time.sleep(0.1)
        recs = [r for r in gw.records() if r["sni"].endswith(".par.local")]
    assert len(recs) == 50
    assert all(r["result"] == "ok" for r in recs)
    assert len({r["conn"] for r in recs}) == 50, "conn ids must be unique"


def test_fifty_megabytes_up_intact(gateway, ssh, sshd, big_file):
    f, digest = big_file
    gw = gateway(["* to %s" % sshd["a"].hostport])
    with open(f, "rb") as fh:
        r = subprocess.run(ssh.argv(gw, "bulk.example.local", "sha256sum"),
                           stdin=fh, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0].decode() == digest
    rec = gw.wait_record(sni="bulk.example.local")
    assert int(rec["bytes_up"]) > 50000000


def test_fifty_megabytes_down_intact(gateway, ssh, sshd, big_file):
    f, digest = big_file
    gw = gateway(["* to %s" % sshd["a"].hostport])
    p = subprocess.Popen(ssh.argv(gw, "bulk.example.local", "cat %s" % f),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    h, n = hashlib.sha256(), 0
    try:
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
        p.wait(120)
    finally:
        terminate(p)
    assert p.returncode == 0, p.stderr.read()
    assert n == 50000000
    assert h.hexdigest() == digest
    rec = gw.wait_record(sni="bulk.example.local")
    assert int(rec["bytes_down"]) > 50000000


@pytest.mark.parametrize("how", ["close_notify", "tcp_fin"])
def test_half_close_reaches_backend_and_reply_still_flows(
        gateway, raw_backend, how):
    b = raw_backend(echo_after_eof)
    gw = gateway(["half.example.local to %s:%d" % (b.host, b.port)],
                 ssh_only="no")
    c = BioTLSClient(gw.port, "half.example.local")
    try:
        c.send(b"hello ")
        c.send(b"world")
        time.sleep(0.1)
        if how == "close_notify":
            c.close_notify()
        else:
            c.shut_wr()
        conn = b.wait_conns(1)[0]
        assert conn["closed"].wait(5), "backend never saw EOF"
        assert conn["eof"] and conn["received"] == b"hello world"
        data, end = c.read_all(timeout=5)
    finally:
        c.close()
    assert data == b"got 11 bytes: hello world"
    assert end == "close_notify", "the gateway should end with " \
        "close_notify after the backend's EOF, got %s" % end
    rec = gw.wait_record(sni="half.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed")
    assert rec["bytes_up"] == "11"
    assert rec["bytes_down"] == str(len(data))


def test_backend_closing_first_is_server_closed(gateway, raw_backend):
    def greet_and_close(c, rec):
        c.sendall(b"bye\n")
    b = raw_backend(greet_and_close)
    gw = gateway(["bye.example.local to %s:%d" % (b.host, b.port)],
                 ssh_only="no")
    s = tls_connect(gw.port, "bye.example.local")
    data, how = recv_until_closed(s, timeout=5)
    s.close()
    assert data == b"bye\n" and how == "eof"
    rec = gw.wait_record(sni="bye.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "server-closed")


def test_backend_reset_closes_only_that_session(gateway, ssh, sshd,
                                                raw_backend):
    b = raw_backend(banner_then_reset_on(b"RESET"))
    gw = gateway(["reset.example.local to %s:%d" % (b.host, b.port),
                  "* to %s" % sshd["a"].hostport])
    other = ssh.popen(gw, "calm.example.local",
                      "echo started; read line; echo $line")
    try:
        assert read_line_from(other, 15) == "started\n"
        s = tls_connect(gw.port, "reset.example.local")
        client = "127.0.0.1:%d" % s.getsockname()[1]
        assert recv_exactly(s, len(BANNER)) == BANNER
        s.sendall(b"SSH-2.0-Client\r\n")
        assert recv_exactly(s, 16) == b"SSH-2.0-Client\r\n"
        s.sendall(b"RESET")
        data, how = recv_until_closed(s, timeout=5)
        s.close()
        assert how != "timeout"
        rec = gw.wait_record(client=client)
        assert rec["reason"] == "server-closed"
        assert "reset" in rec.get("detail", "").lower(), rec
        out, err = other.communicate(b"done\n", timeout=20)
    finally:
        terminate(other)
    assert other.returncode == 0, err
    assert out == b"done\n"
    rec = gw.wait_record(sni="calm.example.local")
    assert rec["result"] == "ok"


def test_ipv6_listener(gateway, ssh, sshd):
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    port = free_port("::1")
    gw = gateway(["v6.example.local to %s" % sshd["b"].hostport],
                 port=port, host="::1", listen=["[::1]:%d" % port])
    assert "listening on [::1]:%d" % port in gw.stderr()
    assert gw.addr == "[::1]:%d" % port
    assert ssh.server_addr(gw, "v6.example.local") == sshd["b"].addr
    rec = gw.wait_record(sni="v6.example.local")
    assert rec["client"].startswith("[::1]:"), rec


@pytest.mark.parametrize("extra", [
    ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
    ["-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256"],
], ids=["tls1.2-rsa-cipher", "tls1.3-rsa-sigalg"])
def test_rsa_only_client_gets_rsa_certificate(gateway, sshd, extra):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = openssl_client(gw.port, "cert.example.local", extra=extra)
    assert served_key_type(r) == "rsa"


@pytest.mark.parametrize("extra", [[], ["-tls1_2"]], ids=["tls1.3", "tls1.2"])
def test_ecdsa_capable_client_gets_ecdsa_certificate(gateway, sshd, extra):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = openssl_client(gw.port, "cert.example.local", extra=extra)
    assert served_key_type(r) == "ecdsa"


def test_certificate_verifies_against_ca(gateway, sshd, pki):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = openssl_client(gw.port, "cert.example.local",
                       extra=["-verify_return_error", "-CAfile",
                              str(pki["ca"]), "-verify_hostname",
                              "localhost"])
    assert b"Verify return code: 0 (ok)" in r.stdout, r.stdout


def test_max_connections_makes_third_client_wait(gateway, raw_backend):
    b = raw_backend(echo)
    gw = gateway(["lim.example.local to %s:%d" % (b.host, b.port)],
                 ssh_only="no", max_connections=2,
                 timeouts={"handshake": "10s"})
    s1 = tls_connect(gw.port, "lim.example.local")
    s2 = tls_connect(gw.port, "lim.example.local")
    for s in (s1, s2):
        s.sendall(b"ping")
        assert recv_exactly(s, 4) == b"ping"
    result = {}

    def third():
        try:
            s3 = tls_connect(gw.port, "lim.example.local", timeout=15)
            result["t"] = time.monotonic()
            s3.sendall(b"three")
            result["echo"] = recv_exactly(s3, 5)
            s3.close()
        except Exception as e:    # reported below
            result["error"] = repr(e)

    t = threading.Thread(target=third, daemon=True)
    t.start()
    time.sleep(1)
    assert "t" not in result and "error" not in result, \
        "third client served while two sessions were open: %r" % result
    closed_at = time.monotonic()
    s1.close()
    t.join(15)
    assert not t.is_alive()
    assert "error" not in result, result
    assert result["t"] >= closed_at
    assert result["echo"] == b"three"
    s2.sendall(b"still")
    assert recv_exactly(s2, 5) == b"still"
    s2.close()


def test_backend_half_close_keeps_client_direction_open(gateway,
                                                        raw_backend):
    """The backend says goodbye and shuts its write side; the client gets
    the data and a close_notify, and what it sends afterwards still
    reaches the backend."""
    def greet_then_listen(c, rec):
        c.sendall(b"hello\n")
        c.shutdown(socket.SHUT_WR)
        read_until_eof(c, rec)
    b = raw_backend(greet_then_listen)
    gw = gateway(["hc.example.local to %s:%d" % (b.host, b.port)],
                 ssh_only="no")
    c = BioTLSClient(gw.port, "hc.example.local")
    try:
        c.send(b"first ")
        assert c.read_all(timeout=5) == (b"hello\n", "close_notify")
        c.send(b"after")
        time.sleep(0.2)
        c.close_notify()
        conn = b.wait_conns(1)[0]
        assert conn["closed"].wait(5)
    finally:
        c.close()
    assert conn["received"] == b"first after"
    rec = gw.wait_record(sni="hc.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "server-closed")
    assert (rec["bytes_up"], rec["bytes_down"]) == ("11", "6")


def test_client_reset_closes_backend_side(gateway, raw_backend):
    b = raw_backend(echo)
    gw = gateway(["rst.example.local to %s:%d" % (b.host, b.port)],
                 ssh_only="no")
    s = tls_connect(gw.port, "rst.example.local")
    s.sendall(b"x")
    assert recv_exactly(s, 1) == b"x"
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    conn = b.wait_conns(1)[0]
    assert conn["closed"].wait(5), "backend connection left open"
    assert conn["eof"]
    rec = gw.wait_record(sni="rst.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed")
    assert "reset" in rec.get("detail", "").lower(), rec


def test_idle_session_is_closed_after_idle_timeout(gateway, raw_backend):
    b = raw_backend(echo)
    gw = gateway(["idle.example.local to %s:%d" % (b.host, b.port)],
                 ssh_only="no", timeouts={"idle": "1s"})
    s = tls_connect(gw.port, "idle.example.local")
    # traffic keeps it alive past the idle timeout...
    for _ in range(3):
        s.sendall(b"x")
        assert recv_exactly(s, 1) == b"x"
        time.sleep(0.6)
    assert b.conns[0]["closed"].is_set() is False
    # ...silence ends it
    t0 = time.monotonic()
    data, how = recv_until_closed(s, timeout=5)
    s.close()
    assert how != "timeout" and time.monotonic() - t0 < 1.5
    rec = gw.wait_record(sni="idle.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "idle-timeout")
    assert int(rec["duration_ms"]) >= 2000
    assert b.conns[0]["closed"].wait(5)


def test_tls_session_resumption(gateway, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    ctx = client_context()
    sessions = []
    for i in range(2):
        raw = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="resume.example.local",
                            session=sessions[-1] if sessions else None)
        s.sendall(b"SSH-2.0-Resume_%d\r\n" % i)
        assert recv_exactly(s, 8) == b"SSH-2.0-"   # the sshd's banner
        sessions.append(s.session)
        assert s.session_reused == (i == 1)
        s.close()
    wait_until(lambda: len(gw.records()) >= 2, 10, what="2 records")
    first, second = sorted(gw.records(), key=lambda r: int(r["conn"]))
    assert "tls_resumed" not in first
    assert second.get("tls_resumed") == "yes", second
    assert second["result"] == "ok" and second["route"] == "*"


def test_ssh_over_tls_1_2(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = ssh(gw, "tls12.example.local", "cat", input=b"over tls 1.2\n",
            s_client_extra="-tls1_2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"over tls 1.2\n"
    rec = gw.wait_record(sni="tls12.example.local")
    assert rec["tls"].startswith("TLSv1.2/"), rec


def test_ipv6_backend(gateway, raw_backend):
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    b = raw_backend(echo, host="::1")
    gw = gateway(["v6b.example.local to %s" % b.hostport], ssh_only="no")
    s = tls_connect(gw.port, "v6b.example.local")
    s.sendall(b"over v6")
    assert recv_exactly(s, 7) == b"over v6"
    s.close()
    rec = gw.wait_record(sni="v6b.example.local")
    assert rec["dst"] == b.hostport


# --- half-closed sessions whose finished side vanishes (timeout idle 0) ---

RESET_ON_CLOSE = struct.pack("ii", 1, 0)	# SO_LINGER 0: close sends RST


@pytest.mark.slow(5)
def test_vanished_client_of_half_closed_session_is_noticed(gateway,
                                                           raw_backend):
    """The client finishes sending (close_notify, then FIN), the server
    stays silent, then the client's connection is reset: with no idle
    timeout the gateway still ends the session within a few seconds."""
    release = threading.Event()

    def silent_after_eof(c, rec):
        read_until_eof(c, rec)
        release.wait(30)
    b = raw_backend(silent_after_eof)
    gw = gateway(["gone.example.local to %s" % b.hostport], ssh_only="no")
    c = BioTLSClient(gw.port, "gone.example.local")
    try:
        c.send(b"last words")
        c.close_notify()
        c.shut_wr()
        conn = b.wait_conns(1)[0]
        wait_until(lambda: conn["eof"], 5, what="the backend to see EOF")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          RESET_ON_CLOSE)
    finally:
        c.close()
        t0 = time.monotonic()
    try:
        rec = gw.wait_record(sni="gone.example.local", timeout=12)
    finally:
        release.set()
    assert time.monotonic() - t0 < 8
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed"), rec
    assert "reset" in rec.get("detail", "").lower(), rec
    assert rec["bytes_up"] == "10"


@pytest.mark.slow(5)
def test_vanished_server_of_half_closed_session_is_noticed(gateway,
                                                           raw_backend):
    """The server says hello and shuts its write side, the client stays
    silent, then the server's connection is reset: the session ends
    within a few seconds and the client sees its connection close."""
    go = threading.Event()

    def greet_half_close_then_reset(c, rec):
        c.sendall(b"hello\n")
        c.shutdown(socket.SHUT_WR)
        go.wait(30)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        c.close()
    b = raw_backend(greet_half_close_then_reset)
    gw = gateway(["gone.example.local to %s" % b.hostport], ssh_only="no")
    c = BioTLSClient(gw.port, "gone.example.local")
    try:
        assert c.read_all(timeout=5) == (b"hello\n", "close_notify")
        go.set()
        assert b.wait_conns(1)[0]["closed"].wait(5)
        t0 = time.monotonic()
        rec = gw.wait_record(sni="gone.example.local", timeout=12)
        assert time.monotonic() - t0 < 8
        c.sock.settimeout(5)
        assert c.sock.recv(1) == b"", "client connection left open"
    finally:
        go.set()
        c.close()
    assert (rec["result"], rec["reason"]) == ("ok", "server-closed"), rec
    assert "reset" in rec.get("detail", "").lower(), rec


# --- the gateway ending a session: the client gets close_notify ---

@pytest.mark.parametrize("end", ["shutdown", "idle-timeout", "not-ssh"])
def test_session_ended_by_gateway_gets_close_notify(gateway, raw_backend,
                                                    end):
    b = raw_backend(banner_then_record)
    gw = gateway(["bye.example.local to %s" % b.hostport],
                 timeouts={"idle": "1s" if end == "idle-timeout" else "0",
                           "drain": "1s"})
    c = BioTLSClient(gw.port, "bye.example.local")
    try:
        c.send(b"GET / HTTP/1.0\r\n\r\n" if end == "not-ssh"
               else b"SSH-2.0-Client\r\n")
        if end == "shutdown":
            conn = b.wait_conns(1)[0]
            wait_until(lambda: conn["received"] == b"SSH-2.0-Client\r\n", 5,
                       what="the client banner at the backend")
            gw.signal(signal.SIGTERM)	# the session outlives the drain
        data, how = c.read_all(timeout=10)
    finally:
        c.close()
    assert how == "close_notify", "the client saw %s" % how
    rec = gw.wait_record(sni="bye.example.local")
    assert rec["reason"] == end, rec
    if end == "shutdown":
        assert gw.proc.wait(10) == 0
