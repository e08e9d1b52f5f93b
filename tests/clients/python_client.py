"""The official MCP Python SDK as a client of `sqlwarden serve` over stdio.

Run by `tests/it/clients.rs` against the demo warehouse; exits non-zero on
the first failed check. The SDK validates every successful tool result
against the tool's declared outputSchema itself; refusals (isError) are
validated here with the SDK's own validator.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client


def check(condition, what):
    if not condition:
        raise AssertionError(what)


async def main():
    server = StdioServerParameters(
        command=os.environ["SQLWARDEN_BIN"],
        args=["serve"],
        env={k: os.environ[k] for k in ("SQLWARDEN_CONFIG_DIR", "SQLWARDEN_AUDIT_DIR", "PATH", "HOME") if k in os.environ},
    )
    logs = []
    progress = []

    async def on_log(params):
        logs.append(params)

    async def on_progress(done, total, message):
        progress.append((done, message))

    report = {}
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write, logging_callback=on_log) as session:
            init = await session.initialize()
            caps = init.capabilities
            for name in ("tools", "resources", "prompts", "completions", "logging"):
                check(getattr(caps, name) is not None, f"capability {name} declared")
            report["protocol"] = init.protocol_version

            await session.set_logging_level("info")

            tools = (await session.list_tools()).tools
            check(all(t.output_schema for t in tools), "every tool declares outputSchema")
            for t in tools:
                for prop, schema in t.input_schema.get("properties", {}).items():
                    check(not isinstance(schema.get("type"), list), f"{t.name}.{prop} has a single type")

            # Successes: the SDK validates structuredContent against outputSchema.
            calls = [
                ("list_sources", {}),
                ("list_allowed_tables", {"source": "demo"}),
                ("describe_table", {"table": "public.orders"}),
                ("get_join_paths", {"table": "public.orders"}),
                ("list_partitions", {"table": "public.orders", "limit": 2}),
                ("preview_table", {"table": "public.orders", "limit": 2}),
                ("run_select_sql", {"sql": "SELECT region_code, count(order_id) AS n FROM orders GROUP BY region_code", "limit": 2}),
                ("estimate_query_cost", {"sql": "SELECT order_id FROM orders"}),
                ("list_domains", {}),
                ("search_business_terms", {"keyword": "销售额"}),
                ("list_metrics", {}),
                ("get_metric_definition", {"metric": "revenue"}),
                ("get_dimensions", {"metric": "revenue"}),
                ("generate_metric_sql", {"metric": "revenue", "dimensions": ["region"]}),
                ("validate_metric_query", {"metric": "revenue", "dimensions": ["salary"]}),
                ("run_metric_query", {"metric": "revenue", "dimensions": ["region"]}),
                ("query_table", {"table": "public.orders", "columns": ["order_id", "amount"], "limit": 2}),
            ]
            # The test fixture has a second source, so the tools that take
            # one are told which.
            takes_source = {t.name for t in tools if "source" in t.input_schema.get("properties", {})}
            for name, args in calls:
                if name in takes_source:
                    args = {"source": "demo", **args}
                result = await session.call_tool(name, args)
                check(not result.is_error, f"{name} ok: {result.structured_content}")
                check(result.structured_content["ok"] is True, f"{name} envelope ok")
            report["validated_successes"] = len(calls)

            # Refusals: validated with the SDK's validator.
            refusals = [
                ("run_select_sql", {"sql": "SELECT phone FROM customers"}, "COLUMN_NOT_ALLOWED"),
                ("run_select_sql", {"sql": "SELECT salary FROM employees"}, "TABLE_NOT_ALLOWED"),
                ("describe_table", {"table": "public.employees"}, "TABLE_NOT_ALLOWED"),
                ("preview_table", {"table": "public.orders", "limit": "2"}, "INVALID_ARGUMENT"),
                ("get_metric_definition", {"metric": "nope"}, "METRIC_NOT_FOUND"),
                ("no_such_tool", {}, "INVALID_ARGUMENT"),
            ]
            for name, args, code in refusals:
                if name in takes_source:
                    args = {"source": "demo", **args}
                result = await session.call_tool(name, args)
                check(result.is_error, f"{name} refused")
                check(result.structured_content["error"]["code"] == code, f"{name}: {result.structured_content}")
                if name != "no_such_tool":
                    await session.validate_tool_result(name, result.model_copy(update={"is_error": False}))
            report["validated_refusals"] = len(refusals)

            # Resources: every allowed table and the catalog, nothing else.
            resources = []
            cursor = None
            while True:
                page = await session.list_resources(params=types.PaginatedRequestParams(cursor=cursor))
                resources += page.resources
                cursor = page.next_cursor
                if not cursor:
                    break
            uris = [str(r.uri) for r in resources]
            check("sqlwarden://demo/tables/public.orders" in uris, f"orders listed: {uris}")
            check("sqlwarden://catalog" in uris, "catalog listed")
            check(not any("employees" in u for u in uris), "employees never listed")
            orders = await session.read_resource("sqlwarden://demo/tables/public.orders")
            body = json.loads(orders.contents[0].text)
            check(any(c["name"] == "amount" for c in body["columns"]), "orders columns")
            check(body["approved_joins"] and body["approved_joins"][0]["left_table"], "orders joins")
            customers = json.loads((await session.read_resource("sqlwarden://demo/tables/public.customers")).contents[0].text)
            check(not any(c["name"] == "phone" for c in customers["columns"]), "denied column hidden")
            catalog = json.loads((await session.read_resource("sqlwarden://catalog")).contents[0].text)
            check(catalog["metrics"] and catalog["terms"] and catalog["domains"], "catalog parts")
            for hostile in [
                "sqlwarden://demo/tables/public.employees",
                "sqlwarden://demo/tables/PUBLIC.ORDERS",
                "sqlwarden://demo/tables/public%2Eemployees",
                "sqlwarden://demo/tables/public.orders/../public.employees",
            ]:
                try:
                    await session.read_resource(hostile)
                except Exception as e:  # noqa: BLE001 - any MCP error is the refusal
                    check("No resource" in str(e), f"{hostile}: {e}")
                else:
                    raise AssertionError(f"{hostile} was read")
            templates = (await session.list_resource_templates()).resource_templates
            check([t.uri_template for t in templates] == ["sqlwarden://{source}/tables/{table}"], "template")
            report["resources"] = len(uris)

            # Prompts and completion.
            prompts = (await session.list_prompts()).prompts
            names = [p.name for p in prompts]
            check(names == ["explore_table", "answer_with_metrics", "explain_refusal"], f"prompts {names}")
            got = await session.get_prompt("explore_table", {"source": "demo", "table": "public.orders"})
            check("describe_table" in got.messages[0].content.text, "explore prompt")
            try:
                await session.get_prompt("explore_table", {"source": "demo", "table": "public.employees"})
            except Exception:  # noqa: BLE001
                pass
            else:
                raise AssertionError("a hidden table made a prompt")
            done = await session.complete(types.PromptReference(name="explore_table"), {"name": "table", "value": "public.c"}, {"source": "demo"})
            check(done.completion.values == ["public.customers"], f"table completion {done.completion.values}")
            done = await session.complete(types.PromptReference(name="answer_with_metrics"), {"name": "metric", "value": "rev"})
            check("revenue" in done.completion.values, f"metric completion {done.completion.values}")
            done = await session.complete(types.ResourceTemplateReference(uri="sqlwarden://{source}/tables/{table}"), {"name": "source", "value": "d"})
            check(done.completion.values == ["demo", "down"] or done.completion.values == ["demo"], f"source completion {done.completion.values}")
            done = await session.complete(types.ResourceTemplateReference(uri="sqlwarden://{source}/tables/{table}"), {"name": "table", "value": "public.e"}, {"source": "demo"})
            check(done.completion.values == [], f"employees not completed {done.completion.values}")

            # Progress: a PostgreSQL query over a second reports elapsed time and rows.
            result = await session.call_tool(
                "run_select_sql",
                {"source": "demo", "sql": "SELECT count(order_id) AS n FROM orders, generate_series(1, 60000) AS g"},
                progress_callback=on_progress,
            )
            report["slow_query_code"] = (result.structured_content.get("error") or {}).get("code")
            check(progress, "progress notifications arrived")
            check("row(s) fetched" in progress[0][1], f"progress message {progress[0]}")
            check([p[0] for p in progress] == sorted(set(p[0] for p in progress)), "progress grows")
            report["progress"] = [p[1] for p in progress]

            await asyncio.sleep(0.2)
            check(logs, "log notifications arrived")
            text = json.dumps([l.data for l in logs], ensure_ascii=False)
            for secret in ("SELECT", "phone", "salary", "password", "销售额"):
                check(secret not in text, f"log leaks {secret}")
            report["logs"] = len(logs)
    print(json.dumps(report, ensure_ascii=False))


asyncio.run(main())
