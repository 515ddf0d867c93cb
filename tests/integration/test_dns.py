"""Dynamic destinations: a literal address in the SNI (`direct`), a name
resolved through DNS (`resolve`, with dnsmasq as the DNS server), and the
destination safety rules that keep either from becoming an open relay.
Every address used is on loopback; the gateway refuses before connecting
wherever a test expects a refusal."""

import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from sshgate_helpers import (RawBackend, free_port, have_ipv6_loopback,
                             is_notice, port_free, terminate, wait_tcp,
                             wait_until)

DNS_ADDR = "127.0.0.53"
SILENT_DNS_ADDR = "127.0.0.54"
VALIDATING_DNS_ADDR = "127.0.0.56"
GW_OWN_ADDR = "127.0.0.6"
# The root zone's key-signing key (KSK-2017) as a DS record.
ROOT_TRUST_ANCHOR = (".,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409"
                     "BBC683457104237C7F8EC8D")
RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 2, 3, 5


class Dnsmasq:
    """dnsmasq serving names from a hosts file, authoritative for
    .internal (other names there are NXDOMAIN), with a 1 s TTL."""

    def __init__(self, d):
        self.hosts = d / "hosts"
        self.hosts.write_text("")
        self.port = free_port(DNS_ADDR)
        argv = ["dnsmasq", "--no-daemon", "--port=%d" % self.port,
                "--listen-address=%s" % DNS_ADDR, "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--pid-file=",
                "--addn-hosts=%s" % self.hosts, "--local=/internal/",
                "--local-ttl=1", "--log-queries",
                "--log-facility=%s" % (d / "dnsmasq.log")]
        if os.getuid() == 0:
            argv.append("--user=root")	# it rereads the hosts file
        self.log = open(d / "dnsmasq.out", "wb")
        self.logfile = d / "dnsmasq.log"
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        wait_tcp(DNS_ADDR, self.port)

    @property
    def server(self):
        return "%s:%d" % (DNS_ADDR, self.port)

    def reads(self):
        """How many times dnsmasq has said it read the hosts file."""
        try:
            return self.logfile.read_text(errors="replace").count(
                "read %s - " % self.hosts)
        except FileNotFoundError:
            return 0

    def set(self, names):
        """names: {name: address}; returns once dnsmasq has reread them."""
        wait_until(lambda: self.reads() >= 1, 5,
                   what="dnsmasq's first read of its hosts file")
        before = self.reads()
        self.hosts.write_text("".join("%s %s\n" % (a, n)
                                      for n, a in names.items()))
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.reads() > before, 5,
                   what="dnsmasq to reread its hosts file")


@pytest.fixture
def dns(tmp_path):
    d = tmp_path / "dns"
    d.mkdir()
    m = Dnsmasq(d)
    yield m
    terminate(m.proc)


@pytest.fixture
def servfail_dns(dns, tmp_path):
    """A dnsmasq that answers SERVFAIL: it validates DNSSEC up to the root's
    trust anchor, and its one upstream (the dns fixture, which signs
    nothing and refuses the DS queries outside its zone) cannot give it a
    chain of signatures, so every validation is abandoned. Returns its
    ADDR:PORT."""
    options = subprocess.run(["dnsmasq", "--version"], capture_output=True,
                             text=True, timeout=10).stdout.split()
    if "DNSSEC" not in options:		# "no-DNSSEC" when built without
        pytest.skip("this dnsmasq is built without DNSSEC")
    d = tmp_path / "dns-validating"
    d.mkdir()
    port = free_port(VALIDATING_DNS_ADDR)
    log = open(d / "dnsmasq.out", "wb")
    argv = ["dnsmasq", "--no-daemon", "--port=%d" % port,
            "--listen-address=%s" % VALIDATING_DNS_ADDR,
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=",
            "--server=%s#%d" % (DNS_ADDR, dns.port), "--dnssec",
            "--trust-anchor=%s" % ROOT_TRUST_ANCHOR, "--log-queries",
            "--log-facility=%s" % (d / "dnsmasq.log")]
    if os.getuid() == 0:
        argv.append("--user=root")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log)
    try:
        wait_tcp(VALIDATING_DNS_ADDR, port)
        yield "%s:%d" % (VALIDATING_DNS_ADDR, port)
    finally:
        terminate(proc)
        log.close()


def dns_rcode(server, name):
    """Asks server (ADDR:PORT) for name's A record over UDP; returns the
    answer's rcode, or None without an answer within 5 s."""
    host, port = server.rsplit(":", 1)
    qid = os.getpid() & 0xffff
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(l)]) + l.encode() for l in name.split(".")) + \
        b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(5)
        s.sendto(query, (host, int(port)))
        while True:
            data = s.recv(4096)
            if data[:2] == query[:2]:
                return data[3] & 0x0f
    except socket.timeout:
        return None
    finally:
        s.close()


@pytest.fixture
def silent_dns():
    """A DNS server address that receives queries and never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((SILENT_DNS_ADDR, 0))
    yield "%s:%d" % s.getsockname()
    s.close()


def named_backend(name):
    """A fake SSH server that says who it is, reads one line, closes."""
    def handler(c, rec):
        c.sendall(b"SSH-2.0-%s\r\n" % name.encode())
        while b"\n" not in rec["received"]:
            d = c.recv(4096)
            if not d:
                break
            rec["received"] += d
    return handler


@pytest.fixture
def twins():
    """Backends 'alpha' on 127.0.0.2 and 'beta' on 127.0.0.3, same port."""
    made = []
    for _ in range(100):
        port = free_port("127.0.0.2")
        if port_free("127.0.0.3", port):
            break
    made.append(RawBackend("127.0.0.2", port, named_backend("alpha")))
    made.append(RawBackend("127.0.0.3", port, named_backend("beta")))
    yield port
    for b in made:
        b.close()


def probe(gw, sni, host="127.0.0.1"):
    """The recipe's client, sending an SSH banner: returns what the server
    sent back (bytes). s_client ends when the gateway closes."""
    r = subprocess.run(["openssl", "s_client", "-quiet", "-connect",
                        "%s:%d" % (host, gw.port), "-servername", sni],
                       input=b"SSH-2.0-probe\r\n", capture_output=True,
                       timeout=20)
    return r.stdout


def conf(gw_port, pki, lines, listen=None, dns="1s"):
    return "\n".join(["listen %s" % (listen or "127.0.0.1:%d" % gw_port),
                      'certificate "%s"' % pki["ecdsa"],
                      "timeout dns %s" % dns, "timeout connect 1s",
                      "timeout drain 1s", "workers 2",
                      "log file gateway.log"] + lines) + "\n"


def start(gateway, pki, lines, listen=None, host="127.0.0.1", dns="1s"):
    port = free_port(host)
    return gateway(conf_text=conf(port, pki, lines, listen, dns), port=port,
                   host=host)


# --- direct: the SNI is the destination ----------------------------------

def test_direct_allowed_address(gateway, pki, twins):
    gw = start(gateway, pki, ["allow-destination 127.0.0.2/32",
                              "route 127.0.0.0/8 direct port %d" % twins])
    assert probe(gw, "127.0.0.2").startswith(b"SSH-2.0-alpha")
    rec = gw.wait_record(sni="127.0.0.2")
    assert rec["route"] == "127.0.0.0/8"
    assert rec["dst"] == "127.0.0.2:%d" % twins


def test_direct_address_outside_allow_list(gateway, pki, twins):
    gw = start(gateway, pki, ["allow-destination 127.0.0.2/32",
                              "route * direct port %d" % twins])
    assert is_notice(probe(gw, "127.0.0.3"))
    rec = gw.wait_record(sni="127.0.0.3")
    assert (rec["result"], rec["reason"]) == ("denied", "destination-denied")
    assert "bytes_up" in rec and rec["bytes_down"] == "0"


def test_direct_loopback_refused_despite_catch_all(gateway, pki, twins):
    gw = start(gateway, pki, ["allow-destination 0.0.0.0/0 127.0.0.2/32",
                              "route * direct port %d" % twins])
    assert is_notice(probe(gw, "127.0.0.1"))
    rec = gw.wait_record(sni="127.0.0.1")
    assert rec["reason"] == "destination-denied"
    assert "loopback" in rec["detail"]


def test_direct_gateway_own_address_refused(gateway, pki, twins):
    port = free_port(GW_OWN_ADDR)
    gw = gateway(conf_text=conf(port, pki, [
        "allow-destination 127.0.0.0/8",
        "route * direct port %d" % port],
        listen="%s:%d" % (GW_OWN_ADDR, port)), port=port, host=GW_OWN_ADDR)
    assert is_notice(probe(gw, GW_OWN_ADDR, host=GW_OWN_ADDR))
    rec = gw.wait_record(sni=GW_OWN_ADDR)
    assert rec["reason"] == "destination-denied"
    assert "own address" in rec["detail"]


def test_direct_deny_wins_over_allow(gateway, pki, twins):
    gw = start(gateway, pki, ["allow-destination 127.0.0.2/31",
                              "deny-destination 127.0.0.3",
                              "route * direct port %d" % twins])
    assert is_notice(probe(gw, "127.0.0.3"))
    assert "deny-destination" in gw.wait_record(sni="127.0.0.3")["detail"]
    assert probe(gw, "127.0.0.2").startswith(b"SSH-2.0-alpha")


def test_direct_ipv6_literal(gateway, pki, raw_backend):
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    b = raw_backend(named_backend("six"), host="::1")
    gw = start(gateway, pki, ["allow-destination ::1/128",
                              "route ::/0 direct port %d" % b.port])
    assert probe(gw, "::1").startswith(b"SSH-2.0-six")
    assert gw.wait_record(sni="::1")["dst"] == "[::1]:%d" % b.port


def test_direct_route_ignores_names(gateway, pki, twins):
    gw = start(gateway, pki, ["allow-destination 127.0.0.2/32",
                              "route * direct port %d" % twins])
    assert probe(gw, "alpha.example") == b""     # no-route: an alert
    assert gw.wait_record(sni="alpha.example")["reason"] == "no-route"


# --- resolve: the SNI is a name to look up -------------------------------

def test_resolve_reaches_the_address_of_the_name(gateway, pki, dns, sshd,
                                                 ssh):
    a = sshd["a"]
    dns.set({"db7.internal": a.addr})
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "allow-destination %s/32" % a.addr,
                              "route *.internal resolve port %d" % a.port])
    r = ssh(gw, "db7.internal")		# the recipe's ProxyCommand
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[2] == a.addr.encode()
    rec = gw.wait_record(sni="db7.internal")
    assert (rec["route"], rec["dst"]) == ("*.internal",
                                          "%s:%d" % (a.addr, a.port))


def test_resolve_to_loopback_is_refused(gateway, pki, dns, twins):
    dns.set({"evil.internal": "127.0.0.1", "db.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "allow-destination 127.0.0.2/32",
                              "route *.internal resolve port %d" % twins])
    assert is_notice(probe(gw, "evil.internal"))
    rec = gw.wait_record(sni="evil.internal")
    assert (rec["result"], rec["reason"]) == ("denied", "destination-denied")
    assert rec["detail"].startswith("127.0.0.1 is loopback")
    assert probe(gw, "db.internal").startswith(b"SSH-2.0-alpha")


def test_resolve_name_outside_every_pattern(gateway, pki, dns, twins):
    dns.set({"db.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "allow-destination 127.0.0.2/32",
                              "route *.internal resolve port %d" % twins])
    assert probe(gw, "db.elsewhere") == b""      # no-route: an alert
    assert gw.wait_record(sni="db.elsewhere")["reason"] == "no-route"


def test_resolve_nxdomain(gateway, pki, dns, twins):
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "allow-destination 127.0.0.2/32",
                              "route *.internal resolve port %d" % twins])
    assert is_notice(probe(gw, "missing.internal"))
    rec = gw.wait_record(sni="missing.internal")
    assert (rec["result"], rec["reason"]) == ("error", "dns-failed")
    assert "NXDOMAIN" in rec["detail"]


def test_silent_dns_server_fails_after_timeout_others_served(
        gateway, pki, silent_dns, twins):
    gw = start(gateway, pki, ["resolver %s" % silent_dns,
                              "allow-destination 127.0.0.2/32",
                              "route static.example to 127.0.0.2:%d" % twins,
                              "route *.internal resolve port %d" % twins])
    slow = {}

    def wait_for_dns():
        t0 = time.monotonic()
        slow["out"] = probe(gw, "db.internal")
        slow["secs"] = time.monotonic() - t0
    t = threading.Thread(target=wait_for_dns)
    t.start()
    # while that client waits for DNS, others are served at once
    for _ in range(3):
        assert probe(gw, "static.example").startswith(b"SSH-2.0-alpha")
    t.join(20)
    assert is_notice(slow["out"], "dns-failed"), slow["out"]
    rec = gw.wait_record(sni="db.internal")
    assert (rec["reason"], rec["detail"]) == ("dns-failed",
                                              "no DNS answer within 1s")
    assert 900 <= int(rec["duration_ms"]) < 5000
    def served_records():
        return [r for r in gw.records() if r["sni"] == "static.example"]
    # the log writer may still hold the last ones (it writes in batches)
    wait_until(lambda: len(served_records()) == 3, 10,
               what="3 records of static.example")
    served = served_records()
    assert all(int(r["duration_ms"]) < 900 for r in served)


def test_answer_change_is_seen_after_ttl(gateway, pki, dns, twins):
    dns.set({"db.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "allow-destination 127.0.0.2/31",
                              "route *.internal resolve port %d" % twins])
    assert probe(gw, "db.internal").startswith(b"SSH-2.0-alpha")
    dns.set({"db.internal": "127.0.0.3"})
    time.sleep(1.5)			# the 1 s TTL runs out
    assert probe(gw, "db.internal").startswith(b"SSH-2.0-beta")


def test_static_route_to_a_host_name(gateway, pki, dns, twins):
    dns.set({"db9.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "route st.example to db9.internal:%d" % twins])
    assert probe(gw, "st.example").startswith(b"SSH-2.0-alpha")
    assert gw.wait_record(sni="st.example")["dst"] == \
        "127.0.0.2:%d" % twins


def test_static_route_name_that_does_not_resolve(gateway, pki, dns, twins):
    dns.set({"db9.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "route st.example to gone.internal:%d "
                              "db9.internal:%d" % (twins, twins)])
    # whichever server comes first, the name that resolves is reached
    for _ in range(2):
        assert probe(gw, "st.example").startswith(b"SSH-2.0-alpha")


def test_reload_switches_resolver(gateway, pki, dns, silent_dns, twins):
    dns.set({"db.internal": "127.0.0.2"})
    lines = ["allow-destination 127.0.0.2/32",
             "route *.internal resolve port %d" % twins]
    gw = start(gateway, pki, ["resolver %s" % silent_dns] + lines,
               dns="300ms")
    assert is_notice(probe(gw, "db.internal"))
    assert gw.wait_record(sni="db.internal")["reason"] == "dns-failed"
    gw.conf.write_text(conf(gw.port, pki,
                            ["resolver %s" % dns.server] + lines,
                            dns="300ms"))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reloaded")
    assert probe(gw, "db.internal").startswith(b"SSH-2.0-alpha")


def test_reload_adds_deny_destination(gateway, pki, twins):
    lines = ["allow-destination 127.0.0.2/32",
             "route * direct port %d" % twins]
    gw = start(gateway, pki, lines)
    assert probe(gw, "127.0.0.2").startswith(b"SSH-2.0-alpha")
    gw.conf.write_text(conf(gw.port, pki,
                            lines + ["deny-destination 127.0.0.2"]))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reloaded")
    assert is_notice(probe(gw, "127.0.0.2"))
    assert gw.wait_record(reason="destination-denied")["sni"] == "127.0.0.2"


def test_check_rejects_dynamic_route_without_allow(gw_bin, pki, tmp_path):
    f = tmp_path / "relay.conf"
    f.write_text(conf(2222, pki, ["route *.internal resolve"]))
    r = subprocess.run([gw_bin, "check", "-c", str(f)], capture_output=True,
                       timeout=30)
    assert r.returncode == 1
    assert ("%s:8: route *.internal resolve: no allow-destination" % f
            ).encode() in r.stderr, r.stderr


def test_no_address_of_the_wanted_family(gateway, pki, dns, twins):
    dns.set({"v4only.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % dns.server, "resolve ipv6",
                              "allow-destination 127.0.0.2/32 ::1/128",
                              "route *.internal resolve port %d" % twins])
    assert is_notice(probe(gw, "v4only.internal"))
    rec = gw.wait_record(sni="v4only.internal")
    assert rec["reason"] == "dns-failed"
    assert rec["detail"] == "no address of the wanted family"


def test_unreachable_dns_server(gateway, pki, twins):
    # a UDP port nobody listens on: the kernel answers "port unreachable"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.55", 0))
    nobody = "%s:%d" % s.getsockname()
    s.close()
    gw = start(gateway, pki, ["resolver %s" % nobody,
                              "allow-destination 127.0.0.2/32",
                              "route *.internal resolve port %d" % twins],
               dns="300ms")
    assert is_notice(probe(gw, "db.internal"))
    rec = gw.wait_record(sni="db.internal")
    assert rec["reason"] == "dns-failed"
    assert rec["detail"] in ("no DNS server reachable",
                             "no DNS answer within 0.3s"), rec


# --- why a lookup failed, as the record's detail says it -----------------

def test_refused_answer_is_named_refused(gateway, pki, dns, twins):
    # the dns fixture has no upstream: it refuses what is outside .internal
    assert dns_rcode(dns.server, "db.example.test") == RCODE_REFUSED
    gw = start(gateway, pki, ["resolver %s" % dns.server,
                              "allow-destination 127.0.0.2/32",
                              "route *.example.test resolve port %d" % twins])
    assert is_notice(probe(gw, "db.example.test"))
    rec = gw.wait_record(sni="db.example.test")
    assert (rec["result"], rec["reason"]) == ("error", "dns-failed")
    assert rec["detail"] == "query refused by the DNS server (REFUSED)", rec


def test_servfail_answer_is_named_servfail(gateway, pki, dns, servfail_dns,
                                          twins):
    dns.set({"db.internal": "127.0.0.2"})
    assert dns_rcode(servfail_dns, "db.internal") == RCODE_SERVFAIL
    gw = start(gateway, pki, ["resolver %s" % servfail_dns,
                              "allow-destination 127.0.0.2/32",
                              "route *.internal resolve port %d" % twins])
    assert is_notice(probe(gw, "db.internal"))
    rec = gw.wait_record(sni="db.internal")
    assert (rec["result"], rec["reason"]) == ("error", "dns-failed")
    assert rec["detail"] == "server failure (SERVFAIL)", rec


def test_servfail_from_first_resolver_falls_over_to_the_next(
        gateway, pki, dns, servfail_dns, twins):
    dns.set({"db.internal": "127.0.0.2"})
    gw = start(gateway, pki, ["resolver %s" % servfail_dns,
                              "resolver %s" % dns.server,
                              "allow-destination 127.0.0.2/32",
                              "route *.internal resolve port %d" % twins])
    assert probe(gw, "db.internal").startswith(b"SSH-2.0-alpha")
    assert gw.wait_record(sni="db.internal")["dst"] == \
        "127.0.0.2:%d" % twins
