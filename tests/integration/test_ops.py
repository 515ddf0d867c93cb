"""Running it in production: log files reopened on SIGUSR1 (logrotate)."""

import os
import signal

from sshgate_helpers import wait_until


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
