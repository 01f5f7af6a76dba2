# sagefence: build and test. `make test` is the one command CI runs.
GO ?= go
PYTHON ?= python3

.PHONY: all build test test-deps moto chromium cfn-lint tools buildah pre-commit release-check vet clean

# Pinned tools, built with this Go into bin/tools (gitignored). goreleaser
# v2.17 is the last that builds with Go 1.26 (v2.18 needs 1.27).
TOOLS := $(CURDIR)/bin/tools
ACTIONLINT_VERSION := v1.7.12
GORELEASER_VERSION := v2.17.0

all: build

# -buildvcs=auto stamps the checkout's commit (sagefence version) when git
# is there, whatever GOFLAGS says.
build:
	$(GO) build -buildvcs=auto -o bin/sagefence ./cmd/sagefence

# Tests start moto_server themselves on a free loopback port; test-deps
# only makes sure the emulator, Chromium (HTML report test), buildah (the
# container image test), actionlint and shellcheck (the GitHub Action),
# pre-commit (the hook) and goreleaser (release-check) are installed,
# installing what is missing.
test: test-deps release-check
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...

test-deps: moto chromium cfn-lint tools buildah pre-commit

tools: $(TOOLS)/.actionlint-$(ACTIONLINT_VERSION) $(TOOLS)/.goreleaser-$(GORELEASER_VERSION)

$(TOOLS)/.actionlint-$(ACTIONLINT_VERSION):
	@echo "installing actionlint $(ACTIONLINT_VERSION) (GitHub Action test)" >&2
	GOBIN=$(TOOLS) GOFLAGS= $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	@touch $@

$(TOOLS)/.goreleaser-$(GORELEASER_VERSION):
	@echo "installing goreleaser $(GORELEASER_VERSION) (release-check; a few minutes on an empty Go cache)" >&2
	GOBIN=$(TOOLS) GOFLAGS= $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	@touch $@

buildah:
	@{ command -v buildah >/dev/null 2>&1 && command -v shellcheck >/dev/null 2>&1; } || \
		{ echo "installing buildah and shellcheck (container image and GitHub Action tests)" >&2; \
		  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah shellcheck >/dev/null) || \
		  echo "warning: could not install buildah and shellcheck" >&2; }

pre-commit:
	@command -v pre-commit >/dev/null 2>&1 || \
		{ echo "installing pre-commit (hook test)" >&2; $(PYTHON) -m pip install --quiet 'pre-commit>=4,<5'; }

# The release configuration is valid and builds: goreleaser check, then a
# snapshot build of this machine's target, whose binary must report the
# snapshot version the ldflags set.
release-check: tools
	$(TOOLS)/goreleaser check
	@mkdir -p bin/release-check
	$(TOOLS)/goreleaser build --snapshot --single-target --clean --output bin/release-check/sagefence
	@bin/release-check/sagefence version | tee /dev/stderr | grep -q -- '-SNAPSHOT-' || \
		{ echo "release-check: the snapshot binary does not report its snapshot version" >&2; exit 1; }

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
	rm -rf bin out dist
