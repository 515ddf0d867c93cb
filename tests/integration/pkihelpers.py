"""Certificates and CRLs made with Python's `cryptography`, including ones
`openssl req` cannot make (NUL bytes, hundreds of OUs), for the tests."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.utcnow()


def name(cn, ous=()):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou)
              for ou in ous]
    return x509.Name(attrs)


class Issued:
    def __init__(self, cert, key):
        self.cert, self.key = cert, key

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def issue(subject, issuer=None, ca=False, serial=None, days=30, seconds=None,
          server_names=()):
    """A certificate for subject (an x509.Name), signed by issuer (an
    Issued; None: self-signed), valid for days (or seconds) from now.
    server_names: a server certificate for these DNS names."""
    key = ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(key.public_key())
         .serial_number(serial or x509.random_serial_number())
         .not_valid_before(NOW - datetime.timedelta(hours=1))
         .not_valid_after(datetime.datetime.utcnow() + (
             datetime.timedelta(seconds=seconds) if seconds is not None
             else datetime.timedelta(days=days))))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                            critical=True)
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    elif server_names:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in server_names]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    signer = issuer.key if issuer else key
    return Issued(b.sign(signer, hashes.SHA256()), key)


def crl(issuer, revoked=(), next_update_days=30):
    """A CRL of issuer revoking these Issued; its next update is due in
    next_update_days (negative: it is out of date)."""
    now = datetime.datetime.utcnow()
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(issuer.cert.subject)
         .last_update(now - datetime.timedelta(days=3))
         .next_update(now + datetime.timedelta(days=next_update_days)))
    for r in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(r.cert.serial_number)
            .revocation_date(NOW - datetime.timedelta(minutes=5)).build())
    return b.sign(issuer.key, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


