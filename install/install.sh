#!/bin/sh
# Install sqlwarden from this checkout (Linux, macOS), write the example
# config unless one exists, and register it with an MCP client.
#
# Safe to run again: cargo reinstalls the binary, an existing config is
# left as it is, and a registration that is already there is reported as
# such. Options:
#
#   --register claude-desktop|claude-code|none   skip the question
#   --name NAME            client entry name (default: sqlwarden)
#   --scope local|user|project   Claude Code scope (default: user)
#   --config-dir DIR       profile directory (default: the user's)
#   --root DIR             cargo install root (default: cargo's, ~/.cargo)
#   --debug                debug build (faster to build, slower to run)
#   -h, --help             this text
set -eu

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

register=""
name="sqlwarden"
scope="user"
config_dir=""
root=""
debug=""

need_value() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --register) need_value "$@"; register="$2"; shift 2 ;;
    --name) need_value "$@"; name="$2"; shift 2 ;;
    --scope) need_value "$@"; scope="$2"; shift 2 ;;
    --config-dir) need_value "$@"; config_dir="$2"; shift 2 ;;
    --root) need_value "$@"; root="$2"; shift 2 ;;
    --debug) debug="--debug"; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

case "$register" in
  ""|claude-desktop|claude-code|none) ;;
  *) die "--register takes claude-desktop, claude-code or none, not '$register'" ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust from https://rustup.rs and run this again"

say "==> Building and installing sqlwarden (cargo install --locked --path $repo)"
# Word splitting of $debug is intended: it is empty or one flag.
# shellcheck disable=SC2086
if [ -n "$root" ]; then
  cargo install --locked --path "$repo" --root "$root" $debug
else
  cargo install --locked --path "$repo" $debug
fi

bin_dir="${root:-${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}}/bin"
bin="$bin_dir/sqlwarden"
[ -x "$bin" ] || die "cargo reported success but $bin is missing"
say "==> Installed $("$bin" --version)"

# Every later command acts on the same profile.
run() {
  if [ -n "$config_dir" ]; then
    "$bin" --config-dir "$config_dir" "$@"
  else
    "$bin" "$@"
  fi
}

say "==> Writing the example config"
# `init` exits 1, changing nothing, when config files already exist.
status=0
init_err=$(run init 2>&1 >/dev/null) || status=$?
case "$status" in
  0) say "    done; edit connections.yaml and policy.yaml, then run 'sqlwarden check'" ;;
  1) say "    a config already exists; left as it is" ;;
  *) printf '%s\n' "$init_err" >&2; die "sqlwarden init failed" ;;
esac

if [ -z "$register" ]; then
  if [ -t 0 ]; then
    say ""
    say "Register sqlwarden with an MCP client?"
    say "  1) Claude Desktop"
    say "  2) Claude Code"
    say "  3) not now"
    printf 'Choice [3]: '
    read -r choice || choice=3
    case "$choice" in
      1) register="claude-desktop" ;;
      2) register="claude-code" ;;
      *) register="none" ;;
    esac
  else
    register="none"
  fi
fi

case "$register" in
  claude-desktop)
    say "==> Registering with Claude Desktop"
    run install claude-desktop --name "$name"
    ;;
  claude-code)
    say "==> Registering with Claude Code"
    run install claude-code --scope "$scope" --name "$name"
    ;;
  none)
    say "==> Not registering; later: sqlwarden install claude-desktop (or claude-code)"
    ;;
esac

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "note: $bin_dir is not on PATH; add it to run 'sqlwarden' by name" ;;
esac
