#!/bin/sh
# `make bench`: sshgate and HAProxy side by side on loopback (bench/bench.py).
# Usage: scripts/bench.sh /abs/path/to/sshgate [bench.py options...]
# Results: a table on stdout and build/bench/results.json. Every process it
# starts (proxies, backends, clients) is stopped on exit, whatever happens.
set -e
bin=${1:?usage: scripts/bench.sh /abs/path/to/sshgate [options]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
haproxy=${HAPROXY:-/usr/sbin/haproxy}
py=/usr/bin/python3
[ -x "$bin" ] || { echo "bench: $bin: not an executable" >&2; exit 1; }
[ -x "$haproxy" ] || { echo "bench: $haproxy: not installed" >&2; exit 1; }
[ -x "$py" ] || { echo "bench: $py: not installed" >&2; exit 1; }

# Both proxies run with 20000 fds (bench.py --nofile, set on each proxy
# alone); the client processes and the sink backend inherit this shell's
# limit and hold one socket per session each. With a hard limit below
# 20000, bench.py measures at that limit and says so.
want=20000
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $want ]; then
	echo "bench: the hard open-file limit is $hard, below $want:" \
		"the idle-session limit is measured at $hard fds" >&2
	want=$hard
fi
ulimit -n "$want"

mkdir -p "$top/build/bench"
rm -f "$top/build/bench/results.json"
tmp=$(mktemp -d "$top/build/bench/run.XXXXXX")
pid=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	# bench.py leads its own process group: proxies, backends, clients
	if [ -n "$pid" ]; then
		kill -s TERM -- "-$pid" 2>/dev/null || true
		i=0
		while kill -s 0 -- "-$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -s KILL -- "-$pid" 2>/dev/null || true
	fi
	# anything that left the group: only our own (its command names $tmp)
	if [ -f "$tmp/pids" ]; then
		while read -r p; do
			if grep -qF "$tmp" "/proc/$p/cmdline" 2>/dev/null; then
				kill -s KILL "$p" 2>/dev/null || true
			fi
		done < "$tmp/pids"
	fi
	# keep the last run's logs for a look; drop the rest (keys included)
	rm -rf "$top/build/bench/last-logs"
	mkdir -p "$top/build/bench/last-logs"
	for f in "$tmp"/*.log "$tmp"/*.out "$tmp"/*.conf "$tmp"/*.cfg; do
		[ -f "$f" ] && cp "$f" "$top/build/bench/last-logs/"
	done
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

"$top/scripts/pki.sh" "$tmp/pki" >/dev/null

# its own session and process group, so that one kill reaches them all
setsid -w "$py" "$top/bench/bench.py" --sshgate "$bin" --haproxy "$haproxy" \
	--work "$tmp" --out "$top/build/bench/results.json" \
	--invoked-as "scripts/bench.sh $bin${*:+ $*}" "$@" &
pid=$!
rc=0
wait $pid || rc=$?
exit $rc
