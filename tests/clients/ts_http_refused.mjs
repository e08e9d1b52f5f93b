// The official MCP TypeScript SDK, given credentials `sqlwarden serve
// --http` must refuse. Run by `tests/it/http/binary.rs` with SQLWARDEN_URL
// and SQLWARDEN_CASES (a JSON file: a list of {name, authorization}, the
// `Authorization` header to send or null for none). For each case the
// SDK's StreamableHTTPClientTransport (no OAuth provider) connects with
// that header; prints one JSON report: per case, the error the SDK raised
// (its class, its `code`, which for a refused POST is the HTTP status, and
// its message), the `WWW-Authenticate` it was answered with, and the
// session id the transport holds (none, when refused).
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.SQLWARDEN_URL);
const cases = JSON.parse(readFileSync(process.env.SQLWARDEN_CASES, "utf8"));
const reports = [];
for (const { name, authorization } of cases) {
  const responses = [];
  // The SDK's own fetch, watched: what it was answered.
  const watched = async (input, init) => {
    const response = await fetch(input, init);
    responses.push({
      method: init?.method ?? "GET",
      status: response.status,
      challenge: response.headers.get("www-authenticate"),
      session: response.headers.get("mcp-session-id"),
    });
    return response;
  };
  const headers = authorization === null ? {} : { Authorization: authorization };
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: watched });
  const client = new Client({ name: "sqlwarden-ts-refused-test", version: "1.0.0" });
  const report = { name, initialized: false };
  try {
    await client.connect(transport);
    report.initialized = true;
    report.tools = (await client.listTools()).tools.length;
  } catch (error) {
    report.error = error?.constructor?.name ?? typeof error;
    report.code = error?.code ?? null;
    report.message = String(error?.message ?? error);
  }
  report.session = transport.sessionId ?? null;
  report.responses = responses;
  await client.close().catch(() => {});
  reports.push(report);
}
console.log(JSON.stringify(reports));
