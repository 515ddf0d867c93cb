"""The newcomer's path: `make run`'s dependencies, certificates and
advice (scripts/deps.sh, scripts/pki.sh, scripts/demo.sh), with the real
scripts, openssl, sshd and ssh."""

import os
import re
import shutil
import signal
import socket
import subprocess

import pytest

from sshgate_helpers import wait_until

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _fake_apt(tmp_path):
    """A PATH where nothing is installed and apt-get writes down what it
    was asked to install, and what policy-rc.d (here in tmp_path) would
    have said to a package's postinst about starting a service."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "apt.log"
    policy = tmp_path / "policy-rc.d"
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\necho \"$@\" >> %s\n"
        "[ \"$1\" != install ] || { %s x start; echo \"policy $?\" >> %s; }\n"
        % (log, policy, log))
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]),
               SSHGATE_POLICY_RC_D=str(policy))
    return env, log


def _installed(tmp_path, *jobs):
    env, log = _fake_apt(tmp_path)
    r = subprocess.run([os.path.join(TOP, "scripts", "deps.sh")] +
                       list(jobs), env=env, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    text = log.read_text().splitlines()
    lines = [l for l in text if "install" in l]
    # no service may start while it installs, and nothing is left behind
    assert "policy 101" in text, text
    assert not (tmp_path / "policy-rc.d").exists()
    log.unlink()
    return set(lines[0].split()) - {"install", "-y", "-qq",
                                    "--no-install-recommends"}


def test_make_run_installs_only_what_the_demo_needs(tmp_path):
    demo = _installed(tmp_path, "demo")
    assert {"gcc", "libssl-dev", "libev-dev", "libc-ares-dev",
            "openssh-server", "openssh-client"} <= demo
    for tool in ("haproxy", "valgrind", "clang", "man-db", "testssl.sh",
                 "libcmocka-dev", "python3-pytest"):
        assert tool not in demo
    test = _installed(tmp_path, "test")
    assert {"libcmocka-dev", "python3-pytest", "valgrind", "clang",
            "dnsmasq-base", "haproxy", "tinyproxy"} <= test
    bench = _installed(tmp_path, "bench")
    assert "haproxy" in bench and "valgrind" not in bench
    assert _installed(tmp_path) == demo | test | bench
    r = subprocess.run([os.path.join(TOP, "scripts", "deps.sh"), "nope"],
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and b"usage:" in r.stderr


def _enddate(path):
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in",
                          str(path)], capture_output=True, check=True,
                         timeout=30).stdout.decode()
    return out.strip()


def _days_left(path):
    for days in range(200, -1, -1):
        r = subprocess.run(["openssl", "x509", "-noout", "-checkend",
                            str(days * 86400), "-in", str(path)],
                           capture_output=True, timeout=30)
        if r.returncode == 0:
            return days
    return -1


def test_demo_certificates_are_renewed_before_they_run_out(tmp_path):
    pki = os.path.join(TOP, "scripts", "pki.sh")
    d = tmp_path / "demo"
    subprocess.run([pki, str(d)], check=True, timeout=60)
    assert 85 <= _days_left(d / "gateway-ecdsa.pem") <= 90
    first = _enddate(d / "gateway-rsa.pem")
    # a second run keeps fresh certificates
    r = subprocess.run([pki, str(d)], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == b""
    assert _enddate(d / "gateway-rsa.pem") == first
    # one that runs out within 7 days: all made anew, and said so
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(d / "k"), "-out", str(d / "c"),
                    "-days", "3", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    (d / "gateway-rsa.pem").write_bytes((d / "c").read_bytes() +
                                        (d / "k").read_bytes())
    r = subprocess.run([pki, str(d)], capture_output=True, timeout=60)
    assert r.returncode == 0
    assert b"certificates in %s renewed" % str(d).encode() in r.stdout
    assert _days_left(d / "gateway-rsa.pem") >= 85
    assert _days_left(d / "ca.pem") >= 85


def _listening(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(_listening("127.0.0.1", 2222) or
                    _listening("127.0.0.2", 2201),
                    reason="something listens on the demo's fixed ports")
def test_demo_names_its_own_pid_and_works(gw_bin, tmp_path):
    # the demo's layout, in a copy of the tree's scripts and examples
    top = tmp_path / "top"
    shutil.copytree(os.path.join(TOP, "scripts"), top / "scripts")
    shutil.copytree(os.path.join(TOP, "examples"), top / "examples")
    out = tmp_path / "out.txt"
    p = subprocess.Popen([str(top / "scripts" / "demo.sh"), gw_bin],
                         stdout=open(out, "wb"), stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        wait_until(lambda: "Reload the config: kill -HUP" in
                   out.read_text() or p.poll() is not None, 60)
        text = out.read_text()
        assert "pgrep" not in text
        pid = int(re.search(r"kill -HUP (\d+);", text).group(1))

        def argv():
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read().split(b"\0")
        # the pid is the gateway's from its fork on; the exec may lag
        wait_until(lambda: argv()[1:3] == [b"serve", b"-c"], 10,
                   what="pid %d running sshgate serve" % pid)
        wait_until(lambda: "serving with" in out.read_text(), 20)
        cmd = re.search(r"^  (ssh -i .*sshgate connect.*)$", text,
                        re.M).group(1)
        r = subprocess.run(cmd + " -o BatchMode=yes echo through-the-demo",
                           shell=True, capture_output=True, timeout=60)
        assert r.stdout == b"through-the-demo\n", r.stderr
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: "reloaded" in out.read_text(), 20)
    finally:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(40)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
    # Ctrl-C stops the gateway and the demo server with it
    assert not os.path.exists("/proc/%d" % pid) or \
        open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    wait_until(lambda: not _listening("127.0.0.2", 2201) and
               not _listening("127.0.0.1", 2222), 10)

