#!/usr/bin/env bash
# Every figure of the README's performance section, in one run:
#
#   benches/run.sh            full criterion runs (several minutes)
#   benches/run.sh --quick    criterion's quick mode (rougher, faster)
#
# 1. `cargo bench` of every benchmark (startup, gate, pg_query,
#    large_results, tunnel, mc_tool_call); their own lines on stderr
#    (idle memory, p99, envelope bytes) are kept.
# 2. Peak memory (VmHWM, via wait4's ru_maxrss) of a whole
#    `sqlwarden call run_select_sql` process for 1,000 / 10,000 / 100,000
#    rows, with the caps above the result and below it.
# 3. sqlwarden next to `@modelcontextprotocol/server-postgres` through the
#    official MCP Python SDK (benches/side_by_side.py), when `mcp` is
#    installed for python3 and npm is there.
# 4. A summary: the median of every criterion benchmark (and its rate when
#    it has a throughput), then the lines from 1 and 2.
#
# Needs the local PostgreSQL (`SQLWARDEN_TEST_PG_HOST` / `_PORT` override
# 127.0.0.1:5432, user `postgres`, trust), like the tests. Timing is
# measured and printed, never asserted. Run it on a quiet machine.
set -euo pipefail

cd "$(dirname "$0")/.."
criterion_args=("$@")
host="${SQLWARDEN_TEST_PG_HOST:-127.0.0.1}"
port="${SQLWARDEN_TEST_PG_PORT:-5432}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! psql -h "$host" -p "$port" -U postgres -d postgres -Atc 'SELECT 1' >/dev/null; then
    echo "PostgreSQL is not reachable at $host:$port; the benchmarks need it" >&2
    exit 1
fi

echo "== load: $(uptime)" >&2
benches=(startup gate pg_query large_results tunnel mc_tool_call audit)
bench_flags=()
for bench in "${benches[@]}"; do
    bench_flags+=(--bench "$bench")
done
cargo bench "${bench_flags[@]}" -- "${criterion_args[@]}" 2> >(tee "$work/bench.stderr" >&2)

cargo build --release --quiet
python3 benches/peak_memory.py --host "$host" --port "$port" \
    --binary target/release/sqlwarden --work "$work" | tee "$work/memory.txt"
python3 benches/peak_memory.py --host "$host" --port "$port" --mode serve \
    --binary target/release/sqlwarden --work "$work" | tee -a "$work/memory.txt"

# The MCP SDK that tests/clients/setup.sh installs will do when python3
# has none of its own.
sdk_python=python3
if ! python3 -c 'import mcp' 2>/dev/null && [ -x target/clients/venv/bin/python ]; then
    sdk_python=target/clients/venv/bin/python
fi
if "$sdk_python" -c 'import mcp' 2>/dev/null && command -v npm >/dev/null; then
    "$sdk_python" benches/side_by_side.py --host "$host" --port "$port" \
        --binary target/release/sqlwarden | tee "$work/side_by_side.txt"
else
    echo "== side by side skipped: needs \`pip install mcp\` and npm" | tee "$work/side_by_side.txt"
fi

python3 - "$work" <<'EOF'
import json, pathlib, sys

work = pathlib.Path(sys.argv[1])
print("\n== summary")
root = pathlib.Path("target/criterion")
for estimates in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((estimates.parent / "benchmark.json").read_text())
    median_ns = json.loads(estimates.read_text())["median"]["point_estimate"]
    line = f"{bench['full_id']:<48} median {median_ns / 1000:>12.1f} µs"
    throughput = bench.get("throughput") or {}
    if "Elements" in throughput:
        line += f"   {throughput['Elements'] / (median_ns / 1e9):>12.0f} per second"
    if "Bytes" in throughput:
        line += f"   {throughput['Bytes'] / (median_ns / 1e9) / 2**20:>10.1f} MiB/s"
    print(line)
for text in (work / "bench.stderr").read_text().splitlines():
    if text.startswith(("idle resident memory", "pg_one_row percentiles", "large_result bytes")):
        print(text)
print((work / "memory.txt").read_text(), end="")
print((work / "side_by_side.txt").read_text(), end="")
EOF
