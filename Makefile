# sagefence: build and test. `make test` is the one command CI runs.
GO ?= go
PYTHON ?= python3

.PHONY: all build test test-deps moto chromium cfn-lint vet clean

all: build

build:
	$(GO) build -o bin/sagefence ./cmd/sagefence

# Tests start moto_server themselves on a free loopback port; this target
# only makes sure the emulator (and Chromium, for the HTML report test) is
# installed, installing it when missing.
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...

test-deps: moto chromium cfn-lint

moto:
	@$(PYTHON) -c 'import moto.server' 2>/dev/null || command -v moto_server >/dev/null 2>&1 || \
		{ echo "installing moto[server] (AWS emulator for tests)" >&2; $(PYTHON) -m pip install --quiet 'moto[server]>=5.1,<6'; }

cfn-lint:
	@command -v cfn-lint >/dev/null 2>&1 || \
		{ echo "installing cfn-lint (guardrail template test)" >&2; $(PYTHON) -m pip install --quiet cfn-lint; }

chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ echo "installing chromium (HTML report test)" >&2; \
		  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		  echo "warning: could not install chromium" >&2; }

vet:
	$(GO) vet ./...

clean:
	rm -rf bin out
