"""Files named by a config are hostile input too: a FIFO, a device or an
include fan-out must give an error at once, never hang `check` or block a
reload (the main thread would stop serving metrics, ctl and signals)."""

import os
import signal
import time

import pytest

from sshgate_helpers import free_port, run, tls_connect


def _base(pki, port=None):
    return ("listen 127.0.0.1:%d\n" % (port or free_port()) +
            "certificate %s\n" % pki["ecdsa"] +
            "route *.example.local to 127.0.0.2:22\n")


def _check(gw_bin, path):
    r = run([gw_bin, "check", "-c", str(path)], timeout=10)
    return r.returncode, r.stderr.decode()


@pytest.mark.parametrize("directive", [
    "include %s", "certificate %s", "certificate %s key %s",
    "client-ca %s", "crl %s", "access-pairs user %s"])
def test_check_refuses_a_fifo_at_once(gw_bin, pki, tmp_path, directive):
    fifo = tmp_path / "trap"
    os.mkfifo(fifo)
    text = _base(pki)
    if directive.startswith("certificate %s key"):
        line = directive % (pki["ecdsa_crt"], fifo)
    else:
        line = directive % fifo
    if directive.startswith(("crl", "access-pairs")):
        text += "client-ca %s\n" % pki["ca"]
    if directive.startswith("access-pairs"):
        text += "access allow any to *\n"
    conf = tmp_path / "sshgate.conf"
    conf.write_text(text + line + "\n")
    t0 = time.monotonic()
    rc, err = _check(gw_bin, conf)
    assert rc == 1, err
    assert "not a regular file" in err, err
    assert str(fifo) in err, err
    assert time.monotonic() - t0 < 5


def test_check_refuses_a_device(gw_bin, pki, tmp_path):
    conf = tmp_path / "sshgate.conf"
    conf.write_text(_base(pki) + "include /dev/zero\n")
    rc, err = _check(gw_bin, conf)
    assert rc == 1
    assert "include: cannot read /dev/zero: not a regular file" in err, err


def test_include_fan_out_is_bounded(gw_bin, tmp_path):
    # six files that each include all six: 6^8 reads without a budget
    for i in range(1, 7):
        (tmp_path / ("f%d.conf" % i)).write_text("include *.conf\n")
    t0 = time.monotonic()
    rc, err = _check(gw_bin, tmp_path / "f1.conf")
    assert rc == 1
    assert time.monotonic() - t0 < 5
    lines = err.splitlines()
    assert len(lines) < 1000, "%d error lines" % len(lines)
    assert sum("reading stops here" in l for l in lines) == 1, err[-2000:]


def test_reload_with_a_fifo_keeps_serving(gateway, pki, tmp_path):
    g = gateway(["*.example.local to 127.0.0.2:22"])
    fifo = tmp_path / "trap.conf"
    os.mkfifo(fifo)
    with open(g.conf, "a") as f:
        f.write("include %s\n" % fifo)
    g.signal(signal.SIGHUP)
    g.wait_stderr("reload failed", timeout=5)
    assert "not a regular file" in g.stderr()
    # the main thread is free: a second reload is taken as well
    g.signal(signal.SIGHUP)
    g.wait_stderr("reload failed", timeout=5, count=2)
    s = tls_connect(g.port, "a.example.local")
    s.close()
