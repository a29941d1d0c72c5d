#!/usr/bin/env bash
# deploy/setup.sh — install what topicform's build and tests need on a fresh
# Debian/Ubuntu machine, then cache the pinned Kafka jars. Idempotent and
# quick when everything is present (apt is skipped entirely then).
#
# Needs root (or sudo) only when packages are missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(build-essential pkg-config libssl-dev zlib1g-dev cmake python3 perl curl openjdk-17-jdk-headless maven)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may have Java 17 and Maven from elsewhere (e.g. a JDK image).
if command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then
  missing=("${missing[@]/openjdk-17-jdk-headless}")
fi
if command -v mvn >/dev/null; then
  missing=("${missing[@]/maven}")
fi
read -r -a missing <<<"${missing[*]}"

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "setup: Rust is missing; install it from https://rustup.rs (rustup), then re-run" >&2; exit 1; }

bash "$repo/deploy/local/kafka.sh" fetch
