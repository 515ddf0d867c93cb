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
    wait_until(lambda: len(gw.lines()) >= 4, 10, what="4 records")
    recs = [json.loads(l) for l in gw.lines()]
    assert len(recs) == 4
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
    wait_until(lambda: len(gw.lines()) >= 4, 10, what="4 records")
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
    wait_until(lambda: "sni=stderr.example.local" in gw.stderr(), 10,
               what="a record on stderr")
    line = [l for l in gw.stderr().splitlines()
            if "sni=stderr.example.local" in l][0]
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
    lines = gw.lines()
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
