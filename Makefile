# sshgate — GNU make. See README.md.
VERSION  := 0.1.0
CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR  ?= $(PREFIX)/lib/systemd/system
PYTHON   ?= /usr/bin/python3

PKGS     := openssl libcares
EV_LIBS  := $(shell pkg-config --exists libev 2>/dev/null && pkg-config --libs libev || echo -lev)
CPPFLAGS += -Isrc -D_GNU_SOURCE -DSSHGATE_VERSION='"$(VERSION)"'
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) $(EV_LIBS) -lpthread

ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
ifeq ($(SANITIZE),1)
BUILD    := build-san
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
else
# glibc's checked string and I/O functions, as Debian builds packages
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif

# Layout: core/ pure parsers and decisions (no I/O, no globals), config/
# reading sshgate.conf, gateway/ the daemon, client/ the ProxyCommand side,
# admin/ the commands that inspect or steer a gateway; main.c dispatches.
SRCS := src/main.c $(sort $(wildcard src/core/*.c src/config/*.c \
        src/gateway/*.c src/client/*.c src/admin/*.c))
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o)

# unit tests: test name -> the modules it links (pure ones only)
UNIT_TESTS := test_util test_lex test_addr test_route test_banner test_config test_log test_dest test_policy test_iplimit test_stats test_proxy \
              test_hello test_ident test_sshconfig test_httpreq test_ctlproto test_sbuf test_procnet \
              test_diag test_notice test_lifetime test_pemid test_tlsrec test_proxyresp test_proxyurl test_ticketkeys \
              test_caname test_caindex
test_util_SRCS   := core/util.c
test_lex_SRCS    := core/lex.c
test_addr_SRCS   := core/addr.c core/util.c
test_route_SRCS  := core/route.c core/addr.c core/util.c
test_banner_SRCS := core/banner.c
test_config_SRCS := config/config.c config/read.c config/keywords.c config/routes.c config/access.c config/check.c config/diag.c config/file.c core/dest.c core/policy.c core/lex.c core/route.c core/addr.c core/util.c core/ctlproto.c
test_log_SRCS    := core/log.c core/sbuf.c core/logq.c gateway/logsink.c config/file.c
test_dest_SRCS   := core/dest.c core/addr.c core/util.c
test_policy_SRCS := core/policy.c core/route.c core/addr.c core/util.c
test_iplimit_SRCS := gateway/iplimit.c core/addr.c core/util.c
test_stats_SRCS  := core/stats.c core/reason.c core/sbuf.c core/lifetime.c
test_proxy_SRCS  := core/proxy.c core/addr.c core/util.c
test_hello_SRCS  := core/hello.c
test_ident_SRCS  := core/ident.c
test_ident_LIBS  := $(shell pkg-config --libs libcrypto)
test_sshconfig_SRCS := client/sshconfig.c client/say.c client/proxyurl.c core/route.c core/addr.c core/util.c
test_httpreq_SRCS := core/httpreq.c
test_ctlproto_SRCS := core/ctlproto.c
test_sbuf_SRCS   := core/sbuf.c
test_procnet_SRCS := core/procnet.c
test_notice_SRCS := core/notice.c
test_lifetime_SRCS := core/lifetime.c
test_pemid_SRCS := core/pemid.c
test_pemid_LIBS := $(shell pkg-config --libs libcrypto)
test_tlsrec_SRCS := core/tlsrec.c
test_tlsrec_LIBS := $(shell pkg-config --libs libssl libcrypto)
test_diag_SRCS   := config/diag.c
test_proxyresp_SRCS := core/proxyresp.c
test_proxyurl_SRCS := client/proxyurl.c core/addr.c core/util.c
test_ticketkeys_SRCS := core/ticketkeys.c
test_caname_SRCS := core/caname.c core/util.c
test_caindex_SRCS := core/caindex.c core/caname.c core/sbuf.c core/util.c

.PHONY: all test unit integration run clean deps bench bench-connect install \
        deb deb-check

all: $(BUILD)/sshgate

$(BUILD)/sshgate: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD)/tests

-include $(OBJS:.o=.d)

define unit_rule
$(BUILD)/tests/$(1): tests/unit/$(1).c $$(addprefix src/,$$($(1)_SRCS)) | $(BUILD)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $$(shell pkg-config --cflags cmocka) \
	    $$(LDFLAGS) -o $$@ $$^ $$(shell pkg-config --libs cmocka) $$($(1)_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

deps:
	@scripts/deps.sh

unit: $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t"; $$t; done

# The integration tests wait on I/O more than they compute: they run in
# PYTEST_JOBS processes (pytest-xdist; 0 runs them in this one), tests
# marked with an xdist_group together in one of them.
PYTEST_JOBS ?= 4
integration: $(BUILD)/sshgate
	SSHGATE_BIN=$(abspath $(BUILD)/sshgate) SSHGATE_SANITIZE=$(SANITIZE) \
	    $(PYTHON) -m pytest -q -rs -n $(PYTEST_JOBS) --dist loadgroup \
	    tests/integration

test:
	@scripts/deps.sh test
	$(MAKE) WERROR=1 all unit
	$(MAKE) WERROR=1 integration

run:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory $(BUILD)/sshgate
	@scripts/demo.sh $(abspath $(BUILD)/sshgate)

# make bench [BENCH_ARGS="--rounds 5 ..."]: sshgate against HAProxy, the
# table on stdout and in build/bench/table.md (doc/performance.md).
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/sshgate
	@scripts/bench.sh $(abspath $(BUILD)/sshgate) $(BENCH_ARGS)

bench-connect: $(BUILD)/sshgate
	@scripts/bench-connect.sh $(abspath $(BUILD)/sshgate)

# make install [PREFIX=/usr/local] [DESTDIR=...]: binary, man pages, the
# systemd units (the gateway; sshgate-crl@ re-signing a CA's CRL daily),
# and an example config (never over an existing one).
install: $(BUILD)/sshgate
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sshgate
	install -m 755 $(BUILD)/sshgate $(DESTDIR)$(BINDIR)/sshgate
	for p in $(wildcard doc/*.1); do install -m 644 $$p $(DESTDIR)$(MANDIR)/man1/; done
	for p in $(wildcard doc/*.5); do install -m 644 $$p $(DESTDIR)$(MANDIR)/man5/; done
	for p in $(wildcard doc/*.8); do install -m 644 $$p $(DESTDIR)$(MANDIR)/man8/; done
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    packaging/sshgate.service.in > $(DESTDIR)$(UNITDIR)/sshgate.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sshgate.service
	sed -e 's|@BINDIR@|$(BINDIR)|g' packaging/sshgate-crl@.service.in \
	    > $(DESTDIR)$(UNITDIR)/sshgate-crl@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sshgate-crl@.service
	install -m 644 packaging/sshgate-crl@.timer $(DESTDIR)$(UNITDIR)/
	install -m 640 examples/production.conf \
	    $(DESTDIR)$(SYSCONFDIR)/sshgate/sshgate.conf.example

# make deb: a Debian package, built by Debian's tools (dpkg-buildpackage,
# debhelper; packaging in debian/) in a copy of this tree, into build/deb/.
# make deb-check: install it here, check what it installed, run lintian,
# purge it (scripts/deb-check.sh; for CI, as root).
DEB_SRC := build/deb/sshgate-$(VERSION)
deb:
	@scripts/deps.sh deb
	rm -rf build/deb
	mkdir -p $(DEB_SRC)
	tar --exclude=./build --exclude=./build-san --exclude=./.git \
	    --exclude='./debian/sshgate' --exclude='./debian/.debhelper' -cf - . | \
	    tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	@ls -1 build/deb/*.deb

deb-check:
	@scripts/deb-check.sh

clean:
	rm -rf build build-san

# libFuzzer targets (clang): make fuzz [FUZZ_SECONDS=20]. Each starts
# from a copy of its committed seed corpus (fuzz/corpus/TARGET), so a run
# never changes the tree; what it learns stays in build/fuzz.
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS  := -g -O1 -std=c11 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined
FUZZ_TARGETS := fuzz_config fuzz_input fuzz_hello fuzz_ident fuzz_http fuzz_ctl fuzz_tlsrec \
                fuzz_proxyresp fuzz_ticketkeys fuzz_caindex
fuzz_input_SRCS  := core/addr.c core/banner.c core/dest.c core/log.c core/notice.c core/sbuf.c core/proxy.c core/route.c core/util.c
fuzz_config_SRCS := config/config.c config/read.c config/keywords.c config/routes.c config/access.c config/check.c config/diag.c config/file.c core/dest.c core/policy.c core/lex.c core/route.c core/addr.c core/util.c core/ctlproto.c
fuzz_hello_SRCS  := core/hello.c
fuzz_ident_SRCS  := core/ident.c
fuzz_ident_LIBS  := $(shell pkg-config --libs libcrypto)
fuzz_config_MAXLEN := 4096
fuzz_input_MAXLEN  := 512
fuzz_hello_MAXLEN  := 70000
fuzz_ident_MAXLEN  := 16384
fuzz_http_SRCS   := core/httpreq.c
fuzz_ctl_SRCS    := core/ctlproto.c
fuzz_http_MAXLEN   := 8192
fuzz_ctl_MAXLEN    := 8192
fuzz_tlsrec_SRCS := core/tlsrec.c
fuzz_tlsrec_LIBS := $(shell pkg-config --libs libcrypto)
fuzz_tlsrec_MAXLEN := 40000
fuzz_proxyresp_SRCS := core/proxyresp.c
fuzz_proxyresp_MAXLEN := 9000
fuzz_ticketkeys_SRCS := core/ticketkeys.c
fuzz_ticketkeys_MAXLEN := 8192
fuzz_caindex_SRCS := core/caindex.c core/caname.c core/sbuf.c core/util.c
fuzz_caindex_MAXLEN := 16384

.SECONDEXPANSION:
build/fuzz/%: fuzz/%.c $$(addprefix src/,$$($$*_SRCS))
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $($*_LIBS)

fuzz-run-%: build/fuzz/%
	@mkdir -p build/fuzz/corpus-$*
	@if [ -d fuzz/corpus/$* ]; then cp fuzz/corpus/$*/* build/fuzz/corpus-$*/; fi
	@echo "== $* ($(FUZZ_SECONDS)s)"
	@build/fuzz/$* -max_total_time=$(FUZZ_SECONDS) -max_len=$($*_MAXLEN) \
	    -artifact_prefix=build/fuzz/$*- build/fuzz/corpus-$* \
	    > build/fuzz/$*.log 2>&1 || \
	    { tail -60 build/fuzz/$*.log; exit 1; }
	@grep -E "^#[0-9]+.*(DONE|pulse)" build/fuzz/$*.log | tail -1

.SECONDARY: $(addprefix build/fuzz/,$(FUZZ_TARGETS))
fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))
.PHONY: fuzz
