#!/bin/sh
# Makes a throwaway PKI in DIR: ca.pem, gateway ECDSA and RSA certificates
# (SAN: localhost, 127.0.0.1, ::1), valid 90 days. Used by the demo and the
# benchmark; tests make their own. Kept while every certificate has more
# than 7 days left, made anew otherwise.
set -e
dir=$1
mkdir -p "$dir"
cd "$dir"
fresh=yes
for f in ca.pem gateway-ecdsa.pem gateway-rsa.pem; do
	[ -f $f ] && openssl x509 -checkend 604800 -noout -in $f >/dev/null 2>&1 ||
		fresh=no
done
[ $fresh = yes ] && exit 0
[ -f ca.pem ] && echo "sshgate demo: certificates in $dir renewed (they ran out within 7 days)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.pem -days 90 -subj "/CN=sshgate demo CA" 2>/dev/null
san="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
for kind in ecdsa rsa; do
	if [ $kind = ecdsa ]; then
		alg="-newkey ec -pkeyopt ec_paramgen_curve:P-256"
	else
		alg="-newkey rsa:2048"
	fi
	openssl req -new $alg -nodes -keyout gw-$kind.key -out gw-$kind.csr \
		-subj "/CN=localhost" 2>/dev/null
	printf '%s\n' "$san" > san.ext
	openssl x509 -req -in gw-$kind.csr -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days 90 -extfile san.ext -out gw-$kind.crt 2>/dev/null
	cat gw-$kind.crt gw-$kind.key > gateway-$kind.pem
	rm -f gw-$kind.csr gw-$kind.crt gw-$kind.key
done
rm -f san.ext ca.srl
chmod 600 *.pem ca.key
