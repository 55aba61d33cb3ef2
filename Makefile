# gongjiang developer tasks.
#
#   make test    gofmt check, go vet, then go test -race over ./...
#   make build   build bin/gongjiang
#   make run     run the demo server
#   make bench   the benchmark suite at province scale (SCALE=small|province|national)
#
# Tests that need PostgreSQL read GONGJIANG_TEST_PG. To get a local throwaway server:
#   eval "$(scripts/pg-test-server.sh start)"
#   make test
#   scripts/pg-test-server.sh stop "$$GONGJIANG_PG_TEST_DIR"

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
GOFMT ?= gofmt

.PHONY: test fmt-check vet build run bench

# The race-detector run skips the two-million-student calibration (-short);
# it runs once more without the race detector, where it takes a minute or two.
test: fmt-check vet
	$(GO) test -race -short -count=1 -timeout 30m ./...
	$(GO) test -count=1 -timeout 30m -run 'Calibration' ./internal/demo/

# Fails and lists the files if gofmt would change any tracked .go file.
# gofmt parse errors also fail the check. safe.directory='*' lets this
# read-only git call work when the checkout belongs to another user (CI as root).
fmt-check:
	@unformatted=$$(git -c safe.directory='*' ls-files -z -- '*.go' \
		| while IFS= read -r -d '' f; do if [[ -f $$f ]]; then printf '%s\0' "$$f"; fi; done \
		| xargs -0 -r $(GOFMT) -l); \
	if [[ -n $$unformatted ]]; then \
		echo "gofmt: these files are not formatted (run: gofmt -w FILE):" >&2; \
		sed 's/^/  /' <<<"$$unformatted" >&2; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

build:
	$(GO) build -o bin/gongjiang ./cmd/gongjiang

run:
	$(GO) run ./cmd/gongjiang serve --demo

SCALE ?= province
bench:
	bench/run --scale $(SCALE)
