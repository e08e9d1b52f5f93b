// Resolves an unpacked MCPB bundle's launch command exactly as Claude
// Desktop does: with getMcpConfigForManifest from the official
// @anthropic-ai/mcpb package (the code Claude Desktop loads bundles with),
// which substitutes ${__dirname} and the user's ${user_config.*} values
// into mcp_config's command, args and env.
//
// Usage: node bundle_config.mjs UNPACKED_DIR USER_CONFIG_JSON
// Prints the resolved {command, args, env} as one JSON line; exits 1 when
// the manifest has required settings the user config lacks.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [dir, userConfigJson] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: dir,
  systemDirs: { HOME: os.homedir(), DESKTOP: path.join(os.homedir(), "Desktop"), DOCUMENTS: path.join(os.homedir(), "Documents"), DOWNLOADS: path.join(os.homedir(), "Downloads") },
  userConfig: JSON.parse(userConfigJson),
  pathSeparator: path.sep,
  logger: { log: () => {}, warn: (m) => console.error(m), error: (m) => console.error(m) },
});
if (!config) {
  console.error("the bundle's required settings are not all filled in");
  process.exit(1);
}
console.log(JSON.stringify({ command: config.command, args: config.args ?? [], env: config.env ?? {} }));
