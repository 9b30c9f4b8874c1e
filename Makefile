# The two commands a newcomer needs are `make demo` and `make test`.

GO       ?= go
# VERSION is the semantic version of the nearest v* tag (1.2.3, or
# 1.2.3-4-gabcdef for a later commit), "dev" without one; COMMIT the checkout's
# revision. A build outside a checkout (make build VERSION=1.2.3) leaves COMMIT
# empty and the binary reports the Go toolchain's VCS stamp, or "unknown".
VERSION  ?= $(or $(patsubst v%,%,$(shell git describe --tags --match 'v[0-9]*' 2>/dev/null)),dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)$(if $(shell git status --porcelain 2>/dev/null),-dirty)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      := bin/exhibit
FUZZTIME ?= 5s

.PHONY: build demo test test-deps unit race fuzz vet clean

## build: a static binary in bin/ (the Dockerfile runs this same target)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/exhibit

## demo: collect from a simulated estate on loopback, verify, summarize
demo: build
	./$(BIN) demo

## test: install what the tests need, then vet, the whole suite, the race detector and short fuzzing
test: test-deps vet unit race fuzz

## test-deps: tools the suite runs for real (openssl, Chromium, MinIO, cosign, helm; a C compiler for -race) and the CloudFormation resource specification
test-deps:
	@./.ci/deps

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

## race: the packages again under the race detector: the agent runs
## collectors, the scheduler and the spool concurrently
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./pkg/... ./collectors/...

## fuzz: run every Fuzz target briefly (FUZZTIME each)
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) ./.ci/fuzz

clean:
	rm -rf bin
