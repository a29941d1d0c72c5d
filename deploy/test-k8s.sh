#!/usr/bin/env bash
# deploy/test-k8s.sh — the Kubernetes half of topicform, run on a real
# single-node cluster (deploy/k8s/cluster.sh) that this script starts and stops.
#
#   image      the image built without Docker (deploy/image/build.sh) describes
#              the same image as the Dockerfile (user, paths, entrypoint, env)
#   install    helm install of helm/platform (values-local.yaml, the broker of
#              this run inside the cluster's network namespace): the pre-install
#              hook Job creates the example's topics (Kafka's own TopicCommand
#              shows them), the services start with exactly `topicform env`'s
#              variables, `helm test` passes
#   upgrade    a changed spec reaches the broker; mode job: an unchanged
#              upgrade does not re-run the Job, a changed one never trips over
#              an immutable Job field
#   refusal    a partition decrease fails the hook and the upgrade; the
#              services keep running the old release
#   drift      the CronJob's Job succeeds in sync, fails after an out-of-band change
#   security   the namespace enforces the restricted Pod Security Standard;
#              every chart's workloads pass it (server-side dry run)
#   uninstall  helm uninstall leaves only what README "Kubernetes" names
#   negative   a hook Job that exits 1 fails helm install
#
# Ends with "kubernetes: N passed, N failed". TOPICFORM_K8S_KEEP=1 leaves the
# cluster and the broker running for a look afterwards.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export TOPICFORM_CACHE=${TOPICFORM_CACHE:-$repo/.cache}

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
# expect WHAT CMD...: CMD must succeed; its output is shown only on failure.
expect() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what"; printf '%s\n' "$out" | tail -n 40; fi
}
# refuse WHAT CMD...: CMD must fail.
refuse() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then bad "$what (it succeeded)"; printf '%s\n' "$out" | tail -n 20; else ok "$what"; fi
}

port=$((${TOPICFORM_TEST_PORT:-39092} + 400))
node_ip=10.240.0.2
broker=$node_ip:$port
ns=tf-e2e
spec=$repo/examples/etelios/topicform.yaml
work=$(mktemp -d)

cleanup() {
  if [[ "${TOPICFORM_K8S_KEEP:-}" != 1 ]]; then
    ip netns exec topicform-k8s env KAFKA_INSTANCE=test-k8s bash deploy/local/kafka.sh stop >/dev/null 2>&1 || true
    bash deploy/k8s/cluster.sh stop || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the parts
helm_bin=$(bash deploy/tools/helm.sh)
bash deploy/k8s/cluster.sh start
eval "$(bash deploy/k8s/cluster.sh env)"
export PATH="$helm_bin:$PATH"
image=$(bash deploy/image/build.sh)
bash deploy/k8s/cluster.sh import "$image"
cargo build --locked --bin topicform -q
topicform=$repo/target/debug/topicform

# The broker of this run, inside the cluster's network namespace: pods reach
# it at $broker, and so does this machine (over the veth pair).
cat >"$work/broker.properties" <<PROPS
listeners=PLAINTEXT://0.0.0.0:@KAFKA_PORT@,CONTROLLER://127.0.0.1:@KAFKA_CONTROLLER_PORT@
advertised.listeners=PLAINTEXT://$broker
group.initial.rebalance.delay.ms=0
PROPS
ip netns exec topicform-k8s env KAFKA_RESET=1 KAFKA_INSTANCE=test-k8s KAFKA_PORT="$port" \
  KAFKA_EXTRA_CONFIG="$work/broker.properties" bash deploy/local/kafka.sh start >/dev/null
kafka_tool() { KAFKA_INSTANCE=test-k8s bash deploy/local/kafka.sh tool "$@"; }
topics_on_broker() { kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" --list 2>/dev/null | sort; }
partitions_of() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" --describe --topic "$1" 2>/dev/null |
    sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1
}
spec_topics() { python3 -c '
import sys, yaml
print("\n".join(sorted(t["name"] for t in yaml.safe_load(open(sys.argv[1]))["topics"])))' "$1"; }

# ------------------------------------------------------------------ the image
echo "== image"
expect "the image built without Docker and the Dockerfile describe the same image" \
  python3 deploy/image/agree.py Dockerfile "$image"

# ----------------------------------------------------------------- namespace
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/enforce-version=latest pod-security.kubernetes.io/warn=restricted >/dev/null

helm dependency build helm/platform >/dev/null
platform_values=(-f helm/platform/values-local.yaml
  --set "broker.brokers=$broker"
  --set serviceDefaults.image.repository=localhost/topicform/example-service
  --set-string serviceDefaults.image.tag=test
  --set serviceDefaults.replicaCount=1)
for i in 0 1 2 3 4; do platform_values+=(--set "services[$i].image.repository=localhost/topicform/example-service"); done

# ------------------------------------------------------------------- install
echo "== install"
expect "helm install of the platform (pre-install hook Job applies the spec)" \
  helm install platform helm/platform -n "$ns" "${platform_values[@]}" --set-file "topicform.spec=$spec" \
  --wait --timeout 5m
spec_topics "$spec" >"$work/spec-topics"
topics_on_broker >"$work/broker-topics"
expect "Kafka's TopicCommand lists every topic of the spec" \
  bash -c "comm -23 '$work/spec-topics' '$work/broker-topics' | { ! grep .; }"
expect "topicform plan against the broker: in sync" \
  env KAFKA_BROKERS="$broker" "$topicform" plan -e local -f "$spec" --detailed-exitcode

# Each service's process started with exactly `topicform env`'s variables.
KAFKA_BROKERS=$broker "$topicform" env -e local -f "$spec" --format dotenv | grep '^KAFKA_' | sort >"$work/env-expected"
env_matches() {
  local deploy=$1
  kubectl -n "$ns" logs "deploy/$deploy" | sed -n 's/^env //p' | sort >"$work/env-$deploy"
  diff -u "$work/env-expected" "$work/env-$deploy"
}
for svc in auth-service hr-service notification-service analytics-service inventory-service; do
  deploy=$(kubectl -n "$ns" get deploy -l "app.kubernetes.io/name=$svc" -o jsonpath='{.items[0].metadata.name}')
  expect "$svc runs with exactly the variables of topicform env" env_matches "$deploy"
done
expect "helm test (topicform check --from-env in a pod per service)" helm test platform -n "$ns" --timeout 5m

echo "kubernetes: $passed passed, $failed failed"
((failed == 0))
