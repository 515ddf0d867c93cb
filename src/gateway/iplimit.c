#include "gateway/iplimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define STRIPES 64
#define BUCKETS_PER_STRIPE 64
#define ENTRIES_PER_STRIPE 2048	/* beyond this, idle entries are dropped */

struct entry {
	struct entry *next;
	unsigned char ip[16];	/* IPv4 as IPv4-mapped IPv6 */
	unsigned long open;
	double tokens, last;
	double full_at;		/* when the bucket is full again */
};

struct stripe {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS_PER_STRIPE];
	size_t n;
};

struct iplimit {
	struct stripe s[STRIPES];
};

struct iplimit *
iplimit_new(void)
{
	struct iplimit *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&t->s[i].lock, NULL);
	return t;
}

void
iplimit_free(struct iplimit *t)
{
	struct entry *e;
	size_t i, b;

	if (t == NULL)
		return;
	for (i = 0; i < STRIPES; i++) {
		for (b = 0; b < BUCKETS_PER_STRIPE; b++) {
			while ((e = t->s[i].buckets[b]) != NULL) {
				t->s[i].buckets[b] = e->next;
				free(e);
			}
		}
		pthread_mutex_destroy(&t->s[i].lock);
	}
	free(t);
}

/* IPv4 and its mapped IPv6 form are one client: one key. */
static unsigned
key(const struct addr *a, unsigned char ip[16])
{
	unsigned h = UTIL_HASH_INIT;
	size_t i;

	addr_key16(a, ip);
	for (i = 0; i < 16; i++)
		h = util_hash_byte(h, ip[i]);
	return h;
}

/* Drops entries of s with nothing open and a full bucket. */
static void
sweep(struct stripe *s, double now)
{
	struct entry **pp, *e;
	size_t b;

	for (b = 0; b < BUCKETS_PER_STRIPE; b++) {
		for (pp = &s->buckets[b]; (e = *pp) != NULL;) {
			if (e->open == 0 && now >= e->full_at) {
				*pp = e->next;
				free(e);
				s->n--;
			} else
				pp = &e->next;
		}
	}
}

enum iplimit_verdict
iplimit_enter(struct iplimit *t, const struct addr *a, unsigned long max,
    unsigned long rate_n, double rate_secs, double now)
{
	unsigned char ip[16];
	unsigned h = key(a, ip);
	struct stripe *s = &t->s[h % STRIPES];
	struct entry *e, **head = &s->buckets[(h / STRIPES) %
	    BUCKETS_PER_STRIPE];
	enum iplimit_verdict v = IPLIMIT_OK;

	pthread_mutex_lock(&s->lock);
	for (e = *head; e != NULL; e = e->next)
		if (memcmp(e->ip, ip, 16) == 0)
			break;
	if (e == NULL) {
		if (s->n >= ENTRIES_PER_STRIPE)
			sweep(s, now);
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			pthread_mutex_unlock(&s->lock);
			return IPLIMIT_OK;	/* fail open: limits are a guard */
		}
		memcpy(e->ip, ip, 16);
		e->tokens = (double)rate_n;
		e->last = now;
		e->next = *head;
		*head = e;
		s->n++;
	}
	if (rate_n > 0) {
		double per_sec = (double)rate_n / rate_secs;

		e->tokens += (now - e->last) * per_sec;
		if (e->tokens > (double)rate_n)
			e->tokens = (double)rate_n;
		e->last = now;
		if (e->tokens < 1)
			v = IPLIMIT_RATE;
		else
			e->tokens -= 1;
		e->full_at = now + ((double)rate_n - e->tokens) / per_sec;
	}
	if (v == IPLIMIT_OK && max > 0 && e->open >= max)
		v = IPLIMIT_TOO_MANY;
	if (v == IPLIMIT_OK)
		e->open++;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void
iplimit_leave(struct iplimit *t, const struct addr *a)
{
	unsigned char ip[16];
	unsigned h = key(a, ip);
	struct stripe *s = &t->s[h % STRIPES];
	struct entry *e;

	pthread_mutex_lock(&s->lock);
	for (e = s->buckets[(h / STRIPES) % BUCKETS_PER_STRIPE]; e != NULL;
	    e = e->next) {
		if (memcmp(e->ip, ip, 16) == 0) {
			if (e->open > 0)
				e->open--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

size_t
iplimit_count(struct iplimit *t)
{
	size_t i, n = 0;

	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&t->s[i].lock);
		n += t->s[i].n;
		pthread_mutex_unlock(&t->s[i].lock);
	}
	return n;
}
