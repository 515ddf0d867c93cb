/*
 * tlsrec: the TLS 1.3 record layer of a server after its handshake
 * (RFC 8446 section 5, and the post-handshake messages it must take:
 * KeyUpdate and alerts). Once OpenSSL has finished a handshake, the
 * gateway hands over the two application traffic secrets and the
 * record sequence numbers reached so far and frees the SSL object;
 * from then on this module protects and unprotects records.
 *
 * Pure: bytes and keys in, bytes out. No sockets, no logging, no state
 * but the hash and cipher algorithms, fetched from OpenSSL once per
 * process and read-only after; libcrypto only (EVP AEAD and digests),
 * never libssl. Opening decrypts in place in the caller's buffer, one
 * record per call; sealing writes whole records into the caller's
 * buffer. Nothing is allocated per record; tlsrec_init and KeyUpdates
 * allocate the cipher contexts and a digest context for a moment.
 *
 * Memory: sizeof(struct tlsrec) is 160 bytes on LP64, plus what
 * OpenSSL allocates for the two EVP_CIPHER_CTX, each an EVP_CIPHER_CTX
 * (184 bytes) and its provider context (AES-GCM 960, ChaCha20-Poly1305
 * 848): 2288 bytes for the AES suites, 2064 for ChaCha20, in four
 * allocations (measured on OpenSSL 3.0.19, x86-64). Opening and sealing
 * allocate nothing.
 */
#ifndef SSHGATE_TLSREC_H
#define SSHGATE_TLSREC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TLSREC_HEADER 5			/* type, legacy version, length */
#define TLSREC_TAG 16			/* the AEAD tag, all three suites */
#define TLSREC_PLAIN_MAX 16384		/* 2^14: content of one record */
#define TLSREC_CIPHER_MAX (16384 + 256)	/* TLSCiphertext.length, at most */
#define TLSREC_RECORD_MAX (TLSREC_HEADER + TLSREC_CIPHER_MAX)
#define TLSREC_SECRET_MAX 48		/* SHA-384 */
#define TLSREC_KEY_MAX 32
#define TLSREC_IV_LEN 12
/* What one sealed record adds to its content: header, type byte, tag. */
#define TLSREC_OVERHEAD (TLSREC_HEADER + 1 + TLSREC_TAG)
/*
 * The most tlsrec_seal writes for n bytes of application data: one
 * record per 2^14 bytes begun. A 64 KiB relay buffer needs
 * TLSREC_SEAL_SIZE(65536) = 65624 bytes.
 */
#define TLSREC_SEAL_SIZE(n) \
	((size_t)(n) + ((size_t)(n) + TLSREC_PLAIN_MAX - 1) / \
	    TLSREC_PLAIN_MAX * TLSREC_OVERHEAD)
#define TLSREC_ALERT_SIZE (TLSREC_OVERHEAD + 2)		/* 24 */
#define TLSREC_KEY_UPDATE_SIZE (TLSREC_OVERHEAD + 5)	/* 27 */

/*
 * Write-key limits (RFC 8446 5.5: AES-GCM is safe for about 2^24.5
 * full-size records per key). From TLSREC_KEY_UPDATE_DUE records on
 * under one key, tlsrec_key_update_due says a KeyUpdate should be
 * sealed; an AES-GCM key that reaches TLSREC_GCM_LIMIT seals no more
 * application data until then. ChaCha20-Poly1305 has no such limit
 * before its sequence numbers run out, but is asked for a KeyUpdate
 * at the same count (harmless, and one rule).
 */
#define TLSREC_KEY_UPDATE_DUE (UINT64_C(1) << 24)
#define TLSREC_GCM_LIMIT UINT64_C(23726566)		/* 2^24.5 */

/* The suites, as SSL_CIPHER_get_protocol_id gives them. */
enum tlsrec_suite {
	TLSREC_AES_128_GCM_SHA256 = 0x1301,
	TLSREC_AES_256_GCM_SHA384 = 0x1302,
	TLSREC_CHACHA20_POLY1305_SHA256 = 0x1303,
};

/* Alert descriptions this module reports (RFC 8446 6). */
enum tlsrec_alert {
	TLSREC_ALERT_CLOSE_NOTIFY = 0,
	TLSREC_ALERT_UNEXPECTED_MESSAGE = 10,
	TLSREC_ALERT_BAD_RECORD_MAC = 20,
	TLSREC_ALERT_RECORD_OVERFLOW = 22,
	TLSREC_ALERT_ILLEGAL_PARAMETER = 47,
	TLSREC_ALERT_DECODE_ERROR = 50,
	TLSREC_ALERT_INTERNAL_ERROR = 80,
	TLSREC_ALERT_USER_CANCELED = 90,
};

/*
 * One session's record layer. Embedded by its owner; the fields are
 * this module's own. Read is client to server, write server to client.
 */
struct tlsrec {
	EVP_CIPHER_CTX *rctx, *wctx;	/* key set once per key, IV per record */
	uint64_t rseq, wseq;		/* next record's sequence number */
	unsigned char rsecret[TLSREC_SECRET_MAX];	/* for KeyUpdate */
	unsigned char wsecret[TLSREC_SECRET_MAX];
	unsigned char riv[TLSREC_IV_LEN], wiv[TLSREC_IV_LEN];
	uint16_t suite;			/* enum tlsrec_suite */
	uint8_t hashlen;		/* 32 or 48: the secrets' length */
	uint8_t flags;			/* what has happened (tlsrec.c) */
};

/* What tlsrec_open found in the buffer. */
enum tlsrec_status {
	TLSREC_DATA = 0,	/* application data (possibly empty) */
	TLSREC_NEED_MORE,	/* no whole record yet: nothing consumed */
	TLSREC_CONTROL,		/* a KeyUpdate (or user_canceled): nothing
				 * for the application; see
				 * tlsrec_key_update_owed */
	TLSREC_EOF,		/* close_notify: the client sends no more */
	TLSREC_PEER_ALERT,	/* the client's fatal alert (in->alert) */
	TLSREC_ERROR,		/* send alert in->alert, then close */
};

struct tlsrec_in {
	size_t consumed;	/* bytes of the buffer taken: one record */
	unsigned char *data;	/* the record's content, in the buffer */
	size_t len;		/* its length */
	int type;		/* its inner content type; -1 if none */
	int alert;		/* TLSREC_ERROR: to send; PEER_ALERT: sent */
};

/* Why a seal failed. */
enum tlsrec_err {
	TLSREC_OK = 0,
	TLSREC_E_KEY_UPDATE_OWED,	/* seal the owed KeyUpdate first */
	TLSREC_E_KEY_LIMIT,		/* this AES-GCM key is used up */
	TLSREC_E_SEQ,			/* sequence numbers would wrap */
	TLSREC_E_CLOSED,		/* close_notify or an alert was sealed */
	TLSREC_E_ROOM,			/* out cannot hold a record */
	TLSREC_E_ARG,			/* an argument out of range */
	TLSREC_E_CRYPTO,		/* OpenSSL failed */
};

/*
 * Sets up t for suite (enum tlsrec_suite) from the client's (read)
 * and the server's (write) application traffic secrets, each
 * secret_len bytes (the suite's hash length), and the sequence
 * numbers of the next record each way. Copies the secrets; the
 * caller wipes its own. Returns 0, or -1 (unknown suite, wrong
 * length, OpenSSL failed) with t cleared. Either way tlsrec_free(t)
 * may follow.
 */
int tlsrec_init(struct tlsrec *t, unsigned suite,
    const unsigned char *read_secret, const unsigned char *write_secret,
    size_t secret_len, uint64_t read_seq, uint64_t write_seq);

/* Frees the cipher contexts and wipes every secret. t stays cleared. */
void tlsrec_free(struct tlsrec *t);

/*
 * Opens the first record of buf[0..len), bytes as read from the
 * socket (zero, part of one, or several records). Decrypts in place:
 * in->data points into buf. in->consumed is what the caller drops
 * from the front of buf before the next call (0 for NEED_MORE, never
 * more than len).
 *
 * Checks: outer type 23 (anything else, such as change_cipher_spec or
 * a plaintext handshake, is unexpected_message); length at most
 * 2^14 + 256 (record_overflow); the AEAD tag (bad_record_mac); inner
 * plaintext at most 2^14 + 1 bytes with its type (record_overflow); a
 * non-zero type after the padding (unexpected_message). Inner types:
 * application_data is TLSREC_DATA; an alert must be exactly two bytes
 * (decode_error): close_notify is TLSREC_EOF, user_canceled is
 * TLSREC_CONTROL, anything else TLSREC_PEER_ALERT; a handshake record
 * must hold exactly one whole KeyUpdate (1 byte of body, 0 or 1:
 * decode_error, illegal_parameter) and nothing after it, anything else
 * (another message, fragments, two KeyUpdates) is unexpected_message.
 * A KeyUpdate switches the read key and returns TLSREC_CONTROL; if it
 * asked for one back, tlsrec_key_update_owed() is 1 until the caller
 * seals it. A record numbered 2^64 - 1 is refused (internal_error), as
 * OpenSSL does.
 *
 * When an authenticated record's content is refused (a handshake
 * message other than KeyUpdate, such as a NewSessionTicket; a malformed
 * alert or KeyUpdate; an unknown type), in->data, in->len and in->type
 * still say what it held; otherwise on TLSREC_ERROR in->type is -1 and
 * the record's bytes in buf are undefined. After TLSREC_ERROR or TLSREC_PEER_ALERT every
 * call returns TLSREC_ERROR. After close_notify, data is ignored
 * (RFC 8446 6.1): every call returns TLSREC_EOF and consumes all of
 * buf.
 */
enum tlsrec_status tlsrec_open(struct tlsrec *t, unsigned char *buf,
    size_t len, struct tlsrec_in *in);

/*
 * Seals application data in[0..len) into consecutive records of at
 * most 2^14 bytes of content each, written to out[0..cap) (which must
 * not overlap in): as much as fits (cap >= TLSREC_SEAL_SIZE(len) takes
 * all of it; a short buffer ends with a shorter record). *taken is how
 * many bytes of in were sealed, *written how many bytes of out were
 * written. len == 0 writes nothing. Returns TLSREC_OK when at least
 * one byte was sealed (or len was 0), else why not: the owed KeyUpdate
 * not yet sealed, the write key at its limit, sequence numbers at
 * their end, the write side closed, or no room for even one byte.
 */
enum tlsrec_err tlsrec_seal(struct tlsrec *t, const unsigned char *in,
    size_t len, unsigned char *out, size_t cap, size_t *taken,
    size_t *written);

/*
 * Seals an alert (enum tlsrec_alert: close_notify with level warning,
 * any other fatal) into out[0..cap), TLSREC_ALERT_SIZE bytes, *written.
 * Afterwards no data is sealed; after a fatal alert nothing is opened
 * either. The read side stays open after close_notify (half-close).
 */
enum tlsrec_err tlsrec_seal_alert(struct tlsrec *t, unsigned desc,
    unsigned char *out, size_t cap, size_t *written);

/*
 * Seals a KeyUpdate (request: 1 asks the client to update too) into
 * out[0..cap), TLSREC_KEY_UPDATE_SIZE bytes, *written, then switches
 * to the next write key with sequence number 0. Settles an owed
 * KeyUpdate.
 */
enum tlsrec_err tlsrec_seal_key_update(struct tlsrec *t, int request,
    unsigned char *out, size_t cap, size_t *written);

/* 1 if the client asked for a KeyUpdate that is not yet sealed. */
int tlsrec_key_update_owed(const struct tlsrec *t);

/* 1 if the write key has sealed TLSREC_KEY_UPDATE_DUE records or more. */
int tlsrec_key_update_due(const struct tlsrec *t);

/*
 * The traffic key and IV of suite from a traffic secret (RFC 8446 7.3):
 * HKDF-Expand-Label(secret, "key" / "iv", "", length). key holds
 * TLSREC_KEY_MAX bytes; *keylen gets the suite's. Returns 0 or -1.
 */
int tlsrec_traffic_keys(unsigned suite, const unsigned char *secret,
    unsigned char *key, size_t *keylen, unsigned char iv[TLSREC_IV_LEN]);

/*
 * The next traffic secret after a KeyUpdate (RFC 8446 7.2):
 * HKDF-Expand-Label(secret, "traffic upd", "", Hash.length), into
 * next (TLSREC_SECRET_MAX bytes; may be secret). Returns 0 or -1.
 */
int tlsrec_next_secret(unsigned suite, const unsigned char *secret,
    unsigned char *next);

#endif
