SHELL := /bin/bash

# Every target works on a fresh machine with only Go installed: what else a
# target needs, it installs (apt-get, as root) or explains how to install.

GO         ?= go
BENCHCOUNT ?= 6
# FUZZSCALE multiplies every fuzz target's execution budget below.
FUZZSCALE  ?= 1

# Every fuzz target, as package:FuzzTarget:executions.
#
# `make test` runs each target over its committed seed corpus only (its f.Add
# seeds and <package>/testdata/fuzz/<FuzzTarget>/): the same inputs every run,
# so it cannot fail on a new random input. It also fails when a target has no
# committed corpus, or a Fuzz function in the repository is not listed here.
#
# `make fuzz`, which `make test` does not run, explores: -fuzz on each target
# for its executions times FUZZSCALE (about 5 s each on a 2-core machine at
# FUZZSCALE=1). A failing input is written to that corpus directory: fix the
# bug and commit the input, so that `make test` checks it from then on.
# Budgets count executions rather than time: a -fuzztime duration races the
# fuzz coordinator's deadline in Go 1.26 and fails spuriously with "context
# deadline exceeded" (go.dev/issue/75804).
FUZZ_TARGETS := \
	./returnto:FuzzCheck:400000 \
	./session:FuzzStoreLoad:40000 \
	./session:FuzzDecodePayload:150000 \
	./remote:FuzzParseErrorBody:150000 \
	./remote:FuzzParseUser:100000 \
	./remote:FuzzParseTokens:100000 \
	./middleware:FuzzQueryValue:60000 \
	./redisstore:FuzzParseClaimed:100000 \
	./login:FuzzDecodePending:100000 \
	./token:FuzzDecrypt:100000

# System programs the tests drive for real, as program:debian-package.
SYSTEM_DEPS := chromium:chromium redis-server:redis-server /usr/bin/time:time

.PHONY: all run test deps vet staticcheck unit fuzz-seeds fuzz bench loadtest fmt-check

all: test

## run: the example, two apps on an embedded CentralAuth.
run:
	$(GO) run ./examples/chi-app

## test: vet and staticcheck, the whole suite with -race, then every fuzz target over its
## committed seed corpus.
test: deps fmt-check vet staticcheck unit fuzz-seeds

## deps: install the system programs the tests need, if missing.
deps:
	@missing=""; for d in $(SYSTEM_DEPS); do \
		command -v "$${d%%:*}" >/dev/null 2>&1 || missing="$$missing $${d##*:}"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "make test needs these Debian packages:$$missing"; \
		echo "install them with: sudo apt-get install -y$$missing   (or run make test as root)"; \
		exit 1; \
	fi; \
	echo "installing$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# staticcheck is a tool directive in go.mod: the version is pinned there.
staticcheck:
	$(GO) tool staticcheck ./...

# The tests that need chromium or redis-server skip without them under a
# plain `go test`; here, after deps installed them, a skip is a failure.
unit:
	CENTRALAUTH_REQUIRE_SYSTEM_DEPS=1 $(GO) test -race -count=1 ./...

## fuzz-seeds: every fuzz target over its committed seed corpus, no new inputs.
fuzz-seeds:
	@set -e; listed=""; for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name n <<<"$$t"; listed="$$listed $$name"; \
		corpus="$$pkg/testdata/fuzz/$$name"; \
		if [ -z "$$(ls -A "$$corpus" 2>/dev/null)" ]; then echo "$$name: no committed seed corpus in $$corpus"; exit 1; fi; \
		out=$$($(GO) test -race -count=1 -run="^$$name$$" -v $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
		grep -q "^--- PASS: $$name " <<<"$$out" || { echo "$$name: no such fuzz target in $$pkg"; exit 1; }; \
		echo "fuzz seeds $$pkg $$name: $$(ls "$$corpus" | wc -l) committed inputs"; \
	done; \
	for name in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | cut -d' ' -f2); do \
		case "$$listed " in *" $$name "*) ;; *) echo "$$name is not in the Makefile's FUZZ_TARGETS"; exit 1;; esac; \
	done

## fuzz: explore, with new random inputs; not part of `make test`.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name n <<<"$$t"; n=$$((n * $(FUZZSCALE))); \
		echo "fuzz $$pkg $$name ($$n executions)"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$${n}x $$pkg; \
	done

## bench: every benchmark, $(BENCHCOUNT) times, then benchstat tables that
## put each target next to its baseline from the same run.
BENCHOUT ?= bench.txt
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCHCOUNT) ./... | tee $(BENCHOUT)
	@echo; echo "== target 1: Middleware pass-through against the bare handler"
	$(GO) tool benchstat -filter '.name:PassThrough' -col /impl $(BENCHOUT)
	@echo; echo "== target 2: local logout against the hand-written floor"
	$(GO) tool benchstat -filter '.name:LocalLogout' -col /impl $(BENCHOUT)
	@echo; echo "== targets 3, 4: return_to validation"
	$(GO) tool benchstat -filter '.name:/^Check(Hostile)?$$/' $(BENCHOUT)
	@echo; echo "== target 5: allow-list size"
	$(GO) tool benchstat -filter '.name:CheckAllowListSize' -col /hosts $(BENCHOUT)
	@echo; echo "== target 6: session-wide logout against a raw http.Client loop"
	$(GO) tool benchstat -filter '.name:SessionWideLogout' -col /impl $(BENCHOUT)
	@echo; echo "== target 7: Load with and without the memory revocation list"
	$(GO) tool benchstat -filter '.name:Load' -col /revocations $(BENCHOUT)
	@echo; echo "== Revoke on a full memory revocation list, 1,000 against 100,000 entries"
	$(GO) tool benchstat -filter '.name:RevokeFullList' -col /entries $(BENCHOUT)
	@echo; echo "== SessionCheck, cached, against a bare Store.Load"
	$(GO) tool benchstat -filter '.name:SessionCheck' -col /impl $(BENCHOUT)
	@echo; echo "== SessionCheck's cache: 100,000 sessions against 1, and bytes per session"
	$(GO) tool benchstat -filter '.name:SessionCheckCache' -col /entries $(BENCHOUT)
	@echo; echo "== a cached check with and without the list of ended sessions (token read once per session)"
	$(GO) tool benchstat -filter '.name:CachedCheckWithTokens' -col /tokens $(BENCHOUT)
	@echo; echo "== log out everywhere on A to B's refusal, over one Redis (p50-µs, p99-µs; -benchtime 1000x for 1,000 sessions)"
	$(GO) tool benchstat -filter '.name:LogoutEverywhereLatency' $(BENCHOUT)
	@echo; echo "== Load with the Redis list cached locally, against the memory list (and Redis without the cache)"
	$(GO) tool benchstat -filter '.name:Load .pkg:github.com/centralauth-go/logout/redisstore' -col /revocations $(BENCHOUT)
	@echo; echo "== revocation through A to refusal on B, against a bare PUBLISH"
	$(GO) tool benchstat -filter '.name:Propagation' -col /impl $(BENCHOUT)
	@echo; echo "== resync of 100,000 revocations into the local cache"
	$(GO) tool benchstat -filter '.name:Resync' $(BENCHOUT)
	@echo; echo "== centralauth-logout: 20,000 tokens, -c 32, against a raw http.Client loop of 32 goroutines"
	$(GO) tool benchstat -filter '.name:/^Command$$/' $(BENCHOUT)
	@echo; echo "== centralauth-logout: peak RSS for 20,000 and 1,000,000 input lines (-dry-run)"
	$(GO) tool benchstat -filter '.name:CommandMemory' -col /lines $(BENCHOUT)

## loadtest: the example under load, local then session-wide logout.
LOADTEST_C ?= 16
LOADTEST_D ?= 10s
loadtest:
	$(GO) run ./internal/loadtest -c $(LOADTEST_C) -d $(LOADTEST_D) -mode local
	$(GO) run ./internal/loadtest -c $(LOADTEST_C) -d $(LOADTEST_D) -mode everywhere
