#!/bin/sh
# `make bench-connect`: the time of N sequential `ssh HOST true` runs
# through the demo gateway with `sshgate connect` as ProxyCommand, with TLS
# session resumption (the default) and with --no-resume, alternating.
# Needs `make run` running in another terminal (demo gateway + server).
set -e
bin=$1
n=${N:-100}
top=$(cd "$(dirname "$0")/.." && pwd)
demo=$top/build/demo
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export XDG_CACHE_HOME=$cache
run() {
	pc="$bin connect $1 --ca $demo/ca.pem 127.0.0.1:2222 %h"
	start=$(date +%s%N)
	i=0
	while [ $i -lt "$n" ]; do
		ssh -F /dev/null -i "$demo/user_key" -o BatchMode=yes \
			-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no \
			-o LogLevel=ERROR -o ProxyCommand="$pc" "$(id -un)@demo.local" true
		i=$((i + 1))
	done
	end=$(date +%s%N)
	echo "$2: $n runs in $(( (end - start) / 1000000 )) ms ($(( (end - start) / 1000 / n )) us/run)"
}
for round in 1 2; do
	run "" "resume   "
	run "--no-resume" "no-resume"
done
