/* Unit tests: reading lines of /proc/net/tcp and tcp6 (procnet.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "core/procnet.h"

static void
v4_listen_line(void **state)
{
	struct procnet_sock s;
	struct in_addr a;

	(void)state;
	assert_int_equal(procnet_parse("   2: 0100007F:5189 00000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000     0        0 1120283 1 "
	    "00000000737b1df8 100 0 0 10 0", AF_INET, &s), 0);
	inet_pton(AF_INET, "127.0.0.1", &a);
	assert_memory_equal(s.addr, &a, 4);
	assert_int_equal(s.port, 0x5189);
	assert_int_equal(s.state, PROCNET_LISTEN);
	assert_int_equal(s.inode, 1120283);
}

static void
v6_line(void **state)
{
	struct procnet_sock s;
	struct in6_addr a;

	(void)state;
	assert_int_equal(procnet_parse("   0: 00000000000000000000000001000000"
	    ":93E8 00000000000000000000000001000000:7926 06 00000000:00000000 "
	    "03:00000C11 00000000     0        0 0 3 000000003c41740f",
	    AF_INET6, &s), 0);
	inet_pton(AF_INET6, "::1", &a);
	assert_memory_equal(s.addr, &a, 16);
	assert_int_equal(s.port, 0x93e8);
	assert_int_equal(s.state, 6);
	assert_int_equal(s.inode, 0);
}

static void
bad_lines(void **state)
{
	struct procnet_sock s;

	(void)state;
	assert_int_equal(procnet_parse("  sl  local_address rem_address   st "
	    "tx_queue", AF_INET, &s), -1);
	assert_int_equal(procnet_parse("", AF_INET, &s), -1);
	assert_int_equal(procnet_parse("0: 0100007G:5189 x", AF_INET, &s), -1);
	assert_int_equal(procnet_parse("0: 0100007F:51", AF_INET, &s), -1);
	assert_int_equal(procnet_parse("0: 0100007F:5189 00000000:0000 0A",
	    AF_INET, &s), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v4_listen_line),
		cmocka_unit_test(v6_line),
		cmocka_unit_test(bad_lines),
	};

	return cmocka_run_group_tests_name("procnet", tests, NULL, NULL);
}
