#!/usr/bin/env bash
# deploy/tools/kubernetes.sh — build the single-node test cluster's Kubernetes
# components from the Go module proxy, and install containerd, runc, the CNI
# plugins and etcd from Debian.
#
#   kube   one binary (deploy/k8s/components: a wrapper module around
#          k8s.io/kubernetes v1.34.2) that is kube-apiserver,
#          kube-controller-manager, kube-scheduler, kubelet, kube-proxy or kubectl by the
#          name it is called by; symlinks of those names sit beside it in
#          ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}/bin
#   apt    containerd runc containernetworking-plugins etcd-server iproute2
#          iptables (Debian's; containerd 1.6 and etcd 3.4 here)
#
# Cold build on 2 cores: 479 s and 2.25 GB peak with an empty build cache and
# the module cache filled; ~19 min when the machine is busy (figures in
# README "Kubernetes"); a warm run checks a stamp and takes well under a
# second. Version flags follow upstream's hack/lib/version.sh, otherwise the
# components report v0.0.0-master.
#
# Usage: deploy/tools/kubernetes.sh       prints the bin directory on stdout
set -euo pipefail

KUBE_VERSION=v1.34.2
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$SCRIPT_DIR/../k8s/components
TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
BIN=$TOOLS/bin
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
APT_PACKAGES=(containerd runc containernetworking-plugins etcd-server iproute2 iptables)

log() { printf 'tools/kubernetes.sh: %s\n' "$*" >&2; }
die() { printf 'tools/kubernetes.sh: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$BIN"

is_installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }
# Docker's own containerd package conflicts with Debian's: apt would remove Docker.
for pkg in containerd.io docker-ce; do
  is_installed "$pkg" && die "$pkg is installed; the test cluster needs Debian's containerd package, which would replace it. Use a machine without Docker CE for the test cluster"
done
missing=()
for pkg in "${APT_PACKAGES[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]})); then
  [[ "$(id -u)" -eq 0 ]] || die "missing packages (${missing[*]}); run as root: apt-get install ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  # Debian starts the services of the packages it just installed; the test
  # cluster runs its own instances with their own state, so those only cost
  # memory. Only the units of packages installed here are stopped.
  for pkg in "${missing[@]}"; do
    case $pkg in
      containerd) unit=containerd ;;
      etcd-server) unit=etcd ;;
      *) continue ;;
    esac
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      service "$unit" stop >/dev/null 2>&1 || true
    fi
  done
fi

stamp=$KUBE_VERSION-$(cat "$SRC/go.mod" "$SRC"/*.go | sha256sum | cut -c1-12)
if [[ -x "$BIN/kube" && -f "$BIN/.kube.version" && "$(cat "$BIN/.kube.version")" == "$stamp" ]]; then
  log "kube $KUBE_VERSION: present"
else
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="$PATH:/usr/local/go/bin"; fi
  command -v go >/dev/null 2>&1 || die "Go is missing; install Go >= 1.24, then re-run"
  start=$(date +%s)
  log "building kube $KUBE_VERSION (cold: about 8 min on 2 cores with the module cache filled, 2.3 GB peak)"
  minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-auto} \
    go build -p 2 -trimpath -tags providerless -ldflags "$ldflags" -o "$BIN/kube.tmp" .) ||
    die "go build of deploy/k8s/components failed (log above)"
  mv "$BIN/kube.tmp" "$BIN/kube"
  echo "$stamp" >"$BIN/.kube.version"
  log "kube $KUBE_VERSION built in $(($(date +%s) - start))s ($(du -h "$BIN/kube" | cut -f1))"
fi
for c in "${COMPONENTS[@]}"; do ln -sfn kube "$BIN/$c"; done

echo "$BIN"
