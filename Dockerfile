# sagefence as a container: a static binary on a distroless base, run as a
# non-root user. Build and run:
#
#   docker build -t sagefence .
#   docker run --rm -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
#     sagefence scan --format json
#
# `sagefence watch` keeps its history in /var/lib/sagefence (mount a volume
# there) and serves on 8484; see docs/watch.md and examples/k8s-watch.yaml.
# The Indexed Job example runs a shell: build it with
# --build-arg BASE=gcr.io/distroless/static-debian12:debug-nonroot (busybox sh).

ARG GO_VERSION=1.26
ARG BASE=gcr.io/distroless/static-debian12:nonroot

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (the SQLite driver included): no C library, a static binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sagefence ./cmd/sagefence
RUN mkdir -p /out/state && chown 65532:65532 /out/state

FROM ${BASE}
COPY --from=build /out/sagefence /usr/local/bin/sagefence
COPY --from=build --chown=65532:65532 /out/state /var/lib/sagefence
# The default journal and watch history live under $XDG_STATE_HOME/sagefence.
ENV XDG_STATE_HOME=/var/lib
USER 65532:65532
VOLUME ["/var/lib/sagefence"]
EXPOSE 8484
ENTRYPOINT ["/usr/local/bin/sagefence"]
CMD ["--help"]
