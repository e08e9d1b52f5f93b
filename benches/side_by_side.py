#!/usr/bin/env python3
"""sqlwarden next to `@modelcontextprotocol/server-postgres`, through the
same MCP client, on the same database, in one run.

Both servers are spawned over stdio by the official MCP Python SDK (`mcp`,
`pip install mcp`), as a new user's client would spawn them, and asked the
same things on the same `bench` database (100,000 `orders` rows, 12
columns, created here and dropped afterwards):

1. spawn -> `initialize` result, median of several spawns;
2. a point SELECT (`WHERE order_id = k`, k varying), whole `tools/call`
   round trip as the client sees it, median;
3. `SELECT * FROM orders WHERE order_id <= 10000` (10,000 rows), whole
   call, median;
4. peak resident memory of the server process over that session
   (`VmHWM` from /proc, read just before the client closes it), and its
   resident memory right after `initialize` (idle).

Each figure is printed for both servers with the ratio (reference /
sqlwarden: above 1 means sqlwarden is faster or smaller). Absolute times
drift from run to run on a shared machine; the ratios are what the README
quotes. Printed, never asserted.

The reference server is installed with npm into `--npm-prefix` (version
pinned below) unless it is already there. It runs the SQL it is given with
no policy at all; sqlwarden runs the same SQL through its gate, caps and
audit log, with caps set above the 10,000-row result.

    python3 benches/side_by_side.py [--binary target/release/sqlwarden]
"""

import argparse
import asyncio
import os
import pathlib
import random
import statistics
import subprocess
import tempfile
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

REFERENCE = "@modelcontextprotocol/server-postgres@0.6.2"

TABLE = """CREATE TABLE orders (
  order_id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
  amount numeric(12,2) NOT NULL, discount numeric(5,2) NOT NULL,
  quantity int NOT NULL, region text NOT NULL, channel text NOT NULL,
  created_at timestamptz NOT NULL, shipped_at timestamptz,
  note text, is_gift boolean NOT NULL);
INSERT INTO orders SELECT i, i % 5003,
  (ARRAY['new','paid','shipped','returned'])[1 + i % 4],
  (i % 100000) / 100.0, (i % 30) / 100.0, 1 + i % 9,
  (ARRAY['emea','amer','apac'])[1 + i % 3], (ARRAY['web','store','phone'])[1 + i % 3],
  timestamptz '2024-01-01' + i * interval '1 minute',
  CASE WHEN i % 4 >= 2 THEN timestamptz '2024-01-03' + i * interval '1 minute' END,
  CASE WHEN i % 7 = 0 THEN 'leave at the door, ring twice' END, i % 11 = 0
  FROM generate_series(1, 100000) i;
ANALYZE orders;"""

# The reference server logs in as `postgres`; so does sqlwarden here, which
# then has to be told to serve a login that could write.
POLICY = """identity:
  user_id: bench
  roles: [analyst]
security:
  allow_privileged_login: true
sources:
  bench:
    defaults:
      default_limit: 10000
      max_limit: 100000
      max_result_bytes: 268435456
      query_timeout_seconds: 120
    tables:
      public.orders: {}
"""


def psql(args, dbname, sql):
    subprocess.run(
        ["psql", "-h", args.host, "-p", str(args.port), "-U", "postgres", "-d", dbname,
         "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True, stdout=subprocess.DEVNULL)


def children_of(pid):
    """Pids whose parent is `pid` (the server the SDK spawned)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the parent pid follows ")".
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def memory_kib(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for pid {pid}")


class Server:
    """How to spawn one server and phrase each query as its tool call."""

    def __init__(self, name, params, tool, arguments):
        self.name = name
        self.params = params
        self.tool = tool
        self.arguments = arguments


async def spawn_once(server):
    started = time.perf_counter()
    async with stdio_client(server.params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return time.perf_counter() - started


async def call(session, server, sql, limit):
    started = time.perf_counter()
    result = await session.call_tool(server.tool, server.arguments(sql, limit))
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise SystemExit(f"{server.name}: {sql!r} failed: {result.content}")
    return elapsed, result


async def measure(server, args):
    figures = {}
    spawns = [await spawn_once(server) for _ in range(args.spawns)]
    figures["spawn -> initialize, median (ms)"] = statistics.median(spawns) * 1000
    before = set(children_of(os.getpid()))
    async with stdio_client(server.params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            pids = [p for p in children_of(os.getpid()) if p not in before]
            if len(pids) != 1:
                raise SystemExit(f"{server.name}: expected one server process, found {pids}")
            pid = pids[0]
            figures["resident after initialize (MiB)"] = memory_kib(pid, "VmRSS") / 1024
            rng = random.Random(12)
            for _ in range(args.warmup):
                await call(session, server,
                           f"SELECT * FROM orders WHERE order_id = {rng.randint(1, 100000)}", 1)
            point = []
            for _ in range(args.points):
                k = rng.randint(1, 100000)
                elapsed, _ = await call(session, server,
                                        f"SELECT * FROM orders WHERE order_id = {k}", 1)
                point.append(elapsed)
            figures["point SELECT, whole call, median (ms)"] = statistics.median(point) * 1000
            wide = []
            size = 0
            for _ in range(args.wide):
                elapsed, result = await call(
                    session, server, "SELECT * FROM orders WHERE order_id <= 10000", 10000)
                wide.append(elapsed)
                size = sum(len(c.text) for c in result.content if hasattr(c, "text"))
            figures["10k-row SELECT, whole call, median (ms)"] = statistics.median(wide) * 1000
            figures["peak resident over the session (MiB)"] = memory_kib(pid, "VmHWM") / 1024
            figures["10k-row answer text (KiB)"] = size / 1024
    return figures


def ensure_reference(prefix):
    entry = prefix / "node_modules/@modelcontextprotocol/server-postgres/dist/index.js"
    if not entry.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-save", "--prefix", str(prefix),
                        REFERENCE], check=True, stdout=subprocess.DEVNULL)
    return entry


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default=os.environ.get("SQLWARDEN_TEST_PG_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("SQLWARDEN_TEST_PG_PORT", "5432")))
    parser.add_argument("--binary", default="target/release/sqlwarden")
    parser.add_argument("--npm-prefix", default="target/bench-reference")
    parser.add_argument("--spawns", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--wide", type=int, default=15)
    args = parser.parse_args()

    reference_js = ensure_reference(pathlib.Path(args.npm_prefix).resolve())
    dbname = f"sqlwarden_bench_side_{os.getpid()}"
    work = pathlib.Path(tempfile.mkdtemp(prefix="sqlwarden-side-"))
    (work / "audit").mkdir()
    (work / "connections.yaml").write_text(
        f"connections:\n  bench:\n    engine: postgres\n    host: {args.host}\n"
        f"    port: {args.port}\n    dbname: {dbname}\n    user: postgres\n"
        "    sslmode: disable\n")
    (work / "policy.yaml").write_text(POLICY)
    env = dict(os.environ, SQLWARDEN_CONFIG_DIR=str(work), SQLWARDEN_AUDIT_DIR=str(work / "audit"))
    servers = [
        Server("sqlwarden",
               StdioServerParameters(command=str(pathlib.Path(args.binary).resolve()),
                                     args=["serve"], env=env),
               "run_select_sql",
               lambda sql, limit: {"source": "bench", "sql": sql, "limit": limit}),
        Server("reference",
               StdioServerParameters(
                   command="node",
                   args=[str(reference_js),
                         f"postgresql://postgres@{args.host}:{args.port}/{dbname}"],
                   env=dict(os.environ)),
               "query",
               lambda sql, limit: {"sql": sql}),
    ]

    psql(args, "postgres", f"CREATE DATABASE {dbname}")
    try:
        psql(args, dbname, TABLE)
        print(f"== side by side: {args.binary} and {REFERENCE}, load {os.getloadavg()[0]:.2f}")
        results = {server.name: asyncio.run(measure(server, args)) for server in servers}
        ours, theirs = results["sqlwarden"], results["reference"]
        print(f"{'figure':<42} {'sqlwarden':>10} {'reference':>10} {'ratio':>7}")
        for figure, value in ours.items():
            other = theirs[figure]
            ratio = other / value if value else float("nan")
            print(f"{figure:<42} {value:>10.2f} {other:>10.2f} {ratio:>6.2f}x")
    finally:
        psql(args, "postgres", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
