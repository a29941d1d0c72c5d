#!/usr/bin/env bash
# deploy/tools/helm.sh — install the pinned Helm tool chain for the chart tests.
#
#   helm              helm.sh/helm/v3 (built from the Go module proxy with the
#                     version ldflags of Helm's own Makefile, so `helm template`
#                     and `helm lint` assume the Kubernetes version of Helm's
#                     client-go, not v1.20)
#   kubectl-validate  sigs.k8s.io/kubectl-validate (validates manifests against
#                     the Kubernetes OpenAPI schemas it embeds; offline)
#
# into ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}/bin — outside the work
# tree, so every clone on the machine shares one build. Idempotent: a tool whose
# stamp matches its pinned version is not rebuilt (the whole script then takes
# well under a second). Needs Go (>= 1.24) and the Go module proxy; nothing else
# is downloaded. Cold build on 2 cores (empty module cache): helm about 3 min,
# kubectl-validate about 3.5 min (measured 168 s + 204 s, 6 min 12 s in all).
#
# Usage: deploy/tools/helm.sh          prints the bin directory on stdout
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.19.5}
KUBECTL_VALIDATE_VERSION=${KUBECTL_VALIDATE_VERSION:-v0.0.4}

TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
BIN=$TOOLS/bin

log() { printf 'tools/helm.sh: %s\n' "$*" >&2; }
die() { printf 'tools/helm.sh: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$BIN"

stamp_ok() { [[ -x "$BIN/$1" && -f "$BIN/.$1.version" && "$(cat "$BIN/.$1.version")" == "$2" ]]; }

need_go() {
  # The official Go tarball's place, when a non-login shell lacks it on PATH.
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="$PATH:/usr/local/go/bin"; fi
  command -v go >/dev/null 2>&1 ||
    die "Go is missing; install Go >= 1.24 (https://go.dev/dl or apt-get install golang-go), then re-run"
}

# Builds stay out of the caller's module (if any) and keep the module cache.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export GO111MODULE=on
export CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

if stamp_ok helm "$HELM_VERSION"; then
  log "helm $HELM_VERSION: present"
else
  need_go
  start=$(date +%s)
  log "building helm $HELM_VERSION (cold: a few minutes on 2 cores)"
  dir=$(cd /tmp && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n "$dir" && -f "$dir/go.mod" ]] || die "cannot download helm.sh/helm/v3@$HELM_VERSION from the Go module proxy"
  # Helm's Makefile: k8sVersionMajor = client-go major + 1, minor = client-go minor.
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$dir/go.mod")
  [[ "$client_go" =~ ^v0\.([0-9]+)\. ]] || die "cannot read k8s.io/client-go's version from $dir/go.mod"
  k8s_minor=${BASH_REMATCH[1]}
  ldflags="-w -s"
  ldflags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  (cd /tmp && GOBIN="$BIN" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  echo "$HELM_VERSION" >"$BIN/.helm.version"
  log "helm $HELM_VERSION (Kubernetes 1.$k8s_minor) built in $(($(date +%s) - start))s"
fi

if stamp_ok kubectl-validate "$KUBECTL_VALIDATE_VERSION"; then
  log "kubectl-validate $KUBECTL_VALIDATE_VERSION: present"
else
  need_go
  start=$(date +%s)
  log "building kubectl-validate $KUBECTL_VALIDATE_VERSION"
  (cd /tmp && GOBIN="$BIN" go install -trimpath -ldflags "-w -s" "sigs.k8s.io/kubectl-validate@$KUBECTL_VALIDATE_VERSION")
  echo "$KUBECTL_VALIDATE_VERSION" >"$BIN/.kubectl-validate.version"
  log "kubectl-validate $KUBECTL_VALIDATE_VERSION built in $(($(date +%s) - start))s"
fi

echo "$BIN"
