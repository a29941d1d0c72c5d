#!/usr/bin/env bash
# deploy/tools/kafkajs.sh — install kafkajs 2.2.4, the Kafka client of the
# example platform's Node.js services, for tests/kafkajs.rs (a kafkajs client
# configured with `topicform env --client kafkajs` round-trips a message
# through the local SASL_SSL listener).
#
# `npm ci` of deploy/tools/kafkajs (package.json + package-lock.json: the
# version and its integrity hash are pinned) into
# ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}/kafkajs, outside the work
# tree. Idempotent: the stamp is a hash of the lock file. Needs Node.js >= 14
# and npm (deploy/setup.sh installs Debian's) and the npm registry; kafkajs
# has no dependencies and no install scripts (--ignore-scripts all the same).
# Measured here: 2 s cold.
#
# Usage: deploy/tools/kafkajs.sh        prints the node_modules directory
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$SCRIPT_DIR/kafkajs
TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
DEST=$TOOLS/kafkajs

die() { printf 'tools/kafkajs.sh: error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "Node.js is missing; run deploy/setup.sh (or apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is missing; run deploy/setup.sh (or apt-get install npm)"

STAMP=$(sha256sum "$SRC/package-lock.json" | cut -c1-16)
if [[ -f "$DEST/.stamp" && "$(cat "$DEST/.stamp")" == "$STAMP" && -f "$DEST/node_modules/kafkajs/package.json" ]]; then
  echo "$DEST/node_modules"
  exit 0
fi

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
(cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
  die "npm ci failed in $DEST (is the npm registry reachable?)"
echo "$STAMP" >"$DEST/.stamp"
echo "$DEST/node_modules"
