/*
 * policy: who may go where. First-match allow/deny rules on the client
 * certificate's user (CN) and groups (every OU); no match is deny. Pure.
 */
#ifndef SSHGATE_POLICY_H
#define SSHGATE_POLICY_H

#include <stddef.h>

#include "core/addr.h"
#include "core/route.h"

enum access_who {
	ACCESS_ANY = 0,
	ACCESS_USER,
	ACCESS_GROUP,
};

enum target_kind {
	TARGET_ANY = 0,		/* "*" */
	TARGET_NAME,		/* host name or *.suffix: against the SNI */
	TARGET_CIDR,		/* address or CIDR: against the destination */
};

struct access_target {
	enum target_kind kind;
	struct pattern pat;	/* TARGET_NAME */
	struct cidr cidr;	/* TARGET_CIDR */
};

struct access_rule {
	int allow;
	enum access_who who;
	char *name;			/* user or group, as written */
	struct access_target *targets;
	size_t ntargets;
	char *text;			/* the rule, for logs and explain */
	const char *file;
	int line;
};

struct policy {
	struct access_rule *rules;
	size_t n;
};

/* Who is asking: from the client certificate. */
struct identity {
	const char *user;		/* CN; NULL if none or unusable */
	const char *const *groups;	/* every usable OU, in order */
	size_t ngroups;
};

enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_DENY,
	POLICY_NEED_DST,	/* the deciding rule names addresses */
};

/*
 * Decides for id reaching sni (normalized) at dst (NULL while the
 * destination address is not known yet). Rules are tried in order; the
 * first whose who and a target match decides. Without dst, a rule that
 * matches id and names addresses stops the walk: POLICY_NEED_DST.
 * *rule is the deciding rule (NULL when no rule matched: deny).
 */
enum policy_verdict policy_decide(const struct policy *p,
    const struct identity *id, const char *sni, const struct addr *dst,
    const struct access_rule **rule);

#define POLICY_RULE_USAGE "access allow|deny user NAME|group NAME|any to " \
	"TARGET..."

enum policy_parse {
	POLICY_PARSED = 0,
	POLICY_USAGE,		/* not the rule's shape: err holds the usage */
	POLICY_BAD,		/* a part is wrong: err says which */
};

/*
 * Parses "allow|deny user NAME|group NAME|any to TARGET..." (words
 * after the keyword) into r. A TARGET of digit labels that is no
 * address ("127.0.0.300", "10.0.0") is an error, not a host name. Returns POLICY_PARSED, or another result
 * with the reason in err (without a keyword prefix: the caller's).
 */
enum policy_parse policy_parse_rule(char **av, int ac, struct access_rule *r,
    char *err, size_t errlen);

/*
 * Parses one line of an access-pairs file, "NAME,TARGET" (blanks around
 * either part ignored), as an allow rule for who. Returns 1 for a rule,
 * 0 for a blank or '#' line, -1 with a reason in err (no prefix).
 */
int policy_parse_pair(const char *line, enum access_who who,
    struct access_rule *r, char *err, size_t errlen);

void policy_rule_free(struct access_rule *r);
void policy_free(struct policy *p);

#endif
