#include "core/logq.h"

#include <stdlib.h>
#include <string.h>

int
logq_init(struct logq *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap;
	q->fill = malloc(cap);
	q->spare = malloc(cap);
	if (q->fill == NULL || q->spare == NULL) {
		logq_free(q);
		return -1;
	}
	return 0;
}

void
logq_free(struct logq *q)
{
	free(q->fill);
	free(q->spare);
	q->fill = q->spare = NULL;
	q->len = 0;
}

int
logq_push(struct logq *q, const char *line, size_t len)
{
	if (len > q->cap - q->len)
		return -1;
	memcpy(q->fill + q->len, line, len);
	q->len += len;
	return 0;
}

size_t
logq_take(struct logq *q, char **batch)
{
	size_t len = q->len;

	*batch = NULL;
	if (len == 0 || q->spare == NULL)
		return 0;
	*batch = q->fill;
	q->fill = q->spare;
	q->spare = NULL;
	q->len = 0;
	return len;
}

void
logq_give_back(struct logq *q, char *batch)
{
	q->spare = batch;
}

int
logq_empty(const struct logq *q)
{
	return q->len == 0;
}

size_t
logq_bytes(const struct logq *q)
{
	return q->len;
}
