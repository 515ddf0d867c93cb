"""Passthrough routes: a website's HTTPS and sshgate on one port. The
gateway reads the ClientHello without terminating TLS, routes it by SNI
and ALPN, and relays the untouched bytes to a server that does its own
TLS (a real `openssl s_server -www` fetched with curl), while ssh logins
through terminated routes work on the same port."""

import json
import os
import socket
import ssl
import subprocess
import time

import pytest

from sshgate_helpers import (free_port, read_until_eof, terminate,
                             wait_tcp, wait_until)

WEB_ADDR = "127.0.0.6"


def client_hello(sni, alpn=None):
    """The ClientHello Python's TLS sends for sni (None: no SNI) and the
    ALPN list: real bytes, taken from a memory BIO before any server."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def send_slowly(port, data, step=1, pause=0.002):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(data), step):
        s.sendall(data[i:i + step])
        if pause:
            time.sleep(pause)
    return s


def recorder(c, rec):
    read_until_eof(c, rec)


@pytest.fixture(scope="module")
def web(tmp_path_factory, pki):
    """A real HTTPS server (openssl s_server -www, HTTP/1.1 by ALPN) for
    www.example.com and 127.0.0.1, its certificate from the test CA."""
    d = tmp_path_factory.mktemp("web")
    ca = pki["dir"]
    (d / "san.ext").write_text(
        "subjectAltName=DNS:www.example.com,IP:127.0.0.1\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    "web.key", "-out", "web.csr", "-subj",
                    "/CN=www.example.com"], cwd=d, check=True,
                   capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", "web.csr", "-CA",
                    str(ca / "ca.pem"), "-CAkey", str(ca / "ca.key"),
                    "-CAcreateserial", "-CAserial", str(d / "ca.srl"),
                    "-days", "2", "-extfile", "san.ext", "-out", "web.crt"],
                   cwd=d, check=True, capture_output=True)
    port = free_port(WEB_ADDR)
    p = subprocess.Popen(["openssl", "s_server", "-accept",
                          "%s:%d" % (WEB_ADDR, port), "-cert", "web.crt",
                          "-key", "web.key", "-www", "-alpn", "http/1.1",
                          "-quiet"], cwd=d, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_tcp(WEB_ADDR, port, timeout=10)
        yield "%s:%d" % (WEB_ADDR, port)
    finally:
        terminate(p)


def curl(gw, pki, name="www.example.com", url_host=None, extra=()):
    """Fetches / through the gateway's port, verifying with the test CA."""
    host = url_host or name
    argv = ["curl", "-sS", "--max-time", "10", "--cacert", str(pki["ca"]),
            "--resolve", "%s:%d:127.0.0.1" % (name, gw.port)] + \
        list(extra) + ["https://%s:%d/" % (host, gw.port)]
    return subprocess.run(argv, capture_output=True, timeout=20)


def test_https_and_ssh_share_the_port(gateway, ssh, sshd, web, pki):
    mport = free_port()
    gw = gateway(["ssh.example.local to %s" % sshd["a"].hostport,
                  "* alpn h2,http/1.1 passthrough to %s" % web],
                 extra="metrics 127.0.0.1:%d" % mport)
    # an ssh session stays open while the website is fetched
    p = ssh.popen(gw, "ssh.example.local", cmd="echo started; read x; "
                  "echo $x")
    try:
        assert p.stdout.readline() == b"started\n"
        r = curl(gw, pki)
        assert r.returncode == 0, r.stderr
        assert b"s_server" in r.stdout, r.stdout[:300]
        out, err = p.communicate(b"still here\n", timeout=20)
    finally:
        terminate(p)
    assert p.returncode == 0, err
    assert out == b"still here\n"
    rec = gw.wait_record(mode="passthrough")
    assert rec["sni"] == "www.example.com"
    assert rec["route"] == "*" and rec["dst"] == web
    assert "http/1.1" in rec["alpn"].split(",")
    # which side finishes first is the peers' race
    assert rec["result"] == "ok"
    assert rec["reason"] in ("client-closed", "server-closed")
    assert int(rec["bytes_up"]) > 200 and int(rec["bytes_down"]) > 500
    assert "tls" not in rec and "handshake_ms" not in rec
    opened = gw.wait_record(events=("open",), mode="passthrough")
    assert opened["conn"] == rec["conn"] and opened["dst"] == web
    s = gw.wait_record(sni="ssh.example.local")
    assert s["result"] == "ok" and "mode" not in s and "tls" in s
    # the terminated session went on the record layer after its handshake,
    # as without passthrough routes: its records were counted exactly
    m = metrics(mport)
    assert m["sshgate_tls_offloaded_total"] == 1
    assert m["sshgate_passthrough_total"] == 1


def test_alpn_narrows_the_match(gateway, raw_backend):
    h2 = raw_backend(recorder)
    other = raw_backend(recorder, host="127.0.0.7")
    gw = gateway(["web.example alpn h2 passthrough to %s" % h2.hostport,
                  "web.example passthrough to %s" % other.hostport])
    hellos = []
    for alpn in (["h2", "http/1.1"], ["imap"], None):
        hellos.append(client_hello("web.example", alpn))
        s = send_slowly(gw.port, hellos[-1], step=4096, pause=0)
        s.shutdown(socket.SHUT_WR)
        server = h2 if alpn and "h2" in alpn else other
        wait_until(lambda: any(c["closed"].is_set() and
                               c["received"] == hellos[-1]
                               for c in server.conns), 5,
                   what="the hello at its server")
        s.close()
    assert [c["received"] for c in h2.conns] == hellos[:1]
    assert [c["received"] for c in other.conns] == hellos[1:]
    recs = [gw.wait_record(alpn="h2,http/1.1"), gw.wait_record(alpn="imap")]
    assert recs[0]["dst"] == h2.hostport
    assert recs[1]["dst"] == other.hostport


def test_no_sni_falls_back_to_passthrough_star(gateway, ssh, sshd, web, pki,
                                               raw_backend):
    gw = gateway(["ssh.example.local to %s" % sshd["a"].hostport,
                  "* passthrough to %s" % web])
    # curl sends no SNI for an address
    r = curl(gw, pki, name="127.0.0.1")
    assert r.returncode == 0, r.stderr
    assert b"s_server" in r.stdout
    rec = gw.wait_record(mode="passthrough")
    assert rec["sni"] == "" and rec["dst"] == web
    # names still reach their terminated route
    assert ssh.server_addr(gw, "ssh.example.local") == sshd["a"].addr
    # without the fallback, no name is refused as ever
    b = raw_backend(recorder)
    gw2 = gateway(["ssh.example.local to %s" % sshd["a"].hostport,
                   "www.example.com passthrough to %s" % b.hostport])
    s = send_slowly(gw2.port, client_hello(None), step=4096, pause=0)
    s.settimeout(5)
    alert = s.recv(100)
    s.close()
    assert alert[:1] == b"\x15"     # a TLS alert from the handshake
    rec = gw2.wait_record(reason="no-sni")
    assert rec["result"] == "denied"
    assert b.conns == []


def test_fragmented_hello_one_byte_at_a_time(gateway, raw_backend):
    b = raw_backend(recorder)
    decoy = raw_backend(recorder, host="127.0.0.7")
    gw = gateway(["slow.example passthrough to %s" % b.hostport,
                  "* passthrough to %s" % decoy.hostport])
    hello = client_hello("slow.example", ["h2"])
    s = send_slowly(gw.port, hello)
    s.sendall(b"after the hello")
    s.shutdown(socket.SHUT_WR)
    c = b.wait_conns(1)[0]
    assert c["closed"].wait(10)
    s.close()
    # the server gets exactly what the client sent, the hello first
    assert c["received"] == hello + b"after the hello"
    assert decoy.conns == []
    rec = gw.wait_record(sni="slow.example")
    assert rec["mode"] == "passthrough" and rec["alpn"] == "h2"
    assert rec["bytes_up"] == str(len(hello) + 15)


def test_hello_split_into_tiny_records(gateway, raw_backend):
    """The handshake message spread over 4-byte TLS records, sent in
    pieces that cut headers: still routed, still untouched."""
    b = raw_backend(recorder)
    gw = gateway(["tiny.example passthrough to %s" % b.hostport])
    hello = client_hello("tiny.example")
    body = hello[5:]
    recs = b"".join(b"\x16\x03\x01" + len(body[i:i + 4]).to_bytes(2, "big")
                    + body[i:i + 4] for i in range(0, len(body), 4))
    s = send_slowly(gw.port, recs, step=7, pause=0.0005)
    s.shutdown(socket.SHUT_WR)
    c = b.wait_conns(1)[0]
    assert c["closed"].wait(10)
    s.close()
    assert c["received"] == recs


@pytest.mark.parametrize("data,detail", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a TLS handshake"),
    (b"\x80\x2e\x01\x03\x01" + b"\x00" * 45, "SSLv2-style ClientHello"),
    (b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", "not a ClientHello"),
    (b"\x16\x03\x01\x40\x01" + b"\x00" * 20, "record length"),
    (b"\x16\x03\x01\x00\x04\x01\x01\x00\x00", "too large"),
    (b"".join(b"\x16\x03\x01\x00\x01" + bytes([x])
              for x in [1, 0, 0x75, 0x30] + [0] * 300), "too many records"),
], ids=["http", "sslv2", "server-hello", "record-too-long", "oversized",
        "too-many-records"])
def test_malformed_hellos_get_a_reason(gateway, raw_backend, data, detail):
    b = raw_backend(recorder)
    gw = gateway(["* passthrough to %s" % b.hostport])
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        s.sendall(data)
        s.recv(100)
    except OSError:
        pass        # refused at the first bad byte: the rest is reset
    s.close()
    rec = gw.wait_record(reason="handshake-failed")
    assert rec["result"] == "error"
    assert rec["detail"].startswith("not a TLS ClientHello: ")
    assert detail in rec["detail"], rec
    assert b.conns == []


def test_plain_ssh_is_told_and_logged(gateway, raw_backend):
    b = raw_backend(recorder)
    gw = gateway(["* passthrough to %s" % b.hostport])
    s = send_slowly(gw.port, b"SSH-2.0-OpenSSH_9.2\r\n", step=1)
    s.settimeout(5)
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    assert data.startswith(b"SSH-2.0-sshgate\r\n")
    assert b"this port speaks TLS, not SSH" in data
    rec = gw.wait_record(reason="plain-ssh")
    assert rec["result"] == "denied"
    assert b.conns == []


def test_partial_hello_times_out(gateway, raw_backend):
    b = raw_backend(recorder)
    gw = gateway(["* passthrough to %s" % b.hostport],
                 timeouts={"handshake": "1s"})
    hello = client_hello("late.example")
    s = send_slowly(gw.port, hello[:len(hello) // 2], step=50, pause=0)
    rec = gw.wait_record(reason="handshake-timeout", timeout=5)
    s.close()
    assert "no whole ClientHello within 1s" in rec["detail"]
    assert b.conns == []


def echo_after_eof_raw(c, rec):
    read_until_eof(c, rec)
    c.sendall(b"got %d bytes" % len(rec["received"]))


def test_half_close_both_ways(gateway, raw_backend):
    b = raw_backend(echo_after_eof_raw)
    gw = gateway(["half.example passthrough to %s" % b.hostport])
    hello = client_hello("half.example")
    s = send_slowly(gw.port, hello, step=len(hello), pause=0)
    s.sendall(b"request")
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    assert data == b"got %d bytes" % (len(hello) + 7)
    rec = gw.wait_record(sni="half.example")
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed")
    assert rec["bytes_up"] == str(len(hello) + 7)
    assert rec["bytes_down"] == str(len(data))


def test_send_proxy_on_passthrough(gateway, raw_backend):
    b = raw_backend(recorder)
    gw = gateway(["px.example passthrough to %s send-proxy" % b.hostport])
    hello = client_hello("px.example")
    s = send_slowly(gw.port, hello, step=len(hello), pause=0)
    client_port = s.getsockname()[1]
    s.shutdown(socket.SHUT_WR)
    c = b.wait_conns(1)[0]
    assert c["closed"].wait(5)
    s.close()
    got = c["received"]
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    assert got.startswith(sig)
    hlen = 16 + int.from_bytes(got[14:16], "big")
    assert got[hlen:] == hello
    # v2, PROXY, TCP over IPv4: source 127.0.0.1:client_port
    assert got[12] == 0x21 and got[13] == 0x11
    assert socket.inet_ntoa(got[16:20]) == "127.0.0.1"
    assert int.from_bytes(got[24:26], "big") == client_port


def metrics(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    values = {}
    for line in data.partition(b"\r\n\r\n")[2].decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            values[k] = float(v)
    return values


def test_metrics_count_passthrough(gateway, raw_backend):
    b = raw_backend(echo_after_eof_raw)
    mport = free_port()
    gw = gateway(["m.example passthrough to %s" % b.hostport],
                 extra="metrics 127.0.0.1:%d" % mport)
    gw.wait_stderr("metrics on")
    hello = client_hello("m.example")
    s = send_slowly(gw.port, hello, step=len(hello), pause=0)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    while s.recv(4096):
        pass
    s.close()
    gw.wait_record(sni="m.example")
    m = metrics(mport)
    assert m["sshgate_passthrough_total"] == 1
    assert m['sshgate_passthrough_bytes_total{direction="up"}'] == len(hello)
    assert m['sshgate_passthrough_bytes_total{direction="down"}'] > 0
    assert m['sshgate_connections_total{result="ok"}'] == 1
    assert m['sshgate_bytes_total{direction="up"}'] == len(hello)


def test_ctl_lists_and_kills_a_passthrough_session(gateway, gw_bin,
                                                   raw_backend, tmp_path):
    b = raw_backend(recorder)
    sock = tmp_path / "ctl.sock"
    gw = gateway(["k.example passthrough to %s" % b.hostport],
                 extra="control %s" % sock)
    s = send_slowly(gw.port, client_hello("k.example"), step=4096, pause=0)
    b.wait_conns(1)

    def sessions():
        r = subprocess.run([gw_bin, "ctl", "-s", str(sock), "sessions",
                            "--json"], capture_output=True, timeout=10)
        return json.loads(r.stdout) if r.returncode == 0 else []
    wait_until(lambda: len(sessions()) == 1, 10, what="one session")
    sess = sessions()[0]
    assert sess["sni"] == "k.example" and sess["dst"] == b.hostport
    r = subprocess.run([gw_bin, "ctl", "-s", str(sock), "kill",
                        str(sess["id"])], capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    rec = gw.wait_record(sni="k.example")
    s.close()
    assert rec["reason"] == "killed" and rec["mode"] == "passthrough"


def test_access_rules_judge_passthrough_as_nobody(gateway, raw_backend, pki):
    b = raw_backend(recorder)
    gw = gateway(["open.example passthrough to %s" % b.hostport,
                  "shut.example passthrough to %s" % b.hostport],
                 extra="client-ca %s\naccess allow group ops to *\n"
                       "access allow any to open.example" % pki["ca"])
    for name in ("open.example", "shut.example"):
        s = send_slowly(gw.port, client_hello(name), step=4096, pause=0)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    ok = gw.wait_record(sni="open.example")
    assert ok["result"] == "ok" and ok["dst"] == b.hostport
    no = gw.wait_record(sni="shut.example")
    assert (no["result"], no["reason"]) == ("denied", "access-denied")
    assert len(b.conns) == 1


def test_explain_shows_passthrough(gw_bin, web, pki, tmp_path):
    conf = tmp_path / "x.conf"
    conf.write_text("listen 127.0.0.1:1\ncertificate %s\n"
                    "route ssh.example to 127.0.0.1:22\n"
                    "route * alpn h2,http/1.1 passthrough to %s\n"
                    % (pki["ecdsa"], web))

    def explain(*args):
        r = subprocess.run([gw_bin, "explain", "-c", str(conf)] + list(args),
                           capture_output=True, timeout=10)
        return r.returncode, r.stdout.decode()
    rc, out = explain("--alpn", "h2", "www.example")
    assert rc == 0, out
    assert "route:       * passthrough to servers" in out
    assert "%s: reachable" % web in out
    rc, out = explain("--no-sni", "--alpn", "http/1.1")
    assert rc == 0 and "passthrough" in out, out
    # without ALPN, no route takes the name; ssh.example stays terminated
    rc, out = explain("www.example")
    assert rc == 1 and "none matches (refused, no-route)" in out, out
    rc, out = explain("--alpn", "h2", "ssh.example")
    assert rc == 0 and "ssh.example to servers" in out, out


def test_no_descriptor_leak(gateway, raw_backend):
    """Pipes go back to the pool and sockets are closed: a second batch
    of sessions leaves the gateway with the descriptors the first left."""
    b = raw_backend(echo_after_eof_raw)
    gw = gateway(["fd.example passthrough to %s" % b.hostport], workers=1)

    def batch(n):
        socks = []
        for _ in range(n):
            s = send_slowly(gw.port, client_hello("fd.example"), step=4096,
                            pause=0)
            s.sendall(b"x" * 200000)
            socks.append(s)
        for s in socks:
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            while s.recv(65536):
                pass
            s.close()

    def fds():
        import os
        return len(os.listdir("/proc/%d/fd" % gw.proc.pid))
    batch(10)
    wait_until(lambda: len(gw.records()) == 10, 10, what="10 records")
    first = fds()
    batch(10)
    wait_until(lambda: len(gw.records()) == 20, 10, what="20 records")
    assert fds() == first
    assert all(r["reason"] == "client-closed" for r in gw.records())


def test_reload_keeps_and_drain_ends_a_passthrough_session(gateway,
                                                           raw_backend):
    import signal as sig
    b = raw_backend(recorder)
    gw = gateway(["r.example passthrough to %s" % b.hostport])
    hello = client_hello("r.example")
    s = send_slowly(gw.port, hello, step=4096, pause=0)
    c = b.wait_conns(1)[0]
    # the route goes away: the live session stays, new clients are refused
    gw.conf.write_text(gw.conf.read_text().replace(
        "route r.example passthrough to %s" % b.hostport,
        "route other.example to %s" % b.hostport))
    gw.signal(sig.SIGHUP)
    gw.wait_stderr("sshgate: reloaded %s" % gw.conf)
    s.sendall(b"after the reload")
    wait_until(lambda: c["received"] == hello + b"after the reload", 5,
               what="bytes after the reload at the server")
    s2 = send_slowly(gw.port, client_hello("r.example"), step=4096, pause=0)
    assert gw.wait_record(reason="no-route")["sni"] == "r.example"
    s2.close()
    # SIGTERM: the session may finish within timeout drain (2s), then ends
    gw.signal(sig.SIGTERM)
    rec = gw.wait_record(sni="r.example", mode="passthrough", timeout=10)
    s.close()
    assert gw.proc.wait(10) == 0    # before teardown's own SIGTERM
    assert rec["reason"] == "shutdown"
    assert rec["bytes_up"] == str(len(hello) + 16)
    assert len(b.conns) == 1


def test_per_ip_limit_applies_before_the_hello(gateway, raw_backend):
    b = raw_backend(recorder)
    gw = gateway(["l.example passthrough to %s" % b.hostport],
                 extra="max-connections-per-ip 1")
    first = send_slowly(gw.port, client_hello("l.example"), step=4096,
                        pause=0)
    b.wait_conns(1)
    second = send_slowly(gw.port, client_hello("l.example"), step=4096,
                         pause=0)
    rec = gw.wait_record(reason="too-many")
    second.close()
    first.close()
    assert rec["result"] == "denied" and "mode" not in rec
    assert len(b.conns) == 1


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_urgent_byte_neither_stalls_nor_spins(gateway, raw_backend):
    """A client's TCP urgent byte (MSG_OOB) in a passthrough session:
    splice(2) stops at the urgent mark, so the relay must not wait on it
    for ever, nor spin on a socket that stays readable: the bytes behind
    it reach the server and the gateway stays idle."""
    b = raw_backend(recorder)
    gw = gateway(["oob.example passthrough to %s" % b.hostport], workers=1)
    hello = client_hello("oob.example")
    s = send_slowly(gw.port, hello, step=len(hello), pause=0)
    c = b.wait_conns(1)[0]
    wait_until(lambda: c["received"] == hello, 5, what="the hello")
    s.send(b"!", socket.MSG_OOB)
    time.sleep(0.1)
    before = cpu_seconds(gw.proc.pid)
    s.sendall(b"after the urgent byte")
    time.sleep(1)
    assert cpu_seconds(gw.proc.pid) - before < 0.3, "the gateway spins"
    wait_until(lambda: c["received"].endswith(b"after the urgent byte"), 5,
               what="the bytes behind the urgent byte at the server")
    s.shutdown(socket.SHUT_WR)
    assert c["closed"].wait(5)
    s.close()
    rec = gw.wait_record(sni="oob.example")
    assert (rec["result"], rec["reason"]) == ("ok", "client-closed")


def test_pipes_leave_the_last_session_its_descriptors(gateway, raw_backend):
    """Under a descriptor limit the gateway takes only the sessions its
    fds hold (two each, and some spare). Passthrough sessions whose peers
    read nothing keep bytes in both their pipes (four fds more each): the
    pipes must come out of what sessions leave, so that the last session
    slot still has its two descriptors and is relayed."""
    import re
    import threading
    stop = threading.Event()

    def flood(c, rec):
        c.setblocking(False)
        try:
            while True:
                c.send(b"d" * 65536)
        except BlockingIOError:
            pass
        stop.wait(30)

    hog = raw_backend(flood)
    good = raw_backend(recorder, host="127.0.0.7")
    gw = gateway(["last.example passthrough to %s" % good.hostport,
                  "* passthrough to %s" % hog.hostport], workers=1,
                 max_connections=1000, prefix=["prlimit", "--nofile=60:60"])
    m = re.search(r"accepting at most (\d+) connections", gw.stderr())
    assert m, gw.stderr()
    cap = int(m.group(1))
    held = []
    try:
        for i in range(cap - 1):
            s = send_slowly(gw.port, client_hello("hog%d.example" % i),
                            step=4096, pause=0)
            held.append(s)
            s.setblocking(False)
            full, deadline = 0, time.monotonic() + 1
            while full < 5 and time.monotonic() < deadline:
                try:
                    s.send(b"u" * 65536)
                    full = 0
                except BlockingIOError:
                    full += 1
                    time.sleep(0.02)
                except OSError:
                    break       # what the bug looks like: asserted below
        s = send_slowly(gw.port, client_hello("last.example"), step=4096,
                        pause=0)
        held.append(s)
        s.shutdown(socket.SHUT_WR)
        rec = gw.wait_record(sni="last.example")
        assert (rec["result"], rec["dst"]) == ("ok", good.hostport), rec
        assert "Too many open files" not in gw.stderr(), gw.stderr()
        assert not any(r["result"] != "ok" for r in gw.records())
    finally:
        stop.set()
        for s in held:
            s.close()


def test_urgent_byte_inside_the_hello_is_refused_at_once(gateway,
                                                         raw_backend):
    """A peek stops at TCP urgent data, so a ClientHello with an urgent
    byte inside can never be read whole: the socket stays readable and
    the gateway would peek again every 10 ms until the handshake
    timeout. It is refused at once instead."""
    b = raw_backend(recorder)
    gw = gateway(["* passthrough to %s" % b.hostport],
                 timeouts={"handshake": "5s"})
    hello = client_hello("urgent.example")
    s = send_slowly(gw.port, hello[:100], step=100, pause=0)
    time.sleep(0.1)
    s.send(b"!", socket.MSG_OOB)
    s.sendall(hello[100:])
    t0 = time.monotonic()
    rec = gw.wait_record(reason=lambda r: r is not None, timeout=8)
    took = time.monotonic() - t0
    s.close()
    assert rec["reason"] == "handshake-failed", rec
    assert "urgent" in rec["detail"], rec
    assert took < 2, took
    assert b.conns == []


def test_urgent_byte_from_the_server(gateway, raw_backend):
    """The same from the server's side: what follows its urgent byte
    reaches the client, and the gateway does not spin."""
    def urgent(c, rec):
        rec["received"] = c.recv(65536)
        c.send(b"!", socket.MSG_OOB)
        time.sleep(0.1)
        c.sendall(b"after the urgent byte")
        read_until_eof(c, rec)

    b = raw_backend(urgent)
    gw = gateway(["oob.example passthrough to %s" % b.hostport], workers=1)
    s = send_slowly(gw.port, client_hello("oob.example"), step=4096, pause=0)
    b.wait_conns(1)
    time.sleep(0.3)
    before = cpu_seconds(gw.proc.pid)
    time.sleep(1)
    assert cpu_seconds(gw.proc.pid) - before < 0.3, "the gateway spins"
    s.settimeout(5)
    data = b""
    while not data.endswith(b"after the urgent byte"):
        d = s.recv(4096)
        assert d, data
        data += d
    s.close()
    rec = gw.wait_record(sni="oob.example")
    assert rec["result"] == "ok", rec
