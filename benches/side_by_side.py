#!/usr/bin/env python3
"""sqlwarden next to `@modelcontextprotocol/server-postgres`, through the
same MCP client, on the same database, in one run.

Both servers are spawned over stdio by the official MCP Python SDK (`mcp`,
`pip install mcp`), as a new user's client would spawn them, and asked the
same things on the same `bench` database (100,000 `orders` rows, 12
columns, created here and dropped afterwards):

1. spawn -> `initialize` result, median of several spawns;
2. a point SELECT (`WHERE order_id = k`, k varying), whole `tools/call`
   round trip as the client sees it, median; and a `ping` through the
   same client, the floor under every call;
3. `SELECT * FROM orders WHERE order_id <= 10000` (10,000 rows), whole
   call, median;
4. peak resident memory of the server process over that session
   (`VmHWM` from /proc, read just before the client closes it), and its
   resident memory right after `initialize` (idle);
5. figures 2 and 3 again over bare pipes, JSON-RPC lines written and read
   without an SDK: the server's and the pipe's share of the whole call,
   without the client's parsing and schema validation (the official SDK
   validates structured content against the tool's output schema; the
   reference server declares none).

Both servers are spawned alternately, and then run side by side, one
session each, called in turn with the same SQL (the same k), so a change in
the machine's load moves both sides alike. Each figure is printed for both
servers with the ratio (reference /
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
import contextlib
import json
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


ORDER = [
    "spawn -> initialize, median (ms)",
    "point SELECT, whole call, median (ms)",
    "ping through the SDK, median (ms)",
    "10k-row SELECT, whole call, median (ms)",
    "peak resident over the session (MiB)",
    "resident after initialize (MiB)",
    "10k-row answer text (KiB)",
    "point SELECT, bare pipe, median (ms)",
    "10k-row SELECT, bare pipe, median (ms)",
    "10k-row whole answer (KiB)",
]


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


class Session:
    """One spawned server with its client session, for interleaved calls."""

    def __init__(self, server):
        self.server = server
        self.stack = contextlib.AsyncExitStack()
        self.session = None
        self.pid = None

    async def open(self):
        before = set(children_of(os.getpid()))
        read, write = await self.stack.enter_async_context(stdio_client(self.server.params))
        self.session = await self.stack.enter_async_context(ClientSession(read, write))
        await self.session.initialize()
        pids = [p for p in children_of(os.getpid()) if p not in before]
        if len(pids) != 1:
            raise SystemExit(f"{self.server.name}: expected one server process, found {pids}")
        self.pid = pids[0]

    async def call(self, sql, limit):
        return await call(self.session, self.server, sql, limit)


class RawPipe:
    """One spawned server spoken to as bare JSON-RPC lines over its pipes,
    without an SDK: what the server and the pipe cost, without the client's
    parsing and schema validation."""

    def __init__(self, server):
        self.server = server
        self.process = None
        self.next_id = 0

    async def open(self):
        params = self.server.params
        self.process = await asyncio.create_subprocess_exec(
            params.command, *params.args, env=params.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=1 << 30)
        await self.request("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "side-by-side", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.process.stdin.write(json.dumps(message).encode() + b"\n")

    async def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise SystemExit(f"{self.server.name} closed its output")
            # Only the answer is parsed; notifications are skipped unread.
            if b'"id"' in line:
                answer = json.loads(line)
                if answer.get("id") == self.next_id:
                    return answer, len(line)

    async def call(self, sql, limit):
        started = time.perf_counter()
        answer, size = await self.request("tools/call", {
            "name": self.server.tool, "arguments": self.server.arguments(sql, limit)})
        elapsed = time.perf_counter() - started
        if "error" in answer or answer["result"].get("isError"):
            raise SystemExit(f"{self.server.name}: {sql!r} failed: {answer}")
        return elapsed, size

    async def close(self):
        self.process.stdin.close()
        await self.process.wait()


async def measure_raw(servers, args):
    """The point and 10k-row calls over bare pipes, alternating servers."""
    figures = {server.name: {} for server in servers}
    pipes = [RawPipe(server) for server in servers]
    try:
        for pipe in pipes:
            await pipe.open()
        rng = random.Random(13)
        point = {server.name: [] for server in servers}
        for i in range(args.warmup + args.points):
            k = rng.randint(1, 100000)
            for pipe in pipes:
                elapsed, _ = await pipe.call(f"SELECT * FROM orders WHERE order_id = {k}", 1)
                if i >= args.warmup:
                    point[pipe.server.name].append(elapsed)
        wide = {server.name: [] for server in servers}
        size = {}
        for _ in range(args.wide):
            for pipe in pipes:
                elapsed, size[pipe.server.name] = await pipe.call(
                    "SELECT * FROM orders WHERE order_id <= 10000", 10000)
                wide[pipe.server.name].append(elapsed)
        for server in servers:
            name = server.name
            figures[name]["point SELECT, bare pipe, median (ms)"] = (
                statistics.median(point[name]) * 1000)
            figures[name]["10k-row SELECT, bare pipe, median (ms)"] = (
                statistics.median(wide[name]) * 1000)
            figures[name]["10k-row whole answer (KiB)"] = size[name] / 1024
    finally:
        for pipe in pipes:
            await pipe.close()
    return figures


async def measure(servers, args):
    """Every figure for every server. Spawns alternate between the servers,
    and so do the calls of one open session each, so a change in the
    machine's load moves both sides alike."""
    figures = {server.name: {} for server in servers}
    spawns = {server.name: [] for server in servers}
    for _ in range(args.spawns):
        for server in servers:
            spawns[server.name].append(await spawn_once(server))
    sessions = [Session(server) for server in servers]
    try:
        for session in sessions:
            await session.open()
            figures[session.server.name]["resident after initialize (MiB)"] = (
                memory_kib(session.pid, "VmRSS") / 1024)
        rng = random.Random(12)
        for _ in range(args.warmup):
            k = rng.randint(1, 100000)
            for session in sessions:
                await session.call(f"SELECT * FROM orders WHERE order_id = {k}", 1)
        point = {server.name: [] for server in servers}
        for _ in range(args.points):
            k = rng.randint(1, 100000)
            for session in sessions:
                elapsed, _ = await session.call(f"SELECT * FROM orders WHERE order_id = {k}", 1)
                point[session.server.name].append(elapsed)
        # The floor under every call through the SDK: a `ping` request and
        # its empty answer, through the same client, pipes and server loop.
        ping = {server.name: [] for server in servers}
        for _ in range(args.points):
            for session in sessions:
                started = time.perf_counter()
                await session.session.send_ping()
                ping[session.server.name].append(time.perf_counter() - started)
        wide = {server.name: [] for server in servers}
        size = {}
        for _ in range(args.wide):
            for session in sessions:
                elapsed, result = await session.call(
                    "SELECT * FROM orders WHERE order_id <= 10000", 10000)
                wide[session.server.name].append(elapsed)
                size[session.server.name] = sum(
                    len(c.text) for c in result.content if hasattr(c, "text"))
        for session in sessions:
            name = session.server.name
            figures[name]["spawn -> initialize, median (ms)"] = statistics.median(spawns[name]) * 1000
            figures[name]["point SELECT, whole call, median (ms)"] = (
                statistics.median(point[name]) * 1000)
            figures[name]["ping through the SDK, median (ms)"] = (
                statistics.median(ping[name]) * 1000)
            figures[name]["10k-row SELECT, whole call, median (ms)"] = (
                statistics.median(wide[name]) * 1000)
            figures[name]["peak resident over the session (MiB)"] = (
                memory_kib(session.pid, "VmHWM") / 1024)
            figures[name]["10k-row answer text (KiB)"] = size[name] / 1024
    finally:
        for session in reversed(sessions):
            await session.stack.aclose()
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
        results = asyncio.run(measure(servers, args))
        for name, figures in asyncio.run(measure_raw(servers, args)).items():
            results[name].update(figures)
        ours, theirs = results["sqlwarden"], results["reference"]
        print(f"{'figure':<42} {'sqlwarden':>10} {'reference':>10} {'ratio':>7}")
        for figure, value in sorted(ours.items(), key=lambda item: ORDER.index(item[0])):
            other = theirs[figure]
            ratio = other / value if value else float("nan")
            print(f"{figure:<42} {value:>10.2f} {other:>10.2f} {ratio:>6.2f}x")
    finally:
        psql(args, "postgres", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
