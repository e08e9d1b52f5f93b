#!/usr/bin/env bash
# Installs the real MCP clients the integration tests drive
# (tests/it/clients.rs) into target/clients/, nothing outside the repo:
# the official Python SDK (PyPI `mcp`) in a virtualenv, and the official
# TypeScript SDK (npm `@modelcontextprotocol/sdk`) with the MCPB packer
# (npm `@anthropic-ai/mcpb`) in a local node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=target/clients
mkdir -p "$dir/node"
if [ ! -x "$dir/venv/bin/python" ] || ! "$dir/venv/bin/python" -c 'import mcp' 2>/dev/null; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q 'mcp==2.3.0'
fi
if [ ! -d "$dir/node/node_modules/@modelcontextprotocol/sdk" ] || [ ! -d "$dir/node/node_modules/@anthropic-ai/mcpb" ]; then
  (cd "$dir/node" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install -q --no-fund --no-audit @modelcontextprotocol/sdk@1.32.2 @anthropic-ai/mcpb@2.1.2)
fi
