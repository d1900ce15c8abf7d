#!/usr/bin/env bash
# Installs what finprint needs on a fresh Debian machine, then builds it. Safe to re-run:
# every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

have_libtorch() {
  if [ -n "${LIBTORCH:-}" ]; then
    [ -f "$LIBTORCH/include/ATen/ATen.h" ] || { say "LIBTORCH=$LIBTORCH has no include/ATen/ATen.h"; exit 1; }
    return 0
  fi
  [ -f /usr/include/ATen/ATen.h ] || [ -f /usr/local/include/ATen/ATen.h ]
}

# Same candidates as findTorchPython (src/bench/pytorch_side.ts); find_spec, as importing torch takes seconds.
have_torch_python() {
  local py
  for py in ${FINPRINT_PYTHON:-} /usr/bin/python3 python3; do
    "$py" -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") and u.find_spec("torchvision")))' 2>/dev/null && return 0
  done
  return 1
}

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: $*"
    say "install them as root (apt-get install $*), or set LIBTORCH to an unpacked libtorch folder"
    exit 1
  fi
  say "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
if ! have_libtorch; then missing+=(libtorch-dev); fi
# Debian's libtorch calls the system BLAS; the reference BLAS is ~35x slower than OpenBLAS.
if [ -z "${LIBTORCH:-}" ] && [ -z "$(ls /usr/lib/*-linux-gnu/openblas-*/libblas.so.3 2>/dev/null)" ]; then
  missing+=(libopenblas0-pthread)
fi
# PyTorch runs the other side of `finprint bench` and of the tests that compare with it (skipped
# without it): optional, so installed only by root.
if ! have_torch_python; then
  if [ "$(id -u)" -eq 0 ]; then
    missing+=(python3-torch python3-torchvision)
  else
    say "optional: apt-get install python3-torch python3-torchvision, for finprint bench and the tests that compare with PyTorch"
  fi
fi
# Debian's chromium runs the review page's browser test (test/web, through playwright-core; never
# a downloaded browser), with a font to draw its text: installed only by root, as CI runs.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then
    missing+=(chromium fonts-liberation)
  else
    say "optional: apt-get install chromium, for the review page's browser test (skipped without it)"
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  # onnxruntime-node's CPU binaries ship inside the package; its install script would download more.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

# The addon: rebuild when any native source is newer than the built module.
addon=native/build/Release/finprint_torch.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp native/find-libtorch.cjs -newer "$addon" 2>/dev/null | head -n 1)" ]; then
  say "building the libtorch binding (about a minute)"
  npx --no-install node-gyp rebuild --directory native -j 2 --loglevel=warn >/dev/null
fi

say "compiling TypeScript"
npx --no-install tsc -p tsconfig.json
node scripts/build-web.mjs
