# Every target works on a fresh machine with only Go installed: what else a
# target needs, it installs (apt-get, as root) or explains how to install.

GO       ?= go
FUZZTIME ?= 10s
BENCHCOUNT ?= 6

# package:FuzzTarget, one short pass each in `make test`.
FUZZ_TARGETS := \
	./returnto:FuzzCheck \
	./session:FuzzStoreLoad \
	./session:FuzzDecodePayload \
	./remote:FuzzParseErrorBody \
	./middleware:FuzzQueryValue

.PHONY: all test vet unit fuzz bench fmt-check

all: test

## test: vet, the whole suite with -race, then a short fuzz pass.
test: fmt-check vet unit fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## bench: every benchmark, $(BENCHCOUNT) times, for benchstat.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCHCOUNT) ./...
