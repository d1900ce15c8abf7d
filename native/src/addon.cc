#include "tensor_handle.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#if defined(__GLIBC__)
  // Tensor buffers come and go in many sizes; glibc's adaptive mmap threshold would move large
  // freed buffers onto the heap, which then fragments and grows. A fixed threshold keeps every
  // large buffer in its own mapping, returned to the system when freed.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // One arena per libtorch worker thread multiplies that fragmentation; two are plenty here.
  mallopt(M_ARENA_MAX, 2);
#endif
  exports.Set("TensorHandle", TensorHandle::Define(env));
  InitDispatch(env, exports);
  InitRuntime(env, exports);
  return exports;
}

NODE_API_MODULE(finprint_torch, Init)
