// The official MCP TypeScript SDK as a client of `sqlwarden serve --http`,
// through its StreamableHTTPClientTransport with a bearer token
// (SQLWARDEN_URL, SQLWARDEN_TOKEN). Run by `tests/it/http.rs`; lists the
// tools, asks for the distinct regions of `orders` (narrowed by the
// caller's row policy) and a denied column, and prints one JSON report.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

const transport = new StreamableHTTPClientTransport(new URL(process.env.SQLWARDEN_URL), {
  requestInit: { headers: { Authorization: `Bearer ${process.env.SQLWARDEN_TOKEN}` } },
});
const client = new Client({ name: "sqlwarden-ts-http-test", version: "1.0.0" });
await client.connect(transport);
const report = { session: transport.sessionId ?? null };
const { tools } = await client.listTools();
check(tools.length === 17, `17 tools, got ${tools.length}`);
const result = await client.callTool({
  name: "run_select_sql",
  arguments: { source: "demo", sql: "SELECT DISTINCT region_code FROM orders ORDER BY region_code" },
});
check(!result.isError, `query ok: ${JSON.stringify(result.structuredContent)}`);
report.regions = result.structuredContent.data.rows.map((r) => (Array.isArray(r) ? r[0] : r.region_code));
const refused = await client.callTool({ name: "run_select_sql", arguments: { source: "demo", sql: "SELECT phone FROM customers" } });
check(refused.isError, "denied column refused");
report.refusal = refused.structuredContent.error.code;
await transport.terminateSession();
await client.close();
console.log(JSON.stringify(report));
