"""The per-connection audit record: one line per connection, text or JSON,
the contract's keys, and values that can never break a line."""

import json
import os
import re

import pytest

from sshgate_helpers import (BANNER, banner_then_record, openssl_client,
                             parse_text_record, recv_exactly,
                             recv_until_closed, tls_connect, wait_until)

ALWAYS = ("conn", "client", "sni", "result", "reason", "duration_ms",
          "bytes_up", "bytes_down")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REASONS = {
    "ok": {"client-closed", "server-closed", "idle-timeout", "killed",
           "shutdown"},
    "denied": {"no-sni", "no-route", "destination-denied", "access-denied",
               "not-ssh", "inspect-timeout", "no-client-cert",
               "cert-untrusted", "cert-expired", "cert-revoked",
               "rate-limited", "too-many"},
    "error": {"handshake-failed", "handshake-timeout", "dns-failed",
              "connect-failed", "connect-timeout", "internal"},
}


def _mixed_traffic(gw, ssh, sshd_addr):
    """An ssh session, a no-route, a no-sni and a not-ssh connection."""
    assert ssh.server_addr(gw, "ok.example.local") == sshd_addr
    openssl_client(gw.port, "nowhere.invalid")
    openssl_client(gw.port, None)
    s = tls_connect(gw.port, "raw.example.local")
    recv_exactly(s, len(BANNER))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    recv_until_closed(s)
    s.close()


def _routes(sshd, b):
    return ["ok.example.local to %s" % sshd["a"].hostport,
            "raw.example.local to %s:%d" % (b.host, b.port)]


def test_json_records_are_one_object_per_line(gateway, ssh, sshd,
                                              raw_backend):
    b = raw_backend(banner_then_record)
    gw = gateway(_routes(sshd, b), log_format="json")
    _mixed_traffic(gw, ssh, sshd["a"].addr)
    wait_until(lambda: len(gw.records(json_format=True)) >= 4, 10,
               what="4 records")
    recs = [json.loads(l) for l in gw.lines()]
    opened = [r for r in recs if r["event"] == "open"]
    recs = [r for r in recs if r["event"] == "close"]
    assert len(recs) == 4
    # only the ssh session relayed both ways
    assert [r["sni"] for r in opened] == ["ok.example.local"]
    for r in recs:
        assert isinstance(r, dict)
        for k in ALWAYS:
            assert k in r, (k, r)
        for k in ("conn", "duration_ms", "bytes_up", "bytes_down"):
            assert isinstance(r[k], int) and r[k] >= 0, (k, r)
        assert r["reason"] in REASONS[r["result"]], r
        assert TS.match(r["time"]), r
        assert r["event"] == "close"
    by_reason = {r["reason"]: r for r in recs}
    assert set(by_reason) >= {"no-route", "no-sni", "not-ssh"}
    ok = [r for r in recs if r["result"] == "ok"][0]
    assert ok["sni"] == "ok.example.local"
    assert ok["dst"] == sshd["a"].hostport
    assert ok["route"] == "ok.example.local"
    assert ok["tls"].startswith("TLSv1.")
    assert isinstance(ok["handshake_ms"], int)
    assert isinstance(ok["connect_ms"], int)
    assert ok["bytes_up"] > 0 and ok["bytes_down"] > 0
    assert by_reason["no-sni"]["sni"] == ""
    assert by_reason["not-ssh"]["bytes_up"] == 0
    assert len({r["conn"] for r in recs}) == 4


def test_text_records_have_contract_keys(gateway, ssh, sshd, raw_backend):
    b = raw_backend(banner_then_record)
    gw = gateway(_routes(sshd, b), log_format="text")
    _mixed_traffic(gw, ssh, sshd["a"].addr)
    wait_until(lambda: len(gw.records()) >= 4, 10, what="4 records")
    recs = gw.records()
    assert len(recs) == 4
    for r in recs:
        for k in ALWAYS:
            assert k in r, (k, r)
        assert TS.match(r["time"]), r
        assert r["event"] == "close"
        assert r["reason"] in REASONS[r["result"]], r
        for k in ("conn", "duration_ms", "bytes_up", "bytes_down"):
            assert r[k].isdigit(), (k, r)
    not_ssh = [r for r in recs if r["reason"] == "not-ssh"][0]
    assert not_ssh["detail"] == \
        "first bytes are not an SSH identification string"
    assert [r for r in recs if r["reason"] == "no-sni"][0]["sni"] == ""


def test_records_go_to_stderr_by_default(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport], log=None)
    assert ssh.server_addr(gw, "stderr.example.local") == sshd["a"].addr
    wait_until(lambda: re.search(r"event=close .*sni=stderr\.example\.local",
                                 gw.stderr()), 10, what="a record on stderr")
    line = [l for l in gw.stderr().splitlines()
            if "sni=stderr.example.local" in l and "event=close" in l][0]
    rec = parse_text_record(line)
    assert rec["result"] == "ok"


ODD_SNI = {
    "quote-blank": b'a"b c',
    "equals": b"x=y reason=ok",
    "newline": b"evil\n2026-01-01T00:00:00.000Z event=close conn=999",
    "tab-ctl": b"tab\there\x01\x7f",
    "backslash": b"back\\slash\\",
    "utf8": "h\u00e9llo.example".encode(),
    "bad-utf8": b"\xff\xfe.example",
    "long-quotes": b'"' * 255,
    "long-name": b".".join([b"a" * 63] * 4),     # 255 bytes, a valid name
}


def _odd_sni_record(gateway, sshd, sni, fmt):
    gw = gateway(["* to %s" % sshd["a"].hostport], log_format=fmt)
    argv_sni = os.fsdecode(sni)
    openssl_client(gw.port, argv_sni)
    wait_until(lambda: len(gw.lines()) >= 1, 10, what="a record")
    lines = gw.lines()      # refused in the handshake: no "open" record
    assert len(lines) == 1, lines     # one connection, one line
    return lines[0]


@pytest.mark.parametrize("sni", list(ODD_SNI.values()), ids=list(ODD_SNI))
def test_odd_sni_never_breaks_a_text_record(gateway, sshd, sni):
    line = _odd_sni_record(gateway, sshd, sni, "text")
    rec = parse_text_record(line)
    assert rec["sni"].encode("utf-8", "surrogateescape") == sni
    assert rec["conn"] != "999"
    for k in ALWAYS:
        assert k in rec


@pytest.mark.parametrize("sni", list(ODD_SNI.values()), ids=list(ODD_SNI))
def test_odd_sni_never_breaks_a_json_record(gateway, sshd, sni):
    line = _odd_sni_record(gateway, sshd, sni, "json")
    rec = json.loads(line)
    for k in ALWAYS:
        assert k in rec
    expect = sni.decode("utf-8", "replace")
    assert rec["sni"] == expect, rec


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_open_record_when_a_session_starts_relaying(gateway, ssh, sshd, fmt):
    """A session that lasts days leaves a record when it starts, not only
    when it ends: event=open (who, where), then event=close, same conn."""
    a = sshd["a"]
    gw = gateway(["db.example.local to %s" % a.hostport], log_format=fmt)
    live = ssh.popen(gw, "db.example.local", "echo started; sleep 2")
    try:
        assert live.stdout.readline() == b"started\n"
        rec = gw.wait_record(json_format=fmt == "json", events=("open",),
                             sni="db.example.local")
        assert gw.records(json_format=fmt == "json") == []   # no close yet
        assert rec["dst"] == a.hostport and rec["route"] == "db.example.local"
        for absent in ("result", "reason", "duration_ms", "bytes_up",
                       "bytes_down"):
            assert absent not in rec, rec
        assert "tls" in rec and "handshake_ms" in rec and "connect_ms" in rec
        assert live.wait(20) == 0
    finally:
        live.kill()
    close = gw.wait_record(json_format=fmt == "json", sni="db.example.local")
    assert close["conn"] == rec["conn"]
    assert close["reason"] in ("server-closed", "client-closed")
    both = gw.records(json_format=fmt == "json", events=("open", "close"))
    assert [r["event"] for r in both] == ["open", "close"]


def test_refused_connections_have_no_open_record(gateway, sshd):
    gw = gateway(["db.example.local to %s" % sshd["a"].hostport])
    openssl_client(gw.port, "nowhere.example.local", input=b"")
    gw.wait_record(reason="no-route")
    assert gw.records(events=("open",)) == []
