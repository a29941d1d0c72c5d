#!/usr/bin/env bash
# deploy/tools/terraform.sh — the Terraform tool chain for terraform/ tests,
# without the provider registry (which cannot be reached here).
#
#   terraform   /usr/local/bin/terraform (or any on PATH) when it is >= 1.9;
#               otherwise github.com/hashicorp/terraform@v1.8.5 is built into
#               $TOOLS/bin (the newest release a plain `go install` accepts that
#               has mock_provider; 1.9+ carry replace directives)
#   providers   azurerm, kubernetes, helm built from the Go module proxy into a
#               filesystem mirror:
#                 $TOOLS/terraform-mirror/registry.terraform.io/hashicorp/NAME/
#                   VERSION/linux_amd64/terraform-provider-NAME_vVERSION_x5
#   CLI config  $TOOLS/terraform.rc: provider_installation uses only that
#               mirror, so `terraform init` never contacts a registry
#
# TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}: outside the work tree,
# so every clone on the machine shares one build. Idempotent: a provider whose
# binary is in the mirror is not rebuilt (a warm run takes well under a second).
#
# Which versions, and why (the proxy serves one version of each provider):
#   azurerm     5.2.0  = commit fae580791926 (pseudo-version below); its
#               version/VERSION file says 5.2.0 (built 4 days after the 5.2.0
#               release, on the main branch). Installed with `go install`.
#   kubernetes  3.2.1 and helm 3.1.2, the versions users run: the Go module
#               proxy refuses their tags (v2+ without a /vN module path), so
#               their sources are in deploy/tools/third_party/ (with their
#               MPL-2.0 licence; see its README) and are built with `go build`
#               there; their dependencies come from the Go module proxy.
#   The modules claim exactly these majors (see terraform/README.md).
#
# Cold build on 2 cores (empty Go caches): about 25 minutes in all (azurerm
# 590 s with a 3.6 GB peak, helm ~12 min, kubernetes ~3 min); timings and peak memory are appended to
# $TOOLS/terraform-build.log and recorded in terraform/README.md.
#
# Usage: deploy/tools/terraform.sh     prints `export ...` lines for the shell
#        (TOPICFORM_TF_PROVIDERS="kubernetes helm" builds only those)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
MIRROR=$TOOLS/terraform-mirror
BIN=$TOOLS/bin
CLI_CONFIG=$TOOLS/terraform.rc
BUILD_LOG=$TOOLS/terraform-build.log

TERRAFORM_FALLBACK_VERSION=${TERRAFORM_FALLBACK_VERSION:-v1.8.5}

# NAME  provider-version  module@version  how
PROVIDERS=(
  "azurerm 5.2.0 github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926 install"
  "kubernetes 3.2.1 terraform-provider-kubernetes-3.2.1.tar.gz archive"
  "helm 3.1.2 terraform-provider-helm-3.1.2.tar.gz archive"
)

log() { printf 'tools/terraform.sh: %s\n' "$*" >&2; }
die() { printf 'tools/terraform.sh: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$MIRROR" "$BIN"

need_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is missing; install Go >= 1.26 (the azurerm provider's go.mod needs it), then re-run"
}

export GO111MODULE=on
export CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
# Two cores: keep the compiler to two parallel packages.
export GOMAXPROCS=${GOMAXPROCS:-2}

# timed LABEL CMD... — runs CMD, logs wall time and peak RSS to $BUILD_LOG.
timed() {
  local label=$1 start rc=0 tfile
  shift
  start=$(date +%s)
  tfile=$(mktemp)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$tfile" "$@" || rc=$?
  else
    "$@" || rc=$?
  fi
  local secs=$(($(date +%s) - start))
  local rss
  rss=$(sed -n 's/^\tMaximum resident set size (kbytes): //p' "$tfile" 2>/dev/null || true)
  rm -f "$tfile"
  printf '%s\t%s\trc=%s\twall=%ss\tmaxrss_kb=%s\n' "$(date -u +%FT%TZ)" "$label" "$rc" "$secs" "${rss:-?}" >>"$BUILD_LOG"
  log "$label: rc=$rc, ${secs}s, peak RSS ${rss:-?} kB (of the largest single process)"
  return "$rc"
}

build_provider() {
  local name=$1 version=$2 modver=$3 how=$4
  local dest=$MIRROR/registry.terraform.io/hashicorp/$name/$version/linux_amd64
  local out=$dest/terraform-provider-${name}_v${version}_x5
  if [[ -x "$out" ]]; then
    log "provider $name $version: present"
    return 0
  fi
  need_go
  log "building provider $name $version from $modver (cold on 2 cores: azurerm ~10 min, helm ~12, kubernetes ~3)"
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  case $how in
    install)
      local pkg=${modver%@*}
      (cd "$work" && GOBIN="$work/bin" GOFLAGS=-mod=mod timed "provider $name $version (go install)" \
        go install -p 2 -trimpath -ldflags "-s -w -X $pkg/version.ProviderVersion=$version" "$modver") ||
        die "go install $modver failed (log above)"
      ;;
    archive)
      mkdir -p "$work/src"
      tar -xzf "$SCRIPT_DIR/third_party/$modver" -C "$work/src" --strip-components=1 ||
        die "cannot extract deploy/tools/third_party/$modver"
      # Both providers' main packages read the version from main.Version.
      (cd "$work/src" && timed "provider $name $version (go build)" \
        go build -p 2 -mod=mod -trimpath -ldflags "-s -w -X main.Version=$version" \
        -o "$work/bin/terraform-provider-$name" .) ||
        die "go build of deploy/tools/third_party/$modver failed (log above)"
      ;;
  esac
  mkdir -p "$dest"
  mv "$work/bin/terraform-provider-$name" "$out.tmp"
  mv "$out.tmp" "$out"
  log "provider $name $version: $(du -h "$out" | cut -f1) at $out"
}

# TOPICFORM_TF_PROVIDERS="helm kubernetes" limits the run to those (default: all).
only=" ${TOPICFORM_TF_PROVIDERS:-azurerm kubernetes helm} "
for entry in "${PROVIDERS[@]}"; do
  [[ "$only" == *" ${entry%% *} "* ]] || continue
  # shellcheck disable=SC2086
  build_provider $entry
done

# Terraform itself: the machine's when >= 1.9, else a pinned build.
tf_ok() {
  local v
  v=$("$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p' | head -n 1)
  [[ "$v" =~ ^1\.([0-9]+)\. ]] && ((BASH_REMATCH[1] >= 9))
}
terraform_bin=""
if command -v terraform >/dev/null 2>&1 && tf_ok "$(command -v terraform)"; then
  terraform_bin=$(command -v terraform)
  log "terraform: using $terraform_bin ($("$terraform_bin" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p'))"
elif [[ -x "$BIN/terraform" && -f "$BIN/.terraform.version" && "$(cat "$BIN/.terraform.version")" == "$TERRAFORM_FALLBACK_VERSION" ]]; then
  terraform_bin=$BIN/terraform
  log "terraform: using $terraform_bin ($TERRAFORM_FALLBACK_VERSION, built earlier)"
else
  need_go
  log "terraform >= 1.9 not found: building github.com/hashicorp/terraform@$TERRAFORM_FALLBACK_VERSION"
  (cd /tmp && GOBIN="$BIN" GOFLAGS=-mod=mod timed "terraform $TERRAFORM_FALLBACK_VERSION (go install)" \
    go install -p 2 -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" \
    "github.com/hashicorp/terraform@$TERRAFORM_FALLBACK_VERSION") ||
    die "go install github.com/hashicorp/terraform@$TERRAFORM_FALLBACK_VERSION failed"
  echo "$TERRAFORM_FALLBACK_VERSION" >"$BIN/.terraform.version"
  terraform_bin=$BIN/terraform
fi
ln -sf "$terraform_bin" "$BIN/terraform-for-topicform"

cat >"$CLI_CONFIG.tmp" <<EOF
# Written by deploy/tools/terraform.sh: providers come only from the local
# mirror built from the Go module proxy; no registry is ever contacted.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
disable_checkpoint = true
EOF
mv "$CLI_CONFIG.tmp" "$CLI_CONFIG"

echo "export TF_CLI_CONFIG_FILE='$CLI_CONFIG'"
echo "export TOPICFORM_TERRAFORM='$BIN/terraform-for-topicform'"
