#!/bin/sh
# Installs, on Debian, the packages one job needs; only what is missing,
# asking nothing. scripts/deps.sh [build|demo|test|bench|deb]...
# (default: build demo test bench)
#   build  compile sshgate
#   demo   `make run`: build, plus an OpenSSH server and client
#   test   `make test`: build, plus cmocka, pytest, the real peers the
#          integration tests drive, and the tools CI runs (sanitizers,
#          fuzzers, valgrind, man page checks, a TLS scanner)
#   bench  `make bench`: build, plus HAProxy to compare against
#   deb    `make deb` and `make deb-check`: build, plus Debian's packaging
#          tools (debhelper, dpkg-dev, lintian) and the unit tests' cmocka
set -e
build="gcc make pkg-config libssl-dev libev-dev libc-ares-dev openssl"
demo="openssh-server openssh-client"
test="libcmocka-dev python3-pytest python3-pytest-xdist python3-cryptography openssh-server
      openssh-client dnsmasq-base haproxy valgrind clang groff-base man-db
      testssl.sh strace tinyproxy curl"
bench="haproxy python3"
deb="debhelper dpkg-dev fakeroot lintian libcmocka-dev"
[ $# -gt 0 ] || set -- demo test bench
pkgs=$build
for job in "$@"; do
	case $job in
	build) ;;
	demo) pkgs="$pkgs $demo" ;;
	test) pkgs="$pkgs $test" ;;
	bench) pkgs="$pkgs $bench" ;;
	deb) pkgs="$pkgs $deb" ;;
	*) echo "usage: scripts/deps.sh [build|demo|test|bench|deb]..." >&2
	   exit 2 ;;
	esac
done
missing=""
for p in $pkgs; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "sshgate: installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# No service of these packages is wanted running (haproxy, tinyproxy): the
# tests start their own, on their own configs and free ports. A package's
# postinst asks policy-rc.d (invoke-rc.d, deb-systemd-invoke) before it
# starts its service; unless the machine has one already (containers
# usually do), one that says "not now" (101) is in place for the install
# only. Nothing already running is stopped, and what a package enables
# stays enabled. (SSHGATE_POLICY_RC_D: another path, for the tests.)
policy=${SSHGATE_POLICY_RC_D:-/usr/sbin/policy-rc.d}
if [ ! -e $policy ]; then
	trap '$sudo rm -f $policy' EXIT
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs\nexit 101\n' |
		$sudo tee $policy >/dev/null
	$sudo chmod 755 $policy
fi
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
