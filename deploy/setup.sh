#!/usr/bin/env bash
# setup.sh — prepare a fresh Debian/Ubuntu machine for topicform development,
# tests and CI. Idempotent; quick (no apt at all) when everything is present.
#
# Usage: deploy/setup.sh [--tools]   (as root, or as a user with sudo)
#
#   1. apt-get installs the native build dependencies of the Rust crate:
#      build-essential pkg-config libssl-dev zlib1g-dev cmake python3 perl curl openssl
#   2. makes sure Java 17+ and Maven are available (for the local Kafka broker),
#      and Node.js and npm (the kafkajs test client); installs
#      openjdk-17-jdk-headless / maven / nodejs / npm with apt-get when missing
#   3. runs deploy/local/kafka.sh fetch (Kafka jars from Maven Central into
#      ${TOPICFORM_CACHE:-<repo>/.cache}); skipped when already cached
#   4. with --tools: deploy/tools/helm.sh, deploy/tools/terraform.sh,
#      deploy/tools/kubernetes.sh and deploy/tools/otelcol.sh build helm,
#      kubectl-validate, the Terraform providers, the test cluster's
#      Kubernetes components and an OpenTelemetry Collector from the Go
#      module proxy into ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
#      (and apt-get install containerd, runc, the CNI plugins and etcd);
#      deploy/tools/kafkajs.sh installs kafkajs 2.2.4 there from npm
#
# The Rust toolchain itself is not installed here (use rustup); the script
# fails, saying so, when cargo is missing.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

BUILD_PACKAGES=(build-essential pkg-config libssl-dev zlib1g-dev cmake python3 perl curl openssl)

log() { printf 'setup.sh: %s\n' "$*" >&2; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  SUDO=()
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

java_ok() {
  local java spec
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    java="$JAVA_HOME/bin/java"
  else
    java=$(command -v java 2>/dev/null) || return 1
  fi
  spec=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n 1)
  spec="${spec#1.}"
  [[ "$spec" =~ ^[0-9]+$ ]] && ((spec >= 17))
}

command -v dpkg-query >/dev/null 2>&1 || die "this script supports Debian-based systems (dpkg/apt) only"

missing=()
for pkg in "${BUILD_PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
java_ok || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# Node.js and npm: the kafkajs test client (deploy/tools/kafkajs.sh).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} == 0)); then
  log "system packages: all present"
else
  if [[ "$(id -u)" -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    die "missing packages (${missing[*]}) and neither root nor sudo; run: apt-get install ${missing[*]}"
  fi
  log "installing: ${missing[*]}"
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  java_ok || die "Java 17+ still not usable after install (check 'java -version' / JAVA_HOME)"
  command -v mvn >/dev/null 2>&1 || die "mvn still not on PATH after installing maven"
fi

command -v cargo >/dev/null 2>&1 ||
  die "Rust (cargo) is missing; install it from https://rustup.rs (rustup), then re-run"

# Fetch the Kafka jars as the invoking user (not root) when run via sudo, so the
# cache in the work tree stays owned by that user.
fetch=("$SCRIPT_DIR/local/kafka.sh" fetch)
if [[ "$(id -u)" -eq 0 && -n "${SUDO_USER:-}" && "${SUDO_USER}" != root ]] && command -v sudo >/dev/null 2>&1; then
  sudo -u "$SUDO_USER" --preserve-env=TOPICFORM_CACHE,KAFKA_VERSION,JAVA_HOME "${fetch[@]}"
else
  "${fetch[@]}"
fi

# The chart and Terraform tests' tools (Go builds; cold: ~6 and ~12 min) only
# with --tools, which deploy/test.sh passes: running the platform locally
# needs neither.
if [[ "${1:-}" == --tools ]]; then
  bash "$SCRIPT_DIR/tools/helm.sh" >/dev/null      # helm + kubectl-validate
  bash "$SCRIPT_DIR/tools/terraform.sh" >/dev/null # terraform + providers in a local mirror
  bash "$SCRIPT_DIR/tools/kubernetes.sh" >/dev/null # the test cluster: kube (Go) + containerd, runc, etcd (apt)
  bash "$SCRIPT_DIR/tools/otelcol.sh" >/dev/null    # the telemetry tests' OTLP backend and scraper (Go)
  bash "$SCRIPT_DIR/tools/kafkajs.sh" >/dev/null    # kafkajs 2.2.4 for the client-settings round trip (npm)
fi

log "done"
