"""`sshgate check` finds what `serve` and the next reload would hit, and
what would run but not as meant: errors in file and line order, warnings
(exit 0 unless --strict), keywords it can guess, the control socket's
directory and length, files the service user cannot read."""

import base64
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from sshgate_helpers import free_port, wait_until


def check(gw_bin, path, *flags, cwd=None):
    r = subprocess.run([gw_bin, "check"] + list(flags) + ["-c", str(path)],
                       capture_output=True, timeout=30, cwd=cwd)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def base(pki, port=None):
    return ("listen 127.0.0.1:%d\n" % (port or free_port()) +
            'certificate "%s"\n' % pki["ecdsa"])


# --- errors in file and line order -------------------------------------------

def test_errors_are_printed_in_file_and_line_order(gw_bin, pki, tmp_path):
    inc = tmp_path / "routes.conf"
    inc.write_text("route a.example to 127.0.0.2:22\n"       # 1
                   "route b.example to nowhere\n")           # 2
    pairs = tmp_path / "users.acl"
    pairs.write_text("alice,db.example\n"                    # 1
                     "bob\n")                                # 2
    f = tmp_path / "main.conf"
    f.write_text("listen 127.0.0.1:%d\n" % free_port() +    # 1
                 "certificate /nonexistent/gw.pem\n"         # 2: found last
                 "include routes.conf\n"                     # 3
                 "client-ca /nonexistent/ca.pem\n"           # 4: found late
                 "access-pairs user users.acl\n"             # 5
                 "frobnicate\n"                              # 6
                 "workers 0\n")                              # 7
    rc, out, err = check(gw_bin, f)
    assert rc == 1, (out, err)
    got = [l.split(": ")[0] for l in err.splitlines()]
    # the main file first (the order files were read), then its include,
    # then the pairs file; by line in each
    assert got == ["%s:2" % f, "%s:4" % f, "%s:6" % f, "%s:7" % f,
                   "%s:2" % inc, "%s:2" % pairs], err
    # serve prints the same lines in the same order
    r = subprocess.run([gw_bin, "serve", "-c", str(f)], capture_output=True,
                       timeout=30)
    assert r.returncode == 1
    assert r.stderr.decode() == err


def test_strict_usage(gw_bin, pki, tmp_path):
    f = tmp_path / "ok.conf"
    f.write_text(base(pki) + "route * to 127.0.0.2:22\n")
    for flags in (["--strict"], []):
        rc, out, err = check(gw_bin, f, *flags)
        assert (rc, err) == (0, ""), err
        assert out == "%s: ok (1 listeners, 1 certificates, 1 routes)\n" % f
    r = subprocess.run([gw_bin, "check", "-c", str(f), "--strict"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([gw_bin, "check", "--strict"], capture_output=True,
                       timeout=30)
    assert r.returncode == 2
    assert b"usage: sshgate check -c FILE [--strict]" in r.stderr


# --- did you mean ----------------------------------------------------------

def test_unknown_keyword_gets_a_suggestion(gw_bin, pki, tmp_path):
    f = tmp_path / "typos.conf"
    f.write_text(base(pki) +                                 # 1, 2
                 "route * to 127.0.0.2:22\n"                 # 3
                 "max-conections 100\n"                      # 4
                 "resovle ipv4\n"                            # 5
                 "bind 0.0.0.0:443\n"                        # 6
                 "frobnicate\n")                             # 7
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert err.splitlines() == [
        "%s:4: unknown keyword 'max-conections' (did you mean "
        "'max-connections'?)" % f,
        "%s:5: unknown keyword 'resovle' (did you mean 'resolve'?)" % f,
        "%s:6: unknown keyword 'bind' (did you mean 'listen'?)" % f,
        "%s:7: unknown keyword 'frobnicate'" % f], err


# --- targets that look like addresses ---------------------------------------

def test_address_typo_in_pairs_file_and_access_rule(gw_bin, pki, tmp_path):
    pairs = tmp_path / "users.acl"
    pairs.write_text("# the recipe's file\n"
                     "alice,127.0.0.2\n"
                     "carol,127.0.0.300\n")
    f = tmp_path / "acl.conf"
    f.write_text(base(pki) +                                 # 1, 2
                 "route * to 127.0.0.2:22\n"                 # 3
                 'client-ca "%s"\n' % pki["ca"] +            # 4
                 "access allow group ops to 10.0.0\n"        # 5
                 "access-pairs user users.acl\n")            # 6
    rc, out, err = check(gw_bin, f)
    assert rc == 1, (out, err)
    assert err.splitlines() == [
        "%s:5: access: target '10.0.0' looks like an address but is not "
        "one" % f,
        "%s:3: access-pairs: target '127.0.0.300' looks like an address "
        "but is not one" % pairs], err


# --- routes never used --------------------------------------------------------

def test_shadowed_routes_are_warnings_and_strict_refuses(gw_bin, pki,
                                                        tmp_path):
    f = tmp_path / "routes.conf"
    f.write_text(base(pki) +                                 # 1, 2
                 "route *.example.local to 127.0.0.2:22\n"   # 3
                 "route db.example.local to 127.0.0.3:22\n"  # 4
                 "route * to 127.0.0.2:22\n"                 # 5
                 "route 10.0.0.0/8 to 127.0.0.2:22\n")       # 6
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err
    assert err.splitlines() == [
        "%s:4: warning: route db.example.local: never used: route "
        "*.example.local at %s:3 matches every name it does" % (f, f),
        "%s:6: warning: route 10.0.0.0/8: never used: route * at %s:5 "
        "matches every name it does" % (f, f)], err
    assert out == "%s: ok (1 listeners, 1 certificates, 4 routes), " \
        "2 warnings\n" % f
    rc, out, err2 = check(gw_bin, f, "--strict")
    assert rc == 1 and out == ""
    assert err2 == err + "%s: 2 warnings, refused by --strict\n" % f


# --- a policy that refuses everyone -------------------------------------------

REFUSED = ("no access rule allows anyone: every client will be refused "
           "(add 'access allow any to *' to let every certificate holder "
           "through)")


def test_client_ca_without_allow_rule_is_a_warning(gw_bin, pki, tmp_path):
    pairs = tmp_path / "users.acl"
    pairs.write_text("# alice,db.example.local\n\n")
    f = tmp_path / "ca.conf"
    f.write_text(base(pki) +                                 # 1, 2
                 "route * to 127.0.0.2:22\n"                 # 3
                 'client-ca "%s"\n' % pki["ca"] +            # 4
                 "access-pairs user users.acl\n")            # 5
    rc, out, err = check(gw_bin, f)
    assert rc == 0, err
    assert err == "%s:4: warning: %s\n" % (f, REFUSED)
    assert out.endswith(", 1 warning\n"), out
    assert check(gw_bin, f, "--strict")[0] == 1
    # an allow rule, and nothing is said
    pairs.write_text("alice,db.example.local\n")
    assert check(gw_bin, f, "--strict") == (
        0, "%s: ok (1 listeners, 1 certificates, 1 routes)\n" % f, "")


def test_serve_says_the_warnings_at_start(gateway, pki, tmp_path):
    gw = gateway(["* to 127.0.0.2:22", "db.example.local to 127.0.0.3:22"],
                 extra='client-ca "%s"' % pki["ca"])
    err = gw.stderr()
    assert "sshgate: warning: %s:" % gw.conf in err, err
    assert ": route db.example.local: never used: route * at %s:" \
        % gw.conf in err, err
    assert REFUSED in err, err


# --- the control socket ----------------------------------------------------------



def test_control_in_missing_directory(gw_bin, pki, tmp_path):
    sock = tmp_path / "no-such-dir" / "control"
    f = tmp_path / "ctl.conf"
    f.write_text(base(pki) + "route * to 127.0.0.2:22\n"
                 "control %s\n" % sock)                      # 4
    rc, out, err = check(gw_bin, f)
    assert rc == 1, out
    assert err == "%s:4: control %s: %s: No such file or directory\n" % (
        f, sock, sock.parent)
    # what serve says, at the same line
    r = subprocess.run([gw_bin, "serve", "-c", str(f)], capture_output=True,
                       timeout=30)
    assert r.returncode == 1
    assert ("%s:4: control %s: %s: No such file or directory" % (
        f, sock, sock.parent)).encode() in r.stderr, r.stderr


def test_control_alone_is_the_default_path(gw_bin, pki, tmp_path):
    if os.path.isdir("/run/sshgate"):
        pytest.skip("/run/sshgate exists here")
    f = tmp_path / "ctl.conf"
    f.write_text(base(pki) + "route * to 127.0.0.2:22\ncontrol\n")
    rc, out, err = check(gw_bin, f)
    assert rc == 1
    assert err == "%s:4: control /run/sshgate/control: /run/sshgate: No " \
        "such file or directory\n" % f


def test_control_path_length_is_checked_as_serve_makes_it(gw_bin, pki,
                                                          tmp_path):
    # 100 characters as written, relative to a config in a deep directory
    d = tmp_path / ("d" * 40)
    d.mkdir()
    name = "c" * 100
    f = d / "ctl.conf"
    f.write_text(base(pki) + "route * to 127.0.0.2:22\n"
                 "control %s\n" % name)                      # 4
    full = "%s/%s" % (d, name)
    want = "%s:4: control: %s is %d bytes long; a UNIX socket's path may " \
        "have at most 107\n" % (f, full, len(full))
    rc, out, err = check(gw_bin, f)
    assert (rc, err) == (1, want), (out, err)
    r = subprocess.run([gw_bin, "serve", "-c", str(f)], capture_output=True,
                       timeout=30)
    assert r.returncode == 1 and r.stderr.decode() == want, r.stderr
    # a relative path is taken from the config's directory, made absolute
    # (check -c etc/ctl.conf from tmp_path: tmp_path/etc/c.sock)
    e = tmp_path / "etc"
    e.mkdir()
    (e / "ctl.conf").write_text(base(pki) + "route * to 127.0.0.2:22\n"
                                "control %s\n" % ("c" * (107 - len(
                                    str(e)) - 1)))
    r = subprocess.run([gw_bin, "check", "-c", "etc/ctl.conf"],
                       capture_output=True, timeout=30, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    (e / "ctl.conf").write_text(base(pki) + "route * to 127.0.0.2:22\n"
                                "control %s\n" % ("c" * (107 - len(
                                    str(e)))))
    r = subprocess.run([gw_bin, "check", "-c", "etc/ctl.conf"],
                       capture_output=True, timeout=30, cwd=str(tmp_path))
    assert r.returncode == 1
    assert b"etc/ctl.conf:4: control: %s/c" % str(e).encode() in r.stderr
    assert b"is 108 bytes long" in r.stderr, r.stderr


def ctl_run(gw_bin, args, env_sock=None):
    env = dict(os.environ)
    env.pop("SSHGATE_CONTROL", None)
    if env_sock is not None:
        env["SSHGATE_CONTROL"] = str(env_sock)
    r = subprocess.run([gw_bin, "ctl"] + args, capture_output=True,
                       timeout=30, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_ctl_finds_the_socket_without_s(gateway, gw_bin, tmp_path):
    sock = tmp_path / "gw.sock"
    gateway(["* to 127.0.0.2:22"], extra="control %s" % sock)
    rc, out, err = ctl_run(gw_bin, ["stats"], env_sock=sock)
    assert rc == 0, err
    assert "sshgate_sessions_active 0" in out
    # -s still wins
    rc, out, err = ctl_run(gw_bin, ["-s", str(sock), "stats"],
                           env_sock=tmp_path / "elsewhere.sock")
    assert rc == 0, err
    if not os.path.exists("/run/sshgate/control"):
        rc, out, err = ctl_run(gw_bin, ["stats"])
        assert rc == 1
        assert err == "sshgate: ctl: cannot reach the gateway at " \
            "/run/sshgate/control: No such file or directory\n", err


# --- files the service user cannot read -----------------------------------------



@pytest.fixture
def open_dir(pki):
    """A directory anyone may read (pytest's own are root's only), with
    the gateway certificate readable by all and its key by root only."""
    if os.getuid() != 0:
        pytest.skip("needs root: the files are tried as user nobody")
    pwd.getpwnam("nobody")
    d = tempfile.mkdtemp(prefix="sshgate-traps-")
    os.chmod(d, 0o755)
    shutil.copy(str(pki["ecdsa_crt"]), d + "/gw.crt")
    shutil.copy(str(pki["ecdsa_key"]), d + "/gw.key")
    os.chmod(d + "/gw.crt", 0o644)
    os.chmod(d + "/gw.key", 0o600)
    yield d
    shutil.rmtree(d)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def test_files_the_user_cannot_read_are_errors(gw_bin, open_dir):
    d = open_dir
    os.mkdir(d + "/logs", 0o700)                    # root's only
    write(d + "/routes.conf", "route * to 127.0.0.2:22\n", 0o600)
    write(d + "/users.acl", "alice,db.example.local\n", 0o600)
    write(d + "/ok.acl", "bob,db.example.local\n")
    f = d + "/gw.conf"
    write(f, "listen 127.0.0.1:%d\n" % free_port() +     # 1
          "certificate gw.crt key gw.key\n"              # 2
          "include routes.conf\n"                        # 3
          "user nobody\n"                                # 4
          "log file logs/gw.log\n"                       # 5
          "client-ca gw.crt\n"                           # 6
          "access-pairs user users.acl\n"                # 7
          "access-pairs user ok.acl\n"                   # 8
          "crl missing.crl\n")                           # 9
    rc, out, err = check(gw_bin, f)
    assert rc == 1, (out, err)
    # a file missing for root too is said once, by what loads it
    assert err.splitlines() == [
        "%s:2: user nobody cannot read %s/gw.key: Permission denied (the "
        "next reload would fail)" % (f, d),
        "%s:3: user nobody cannot read %s/routes.conf: Permission denied "
        "(the next reload would fail)" % (f, d),
        "%s:5: user nobody cannot reach log file %s/logs/gw.log: "
        "Permission denied (reopening it on SIGUSR1 would fail)" % (f, d),
        "%s:7: user nobody cannot read %s/users.acl: Permission denied "
        "(the next reload would fail)" % (f, d),
        "%s:9: crl: cannot load %s/missing.crl: No such file or directory"
        % (f, d)], err
    # the same files, readable by nobody: nothing to say
    for name in ("gw.key", "routes.conf", "users.acl"):
        os.chmod(d + "/" + name, 0o644)
    os.chmod(d + "/logs", 0o755)
    with open(f) as conf:
        text = conf.read()
    write(f, text.replace("crl missing.crl\n", ""))
    rc, out, err = check(gw_bin, f)
    assert (rc, err) == (0, ""), err


def test_serve_warns_at_start_what_the_next_reload_hits(gw_bin, open_dir):
    d = open_dir
    f = d + "/gw.conf"
    write(f, "listen 127.0.0.1:%d\n" % free_port() +     # 1
          "certificate gw.crt key gw.key\n"              # 2
          "route * to 127.0.0.2:22\n"                    # 3
          "user nobody\n"                                # 4
          "workers 1\ntimeout drain 1s\n")
    errf = open(d + "/stderr.txt", "wb")
    p = subprocess.Popen([gw_bin, "serve", "-c", f], stdin=subprocess.DEVNULL,
                         stdout=errf, stderr=errf)

    def stderr():
        with open(d + "/stderr.txt", errors="replace") as e:
            return e.read()
    try:
        wait_until(lambda: "serving with" in stderr() or
                   p.poll() is not None, 15, what="start")
        assert p.poll() is None, stderr()
        assert "sshgate: warning: %s:2: user nobody cannot read %s/gw.key: "\
            "Permission denied (the next reload would fail)" % (f, d) \
            in stderr()
        # and so it does
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload failed" in stderr(), 15, what="reload")
        assert "gw.key: Permission denied" in stderr()
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(20)
        errf.close()
    assert rc == 0, stderr()
    for mark in ("ERROR: AddressSanitizer", "runtime error:",
                 "LeakSanitizer"):
        assert mark not in stderr()


# --- the docs agree with check, and with each other --------------------------


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def keyword_table():
    with open(os.path.join(TOP, "src", "config", "keywords.c")) as f:
        src = f.read()
    table = src[src.index("const struct keyword conf_keywords[]"):]
    table = table[:table.index("};")]
    kws = re.findall(r'[A-Z]+\("([a-z-]+)",', table)
    assert len(kws) > 20
    return kws


def looks_like_config(text, keywords):
    """Every directive line starts with a keyword, and there is one."""
    firsts = [l.split("#")[0].split()[0] for l in text.splitlines()
              if l.split("#")[0].strip()]
    return bool(firsts) and all(w in keywords for w in firsts)


def readme_blocks(keywords):
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    return [b for lang, b in blocks
            if lang in ("", "conf") and looks_like_config(b, keywords)]


def man_blocks(keywords):
    with open(os.path.join(TOP, "doc", "sshgate.conf.5")) as f:
        text = f.read()
    out = []
    for b in re.findall(r"^\.EX\n(.*?)^\.EE", text, re.S | re.M):
        b = b.replace("\\-", "-").replace("\\e", "\\")
        if looks_like_config(b, keywords):
            out.append(b)
    return out


def example_files():
    return sorted(glob.glob(os.path.join(TOP, "examples", "*.conf")))


@pytest.fixture
def doc_env(pki, tmp_path):
    """A directory anyone may read, with what documented configs name:
    the gateway certificate, a client CA and its CRL, pairs files, and a
    ticket key file (readable by its owner only)."""
    from test_access import ClientPki
    d = tempfile.mkdtemp(prefix="sshgate-docs-")
    os.chmod(d, 0o755)
    shutil.copy(str(pki["ecdsa"]), d + "/gw.pem")
    cp_dir = tmp_path / "cpki"
    cp_dir.mkdir()
    cp = ClientPki(cp_dir)
    shutil.copy(str(cp.path("ca.pem")), d + "/ca.pem")
    shutil.copy(str(cp.path("crl.pem")), d + "/ca.crl")
    write(d + "/users.acl", "# NAME,TARGET\nalice,192.168.0.10\n")
    write(d + "/groups.acl", "dev,web.example.local\n")
    os.mkdir(d + "/conf.d", 0o755)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o755 if f == "conf.d" else 0o644)
    # a key file is private: mode 0600 or refused
    write(d + "/ticket-keys", base64.b64encode(os.urandom(80)).decode() +
          "\n")
    os.chmod(d + "/ticket-keys", 0o600)
    yield d
    shutil.rmtree(d)


def runnable(text, d):
    """A documented config with its files swapped for the test's, and
    what a fragment leaves out (listen, certificate, route) added."""
    out, have = [], set()
    for line in text.splitlines():
        words = line.split("#")[0].split()
        kw = words[0] if words else None
        have.add(kw)
        if kw == "certificate":
            line = "certificate %s/gw.pem" % d
        elif kw == "client-ca":
            line = "client-ca %s/ca.pem" % d
        elif kw == "crl":
            line = "crl %s/ca.crl" % d
        elif kw == "access-pairs":
            line = "access-pairs %s %s/%s.acl" % (words[1], d, words[1] + "s")
        elif kw == "log" and words[1] == "file":
            line = "log file %s/gw.log" % d
        elif kw == "control":
            line = "control %s/control" % d
        elif kw == "include":
            line = "include %s/conf.d/*.conf" % d
        elif kw == "tls-ticket-keys":
            line = "tls-ticket-keys %s/ticket-keys" % d
        elif kw == "user":
            line = "user nobody"
        out.append(line)
    if "listen" not in have:
        out.insert(0, "listen 127.0.0.1:2222")
    if "certificate" not in have:
        out.insert(0, "certificate %s/gw.pem" % d)
    if "route" not in have:
        out.append("route * to 127.0.0.2:22")
    return "\n".join(out) + "\n"


def test_documented_configs_pass_strict_check(gw_bin, doc_env):
    """Every config of the README, sshgate.conf.5 and examples/ passes
    check --strict, and every keyword check knows is documented."""
    keywords = keyword_table()
    with open(os.path.join(TOP, "doc", "sshgate.conf.5")) as f:
        man = f.read().replace("\\-", "-")
    with open(os.path.join(TOP, "doc", "sshgate.conf.md")) as f:
        md = f.read()
    for kw in keywords:
        assert re.search(r"(^|[^a-z-])%s([^a-z-]|$)" % re.escape(kw), man,
                         re.M), "%s not in sshgate.conf.5" % kw
        assert "`%s" % kw in md, "%s not in sshgate.conf.md" % kw
    docs = [("README.md block %d" % i, b)
            for i, b in enumerate(readme_blocks(keywords))]
    docs += [("sshgate.conf.5 example %d" % i, b)
             for i, b in enumerate(man_blocks(keywords))]
    for path in example_files():
        with open(path) as f:
            docs.append((os.path.basename(path), f.read()))
    assert len(docs) >= 6 + 5 + 3, [n for n, _ in docs]
    bad = []
    for name, text in docs:
        f = doc_env + "/doc.conf"
        write(f, runnable(text, doc_env))
        rc, out, err = check(gw_bin, f, "--strict")
        if rc != 0:
            bad.append("%s:\n%s" % (name, err))
    assert bad == [], "\n".join(bad)


def doc_texts():
    paths = [os.path.join(TOP, "README.md")]
    paths += glob.glob(os.path.join(TOP, "doc", "*.[158]"))
    paths += glob.glob(os.path.join(TOP, "doc", "*.md"))
    paths += example_files()
    out = {}
    for p in paths:
        with open(p) as f:
            out[os.path.relpath(p, TOP)] = f.read().replace("\\-", "-")
    return out


def test_documented_paths_and_addresses_agree(gw_bin):
    sockets, metrics = {}, {}
    for name, text in doc_texts().items():
        for m in re.findall(r"/run/sshgate/[\w.-]*\w", text):
            sockets.setdefault(m, set()).add(name)
        for m in re.findall(r"\bmetrics\s+(\d[\d.]*:\d+)", text) + \
                re.findall(r"http://(\d[\d.]*:\d+)/metrics", text):
            metrics.setdefault(m, set()).add(name)
    assert list(sockets) == ["/run/sshgate/control"], sockets
    assert len(sockets["/run/sshgate/control"]) >= 4, sockets
    assert list(metrics) == ["127.0.0.1:9810"], metrics
    for must in ("README.md", "doc/sshgate.8", "doc/sshgate.conf.5",
                 "examples/production.conf"):
        assert must in sockets["/run/sshgate/control"], must
        assert must in metrics["127.0.0.1:9810"], must
    # every page a NAME line lists is there (man sshgate-ssh-config)
    for page in glob.glob(os.path.join(TOP, "doc", "*.[158]")):
        section = page.rsplit(".", 1)[1]
        with open(page) as f:
            text = f.read()
        names = text[text.index(".SH NAME\n") + 9:].splitlines()[0]
        names = names.split(" \\- ")[0].replace("\\-", "-")
        for n in names.split(", "):
            assert os.path.exists(os.path.join(
                TOP, "doc", "%s.%s" % (n, section))), (page, n)
    # and the socket path is the one sshgate ctl uses without -s
    if not os.path.exists("/run/sshgate/control"):
        rc, out, err = ctl_run(gw_bin, ["stats"])
        assert "cannot reach the gateway at /run/sshgate/control:" in err
