# syntax=docker/dockerfile:1
#
# aisoar: one static binary; the image runs `aisoar server` by default and
# `aisoar worker` with `docker run IMAGE worker` (see docker-compose.yml).
#
#   docker build -t aisoar .
#   docker run --rm -p 8080:8080 \
#     -v "$PWD/deploy/aisoar.yaml:/etc/aisoar/aisoar.yaml:ro" \
#     -e AISOAR_TEMPORAL_ADDRESS=temporal.example.internal:7233 \
#     -e AISOAR_SOURCE_SECRET=whsec_... -e AISOAR_TOKEN_ANALYST=... \
#     aisoar                          # or: aisoar worker (needs no secrets)
#
# The config file must set `listen: 0.0.0.0:8080`: the built-in default,
# 127.0.0.1:8080, is unreachable from outside the container.

# go.mod asks for Go 1.26.8 and the golang images set GOTOOLCHAIN=local, so a
# stale local golang:1.26 fails with "go.mod requires go >= 1.26.8": build
# with --pull, or pin the patch release with --build-arg GO_VERSION=1.26.8.
ARG GO_VERSION=1.26

##### Build #####
# Build on the builder's own platform and cross-compile (CGO is off, so this is
# free): a multi-platform build (--platform linux/amd64,linux/arm64) does not
# run the Go toolchain under emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0

# Modules first, so editing code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /aisoar ./cmd/aisoar

##### Runtime #####
# alpine rather than gcr.io/distroless/static-debian12:nonroot: the binary is
# static and would run on either, but distroless has no shell and no HTTP
# client, and aisoar has no health-probe subcommand, so compose could not
# health-check /readyz. alpine's busybox `wget` can, for a few MB more. No
# package is installed: the base already has the CA bundle the Temporal and
# http-action TLS clients need.
#
# There is deliberately no HEALTHCHECK here: the same image runs
# `aisoar worker`, which serves only its metrics (on --metrics-listen, 9464),
# so an image-level probe of :8080 would mark every worker unhealthy (and
# Swarm would keep replacing it). The probes live in docker-compose.yml, per
# role.
FROM alpine:3.22 AS runtime

# A fixed numeric UID/GID so Kubernetes' runAsNonRoot can verify it. The home
# directory is where `aisoar dev` keeps its state when run in this image.
# /var/lib/aisoar/evidence is where deploy/aisoar.yaml keeps evidence; a
# named volume mounted there takes this directory's owner.
RUN addgroup -S -g 10001 aisoar \
 && adduser -S -D -u 10001 -G aisoar -h /home/aisoar -s /sbin/nologin aisoar \
 && mkdir -p /etc/aisoar /var/lib/aisoar/evidence \
 && chown aisoar:aisoar /var/lib/aisoar/evidence

COPY --from=build /aisoar /aisoar

# The config file is expected at /etc/aisoar/aisoar.yaml: with this working
# directory the default `--config aisoar.yaml` finds it, and relative
# `playbooks:` directories in it resolve under /etc/aisoar.
WORKDIR /etc/aisoar
USER 10001:10001
EXPOSE 8080

ENTRYPOINT ["/aisoar"]
CMD ["server"]
