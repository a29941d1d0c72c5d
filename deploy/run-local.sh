#!/usr/bin/env bash
# deploy/run-local.sh — the README's setup-and-run command: install what is
# missing, start the local Kafka broker (no Docker), build topicform, apply
# the example platform's 35 topics to environment `local`, then prove the
# cluster is in sync (plan --detailed-exitcode exits 0).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export TOPICFORM_CACHE="${TOPICFORM_CACHE:-$repo/.cache}"
spec=examples/etelios/topicform.yaml

bash deploy/setup.sh
bash deploy/local/kafka.sh start
cargo build --release --locked
bin=target/release/topicform

"$bin" validate -f "$spec" -e local
"$bin" apply -f "$spec" -e local --auto-approve
"$bin" plan -f "$spec" -e local --detailed-exitcode
echo "The local broker keeps running on localhost:9092; stop it with: deploy/local/kafka.sh stop"
