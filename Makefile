# herder's build. `make run` and `make test` are the two commands a new
# developer needs; everything else is here for CI, benchmarks and releases.

GO      ?= go
BIN     := bin
# Every plugins/<name>/main.go is a plugin binary, built to bin/plugins/<name>.
PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))
GOFILES := $(shell find . -name '*.go' -not -path './.tools/*' -not -path './frontend/node_modules/*')

.PHONY: all build host plugins frontend run test test-race test-faults bench bench-e2e lint fmt fuzz proto clean

all: build

build: frontend host plugins

host:
	$(GO) build -o $(BIN)/herder ./cmd/herder

# Builds each plugin, then pins its SHA-256 in bin/plugins/herder.plugins.lock.hcl
# so the host verifies exactly what was built.
plugins: host
	@mkdir -p $(BIN)/plugins
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/plugins/$$p ./plugins/$$p"; \
		$(GO) build -o $(BIN)/plugins/$$p ./plugins/$$p || exit 1; \
	done
	@if [ -n "$(PLUGINS)" ] && $(BIN)/herder plugins --help >/dev/null 2>&1; then \
		$(BIN)/herder plugins lock $(addprefix $(BIN)/plugins/,$(PLUGINS)); \
	fi

# The web UI is built into server/ui/dist, which the host embeds (a host built
# without it serves a placeholder page).
frontend:
	@if [ -f frontend/package.json ]; then \
		cd frontend && npm ci --no-audit --no-fund && npm run build; \
	fi

# Loads the demo dataset into the embedded SQLite database under ./data and
# serves the UI and API on http://localhost:8080.
run: build
	$(BIN)/herder demo
	$(BIN)/herder serve

# The whole suite. The MySQL and RabbitMQ halves need the services that
# `bash scripts/services.sh` starts (CI runs .ci/run, which does that first);
# without them those tests skip with a message saying so.
test: lint
	$(GO) test -count=1 -timeout 30m ./...
	@if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund && npm test; fi
	@if [ -f frontend/package.json ]; then \
		if [ -x /usr/bin/chromium ]; then cd frontend && npm run e2e; \
		elif [ "$$HERDER_REQUIRE_SERVICES" = 1 ]; then echo "the UI's end-to-end tests need /usr/bin/chromium (scripts/services.sh chromium)"; exit 1; \
		else echo "skipping the UI's end-to-end tests: no /usr/bin/chromium (sudo bash scripts/services.sh chromium)"; fi; \
	fi

test-race:
	$(GO) test -race -count=1 -timeout 30m ./...

# The scale-out fault suite (internal/faults): processes killed, RabbitMQ and
# MariaDB restarted under 100,000 Pulse messages; nothing lost or doubled.
# Needs root and the services; a few minutes a run. RUNS=3 runs it three times.
test-faults:
	bash scripts/test-faults.sh $(RUNS)

# Benchmarks print their numbers; docs/benchmarks.md records them.
bench:
	bash scripts/bench.sh

# End-to-end messages/s from the Pulse exchange to parsed jobs, 1/2/4 workers
# (docs/scaleout-notes.md).
bench-e2e:
	bash scripts/test-faults.sh bench

lint:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags faults ./internal/faults

fmt:
	gofmt -w $(GOFILES)

# Runs every fuzz target for FUZZTIME each.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

proto:
	bash scripts/gen-proto.sh

clean:
	rm -rf $(BIN)
