# sagefence as a container: a static binary on a distroless base, run as a
# non-root user, in /work. Build and run:
#
#   docker build -t sagefence .
#   docker run --rm -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
#     sagefence scan --format json
#   docker run --rm -v "$PWD:/work" sagefence iac .          # check a repository's IaC
#
# Release images are built from this file by GoReleaser (.goreleaser.yaml),
# which sets VERSION, COMMIT and DATE; "sagefence version" reports them.
#
# `sagefence watch` keeps its history in /var/lib/sagefence (mount a volume
# there) and serves on 8484; see docs/watch.md and examples/k8s-watch.yaml.
# The Indexed Job example runs a shell: build it with
# --build-arg BASE=gcr.io/distroless/static-debian12:debug-nonroot (busybox sh).
# GO_IMAGE picks the builder and GOPROXY the module proxy (the tests build
# offline with GOPROXY=off and the machine's module cache).

ARG GO_IMAGE=golang:1.26
ARG BASE=gcr.io/distroless/static-debian12:nonroot

# The builder runs on the build machine's platform and cross-compiles for
# the target's (docker buildx --platform linux/arm64 needs no emulation).
FROM --platform=${BUILDPLATFORM} ${GO_IMAGE} AS build
ARG GOPROXY
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
# Pure Go (the SQLite driver included): no C library, a static binary. The
# cache mounts keep modules and compiled packages between builds; go build
# fetches only the modules this platform's build needs.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags="-s -w -X github.com/sagefence/sagefence/internal/buildinfo.version=${VERSION} -X github.com/sagefence/sagefence/internal/buildinfo.commit=${COMMIT} -X github.com/sagefence/sagefence/internal/buildinfo.date=${DATE}" \
      -o /out/sagefence ./cmd/sagefence
RUN mkdir -p /out/state /out/work && chown 65532:65532 /out/state /out/work

FROM ${BASE}
COPY --from=build /out/sagefence /usr/local/bin/sagefence
COPY --from=build --chown=65532:65532 /out/state /var/lib/sagefence
COPY --from=build --chown=65532:65532 /out/work /work
# The default journal and watch history live under $XDG_STATE_HOME/sagefence.
ENV XDG_STATE_HOME=/var/lib
USER 65532:65532
WORKDIR /work
VOLUME ["/var/lib/sagefence"]
EXPOSE 8484
ENTRYPOINT ["/usr/local/bin/sagefence"]
CMD ["--help"]
