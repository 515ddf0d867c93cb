#!/bin/sh
# `make run`: a demo OpenSSH server on 127.0.0.2:2201 behind the gateway on
# 127.0.0.1:2222, with a throwaway PKI and keys under build/demo.
set -e
bin=$1
top=$(cd "$(dirname "$0")/.." && pwd)
demo=$top/build/demo
user=$(id -un)
"$top/scripts/pki.sh" "$demo"
cd "$demo"
[ -f host_key ] || ssh-keygen -q -t ed25519 -N "" -f host_key
[ -f user_key ] || ssh-keygen -q -t ed25519 -N "" -f user_key
cp user_key.pub authorized_keys
chmod 600 authorized_keys
cat > sshd_config <<EOT
ListenAddress 127.0.0.2:2201
HostKey $demo/host_key
AuthorizedKeysFile $demo/authorized_keys
PidFile $demo/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOT
[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$demo/sshd_config" 2>"$demo/sshd.log" &
sshd_pid=$!
gw_pid=
cleanup() {
	kill $gw_pid $sshd_pid 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sleep 0.3
kill -0 $sshd_pid 2>/dev/null || { cat "$demo/sshd.log"; exit 1; }
cat <<EOT

sshgate demo: gateway on 127.0.0.1:2222, OpenSSH server on 127.0.0.2:2201.
In another terminal, reach the server through the gateway:

  ssh -i $demo/user_key -o UserKnownHostsFile=$demo/known_hosts -o StrictHostKeyChecking=accept-new -o ProxyCommand="$bin connect --ca $demo/ca.pem 127.0.0.1:2222 %h" $user@demo.local

or with the HAProxy recipe's client:

  ssh -i $demo/user_key -o UserKnownHostsFile=$demo/known_hosts -o StrictHostKeyChecking=accept-new -o ProxyCommand="openssl s_client -quiet -verify_return_error -CAfile $demo/ca.pem -connect 127.0.0.1:2222 -servername %h" $user@demo.local

EOT
"$bin" serve -c "$top/examples/demo.conf" &
gw_pid=$!
printf 'Reload the config: kill -HUP %s; stop: Ctrl-C.\n\n' "$gw_pid"
wait $gw_pid
