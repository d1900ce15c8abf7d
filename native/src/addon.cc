#include "tensor_handle.h"

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TensorHandle", TensorHandle::Define(env));
  InitDispatch(env, exports);
  InitRuntime(env, exports);
  return exports;
}

NODE_API_MODULE(finprint_torch, Init)
