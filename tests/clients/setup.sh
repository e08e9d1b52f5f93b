#!/usr/bin/env bash
# Installs the real MCP clients and tools the integration tests drive into
# target/clients/, nothing outside the repo, every version pinned:
# - the official Python SDK (PyPI `mcp`) in a virtualenv (tests/it/clients.rs,
#   tests/it/bundle.rs);
# - the official TypeScript SDK (npm `@modelcontextprotocol/sdk`) and the
#   MCPB packer (npm `@anthropic-ai/mcpb`) in a local node_modules
#   (tests/it/clients.rs, tests/it/bundle.rs, install/bundle.sh);
# - the MCP conformance suite (npm `@modelcontextprotocol/conformance`),
#   which needs Node >= 22, with a Node 22 binary from npm (the `node`
#   package), and the stdio-to-HTTP bridge it runs through (PyPI
#   `mcp-proxy`) in a virtualenv of its own (tests/it/conformance.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=target/clients
mkdir -p "$dir/node" "$dir/conformance"
if [ ! -x "$dir/venv/bin/python" ] || ! "$dir/venv/bin/python" -c 'import mcp' 2>/dev/null; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q 'mcp==2.3.0'
fi
if [ ! -d "$dir/node/node_modules/@modelcontextprotocol/sdk" ] || [ ! -d "$dir/node/node_modules/@anthropic-ai/mcpb" ]; then
  (cd "$dir/node" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install -q --no-fund --no-audit @modelcontextprotocol/sdk@1.32.2 @anthropic-ai/mcpb@2.1.2)
fi
# The bridge pins its own `mcp` (it is built on the SDK's 1.x server),
# apart from the client SDK above.
if [ ! -x "$dir/bridge/bin/mcp-proxy" ]; then
  python3 -m venv "$dir/bridge"
  "$dir/bridge/bin/pip" install -q 'mcp-proxy==0.13.0' 'mcp==1.30.0'
fi
if [ ! -x "$dir/conformance/node_modules/.bin/node" ] || [ ! -d "$dir/conformance/node_modules/@modelcontextprotocol/conformance" ]; then
  (cd "$dir/conformance" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install -q --no-fund --no-audit node@22.23.3 @modelcontextprotocol/conformance@0.1.16)
fi
# The `node` package fetches the platform's binary in an install script;
# say so plainly if npm did not run it.
"$dir/conformance/node_modules/.bin/node" --version >/dev/null 2>&1 || {
  echo "setup.sh: Node 22 from npm's \`node\` package did not install (npm skipped its install script?); remove $dir/conformance and run this again" >&2
  exit 1
}
