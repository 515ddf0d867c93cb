"""Running out of file descriptors: accept pauses on a timer instead of
spinning, and the gateway serves again once descriptors are free."""

import os
import socket
import time

from sshgate_helpers import wait_until


def cpu_seconds(pid):
    """utime + stime of a process, all threads, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_fd_exhaustion_pauses_accept_without_spinning(gateway, sshd, ssh):
    gw = gateway(["* to %s" % sshd["a"].hostport], workers=1,
                 timeouts={"handshake": "20s"},
                 prefix=["prlimit", "--nofile=40"])
    held = []
    try:
        # silent clients hold one descriptor each until they go away
        for _ in range(60):
            held.append(socket.create_connection(("127.0.0.1", gw.port),
                                                 timeout=5))
        gw.wait_stderr("pausing new connections", timeout=10)
        before = cpu_seconds(gw.proc.pid)
        time.sleep(1.5)
        spent = cpu_seconds(gw.proc.pid) - before
        # a busy accept loop would burn the whole 1.5 s
        assert spent < 0.5, "gateway used %.2fs of CPU while paused" % spent
    finally:
        for s in held:
            s.close()
    # the held clients end (handshake-failed) and accepting resumes
    gw.wait_record(reason="handshake-failed")

    def served():
        r = ssh(gw, "x")
        return r.returncode == 0 and sshd["a"].addr.encode() in r.stdout
    wait_until(served, timeout=15, what="an ssh session after the pause")
