"""A TLS scanner's view of the gateway (testssl.sh, Debian's package): with
the default cipher policy it must report no weak or obsolete protocol or
cipher (no CBC, so no LUCKY13), and no known protocol vulnerability."""

import json
import os
import shutil
import subprocess

import pytest

# testssl checks: protocols, cipher categories, forward secrecy, and the
# protocol vulnerabilities a cipher or version choice can cause
CHECKS = ["-p", "-s", "-f", "-L", "-A", "-O", "-W", "-Z", "-C", "-R"]
BAD = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


@pytest.mark.skipif(os.environ.get("SSHGATE_SANITIZE") == "1",
                    reason="the cipher policy is OpenSSL's; scanned once, "
                    "in the plain build")
@pytest.mark.slow(30)
def test_testssl_finds_no_weak_protocol_or_cipher(gateway, raw_backend,
                                                  tmp_path):
    assert shutil.which("testssl"), "testssl.sh is not installed " \
        "(scripts/deps.sh installs it)"
    b = raw_backend(lambda c, rec: c.sendall(b"SSH-2.0-backend\r\n"))
    gw = gateway(["* to %s" % b.hostport])
    out = tmp_path / "scan.json"
    r = subprocess.run(
        ["testssl", "--quiet", "--color", "0", "--warnings", "off",
         "--nodns", "none", "--jsonfile", str(out)] + CHECKS +
        ["--ip", "127.0.0.1", "gw.example.local:%d" % gw.port],
        capture_output=True, timeout=300,
        # a session of its own: where the kernel groups sessions for CPU
        # (autogroup), the scan gets a share as large as all the other
        # tests together, instead of one process's share among hundreds
        start_new_session=True)
    findings = json.loads(out.read_text())
    by_id = {f["id"]: f for f in findings}
    bad = ["%s %s: %s" % (f["severity"], f["id"], f["finding"])
           for f in findings if f["severity"] in BAD]
    assert not bad, "\n".join(bad) + "\n" + r.stdout.decode()[-3000:]
    # what was scanned was really the gateway, over TLS 1.2 and 1.3
    assert by_id["TLS1_2"]["finding"] == "offered"
    assert by_id["TLS1_3"]["finding"].startswith("offered")
    for weak in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL",
                 "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                 "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
        assert by_id[weak]["finding"] == "not offered", by_id[weak]
    assert by_id["LUCKY13"]["finding"] == "not vulnerable"
    assert by_id["PFS"]["finding"] == "offered"
    assert not [c for c in by_id["PFS_ciphers"]["finding"].split()
                if "CBC" in c or c.endswith("-SHA")]
