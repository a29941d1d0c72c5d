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
#   policy     a shared policy ConfigMap and a release policy file reach the
#              hook Job; a violation of either fails the upgrade
#   drift      the CronJob's Job succeeds in sync, fails after an out-of-band change
#   status     from inside its pods topicform takes and releases the cluster's
#              Lease and records a status ConfigMap and Events (Applied,
#              Refused, Drift), read back with kubectl
#   security   the namespace enforces the restricted Pod Security Standard;
#              every chart's workloads pass it (server-side dry run)
#   uninstall  helm uninstall leaves only what README "Kubernetes" names
#   telemetry  pods export OTLP to a real collector on the node (the
#              controller's reconcile traces, naming their pod); the lag
#              exporter's Service serves a group's lag as kafka_exporter does
#   negative   a hook Job that exits 1 fails helm install
#
# Needs root. Ends with "kubernetes: N passed, N failed". TOPICFORM_K8S_KEEP=1
# leaves the cluster and the broker running for a look afterwards, and with
# them kubelet's machine-wide kernel settings (vm.overcommit_memory=1,
# kernel.panic=10, kernel.panic_on_oops=1) until `deploy/k8s/cluster.sh stop`.
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
# diagnose: what the cluster looked like, printed after a failed install or
# upgrade, so that a failure in CI explains itself (CI keeps no cluster).
diagnose() {
  echo "---- diagnose: nodes, pods, jobs, events (namespace $ns), component logs"
  kubectl get nodes -o wide 2>&1 | tail -n 5
  kubectl get node -o jsonpath='{range .items[*].status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' 2>&1
  kubectl get pods -A -o wide 2>&1 | tail -n 30
  kubectl -n "$ns" get jobs,leases -o wide 2>&1 | tail -n 20
  local pod
  for pod in $(kubectl -n "$ns" get pods -o jsonpath='{range .items[?(@.status.phase!="Running")]}{.metadata.name}{"\n"}{end}' 2>/dev/null | grep -v '^$' | tail -n 4); do
    echo "-- pod $pod"
    kubectl -n "$ns" describe pod "$pod" 2>&1 | sed -n '/^Containers:/,$p' | tail -n 40
    kubectl -n "$ns" logs "$pod" --all-containers --tail 30 2>&1
  done
  kubectl -n "$ns" get events --sort-by=.lastTimestamp 2>&1 | tail -n 30
  local log
  for log in kubelet kube-proxy kube-controller-manager kube-scheduler containerd; do
    echo "-- $log.log (errors, last 15)"
    grep -E '^E|level=error|error' "$CACHE_K8S/log/$log.log" 2>/dev/null | tail -n 15
  done
  echo "---- end of diagnose"
}
# expect_or_diagnose WHAT CMD...: expect, and diagnose when it failed.
expect_or_diagnose() {
  local before=$failed
  expect "$@"
  if ((failed > before)); then diagnose; fi
}
# refuse WHAT CMD...: CMD must fail.
refuse() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then bad "$what (it succeeded)"; printf '%s\n' "$out" | tail -n 20; else ok "$what"; fi
}

[[ "$(id -u)" -eq 0 ]] || { echo "test-k8s.sh: the test cluster needs root (network namespaces, mounts, cgroups); run it as root" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null ||
  { echo "test-k8s.sh: python3 with PyYAML is needed (apt-get install python3-yaml)" >&2; exit 1; }

# eventually SECONDS CMD...: retry CMD once a second until it succeeds or
# SECONDS have passed (however long each try takes); the last try's output
# is what a failure shows.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  "$@"
}

port=$((${TOPICFORM_TEST_PORT:-39092} + 400))
node_ip=10.240.0.2
broker=$node_ip:$port
ns=tf-e2e
spec=$repo/examples/etelios/topicform.yaml
work=$(mktemp -d)
CACHE_K8S=${TOPICFORM_K8S_STATE:-$TOPICFORM_CACHE/k8s}

cleanup() {
  [[ -z "${otel_pid:-}" ]] || kill "$otel_pid" 2>/dev/null || true
  if [[ "${TOPICFORM_K8S_KEEP:-}" != 1 ]]; then
    nsenter --net=/run/netns/topicform-k8s env KAFKA_INSTANCE=test-k8s bash deploy/local/kafka.sh stop >/dev/null 2>&1 || true
    bash deploy/k8s/cluster.sh stop || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the parts
helm_bin=$(bash deploy/tools/helm.sh)
# A cluster kept by an earlier TOPICFORM_K8S_KEEP=1 run is stopped: every run starts empty.
bash deploy/k8s/cluster.sh stop
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
# start_broker: a fresh (wiped) broker `test-k8s` in the cluster's namespace.
start_broker() {
  nsenter --net=/run/netns/topicform-k8s env KAFKA_RESET=1 KAFKA_INSTANCE=test-k8s KAFKA_PORT="$port" \
    KAFKA_EXTRA_CONFIG="$work/broker.properties" bash deploy/local/kafka.sh start >/dev/null
}
start_broker
kafka_tool() { KAFKA_INSTANCE=test-k8s bash deploy/local/kafka.sh tool "$@"; }
topics_on_broker() { kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" --list 2>/dev/null | sort; }
partitions_of() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" --describe --topic "$1" 2>/dev/null |
    sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1
}
spec_topics() { python3 -c '
import sys, yaml
print("\n".join(sorted(yaml.safe_load(open(sys.argv[1]))["topics"])))' "$1"; }
# spec_with OUT PYTHON: a copy of the example spec changed by PYTHON (`topics` is its map).
spec_with() {
  python3 - "$spec" "$1" "$2" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
topics = doc["topics"]
exec(sys.argv[3])
yaml.safe_dump(doc, open(sys.argv[2], "w"), sort_keys=False)
PY
}

# ------------------------------------------------------------------ the image
echo "== image"
expect "the image built without Docker and the Dockerfile describe the same image" \
  python3 deploy/image/agree.py Dockerfile "$image"
expect "the image is reproducible (built again from the same binary: the same bytes)" \
  bash -c 'bash deploy/image/build.sh --binary target/release/topicform --out "$1" >/dev/null && cmp "$1" "$2"' _ \
  "$work/image-again.tar" "$image"

# ----------------------------------------------------------------- namespace
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/enforce-version=latest pod-security.kubernetes.io/warn=restricted >/dev/null

# The charts from a copy with their dependencies built, so the work tree is never written.
cp -r helm "$work/helm"
for chart in platform topicform service; do helm dependency build "$work/helm/$chart" >/dev/null; done
charts=$work/helm
platform_values=(-f "$charts/platform/values-local.yaml"
  --set "broker.brokers=$broker"
  --set serviceDefaults.image.repository=localhost/topicform/example-service
  --set-string serviceDefaults.image.tag=test
  --set serviceDefaults.replicaCount=1)
for i in 0 1 2 3 4; do platform_values+=(--set "services[$i].image.repository=localhost/topicform/example-service"); done

# ------------------------------------------------------------------- install
echo "== install"
expect_or_diagnose "helm install of the platform (pre-install hook Job applies the spec)" \
  helm install platform "$charts/platform" -n "$ns" "${platform_values[@]}" --set-file "topicform.spec=$spec" \
  --wait --timeout 5m
spec_topics "$spec" | LC_ALL=C sort >"$work/spec-topics"
topics_on_broker | LC_ALL=C sort >"$work/broker-topics"
all_on_broker() { ! comm -23 "$work/spec-topics" "$work/broker-topics" | grep .; }
expect "Kafka's TopicCommand lists every topic of the spec" all_on_broker
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
  deploy=$(kubectl -n "$ns" get deploy -l "app.kubernetes.io/name=$svc" -o jsonpath='{.items[*].metadata.name}')
  expect "$svc runs with exactly the variables of topicform env" env_matches "$deploy"
done
expect "helm test (topicform check --from-env in a pod per service)" helm test platform -n "$ns" --timeout 5m

# What topicform recorded through the Kubernetes API from inside its pod
# (in-cluster config, the chart's Role): the Lease, the status, the Events.
status_of() { kubectl -n "$ns" get configmap topicform-status-local -o jsonpath="{.data.$1}"; }
lease_released() {
  local holders
  holders=$(kubectl -n "$ns" get lease -l app.kubernetes.io/managed-by=topicform \
    -o jsonpath='{range .items[*]}{.metadata.name}={.spec.holderIdentity}{"\n"}{end}')
  [[ "$holders" == topicform-*= ]] || { echo "leases: $holders"; return 1; }
}
expect "the hook Job took the cluster's Lease and released it" lease_released
expect "the status ConfigMap says Ready, Applied" test "$(status_of ready)/$(status_of reason)" = True/Applied
event_seen() { # event_seen TYPE REASON: an Event about the status object
  kubectl -n "$ns" get events.events.k8s.io --field-selector regarding.name=topicform-status-local \
    -o jsonpath='{range .items[*]}{.type}/{.reason}{"\n"}{end}' | grep -qx "$1/$2"
}
expect "kubectl shows the run's Event (Normal Applied)" eventually 30 event_seen Normal Applied

# Jobs the release's hook or job mode made, oldest first (name uid).
apply_jobs() {
  kubectl -n "$ns" get jobs -l app.kubernetes.io/name=topicform --sort-by=.metadata.creationTimestamp \
    -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.uid}{"\n"}{end}' | grep -v drift || true
}
generations() {
  kubectl -n "$ns" get deploy -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.generation}{"\n"}{end}' | sort
}
deployed_revision() { helm history platform -n "$ns" -o json | python3 -c '
import json, sys
print([r["revision"] for r in json.load(sys.stdin) if r["status"] == "deployed"][-1])'; }

# ------------------------------------------------------------------- upgrade
echo "== upgrade"
spec_with "$work/spec-v2.yaml" 'topics["user.created"]["partitions"] = 4; topics["e2e.added"] = {"description": "added by deploy/test-k8s.sh", "partitions": 2}'
expect_or_diagnose "helm upgrade with a changed spec (the pre-upgrade hook runs again)" \
  helm upgrade platform "$charts/platform" -n "$ns" "${platform_values[@]}" --set-file "topicform.spec=$work/spec-v2.yaml" \
  --wait --timeout 5m
on_broker() { topics_on_broker | grep -qx "$1"; }
expect "the upgrade's new topic is on the broker" on_broker e2e.added
expect "the upgrade's partition increase is on the broker (user.created: 4)" test "$(partitions_of user.created)" = 4

# ------------------------------------------------------------------- refusal
echo "== refusal"
spec_with "$work/spec-decrease.yaml" 'topics["user.created"]["partitions"] = 2; topics["e2e.added"] = {"description": "added by deploy/test-k8s.sh", "partitions": 2}'
before_revision=$(deployed_revision)
generations >"$work/generations-before"
refuse "helm upgrade with a partition decrease fails (the hook Job's plan refuses it)" \
  helm upgrade platform "$charts/platform" -n "$ns" "${platform_values[@]}" --set-file "topicform.spec=$work/spec-decrease.yaml" \
  --set serviceDefaults.podAnnotations.e2e=refused --wait --timeout 5m
refusal_logged() { kubectl -n "$ns" logs job/platform-topicform-apply | grep '"refused"' | grep -q 'partitions cannot decrease (4 on the cluster, 2 in the spec)'; }
expect "the refused hook Job's log says why" refusal_logged
expect "the release stays at its deployed revision ($before_revision)" test "$(deployed_revision)" = "$before_revision"
untouched() { generations | diff -u "$work/generations-before" -; }
expect "the services were not touched (Deployment generations unchanged)" untouched
expect "the broker keeps 4 partitions of user.created" test "$(partitions_of user.created)" = 4
refused_status() { [[ "$(status_of reason)" == Refused && "$(status_of message)" == *user.created* ]]; }
expect "the status ConfigMap says Refused, naming the topic" refused_status
expect "kubectl shows the refusal's Event (Warning Refused)" eventually 30 event_seen Warning Refused

# -------------------------------------------------------------------- policy
echo "== policy"
# The platform team's rules in a ConfigMap it manages apart from the release
# (topicform.policy.existingConfigMap), and a file the release brings
# (topicform.policy.file); each is broken by one topic of spec-v2, so the
# log shows that both were mounted and read: the hook fails before the
# broker is touched.
kubectl -n "$ns" create configmap platform-policy \
  --from-literal=policy.yaml="topicName: { pattern: '[a-z]+(\.[a-z]+)+' }" >/dev/null
printf 'partitions: { min: 3 }\n' >"$work/release-policy.yaml"
before_revision=$(deployed_revision)
refuse "helm upgrade under policies the spec breaks fails (the hook Job's validation refuses it)" \
  helm upgrade platform "$charts/platform" -n "$ns" "${platform_values[@]}" --set-file "topicform.spec=$work/spec-v2.yaml" \
  --set topicform.policy.existingConfigMap=platform-policy --set-file "topicform.policy.file=$work/release-policy.yaml" \
  --wait --timeout 5m
policy_logged() {
  local log
  log=$(kubectl -n "$ns" logs job/platform-topicform-apply)
  grep -q 'e2e.added` does not match the naming pattern' <<<"$log" &&
    grep -q "e2e.added\` has 2 partition(s) in environment \`local\`, below the policy's minimum of 3" <<<"$log" ||
    { printf '%s\n' "$log" | tail -n 20; return 1; }
}
expect "the hook Job's log names the shared rule's and the release file's violations" eventually 20 policy_logged
expect "the release stays at its deployed revision ($before_revision)" test "$(deployed_revision)" = "$before_revision"
expect "the broker keeps 4 partitions of user.created" test "$(partitions_of user.created)" = 4
kubectl -n "$ns" delete configmap platform-policy >/dev/null

# -------------------------------------------------------------- mode: job
echo "== mode job"
job_values=("${platform_values[@]}" --set topicform.mode=job --set-file "topicform.spec=$work/spec-v2.yaml")
expect_or_diagnose "helm upgrade to mode job runs the apply Job" \
  helm upgrade platform "$charts/platform" -n "$ns" "${job_values[@]}" --wait --wait-for-jobs --timeout 5m
apply_jobs >"$work/jobs-1"
expect_or_diagnose "unchanged upgrade in mode job" \
  helm upgrade platform "$charts/platform" -n "$ns" "${job_values[@]}" --wait --wait-for-jobs --timeout 5m
same_jobs() { apply_jobs | diff -u "$work/jobs-1" -; }
expect "an unchanged upgrade does not re-run the Job (same Job, same uid)" same_jobs
expect "the Job ran once (one pod)" \
  test "$(kubectl -n "$ns" get pods -l "job-name=$(tail -n 1 "$work/jobs-1" | cut -d' ' -f1)" -o name | wc -l)" = 1
spec_with "$work/spec-v3.yaml" 'topics["user.created"]["partitions"] = 4; topics["e2e.added"] = {"description": "added by deploy/test-k8s.sh", "partitions": 3}'
expect_or_diagnose "a changed spec and Job settings in mode job upgrade without an immutable-field error" \
  helm upgrade platform "$charts/platform" -n "$ns" "${platform_values[@]}" --set topicform.mode=job \
  --set-file "topicform.spec=$work/spec-v3.yaml" --set topicform.job.backoffLimit=3 --wait --wait-for-jobs --timeout 5m
expect "the changed spec reached the broker (e2e.added: 3 partitions)" test "$(partitions_of e2e.added)" = 3

# --------------------------------------------------------------------- drift
echo "== drift"
drift_values=("${platform_values[@]}" --set topicform.mode=job --set-file "topicform.spec=$work/spec-v3.yaml"
  --set topicform.job.backoffLimit=3 --set topicform.drift.enabled=true)
expect_or_diagnose "helm upgrade enabling the drift CronJob" \
  helm upgrade platform "$charts/platform" -n "$ns" "${drift_values[@]}" --wait --wait-for-jobs --timeout 5m
cronjob=$(kubectl -n "$ns" get cronjob -o jsonpath='{.items[*].metadata.name}')
job_outcome() { # job_outcome NAME: Complete or Failed, once the Job has finished (3 min at most)
  local type
  for _ in $(seq 1 180); do
    for type in Complete Failed; do
      if [[ "$(kubectl -n "$ns" get "job/$1" -o jsonpath="{.status.conditions[?(@.type==\"$type\")].status}")" == True ]]; then
        echo "$type"
        return 0
      fi
    done
    sleep 1
  done
  echo "unfinished"
}
kubectl -n "$ns" create job drift-in-sync --from="cronjob/$cronjob" >/dev/null
expect "the drift Job succeeds while the cluster is in sync" test "$(job_outcome drift-in-sync)" = Complete
expect "an out-of-band change with Kafka's own ConfigCommand" kafka_tool kafka.admin.ConfigCommand \
  --bootstrap-server "$broker" --alter --entity-type topics --entity-name e2e.added --add-config retention.ms=1234567
kubectl -n "$ns" create job drift-changed --from="cronjob/$cronjob" >/dev/null
expect "the drift Job fails after an out-of-band change" test "$(job_outcome drift-changed)" = Failed
drift_logged() { kubectl -n "$ns" logs job/drift-changed | grep -q retention.ms; }
expect "the failed drift Job's log names the drifted setting" drift_logged
expect "the status ConfigMap says Drift (the CronJob's plan)" test "$(status_of reason)" = Drift
expect "kubectl shows the drift's Event (Warning Drift)" eventually 30 event_seen Warning Drift

# -------------------------------------------------------- contributed topics
echo "== contributed topics"
# Services' releases carry their own topics (the service chart's `topics:`);
# the spec reads them with `from: kubernetes`. Releases of topics only: no pods.
service_release() { # service_release NAME TOPICS: install (or upgrade) a service release with these topics
  helm upgrade --install "$1" "$charts/service" -n "$ns" --set image.repository=localhost/topicform/example-service \
    --set-string image.tag=test --set replicaCount=0 --set test.enabled=false --set "broker.brokers=$broker" \
    --set-json "topics=$2" --wait
}
# The spec the cluster is at (v3) reading the services' topics too.
python3 - "$work/spec-v3.yaml" "$work/spec-v4.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
doc["from"] = {"kubernetes": {}}
yaml.safe_dump(doc, open(sys.argv[2], "w"), sort_keys=False)
PY
contributed_values=("${drift_values[@]}" --set-file "topicform.spec=$work/spec-v4.yaml"
  --set topicform.kubernetes.contributedTopics.enabled=true)
expect "a service release carries its topics (orders)" service_release orders '{"e2e.orders": {"partitions": 2}}'
expect "a second one, also naming the first's topic as a reader (payments)" \
  service_release payments '{"e2e.payments": {"partitions": 1}, "e2e.orders": {"consumers": ["payments"]}}'
expect_or_diagnose "the apply Job (from: kubernetes) runs with the chart's Role" \
  helm upgrade platform "$charts/platform" -n "$ns" "${contributed_values[@]}" --wait --wait-for-jobs --timeout 5m
both_contributed() { [[ "$(partitions_of e2e.orders)" == 2 && "$(partitions_of e2e.payments)" == 1 ]]; }
expect "both releases' topics reached the broker" both_contributed
owners_recorded() { status_of owners | grep -q '"e2e.payments": "ConfigMap '"$ns"'/payments-service-topics"'; }
expect "the status object records each contributed topic's owner" owners_recorded
drift_run() { # drift_run NAME: a run of the drift CronJob (plan), its outcome
  kubectl -n "$ns" create job "$1" --from="cronjob/$cronjob" >/dev/null && job_outcome "$1"
}
expect "a third release declaring e2e.orders differently (late)" service_release late '{"e2e.orders": {"partitions": 5}}'
expect "its plan fails (ResourceConflict)" test "$(drift_run conflict-plan)" = Failed
conflict_logged() { # the log, printed when it lacks the line (a cold CI once read it without)
  local log
  log=$(kubectl -n "$ns" logs job/conflict-plan 2>&1)
  grep -q "ConfigMap $ns/late-service-topics declares \`e2e.orders\` differently from ConfigMap $ns/orders-service-topics (partitions: 2 vs 5)" <<<"$log" ||
    { printf '%s\n' "$log"; kubectl -n "$ns" get pods -l job-name=conflict-plan -o wide; return 1; }
}
expect "the log names both owners and the difference" eventually 20 conflict_logged
expect "the status ConfigMap says ResourceConflict" test "$(status_of reason)" = ResourceConflict
conflict_event() {
  kubectl -n "$ns" get events.events.k8s.io --field-selector regarding.name=late-service-topics \
    -o jsonpath='{range .items[*]}{.type}/{.reason}{"\n"}{end}' | grep -qx Warning/ResourceConflict
}
expect "kubectl describe of the refused ConfigMap shows Warning ResourceConflict" eventually 30 conflict_event
expect "the older declaration stands (e2e.orders keeps 2 partitions)" test "$(partitions_of e2e.orders)" = 2
expect "helm uninstall late" helm uninstall late -n "$ns" --wait
expect "helm uninstall payments" helm uninstall payments -n "$ns" --wait
expect "with the conflict gone and payments uninstalled, the plan is in sync" test "$(drift_run orphan-plan)" = Complete
orphan_logged() { kubectl -n "$ns" logs job/orphan-plan | grep -q "orphaned: e2e.payments (ConfigMap $ns/payments-service-topics contributed it"; }
expect "the plan reports e2e.payments orphaned, naming its former owner" orphan_logged
expect "the orphan is not deleted" test "$(partitions_of e2e.payments)" = 1
expect "helm uninstall orders" helm uninstall orders -n "$ns" --wait

# ---------------------------------------------------------------- controller
echo "== controller"
controller_values=("${contributed_values[@]}" --set topicform.mode=controller --set topicform.controller.replicas=2
  --set topicform.controller.interval=60)
expect_or_diagnose "helm upgrade to mode controller: both replicas ready (one leads, one stands by)" \
  helm upgrade platform "$charts/platform" -n "$ns" "${controller_values[@]}" --wait --timeout 5m
controller_pods() { kubectl -n "$ns" get pods -l app.kubernetes.io/component=controller --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
lease_holder() { kubectl -n "$ns" get lease -l app.kubernetes.io/managed-by=topicform -o jsonpath='{.items[*].spec.holderIdentity}'; }
leader_pod() { lease_holder | sed -n 's|^topicform@\([^/]*\)/.*|\1|p'; }
a_pod_leads() { controller_pods | grep -qx "$(leader_pod)"; }
expect "a controller pod holds the cluster's Lease" eventually 60 a_pod_leads
expect "a service release installed after it carries a topic (shipping)" service_release shipping '{"e2e.shipping": {"partitions": 3}}'
shipping_created() { [[ "$(partitions_of e2e.shipping)" == 3 ]]; }
# Each try starts a JVM (kafka-topics), so the budget is generous.
expect "the controller sees the ConfigMap and creates its topic" eventually 180 shipping_created
leader=$(leader_pod)
expect "kubectl delete pod of the leader" kubectl -n "$ns" delete pod "$leader" --wait=false
handed_over() { local now; now=$(leader_pod); [[ -n "$now" && "$now" != "$leader" ]]; }
expect "the standby takes the Lease over (the deleted leader released it)" eventually 30 handed_over
new_leader_ran() { [[ "$(status_of command)" == controller && "$(status_of runBy)" == "topicform@$(leader_pod)/"* ]]; }
expect "the new leader reconciles at once (the status names it)" eventually 60 new_leader_ran
expect "helm uninstall shipping" helm uninstall shipping -n "$ns" --wait

# ----------------------------------------------------------------- telemetry
echo "== telemetry"
# A real OpenTelemetry Collector (deploy/tools/otelcol.sh) on the node's
# address, where pods reach it: the controller's traces arrive from its pod;
# the lag exporter serves a group's lag on its Service.
otel_bin=$(bash deploy/tools/otelcol.sh)
otlp=$node_ip:$((port + 10))
mkdir -p "$work/otel"
cat >"$work/otel/otelcol.yaml" <<OTEL
receivers:
  otlp:
    protocols:
      http: { endpoint: $otlp }
exporters:
  file/traces: { path: $work/otel/traces.jsonl, flush_interval: 100ms }
  file/metrics: { path: $work/otel/metrics.jsonl, flush_interval: 100ms }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [file/traces] }
    metrics: { receivers: [otlp], exporters: [file/metrics] }
OTEL
nsenter --net=/run/netns/topicform-k8s "$otel_bin/otelcol-topicform" --config="$work/otel/otelcol.yaml" \
  >"$work/otel/otelcol.log" 2>&1 &
otel_pid=$!
expect "the collector listens on the node's address" eventually 30 grep -q "Everything is ready" "$work/otel/otelcol.log"
telemetry_values=("${controller_values[@]}" --set "otel.endpoint=http://$otlp"
  --set topicform.lagExporter.enabled=true --set topicform.lagExporter.interval=2 --set 'topicform.lagExporter.groups={e2e-lag}')
expect_or_diagnose "helm upgrade with otel.endpoint and the lag exporter" \
  helm upgrade platform "$charts/platform" -n "$ns" "${telemetry_values[@]}" --wait --timeout 5m
reconcile_traced() {
  grep -q '"topicform reconcile"' "$work/otel/traces.jsonl" &&
    grep -q '"key":"k8s.pod.name","value":{"stringValue":"platform-topicform-controller-' "$work/otel/traces.jsonl"
}
expect "the controller's reconcile traces reach the collector, naming their pod" eventually 90 reconcile_traced
runs_measured() { grep -q '"topicform.run.duration"' "$work/otel/metrics.jsonl"; }
expect "the controller's run metrics reach the collector" eventually 120 runs_measured
expect "7 records produced to user.created" kafka_tool org.apache.kafka.tools.ProducerPerformance --topic user.created \
  --num-records 7 --record-size 16 --throughput -1 --producer-props "bootstrap.servers=$broker"
expect "group e2e-lag committed at the start of user.created" kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
  --bootstrap-server "$broker" --group e2e-lag --topic user.created --reset-offsets --to-earliest --execute
# Scraped as a ServiceMonitor's Prometheus does: at the address and port
# `metrics` of the Service's endpoints (the pod, not the ClusterIP).
lag_target() {
  kubectl -n "$ns" get endpointslices -l kubernetes.io/service-name=platform-topicform-lag-exporter \
    -o jsonpath='{.items[0].endpoints[0].addresses[0]}:{.items[0].ports[?(@.name=="metrics")].port}'
}
lag_served() {
  nsenter --net=/run/netns/topicform-k8s curl -fsS "http://$(lag_target)/metrics" |
    grep -qx 'kafka_consumergroup_lag_sum{consumergroup="e2e-lag",topic="user.created"} 7'
}
expect "the lag exporter's Service endpoint serves the group's lag (kafka_consumergroup_lag_sum 7)" eventually 60 lag_served
kill "$otel_pid" 2>/dev/null || true

# ------------------------------------------------------------------ security
echo "== pod security"
# Enforcement is on: a pod without the restricted securityContext is refused.
psa_refuses() {
  local out
  if out=$(kubectl -n "$ns" run psa-probe --image=localhost/topicform/example-service:test \
    --image-pull-policy=IfNotPresent --restart=Never 2>&1); then
    kubectl -n "$ns" delete pod psa-probe --now >/dev/null 2>&1
    echo "admitted: $out"
    return 1
  fi
  grep -q 'violates PodSecurity "restricted:latest"' <<<"$out" || { echo "$out"; return 1; }
}
expect "the namespace's restricted Pod Security refuses a pod without its securityContext" psa_refuses
# ... and every Deployment of the release has all its pods (none was refused).
all_ready() {
  local out
  out=$(kubectl -n "$ns" get deploy -o jsonpath='{range .items[*]}{.metadata.name} {.spec.replicas} {.status.readyReplicas}{"\n"}{end}') || return 1
  [[ -n "$out" ]] && ! awk '$2 != $3' <<<"$out" | grep .
}
expect "every Deployment of the release has all its pods ready" all_ready
# Every chart's workloads, server-side dry run in the restricted namespace:
# the API server answers with a warning for any pod template that would be refused.
restricted_dry_run() {
  local out
  # --skip-tests: a `helm test` pod names a ServiceAccount a dry run never
  # creates (the real one ran under restricted in `helm test` above).
  out=$(helm template "$@" --skip-tests -n "$ns" | kubectl apply --dry-run=server -n "$ns" -f - 2>&1) || { echo "$out"; return 1; }
  if grep -i 'violate PodSecurity' <<<"$out"; then return 1; fi
}
expect "kafka-local chart: restricted" restricted_dry_run dry-kafka "$charts/kafka-local"
expect "topicform chart: restricted" restricted_dry_run dry-topicform "$charts/topicform" --set environment=local \
  --set-file "spec=$spec" --set drift.enabled=true
expect "topicform chart, mode controller: restricted" restricted_dry_run dry-controller "$charts/topicform" \
  --set environment=local --set-file "spec=$spec" --set mode=controller
expect "service chart: restricted" restricted_dry_run dry-service "$charts/service" --set image.repository=x --set-string image.tag=1 \
  --set broker.brokers="$broker" --set broker.securityProtocol=PLAINTEXT

# -------------------------------------------------------------------- negative
echo "== negative control"
hook_failure_fails_install() {
  local out
  if out=$(helm install broken "$charts/topicform" -n "$ns" --set environment=local --set-file "spec=$spec" \
    --set broker.brokers="$node_ip:1" --set broker.securityProtocol=PLAINTEXT --set apply.timeout=5 \
    --set job.backoffLimit=0 --wait --timeout 3m 2>&1); then
    echo "installed: $out"
    return 1
  fi
  # Failed because of the hook Job, and the Job failed because topicform exited 1.
  grep -q 'pre-install' <<<"$out" && grep -q 'BackoffLimitExceeded' <<<"$out" || { echo "$out"; return 1; }
  kubectl -n "$ns" logs job/broken-topicform-apply | grep -q 'cannot use the Kafka cluster'
}
expect "helm install fails when the hook Job exits 1 (nothing listens at the broker address)" hook_failure_fails_install
helm uninstall broken -n "$ns" >/dev/null 2>&1 || true
# README's cleanup of what Helm leaves (hook resources) after an uninstall.
kubectl -n "$ns" delete job,configmap,secret,serviceaccount,role,rolebinding \
  -l app.kubernetes.io/instance=broken --wait >/dev/null

# ------------------------------------------------------------------ uninstall
echo "== uninstall"
expect "helm uninstall" helm uninstall platform -n "$ns" --wait --timeout 3m
kubectl -n "$ns" delete job drift-in-sync drift-changed --ignore-not-found >/dev/null
# Everything in the namespace: every namespaced kind the API serves (CRDs
# included) in one `kubectl get`, about a second (one get per kind took 40).
# Not events, nor endpoints (deprecated; a Service's EndpointSlices are
# listed). Fails when kubectl does, so an unreachable API is not "nothing
# left"; a hanging one is cut off, so `eventually` stays bounded.
leftovers() {
  local kinds all
  kinds=$(kubectl api-resources --request-timeout=15s --verbs=list --namespaced -o name) || return 1
  kinds=$(grep -v -x -E 'events|events.events.k8s.io|endpoints' <<<"$kinds" | paste -s -d, -)
  all=$(kubectl -n "$ns" get "$kinds" --request-timeout=15s --ignore-not-found -o name) || return 1
  grep -v -x -E 'configmap/kube-root-ca.crt|serviceaccount/default' <<<"$all" | sort || true
}
# What README "The test cluster" names: Helm deletes no hook resource, so the
# hook Job that ran last stays with its pods (for their logs, until its
# ttlSecondsAfterFinished); in hook mode its ServiceAccount, ConfigMap and
# Secret too. Here the release ended in mode job, which adopted those, but
# not the ConfigMap of `policy.file` that the refused hook-mode upgrade
# ("policy") made: no later release renders it.
# The services' pods take a moment to terminate.
only_named_leftovers() {
  local left
  left=$(leftovers) || return 1
  [[ -z "$left" ]] || ! grep -v -x -E 'job.batch/platform-topicform-apply|pod/platform-topicform-apply-[a-z0-9]+|configmap/platform-topicform-policy|configmap/topicform-status-local|lease.coordination.k8s.io/topicform-[a-z0-9-]+' <<<"$left"
}
expect "helm uninstall leaves nothing behind but what README names" eventually 90 only_named_leftovers
kubectl -n "$ns" delete job,configmap,secret,serviceaccount,role,rolebinding \
  -l app.kubernetes.io/instance=platform --wait >/dev/null
kubectl -n "$ns" delete lease,configmap -l app.kubernetes.io/managed-by=topicform --wait >/dev/null
nothing_left() {
  local left
  left=$(leftovers) || return 1
  ! grep . <<<"$left"
}
expect "README's cleanup command removes the rest" eventually 60 nothing_left

# ------------------------------------------------------------------ terraform
echo "== terraform"
# The local example as users run it, with the real helm and kubernetes
# providers, on a copy of terraform/ and helm/ (init and state stay out of the
# work tree). The broker is this run's: the test cluster has no DNS for kafka-local.
eval "$(bash deploy/tools/terraform.sh)"
# A fresh broker: the example's topics overlap the platform's, which the tests above changed.
start_broker
mkdir -p "$work/repo"
cp -r terraform helm "$work/repo/"
tf() { "$TOPICFORM_TERRAFORM" -chdir="$work/repo/terraform/examples/local" "$@"; }
tf_ns=tf-terraform
cat >"$work/local.tfvars" <<TFVARS
kubeconfig_path = "$KUBECONFIG"
namespace       = "$tf_ns"
broker          = { brokers = "$broker", security_protocol = "PLAINTEXT" }
extra_values = [<<-YAML
  serviceDefaults:
    image: { repository: localhost/topicform/example-service, tag: test }
    replicaCount: 1
    readinessProbe:
      httpGet: { path: /health, port: http }
  YAML
]
TFVARS
export TF_IN_AUTOMATION=1 TF_INPUT=0
expect "terraform init of examples/local (helm 3.1.2, kubernetes 3.2.1 from the mirror)" \
  tf init -input=false -no-color
expect "the lock file holds the provider versions this test claims" \
  grep -qzE 'hashicorp/helm"[^}]*version *= *"3\.1\.2".*hashicorp/kubernetes"[^}]*version *= *"3\.2\.1"' \
  "$work/repo/terraform/examples/local/.terraform.lock.hcl"
expect "terraform apply of examples/local on the cluster" \
  tf apply -auto-approve -no-color -var-file="$work/local.tfvars"
tf_in_sync() {
  KAFKA_BROKERS=$broker "$topicform" plan -e local -f terraform/examples/local/topicform.yaml --detailed-exitcode
}
expect "the release's hook Job applied examples/local/topicform.yaml (plan: in sync)" tf_in_sync
expect "the namespace Terraform made enforces restricted Pod Security" \
  test "$(kubectl get ns "$tf_ns" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" = restricted
expect "terraform plan after apply: no changes (-detailed-exitcode 0)" \
  tf plan -detailed-exitcode -no-color -var-file="$work/local.tfvars"
expect "terraform destroy" tf destroy -auto-approve -no-color -var-file="$work/local.tfvars"
ns_gone() { ! kubectl get ns "$tf_ns" -o name 2>/dev/null; }
expect "terraform destroy removed the namespace" eventually 60 ns_gone

echo "kubernetes: $passed passed, $failed failed"
((failed == 0))
