#!/usr/bin/env bash
# deploy/fuzz.sh — fuzz topicform-core's spec loader and value parsers with
# cargo-fuzz (libFuzzer), each target for a bounded time.
#
#   deploy/fuzz.sh                 bounded run (deploy/test.sh): every target
#                                  FUZZ_SECONDS (default 20) seconds
#   deploy/fuzz.sh --long SECONDS  long run: every target SECONDS seconds,
#                                  then its number of executions
#
# Targets (fuzz/fuzz_targets/, harness in fuzz/src/lib.rs): `spec_load` (any
# bytes as a spec: load, validate, resolve and plan every environment) and
# `values` (durations, normal form, equivalence, display). Each run starts
# from the committed seeds (fuzz/corpus/<target>) and crash cases
# (fuzz/regressions/<target>); a long run also from what earlier long runs
# learned, kept in fuzz/target/corpus/ (on this machine, never committed:
# minimise with `cargo fuzz cmin` before adding any of it to fuzz/corpus),
# a bounded run from nothing else. A crash fails
# the script and leaves its input in fuzz/artifacts/<target>/: fix it, then
# copy the input to fuzz/regressions/<target>/, where
# crates/topicform-core/tests/fuzz_corpus.rs replays it under stable
# `cargo test`.
#
# Needs the nightly toolchain (libFuzzer's instrumentation is nightly-only)
# and installs cargo-fuzz, pinned, with `cargo install --root` into
# ${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools} (about 1.5 min cold on 2
# cores, nothing when present). The first build of the targets takes a few
# minutes; later ones are incremental (fuzz/target).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
TARGETS=(spec_load values)
# Per input: a spec that takes longer than this is a performance bug
# (issue 11: validate must stay linear), not a slow machine.
INPUT_TIMEOUT_SECONDS=10
RSS_LIMIT_MB=2048

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
BIN=$TOOLS/bin

log() { printf 'fuzz.sh: %s\n' "$*" >&2; }
die() { printf 'fuzz.sh: error: %s\n' "$*" >&2; exit 1; }

usage() { die "usage: deploy/fuzz.sh [--long SECONDS]"; }

seconds=${FUZZ_SECONDS:-20}
long=false
case "${1:-}" in
  "") ;;
  --long)
    [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage
    seconds=$2
    long=true
    ;;
  *) usage ;;
esac

need_nightly() {
  command -v rustup >/dev/null 2>&1 && cargo +nightly --version >/dev/null 2>&1 ||
    die "the nightly Rust toolchain is missing (cargo-fuzz needs it for libFuzzer's instrumentation); install it with \`rustup toolchain install nightly --profile minimal\` (rustup: https://rustup.rs), then re-run"
}

install_cargo_fuzz() {
  if [[ "$("$BIN/cargo-fuzz" --version 2>/dev/null)" == "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    return
  fi
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS (about 1.5 min on 2 cores)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" >&2 ||
    die "cannot install cargo-fuzz $CARGO_FUZZ_VERSION from crates.io"
}

# libFuzzer's last line: `Done 123456 runs in 20 second(s)`.
executions() { sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$1" | tail -n 1; }

# Runs one target for $seconds; its log goes to fuzz/target/logs/<target>.log.
# Without a sanitizer: the core crate and its dependencies are safe Rust, so
# what is looked for is a panic, an overflow (debug assertions are on), a
# stack overflow, a timeout or runaway memory, and libFuzzer catches all of
# them; AddressSanitizer would only halve the executions.
run_target() {
  local target=$1 work=$repo/fuzz/target/corpus/$1 logfile=$repo/fuzz/target/logs/$1.log
  # A bounded run starts from the committed inputs alone, as on a fresh
  # clone: re-reading thousands of inputs learned by long runs would take
  # its whole time.
  if ! $long; then
    work=$repo/fuzz/target/bounded-corpus/$target
    rm -rf "$work"
  fi
  local seeds=("$repo/fuzz/corpus/$target") limits=()
  # Config values are short; longer ones only slow the search down (from
  # 30,000 to 1,500 executions per second as libFuzzer let them grow to 4 KB).
  [[ "$target" == values ]] && limits=(-max_len=512)
  [[ -d "$repo/fuzz/regressions/$target" ]] && seeds+=("$repo/fuzz/regressions/$target")
  mkdir -p "$work" "$(dirname "$logfile")"
  log "$target: fuzzing for ${seconds}s (log: ${logfile#"$repo"/})"
  local started=$SECONDS
  # New inputs go to the first corpus directory only: the scratch one, so
  # the committed seeds never change behind anyone's back.
  if ! cargo +nightly fuzz run --fuzz-dir "$repo/fuzz" --sanitizer none "$target" "$work" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout="$INPUT_TIMEOUT_SECONDS" -rss_limit_mb="$RSS_LIMIT_MB" \
    -print_final_stats=1 "${limits[@]}" >"$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "$target failed: a crash, a timeout (over ${INPUT_TIMEOUT_SECONDS}s) or over ${RSS_LIMIT_MB} MB, see above; the input is in fuzz/artifacts/$target/ (reproduce: cargo +nightly fuzz run --sanitizer none $target INPUT). Fix it, then add the input to fuzz/regressions/$target/"
  fi
  local runs
  runs=$(executions "$logfile")
  [[ -n "$runs" ]] || { tail -n 20 "$logfile" >&2; die "$target: no libFuzzer summary in $logfile"; }
  if $long; then
    printf '%s: %s executions in %s s, no crash\n' "$target" "$runs" "$((SECONDS - started))"
  else
    log "$target: $runs executions, no crash"
  fi
}

need_nightly
mkdir -p "$BIN"
install_cargo_fuzz
export PATH="$BIN:$PATH"
cd "$repo"
mkdir -p "$repo/fuzz/target"
# fuzz/Cargo.lock is committed, as the root one is (cargo fuzz has no --locked).
if ! cargo +nightly metadata --locked --format-version 1 --manifest-path "$repo/fuzz/Cargo.toml" 2>&1 >/dev/null |
  tail -n 5 >&2; then
  die "cannot resolve fuzz/ from fuzz/Cargo.lock; if it is out of date (a dependency of topicform-core changed), run \`cargo update --manifest-path fuzz/Cargo.toml --workspace\` and commit fuzz/Cargo.lock"
fi
log "building the fuzz targets (nightly; the first build takes a few minutes)"
cargo +nightly fuzz build --fuzz-dir "$repo/fuzz" --sanitizer none >"$repo/fuzz/target/build.log" 2>&1 || {
  tail -n 40 "$repo/fuzz/target/build.log" >&2
  die "cannot build the fuzz targets"
}
for target in "${TARGETS[@]}"; do
  run_target "$target"
done
