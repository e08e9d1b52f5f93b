#!/usr/bin/env python3
"""Peak memory of whole `sqlwarden call run_select_sql` processes.

Creates a database with a 100,000-row table, then runs the release binary
once per shape: 1,000 / 10,000 / 100,000 rows asked for, with the caps of
source `above` (over the result: everything comes back) and of source
`below` (the built-in caps, 1,000 rows and 1 MiB: the fetch stops there).
Each child's peak resident memory is measured by GNU time (`%M`, the
kernel's high-water mark from wait4): Python's own ru_maxrss of a child
would also count the forked interpreter's pages before the exec. With the
caps below, the peak stays flat however
large the result would be: rows are streamed and cut, never buffered.
Printed, never asserted. Run by benches/run.sh.
"""

import argparse
import json
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


def run_call(args, config, rows, source):
    """Run one call; return (seconds, peak KiB, stdout bytes, envelope)."""
    arguments = json.dumps({
        "source": source,
        "sql": f"SELECT id, customer, amount, sold_at FROM sales WHERE id <= {rows}",
        "limit": rows,
    })
    env = dict(os.environ, SQLWARDEN_CONFIG_DIR=str(config),
               SQLWARDEN_AUDIT_DIR=str(config / "audit"))
    out_path = config / "out.json"
    peak_path = config / "peak.txt"
    started = time.perf_counter()
    with open(out_path, "wb") as out:
        code = subprocess.call(
            ["/usr/bin/time", "-f", "%M", "-o", str(peak_path),
             args.binary, "call", "run_select_sql", arguments],
            env=env, stdout=out, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    data = out_path.read_bytes()
    envelope = json.loads(data)
    if code != 0 or not envelope["ok"]:
        raise SystemExit(f"call failed ({rows} rows, {source}): {data[:2000]!r}")
    # GNU time reports the peak in KiB, on the last line.
    peak_kib = int(peak_path.read_text().split()[-1])
    return seconds, peak_kib, len(data), envelope


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--binary", default="target/release/sqlwarden")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()

    dbname = f"sqlwarden_bench_memory_{os.getpid()}"
    config = pathlib.Path(args.work) / "memory-config"
    (config / "audit").mkdir(parents=True)
    connections = "connections:\n"
    for source in ("above", "below"):
        connections += (f"  {source}:\n    engine: postgres\n    host: {args.host}\n"
                        f"    port: {args.port}\n    dbname: {dbname}\n    user: postgres\n"
                        "    sslmode: disable\n")
    (config / "connections.yaml").write_text(connections)
    (config / "policy.yaml").write_text(POLICY)

    psql(args, "postgres", f"CREATE DATABASE {dbname}")
    try:
        psql(args, dbname, TABLE)
        print(f"\n== peak memory of `sqlwarden call run_select_sql` ({args.binary})")
        print(f"{'rows asked':>10} {'caps':>6} {'returned':>9} {'truncated':>9} "
              f"{'stdout bytes':>13} {'seconds':>8} {'peak RSS':>10}")
        for rows in SHAPES:
            for source in ("above", "below"):
                seconds, peak_kib, size, envelope = run_call(args, config, rows, source)
                meta = envelope["metadata"]
                print(f"{rows:>10} {source:>6} {meta['row_count']:>9} {str(meta['truncated']):>9} "
                      f"{size:>13} {seconds:>8.3f} {peak_kib / 1024:>7.1f} MiB")
    finally:
        psql(args, "postgres", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
