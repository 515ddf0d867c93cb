"""Signals: SIGHUP reloads the config whole or not at all without dropping
live sessions; SIGTERM/SIGINT stop accepting and drain."""

import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import gw_config
from sshgate_helpers import (free_port, free_port_both, have_ipv6_loopback,
                             openssl_client, read_line_from, served_key_type,
                             terminate, wait_until)


def _refused(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def test_reload_swaps_routes_and_keeps_live_session(gateway, ssh, sshd, pki):
    gw = gateway(["old.example.local to %s" % sshd["a"].hostport])
    # the session lasts until the test sends it a line
    live = ssh.popen(gw, "old.example.local",
                     "echo started; read line; echo $line")
    try:
        assert read_line_from(live, 15) == "started\n"
        started = time.monotonic()
        gw.conf.write_text(gw_config(
            gw.port, ["new.example.local to %s" % sshd["b"].hostport],
            pki=pki))
        gw.signal(signal.SIGHUP)
        gw.wait_stderr("sshgate: reloaded %s" % gw.conf)
        # the new route works at once, the removed one is gone
        assert ssh.server_addr(gw, "new.example.local") == sshd["b"].addr
        r = ssh(gw, "old.example.local")
        assert r.returncode != 0
        rec = gw.wait_record(sni="old.example.local", reason="no-route")
        assert rec["result"] == "denied"
        # the session opened before the reload runs to its end
        held = time.monotonic() - started
        out, err = live.communicate(b"done\n", timeout=20)
    finally:
        terminate(live)
    assert live.returncode == 0, err
    assert out == b"done\n"
    rec = gw.wait_record(sni="old.example.local", result="ok")
    assert rec["route"] == "old.example.local"
    assert rec["dst"] == sshd["a"].hostport
    assert int(rec["duration_ms"]) >= int(held * 1000)


def test_invalid_reload_keeps_running_config(gateway, ssh, sshd, pki):
    gw = gateway(["keep.example.local to %s" % sshd["a"].hostport])
    good = gw.conf.read_text()
    bad = gw_config(gw.port, ["next.example.local to %s" % sshd["b"].hostport],
                    pki=pki)
    line = bad.count("\n") + 1
    gw.conf.write_text(bad + "bogus-keyword 1\n")
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reload failed")
    err = gw.stderr()
    assert "%s:%d: unknown keyword 'bogus-keyword'" % (gw.conf, line) in err, \
        err
    assert "sshgate: error: reload failed: keeping the running " \
        "configuration" in err
    assert "sshgate: reloaded" not in err
    # nothing of the bad file was taken, not even its good lines
    assert ssh.server_addr(gw, "keep.example.local") == sshd["a"].addr
    assert ssh(gw, "next.example.local").returncode != 0
    gw.wait_record(sni="next.example.local", reason="no-route")
    # and a later good reload still works
    gw.conf.write_text(good.replace("keep.example.local", "fixed.example"))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("sshgate: reloaded")
    assert ssh.server_addr(gw, "fixed.example") == sshd["a"].addr


def test_reload_with_missing_certificate_keeps_running(gateway, ssh, sshd,
                                                       pki, tmp_path):
    gw = gateway(["keep.example.local to %s" % sshd["a"].hostport])
    missing = tmp_path / "gone.pem"
    gw.conf.write_text(gw_config(
        gw.port, ["keep.example.local to %s" % sshd["b"].hostport],
        certs=[str(missing)]))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reload failed")
    assert str(missing) in gw.stderr()
    assert ssh.server_addr(gw, "keep.example.local") == sshd["a"].addr


def test_reload_moves_listener(gateway, ssh, sshd, pki):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    old_port = gw.port
    live = ssh.popen(gw, "move.example.local",
                     "echo started; read line; echo $line")
    try:
        assert read_line_from(live, 15) == "started\n"
        new_port = free_port()
        gw.conf.write_text(gw_config(new_port,
                                     ["* to %s" % sshd["a"].hostport],
                                     pki=pki))
        gw.signal(signal.SIGHUP)
        gw.wait_stderr("sshgate: reloaded")
        gw.port = new_port
        assert ssh.server_addr(gw, "moved.example.local") == sshd["a"].addr
        wait_until(lambda: _refused(old_port), 5,
                   what="the old port to refuse connections")
        out, err = live.communicate(b"done\n", timeout=20)
    finally:
        terminate(live)
    assert live.returncode == 0 and out == b"done\n", err


def test_sigterm_drains_then_closes_sessions_with_shutdown(gateway, ssh,
                                                           sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 timeouts={"drain": "1s"})
    live = ssh.popen(gw, "long.example.local",
                     "echo started; sleep 30; echo done")
    try:
        assert read_line_from(live, 15) == "started\n"
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        # no new connection is accepted while draining
        wait_until(lambda: _refused(gw.port), 3,
                   what="the gateway port to refuse connections")
        assert gw.proc.poll() is None, "exited before the drain timeout"
        gw.proc.wait(15)
        elapsed = time.monotonic() - t0
        out, err = live.communicate(timeout=15)
    finally:
        terminate(live)
    assert gw.proc.returncode == 0, gw.stderr()
    assert 0.9 <= elapsed < 5, elapsed
    assert b"done" not in out
    assert live.returncode != 0
    rec = gw.wait_record(sni="long.example.local")
    assert (rec["result"], rec["reason"]) == ("ok", "shutdown")
    err = gw.stderr()
    assert "sshgate: stopping" in err and "sshgate: stopped" in err


def test_sigterm_lets_short_session_finish(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 timeouts={"drain": "20s"})
    live = ssh.popen(gw, "short.example.local",
                     "echo started; read line; echo $line")
    try:
        assert read_line_from(live, 15) == "started\n"
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        wait_until(lambda: _refused(gw.port), 3, what="draining")
        # draining waits for the session, which ends when told to
        time.sleep(0.2)
        assert gw.proc.poll() is None, "exited with a session open"
        out, err = live.communicate(b"done\n", timeout=15)
        gw.proc.wait(15)
        elapsed = time.monotonic() - t0
    finally:
        terminate(live)
    assert live.returncode == 0 and out == b"done\n", err
    assert gw.proc.returncode == 0, gw.stderr()
    assert elapsed < 5, "waited for the drain timeout: %.1fs" % elapsed
    rec = gw.wait_record(sni="short.example.local")
    assert rec["result"] == "ok"
    assert rec["reason"] in ("client-closed", "server-closed")


def test_sigterm_idle_gateway_exits_at_once(gateway, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 timeouts={"drain": "30s"})
    t0 = time.monotonic()
    gw.signal(signal.SIGTERM)
    gw.proc.wait(10)
    assert time.monotonic() - t0 < 2
    assert gw.proc.returncode == 0
    assert "sshgate: stopped" in gw.stderr()


def test_sigint_stops_like_sigterm(gateway, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    gw.signal(signal.SIGINT)
    gw.proc.wait(10)
    assert gw.proc.returncode == 0
    assert _refused(gw.port)


def test_reload_reopens_log_file(gateway, ssh, sshd):
    """logrotate: rename the file, SIGHUP, new records go to a new file."""
    gw = gateway(["* to %s" % sshd["a"].hostport])
    assert ssh.server_addr(gw, "before.example.local") == sshd["a"].addr
    gw.wait_record(sni="before.example.local")
    rotated = gw.dir / "gateway.log.1"
    gw.logfile.rename(rotated)
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("sshgate: reloaded")
    assert ssh.server_addr(gw, "after.example.local") == sshd["a"].addr
    rec = gw.wait_record(sni="after.example.local")
    assert rec["result"] == "ok"
    assert "after.example.local" not in rotated.read_text()
    assert "before.example.local" in rotated.read_text()


def test_reload_cannot_bind_new_listener_keeps_running(gateway, ssh, sshd,
                                                       pki):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    busy_port = busy.getsockname()[1]
    try:
        gw.conf.write_text(gw_config(
            gw.port, ["* to %s" % sshd["b"].hostport], pki=pki,
            listen=["127.0.0.1:%d" % gw.port, "127.0.0.1:%d" % busy_port]))
        gw.signal(signal.SIGHUP)
        gw.wait_stderr("reload failed")
        assert "127.0.0.1:%d" % busy_port in gw.stderr()
        assert ssh.server_addr(gw, "still.example.local") == sshd["a"].addr
    finally:
        busy.close()


def test_reload_warns_that_workers_change_needs_restart(gateway, sshd, pki):
    gw = gateway(["* to %s" % sshd["a"].hostport], workers=2)
    gw.conf.write_text(gw_config(gw.port, ["* to %s" % sshd["a"].hostport],
                                 pki=pki, workers=3))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("sshgate: reloaded")
    assert "sshgate: warning: 'workers 3' takes effect at the next start; " \
        "running with 2" in gw.stderr()


def test_sighup_while_draining_does_not_kill(gateway, ssh, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 timeouts={"drain": "1s"})
    live = ssh.popen(gw, "long.example.local", "echo started; sleep 30")
    try:
        assert read_line_from(live, 15) == "started\n"
        gw.signal(signal.SIGTERM)
        wait_until(lambda: _refused(gw.port), 3, what="draining")
        gw.signal(signal.SIGHUP)
        gw.proc.wait(15)
    finally:
        terminate(live)
    assert gw.proc.returncode == 0, gw.stderr()
    gw.wait_record(sni="long.example.local", reason="shutdown")


def test_ipv4_and_ipv6_listeners_together(gateway, ssh, sshd):
    if not have_ipv6_loopback():
        pytest.skip("::1 is not configured on this machine")
    port = free_port_both(("127.0.0.1", "::1"))
    gw = gateway(["* to %s" % sshd["a"].hostport], port=port,
                 listen=["127.0.0.1:%d" % port, "[::1]:%d" % port])
    assert ssh.server_addr("127.0.0.1:%d" % port, "v4.example.local") == \
        sshd["a"].addr
    assert ssh.server_addr("[::1]:%d" % port, "v6.example.local") == \
        sshd["a"].addr
    assert gw.wait_record(sni="v6.example.local")["client"]\
        .startswith("[::1]:")
    assert gw.wait_record(sni="v4.example.local")["client"]\
        .startswith("127.0.0.1:")


@pytest.mark.slow(8)
def test_reloads_under_load_drop_no_session(gateway, ssh, sshd):
    gw = gateway(["* to %s %s" % (sshd["a"].hostport, sshd["b"].hostport)],
                 timeouts={"handshake": "20s", "inspect": "20s"})
    stop = threading.Event()

    def hup_often():
        n = 0
        while not stop.is_set() and n < 40:
            gw.signal(signal.SIGHUP)
            n += 1
            time.sleep(0.05)
        return n

    def session(i):
        return ssh(gw, "h%d.load.local" % i, "sleep 0.3; echo ok%d" % i,
                   timeout=60)

    with ThreadPoolExecutor(max_workers=31) as ex:
        hups = ex.submit(hup_often)
        results = list(ex.map(session, range(30)))
        stop.set()
        assert hups.result() > 0
    bad = [(i, r.returncode, r.stderr[-200:]) for i, r in enumerate(results)
           if r.returncode != 0 or r.stdout != b"ok%d\n" % i]
    assert not bad, bad
    assert "sshgate: reloaded" in gw.stderr()
    assert "reload failed" not in gw.stderr()


def test_reload_switches_certificate(gateway, sshd, pki):
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 certs=['"%s"' % pki["ecdsa"]])
    assert served_key_type(openssl_client(gw.port, "c.example.local")) == \
        "ecdsa"
    gw.conf.write_text(gw_config(gw.port, ["* to %s" % sshd["a"].hostport],
                                 certs=['"%s"' % pki["rsa"]]))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("sshgate: reloaded")
    assert served_key_type(openssl_client(gw.port, "c.example.local")) == \
        "rsa"


def test_reload_says_which_listeners_came_and_went(gateway, pki, sshd):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    other = free_port()
    gw.conf.write_text(gw_config(
        gw.port, ["* to %s" % sshd["a"].hostport], pki=pki,
        listen=["127.0.0.1:%d" % other]))
    gw.signal(signal.SIGHUP)
    gw.wait_stderr("reloaded")
    err = gw.stderr()
    assert "listener 127.0.0.1:%d added" % other in err, err
    assert "listener 127.0.0.1:%d removed" % gw.port in err, err
    assert _refused(gw.port)
    gw.port = other       # so that the teardown stops the right one


def test_debug_messages_only_with_d(gw_bin, pki, sshd, tmp_path):
    import subprocess
    port = free_port()
    conf = tmp_path / "g.conf"
    conf.write_text(gw_config(port, ["* to %s" % sshd["a"].hostport],
                              pki=pki, log="file %s" % (tmp_path / "a.log")))
    outs = {}
    for args in ([], ["-d"]):
        err = tmp_path / ("err%d.txt" % len(args))
        p = subprocess.Popen([gw_bin, "serve", "-c", str(conf)] + args,
                             stdout=subprocess.DEVNULL,
                             stderr=open(err, "wb"))
        wait_until(lambda: "serving with" in err.read_text(), 10)
        openssl_client(port, "x.example.local", input=b"")
        wait_until(lambda: "conn 1" in err.read_text() or not args, 10)
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0
        outs[bool(args)] = err.read_text()
    assert "debug:" not in outs[False], outs[False]
    assert "sshgate: debug: worker 0 started" in outs[True], outs[True]
    assert "sshgate: debug: conn 1: " in outs[True], outs[True]
