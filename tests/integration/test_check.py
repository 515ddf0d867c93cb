"""`sshgate check` and the command line: every config mistake is reported
as FILE:LINE: message with exit 1; a valid config exits 0."""

import re
import shutil
import socket

import pytest

from sshgate_helpers import free_port, run


def _base(pki):
    return ("listen 127.0.0.1:%d\n" % free_port() +
            "certificate %s\n" % pki["ecdsa"] +
            "route *.example.local to 127.0.0.2:22\n")


def check(gw_bin, path, cmd="check"):
    r = run([gw_bin, cmd, "-c", str(path)], timeout=20)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_valid_config_exits_0(gw_bin, pki, tmp_path):
    f = tmp_path / "ok.conf"
    f.write_text(_base(pki) + "certificate %s\n" % pki["rsa"] +
                 "# a comment\n\n"
                 "ssh-only no\n"
                 "timeout handshake 500ms\ntimeout inspect 5s\n"
                 "timeout connect 2m\ntimeout idle 0\ntimeout dns 3s\n"
                 "timeout drain 1h\n"
                 "max-connections 100\nworkers 4\n"
                 'route "quoted.example" to 127.0.0.3:22 127.0.0.4:2222  # c\n'
                 "route 10.0.0.0/8 to 127.0.0.3:22\n"
                 "route * to [::1]:22\n"
                 "log file audit.log\nlog-format json\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err
    assert out.strip() == "%s: ok (1 listeners, 2 certificates, 4 routes)" \
        % f
    assert err == ""


BAD_LINES = [
    # (id, line, what the message must say)
    ("listen-no-port", "listen nowhere", "listen: 'nowhere': missing :PORT"),
    ("listen-port-range", "listen 127.0.0.1:70000", "port must be 1-65535"),
    ("listen-name", "listen localhost:2222",
     "'localhost' is not an IPv4 or IPv6 address"),
    ("listen-v6-brackets", "listen ::1:2222", "write IPv6 addresses as"),
    ("listen-no-arg", "listen", "'listen' takes at least 1 argument"),
    ("listen-option", "listen 127.0.0.1:2 sideways",
     "listen: unknown option 'sideways'"),
    ("certificate-usage", "certificate a.pem b.pem",
     "usage: certificate FILE [key FILE]"),
    ("certificate-missing", "certificate /nonexistent/gw.pem",
     "certificate: cannot load /nonexistent/gw.pem: No such file or "
     "directory"),
    ("ssh-only", "ssh-only maybe", "ssh-only: expected yes or no, got "
     "'maybe'"),
    ("timeout-kind", "timeout forever 5s", "timeout: unknown kind 'forever'"),
    ("timeout-value", "timeout handshake soon",
     "timeout handshake: 'soon' is not a duration"),
    ("timeout-no-unit", "timeout inspect 5",
     "timeout inspect: '5' is not a duration"),
    ("timeout-negative", "timeout connect -1s",
     "timeout connect: '-1s' is not a duration"),
    ("timeout-args", "timeout handshake", "'timeout' takes at least 2"),
    ("max-connections", "max-connections 0",
     "max-connections: expected a number from 1 to 1000000, got '0'"),
    ("max-connections-text", "max-connections many",
     "max-connections: expected a number"),
    ("workers", "workers 1000",
     "workers: expected a number from 1 to 256, got '1000'"),
    ("route-usage", "route db.example.local via 127.0.0.2:22",
     "usage: route PATTERN to HOST:PORT"),
    ("route-no-server", "route db.example.local to",
     "usage: route PATTERN to HOST:PORT"),
    ("route-server-port", "route db.example.local to 127.0.0.2",
     "route db.example.local: '127.0.0.2': missing :PORT"),
    ("route-pattern", "route bad..name to 127.0.0.2:22",
     "not a host name, wildcard, address or CIDR"),
    ("route-wildcard", "route *example.local to 127.0.0.2:22",
     "a wildcard is written *.suffix"),
    ("include-missing", "include nothing-here.conf",
     "include: cannot read"),
    ("log-target", "log nowhere", "usage: log stderr | stdout | syslog"),
    ("log-facility", "log syslog nofacility",
     "log syslog: unknown facility 'nofacility'"),
    ("log-format", "log-format xml",
     "log-format: expected text or json, got 'xml'"),
    ("unknown-keyword", "frobnicate yes", "unknown keyword 'frobnicate'"),
    ("unterminated-quote", 'route "db.example to 127.0.0.2:22',
     "unterminated quote"),
]


@pytest.mark.parametrize("line,message", [(l, m) for _, l, m in BAD_LINES],
                         ids=[i for i, _, _ in BAD_LINES])
def test_bad_value_is_reported_with_file_and_line(gw_bin, pki, tmp_path,
                                                  line, message):
    f = tmp_path / "bad.conf"
    text = _base(pki)
    n = text.count("\n") + 1
    f.write_text(text + line + "\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1, (out, err)
    assert "%s:%d: " % (f, n) in err, err
    assert message in err, err
    # the message is on the FILE:LINE line itself
    assert any(l.startswith("%s:%d: " % (f, n)) and message in l
               for l in err.splitlines()), err
    assert "ok (" not in out


@pytest.mark.parametrize("kw,first,second", [
    ("ssh-only", "yes", "no"),
    ("max-connections", "10", "20"),
    ("workers", "1", "2"),
    ("log", "stderr", "stdout"),
    ("log-format", "text", "json"),
    ("timeout", "idle 5s", "idle 6s"),
])
def test_single_valued_keyword_given_twice(gw_bin, pki, tmp_path, kw, first,
                                           second):
    f = tmp_path / "twice.conf"
    text = _base(pki)
    n = text.count("\n") + 1
    f.write_text(text + "%s %s\n%s %s\n" % (kw, first, kw, second))
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    line = [l for l in err.splitlines()
            if l.startswith("%s:%d: " % (f, n + 1))]
    assert len(line) == 1, err
    assert "'%s" % kw in line[0] and "given twice" in line[0], err
    # and it names where the first one is
    assert re.search(r"first (on line |at .*:)%d\b" % n, line[0]), err


def test_duplicate_listen_names_first_line(gw_bin, pki, tmp_path):
    f = tmp_path / "dup.conf"
    f.write_text("listen 127.0.0.1:2999\ncertificate %s\n" % pki["ecdsa"] +
                 "route * to 127.0.0.2:22\nlisten 127.0.0.1:2999\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert "%s:4: listen: 127.0.0.1:2999 already given on %s:1" % (f, f) \
        in err, err


def test_unknown_listen_option_is_named(gw_bin, pki, tmp_path):
    f = tmp_path / "later.conf"
    text = _base(pki)
    n = text.count("\n") + 1
    f.write_text(text + "listen 127.0.0.1:2998 proxy-protocl\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert "%s:%d: listen: unknown option 'proxy-protocl' " \
        "(proxy-protocol?)" % (f, n) in err, err


def test_every_error_in_a_file_is_reported(gw_bin, pki, tmp_path):
    f = tmp_path / "many.conf"
    f.write_text("listen 127.0.0.1:%d\n" % free_port() +      # 1
                 "certificate %s\n" % pki["ecdsa"] +           # 2
                 "ssh-only perhaps\n"                          # 3
                 "timeout handshake fast\n"                    # 4
                 "route * to 127.0.0.2:22\n"                   # 5
                 "workers 0\n"                                 # 6
                 "bogus\n"                                     # 7
                 "log-format yaml\n")                          # 8
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    lines = err.splitlines()
    for n in (3, 4, 6, 7, 8):
        assert any(l.startswith("%s:%d: " % (f, n)) for l in lines), \
            (n, err)
    assert len(lines) == 5, err


def test_missing_required_directives(gw_bin, tmp_path):
    f = tmp_path / "empty.conf"
    f.write_text("# nothing\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert "%s: no 'listen' directive" % f in err
    assert "%s: no 'certificate' directive" % f in err
    assert "%s: no 'route' directive" % f in err


def test_missing_config_file(gw_bin, tmp_path):
    f = tmp_path / "absent.conf"
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert str(f) in err and "No such file or directory" in err, err


def test_certificate_key_mismatch_names_certificate_line(gw_bin, pki,
                                                         tmp_path):
    f = tmp_path / "mismatch.conf"
    f.write_text("listen 127.0.0.1:%d\n" % free_port() +
                 "route * to 127.0.0.2:22\n"
                 "certificate %s key %s\n" % (pki["ecdsa_crt"],
                                              pki["stray_key"]))
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert err.startswith("%s:3: certificate: " % f), err
    assert "mismatch" in err or "does not match" in err, err


def test_certificate_without_key_names_its_line(gw_bin, pki, tmp_path):
    f = tmp_path / "nokey.conf"
    f.write_text("listen 127.0.0.1:%d\n" % free_port() +
                 "certificate %s\n" % pki["ecdsa_crt"] +
                 "route * to 127.0.0.2:22\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert err.startswith("%s:2: certificate: " % f), err


def test_separate_key_file_is_accepted(gw_bin, pki, tmp_path):
    f = tmp_path / "sepkey.conf"
    f.write_text("listen 127.0.0.1:%d\n" % free_port() +
                 "certificate %s key %s\n" % (pki["rsa_crt"], pki["rsa_key"]) +
                 "route * to 127.0.0.2:22\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err


def test_paths_are_relative_to_the_config_file(gw_bin, pki, tmp_path):
    d = tmp_path / "etc"
    (d / "conf.d").mkdir(parents=True)
    shutil.copy(pki["ecdsa"], d / "gw.pem")
    (d / "sshgate.conf").write_text(
        "listen 127.0.0.1:%d\ncertificate gw.pem\n" % free_port() +
        "include conf.d/*.conf\nlog file audit.log\n")
    (d / "conf.d" / "a.conf").write_text("route a.example to 127.0.0.2:22\n")
    (d / "conf.d" / "b.conf").write_text("route b.example to 127.0.0.3:22\n")
    r = run([gw_bin, "check", "-c", "etc/sshgate.conf"], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert b"2 routes" in r.stdout


def test_error_in_included_file_names_that_file(gw_bin, pki, tmp_path):
    inc = tmp_path / "routes.conf"
    inc.write_text("route a.example to 127.0.0.2:22\nroute b.example to x\n")
    f = tmp_path / "main.conf"
    f.write_text(_base(pki) + "include routes.conf\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert "%s:2: route b.example: 'x': missing :PORT" % inc in err, err


def test_include_of_missing_file_names_include_line(gw_bin, pki, tmp_path):
    f = tmp_path / "main.conf"
    text = _base(pki)
    n = text.count("\n") + 1
    f.write_text(text + "include missing.conf\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert "%s:%d: include: cannot read %s: No such file or directory" % (
        f, n, tmp_path / "missing.conf") in err, err


def test_include_glob_matching_nothing_is_fine(gw_bin, pki, tmp_path):
    (tmp_path / "conf.d").mkdir()
    f = tmp_path / "main.conf"
    f.write_text(_base(pki) + "include conf.d/*.conf\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err


def test_include_glob_in_missing_directory_matches_nothing(gw_bin, pki,
                                                           tmp_path):
    """doc/sshgate.conf.md: "a glob may match nothing; a plain name must
    exist". A glob under a directory that does not exist matches nothing
    (as in nginx or sshd_config's Include)."""
    f = tmp_path / "main.conf"
    f.write_text(_base(pki) + "include conf.d/*.conf\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err


def test_include_loop_is_an_error(gw_bin, pki, tmp_path):
    f = tmp_path / "main.conf"
    (tmp_path / "loop.conf").write_text("include loop.conf\n")
    f.write_text(_base(pki) + "include loop.conf\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert "nested more than" in err, err


def test_serve_with_bad_config_exits_1_with_same_messages(gw_bin, pki,
                                                          tmp_path):
    f = tmp_path / "bad.conf"
    text = _base(pki)
    n = text.count("\n") + 1
    f.write_text(text + "workers lots\nfrobnicate\n")
    rc_c, _, err_c = check(gw_bin, f)
    rc_s, out_s, err_s = check(gw_bin, f, cmd="serve")
    assert rc_c == 1 and rc_s == 1
    for msg in ("%s:%d: workers: expected a number" % (f, n),
                "%s:%d: unknown keyword 'frobnicate'" % (f, n + 1)):
        assert msg in err_c and msg in err_s, (err_c, err_s)
    assert "listening" not in err_s


def test_serve_with_unbindable_listen_exits_1(gw_bin, pki, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        f = tmp_path / "busy.conf"
        f.write_text("listen 127.0.0.1:%d\ncertificate %s\n"
                     "route * to 127.0.0.2:22\n" % (port, pki["ecdsa"]))
        rc, out, err = check(gw_bin, f, cmd="serve")
    finally:
        s.close()
    assert rc == 1
    assert "127.0.0.1:%d" % port in err and "in use" in err, err


@pytest.mark.parametrize("argv,rc,stream,text", [
    ([], 2, "err", "usage: sshgate serve -c FILE"),
    (["frobnicate"], 2, "err", "unknown command 'frobnicate'"),
    (["check"], 2, "err", "usage: sshgate check -c FILE"),
    (["serve", "-x", "f"], 2, "err", "usage: sshgate serve -c FILE"),
    (["--help"], 0, "out", "usage: sshgate serve -c FILE"),
    (["-h"], 0, "out", "sshgate check -c FILE"),
    (["version"], 0, "out", "sshgate "),
    (["--version"], 0, "out", "sshgate "),
], ids=["no-args", "unknown", "check-no-file", "serve-bad-flag", "help",
        "h", "version", "dash-version"])
def test_command_line(gw_bin, argv, rc, stream, text):
    r = run([gw_bin] + argv, timeout=10)
    assert r.returncode == rc, r
    got = (r.stdout if stream == "out" else r.stderr).decode()
    assert text in got, (r.stdout, r.stderr)
    if argv and argv[0] in ("version", "--version"):
        assert got.startswith("sshgate ")


def test_route_server_host_name_is_resolved(gw_bin, pki, tmp_path):
    f = tmp_path / "names.conf"
    f.write_text(_base(pki) + "route named.example to localhost:22\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err


def test_serve_with_unopenable_log_file_exits_1(gw_bin, pki, tmp_path):
    f = tmp_path / "log.conf"
    f.write_text(_base(pki) + "log file /nonexistent/dir/audit.log\n")
    rc, out, err = check(gw_bin, f, cmd="serve")
    assert rc == 1
    assert "/nonexistent/dir/audit.log" in err and \
        "No such file or directory" in err, err
    assert "listening" not in err
