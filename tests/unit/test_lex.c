/* Unit tests for src/lex.c: splitting one config line into words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lex.h"

/*
 * lex_line works in place, so every test lexes a heap copy of exactly
 * the line's size: the sanitizers then catch any read or write past it.
 */
struct lexed {
	char *line;
	char *words[LEX_MAX_WORDS];
	int n;
	const char *err;
};

static void
lex(struct lexed *l, const char *text, int max)
{
	size_t len = strlen(text) + 1;

	l->line = malloc(len);
	assert_non_null(l->line);
	memcpy(l->line, text, len);
	l->err = NULL;
	l->n = lex_line(l->line, l->words, max, &l->err);
}

static void
lexed_free(struct lexed *l)
{
	free(l->line);
	l->line = NULL;
}

/* Lexes text and checks it gives exactly the want[] words. */
static void
assert_words(const char *text, const char *const *want, int nwant)
{
	struct lexed l;
	int i;

	lex(&l, text, LEX_MAX_WORDS);
	if (l.n != nwant)
		fail_msg("'%s': got %d words, want %d (err %s)", text, l.n,
		    nwant, l.err != NULL ? l.err : "none");
	for (i = 0; i < nwant; i++)
		assert_string_equal(l.words[i], want[i]);
	lexed_free(&l);
}

static void
assert_error(const char *text, int max, const char *want)
{
	struct lexed l;

	lex(&l, text, max);
	if (l.n != -1)
		fail_msg("'%s': got %d words, want an error", text, l.n);
	assert_non_null(l.err);
	assert_string_equal(l.err, want);
	lexed_free(&l);
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__ })
#define NWORDS(...) ((int)(sizeof(WORDS(__VA_ARGS__)) / sizeof(char *)))
#define ASSERT_WORDS(text, ...) \
	assert_words(text, WORDS(__VA_ARGS__), NWORDS(__VA_ARGS__))

static void
empty_line_has_no_words(void **state)
{
	(void)state;
	assert_words("", NULL, 0);
	assert_words("\n", NULL, 0);
	assert_words("   \t \r\n", NULL, 0);
}

static void
comment_line_has_no_words(void **state)
{
	(void)state;
	assert_words("# a comment", NULL, 0);
	assert_words("   # indented comment\n", NULL, 0);
	assert_words("#", NULL, 0);
	/* quotes inside a comment do not matter: it is not lexed */
	assert_words("# \"unterminated", NULL, 0);
}

static void
splits_on_blanks(void **state)
{
	(void)state;
	ASSERT_WORDS("listen 127.0.0.1:2222", "listen", "127.0.0.1:2222");
	ASSERT_WORDS("a\tb  c", "a", "b", "c");
	ASSERT_WORDS("  lead and trail  ", "lead", "and", "trail");
}

static void
strips_line_endings(void **state)
{
	(void)state;
	/* getline keeps the newline; files from Windows add '\r' */
	ASSERT_WORDS("a b\n", "a", "b");
	ASSERT_WORDS("a b\r\n", "a", "b");
}

static void
comment_after_words(void **state)
{
	(void)state;
	ASSERT_WORDS("a b # comment", "a", "b");
	ASSERT_WORDS("a b#comment", "a", "b");
	/* '#' outside quotes ends even a word it touches */
	ASSERT_WORDS("a#b c", "a");
}

static void
quotes_hold_blanks(void **state)
{
	(void)state;
	ASSERT_WORDS("certificate \"my cert.pem\"", "certificate",
	    "my cert.pem");
	ASSERT_WORDS("\"a\tb\"", "a\tb");
}

static void
quotes_hold_hash(void **state)
{
	(void)state;
	ASSERT_WORDS("a \"b # not a comment\" c", "a", "b # not a comment",
	    "c");
}

static void
quotes_join_with_adjacent_text(void **state)
{
	(void)state;
	/* like a shell: quoted and bare parts next to each other are one word */
	ASSERT_WORDS("pre\"fix suf\"fix", "prefix suffix");
	ASSERT_WORDS("\"a\"\"b\"", "ab");
}

static void
empty_quotes_are_an_empty_word(void **state)
{
	(void)state;
	ASSERT_WORDS("a \"\" b", "a", "", "b");
	ASSERT_WORDS("\"\"", "");
}

static void
escapes_inside_quotes(void **state)
{
	(void)state;
	ASSERT_WORDS("\"say \\\"hi\\\"\"", "say \"hi\"");
	ASSERT_WORDS("\"back\\\\slash\"", "back\\slash");
	/* only \" and \\ are escapes: other backslashes stay as written */
	ASSERT_WORDS("\"a\\nb\"", "a\\nb");
	ASSERT_WORDS("\"c:\\dir\"", "c:\\dir");
	ASSERT_WORDS("\"end\\\\\"", "end\\");
}

static void
backslash_outside_quotes_is_literal(void **state)
{
	(void)state;
	ASSERT_WORDS("a\\b c\\", "a\\b", "c\\");
}

static void
unterminated_quote_is_an_error(void **state)
{
	(void)state;
	assert_error("a \"b c", LEX_MAX_WORDS, "unterminated quote");
	assert_error("\"", LEX_MAX_WORDS, "unterminated quote");
	/* an escaped quote does not close the string */
	assert_error("\"abc\\\"", LEX_MAX_WORDS, "unterminated quote");
}

static void
quote_does_not_span_the_newline(void **state)
{
	(void)state;
	/* a quote left open at the end of the line is an error, not joined */
	assert_error("a \"b\n", LEX_MAX_WORDS, "unterminated quote");
	assert_error("a \"b\nc\"", LEX_MAX_WORDS, "unterminated quote");
}

static void
exactly_max_words_is_fine(void **state)
{
	struct lexed l;

	(void)state;
	lex(&l, "a b c", 3);
	assert_int_equal(l.n, 3);
	lexed_free(&l);
	/* trailing blanks and comments do not count as words */
	lex(&l, "a b c   # x\n", 3);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.words[2], "c");
	lexed_free(&l);
}

static void
too_many_words_is_an_error(void **state)
{
	(void)state;
	assert_error("a b c d", 3, "too many words on one line");
	assert_error("a", 0, "too many words on one line");
}

static void
lex_max_words_fills_the_array(void **state)
{
	char text[LEX_MAX_WORDS * 3 + 8];
	struct lexed l;
	size_t i, pos = 0;

	(void)state;
	for (i = 0; i < LEX_MAX_WORDS; i++)
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "w ");
	lex(&l, text, LEX_MAX_WORDS);
	assert_int_equal(l.n, LEX_MAX_WORDS);
	assert_string_equal(l.words[LEX_MAX_WORDS - 1], "w");
	lexed_free(&l);
	/* one more word than the array holds */
	snprintf(text + pos, sizeof(text) - pos, "x");
	assert_error(text, LEX_MAX_WORDS, "too many words on one line");
}

static void
words_point_into_the_line(void **state)
{
	struct lexed l;

	(void)state;
	/* callers keep pointers into the buffer: no hidden allocation */
	lex(&l, "one two", LEX_MAX_WORDS);
	assert_int_equal(l.n, 2);
	assert_ptr_equal(l.words[0], l.line);
	assert_ptr_equal(l.words[1], l.line + 4);
	lexed_free(&l);
}

static void
blank_or_comment_never_sets_err(void **state)
{
	struct lexed l;

	(void)state;
	lex(&l, "  # only a comment", LEX_MAX_WORDS);
	assert_int_equal(l.n, 0);
	assert_null(l.err);
	lexed_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_line_has_no_words),
		cmocka_unit_test(comment_line_has_no_words),
		cmocka_unit_test(splits_on_blanks),
		cmocka_unit_test(strips_line_endings),
		cmocka_unit_test(comment_after_words),
		cmocka_unit_test(quotes_hold_blanks),
		cmocka_unit_test(quotes_hold_hash),
		cmocka_unit_test(quotes_join_with_adjacent_text),
		cmocka_unit_test(empty_quotes_are_an_empty_word),
		cmocka_unit_test(escapes_inside_quotes),
		cmocka_unit_test(backslash_outside_quotes_is_literal),
		cmocka_unit_test(unterminated_quote_is_an_error),
		cmocka_unit_test(quote_does_not_span_the_newline),
		cmocka_unit_test(exactly_max_words_is_fine),
		cmocka_unit_test(too_many_words_is_an_error),
		cmocka_unit_test(lex_max_words_fills_the_array),
		cmocka_unit_test(words_point_into_the_line),
		cmocka_unit_test(blank_or_comment_never_sets_err),
	};

	return cmocka_run_group_tests_name("lex", tests, NULL, NULL);
}
