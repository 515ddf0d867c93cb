#!/bin/sh
# scripts/deb-check.sh: what `make deb` built, installed on this machine
# the way an operator would (apt-get install ./sshgate_*.deb), checked,
# and purged again. As root, on a machine without sshgate installed: CI.
#   - lintian: no errors (warnings are printed)
#   - installed: the binary, man pages, unit (disabled, not started),
#     the sshgate user, /run/sshgate, logrotate, a config that
#     `sshgate check` accepts (as root and as the service user)
#   - purged: nothing of it left (the user too, if this script made it)
set -eu
cd "$(dirname "$0")/.."
deb=$(ls build/deb/sshgate_*_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)
[ -n "$deb" ] || { echo "deb-check: no build/deb/sshgate_*.deb (make deb)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "deb-check: run as root" >&2; exit 1; }
if dpkg-query -W -f='${Status}' sshgate 2>/dev/null | grep -q installed; then
	echo "deb-check: sshgate is installed here already; not touching it" >&2
	exit 1
fi
fail() { echo "deb-check: FAILED: $*" >&2; exit 1; }
step() { echo "== deb-check: $*"; }

version=$(dpkg-deb -f "$deb" Version)
want=$(sed -n 's/^VERSION *:= *//p' Makefile)
[ "$version" = "$want" ] || fail "package version $version, Makefile $want"

step "lintian $deb"
rc=0
out=$(lintian -I --fail-on error "$deb" 2>&1) || rc=$?
printf '%s\n' "$out" | grep -v '^running with root' || true
[ $rc -eq 0 ] || fail "lintian reports errors"

had_user=no
getent passwd sshgate >/dev/null && had_user=yes
had_run=no
[ -e /run/sshgate ] && had_run=yes
cleanup() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sshgate >/dev/null 2>&1 || true
	if [ "$had_user" = no ] && getent passwd sshgate >/dev/null; then
		userdel sshgate 2>/dev/null || true
		groupdel sshgate 2>/dev/null || true
	fi
	if [ "$had_run" = no ]; then rmdir /run/sshgate 2>/dev/null || true; fi
}
trap cleanup EXIT
trap "exit 1" HUP INT TERM PIPE

step "apt-get install ./$deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null

step "what it installed"
/usr/bin/sshgate version
/usr/bin/sshgate --help | grep -q "tls-ticket-key" || fail "sshgate --help"
for page in sshgate.8 sshgate.conf.5 sshgate-connect.1 sshgate-ssh-config.1; do
	[ -f "/usr/share/man/man${page##*.}/$page.gz" ] || fail "no man page $page"
done
getent passwd sshgate >/dev/null || fail "no user sshgate (sysusers.d)"
[ "$(stat -c %U:%a /run/sshgate)" = "sshgate:755" ] || fail "/run/sshgate: $(stat -c %U:%a /run/sshgate)"
[ "$(stat -c %U:%G:%a /etc/sshgate/gateway.pem)" = "root:sshgate:640" ] ||
	fail "/etc/sshgate/gateway.pem: $(stat -c %U:%G:%a /etc/sshgate/gateway.pem)"
[ -f /etc/logrotate.d/sshgate ] || fail "no /etc/logrotate.d/sshgate"
unit=/lib/systemd/system/sshgate.service
grep -q "^ExecStart=/usr/bin/sshgate serve -c /etc/sshgate/sshgate.conf" $unit || fail "$unit"
state=$(systemctl is-enabled sshgate.service 2>/dev/null || true)
[ "$state" = disabled ] || fail "sshgate.service is '$state', not disabled"
step "sshgate check -c /etc/sshgate/sshgate.conf (root, then user sshgate)"
/usr/bin/sshgate check -c /etc/sshgate/sshgate.conf || fail "check as root"
setpriv --reuid=sshgate --regid=sshgate --clear-groups \
    /usr/bin/sshgate check -c /etc/sshgate/sshgate.conf || fail "check as sshgate"

step "apt-get purge sshgate"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sshgate >/dev/null
for f in /usr/bin/sshgate /etc/sshgate $unit /etc/logrotate.d/sshgate; do
	[ ! -e "$f" ] || fail "$f is left after purge"
done
cleanup
trap - EXIT
[ "$had_user" = yes ] || ! getent passwd sshgate >/dev/null || fail "user sshgate left"
step "ok"
