#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (the npm package onnxruntime-node, which ships the runtime's
# CPU library inside the package) into DIR, for the tests that run loom's ONNX exports in it.
# Idempotent: does nothing when DIR already holds this version.
# Usage: scripts/install_onnxruntime.sh DIR
set -euo pipefail
dir="${1:?usage: install_onnxruntime.sh DIR}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"  # absolute: node's require() reads a relative path as a module name
version=1.30.0
package="$dir/node_modules/onnxruntime-node/package.json"
if [ -f "$package" ] && grep -q "\"version\": \"$version\"" "$package"; then
  exit 0
fi
echo "ONNX Runtime: installing onnxruntime-node@$version from the npm registry into $dir"
# --ignore-scripts: the package's install script fetches optional GPU providers from a host that
# build machines cannot reach; the CPU runtime the tests use is in the package itself.
npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --no-save "onnxruntime-node@$version"
node -e "require(process.argv[1])" "$dir/node_modules/onnxruntime-node"
