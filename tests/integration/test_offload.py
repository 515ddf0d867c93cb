"""TLS 1.3 record offload (tls-offload): after the handshake the
gateway's own record layer carries the session, and real peers cannot
tell: openssl s_client with its KeyUpdate commands, Python's ssl,
OpenSSH through `sshgate connect`, large transfers, resumption, and
TLS 1.2 and `tls-offload no` left with OpenSSL."""

import os
import select
import socket
import ssl
import subprocess
import time
import urllib.request

from sshgate_helpers import BANNER, free_port, wait_until

MiB = 1 << 20


def banner_echo(c, rec):
    c.sendall(BANNER)
    while True:
        d = c.recv(65536)
        if not d:
            rec["eof"] = True
            return
        rec["received"] += d
        c.sendall(d)


def banner_echo_until(n):
    """A backend that echoes until it has n bytes, then closes."""
    def handler(c, rec):
        c.sendall(BANNER)
        while len(rec["received"]) < n:
            d = c.recv(65536)
            if not d:
                break
            rec["received"] += d
            c.sendall(d)
    return handler


def offloaded(mport):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                  timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith("sshgate_tls_offloaded_total "):
            return int(line.split()[1])
    raise AssertionError("no sshgate_tls_offloaded_total in\n" + body)


def start(gateway, raw_backend, extra="", handler=banner_echo):
    b = raw_backend(handler)
    mport = free_port()
    gw = gateway(["* to %s" % b.hostport],
                 extra="metrics 127.0.0.1:%d\n%s" % (mport, extra))
    return gw, b, mport


def client_ctx(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def session(port, ctx, sni="db.example.local"):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                 timeout=10),
                        server_hostname=sni)
    got = b""
    while len(got) < len(BANNER):
        got += s.recv(100)
    assert got == BANNER
    return s


def say_ssh(s):
    """Sends the SSH line the gate wants and reads its echo."""
    s.sendall(b"SSH-2.0-client\r\n")
    got = b""
    while len(got) < 16:
        got += s.recv(16 - len(got))
    assert got == b"SSH-2.0-client\r\n"


def echo_both_ways(s, n, timeout=60):
    """Sends n bytes while reading their echo, from one thread (an SSL
    object must not be used by two at once); True if all came back."""
    data = memoryview(os.urandom(1 << 16) * (n >> 16))
    back = bytearray()
    sent = 0
    end = time.monotonic() + timeout
    s.setblocking(False)
    try:
        while len(back) < len(data):
            assert time.monotonic() < end, "stalled: sent %d, got %d" % (
                sent, len(back))
            select.select([s], [s] if sent < len(data) else [], [], 1)
            if sent < len(data):
                try:
                    sent += s.send(data[sent:sent + (1 << 16)])
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            while True:
                try:
                    d = s.recv(1 << 16)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                assert d, "the gateway closed after %d bytes" % len(back)
                back += d
    finally:
        s.setblocking(True)
    return bytes(back) == bytes(data)


def test_python_client_20_mb_each_way_on_the_record_layer(gateway,
                                                          raw_backend):
    gw, b, mport = start(gateway, raw_backend)
    s = session(gw.port, client_ctx())
    assert s.version() == "TLSv1.3"
    say_ssh(s)
    assert echo_both_ways(s, 20 * MiB)
    s.close()
    rec = gw.wait_record(sni="db.example.local")
    assert rec["result"] == "ok"
    assert int(rec["bytes_up"]) == 20 * MiB + 16
    assert int(rec["bytes_down"]) == 20 * MiB + 16 + len(BANNER)
    assert offloaded(mport) == 1


def test_every_tls13_suite(gateway, raw_backend):
    data = b"SSH-2.0-client\r\n" + os.urandom(100000)
    gw, b, mport = start(gateway, raw_backend,
                         handler=banner_echo_until(len(data)))
    for i, suite in enumerate(("TLS_AES_128_GCM_SHA256",
                               "TLS_AES_256_GCM_SHA384",
                               "TLS_CHACHA20_POLY1305_SHA256"), 1):
        r = subprocess.run(
            ["openssl", "s_client", "-quiet", "-connect",
             "127.0.0.1:%d" % gw.port, "-servername", "db.example.local",
             "-tls1_3", "-ciphersuites", suite],
            input=data, capture_output=True, timeout=20)
        assert r.stdout == BANNER + data, (suite, r.stdout[:200], r.stderr)
        rec = gw.wait_record(sni="db.example.local", conn=str(i))
        assert rec["tls"] == "TLSv1.3/" + suite, rec
        assert rec["result"] == "ok", rec
    assert offloaded(mport) == 3


def read_until(p, want, timeout=10):
    got = b""
    end = time.monotonic() + timeout
    while want not in got:
        left = end - time.monotonic()
        assert left > 0, "no %r in %r" % (want, got[-2000:])
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            d = os.read(p.stdout.fileno(), 65536)
            assert d, "s_client ended: %r" % got[-2000:]
            got += d
    return got


def test_key_updates_from_s_client(gateway, raw_backend):
    """s_client's k (KeyUpdate) and K (KeyUpdate, asking for the gateway's)
    in the middle of a session; data flows on under the new keys."""
    gw, b, mport = start(gateway, raw_backend)
    p = subprocess.Popen(["openssl", "s_client", "-connect",
                          "127.0.0.1:%d" % gw.port, "-servername",
                          "db.example.local", "-tls1_3"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        read_until(p, BANNER)
        p.stdin.write(b"SSH-2.0-client\r\n")
        p.stdin.flush()
        read_until(p, b"SSH-2.0-client")
        for i, cmd in enumerate((b"k", b"K", b"K", b"k")):
            p.stdin.write(cmd + b"\n")
            p.stdin.flush()
            read_until(p, b"KEYUPDATE")
            word = b"after-update-%d" % i
            p.stdin.write(word + b"\n")
            p.stdin.flush()
            read_until(p, word)
        p.stdin.close()
        p.wait(10)
    finally:
        p.kill()
        p.stdout.close()
    rec = gw.wait_record(sni="db.example.local")
    assert rec["result"] == "ok", rec
    assert b"after-update-3" in b.conns[0]["received"]
    assert offloaded(mport) == 1


def test_openssh_through_sshgate_connect(gateway, gw_bin, pki, sshd,
                                         user_key):
    mport = free_port()
    gw = gateway(["a.example.local to %s" % sshd["a"].hostport],
                 extra="metrics 127.0.0.1:%d" % mport)
    pc = "%s connect --ca %s --no-resume 127.0.0.1:%d %%h" % (
        gw_bin, pki["ca"], gw.port)
    r = subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
         "-i", str(user_key), "-o", "ProxyCommand=" + pc,
         "%s@a.example.local" % os.environ.get("USER", "root"),
         "head -c 20000000 /dev/zero | sha256sum; cat | wc -c"],
        input=b"y" * (20 * MiB), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().split()
    # sha256 of 20,000,000 zero bytes, then what came up
    assert out[0] == subprocess.run(
        "head -c 20000000 /dev/zero | sha256sum", shell=True,
        capture_output=True).stdout.decode().split()[0]
    assert out[-1] == str(20 * MiB)
    assert gw.wait_record(sni="a.example.local")["result"] == "ok"
    assert offloaded(mport) == 1


def test_resumed_sessions_are_offloaded_too(gateway, raw_backend):
    gw, b, mport = start(gateway, raw_backend)
    ctx = client_ctx()
    s = session(gw.port, ctx)
    s.sendall(b"SSH-2.0-client\r\nfirst")
    wait_until(lambda: s.session is not None and s.session.has_ticket, 5)
    sess = s.session
    s.close()
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw.port),
                                                 timeout=10),
                        server_hostname="db.example.local", session=sess)
    assert s.session_reused
    got = b""
    while len(got) < len(BANNER):
        got += s.recv(100)
    say_ssh(s)
    assert echo_both_ways(s, MiB)
    s.close()
    recs = [gw.wait_record(conn=str(i)) for i in (1, 2)]
    assert recs[1].get("tls_resumed") == "yes", recs
    assert offloaded(mport) == 2


def test_tls12_and_offload_off_stay_with_openssl(gateway, raw_backend):
    gw, b, mport = start(gateway, raw_backend)
    s = session(gw.port, client_ctx(ssl.TLSVersion.TLSv1_2))
    say_ssh(s)
    assert echo_both_ways(s, MiB)
    s.close()
    assert gw.wait_record(sni="db.example.local")["tls"].startswith(
        "TLSv1.2/")
    assert offloaded(mport) == 0
    gw, b, mport = start(gateway, raw_backend, extra="tls-offload no")
    s = session(gw.port, client_ctx())
    say_ssh(s)
    assert echo_both_ways(s, MiB)
    s.close()
    assert gw.wait_record(sni="db.example.local")["result"] == "ok"
    assert offloaded(mport) == 0


def test_client_bytes_sent_with_its_finished(gateway, raw_backend):
    """The client's first record in the same segment as its Finished: the
    hand-over must not lose it (OpenSSL reads nothing past Finished)."""
    gw, b, mport = start(gateway, raw_backend, handler=banner_echo_until(26))
    for _ in range(20):
        r = subprocess.run(
            ["openssl", "s_client", "-quiet", "-connect",
             "127.0.0.1:%d" % gw.port, "-servername", "db.example.local"],
            input=b"SSH-2.0-client\r\nright-away", capture_output=True,
            timeout=20)
        assert r.stdout == BANNER + b"SSH-2.0-client\r\nright-away", r
    assert offloaded(mport) == 20


def test_close_notify_both_ways(gateway, raw_backend):
    gw, b, mport = start(gateway, raw_backend)
    s = session(gw.port, client_ctx())
    s.sendall(b"SSH-2.0-client\r\nbye")
    got = b""
    while len(got) < 19:
        got += s.recv(100)
    raw = s.unwrap()        # our close_notify, and the gateway's back
    raw.close()
    rec = gw.wait_record(sni="db.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed"), rec
