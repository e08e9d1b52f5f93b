# Install sqlwarden from this checkout (Windows), write the example config
# unless one exists, and register it with an MCP client. The PowerShell
# twin of install.sh, with the same options and the same behaviour on a
# second run: the binary is reinstalled, an existing config is left as it
# is, and a registration that is already there is reported as such.
#
#   -Register claude-desktop|claude-code|none   skip the question
#   -Name NAME             client entry name (default: sqlwarden)
#   -Scope local|user|project   Claude Code scope (default: user)
#   -ConfigDir DIR         profile directory (default: the user's)
#   -Root DIR              cargo install root (default: cargo's)
#   -DebugBuild            debug build (faster to build, slower to run)
[CmdletBinding()]
param(
    [ValidateSet('', 'claude-desktop', 'claude-code', 'none')]
    [string]$Register = '',
    [string]$Name = 'sqlwarden',
    [ValidateSet('local', 'user', 'project')]
    [string]$Scope = 'user',
    [string]$ConfigDir = '',
    [string]$Root = '',
    [switch]$DebugBuild
)
$ErrorActionPreference = 'Stop'

$repo = Split-Path -Parent $PSScriptRoot
if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) {
    Write-Error 'cargo is not on PATH; install Rust from https://rustup.rs and run this again'
    exit 2
}

Write-Host "==> Building and installing sqlwarden (cargo install --locked --path $repo)"
$cargoArgs = @('install', '--locked', '--path', $repo)
if ($Root) { $cargoArgs += @('--root', $Root) }
if ($DebugBuild) { $cargoArgs += '--debug' }
& cargo @cargoArgs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

if ($Root) { $installRoot = $Root }
elseif ($env:CARGO_INSTALL_ROOT) { $installRoot = $env:CARGO_INSTALL_ROOT }
elseif ($env:CARGO_HOME) { $installRoot = $env:CARGO_HOME }
else { $installRoot = Join-Path $HOME '.cargo' }
$binDir = Join-Path $installRoot 'bin'
$bin = Join-Path $binDir 'sqlwarden.exe'
if (-not (Test-Path $bin)) { Write-Error "cargo reported success but $bin is missing"; exit 2 }
Write-Host "==> Installed $(& $bin --version)"

# Every later command acts on the same profile.
function Invoke-Sqlwarden {
    param([string[]]$Arguments)
    if ($ConfigDir) { $Arguments = @('--config-dir', $ConfigDir) + $Arguments }
    & $bin @Arguments
}

Write-Host '==> Writing the example config'
# `init` exits 1, changing nothing, when config files already exist.
$initErr = Invoke-Sqlwarden @('init') 2>&1 | Out-String
switch ($LASTEXITCODE) {
    0 { Write-Host "    done; edit connections.yaml and policy.yaml, then run 'sqlwarden check'" }
    1 { Write-Host '    a config already exists; left as it is' }
    default { Write-Host $initErr; Write-Error 'sqlwarden init failed'; exit 2 }
}

if (-not $Register) {
    if ([Environment]::UserInteractive -and -not [Console]::IsInputRedirected) {
        Write-Host ''
        Write-Host 'Register sqlwarden with an MCP client?'
        Write-Host '  1) Claude Desktop'
        Write-Host '  2) Claude Code'
        Write-Host '  3) not now'
        $choice = Read-Host 'Choice [3]'
        switch ($choice) {
            '1' { $Register = 'claude-desktop' }
            '2' { $Register = 'claude-code' }
            default { $Register = 'none' }
        }
    }
    else { $Register = 'none' }
}

switch ($Register) {
    'claude-desktop' {
        Write-Host '==> Registering with Claude Desktop'
        Invoke-Sqlwarden @('install', 'claude-desktop', '--name', $Name)
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    }
    'claude-code' {
        Write-Host '==> Registering with Claude Code'
        Invoke-Sqlwarden @('install', 'claude-code', '--scope', $Scope, '--name', $Name)
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    }
    default { Write-Host '==> Not registering; later: sqlwarden install claude-desktop (or claude-code)' }
}

if (-not (($env:PATH -split ';') -contains $binDir)) {
    Write-Host "note: $binDir is not on PATH; add it to run 'sqlwarden' by name"
}
