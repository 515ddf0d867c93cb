/*
 * logq: the bounded queue of whole log lines between the threads that
 * write records and the one thread that writes them out. Two buffers:
 * producers append to one while the writer writes the other, so a slow
 * sink costs memory up to a bound, then lines, never a producer's time.
 * Pure: no locks (the caller holds its sink's lock), no I/O, no globals.
 */
#ifndef SSHGATE_LOGQ_H
#define SSHGATE_LOGQ_H

#include <stddef.h>

struct logq {
	char *fill;		/* lines waiting, appended to */
	char *spare;		/* empty; NULL while the writer holds a batch */
	size_t cap;		/* bytes per buffer */
	size_t len;		/* bytes in fill: whole lines */
};

/* Two buffers of cap bytes each. Returns 0, or -1 (out of memory). */
int logq_init(struct logq *q, size_t cap);
void logq_free(struct logq *q);

/*
 * Appends one whole line (len bytes, ending in '\n'). Returns 0, or -1
 * if it does not fit: nothing of it is queued, so a line is never cut.
 */
int logq_push(struct logq *q, const char *line, size_t len);

/*
 * Gives the writer every queued line as one batch (*batch, the return
 * value its length) and starts filling the spare buffer. Returns 0
 * (and *batch NULL) if nothing is queued or a batch is already out.
 */
size_t logq_take(struct logq *q, char **batch);

/* The writer is done with batch (from logq_take): it becomes the spare. */
void logq_give_back(struct logq *q, char *batch);

/* Nothing queued (a batch may still be out). */
int logq_empty(const struct logq *q);
/* Bytes queued (not counting a batch that is out). */
size_t logq_bytes(const struct logq *q);

#endif
