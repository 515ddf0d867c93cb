"""Running it in production: log files reopened on SIGUSR1 (logrotate)."""

import os
import signal

from sshgate_helpers import wait_until


def test_sigusr1_reopens_log_file(gateway, sshd, ssh):
    gw = gateway(["* to %s" % sshd["a"].hostport])
    assert ssh.server_addr(gw, "one") == sshd["a"].addr
    gw.wait_record(sni="one")
    rotated = gw.dir / "gateway.log.1"
    os.rename(gw.logfile, rotated)		# what logrotate does
    gw.signal(signal.SIGUSR1)
    gw.wait_stderr("log files reopened")
    assert ssh.server_addr(gw, "two") == sshd["a"].addr
    wait_until(lambda: gw.logfile.exists() and
               "sni=two" in gw.logfile.read_text(), 10,
               what="a record in the new log file")
    old = rotated.read_text()
    assert "sni=one" in old and "sni=two" not in old
    assert "sni=one" not in gw.logfile.read_text()
    assert oct(gw.logfile.stat().st_mode & 0o777) == "0o640"
