"""The official MCP Python SDK, given credentials `sqlwarden serve --http`
must refuse.

Run by `tests/it/http/binary.rs` with SQLWARDEN_URL and SQLWARDEN_CASES (a
JSON file: a list of {"name", "authorization"}, the `Authorization` header
to send or null for none). For each case the SDK's streamable HTTP client
connects with its own HTTP client carrying that header and calls
`initialize`; a response hook on that HTTP client notes every status and
`WWW-Authenticate` the SDK received. Prints one JSON report: per case, the
error the SDK raised (type, JSON-RPC code, message), the statuses, the
challenge, and the session id it was given (none, when refused).
"""

import asyncio
import json
import os

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def innermost(error):
    """The first leaf of an exception group (task groups wrap errors)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


async def attempt(url, case):
    seen = []

    async def note(response):
        seen.append(
            {
                "method": response.request.method,
                "status": response.status_code,
                "challenge": response.headers.get("www-authenticate"),
                "session": response.headers.get("mcp-session-id"),
            }
        )

    headers = {}
    if case["authorization"] is not None:
        headers["Authorization"] = case["authorization"]
    report = {"name": case["name"], "initialized": False}
    try:
        async with httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(30), event_hooks={"response": [note]}
        ) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    with anyio.fail_after(60):
                        await session.initialize()
                    report["initialized"] = True
                    report["tools"] = len((await session.list_tools()).tools)
    except BaseException as raised:  # noqa: BLE001 - the report says what it was
        error = innermost(raised)
        report["error"] = type(error).__name__
        if isinstance(error, MCPError):
            report["code"] = error.code
            report["message"] = error.message
        else:
            report["message"] = str(error)
    report["responses"] = seen
    return report


async def main():
    url = os.environ["SQLWARDEN_URL"]
    with open(os.environ["SQLWARDEN_CASES"]) as f:
        cases = json.load(f)
    print(json.dumps([await attempt(url, case) for case in cases]))


asyncio.run(main())
