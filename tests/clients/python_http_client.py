"""The official MCP Python SDK as a client of `sqlwarden serve --http`.

Run by `tests/it/http.rs` with SQLWARDEN_URL and SQLWARDEN_TOKEN; connects
with the SDK's streamable HTTP client and a bearer token, lists the tools,
asks for the distinct regions of `orders` (which the caller's row policy
narrows) and for a denied column, and prints one JSON report. Exits
non-zero on the first failed check.
"""

import asyncio
import json
import os

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def check(condition, what):
    if not condition:
        raise AssertionError(what)


if os.environ.get("SQLWARDEN_CLIENT_DEBUG"):
    import logging
    import sys

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


async def main():
    url = os.environ["SQLWARDEN_URL"]
    headers = {"Authorization": f"Bearer {os.environ['SQLWARDEN_TOKEN']}"}
    report = {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                report["protocol"] = init.protocol_version
                tools = (await session.list_tools()).tools
                check(len(tools) == 17, f"17 tools, got {len(tools)}")
                result = await session.call_tool(
                    "run_select_sql",
                    {"source": "demo", "sql": "SELECT DISTINCT region_code FROM orders ORDER BY region_code"},
                )
                check(not result.is_error, f"query ok: {result.structured_content}")
                rows = result.structured_content["data"]["rows"]
                report["regions"] = [r[0] if isinstance(r, list) else r["region_code"] for r in rows]
                refused = await session.call_tool("run_select_sql", {"source": "demo", "sql": "SELECT phone FROM customers"})
                check(refused.is_error, "denied column refused")
                report["refusal"] = refused.structured_content["error"]["code"]
    print(json.dumps(report))


asyncio.run(main())
