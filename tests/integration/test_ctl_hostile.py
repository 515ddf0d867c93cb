"""The control socket against awkward and hostile clients: names with
blanks and quotes, slow or silent clients, oversized requests, and the
socket's own creation when the gateway starts as root."""

import json
import os
import socket
import subprocess
import time

import pytest

from sshgate_helpers import wait_until


def ctl(gw_bin, sock, *args):
    r = subprocess.run([gw_bin, "ctl", "-s", str(sock)] + list(args),
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def raw_request(sock, data, timeout=10):
    """Sends data on a fresh connection and reads to the end. Returns what
    came back; a reset raises ConnectionResetError."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(sock))
        s.sendall(data)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    finally:
        s.close()


def banner(c, rec):
    c.sendall(b"SSH-2.0-backend\r\n")
    while c.recv(4096):
        pass


def sessions(gw_bin, sock):
    rc, out, err = ctl(gw_bin, sock, "sessions", "--json")
    assert rc == 0, err
    return json.loads(out)


# --- names are data ------------------------------------------------------

def test_kill_user_with_blanks_and_quotes_in_the_name(gateway, gw_bin,
                                                       tmp_path,
                                                       raw_backend):
    import test_access
    from test_access import ClientPki, tls
    test_access._contexts.clear()	# contexts hold other tests' certs
    (tmp_path / "cpki").mkdir()
    cp = ClientPki(tmp_path / "cpki")
    hostile = 'Eve "E" \\ Doe'
    cp.certs = {"john-smith": cp.user("john-smith", "/CN=John Smith"),
                "john": cp.user("john", "/CN=John"),
                "eve": cp.user("eve", "/CN=Eve \"E\" \\\\ Doe")}
    b = raw_backend(banner)
    sock = tmp_path / "ctl.sock"
    gw = gateway(["* to %s" % b.hostport], extra="control %s\n"
                 "client-ca %s\naccess allow any to *" % (
                     sock, cp.path("ca.pem")))
    held = []
    try:
        for who in ("john-smith", "john", "eve"):
            s = tls(gw, "db.example.local", who, cp)
            s.sendall(b"SSH-2.0-x\r\n")
            s.settimeout(5)
            assert s.recv(100)
            held.append(s)
        wait_until(lambda: len(sessions(gw_bin, sock)) == 3, 10,
                   what="3 sessions")
        assert sorted(s["user"] for s in sessions(gw_bin, sock)) == \
            sorted(["John Smith", "John", hostile])
        rc, out, err = ctl(gw_bin, sock, "kill-user", "John Smith")
        assert (rc, out) == (0, "killed 1 session\n"), err
        rec = gw.wait_record(user="John Smith", reason="killed")
        assert rec["result"] == "ok"
        assert rec["detail"] == 'sshgate ctl kill-user "John Smith"'
        # "John" is another user, not a prefix of that one
        assert sorted(s["user"] for s in sessions(gw_bin, sock)) == \
            sorted(["John", hostile])
        rc, out, err = ctl(gw_bin, sock, "kill-user", hostile)
        assert (rc, out) == (0, "killed 1 session\n"), err
        rec = gw.wait_record(user=hostile, reason="killed")
        assert rec["detail"] == 'sshgate ctl kill-user "Eve \\"E\\" \\\\ Doe"'
        assert [s["user"] for s in sessions(gw_bin, sock)] == ["John"]
        rc, _, err = ctl(gw_bin, sock, "kill-user", "John Smith")
        assert rc == 1 and 'no session of user "John Smith"' in err
        # an old, unquoted request is still understood
        assert raw_request(sock, b"kill-user John\n") == \
            b"ok\nkilled 1 session\n"
        gw.wait_record(user="John", reason="killed")
    finally:
        for s in held:
            s.close()
        test_access._contexts.clear()
