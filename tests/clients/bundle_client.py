"""The official MCP Python SDK as Claude Desktop's stand-in for a bundle:
it launches the command, arguments and environment an unpacked MCPB bundle
resolves to (tests/clients/bundle_config.mjs) and talks to it over stdio.

Usage: python bundle_client.py LAUNCH_JSON rows|wrong-password

Run by tests/it/bundle.rs. Prints one JSON report line: what the session
saw, and `messages`, every JSON-RPC message the server wrote to stdout,
so the test can search all of it for the password. Exits non-zero on the
first failed check. The server's stderr goes to this process's stderr.
"""

import json
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def check(condition, what):
    if not condition:
        raise AssertionError(what)


async def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        launch = json.load(f)
    mode = sys.argv[2]
    server = StdioServerParameters(command=launch["command"], args=launch["args"], env=launch["env"])
    messages = []
    logs = []
    report = {"mode": mode}

    async def on_log(params):
        logs.append(params.model_dump(mode="json"))

    async with stdio_client(server) as (read, write):
        # Every message from the server passes through here on its way to
        # the session, so the report holds all of stdout.
        relay_send, relay_read = anyio.create_memory_object_stream(64)

        async def record():
            async with relay_send:
                async for item in read:
                    if isinstance(item, Exception):
                        messages.append(repr(item))
                    else:
                        messages.append(item.message.model_dump_json(by_alias=True, exclude_none=True))
                    try:
                        await relay_send.send(item)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        pass  # the session is over; what the server writes is still recorded

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(record)
            async with ClientSession(relay_read, write, logging_callback=on_log) as session:
                init = await session.initialize()
                report["server"] = init.server_info.name
                await session.set_logging_level("debug")
                tools = (await session.list_tools()).tools
                report["tools"] = len(tools)
                check(any(t.name == "run_select_sql" for t in tools), "run_select_sql listed")
                sources = await session.call_tool("list_sources", {})
                check(not sources.is_error, f"list_sources: {sources.structured_content}")
                report["sources"] = [s["name"] for s in sources.structured_content["data"]["sources"]]
                result = await session.call_tool(
                    "run_select_sql",
                    {"sql": "SELECT region_code, count(order_id) AS n FROM orders GROUP BY region_code ORDER BY region_code"},
                )
                envelope = result.structured_content
                report["is_error"] = result.is_error
                report["code"] = (envelope.get("error") or {}).get("code")
                if mode == "rows":
                    check(not result.is_error, f"the query ran: {envelope}")
                    report["columns"] = [c["name"] for c in envelope["data"]["columns"]]
                    report["rows"] = envelope["data"]["rows"]
                else:
                    check(result.is_error, f"the query was refused: {envelope}")
                    report["message"] = envelope["error"]["message"]
                    report["hint"] = envelope["error"]["hint"]
            tasks.cancel_scope.cancel()
    report["logs"] = logs
    report["messages"] = messages
    print(json.dumps(report, ensure_ascii=False))


anyio.run(main)
