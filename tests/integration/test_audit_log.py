"""Where audit records go, when it goes wrong: a sink that stalls never
stops a worker (records are dropped and counted instead), a sink that
fails is counted and reported, and a log path is never followed through
a symbolic link (root would hand its target to the service user).
`check` applies the rules `serve` opens the log file with."""

import os
import pwd
import grp
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from sshgate_helpers import (echo, free_port, parse_text_record,
                             recv_exactly, run, tls_connect, wait_tcp,
                             wait_until)

from conftest import RAW_ADDR, SANITIZER_MARKS


def scrape(port):
    """The metrics endpoint's values, by series name."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            values[k] = float(v)
    return values


def echoes(s, data):
    """Sends data on an open session; true if the backend's echo comes."""
    s.sendall(data)
    return recv_exactly(s, len(data), timeout=5) == data


def conf_text(port, pki, backend, log, extra=""):
    return ("listen 127.0.0.1:%d\ncertificate \"%s\"\nssh-only no\n"
            "workers 1\ntimeout handshake 2s\ntimeout connect 1s\n"
            "timeout drain 2s\nroute * to %s\nlog %s\n%s"
            % (port, pki["ecdsa"], backend, log, extra))


def reset_connect(port):
    """A TCP connection that ends at once with a reset: one record
    (handshake-failed) for the gateway, almost no work for us."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(3)
    try:
        c.connect(("127.0.0.1", port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    finally:
        c.close()


# --- a stalled sink ----------------------------------------------------------

def start_stalled(gw_bin, pki, tmp_path, backend):
    """A gateway with `log stderr` into a pipe nobody reads (a hung
    journald), and metrics. Returns (process, port, metrics port)."""
    port, mport = free_port(), free_port()
    conf = tmp_path / "sshgate.conf"
    conf.write_text(conf_text(port, pki, backend, "stderr",
                              "metrics 127.0.0.1:%d\n" % mport))
    p = subprocess.Popen([gw_bin, "serve", "-c", str(conf)],
                         cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_tcp("127.0.0.1", mport, timeout=15)
    return p, port, mport


def flood_until_dropped(port, mport, session):
    """Short connections, enough records to fill the pipe and then the
    sink's queue many times over, until the gateway counts a dropped
    record; bounded in count and time. Every 500: the established
    session still echoes and a new one completes. Returns the count."""
    dropped, n, t0 = 0, 0, time.monotonic()
    while dropped == 0 and n < 30000 and time.monotonic() - t0 < 60:
        reset_connect(port)
        n += 1
        if n % 500 == 0:
            assert echoes(session, b"during %d" % n), \
                "the established session stopped after %d connections" % n
            probe = tls_connect(port, "probe.example")
            assert echoes(probe, b"new session"), n
            probe.close()
            dropped = scrape(mport).get("sshgate_log_records_dropped_total",
                                        0)
    assert dropped > 0, "no record dropped after %d connections (%.1fs)" \
        % (n, time.monotonic() - t0)
    return n


def test_stalled_stderr_pipe_never_stops_sessions(gw_bin, pki, tmp_path,
                                                   raw_backend):
    b = raw_backend(echo)
    p, port, mport = start_stalled(gw_bin, pki, tmp_path, b.hostport)
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stderr.read()),
                              daemon=True)
    try:
        session = tls_connect(port, "echo.example")
        assert echoes(session, b"before")
        flood_until_dropped(port, mport, session)
        assert echoes(session, b"after")
        probe = tls_connect(port, "probe.example")
        assert echoes(probe, b"new session after")
        probe.close()
        session.close()
        # the pipe is read again: the gateway stops cleanly and says
        # what it lost
        reader.start()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(30)
        reader.join(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        p.stderr.close()
    err = out[0].decode(errors="replace") if out else ""
    assert rc == 0, err[-3000:]
    assert not [l for l in err.splitlines()
                if any(m in l for m in SANITIZER_MARKS)], err[-3000:]
    warned = [l for l in err.splitlines()
              if l.startswith("sshgate: warning: log stderr: ")]
    assert warned, err[-3000:]
    assert warned[0].endswith(" records dropped: the log sink is not "
                              "keeping up"), warned
    # what was written is whole: every line a daemon message or a record
    records = 0
    for line in err.splitlines():
        if not line.startswith("sshgate: "):
            parse_text_record(line)
            records += 1
    assert records > 0
    assert "sshgate: stopped" in err


def test_stop_with_stderr_never_read_exits_0(gw_bin, pki, tmp_path,
                                             raw_backend):
    b = raw_backend(echo)
    p, port, mport = start_stalled(gw_bin, pki, tmp_path, b.hostport)
    try:
        session = tls_connect(port, "echo.example")
        flood_until_dropped(port, mport, session)
        session.close()
        # the writer is stuck in write(2) for good: the process still
        # ends, after a bounded wait for the sinks
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(30)
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        p.stderr.close()
    assert rc == 0
    assert took < 15, took


def test_log_file_on_full_disk_is_counted_and_reported(gateway,
                                                       raw_backend):
    b = raw_backend(echo)
    mport = free_port()
    gw = gateway(["* to %s" % b.hostport], ssh_only="no",
                 log="file /dev/full",
                 extra="metrics 127.0.0.1:%d" % mport)
    for i in range(3):
        s = tls_connect(gw.port, "full.example")
        assert echoes(s, b"ping %d" % i)
        s.close()
    wait_until(lambda: scrape(mport).get(
        "sshgate_log_write_errors_total", 0) >= 3, 10,
        what="3 write errors counted")
    gw.wait_stderr("sshgate: warning: log file /dev/full: ", timeout=15)
    line = [l for l in gw.stderr().splitlines()
            if "log file /dev/full: " in l][0]
    assert line.endswith(" records could not be written: No space left "
                         "on device"), line
    assert scrape(mport)["sshgate_log_records_dropped_total"] == 0
    s = tls_connect(gw.port, "full.example")	# still serving
    assert echoes(s, b"still")
    s.close()


# --- a symbolic link at the log path ----------------------------------------

@pytest.fixture
def attack(tmp_path):
    """As root: a directory the service user (nobody) owns, for the log,
    and a root-only file elsewhere, the target it would like to own."""
    if os.getuid() != 0:
        pytest.skip("needs root: the attack is on root's open and chown")
    nobody = pwd.getpwnam("nobody")
    d = tempfile.mkdtemp(prefix="sshgate-logdir-")
    os.chmod(d, 0o755)
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    secret_dir = tmp_path / "root-only"
    secret_dir.mkdir(mode=0o700)
    secret = secret_dir / "shadow"
    secret.write_text("root:secret\n")
    os.chmod(secret, 0o600)

    class Attack:
        log = os.path.join(d, "sshgate.log")
        group = grp.getgrgid(nobody.pw_gid).gr_name

        def plant_symlink(self):
            """What nobody can do in its directory."""
            os.symlink(str(secret), self.log)
            os.lchown(self.log, nobody.pw_uid, nobody.pw_gid)

        def assert_target_untouched(self):
            st = os.stat(secret)
            assert (st.st_uid, st.st_gid) == (0, 0), st
            assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
            assert secret.read_text() == "root:secret\n"
    yield Attack()
    shutil.rmtree(d)


def test_symlink_at_log_path_is_refused_at_start(gw_bin, pki, tmp_path,
                                                attack):
    attack.plant_symlink()
    conf = tmp_path / "sshgate.conf"
    conf.write_text(conf_text(free_port(), pki, "%s:1" % RAW_ADDR,
                              "file %s" % attack.log,
                              "user nobody group %s\n" % attack.group))
    p = subprocess.Popen([gw_bin, "serve", "-c", str(conf)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    err = out.decode(errors="replace")
    attack.assert_target_untouched()
    assert p.returncode == 1, err
    assert "%s:9: log: cannot open log file %s: a symbolic link" % (
        conf, attack.log) in err, err
    assert "listening" not in err


@pytest.mark.parametrize("as_user", [False, True],
                         ids=["as-root", "as-nobody"])
def test_symlink_at_log_path_is_refused_on_reopen(gateway, pki, attack,
                                                  raw_backend, as_user):
    b = raw_backend(echo)
    port = free_port()
    extra = "user nobody group %s\n" % attack.group if as_user else ""
    gw = gateway(conf_text=conf_text(port, pki, b.hostport,
                                     "file %s" % attack.log, extra),
                 port=port)
    s = tls_connect(port, "one.example")
    assert echoes(s, b"one")
    s.close()
    wait_until(lambda: "sni=one.example" in open(attack.log).read(), 10,
               what="the first record")
    # logrotate's move, then nobody's symbolic link in its place
    os.rename(attack.log, attack.log + ".1")
    attack.plant_symlink()
    gw.signal(signal.SIGUSR1)
    gw.wait_stderr("sshgate: error: cannot reopen log file %s: a symbolic "
                   "link (refused: name the file itself); still writing "
                   "to the old file" % attack.log)
    s = tls_connect(port, "two.example")
    assert echoes(s, b"two")
    s.close()
    wait_until(lambda: "sni=two.example" in
               open(attack.log + ".1").read(), 10,
               what="the next record, in the old file")
    attack.assert_target_untouched()
    assert os.path.islink(attack.log)


# --- check opens what serve opens -------------------------------------------

def _check(gw_bin, pki, tmp_path, log_path):
    f = tmp_path / "check.conf"
    f.write_text("listen 127.0.0.1:%d\ncertificate \"%s\"\n"
                 "route * to 127.0.0.2:22\nlog file %s\n"
                 % (free_port(), pki["ecdsa"], log_path))
    r = run([gw_bin, "check", "-c", str(f)], timeout=20)
    return f, r.returncode, r.stderr.decode()


def test_check_refuses_a_directory_as_log_file(gw_bin, pki, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    f, rc, err = _check(gw_bin, pki, tmp_path, d)
    assert rc == 1, err
    assert err == "%s:4: log: cannot open log file %s: a directory, not a " \
        "regular file or a character device\n" % (f, d)


def test_check_refuses_a_fifo_and_serve_does_not_wait_on_it(gw_bin, pki,
                                                            tmp_path):
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    f, rc, err = _check(gw_bin, pki, tmp_path, fifo)
    assert rc == 1, err
    assert err == "%s:4: log: cannot open log file %s: a FIFO, not a " \
        "regular file or a character device\n" % (f, fifo)
    # serve: refused at once, not stuck in open() waiting for a reader
    try:
        r = run([gw_bin, "serve", "-c", str(f)], timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("serve waited on a FIFO named as log file")
    assert r.returncode == 1
    assert b"a FIFO, not a regular file or a character device" in r.stderr


def test_check_refuses_a_symlink_accepts_a_device(gw_bin, pki, tmp_path):
    target = tmp_path / "real.log"
    target.write_text("")
    link = tmp_path / "link.log"
    os.symlink(target, link)
    f, rc, err = _check(gw_bin, pki, tmp_path, link)
    assert rc == 1, err
    assert "%s:4: log: cannot open log file %s: a symbolic link" % (
        f, link) in err, err
    f, rc, err = _check(gw_bin, pki, tmp_path, "/dev/null")
    assert rc == 0, err
    f, rc, err = _check(gw_bin, pki, tmp_path, tmp_path / "new.log")
    assert rc == 0, err
    assert not (tmp_path / "new.log").exists()
