#!/bin/sh
# Installs, on Debian, the packages sshgate needs to build, test, run the
# demo and benchmark. Only what is missing; asks nothing.
set -e
pkgs="gcc make pkg-config libssl-dev libev-dev libc-ares-dev openssl
      libcmocka-dev python3-pytest python3-pytest-xdist python3-cryptography
      openssh-server openssh-client dnsmasq-base
      haproxy valgrind clang groff-base man-db testssl.sh"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "sshgate: installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# no service of these packages is wanted running: the tests start their own
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
