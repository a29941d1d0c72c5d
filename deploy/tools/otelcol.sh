#!/usr/bin/env bash
# deploy/tools/otelcol.sh — build the pinned OpenTelemetry Collector for the
# telemetry tests: a real OTLP backend and Prometheus scraper without Docker.
#
#   otelcol-topicform  deploy/tools/otelcol (a module of ours: core collector
#                      v0.161.0 / v1.67.0 with the otlp and prometheus
#                      receivers, the file and debug exporters, contrib
#                      v0.161.0). Its own module because no published collector
#                      can be `go install`ed with these: otelcorecol carries
#                      `replace … => ../../` lines and has neither the file
#                      exporter nor the prometheus receiver.
#                      Also `otelcol-topicform check-rules FILE...`: Prometheus
#                      rule files and PrometheusRules checked with Prometheus's
#                      own rule and PromQL parser (v0.314.0, already in this
#                      module through the prometheus receiver; checkrules.go).
#
# into ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}/bin — outside the work
# tree, so every clone on the machine shares one build. Built with -tags
# remove_all_sd (leaves Prometheus's AWS/Azure/GCE/Kubernetes/… discovery SDKs
# out) and -mod=readonly against the committed go.sum. Idempotent: the stamp is
# the collector version in go.mod plus a hash of the module's sources (*.go,
# go.mod, go.sum), so a changed main.go rebuilds too; when it matches nothing is
# rebuilt (the script then takes well under a second). Needs Go (>= 1.26) and
# the Go module proxy; nothing else is downloaded. Cold build on 2 cores (load ~4 from other work):
# 272 s with empty module and build caches (downloads 1.1 GB of modules), 188 s
# to compile with the module cache filled; 1.4 GB peak RSS; a 73 MB binary.
#
# Usage: deploy/tools/otelcol.sh        prints the bin directory on stdout
#        then: otelcol-topicform --config=FILE.yaml
#              otelcol-topicform check-rules examples/monitoring/prometheusrule.yaml
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$SCRIPT_DIR/otelcol
TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
BIN=$TOOLS/bin
NAME=otelcol-topicform

log() { printf 'tools/otelcol.sh: %s\n' "$*" >&2; }
die() { printf 'tools/otelcol.sh: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$BIN"

# The version is the one go.mod pins, so bumping go.mod rebuilds; the stamp adds
# a hash of the sources, so editing main.go or checkrules.go rebuilds too.
OTELCOL_VERSION=$(awk '$1 == "go.opentelemetry.io/collector/otelcol" { print $2 }' "$SRC/go.mod")
[[ "$OTELCOL_VERSION" =~ ^v0\.[0-9]+\.[0-9]+$ ]] || die "cannot read go.opentelemetry.io/collector/otelcol's version from $SRC/go.mod"
STAMP=$OTELCOL_VERSION+$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC"/*.go | sha256sum | cut -c1-12)

stamp_ok() { [[ -x "$BIN/$1" && -f "$BIN/.$1.version" && "$(cat "$BIN/.$1.version")" == "$2" ]]; }

need_go() {
  # The official Go tarball's place, when a non-login shell lacks it on PATH.
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="$PATH:/usr/local/go/bin"; fi
  command -v go >/dev/null 2>&1 ||
    die "Go is missing; install Go >= 1.26 (https://go.dev/dl or apt-get install golang-go), then re-run"
}

if stamp_ok "$NAME" "$STAMP"; then
  log "$NAME $STAMP: present"
else
  need_go
  start=$(date +%s)
  log "building $NAME $STAMP (cold: 3-5 min on 2 cores, 1.1 GB of modules)"
  # -buildvcs=false: the binary does not depend on the work tree's git state.
  (cd "$SRC" && CGO_ENABLED=0 GO111MODULE=on GOFLAGS="-mod=readonly -buildvcs=false" \
    GOTOOLCHAIN=${GOTOOLCHAIN:-auto} \
    go build -trimpath -tags remove_all_sd -ldflags "-s -w -X main.version=${OTELCOL_VERSION#v}" \
      -o "$BIN/$NAME.tmp" .) ||
    die "go build of deploy/tools/otelcol failed (log above)"
  mv "$BIN/$NAME.tmp" "$BIN/$NAME"
  echo "$STAMP" >"$BIN/.$NAME.version"
  log "$NAME $STAMP built in $(($(date +%s) - start))s ($(du -h "$BIN/$NAME" | cut -f1))"
fi

echo "$BIN"
