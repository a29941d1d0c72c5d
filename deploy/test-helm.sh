#!/usr/bin/env bash
# deploy/test-helm.sh — offline checks of the Helm charts under helm/.
#
#   1. the pinned tools (deploy/tools/helm.sh: helm, kubectl-validate; built
#      once into ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools})
#   2. the values' types: every key of a chart's values.yaml carries its type
#      (`# @schema`) and description (`# --`), no annotation stands above no
#      key, and values.schema.json and the README values tables are what
#      helm/tools/values-schema.py makes of them (--check); the generator
#      refuses a value without a type and a type without a value; every chart's
#      `broker:` type is the topicform-broker library chart's broker.yaml; no
#      chart but topicform-broker defines a broker variable or its preflight
#   3. helm lint --strict of the library chart topicform-broker; for every
#      chart and every values file under its ci/ (and the platform's
#      values-local.yaml / values-eventhubs.yaml): `helm lint --strict`,
#      `helm template`, and the rendered manifests validated against the
#      Kubernetes OpenAPI schemas (kubectl-validate, offline)
#      and every NOTES.txt renders with those values
#   4. bad values fail with a schema error (at least one case per chart)
#
# The charts are copied to a temporary directory (the dependencies of platform,
# service and topicform are built there, the platform's both ways round, and
# it must render the same), so the work tree is never written. The Rust assertions on
# the rendered manifests are tests/helm.rs (cargo test).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bin=$(bash deploy/tools/helm.sh)
export PATH="$bin:$PATH"
# Kubernetes schemas kubectl-validate v0.0.4 embeds (1.23 to 1.30); the charts use only GA APIs.
K8S_SCHEMA_VERSION=${K8S_SCHEMA_VERSION:-1.30}
SPEC="$repo/examples/etelios/topicform.yaml"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

python3 -c 'import yaml' 2>/dev/null ||
  { echo "test-helm.sh: python3 with PyYAML is needed (apt-get install python3-yaml)" >&2; exit 1; }
if out=$(python3 helm/tools/values-schema.py --check 2>&1); then
  ok "every value has its type and description; generated schemas and READMEs are fresh"
else
  bad "python3 helm/tools/values-schema.py --check"; printf '%s\n' "$out"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The generator refuses values.yaml files that break the rules (on a copy of helm/).
gen_rejects() { # what expected-substring python-statement (edits the copy; `h` is its path)
  local what=$1 expect=$2 edit=$3 dir out
  dir=$(mktemp -d -p "$work")
  cp -r helm "$dir/helm"
  python3 -c "import pathlib; h = pathlib.Path('$dir/helm'); $edit"
  if out=$(python3 "$dir/helm/tools/values-schema.py" --check 2>&1); then
    bad "values-schema.py accepted $what"
  elif grep -qF -- "$expect" <<<"$out"; then
    ok "values-schema.py refuses $what ($expect)"
  else
    bad "values-schema.py on $what: not '$expect'"; printf '%s\n' "$out"
  fi
}
append() { printf "p = h / '%s'; p.write_text(p.read_text() + %s)" "$1" "$2"; }
gen_rejects "a value without a type" "\`newValue\`: no \`# @schema\` annotation" \
  "$(append service/values.yaml "'\\n# -- A new value.\\nnewValue: 1\\n'")"
gen_rejects "a type without a value" "above no key" \
  "$(append topicform/values.yaml "'\\n# -- A new value.\\n# @schema {type: integer}\\n\\nother: 1\\n'")"
gen_rejects "a key its block's type does not have" "not a key of the type of \`broker\`" \
  "p = h / 'platform/values.yaml'; p.write_text(p.read_text().replace('  securityProtocol: PLAINTEXT\\n', '  securityProtocol: PLAINTEXT\\n  saslPassword: hunter2\\n', 1))"
gen_rejects "a broker type changed in the library alone" \
  "stale generated files (run python3 helm/tools/values-schema.py): helm/service/values.schema.json" \
  "p = h / 'topicform-broker/broker.yaml'; p.write_text(p.read_text().replace('{type: string}', '{type: string, minLength: 1}', 1))"

# One `broker:` type, the library's: each chart's schema has it (descriptions
# may differ: a chart's values.yaml may describe a key in its own words).
if out=$(python3 - <<'PY' 2>&1
import importlib.util, json
spec = importlib.util.spec_from_file_location("values_schema", "helm/tools/values-schema.py")
vs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vs)
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "description"}
    return [strip(v) for v in x] if isinstance(x, list) else x
library = strip(vs.Generator().values_schema(vs.HELM / "topicform-broker/broker.yaml"))
schema = {c: json.load(open(f"helm/{c}/values.schema.json"))["properties"]["broker"] for c in ("service", "topicform", "platform")}
platform = strip(schema["platform"])
del platform["properties"]["management"]
for chart, broker in (("service", strip(schema["service"])), ("topicform", strip(schema["topicform"]["oneOf"][1])),
                      ("platform", platform)):
    assert broker == library, f"helm/{chart}/values.schema.json: broker is not topicform-broker/broker.yaml's type"
PY
); then
  ok "service, topicform and platform take the topicform-broker library's broker type"
else
  bad "broker types differ"; printf '%s\n' "$out"
fi

# The broker environment and its preflight have one definition, in the library
# chart: no other chart's templates name a broker variable, test for a SASL
# protocol, or define a topicform-broker.* template.
if out=$(grep -rnE 'KAFKA_(BROKERS|SECURITY_PROTOCOL|SASL_(MECHANISM|USERNAME|PASSWORD))|hasPrefix "SASL_"|define "topicform-broker\.' \
  helm/*/templates | grep -v '^helm/topicform-broker/'); then
  bad "broker environment or preflight outside helm/topicform-broker (use its named templates)"; printf '%s\n' "$out"
else
  ok "the broker environment and its preflight are defined only in helm/topicform-broker"
fi

cp -r helm "$work/helm"
for chart in "$work"/helm/*/; do rm -rf "$chart/charts" "$chart/Chart.lock"; done
# The platform's dependencies built from bare charts, as a checkout is
# installed (README; terraform/modules/platform-release: dependency_update): its
# service and topicform packages then hold no topicform-broker of their own
# (`helm dependency build` does not recurse), the platform's own copy serves.
# Then the service and topicform charts' own, to render them alone.
for chart in platform service topicform; do helm dependency build "$work/helm/$chart" >/dev/null; done
# A copy built the other way round (the subcharts' dependencies first, so the
# platform's service and topicform packages carry the library too): the
# platform must render the same from it.
nested="$work/nested"
mkdir -p "$nested"
cp -r helm "$nested/helm"
for chart in "$nested"/helm/*/; do rm -rf "$chart/charts" "$chart/Chart.lock"; done
for chart in service topicform platform; do helm dependency build "$nested/helm/$chart" >/dev/null; done

if out=$(helm lint --strict "$work/helm/topicform-broker" 2>&1); then
  ok "helm lint --strict topicform-broker (library chart)"
else
  bad "helm lint --strict topicform-broker (library chart)"; printf '%s\n' "$out"
fi

# A second copy whose charts also render their NOTES.txt as a manifest
# (templates/notes-check.yaml), so a broken NOTES fails here, not at install.
notes="$work/notes"
mkdir -p "$notes"
cp -r "$work/helm" "$notes/helm"
for chart in topicform service kafka-local platform; do
  { echo '{{- define "zz.notes" }}'; cat "$notes/helm/$chart/templates/NOTES.txt"; echo '{{- end }}'
    echo 'notes: {{ include "zz.notes" . | toJson }}'; } >"$notes/helm/$chart/templates/notes-check.yaml"
done

# Values every render of a chart gets (the spec file for the charts that run topicform).
chart_args() {
  case $1 in
    topicform) printf '%s\n' --set-file "spec=$SPEC" ;;
    platform) printf '%s\n' --set-file "topicform.spec=$SPEC" ;;
  esac
}

render() { # chart values-file -> rendered manifests on stdout
  local chart=$1 values=$2 args
  mapfile -t args < <(chart_args "$chart")
  helm template "ci-$chart" "$work/helm/$chart" --namespace ci -f "$values" "${args[@]}"
}

for chart in topicform service kafka-local platform; do
  values_files=("$work/helm/$chart"/ci/*.yaml)
  [[ $chart == platform ]] && values_files+=("$work/helm/platform/values-local.yaml" "$work/helm/platform/values-eventhubs.yaml")
  for values in "${values_files[@]}"; do
    name="$chart -f ${values#"$work/helm/$chart/"}"
    mapfile -t args < <(chart_args "$chart")
    if out=$(helm lint --strict "$work/helm/$chart" --namespace ci -f "$values" "${args[@]}" 2>&1); then
      ok "helm lint --strict $name"
    else
      bad "helm lint --strict $name"; printf '%s\n' "$out"
    fi
    manifest="$work/$chart-$(basename "$values")"
    if ! render "$chart" "$values" >"$manifest" 2>"$manifest.err"; then
      bad "helm template $name"; cat "$manifest.err"; continue
    fi
    if out=$(kubectl-validate "$manifest" --version "$K8S_SCHEMA_VERSION" 2>&1); then
      ok "kubectl-validate (Kubernetes $K8S_SCHEMA_VERSION) $name"
    else
      bad "kubectl-validate $name"; printf '%s\n' "$out"
    fi
    if out=$(helm template "ci-$chart" "$notes/helm/$chart" --namespace ci -f "$values" "${args[@]}" \
      --show-only templates/notes-check.yaml 2>&1); then
      ok "NOTES.txt $name"
    else
      bad "NOTES.txt $name"; printf '%s\n' "$out"
    fi
    if [[ $chart == platform ]]; then
      if out=$(helm template "ci-$chart" "$nested/helm/$chart" --namespace ci -f "${values/#$work/$nested}" "${args[@]}" 2>&1 |
        diff "$manifest" - 2>&1); then
        ok "platform renders the same with its subcharts' dependencies built first: $name"
      else
        bad "platform renders differently with its subcharts' dependencies built first: $name"; printf '%s\n' "$out"
      fi
    fi
  done
done

# Bad values: each must fail with Helm's schema error, naming the bad key.
schema_fails() { # chart expected-substring helm-args...
  local chart=$1 expect=$2 out args
  shift 2
  mapfile -t args < <(chart_args "$chart")
  if out=$(helm template bad "$work/helm/$chart" "${args[@]}" "$@" 2>&1); then
    bad "$chart $* was accepted"
  elif grep -q "values don't meet the specifications of the schema" <<<"$out" && grep -qF -- "$expect" <<<"$out"; then
    ok "$chart rejects $* (schema: $expect)"
  else
    bad "$chart $*: not the schema error '$expect'"; printf '%s\n' "$out"
  fi
}
svc=(--set image.repository=x --set-string image.tag=1)
schema_fails topicform "/mode" --set environment=local --set mode=always
schema_fails topicform "additional properties 'backofflimit'" --set environment=local --set job.backofflimit=3
schema_fails topicform "/apply/extraArgs/0" --set environment=local --set 'apply.extraArgs={--force}'
schema_fails topicform "/otel/endpoint" --set environment=local --set otel.endpoint=otel-collector:4317
schema_fails service "/otel/extraEnv/0/name" "${svc[@]}" --set 'otel.extraEnv[0].name=KAFKA_BROKERS'
schema_fails topicform "/lagExporter/interval" --set environment=local --set lagExporter.interval=0
schema_fails service "/broker/securityProtocol" "${svc[@]}" --set broker.securityProtocol=TLS
schema_fails service "additional properties 'saslPassword'" "${svc[@]}" --set broker.saslPassword=hunter2
schema_fails service "/workloadIdentity/clientId" "${svc[@]}" --set workloadIdentity.clientId=not-a-uuid
schema_fails kafka-local "/persistence/size" --set persistence.size=lots
schema_fails kafka-local "additional properties 'replicas'" --set replicas=3
schema_fails platform "/broker/brokers" --set broker.brokers=no-port
schema_fails platform "/services/0" --set 'services[0].name=a' --set 'services[0].imagge.repository=x'
schema_fails platform "at '/mode'" --set topicform.mode=sometimes  # the subchart's schema

echo "helm charts: $passed passed, $failed failed"
((failed == 0))
