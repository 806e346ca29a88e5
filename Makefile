# tokenwatch: `make check` is the test command, on a fresh machine too: it
# installs what it needs (Debian packages, Go modules) and then runs every test.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/tokenwatch/tokenwatch/internal/version.Version=$(VERSION)

.PHONY: all build check deps fmt vet test fuzz bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tokenwatch ./cmd/tokenwatch

## check: install what is missing, then gofmt, go vet, the race-enabled tests
## and a bounded run of each fuzz target
check: deps fmt vet test fuzz

deps:
	@scripts/install-deps.sh
	$(GO) mod download
	cd deploy && $(GO) mod download

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

## test: the product's tests (race detector on), then the deployment files'
test:
	$(GO) test -race -count=1 ./...
	cd deploy && $(GO) test -count=1 ./...

## fuzz: each fuzz target for FUZZTIME (the seed corpora also run in `test`).
## -fuzz takes one target of one package, hence one line each.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/state/

## bench: the Go benchmarks, then tokenwatch side by side with a bare
## net/http client on one loopback workload, against the issue's targets.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
	$(GO) run ./scripts/loadbench

clean:
	rm -rf bin
