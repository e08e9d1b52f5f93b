#!/usr/bin/env bash
# Requests per small MaxCompute query and its end-to-end latency, against
# the emulator's job-time model, for an older build ("before") and this
# tree ("after"), offline and on MaxQA:
#
#   benches/mc_latency.sh                 this tree only
#   benches/mc_latency.sh --before REV    also REV (e.g. main before MaxQA)
#
# Both binaries are debug builds (`cargo build`); the time measured is
# dominated by the modelled job time and the client's waiting, not by code
# speed. Each mode starts a fresh emulator and a fresh `sqlwarden serve`;
# see benches/mc_latency.rs for the columns and the environment knobs
# (MC_BENCH_RUNS, MC_OFFLINE_QUEUE_MS, MC_OFFLINE_RUN_MS, MC_MAXQA_QUEUE_MS,
# MC_MAXQA_RUN_MS). Needs the local PostgreSQL, like the tests.
set -euo pipefail

cd "$(dirname "$0")/.."
before=""
if [[ "${1:-}" == "--before" ]]; then
    before="${2:?--before needs a git revision}"
fi
work="$(mktemp -d)"
cleanup() {
    if [[ -n "$before" ]]; then
        git worktree remove --force "$work/before" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ -n "$before" ]]; then
    # Built with this tree's target directory, so the dependencies are
    # shared; the binary is copied out before this tree's build replaces it.
    git worktree add --detach "$work/before" "$before" >/dev/null
    target="$(pwd)/target"
    (cd "$work/before" && CARGO_TARGET_DIR="$target" cargo build --quiet --bin sqlwarden)
    cp "$target/debug/sqlwarden" "$work/sqlwarden-before"
fi
touch src/main.rs
cargo build --quiet --bin sqlwarden
cp target/debug/sqlwarden "$work/sqlwarden-after"

echo "== load: $(uptime)" >&2
echo "| build | mode | ran as | job time | requests/query | latency (median) | slack over job time (median) | latency (max) | first call: requests (latency) |"
echo "|---|---|---|---|---|---|---|---|---|"
if [[ -n "$before" ]]; then
    SQLWARDEN_BIN="$work/sqlwarden-before" MC_BENCH_LABEL="before ($before)" MC_BENCH_MODES=offline \
        cargo bench --quiet --profile dev --bench mc_latency
fi
SQLWARDEN_BIN="$work/sqlwarden-after" MC_BENCH_LABEL="after" MC_BENCH_MODES=offline,offline-inline,maxqa \
    cargo bench --quiet --profile dev --bench mc_latency
