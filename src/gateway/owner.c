#include "gateway/owner.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

#include "core/procnet.h"

/* Every socket inode this process holds; *n of them. Caller frees. */
static unsigned long *
own_inodes(size_t *n)
{
	unsigned long *v = NULL, *nv, ino;
	size_t cap = 0;
	struct dirent *e;
	char path[300], link[64];
	ssize_t len;
	DIR *d;

	*n = 0;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if ((len = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		if (*n == cap) {
			cap = cap * 2 + 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		v[(*n)++] = ino;
	}
	closedir(d);
	return v;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Does the listener s take connections meant for a (n address bytes)? */
static int
overlaps(const struct procnet_sock *s, const unsigned char *a, size_t n)
{
	return memcmp(s->addr, a, n) == 0 || all_zero(s->addr, n) ||
	    all_zero(a, n);
}

/* The process holding socket inode ino: "pid N, NAME", or "". */
static void
holder(unsigned long ino, char *out, size_t len)
{
	char path[600], link[64], want[40], comm[64] = "";
	struct dirent *p, *f;
	DIR *proc, *fds;
	ssize_t n;
	FILE *cf;
	int found = 0;

	out[0] = '\0';
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	if ((proc = opendir("/proc")) == NULL)
		return;
	while (!found && (p = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;	/* not ours to look at */
		while ((f = readdir(fds)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    p->d_name, f->d_name);
			if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				found = 1;
				break;
			}
		}
		closedir(fds);
		if (!found)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
		if ((cf = fopen(path, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), cf) == NULL)
				comm[0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			fclose(cf);
		}
		snprintf(out, len, " (pid %ld%s%.64s)", strtol(p->d_name, NULL,
		    10), comm[0] != '\0' ? ", " : "", comm);
	}
	closedir(proc);
}

int
owner_check(const struct addr *a, const char *what, char *err, size_t errlen)
{
	const unsigned char *bytes;
	struct procnet_sock s;
	unsigned long *mine, other = 0;
	char line[512], text[ADDR_TEXT_MAX], who[160];
	size_t nmine, nbytes, i;
	unsigned port;
	FILE *f;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&a->ss;

		bytes = (const unsigned char *)&in->sin_addr;
		nbytes = 4;
		port = ntohs(in->sin_port);
		f = fopen("/proc/net/tcp", "r");
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&a->ss;

		bytes = (const unsigned char *)&in6->sin6_addr;
		nbytes = 16;
		port = ntohs(in6->sin6_port);
		f = fopen("/proc/net/tcp6", "r");
	}
	if (f == NULL)
		return 0;	/* no procfs: nothing to say */
	mine = own_inodes(&nmine);
	while (other == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (procnet_parse(line, a->ss.ss_family, &s) == -1 ||
		    s.state != PROCNET_LISTEN || s.port != port ||
		    s.inode == 0 || !overlaps(&s, bytes, nbytes))
			continue;
		for (i = 0; i < nmine; i++)
			if (mine[i] == s.inode)
				break;
		if (i == nmine)
			other = s.inode;
	}
	fclose(f);
	free(mine);
	if (other == 0)
		return 0;
	addr_format(a, text, sizeof(text));
	holder(other, who, sizeof(who));
	snprintf(err, errlen, "%s %s: already served by another process%s; "
	    "stop it first, or give this gateway another address", what,
	    text, who);
	return -1;
}
