/* Unit tests for stats.c: the Prometheus exposition of the counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "core/stats.h"

static char out[65536];

static void
format(const struct stats_snapshot *s)
{
	assert_true(stats_format(s, out, sizeof(out)) > 0);
}

static void
contract_names_and_labels(void **state)
{
	struct stats_snapshot s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.closed[R_CLIENT_CLOSED] = 3;
	s.closed[R_SERVER_CLOSED] = 2;
	s.closed[R_NO_ROUTE] = 4;
	s.closed[R_DNS_FAILED] = 1;
	s.bytes_up = 10;
	s.bytes_down = 20;
	s.active = 7;
	s.max_active = 9;
	s.reloads_ok = 1;
	s.version = "9.9";
	format(&s);
	assert_non_null(strstr(out,
	    "\nsshgate_connections_total{result=\"ok\"} 5\n"));
	assert_non_null(strstr(out,
	    "\nsshgate_connections_total{result=\"denied\"} 4\n"));
	assert_non_null(strstr(out,
	    "\nsshgate_connections_total{result=\"error\"} 1\n"));
	assert_non_null(strstr(out,
	    "\nsshgate_denied_total{reason=\"no-route\"} 4\n"));
	/* only denials under denied_total */
	assert_null(strstr(out, "sshgate_denied_total{reason=\"dns-failed\"}"));
	assert_non_null(strstr(out, "\nsshgate_sessions_active 7\n"));
	assert_non_null(strstr(out, "\nsshgate_sessions_max 9\n"));
	assert_non_null(strstr(out,
	    "\nsshgate_bytes_total{direction=\"up\"} 10\n"));
	assert_non_null(strstr(out,
	    "\nsshgate_reloads_total{result=\"ok\"} 1\n"));
	assert_non_null(strstr(out,
	    "\nsshgate_build_info{version=\"9.9\"} 1\n"));
	assert_non_null(strstr(out,
	    "# TYPE sshgate_handshake_seconds histogram\n"));
}

static void
histogram_is_cumulative(void **state)
{
	struct stats s;
	struct stats_snapshot snap;

	(void)state;
	memset(&s, 0, sizeof(s));
	stats_handshake(&s, 0.0005);	/* <= 1ms */
	stats_handshake(&s, 0.003);	/* <= 5ms */
	stats_handshake(&s, 60);	/* +Inf */
	memset(&snap, 0, sizeof(snap));
	stats_sum(&snap, &s);
	snap.version = "x";
	format(&snap);
	assert_non_null(strstr(out,
	    "sshgate_handshake_seconds_bucket{le=\"0.001\"} 1\n"));
	assert_non_null(strstr(out,
	    "sshgate_handshake_seconds_bucket{le=\"0.005\"} 2\n"));
	assert_non_null(strstr(out,
	    "sshgate_handshake_seconds_bucket{le=\"5\"} 2\n"));
	assert_non_null(strstr(out,
	    "sshgate_handshake_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(out, "sshgate_handshake_seconds_count 3\n"));
	assert_non_null(strstr(out, "sshgate_handshake_seconds_sum 60.003500"));
}

static void
log_losses_are_counters(void **state)
{
	struct stats_snapshot s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.log_dropped = 3400;
	s.log_write_errors = 12;
	s.version = "x";
	format(&s);
	assert_non_null(strstr(out,
	    "\n# TYPE sshgate_log_records_dropped_total counter\n"
	    "sshgate_log_records_dropped_total 3400\n"));
	assert_non_null(strstr(out,
	    "\n# TYPE sshgate_log_write_errors_total counter\n"
	    "sshgate_log_write_errors_total 12\n"));
	assert_non_null(strstr(out,
	    "\n# HELP sshgate_log_records_dropped_total "));
	assert_non_null(strstr(out, "\n# HELP sshgate_log_write_errors_total "));
}

static void
small_buffer_is_refused(void **state)
{
	struct stats_snapshot s;
	char small[100];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.version = "x";
	assert_int_equal(stats_format(&s, small, sizeof(small)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(contract_names_and_labels),
		cmocka_unit_test(histogram_is_cumulative),
		cmocka_unit_test(log_losses_are_counters),
		cmocka_unit_test(small_buffer_is_refused),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
