"""Which backend answers: exact, wildcard and catch-all routes, file order,
case-insensitive SNI, rotation and failover among a route's servers."""


from conftest import DEAD_ADDR
from sshgate_helpers import (StuckListener, free_port, openssl_client,
                             wait_until)


def test_exact_route_reaches_its_backend(gateway, ssh, sshd):
    gw = gateway(["db1.example.local to %s" % sshd["a"].hostport,
                  "db2.example.local to %s" % sshd["b"].hostport])
    assert ssh.server_addr(gw, "db1.example.local") == sshd["a"].addr
    assert ssh.server_addr(gw, "db2.example.local") == sshd["b"].addr
    rec = gw.wait_record(sni="db2.example.local")
    assert rec["result"] == "ok"
    assert rec["reason"] in ("client-closed", "server-closed")
    assert rec["route"] == "db2.example.local"
    assert rec["dst"] == sshd["b"].hostport
    assert int(rec["bytes_up"]) > 0 and int(rec["bytes_down"]) > 0


def test_wildcard_route_matches_one_or_more_labels(gateway, ssh, sshd):
    gw = gateway(["*.example.local to %s" % sshd["a"].hostport])
    assert ssh.server_addr(gw, "web.example.local") == sshd["a"].addr
    assert ssh.server_addr(gw, "a.b.example.local") == sshd["a"].addr
    rec = gw.wait_record(sni="a.b.example.local")
    assert rec["route"] == "*.example.local"


def test_wildcard_route_does_not_match_bare_suffix(gateway, ssh, sshd):
    gw = gateway(["*.example.local to %s" % sshd["a"].hostport])
    r = ssh(gw, "example.local")
    assert r.returncode != 0
    rec = gw.wait_record(sni="example.local")
    assert (rec["result"], rec["reason"]) == ("denied", "no-route")
    # nor a name that merely ends with the suffix's text
    r = ssh(gw, "badexample.local")
    assert r.returncode != 0
    gw.wait_record(sni="badexample.local", reason="no-route")


def test_catch_all_route_takes_anything(gateway, ssh, sshd):
    gw = gateway(["known.example.local to %s" % sshd["a"].hostport,
                  "* to %s" % sshd["c"].hostport])
    assert ssh.server_addr(gw, "known.example.local") == sshd["a"].addr
    assert ssh.server_addr(gw, "anything.else.test") == sshd["c"].addr
    assert ssh.server_addr(gw, "x") == sshd["c"].addr
    rec = gw.wait_record(sni="anything.else.test")
    assert rec["route"] == "*"


def test_first_matching_route_wins_exact_first(gateway, ssh, sshd):
    gw = gateway(["db.example.local to %s" % sshd["b"].hostport,
                  "*.example.local to %s" % sshd["a"].hostport,
                  "* to %s" % sshd["c"].hostport])
    assert ssh.server_addr(gw, "db.example.local") == sshd["b"].addr
    assert ssh.server_addr(gw, "web.example.local") == sshd["a"].addr
    assert ssh.server_addr(gw, "other.test") == sshd["c"].addr


def test_first_matching_route_wins_wildcard_first(gateway, ssh, sshd):
    gw = gateway(["*.example.local to %s" % sshd["a"].hostport,
                  "db.example.local to %s" % sshd["b"].hostport])
    # the exact route comes later: the wildcard wins
    assert ssh.server_addr(gw, "db.example.local") == sshd["a"].addr
    rec = gw.wait_record(sni="db.example.local")
    assert rec["route"] == "*.example.local"


def test_catch_all_first_shadows_everything(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["c"].hostport,
                  "db.example.local to %s" % sshd["b"].hostport])
    assert ssh.server_addr(gw, "db.example.local") == sshd["c"].addr


def test_sni_is_case_insensitive(gateway, ssh, sshd):
    gw = gateway(["db.Example.Local to %s" % sshd["b"].hostport,
                  "*.LAB.example.local to %s" % sshd["c"].hostport])
    # ssh lower-cases %h, so the mixed-case name is given to s_client as is
    assert ssh.server_addr(gw, servername="DB.EXAMPLE.local") == \
        sshd["b"].addr
    assert ssh.server_addr(gw, servername="Host1.Lab.Example.LOCAL") == \
        sshd["c"].addr
    rec = gw.wait_record(route="db.Example.Local")
    assert rec["sni"].lower() == "db.example.local"


def test_trailing_dot_in_sni_is_ignored(gateway, ssh, sshd):
    gw = gateway(["db.example.local to %s" % sshd["b"].hostport])
    assert ssh.server_addr(gw, servername="db.example.local.") == \
        sshd["b"].addr


def test_rotating_start_spreads_over_servers(gateway, ssh, sshd):
    gw = gateway(["pool.example.local to %s %s" % (sshd["a"].hostport,
                                                   sshd["b"].hostport)])
    seen = [ssh.server_addr(gw, "pool.example.local") for _ in range(4)]
    assert set(seen) == {sshd["a"].addr, sshd["b"].addr}, seen


def test_failover_skips_dead_server(gateway, ssh, sshd):
    dead = "%s:%d" % (DEAD_ADDR, free_port(DEAD_ADDR))
    gw = gateway(["pool.example.local to %s %s" % (dead, sshd["a"].hostport)])
    # the start rotates, so some connections try the dead server first
    for i in range(4):
        assert ssh.server_addr(gw, "pool.example.local") == sshd["a"].addr, i
    wait_until(lambda: len(gw.records()) >= 4, 10, what="4 records")
    recs = [r for r in gw.records() if r["sni"] == "pool.example.local"]
    assert len(recs) == 4
    assert all(r["result"] == "ok" and r["dst"] == sshd["a"].hostport
               for r in recs), recs


def test_all_servers_down_is_connect_failed(gateway, ssh):
    d1 = "%s:%d" % (DEAD_ADDR, free_port(DEAD_ADDR))
    d2 = "%s:%d" % (DEAD_ADDR, free_port(DEAD_ADDR))
    gw = gateway(["down.example.local to %s %s" % (d1, d2)])
    r = ssh(gw, "down.example.local", timeout=20)
    assert r.returncode != 0
    rec = gw.wait_record(sni="down.example.local")
    assert (rec["result"], rec["reason"]) == ("error", "connect-failed")
    assert "refused" in rec.get("detail", "").lower(), rec


def test_unresponsive_server_is_connect_timeout(gateway, ssh):
    stuck = StuckListener(DEAD_ADDR, free_port(DEAD_ADDR))
    try:
        assert stuck.probe_hangs(0.5), \
            "cannot make a connect hang on loopback here"
        gw = gateway(["slow.example.local to %s:%d" % (stuck.host,
                                                       stuck.port)],
                     timeouts={"connect": "300ms"})
        r = ssh(gw, "slow.example.local", timeout=20)
        assert r.returncode != 0
        rec = gw.wait_record(sni="slow.example.local")
        assert (rec["result"], rec["reason"]) == ("error", "connect-timeout")
        assert 300 <= int(rec["duration_ms"]) < 5000, rec
    finally:
        stuck.close()


def test_timeout_on_one_server_then_next_succeeds(gateway, ssh, sshd):
    stuck = StuckListener(DEAD_ADDR, free_port(DEAD_ADDR))
    try:
        assert stuck.probe_hangs(0.5)
        gw = gateway(["mix.example.local to %s:%d %s" % (
            stuck.host, stuck.port, sshd["a"].hostport)],
            timeouts={"connect": "300ms"})
        for _ in range(2):
            assert ssh.server_addr(gw, "mix.example.local") == sshd["a"].addr
    finally:
        stuck.close()


def test_unknown_sni_gets_unrecognized_name_alert(gateway, sshd):
    gw = gateway(["known.example.local to %s" % sshd["a"].hostport])
    r = openssl_client(gw.port, "unknown.example.local")
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0
    assert "unrecognized name" in out or "alert number 112" in out, out
    rec = gw.wait_record(sni="unknown.example.local")
    assert (rec["result"], rec["reason"]) == ("denied", "no-route")
    assert "route" not in rec and "dst" not in rec


def test_no_sni_is_refused(gateway, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    r = openssl_client(gw.port, None)
    assert r.returncode != 0
    rec = gw.wait_record(reason="no-sni")
    assert rec["result"] == "denied"
    assert rec["sni"] == ""


def test_address_and_cidr_patterns_match_literal_sni(gateway, ssh, sshd):
    gw = gateway(["10.0.0.0/8 to %s" % sshd["b"].hostport,
                  "::1 to %s" % sshd["c"].hostport,
                  "* to %s" % sshd["a"].hostport])
    assert ssh.server_addr(gw, servername="10.1.2.3") == sshd["b"].addr
    assert ssh.server_addr(gw, servername="::1") == sshd["c"].addr
    assert ssh.server_addr(gw, servername="11.1.2.3") == sshd["a"].addr
    rec = gw.wait_record(sni="10.1.2.3")
    assert rec["route"] == "10.0.0.0/8"


def test_name_pattern_does_not_match_address_sni(gateway, ssh, sshd):
    gw = gateway(["*.0.0.1 to %s" % sshd["b"].hostport])
    r = ssh(gw, servername="127.0.0.1")
    assert r.returncode != 0
    gw.wait_record(sni="127.0.0.1", reason="no-route")


def test_failed_connect_is_not_logged_as_instant_connect(gateway, ssh):
    """connect_ms is "present when known": after a connect timeout it must
    not claim that the server answered in 0 ms."""
    stuck = StuckListener(DEAD_ADDR, free_port(DEAD_ADDR))
    try:
        assert stuck.probe_hangs(0.5)
        gw = gateway(["slow.example.local to %s:%d" % (stuck.host,
                                                       stuck.port)],
                     timeouts={"connect": "300ms"})
        ssh(gw, "slow.example.local", timeout=20)
        rec = gw.wait_record(sni="slow.example.local")
        assert rec["reason"] == "connect-timeout"
        assert "connect_ms" not in rec or int(rec["connect_ms"]) >= 250, \
            "connect-timeout record claims connect_ms=%s: %s" % (
                rec["connect_ms"], gw.lines())
    finally:
        stuck.close()
