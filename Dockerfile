# syntax=docker/dockerfile:1
# The topicform image the Helm charts run by default
# (ghcr.io/topicform/topicform:<chart appVersion> = the crate's version).
#
#   docker build -t ghcr.io/topicform/topicform:0.1.0 .
#
# Stage 1 builds the release binary with the native dependencies of
# deploy/setup.sh (librdkafka is compiled from source by rdkafka-sys, with the
# system OpenSSL; zstd and zlib are compiled in). Stage 2 is Debian slim with
# only the CA certificates and libssl the binary needs, and a non-root user
# whose uid/gid (10001) the charts' securityContext uses.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config libssl-dev zlib1g-dev cmake python3 perl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin topicform \
 && install -D -m 0755 target/release/topicform /out/topicform

FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 topicform \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin topicform
COPY --from=builder /out/topicform /usr/local/bin/topicform
USER 10001:10001
# No colour in logs (the charts also pass --log-format json).
ENV NO_COLOR=1
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/topicform"]
CMD ["--help"]
