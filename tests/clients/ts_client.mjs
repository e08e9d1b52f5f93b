// The official MCP TypeScript SDK as a client of `sqlwarden serve` over
// stdio. Run by `tests/it/clients.rs` against the demo warehouse; exits
// non-zero on the first failed check. The SDK's Client validates every
// successful tool result against the tool's declared outputSchema.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

const env = {};
for (const k of ["SQLWARDEN_CONFIG_DIR", "SQLWARDEN_AUDIT_DIR", "PATH", "HOME"]) {
  if (process.env[k]) env[k] = process.env[k];
}
const transport = new StdioClientTransport({ command: process.env.SQLWARDEN_BIN, args: ["serve"], env, stderr: "ignore" });
const client = new Client({ name: "sqlwarden-ts-test", version: "1.0.0" });
const logs = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
await client.connect(transport);
const report = {};
const caps = client.getServerCapabilities();
for (const c of ["tools", "resources", "prompts", "completions", "logging"]) check(caps[c], `capability ${c}`);
await client.setLoggingLevel("info");

const { tools } = await client.listTools();
check(tools.every((t) => t.outputSchema), "outputSchema on every tool");
const calls = [
  ["list_sources", {}],
  ["describe_table", { table: "public.orders" }],
  ["run_select_sql", { sql: "SELECT region_code, count(order_id) AS n FROM orders GROUP BY region_code", limit: 2 }],
  ["estimate_query_cost", { sql: "SELECT order_id FROM orders" }],
  ["search_business_terms", { keyword: "revenue" }],
  ["get_metric_definition", { metric: "revenue" }],
  ["run_metric_query", { metric: "revenue", dimensions: ["region"] }],
  ["query_table", { table: "public.orders", columns: ["order_id", "amount"], limit: 2 }],
];
// The test fixture has a second source, so the tools that take one are told which.
const takesSource = new Set(tools.filter((t) => t.inputSchema.properties?.source).map((t) => t.name));
for (const [name, given] of calls) {
  const args = takesSource.has(name) ? { source: "demo", ...given } : given;
  const result = await client.callTool({ name, arguments: args });
  check(!result.isError && result.structuredContent.ok === true, `${name}: ${JSON.stringify(result.structuredContent)}`);
}
report.validated_successes = calls.length;
const refused = await client.callTool({ name: "run_select_sql", arguments: { source: "demo", sql: "SELECT phone FROM customers" } });
check(refused.isError && refused.structuredContent.error.code === "COLUMN_NOT_ALLOWED", "refusal code");

const { resources } = await client.listResources();
const uris = resources.map((r) => r.uri);
check(uris.includes("sqlwarden://demo/tables/public.orders") && uris.includes("sqlwarden://catalog"), `resources ${uris}`);
check(!uris.some((u) => u.includes("employees")), "employees unlisted");
const orders = JSON.parse((await client.readResource({ uri: "sqlwarden://demo/tables/public.orders" })).contents[0].text);
check(orders.columns.some((c) => c.name === "amount"), "orders columns");
let hidden = false;
try {
  await client.readResource({ uri: "sqlwarden://demo/tables/public.employees" });
} catch (e) {
  hidden = String(e).includes("No resource");
}
check(hidden, "employees not readable");
const { resourceTemplates } = await client.listResourceTemplates();
check(resourceTemplates.length === 1, "one template");
report.resources = uris.length;

const { prompts } = await client.listPrompts();
check(prompts.map((p) => p.name).join() === "explore_table,answer_with_metrics,explain_refusal", "prompts");
const prompt = await client.getPrompt({ name: "explain_refusal", arguments: { code: "JOIN_NOT_APPROVED" } });
check(prompt.messages[0].content.text.includes("get_join_paths"), "refusal prompt");
const done = await client.complete({ ref: { type: "ref/prompt", name: "answer_with_metrics" }, argument: { name: "metric", value: "re" } });
check(done.completion.values.includes("revenue"), `metric completion ${done.completion.values}`);

const progress = [];
await client.callTool(
  { name: "run_select_sql", arguments: { source: "demo", sql: "SELECT count(order_id) AS n FROM orders, generate_series(1, 60000) AS g" } },
  undefined,
  { onprogress: (p) => progress.push(p), timeout: 60000 },
);
check(progress.length > 0 && progress[0].message.includes("row(s) fetched"), `progress ${JSON.stringify(progress)}`);
report.progress = progress.length;
await new Promise((r) => setTimeout(r, 200));
check(logs.length > 0, "logs");
check(!JSON.stringify(logs).includes("SELECT"), "no SQL in logs");
report.logs = logs.length;
await client.close();
console.log(JSON.stringify(report));
