# pullmail: one non-recursive Makefile.
#
#   make [all]        libpullmail and every program
#   make check        deps, build, every test (unit, milter, integration, fuzz)
#   make demo         deps, build, a private Postfix + nginx on loopback
#   make bench        the benchmarks (figures printed)
#   make install      PREFIX=/usr/local DESTDIR=
#   make deps         install the missing Debian 12 packages (as root)
#   make fuzz         libFuzzer targets (clang)
#
#   WERROR=1                    adds -Werror
#   SANITIZE=address,undefined  builds everything with those sanitizers
#   FRONT_STATIC=0              links pullmail-web (the CGI front) with the
#                               shared C library and libsodium, not statically
#   O=DIR                       puts every build product under DIR

O ?= .
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
SBINDIR = $(PREFIX)/sbin
MANDIR = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share/pullmail
SYSCONFDIR ?= /etc/pullmail

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = glib-2.0 gmime-3.0 libsodium libxml-2.0 libcurl
TEST_PKGS = check

VERSION = 0.1.0

WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
HARDEN = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(HARDEN) $(CFLAGS) -I. -Icommon \
	-DPULLMAIL_VERSION='"$(VERSION)"' -DPULLMAIL_DATADIR='"$(DATADIR)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
# Every pkg-config call is deferred (=, never :=) to the recipes that use it:
# on a new machine pkg-config and the libraries arrive with make deps, after
# the Makefile has been read.
MILTER_LIB = -lmilter
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(MILTER_LIB) -lfcgi -lpthread
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))

ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
HARDEN := $(filter-out -D_FORTIFY_SOURCE=2,$(HARDEN))
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Sources. Each adapter directory holds its main() in main.c (or the
# program's own file in tools/); everything else in it goes into an archive
# that the tests link, so callbacks and handlers run in-process.
COMMON_SRC = $(sort $(wildcard common/*.c))
MILTER_SRC = $(filter-out milter/main.c,$(sort $(wildcard milter/*.c)))
WEB_SRC = $(filter-out cgi/main.c cgi/front.c,$(sort $(wildcard cgi/*.c)))
CTL_SRC = $(sort $(wildcard tools/ctl_*.c))
SEND_SRC = $(sort $(wildcard tools/send_*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c tests/milter/test_*.c))
BENCH_SRC = $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIBPULLMAIL = $(O)/common/libpullmail.a
LIBMILTER_A = $(O)/milter/libmilteradapter.a
LIBWEB_A = $(O)/cgi/libweb.a
LIBCTL_A = $(O)/tools/libctl.a
LIBSEND_A = $(O)/tools/libsend.a
ADAPTER_LIBS = $(LIBMILTER_A) $(LIBWEB_A) $(LIBCTL_A) $(LIBSEND_A)

PROGS = $(if $(wildcard milter/main.c),$(O)/milter/pullmail-milter) \
	$(if $(wildcard cgi/main.c),$(O)/cgi/pullmail-web $(O)/cgi/pullmail-web-render) \
	$(if $(wildcard tools/pullmailctl.c),$(O)/tools/pullmailctl) \
	$(if $(wildcard tools/pullmail-send.c),$(O)/tools/pullmail-send)
UNIT_BINS = $(patsubst %.c,$(O)/%,$(UNIT_SRC))
BENCH_BINS = $(patsubst %.c,$(O)/%,$(BENCH_SRC))

.PHONY: all check unit-check deps install clean fuzz fuzz-check bench demo \
	demo-stop tests

all: $(LIBPULLMAIL) $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBPULLMAIL): $(call obj,$(COMMON_SRC))
$(LIBMILTER_A): $(call obj,$(MILTER_SRC))
$(LIBWEB_A): $(call obj,$(WEB_SRC))
$(LIBCTL_A): $(call obj,$(CTL_SRC))
$(LIBSEND_A): $(call obj,$(SEND_SRC))
$(LIBPULLMAIL) $(ADAPTER_LIBS):
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(O)/milter/pullmail-milter: $(O)/milter/main.o $(LIBMILTER_A) $(LIBPULLMAIL)
# libmilter's static archive, so that --wrap reaches its signal thread's
# sigwait: SIGHUP reloads instead of stopping (milter/main.c).
$(O)/milter/pullmail-milter: MILTER_LIB = -l:libmilter.a
$(O)/milter/pullmail-milter: ALL_LDFLAGS += -Wl,--wrap=sigwait -Wl,--wrap=mi_rd_cmd # milter/main.c
$(O)/cgi/pullmail-web-render: $(O)/cgi/main.o $(LIBWEB_A) $(LIBPULLMAIL)
# The CGI front (cgi/front.c) answers a kept page without loading GMime and
# its libraries: libc and libsodium only, and the link fails if anything
# it uses needs more.
FRONT_OBJ = $(call obj,cgi/front.c cgi/headers.c common/token.c common/envelope.c \
	common/lifetime.c common/pagefile.c common/readstate.c common/store_fs_peek.c \
	common/units.c)
$(O)/cgi/pullmail-web: $(FRONT_OBJ)
# Linked statically (static-pie: still randomised, full RELRO), with
# libsodium, so that a kept page costs no dynamic loading: perf stat /
# hyperfine of one kept page, 0.8 ms static against 1.2 ms with shared
# libc and libsodium (a shell script printing a line: 0.9 ms). After a
# glibc or libsodium security update, rebuild. FRONT_STATIC=0 links them
# shared; the sanitizers cannot link statically.
FRONT_STATIC ?= 1
ifneq ($(SANITIZE),)
FRONT_STATIC := 0
endif
FRONT_LIBS_SHARED = $(shell $(PKG_CONFIG) --libs libsodium) -lpthread
ifeq ($(FRONT_STATIC),1)
$(O)/cgi/pullmail-web: ALL_LDFLAGS := $(patsubst -pie,-static-pie,$(ALL_LDFLAGS))
$(O)/cgi/pullmail-web: LIBS = $(shell $(PKG_CONFIG) --static --libs libsodium) -lpthread
else
$(O)/cgi/pullmail-web: LIBS = $(FRONT_LIBS_SHARED)
endif
$(O)/cgi/front.o: ALL_CFLAGS += -DPULLMAIL_SBINDIR='"$(SBINDIR)"'
$(O)/tools/pullmailctl: $(O)/tools/pullmailctl.o $(LIBCTL_A) $(LIBPULLMAIL)
$(O)/tools/pullmail-send: $(O)/tools/pullmail-send.o $(LIBSEND_A) $(LIBPULLMAIL)
# The milter must carry libmilter itself (SIGHUP would stop a milter whose
# libmilter is a shared library): the link fails otherwise.
$(PROGS):
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
	$(if $(filter %/pullmail-milter,$@),@nm $@ | grep -q ' T smfi_main$$' || \
		{ echo "$@: libmilter is not linked in statically (SIGHUP would stop it)" >&2; \
		rm -f $@; exit 1; })

# Tests: every tests/unit/test_*.c and tests/milter/test_*.c is one Check
# program linked with every archive (only what it uses is pulled in).
$(O)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<
$(UNIT_BINS): $(O)/%: $(O)/%.o $(ADAPTER_LIBS) $(LIBPULLMAIL)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(BENCH_BINS): $(O)/%: $(O)/%.o $(ADAPTER_LIBS) $(LIBPULLMAIL)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The callbacks' test makes one allocation fail on purpose (its calloc wrap).
$(O)/tests/milter/test_milter_callbacks: ALL_LDFLAGS += -Wl,--wrap=calloc

# pullmail-web linked shared, for valgrind (which cannot check a static
# program: it sees glibc's own start-up as errors).
FRONT_SHARED = $(O)/tests/pullmail-web-shared
$(FRONT_SHARED): $(FRONT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FRONT_LIBS_SHARED)

tests: all $(UNIT_BINS) $(FRONT_SHARED)

# make deps installs what make check needs; make demo and make bench install
# only their own part (mk/deps.sh demo|bench).
deps:
	@sh mk/deps.sh check

# make check, make demo and make bench start servers that run as other users
# and read the tree: a checkout those users cannot enter (under /root), or
# whose path a configuration file cannot carry (a space), runs them from a
# copy that mk/stage.sh keeps up to date and names on each run.
STAGED_GOALS = check demo demo-stop bench
ifneq ($(filter $(STAGED_GOALS),$(MAKECMDGOALS)),)
ifndef PULLMAIL_IN_STAGE
STAGE := $(shell sh mk/stage.sh where)
endif
endif

ifneq ($(STAGE),)
$(STAGED_GOALS):
	@sh mk/stage.sh sync "$(STAGE)"
	@umask 022 && $(MAKE) --no-print-directory -C "$(STAGE)" PULLMAIL_IN_STAGE=1 $@
else

# Unit and in-process tests, then integration tests, then fuzzing; the
# runner prints each program's result and ends with "N passed, N failed".
check: deps
	$(MAKE) --no-print-directory tests fuzz
	O=$(O) SANITIZE=$(SANITIZE) sh tests/run.sh $(UNIT_BINS)

# Each step built in its own make, after the packages: the libraries' flags
# come from pkg-config, which a new machine has only after mk/deps.sh.
bench:
	@sh mk/deps.sh bench
	$(MAKE) --no-print-directory all $(BENCH_BINS)
	O=$(O) sh bench/run.sh

# No $(MAKE) in this recipe: make runs such a line even under -n, and
# make -n demo must not start the demo (demo.sh builds with make).
demo:
	@O=$(O) sh contrib/demo/demo.sh all

demo-stop:
	O=$(O) sh contrib/demo/demo.sh stop
endif

unit-check: tests
	O=$(O) PULLMAIL_SKIP_INTEGRATION=1 PULLMAIL_FUZZ_SECONDS=0 \
		sh tests/run.sh $(UNIT_BINS)

# libFuzzer targets, built with clang against their own instrumented copy of
# common/ and cgi/ (objects under $(O)/fuzzobj so they never mix with gcc's;
# with their dependencies, so that a changed header rebuilds them). A target
# finds the templates and test messages under PULLMAIL_FUZZ_SRCDIR.
# make fuzz FUZZ_SECONDS=N also runs every target N seconds from its corpus
# (tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME, NAME without
# "fuzz_"), working under $(O)/run/fuzz; make check runs each 30 s
# (tests/run.sh, PULLMAIL_FUZZ_SECONDS).
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(patsubst tests/fuzz/%.c,$(O)/tests/fuzz/%,$(FUZZ_SRC))
FUZZ_CC = clang
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-I. -Icommon -DPULLMAIL_VERSION='"$(VERSION)"' \
	-DPULLMAIL_DATADIR='"$(DATADIR)"' $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_OBJ = $(call obj,$(COMMON_SRC:%=fuzzobj/%) $(WEB_SRC:%=fuzzobj/%))
FUZZ_SECONDS ?= 0
HAVE_CLANG := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo yes)

$(O)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
# fuzz_frontconf includes cgi/front.c, which wants PULLMAIL_SBINDIR.
$(O)/fuzzobj/tests/fuzz/%.o: FUZZ_CFLAGS += \
	-DPULLMAIL_FUZZ_SRCDIR='"$(CURDIR)"' -DPULLMAIL_SBINDIR='"$(SBINDIR)"'
$(FUZZ_BINS): $(O)/tests/fuzz/%: $(O)/fuzzobj/tests/fuzz/%.o $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

ifeq ($(HAVE_CLANG),yes)
fuzz: $(FUZZ_BINS)
	@if [ "$(FUZZ_SECONDS)" -gt 0 ]; then \
		O=$(O) sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS); fi
else
fuzz:
	@echo "fuzz: clang not found; run 'make deps' first" >&2
endif

MAN8 = $(wildcard man/*.8)
MAN1 = $(wildcard man/*.1)
MAN5 = $(wildcard man/*.5)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR) \
		$(DESTDIR)$(DATADIR)
	$(if $(wildcard milter/main.c),install -m 755 $(O)/milter/pullmail-milter $(DESTDIR)$(SBINDIR)/)
	$(if $(wildcard cgi/main.c),install -m 755 $(O)/cgi/pullmail-web $(O)/cgi/pullmail-web-render $(DESTDIR)$(SBINDIR)/)
	$(if $(wildcard tools/pullmailctl.c),install -m 755 $(O)/tools/pullmailctl $(DESTDIR)$(SBINDIR)/)
	$(if $(wildcard tools/pullmail-send.c),install -m 755 $(O)/tools/pullmail-send $(DESTDIR)$(BINDIR)/)
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN8),install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	test -e $(DESTDIR)$(SYSCONFDIR)/pullmail.conf || \
		install -m 640 contrib/pullmail.conf $(DESTDIR)$(SYSCONFDIR)/pullmail.conf
	install -m 644 contrib/pullmail.conf $(DESTDIR)$(DATADIR)/pullmail.conf.example
	if [ -d templates ]; then cp -R templates $(DESTDIR)$(DATADIR)/; fi

clean:
	rm -rf $(O)/fuzzobj $(O)/tests/fuzz/fuzz_[a-z]*[!c] run/tests
	find $(O)/common $(O)/milter $(O)/cgi $(O)/tools $(O)/tests $(O)/bench \
		\( -name '*.o' -o -name '*.d' -o -name '*.a' \) -delete 2>/dev/null || true
	rm -f $(PROGS) $(UNIT_BINS) $(BENCH_BINS) $(FUZZ_BINS) $(FRONT_SHARED)

# The dependency files, only where objects are built: anything else under
# $(O) named *.d (a packaging tree's tmpfiles.d, debian/*.cron.d) is not one.
-include $(shell find $(addprefix $(O)/,common milter cgi tools tests bench fuzzobj) \
	-name '*.d' -type f -not -path '*/run/*' 2>/dev/null)

.PHONY: soak
soak: all
	O=$(O) sh tests/soak/soak.sh

# Debian packages (debian/): make deb builds them with dpkg-buildpackage
# from the committed tree and collects the .deb files in $(O)/deb/, with
# lintian's report there; make deb-test installs them on a new Debian 12
# (../shared/fresh-machine) and runs mail through them. Neither is part of
# make check.
.PHONY: deb deb-test
deb:
	O=$(O) sh mk/deb.sh
deb-test:
	O=$(O) sh tests/package/test_deb.sh
