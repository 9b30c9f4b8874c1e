# The two commands a newcomer needs are `make demo` and `make test`.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
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
