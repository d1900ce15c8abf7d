#include "tensor_handle.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#if defined(__GLIBC__)
  // Each libtorch worker thread would get its own malloc arena, and freed tensor memory would
  // stay spread across them (resident memory grows); two arenas are plenty here. The mmap
  // threshold stays adaptive: fixing it makes every large tensor a fresh, page-faulting mmap.
  mallopt(M_ARENA_MAX, 2);
#endif
  exports.Set("TensorHandle", TensorHandle::Define(env));
  InitDispatch(env, exports);
  InitRuntime(env, exports);
  return exports;
}

NODE_API_MODULE(finprint_torch, Init)
