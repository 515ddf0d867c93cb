"""What is refused, and how: not TLS, not SSH, silent clients, dead
backends. Each refusal is logged with its reason token, nothing reaches the
backend when it must not, and the gateway keeps serving."""

import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import DEAD_ADDR
from sshgate_helpers import (is_notice, BANNER, banner_then_record, free_port,
                             openssl_client, recv_exactly, recv_until_closed,
                             tls_connect, wait_until)

_rng = random.Random(20261127)
_RANDOM = bytes([0x5a]) + bytes(_rng.randrange(256) for _ in range(511))

NOT_TLS = {
    "text": b"hello, this is not TLS at all\r\n",
    "http": b"GET / HTTP/1.1\r\nHost: gw.example.local\r\n\r\n",
    "random": _RANDOM,
    "ssh-banner": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
    "nothing": b"",
}


@pytest.mark.parametrize("payload", sorted(NOT_TLS), ids=sorted(NOT_TLS))
def test_not_tls_is_handshake_failed_and_gateway_keeps_serving(
        gateway, ssh, sshd, payload):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    client = "127.0.0.1:%d" % s.getsockname()[1]
    try:
        if NOT_TLS[payload]:
            s.sendall(NOT_TLS[payload])
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass        # the gateway may already have given up on us
    data, how = recv_until_closed(s, timeout=5)
    s.close()
    assert how != "timeout", "the gateway kept a non-TLS client open"
    rec = gw.wait_record(client=client)
    if payload == "ssh-banner":     # told to use the ProxyCommand
        assert (rec["result"], rec["reason"]) == ("denied", "plain-ssh")
        assert data.startswith(b"SSH-2.0-sshgate")
    else:
        assert (rec["result"], rec["reason"]) == ("error",
                                                  "handshake-failed")
    assert rec["bytes_up"] == "0" and rec["bytes_down"] == "0"
    assert "dst" not in rec
    # and it still serves real clients
    assert ssh.server_addr(gw, "after.example.local") == sshd["a"].addr


def _raw_route(gateway, raw_backend, **kw):
    b = raw_backend(banner_then_record)
    gw = gateway(["raw.example.local to %s:%d" % (b.host, b.port)], **kw)
    return gw, b


def test_non_ssh_payload_is_refused_and_backend_gets_nothing(
        gateway, raw_backend):
    gw, b = _raw_route(gateway, raw_backend)
    s = tls_connect(gw.port, "raw.example.local")
    client = "127.0.0.1:%d" % s.getsockname()[1]
    # the server's banner flows before the client's first bytes are judged
    assert recv_exactly(s, len(BANNER)) == BANNER
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data, how = recv_until_closed(s, timeout=5)
    s.close()
    # no server byte, only the gateway's notice of why
    assert how != "timeout" and is_notice(data, "not-ssh"), data
    rec = gw.wait_record(client=client)
    assert (rec["result"], rec["reason"]) == ("denied", "not-ssh")
    assert rec["bytes_up"] == "0"
    assert int(rec["bytes_down"]) == len(BANNER)
    conn = b.wait_conns(1)[0]
    assert conn["closed"].wait(5), "backend connection left open"
    assert conn["received"] == b"", "backend received client bytes"


def test_non_ssh_payload_in_small_pieces_is_refused(gateway, raw_backend):
    gw, b = _raw_route(gateway, raw_backend)
    s = tls_connect(gw.port, "raw.example.local")
    client = "127.0.0.1:%d" % s.getsockname()[1]
    assert recv_exactly(s, len(BANNER)) == BANNER
    # "SSH-" could still become a banner; "SSH-3" cannot
    for piece in (b"SS", b"H-", b"3.0-x\r\n"):
        s.sendall(piece)
        time.sleep(0.05)
    recv_until_closed(s, timeout=5)
    s.close()
    rec = gw.wait_record(client=client)
    assert rec["reason"] == "not-ssh"
    conn = b.wait_conns(1)[0]
    assert conn["closed"].wait(5)
    assert conn["received"] == b""


@pytest.mark.parametrize("banner", [b"SSH-2.0-Test_1.0\r\n",
                                    b"SSH-1.99-Old_1.0\r\n"],
                         ids=["2.0", "1.99"])
def test_ssh_banner_passes_the_gate(gateway, raw_backend, banner):
    gw, b = _raw_route(gateway, raw_backend)
    s = tls_connect(gw.port, "raw.example.local")
    assert recv_exactly(s, len(BANNER)) == BANNER
    s.sendall(banner[:3])          # split: the gate waits for more
    time.sleep(0.1)
    s.sendall(banner[3:] + b"payload")
    conn = b.wait_conns(1)[0]
    expect = banner + b"payload"
    deadline = time.monotonic() + 5
    while conn["received"] != expect and time.monotonic() < deadline:
        time.sleep(0.02)
    assert conn["received"] == expect
    s.close()
    rec = gw.wait_record(sni="raw.example.local")
    assert rec["result"] == "ok" and rec["reason"] == "client-closed"
    assert int(rec["bytes_up"]) == len(expect)


def test_client_closing_before_its_banner_is_logged(gateway, raw_backend):
    gw, b = _raw_route(gateway, raw_backend)
    s = tls_connect(gw.port, "raw.example.local")
    client = "127.0.0.1:%d" % s.getsockname()[1]
    assert recv_exactly(s, len(BANNER)) == BANNER
    s.sendall(b"SSH-2")            # a banner's start, then gone
    time.sleep(0.1)
    s.close()
    rec = gw.wait_record(client=client)
    assert rec["reason"] == "not-ssh"
    conn = b.wait_conns(1)[0]
    assert conn["closed"].wait(5)
    assert conn["received"] == b""


def test_silent_client_after_tls_is_inspect_timeout(gateway, raw_backend):
    gw, b = _raw_route(gateway, raw_backend, timeouts={"inspect": "300ms"})
    s = tls_connect(gw.port, "raw.example.local")
    client = "127.0.0.1:%d" % s.getsockname()[1]
    t0 = time.monotonic()
    assert recv_exactly(s, len(BANNER)) == BANNER
    data, how = recv_until_closed(s, timeout=8)
    elapsed = time.monotonic() - t0
    s.close()
    assert how != "timeout", "not closed by the inspect timeout"
    assert 0.25 <= elapsed < 3, elapsed
    rec = gw.wait_record(client=client)
    assert (rec["result"], rec["reason"]) == ("denied", "inspect-timeout")
    conn = b.wait_conns(1)[0]
    assert conn["closed"].wait(5)
    assert conn["received"] == b""


def test_silent_tcp_client_is_handshake_timeout(gateway, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 timeouts={"handshake": "300ms"})
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    client = "127.0.0.1:%d" % s.getsockname()[1]
    t0 = time.monotonic()
    data, how = recv_until_closed(s, timeout=8)
    elapsed = time.monotonic() - t0
    s.close()
    assert how != "timeout", "not closed by the handshake timeout"
    assert 0.25 <= elapsed < 3, elapsed
    rec = gw.wait_record(client=client)
    assert (rec["result"], rec["reason"]) == ("error", "handshake-timeout")


def test_stalled_handshake_is_handshake_timeout(gateway, sshd):
    """A client that starts a TLS record header and stops."""
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 timeouts={"handshake": "300ms"})
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    client = "127.0.0.1:%d" % s.getsockname()[1]
    s.sendall(b"\x16\x03\x01\x02\x00\x01")   # a ClientHello's first bytes
    data, how = recv_until_closed(s, timeout=8)
    s.close()
    assert how != "timeout"
    rec = gw.wait_record(client=client)
    assert rec["reason"] == "handshake-timeout"


def test_backend_down_is_connect_failed_and_ssh_fails_cleanly(
        gateway, ssh):
    dead = "%s:%d" % (DEAD_ADDR, free_port(DEAD_ADDR))
    gw = gateway(["down.example.local to %s" % dead])
    t0 = time.monotonic()
    r = ssh(gw, "down.example.local", timeout=20)
    assert r.returncode == 255, r
    assert time.monotonic() - t0 < 10
    rec = gw.wait_record(sni="down.example.local")
    assert (rec["result"], rec["reason"]) == ("error", "connect-failed")
    assert rec["dst"] == dead
    assert "Connection refused" in rec["detail"], rec


def test_tls_1_1_client_is_refused(gateway, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = openssl_client(
        gw.port, "old.example.local",
        extra=["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
    assert r.returncode != 0
    assert b"protocol version" in r.stderr, r.stderr
    rec = gw.wait_record(reason="handshake-failed")
    assert rec["result"] == "error"


def test_storm_of_broken_clients_leaves_gateway_serving(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])

    def broken(i):
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        try:
            if i % 3 == 0:
                s.sendall(_RANDOM[:100])
            elif i % 3 == 1:
                s.sendall(b"\x16\x03\x01\x00\x05abc")  # a cut ClientHello
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")  # then RST
        except OSError:
            pass
        finally:
            s.close()

    with ThreadPoolExecutor(max_workers=20) as ex:
        list(ex.map(broken, range(150)))
    wait_until(lambda: len(gw.records()) >= 150, 10, what="150 records")
    recs = gw.records()
    assert len(recs) == 150
    assert {r["reason"] for r in recs} == {"handshake-failed"}
    assert ssh.server_addr(gw, "after.example.local") == sshd["a"].addr
