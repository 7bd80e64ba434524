#!/usr/bin/env bash
# The Debian packages the tests need, installed when missing (as root, or with passwordless sudo):
# Chromium drives the real VS Code (code-server) in the integration and e2e suites; libkrb5-dev lets
# code-server's native modules build; python3/make/g++ are node-gyp's toolchain.
# cmake and git build llama.cpp's llama-server (the remote engine's conformance peer) from node-llama-cpp's bundle.
# util-linux (unshare) and iproute2 (ip) run the engine and integration suites with only loopback.
# python3-torch and python3-sentencepiece train the small clinical model (npm run train, test/engine/trainedModel.test.ts);
# libopenblas0-pthread gives Debian's torch and numpy an optimised BLAS (the default reference BLAS ran ~1 GFLOP/s).
# Used by .ci/run and by `npm test` itself, so a fresh machine needs nothing installed by hand.
set -euo pipefail
packages=(chromium libkrb5-dev python3 make g++ cmake git util-linux iproute2 python3-torch python3-sentencepiece libopenblas0-pthread)
command -v dpkg >/dev/null 2>&1 || { echo "Not a Debian-like system: install ${packages[*]} (or their equivalents) yourself." >&2; exit 0; }
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing system packages the tests need: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
