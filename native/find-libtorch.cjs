// Tells binding.gyp where libtorch lives: $LIBTORCH (official zip layout, CPU or CUDA)
// or Debian's libtorch-dev. Usage: node find-libtorch.cjs include|libdirs|libs|defines|ldflags
'use strict';
const fs = require('fs');
const path = require('path');

function locate() {
  const root = process.env.LIBTORCH;
  if (root) {
    if (!fs.existsSync(path.join(root, 'include', 'ATen', 'ATen.h'))) {
      throw new Error(`LIBTORCH=${root} does not look like a libtorch folder (no include/ATen/ATen.h)`);
    }
    const lib = path.join(root, 'lib');
    const cmake = path.join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
    // The official "pre-cxx11 ABI" builds need the old libstdc++ string ABI.
    const oldAbi = fs.existsSync(cmake) && fs.readFileSync(cmake, 'utf8').includes('_GLIBCXX_USE_CXX11_ABI=0');
    const cuda = fs.existsSync(path.join(lib, 'libtorch_cuda.so'));
    return {
      include: [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')],
      libdirs: [lib],
      libs: cuda ? ['torch', 'torch_cpu', 'torch_cuda', 'c10_cuda', 'c10'] : ['torch', 'torch_cpu', 'c10'],
      defines: oldAbi ? ['_GLIBCXX_USE_CXX11_ABI=0'] : [],
      rpath: [lib],
    };
  }
  for (const inc of ['/usr/include', '/usr/local/include']) {
    if (fs.existsSync(path.join(inc, 'ATen', 'ATen.h'))) {
      return { include: [inc, path.join(inc, 'torch', 'csrc', 'api', 'include')], libdirs: [], libs: ['torch', 'torch_cpu', 'c10'], defines: [], rpath: [] };
    }
  }
  throw new Error('libtorch not found: install the Debian package libtorch-dev (apt-get install libtorch-dev) or set LIBTORCH to an unpacked libtorch folder');
}

const what = process.argv[2];
const t = locate();
const out = {
  include: t.include,
  defines: t.defines,
  // --no-as-needed keeps torch_cuda linked so its kernels register even though no symbol is used directly.
  ldflags: [...t.libdirs.map((d) => `-L${d}`), ...t.rpath.map((d) => `-Wl,-rpath,${d}`), '-Wl,--no-as-needed', ...t.libs.map((l) => `-l${l}`), '-Wl,--as-needed'],
}[what];
if (!out) throw new Error(`unknown query ${what}`);
process.stdout.write(out.join(' '));
