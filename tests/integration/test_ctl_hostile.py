"""The control socket against awkward and hostile clients: names with
blanks and quotes, slow or silent clients, oversized requests, and the
socket's own creation when the gateway starts as root."""

import json
import os
import signal
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


# --- slow, silent and oversized clients ---------------------------------

def scrape_seconds(port):
    """Seconds a whole /metrics scrape takes (fails past 5 s)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 200 OK"), data[:100]
    return time.monotonic() - t0


def stats_seconds(gw_bin, sock):
    """Seconds a `sshgate ctl stats` takes (fails past 5 s)."""
    t0 = time.monotonic()
    r = subprocess.run([gw_bin, "ctl", "-s", str(sock), "stats"],
                       capture_output=True, timeout=5)
    assert r.returncode == 0, r.stderr
    assert b"sshgate_sessions_active 0" in r.stdout
    return time.monotonic() - t0


def ctl_and_metrics(gateway, sshd, tmp_path):
    from sshgate_helpers import free_port
    mport = free_port()
    sock = tmp_path / "ctl.sock"
    gw = gateway(["* to %s" % sshd["a"].hostport],
                 extra="control %s\nmetrics 127.0.0.1:%d" % (sock, mport))
    gw.wait_stderr("metrics on")
    return gw, sock, mport


def open_fds(gw):
    return len(os.listdir("/proc/%d/fd" % gw.proc.pid))


def read_to_end(s):
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            return out
        out += d


def test_slow_ctl_client_does_not_stall_metrics_or_ctl(gateway, gw_bin,
                                                         sshd, tmp_path):
    gw, sock, mport = ctl_and_metrics(gateway, sshd, tmp_path)
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.settimeout(15)
    slow.connect(str(sock))
    t0 = time.monotonic()
    try:
        # one byte every 1.5 s: the others are served all along
        for i, byte in enumerate(b"sessions"[:4]):
            slow.sendall(bytes([byte]))
            assert scrape_seconds(mport) < 1.0
            assert stats_seconds(gw_bin, sock) < 1.0
            time.sleep(max(0.0, t0 + 1.5 * (i + 1) - time.monotonic()))
        # the whole request had 5 s: then a last word and the end
        got = read_to_end(slow)
        waited = time.monotonic() - t0
    finally:
        slow.close()
    assert got == b"error\nno whole request within 5s\n"
    assert 4.5 < waited < 8, waited
    assert stats_seconds(gw_bin, sock) < 1.0


def test_silent_ctl_client_is_closed_after_the_deadline(gateway, gw_bin,
                                                         sshd, tmp_path):
    gw, sock, mport = ctl_and_metrics(gateway, sshd, tmp_path)
    fds = open_fds(gw)
    silent = []
    try:
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(15)
            s.connect(str(sock))
            silent.append(s)
        t0 = time.monotonic()
        assert stats_seconds(gw_bin, sock) < 1.0
        assert scrape_seconds(mport) < 1.0
        rc, out, _ = ctl(gw_bin, sock, "sessions", "--json")
        assert (rc, out) == (0, "[]\n")
        for s in silent:
            assert read_to_end(s).startswith(b"error\n")
        assert 4 < time.monotonic() - t0 < 8
    finally:
        for s in silent:
            s.close()
    assert open_fds(gw) == fds			# every client closed


def test_oversized_request_gets_an_error_not_a_reset(gateway, gw_bin, sshd,
                                                      tmp_path):
    gw, sock, _ = ctl_and_metrics(gateway, sshd, tmp_path)
    fds = open_fds(gw)
    want = b"error\nrequest longer than 1024 bytes\n"
    # a raw client: its whole request is read or discarded, no reset
    assert raw_request(sock, b"kill-user " + b"x" * 2000 + b"\n") == want
    assert raw_request(sock, b"x" * 20000) == want
    # sshgate ctl says so and fails, also for a request far past the limit
    for n in (1100, 100000):
        rc, out, err = ctl(gw_bin, sock, "kill-user", "x" * n)
        assert (rc, out) == (1, ""), err
        assert err == "request longer than 1024 bytes\n"
    # the longest request that is allowed still gets its answer
    name = "y" * (1024 - len('"kill-user" ""\n'))
    rc, _, err = ctl(gw_bin, sock, "kill-user", name)
    assert rc == 1 and err == "no session of user %s\n" % name
    assert ctl(gw_bin, sock, "stats")[0] == 0
    wait_until(lambda: open_fds(gw) == fds, 5, what="every client closed")


# --- the socket's creation, started as root ------------------------------

import grp
import pwd
import shutil
import stat
import tempfile


def needs_root():
    if os.getuid() != 0:
        pytest.skip("needs root to give the socket to another user")


def nobody():
    nb = pwd.getpwnam("nobody")
    return nb.pw_uid, nb.pw_gid, grp.getgrgid(nb.pw_gid).gr_name


@pytest.fixture
def top():
    """A directory anyone may pass through, with a victim file of root's
    that a swapped path could point at."""
    d = tempfile.mkdtemp(prefix="sshgate-ctl-")
    os.chmod(d, 0o755)
    with open(d + "/victim", "w") as f:
        f.write("root's\n")
    os.chmod(d + "/victim", 0o600)
    yield d
    shutil.rmtree(d)


def sock_dir(top, name, uid, gid, mode):
    d = os.path.join(top, name)
    os.mkdir(d)
    os.chown(d, uid, gid)
    os.chmod(d, mode)
    return d


def victim_untouched(top):
    st = os.stat(top + "/victim")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)
    with open(top + "/victim") as f:
        assert f.read() == "root's\n"


def user_extra(path):
    return "user nobody group %s\ncontrol %s" % (nobody()[2], path)


def user_gateway(gateway, sshd, path, **kw):
    return gateway(["* to %s" % sshd["a"].hostport], workers=1,
                   extra=user_extra(path), **kw)


def refused_start(gw_bin, pki, sshd, tmp_path, path):
    """Runs a gateway that must not start; returns its stderr."""
    from sshgate_helpers import free_port
    conf = tmp_path / "refused.conf"
    conf.write_text("listen 127.0.0.1:%d\ncertificate \"%s\"\n"
                    "route * to %s\nworkers 1\n%s\n"
                    % (free_port(), pki["ecdsa"], sshd["a"].hostport,
                       user_extra(path)))
    try:
        r = subprocess.run([gw_bin, "serve", "-c", str(conf)],
                           capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the gateway started with control %s" % path)
    assert r.returncode == 1, r.stderr
    return r.stderr.decode()


def stop_traced(gw):
    """Stops a gateway started under strace: the signal goes to it, not
    to strace, which then ends with its status."""
    pid = gw.proc.pid
    if gw.proc.poll() is None:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            children = f.read().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        gw.proc.wait(20)
    return gw.stop()


def swap_while_made(gateway, sshd, top, d):
    """Starts a gateway whose listen() calls each take 1.5 s (strace), so
    that between binding the control socket and whatever comes after,
    the test can put a symlink to the victim in its place, as someone
    who may write the directory could. Returns the gateway."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    path = os.path.join(d, "ctl.sock")
    os.symlink(top + "/victim", os.path.join(d, "planted"))
    # a sanitized build cannot check leaks under ptrace: not this one
    prefix = ["env", "ASAN_OPTIONS=detect_leaks=0", "strace", "-qq", "-o",
              "/dev/null", "-e", "trace=listen", "-e",
              "inject=listen:delay_enter=1500000"]
    gw = user_gateway(gateway, sshd, path, prefix=prefix, wait=False)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    break
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline or gw.proc.poll() is not None:
                pytest.fail("no control socket appeared: " + gw.stderr())
            time.sleep(0.001)
        os.rename(os.path.join(d, "planted"), path)
        gw.wait_ready()
        assert os.path.islink(path)
    except BaseException:
        stop_traced(gw)
        raise
    return gw


def check_owned_by_nobody_and_usable(gw_bin, path):
    uid, gid, _ = nobody()
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert (st.st_uid, st.st_gid) == (uid, gid)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert ctl(gw_bin, path, "stats")[0] == 0		# root
    r = subprocess.run([gw_bin, "ctl", "-s", path, "stats"], user=uid,
                       group=gid, extra_groups=[], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr			# its owner


def test_control_socket_in_the_users_directory_is_born_theirs(
        gateway, gw_bin, pki, sshd, top, tmp_path):
    needs_root()
    uid, gid, _ = nobody()
    d = sock_dir(top, "run", uid, gid, 0o700)
    path = os.path.join(d, "ctl.sock")
    # a symlink planted at the path is refused, never followed
    os.symlink(top + "/victim", path)
    assert "exists and is not a socket" in refused_start(gw_bin, pki, sshd,
                                                         tmp_path, path)
    victim_untouched(top)
    os.unlink(path)
    gw = user_gateway(gateway, sshd, path)
    check_owned_by_nobody_and_usable(gw_bin, path)
    assert gw.stop() == 0
    assert not os.path.lexists(path)			# removed at the end
    # swapped for a symlink right after it is made: nothing follows it
    gw = swap_while_made(gateway, sshd, top, d)
    try:
        victim_untouched(top)
    finally:
        rc = stop_traced(gw)
    assert rc == 0
    assert os.path.islink(path)		# not ours: left alone at the end
    victim_untouched(top)


def test_control_socket_in_a_root_only_directory_is_given(gateway, gw_bin,
                                                          sshd, top):
    needs_root()
    d = sock_dir(top, "run", 0, 0, 0o755)
    path = os.path.join(d, "ctl.sock")
    gw = user_gateway(gateway, sshd, path)
    check_owned_by_nobody_and_usable(gw_bin, path)
    assert gw.stop() == 0
    os.unlink(path)		# nobody may not remove it from root's directory
    # only root can swap it there; even then, the ownership given to the
    # user goes to the node in the directory, never through a symlink
    gw = swap_while_made(gateway, sshd, top, d)
    try:
        victim_untouched(top)
    finally:
        rc = stop_traced(gw)
    assert rc == 0
    victim_untouched(top)


def test_control_socket_where_the_user_cannot_make_it(gw_bin, pki, sshd,
                                                     top, tmp_path):
    needs_root()
    # writable by root's group too: not root's alone, so it is made as
    # nobody, who may not write there
    d = sock_dir(top, "run", 0, 0, 0o770)
    path = os.path.join(d, "ctl.sock")
    err = refused_start(gw_bin, pki, sshd, tmp_path, path)
    assert "control %s: user nobody cannot create it in %s: Permission " \
        "denied" % (path, d) in err, err
    assert os.listdir(d) == []


def test_client_that_does_not_take_its_answer_holds_up_nothing(
        gateway, gw_bin, sshd, tmp_path):
    gw, sock, mport = ctl_and_metrics(gateway, sshd, tmp_path)
    fds = open_fds(gw)
    good = gw.conf.read_text()
    # a failed reload answers with every error: far more than a socket
    # holds, so the gateway must wait for the client to read
    gw.conf.write_text(good + "bogus-keyword %s\n" % ("x" * 100) * 5000)
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lazy.connect(str(sock))
        lazy.sendall(b"reload\n")
        gw.wait_stderr("reload failed")	# done; its answer waits
        time.sleep(0.2)
        for _ in range(3):
            assert stats_seconds(gw_bin, sock) < 1.0
            assert scrape_seconds(mport) < 1.0
        # 10 s to take the answer, then it is cut short
        lazy.settimeout(20)
        t0 = time.monotonic()
        time.sleep(10)
        got = b""
        try:
            got = read_to_end(lazy)
        except ConnectionResetError:
            pass
        assert 100000 < len(got) < 5000 * 100
        assert got.startswith(b"error\n")
        assert time.monotonic() - t0 < 12
    finally:
        lazy.close()
        gw.conf.write_text(good)
    wait_until(lambda: open_fds(gw) == fds, 5, what="every client closed")
