"""The descriptor limit: the gateway accepts no more sessions than it
can hold, without spinning, and serves again once sessions end."""

import os
import re
import socket
import subprocess
import time

from sshgate_helpers import wait_until


def cpu_seconds(pid):
    """utime + stime of a process, all threads, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_descriptor_limit_caps_sessions_and_keeps_ctl(gw_bin, gateway,
                                                      sshd, ssh, tmp_path):
    """max-connections larger than the descriptor limit can hold: the
    gateway says so at start and accepts only what the limit holds (two
    fds a session, some kept spare), so that clients beyond wait in the
    backlog instead of being accepted and failed (connect-failed), the
    gateway does not spin, and ctl still answers at the limit."""
    sock = tmp_path / "ctl.sock"
    gw = gateway(["* to %s" % sshd["a"].hostport], workers=1,
                 timeouts={"handshake": "20s"}, max_connections=1000,
                 extra="control %s" % sock,
                 prefix=["prlimit", "--nofile=60:60"])
    m = re.search(r"max-connections 1000 needs (\d+) file descriptors, "
                  r"the limit is 60 \(.*\): accepting at most (\d+) "
                  r"connections", gw.stderr())
    assert m, gw.stderr()
    cap = int(m.group(2))
    assert 5 <= cap < 30, gw.stderr()
    held = []
    try:
        # silent clients hold a session slot each until they go away
        for _ in range(cap + 20):
            held.append(socket.create_connection(("127.0.0.1", gw.port),
                                                 timeout=5))
        def stat(name):
            r = subprocess.run([gw_bin, "ctl", "-s", str(sock), "stats"],
                               capture_output=True, timeout=10)
            assert r.returncode == 0, r.stderr
            m = re.search(r"^%s (\d+)$" % name, r.stdout.decode(), re.M)
            return int(m.group(1))
        wait_until(lambda: stat("sshgate_sessions_active") == cap,
                   timeout=10, what="%d sessions open" % cap)
        assert stat("sshgate_sessions_max") == cap
        before = cpu_seconds(gw.proc.pid)
        time.sleep(1.5)
        spent = cpu_seconds(gw.proc.pid) - before
        # a busy accept loop would burn the whole 1.5 s
        assert spent < 0.5, "gateway used %.2fs of CPU while paused" % spent
        assert stat("sshgate_sessions_active") == cap
        assert "pausing new connections" not in gw.stderr(), gw.stderr()
    finally:
        for s in held:
            s.close()
    # the held clients end (handshake-failed), the waiting ones are
    # accepted and end too, and ssh works again
    gw.wait_record(reason="handshake-failed")

    def served():
        r = ssh(gw, "x")
        return r.returncode == 0 and sshd["a"].addr.encode() in r.stdout
    wait_until(served, timeout=30, what="an ssh session after the cap")
    assert not any("connect-failed" in l for l in gw.lines()), gw.lines()
