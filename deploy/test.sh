#!/usr/bin/env bash
# deploy/test.sh — the project's one test command (the README's, and CI's).
# Run it as root: step 5's test cluster needs network namespaces and mounts.
#
# 1. deploy/setup.sh --tools installs what a fresh Debian machine lacks (build
#    deps, Java 17, Maven), caches the pinned Kafka jars under $TOPICFORM_CACHE
#    (default: <repo>/.cache) and builds helm, kubectl-validate and the
#    Terraform providers into $TOPICFORM_TOOLS (default:
#    ~/.cache/topicform/tools, shared by every clone on the machine).
# 2. fmt and clippy (-D warnings) must be clean.
# 3. cargo test runs every test; the Kafka tests start their own brokers
#    (deploy/local/kafka.sh, instances `test` on 39092 and `test-prune` on
#    39192, and `test-secure` via deploy/local/secure.sh: SSL on 39302,
#    SASL_SSL with PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER on 39312, a
#    wrong-host certificate on 39322, SASL_PLAINTEXT on 39332, mTLS required
#    on 39342; and `test-faults` on 39392, advertised through the fault
#    proxy of tests/faults.rs on 39393; TOPICFORM_TEST_PORT moves them all)
#    and this script stops them at the end, pass or fail. tests/kubernetes.rs
#    starts the single-node test cluster of step 5 (deploy/k8s/cluster.sh)
#    for the Lease, status and Event tests; it is stopped after cargo test. The test identity provider
#    and the ARM contract server run inside the tests.
# 4. deploy/test-helm.sh (lint, template, schema-validate every chart) and
#    deploy/test-terraform.sh (fmt, init, validate, terraform test offline).
# 5. deploy/test-k8s.sh: a single-node Kubernetes (deploy/k8s/cluster.sh) and
#    a broker (instance `test-k8s` on port +400) inside its network namespace;
#    the image, the charts and terraform/examples/local on it; both stopped
#    at the end, pass or fail.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export TOPICFORM_CACHE="${TOPICFORM_CACHE:-$repo/.cache}"

stop_brokers() {
  for instance in test test-prune test-secure test-faults; do
    KAFKA_INSTANCE=$instance bash deploy/local/kafka.sh stop >/dev/null 2>&1 || true
  done
}
# tests/kubernetes.rs starts the test cluster (deploy/k8s/cluster.sh).
stop_test_services() {
  stop_brokers
  bash deploy/k8s/cluster.sh stop >/dev/null 2>&1 || true
}
trap stop_test_services EXIT

bash deploy/setup.sh --tools

# A fresh broker per run: leftovers of an earlier run would only be noise.
port=${TOPICFORM_TEST_PORT:-39092}
export TOPICFORM_TEST_PORT=$port
for instance in test:$port test-prune:$((port + 100)); do
  KAFKA_RESET=1 KAFKA_INSTANCE=${instance%%:*} KAFKA_PORT=${instance##*:} bash deploy/local/kafka.sh start >/dev/null
done
# TLS and SASL listeners, with a CA and users generated for this run.
rm -rf "$TOPICFORM_CACHE/run/test-secure-files"
KAFKA_RESET=1 KAFKA_INSTANCE=test-secure KAFKA_PORT=$((port + 200)) \
  bash deploy/local/secure.sh start "$TOPICFORM_CACHE/run/test-secure-files" >/dev/null

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo test"
# CI=true makes insta fail on a missing or changed snapshot instead of writing one.
CI="${CI:-true}" cargo test --locked --workspace
# Not needed again until step 5, which starts it afresh.
bash deploy/k8s/cluster.sh stop >/dev/null
echo "== fuzz (bounded)"
# Seconds per target of the spec loader and value parsers (deploy/fuzz.sh).
bash deploy/fuzz.sh
echo "== helm charts"
bash deploy/test-helm.sh
echo "== terraform"
bash deploy/test-terraform.sh
echo "== kubernetes"
bash deploy/test-k8s.sh
