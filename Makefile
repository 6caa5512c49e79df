# deling — PGXS build.  `make demo` and `make test` bootstrap a fresh
# Debian 12 machine first (scripts/bootstrap.sh), so they work before
# pg_config exists; every other target needs the PostgreSQL dev files.

EXTENSION   = deling

MODULE_big  = deling
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# Releases.  src/sql/<version>/ holds one file per capability: the oldest
# directory (0.1.0) is the install script, each later one the update script
# from the release before it.  A fresh install of the default version runs
# the install script and every update in turn (PostgreSQL finds the chain),
# so a fresh install and an updated database come from one source and
# cannot drift apart.  Released scripts never change again: their
# checksums are in tests/upgrade/released.sha256 (t/020_upgrade.pl).
VERSIONS    := $(shell ls src/sql | sort -V)
BASEVERSION := $(firstword $(VERSIONS))
EXTVERSION  := $(lastword $(VERSIONS))
UPDATES     := $(join $(addsuffix --,$(filter-out $(EXTVERSION),$(VERSIONS))),$(wordlist 2,999,$(VERSIONS)))
DATA_built   = deling--$(BASEVERSION).sql $(patsubst %,deling--%.sql,$(UPDATES))
ifneq ($(shell sed -n "s/^default_version = '\(.*\)'/\1/p" deling.control),$(EXTVERSION))
$(error deling.control's default_version must be the newest release directory in src/sql ($(EXTVERSION)))
endif

# Tests (docs/testing.md).  make installcheck runs, as contrib modules do,
# pg_regress and then pg_isolation_regress, each in a temporary instance of
# its own configured by tests/deling.conf (nothing needs to be running), and
# then the TAP tests t/*.pl on PostgreSQL::Test::Cluster, which start servers
# of their own.  initdb refuses to run as root: make test runs this phase as
# the postgres user (scripts/test.sh).  Naming suites runs only those:
#   make installcheck REGRESS="01_setup 04_tokens"
#   make installcheck ISOLATION=access_log
#   make installcheck PROVE_TESTS=t/010_preload.pl
ifeq ($(filter command environment,$(origin REGRESS) $(origin ISOLATION) $(origin PROVE_TESTS)),)
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
ISOLATION    = $(patsubst tests/isolation/specs/%.spec,%,$(sort $(wildcard tests/isolation/specs/*.spec)))
TAP_TESTS    = 1
else ifneq ($(PROVE_TESTS),)
TAP_TESTS    = 1
endif
# tests/output-plugins.conf only where the server has that setting (stock 15 has not)
TEMP_CONFIGS = tests/deling.conf \
  $(if $(shell '$(bindir)/postgres' --describe-config 2>/dev/null | grep '^output_plugin_libraries'),tests/output-plugins.conf)
REGRESS_OPTS = --load-extension=deling --temp-instance=tmp_check_regress $(addprefix --temp-config=,$(TEMP_CONFIGS))
# The isolation specs set up what they need themselves, in a database of
# the name deling.access_log_database gives (the access log, and so every
# sharing read, works only there)
ISOLATION_OPTS = --inputdir=tests/isolation --outputdir=tests/isolation/output_iso \
                 --load-extension=deling --temp-instance=tmp_check_iso $(addprefix --temp-config=,$(TEMP_CONFIGS))
override ISOLATION_TESTDB = contrib_regression
# The expected outputs are UTF-8 (æ, ø, å): the instances and psql run in C.UTF-8
installcheck: export LC_ALL = C.UTF-8
installcheck: export LANG = C.UTF-8
# pg_regress writes the FHIR documents it reads to $DELING_FHIR_OUT, which
# t/040_fhir.pl validates; a pg_regress run starts with none there
installcheck: export DELING_FHIR_OUT ?= $(CURDIR)/tmp_check_fhir
REGRESS_PREP = fhir-out

EXTRA_CLEAN = tests/isolation/output_iso tmp_check_regress tmp_check_fhir results regression.diffs regression.out

PG_CONFIG  ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PG_CPPFLAGS = -Isrc $(shell pkg-config --cflags libxml-2.0 openssl 2>/dev/null)
# make test (and so CI) builds with -Werror: a warning fails the build
PG_CFLAGS   = -Wall -Wextra -Wno-unused-parameter $(if $(WERROR),-Werror)
SHLIB_LINK  = $(shell pkg-config --libs libxml-2.0 openssl 2>/dev/null)

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

deling--$(BASEVERSION).sql: $(sort $(wildcard src/sql/$(BASEVERSION)/*.sql)) Makefile
	cat $(filter %.sql,$^) > $@
define update_script
deling--$(1).sql: $$(sort $$(wildcard src/sql/$(lastword $(subst --, ,$(1)))/*.sql)) Makefile
	cat $$(filter %.sql,$$^) > $$@
endef
$(foreach u,$(UPDATES),$(eval $(call update_script,$(u))))

fhir-out:
ifneq ($(REGRESS),)
	mkdir -p '$(DELING_FHIR_OUT)' && rm -f '$(DELING_FHIR_OUT)'/*.json
endif

# KPR's official XSD files (names with parentheses, so not through PGXS DATA)
KPR_XSD_DIR = $(DESTDIR)$(datadir)/extension/deling/xpr-ipl-56.0.0
install: install-kpr-xsd
install-kpr-xsd:
	$(MKDIR_P) '$(KPR_XSD_DIR)'
	$(INSTALL_DATA) kpr/xpr-ipl-56.0.0/*.xsd '$(KPR_XSD_DIR)/'

.PHONY: bootstrap demo test bench install-kpr-xsd fhir-out

bootstrap:
	scripts/bootstrap.sh

demo: bootstrap
	$(MAKE) all install
	scripts/demo.sh

test: bootstrap
	$(MAKE) all install WERROR=1
	scripts/test.sh

bench: bootstrap
	$(MAKE) all install
	scripts/bench.sh
