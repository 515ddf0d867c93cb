#!/bin/sh
# Installs, on Debian, the packages one job needs; only what is missing,
# asking nothing. scripts/deps.sh [build|demo|test|bench]... (default: all)
#   build  compile sshgate
#   demo   `make run`: build, plus an OpenSSH server and client
#   test   `make test`: build, plus cmocka, pytest, the real peers the
#          integration tests drive, and the tools CI runs (sanitizers,
#          fuzzers, valgrind, man page checks, a TLS scanner)
#   bench  `make bench`: build, plus HAProxy to compare against
set -e
build="gcc make pkg-config libssl-dev libev-dev libc-ares-dev openssl"
demo="openssh-server openssh-client"
test="libcmocka-dev python3-pytest python3-pytest-xdist python3-cryptography openssh-server
      openssh-client dnsmasq-base haproxy valgrind clang groff-base man-db
      testssl.sh strace curl"
bench="haproxy python3"
[ $# -gt 0 ] || set -- demo test bench
pkgs=$build
for job in "$@"; do
	case $job in
	build) ;;
	demo) pkgs="$pkgs $demo" ;;
	test) pkgs="$pkgs $test" ;;
	bench) pkgs="$pkgs $bench" ;;
	*) echo "usage: scripts/deps.sh [build|demo|test|bench]..." >&2; exit 2 ;;
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
# no service of these packages is wanted running: the tests start their own
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
