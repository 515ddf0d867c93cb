/*
 * libFuzzer target for the ctl request: any bytes give complete, need
 * more or bad, never a read outside them; a prefix's verdict holds for
 * the whole; and any name the client quotes (or sends bare, when it may)
 * comes back from the parser byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_request req, preq;

/* "kill-user" and name (quoted or bare) must parse back to name. */
static void
round_trip(const char *name, int quoted)
{
	size_t nlen = strlen(name), q, len, used;
	enum ctl_error err;
	enum ctl_status st;
	char *line;

	q = quoted ? ctl_quote(name, NULL, 0) :
	    strpbrk(name, "\r\n") == NULL ? nlen : 0;
	if (q == 0) {
		if (strpbrk(name, "\r\n") == NULL)
			abort();	/* only CR and LF cannot be carried */
		return;
	}
	if ((line = malloc(10 + q + 1)) == NULL)
		return;
	memcpy(line, "kill-user ", 10);
	if (quoted) {
		char *tmp = malloc(q + 1);

		if (tmp == NULL || ctl_quote(name, tmp, q + 1) != q)
			abort();
		memcpy(line + 10, tmp, q);
		free(tmp);
	} else
		memcpy(line + 10, name, q);
	line[10 + q] = '\n';
	len = 10 + q + 1;
	st = ctl_parse(line, len, &used, &req, &err);
	if (len <= CTL_REQUEST_MAX) {
		if (st != CTL_COMPLETE || used != len ||
		    req.cmd != CTL_CMD_KILL_USER || strcmp(req.arg, name) != 0)
			abort();
	} else if (st != CTL_BAD || err != CTL_E_TOO_LONG)
		abort();
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past the bytes received */
	char *buf = malloc(size > 0 ? size : 1), *name;
	enum ctl_error err, perr;
	enum ctl_status st, pst;
	size_t used = 0, pused = 0, cut;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	st = ctl_parse(buf, size, &used, &req, &err);
	switch (st) {
	case CTL_COMPLETE:
		if (used == 0 || used > size || used > CTL_REQUEST_MAX ||
		    buf[used - 1] != '\n' || memchr(buf, '\n', used - 1) ||
		    memchr(req.arg, '\0', sizeof(req.arg)) == NULL ||
		    (req.cmd == CTL_CMD_KILL && req.id == 0))
			abort();
		break;
	case CTL_BAD:
		if (err == CTL_E_NONE || ctl_strerror(err) == NULL)
			abort();
		break;
	case CTL_NEED_MORE:
		if (size >= CTL_REQUEST_MAX || memchr(buf, '\n', size))
			abort();
		break;
	}
	cut = size > 1 ? ((size_t)data[0] << 8 | data[1]) % (size + 1) : 0;
	pst = ctl_parse(buf, cut, &pused, &preq, &perr);
	if ((pst == CTL_BAD && (st != CTL_BAD || perr != err)) ||
	    (pst == CTL_COMPLETE && (st != CTL_COMPLETE || pused != used ||
	    preq.cmd != req.cmd || strcmp(preq.arg, req.arg) != 0)) ||
	    (st == CTL_NEED_MORE && pst != CTL_NEED_MORE))
		abort();
	/* the input as a user name */
	if ((name = malloc(size + 1)) != NULL) {
		memcpy(name, data, size);
		name[size] = '\0';
		round_trip(name, 1);
		if (ctl_word_is_bare(name))
			round_trip(name, 0);
		free(name);
	}
	free(buf);
	return 0;
}
