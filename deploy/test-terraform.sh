#!/usr/bin/env bash
# deploy/test-terraform.sh — offline checks of everything under terraform/.
#
#   1. every module's and example's README names each of its variables and
#      outputs; the modules' Inputs/Outputs tables are generated
#      (terraform/tools/readme.py) and must be current
#   2. terraform fmt -check -recursive terraform/
#   3. for every module and example: init (providers only from the local
#      mirror of deploy/tools/terraform.sh, -backend=false), validate, and
#      `terraform test` (mock_provider; no cloud, no cluster)
#   4. `helm template` of helm/platform (strict values schema) with the values
#      platform-release computes for PLAIN, OAUTHBEARER and kafka-local; the
#      ServiceAccounts the identities federate exist; the topicform Job's
#      identity comes from the broker block (broker.management) and reaches
#      only the Job's ServiceAccount; no secret in the values
#
# Needs the providers built by `bash deploy/tools/terraform.sh` and helm from
# `bash deploy/tools/helm.sh` (deploy/setup.sh runs both). Missing tools are an
# error, never a skip. Warm: about 25 s.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo/terraform"

TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
MIRROR=$TOOLS/terraform-mirror/registry.terraform.io/hashicorp
CLI_CONFIG=$TOOLS/terraform.rc

die() { printf 'test-terraform.sh: error: %s\n' "$*" >&2; exit 1; }

for p in azurerm kubernetes helm; do
  compgen -G "$MIRROR/$p/*/linux_amd64/terraform-provider-${p}_v*_x5" >/dev/null ||
    die "provider $p is not in $MIRROR; build the providers first: bash deploy/tools/terraform.sh (cold: about 25 minutes)"
done
[[ -f "$CLI_CONFIG" ]] || die "$CLI_CONFIG is missing; run: bash deploy/tools/terraform.sh"

TF=${TOPICFORM_TERRAFORM:-$TOOLS/bin/terraform-for-topicform}
[[ -x "$TF" ]] || TF=$(command -v terraform 2>/dev/null) ||
  die "terraform is missing; run: bash deploy/tools/terraform.sh"

HELM=${TOPICFORM_HELM:-$TOOLS/bin/helm}
[[ -x "$HELM" ]] || HELM=$(command -v helm 2>/dev/null) ||
  die "helm is missing; run: bash deploy/tools/helm.sh"

export TF_CLI_CONFIG_FILE=$CLI_CONFIG
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_PLUGIN_CACHE_DIR

passed=0
failed=0
failures=()
step() { # step NAME CMD...: run, count, keep going
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    printf 'ok   %s%s\n' "$name" "$(sed -n 's/^Success! \([0-9]* passed.*\)/ (\1)/p' <<<"$out")"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL %s\n%s\n' "$name" "$out"
  fi
}

# 1. The README of each module lists every variable and output (in backticks).
readme_lists_everything() {
  local dir=$1 missing=() kind name
  for kind in variable output; do
    while read -r name; do
      grep -q "\`$name\`" "$dir/README.md" || missing+=("$kind $name")
    done < <(sed -n "s/^$kind \"\([^\"]*\)\".*/\1/p" "$dir"/*.tf)
  done
  if ((${#missing[@]})); then
    printf '%s/README.md does not list: %s\n' "$dir" "${missing[*]}"
    return 1
  fi
}

echo "== terraform ($("$TF" version | head -n 1)), providers from $MIRROR"
for dir in modules/* examples/*; do
  step "$dir: README lists every variable and output" readme_lists_everything "$dir"
done

step "module READMEs match their .tf files (terraform/tools/readme.py --check)" \
  python3 tools/readme.py --check

# 2. Formatting.
step "terraform fmt -check -recursive" "$TF" fmt -check -recursive -diff .

# 3. init, validate, test. -upgrade rewrites the (uncommitted) lock file from
#    the mirror, so a rebuilt provider never trips a stale checksum.
for dir in modules/* examples/*; do
  step "$dir: init" "$TF" -chdir="$dir" init -backend=false -upgrade -input=false -no-color
  step "$dir: validate" "$TF" -chdir="$dir" validate -no-color
  step "$dir: test" "$TF" -chdir="$dir" test -no-color
done

# 4. The values platform-release gives the chart pass the chart's strict schema
#    and render what the other modules expect: `helm template` of helm/platform
#    with the module's values (from `terraform console`, so no cluster), for
#    PLAIN, OAUTHBEARER and kafka-local (modules/platform-release/tests/chart/).
#    The chart is a copy with its dependencies built from the work tree's
#    charts (helm/platform/charts/ is ignored by git and may be stale or missing).
charts=$(mktemp -d)
trap 'rm -rf "$charts"' EXIT
cp -r ../helm "$charts/helm"
rm -rf "$charts/helm/platform/charts" "$charts/helm/platform/Chart.lock"
"$HELM" dependency build "$charts/helm/platform" >/dev/null ||
  die "helm dependency build of a copy of helm/platform failed"
chart_check() {
  local vars=$1 work values rendered sa
  work=$(mktemp -d)
  values=$work/values.json
  rendered=$work/rendered.yaml
  echo 'nonsensitive(jsonencode({ values = local.values, accounts = values(local.service_accounts), job_id = var.topicform_client_id }))' |
    "$TF" -chdir=modules/platform-release console -var-file="$vars" >"$work/console.txt" || {
    cat "$work/console.txt"
    return 1
  }
  python3 - "$work" <<'PY' || return 1
import json, sys
work = sys.argv[1]
doc = json.loads(json.loads(open(work + "/console.txt").read()))
json.dump(doc["values"], open(work + "/values.json", "w"))
open(work + "/accounts.txt", "w").write("\n".join(doc["accounts"]) + "\n")
json.dump(doc["job_id"], open(work + "/job_id.json", "w"))
PY
  "$HELM" template platform "$charts/helm/platform" --namespace platform -f "$values" >"$rendered" || return 1
  # Every ServiceAccount the federated credentials name is one the chart creates.
  while read -r sa; do
    awk -v sa="$sa" '/^kind: ServiceAccount/ { s = 1; next } s && /^  name: / { if ($2 == sa) found = 1; s = 0 } END { exit !found }' "$rendered" ||
      { echo "the chart renders no ServiceAccount $sa"; return 1; }
  done <"$work/accounts.txt"
  # The topicform Job's identity: in the broker block (never topicform.azure),
  # on the Job's ServiceAccount `topicform` only.
  python3 - "$work" <<'PY' || return 1
import json, sys
import yaml
work = sys.argv[1]
values = json.load(open(work + "/values.json"))
job_id = json.load(open(work + "/job_id.json"))
docs = [d for d in yaml.safe_load_all(open(work + "/rendered.yaml")) if d]
if "azure" in values.get("topicform", {}):
    sys.exit("the module set topicform.azure; the Job's identity belongs in broker.management")
management = values["broker"].get("management", {}).get("workloadIdentity", {}).get("clientId")
if management != job_id:
    sys.exit(f"broker.management.workloadIdentity.clientId is {management!r}, topicform_client_id {job_id!r}")
key = "azure.workload.identity/client-id"
ids = {d["metadata"]["name"]: (d["metadata"].get("annotations") or {}).get(key)
       for d in docs if d["kind"] == "ServiceAccount"}
if ids.get("topicform") != job_id:
    sys.exit(f"ServiceAccount topicform has client id {ids.get('topicform')!r}, want {job_id!r}")
others = [name for name, cid in ids.items() if name != "topicform" and job_id and cid == job_id]
if others:
    sys.exit(f"the topicform Job's identity reached other ServiceAccounts: {others}")
PY
  # No broker credential in anything Helm renders or stores.
  if grep -q 'SharedAccessKey=' "$values" "$rendered"; then
    echo "a connection string reached the Helm values"
    return 1
  fi
  rm -rf "$work"
}
for vars in modules/platform-release/tests/chart/*.tfvars; do
  step "helm template helm/platform with platform-release values (${vars##*/})" chart_check "tests/chart/${vars##*/}"
done

if ((failed)); then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "terraform: $passed passed, $failed failed"
((failed == 0))
