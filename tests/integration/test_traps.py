"""Traps that bite on a later day: a second gateway on the same address,
lifetimes of CRLs and certificates, refusals the user never sees
explained, plain ssh pointed at the TLS port."""

import signal
import subprocess

import pytest

from conftest import gw_config
from sshgate_helpers import (free_port, terminate, tls_connect,
                             wait_until)


_started = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _started:
        terminate(_started.pop())


def _start(gw_bin, tmp_path, name, text):
    d = tmp_path / name
    d.mkdir()
    conf = d / "sshgate.conf"
    conf.write_text(text)
    err = d / "stderr.txt"
    p = subprocess.Popen([gw_bin, "serve", "-c", str(conf)], cwd=str(d),
                         stdout=subprocess.DEVNULL, stderr=open(err, "wb"))
    _started.append(p)
    return p, err


def test_second_gateway_on_the_same_address_refuses_to_start(
        gateway, gw_bin, pki, sshd, tmp_path):
    metrics = free_port()
    first = gateway(["* to %s" % sshd["a"].hostport],
                    extra="metrics 127.0.0.1:%d" % metrics)
    # another config, same listen address: refused, naming it and the pid
    text = gw_config(first.port, ["* to %s" % sshd["b"].hostport], pki=pki,
                     log="file second.log")
    p, err = _start(gw_bin, tmp_path, "second", text)
    assert p.wait(20) == 1
    msg = err.read_text()
    assert ("listen 127.0.0.1:%d: already served by another process "
            "(pid %d, sshgate)" % (first.port, first.proc.pid)) in msg, msg
    assert "serving with" not in msg
    # a different listen address but the same metrics address: refused too
    text = gw_config(free_port(), ["* to %s" % sshd["b"].hostport], pki=pki,
                     log="file third.log",
                     extra="metrics 127.0.0.1:%d" % metrics)
    p, err = _start(gw_bin, tmp_path, "third", text)
    assert p.wait(20) == 1
    msg = err.read_text()
    assert "metrics 127.0.0.1:%d: already served by another process" % \
        metrics in msg, msg
    # the first gateway still serves every client, and reloads
    first.signal(signal.SIGHUP)
    first.wait_stderr("reloaded")
    for _ in range(10):
        tls_connect(first.port, "x.example.local").close()


def test_wildcard_and_specific_addresses_overlap(gateway, gw_bin, pki, sshd,
                                                 tmp_path):
    first = gateway(["* to %s" % sshd["a"].hostport])
    text = gw_config(first.port, ["* to %s" % sshd["b"].hostport], pki=pki,
                     log="file second.log",
                     listen=["0.0.0.0:%d" % first.port])
    p, err = _start(gw_bin, tmp_path, "second", text)
    assert p.wait(20) == 1
    assert "listen 0.0.0.0:%d: already served by another process" % \
        first.port in err.read_text(), err.read_text()


def test_restart_on_the_same_address_works(gw_bin, pki, sshd, tmp_path):
    port = free_port()
    text = gw_config(port, ["* to %s" % sshd["a"].hostport], pki=pki,
                     log="file a.log")
    for i in range(2):
        p, err = _start(gw_bin, tmp_path, "run%d" % i, text)
        wait_until(lambda: "serving with" in err.read_text() or
                   p.poll() is not None, 10)
        assert p.poll() is None, err.read_text()
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0
