"""Where audit records go, when it goes wrong: a log path is never
followed through a symbolic link (root would hand its target to the
service user), and `check` applies the rules `serve` opens the log file
with."""

import os
import pwd
import grp
import shutil
import signal
import subprocess
import tempfile

import pytest

from sshgate_helpers import (echo, free_port, recv_exactly, run,
                             tls_connect, wait_until)

from conftest import RAW_ADDR


def echoes(s, data):
    """Sends data on an open session; true if the backend's echo comes."""
    s.sendall(data)
    return recv_exactly(s, len(data), timeout=5) == data


def conf_text(port, pki, backend, log, extra=""):
    return ("listen 127.0.0.1:%d\ncertificate \"%s\"\nssh-only no\n"
            "workers 1\ntimeout handshake 2s\ntimeout connect 1s\n"
            "timeout drain 2s\nroute * to %s\nlog %s\n%s"
            % (port, pki["ecdsa"], backend, log, extra))


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
