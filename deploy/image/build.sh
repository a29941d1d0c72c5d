#!/usr/bin/env bash
# deploy/image/build.sh — the topicform OCI image, built without Docker.
#
# Writes $OUT (default target/image/topicform-<appVersion>.tar), an OCI image
# archive of ghcr.io/topicform/topicform:<appVersion> (the topicform chart's
# appVersion, which must equal the crate's version). The root filesystem holds
# only what the release binary needs:
#
#   /usr/local/bin/topicform     the binary (target/release, built if missing)
#   the shared libraries `ldd` lists, at their paths, with Debian's merged-/usr
#     symlinks (/lib -> usr/lib, /lib64 -> usr/lib64)
#   /etc/ssl/certs/ca-certificates.crt (+ OpenSSL's default-path symlinks)
#   /etc/passwd, /etc/group      root and topicform (10001:10001)
#   /etc/nsswitch.conf           files, then DNS
#   /tmp                         1777, the working directory
#
# and the Dockerfile's configuration: USER 10001:10001, WORKDIR /tmp,
# ENV NO_COLOR=1 and the Debian base image's PATH, ENTRYPOINT
# /usr/local/bin/topicform, CMD --help
# (deploy/test-k8s.sh checks the two agree). Reproducible: the same binary and
# libraries give the same image digest (deploy/image/oci.py).
#
# Push it with any OCI tool, e.g.
#   skopeo copy oci-archive:target/image/topicform-0.1.0.tar docker://REGISTRY/topicform:0.1.0
#   crane push target/image/topicform-0.1.0.tar REGISTRY/topicform:0.1.0
#
# Usage: deploy/image/build.sh [--binary PATH] [--out FILE]   prints the archive path
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
binary=""
out=""
while (($#)); do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: deploy/image/build.sh [--binary PATH] [--out FILE]" >&2; exit 2 ;;
  esac
done

die() { printf 'image/build.sh: error: %s\n' "$*" >&2; exit 1; }

app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/helm/topicform/Chart.yaml")
crate_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)
[[ -n "$app_version" ]] || die "cannot read appVersion from helm/topicform/Chart.yaml"
[[ "$app_version" == "$crate_version" ]] ||
  die "helm/topicform appVersion $app_version differs from the crate version $crate_version; the image tag must be both"
ref=ghcr.io/topicform/topicform:$app_version
out=${out:-$repo/target/image/topicform-$app_version.tar}

if [[ -z "$binary" ]]; then
  (cd "$repo" && cargo build --release --locked --bin topicform >&2)
  binary=$repo/target/release/topicform
fi
[[ -x "$binary" ]] || die "$binary is not an executable"

args=(--out "$out" --ref "$ref" --file "$binary:/usr/local/bin/topicform:0755")

# Each library at the path the dynamic loader asks for, holding the real file.
libs=$(ldd "$binary") || die "ldd $binary failed"
if grep -q 'not found' <<<"$libs"; then die "$binary needs libraries this machine lacks: $(grep 'not found' <<<"$libs" | tr -s ' \t' ' ')"; fi
while read -r path; do
  dir=$(dirname "$(readlink -f "$path")")
  args+=(--file "$path:$dir/$(basename "$path"):0755")
done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libs" | sort -u)
for link in lib lib64; do
  target=$(readlink "/$link" 2>/dev/null || true)
  [[ -n "$target" ]] && args+=(--symlink "/$link:$target")
done
# /lib64/ld-linux-x86-64.so.2 resolves to usr/lib64/..., which Debian links into the multiarch dir.
if [[ -L /usr/lib64/ld-linux-x86-64.so.2 ]]; then
  args+=(--symlink "/usr/lib64/ld-linux-x86-64.so.2:$(readlink /usr/lib64/ld-linux-x86-64.so.2)")
fi

ca=/etc/ssl/certs/ca-certificates.crt
[[ -f "$ca" ]] || die "$ca is missing; install it with: apt-get install ca-certificates"
args+=(--file "$ca:$ca:0644"
  --symlink /usr/lib/ssl/cert.pem:/etc/ssl/certs/ca-certificates.crt
  --symlink /usr/lib/ssl/certs:/etc/ssl/certs
  --text "/etc/passwd:0644:root:x:0:0:root:/root:/usr/sbin/nologin\ntopicform:x:10001:10001:topicform:/nonexistent:/usr/sbin/nologin\n"
  --text "/etc/group:0644:root:x:0:\ntopicform:x:10001:\n"
  --text "/etc/nsswitch.conf:0644:passwd: files\ngroup: files\nhosts: files dns\n"
  --dir /tmp:1777
  --user 10001:10001 --workdir /tmp --env NO_COLOR=1
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  --entrypoint=/usr/local/bin/topicform --cmd=--help
  --label "org.opencontainers.image.version=$app_version"
  --label "org.opencontainers.image.source=https://github.com/topicform/topicform")

mkdir -p "$(dirname "$out")"
digest=$(python3 "$repo/deploy/image/oci.py" "${args[@]}")
printf 'image/build.sh: %s %s (%s)\n' "$ref" "$digest" "$(du -h "$out" | cut -f1)" >&2
echo "$out"
