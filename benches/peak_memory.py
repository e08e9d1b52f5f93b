#!/usr/bin/env python3
"""Peak memory of whole `sqlwarden call run_select_sql` processes, or of
`sqlwarden serve` answering one `tools/call run_select_sql` over stdio.

Creates a database with a 100,000-row table, then runs the release binary
once per shape: 1,000 / 10,000 / 100,000 rows asked for, with the caps of
source `above` (over the result: everything comes back) and of source
`below` (the built-in caps, 1,000 rows and 1 MiB: the fetch stops there).
Each child's peak resident memory is measured by GNU time (`%M`, the
kernel's high-water mark from wait4): Python's own ru_maxrss of a child
would also count the forked interpreter's pages before the exec. With the
caps below, the peak stays flat however
large the result would be: rows are streamed and cut, never buffered.

`--mode serve` drives `sqlwarden serve` with raw JSON-RPC over its pipes
(initialize, notifications/initialized, one tools/call, then stdin
closed) and measures the response line; `--reference BINARY` runs every
shape with a second binary too (say, main's), so that the two columns of
peak / response ratios come from the same run on the same machine.
Printed, never asserted. Run by benches/run.sh.
"""

import argparse
import json
import sys
import os
import pathlib
import subprocess
import time

SHAPES = [1_000, 10_000, 100_000]

POLICY = """identity:
  user_id: bench
  roles: [analyst]
security:
  allow_privileged_login: true
sources:
  above:
    defaults:
      default_limit: 100000
      max_limit: 100000
      max_result_bytes: 268435456
      query_timeout_seconds: 120
    tables:
      public.sales: {}
  below:
    tables:
      public.sales: {}
"""

TABLE = """CREATE TABLE sales (id int PRIMARY KEY, customer text NOT NULL,
  amount numeric(12,2) NOT NULL, sold_at timestamptz NOT NULL);
INSERT INTO sales SELECT i, 'customer ' || (i % 997), (i % 10000) / 100.0,
  timestamptz '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 100000) i;
ANALYZE sales;"""


def psql(args, dbname, sql):
    subprocess.run(
        ["psql", "-h", args.host, "-p", str(args.port), "-U", "postgres", "-d", dbname,
         "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True, stdout=subprocess.DEVNULL)


def run_call(args, config, rows, source, binary):
    """Run one call; return (seconds, peak KiB, stdout bytes, envelope)."""
    arguments = json.dumps(call_arguments(rows, source))
    env = dict(os.environ, SQLWARDEN_CONFIG_DIR=str(config),
               SQLWARDEN_AUDIT_DIR=str(config / "audit"))
    out_path = config / "out.json"
    peak_path = config / "peak.txt"
    started = time.perf_counter()
    with open(out_path, "wb") as out:
        code = subprocess.call(
            ["/usr/bin/time", "-f", "%M", "-o", str(peak_path),
             binary, "call", "run_select_sql", arguments],
            env=env, stdout=out, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    data = out_path.read_bytes()
    envelope = json.loads(data)
    if code != 0 or not envelope["ok"]:
        raise SystemExit(f"call failed ({rows} rows, {source}): {data[:2000]!r}")
    # GNU time reports the peak in KiB, on the last line.
    peak_kib = int(peak_path.read_text().split()[-1])
    return seconds, peak_kib, len(data), envelope


def call_arguments(rows, source):
    return {
        "source": source,
        "sql": f"SELECT id, customer, amount, sold_at FROM sales WHERE id <= {rows}",
        "limit": rows,
    }


def run_serve(binary, config, rows, source):
    """Serve one call over stdio; return (seconds, peak KiB, response bytes, envelope)."""
    env = dict(os.environ, SQLWARDEN_CONFIG_DIR=str(config),
               SQLWARDEN_AUDIT_DIR=str(config / "audit"))
    peak_path = config / "peak.txt"
    child = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M", "-o", str(peak_path), binary, "serve"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def send(message):
        child.stdin.write((json.dumps(message) + "\n").encode())
        child.stdin.flush()

    def answer(request_id):
        while True:
            line = child.stdout.readline()
            if not line:
                raise SystemExit(f"the server closed stdout before answering {request_id}")
            message = json.loads(line)
            if message.get("id") == request_id:
                return line.rstrip(b"\n"), message

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "peak-memory-bench", "version": "1"}}})
    answer(0)
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    started = time.perf_counter()
    send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "run_select_sql", "arguments": call_arguments(rows, source)}})
    line, message = answer(1)
    seconds = time.perf_counter() - started
    child.stdin.close()
    child.stdout.read()
    child.wait()
    envelope = message.get("result", {}).get("structuredContent") or {}
    if not envelope.get("ok"):
        raise SystemExit(f"call failed ({rows} rows, {source}): {line[:2000]!r}")
    peak_kib = int(peak_path.read_text().split()[-1])
    return seconds, peak_kib, len(line), envelope


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--binary", default="target/release/sqlwarden")
    parser.add_argument("--reference", help="a second binary to measure in the same run")
    parser.add_argument("--mode", choices=["call", "serve"], default="call")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()

    dbname = f"sqlwarden_bench_memory_{os.getpid()}"
    config = pathlib.Path(args.work) / f"memory-config-{args.mode}"
    (config / "audit").mkdir(parents=True)
    connections = "connections:\n"
    for source in ("above", "below"):
        connections += (f"  {source}:\n    engine: postgres\n    host: {args.host}\n"
                        f"    port: {args.port}\n    dbname: {dbname}\n    user: postgres\n"
                        "    sslmode: disable\n")
    (config / "connections.yaml").write_text(connections)
    (config / "policy.yaml").write_text(POLICY)

    binaries = [args.binary] + ([args.reference] if args.reference else [])
    psql(args, "postgres", f"CREATE DATABASE {dbname}")
    try:
        psql(args, dbname, TABLE)
        what = ("`sqlwarden call run_select_sql`" if args.mode == "call"
                else "`sqlwarden serve`, one tools/call run_select_sql over stdio")
        print(f"\n== peak memory of {what}")
        header = f"{'rows asked':>10} {'caps':>6} {'returned':>9} {'truncated':>9} {'response bytes':>14}"
        for binary in binaries:
            header += f" | {binary[-28:]:>28} {'s':>6} {'peak RSS':>10} {'peak/resp':>9}"
        print(header)
        for rows in SHAPES:
            for source in ("above", "below"):
                line, size = "", None
                for binary in binaries:
                    if args.mode == "call":
                        seconds, peak_kib, size, envelope = run_call(
                            args, config, rows, source, binary)
                    else:
                        seconds, peak_kib, size, envelope = run_serve(
                            binary, config, rows, source)
                    if not line:
                        meta = envelope["metadata"]
                        line = (f"{rows:>10} {source:>6} {meta['row_count']:>9} "
                                f"{str(meta['truncated']):>9} {size:>14}")
                    line += (f" | {'':>28} {seconds:>6.2f} {peak_kib / 1024:>6.1f} MiB "
                             f"{peak_kib * 1024 / size:>8.2f}x")
                print(line)
                sys.stdout.flush()
        print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    finally:
        psql(args, "postgres", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
