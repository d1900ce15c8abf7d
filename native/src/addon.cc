#include "tensor_handle.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#if defined(__GLIBC__)
  // Each libtorch worker thread would get its own malloc arena, and freed tensor memory would
  // stay spread across them (resident memory grows); two arenas are plenty here.
  mallopt(M_ARENA_MAX, 2);
  // Tensors up to 256 MiB come from the heap and freed ones stay there for the next step: with
  // glibc's defaults (an mmap threshold adapting up to 32 MiB, the heap's top trimmed past twice
  // that) every training step maps and zero-fills hundreds of MB afresh, which a profile showed
  // as a quarter of a one-thread step spent in the kernel clearing pages.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  exports.Set("TensorHandle", TensorHandle::Define(env));
  InitDispatch(env, exports);
  InitRuntime(env, exports);
  return exports;
}

NODE_API_MODULE(finprint_torch, Init)
