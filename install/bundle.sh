#!/bin/sh
# Build a Claude Desktop bundle (.mcpb) of sqlwarden for this platform with
# the official packer (npm @anthropic-ai/mcpb): the binary, and a manifest
# (install/bundle/manifest.json) whose form asks for the config directory
# and connection CONNECTION's host, port, database, user and password (kept
# in the OS keychain). Open the .mcpb with Claude Desktop to install it.
# Options:
#
#   --binary FILE       the sqlwarden to bundle (default: cargo build --release)
#   --connection NAME   the connections.yaml entry the form fills in
#                       (default: warehouse; letters, digits, - and _)
#   --out FILE          the bundle (default: target/bundle/sqlwarden-VERSION-OS-ARCH.mcpb)
#   --mcpb FILE         the mcpb CLI (default: $MCPB, target/clients/node's
#                       (tests/clients/setup.sh installs it), else mcpb on PATH)
#   --no-strip          keep the binary's symbols
#   -h, --help          this text
set -eu

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

binary=""
connection="warehouse"
out=""
mcpb="${MCPB:-}"
strip_symbols=yes

need_value() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) need_value "$@"; binary="$2"; shift 2 ;;
    --connection) need_value "$@"; connection="$2"; shift 2 ;;
    --out) need_value "$@"; out="$2"; shift 2 ;;
    --mcpb) need_value "$@"; mcpb="$2"; shift 2 ;;
    --no-strip) strip_symbols=no; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

# The name goes into variable names and JSON unquoted: keep it plain.
case "$connection" in
  ""|*[!A-Za-z0-9_-]*) die "--connection takes letters, digits, '-' and '_' only, not '$connection'" ;;
esac
# SQLWARDEN_CONN_<VAR>_HOST: upper case, '-' as '_' (sqlwarden's rule,
# src/config/env_fields.rs).
var=$(printf '%s' "$connection" | tr 'a-z-' 'A-Z_')

repo=$(cd "$(dirname "$0")/.." && pwd)

case "$(uname -s)" in
  Linux) platform=linux; exe=sqlwarden ;;
  Darwin) platform=darwin; exe=sqlwarden ;;
  MINGW*|MSYS*|CYGWIN*) platform=win32; exe=sqlwarden.exe ;;
  *) die "no bundle platform for $(uname -s); Claude Desktop runs on macOS and Windows (and linux for testing)" ;;
esac
arch=$(uname -m)

if [ -z "$binary" ]; then
  command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust from https://rustup.rs, or pass --binary FILE"
  say "==> Building sqlwarden (cargo build --release --locked)"
  (cd "$repo" && cargo build --release --locked)
  binary="$repo/target/release/$exe"
fi
[ -f "$binary" ] || die "no binary at '$binary'"

version_line=$("$binary" --version) || die "'$binary --version' failed"
version=$(printf '%s\n' "$version_line" | awk '{print $2}')
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) die "'$binary --version' printed '$version_line', not 'sqlwarden X.Y.Z …'" ;;
esac

if [ -z "$mcpb" ]; then
  if [ -x "$repo/target/clients/node/node_modules/.bin/mcpb" ]; then
    mcpb="$repo/target/clients/node/node_modules/.bin/mcpb"
  elif command -v mcpb >/dev/null 2>&1; then
    mcpb=mcpb
  else
    die "the mcpb CLI was not found; run tests/clients/setup.sh, or 'npm install -g @anthropic-ai/mcpb@2.1.2', or pass --mcpb FILE"
  fi
fi

[ -n "$out" ] || out="$repo/target/bundle/sqlwarden-$version-$platform-$arch.mcpb"
mkdir -p "$(dirname "$out")"
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir "$stage/server"
cp "$binary" "$stage/server/$exe"
chmod 755 "$stage/server/$exe"
if [ "$strip_symbols" = yes ] && [ "$platform" != win32 ] && command -v strip >/dev/null 2>&1; then
  # Symbols are for debugging; the bundle is for running.
  strip "$stage/server/$exe" 2>/dev/null || say "warning: strip failed; bundling the binary as it is"
fi
sed -e "s/@VERSION@/$version/g" \
    -e "s/@CONNECTION@/$connection/g" \
    -e "s/@VAR@/$var/g" \
    -e "s/@EXE@/$exe/g" \
    -e "s/@PLATFORM@/$platform/g" \
    "$repo/install/bundle/manifest.json" > "$stage/manifest.json"

say "==> Validating the manifest ($("$mcpb" --version 2>/dev/null || echo mcpb))"
"$mcpb" validate "$stage/manifest.json"
say "==> Packing $out"
"$mcpb" pack "$stage" "$out" >/dev/null
say "Built $out (sqlwarden $version, $platform $arch, connection \`$connection\`)."
say "Open it with Claude Desktop (double-click, or Settings > Extensions) and fill in the form."
