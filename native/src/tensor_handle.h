// A JS object that owns one at::Tensor. Everything else about tensors lives in TypeScript.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static bool IsHandle(Napi::Value v);
  // The live tensor behind a handle; throws a JS error naming `what` when disposed or not a tensor.
  static const at::Tensor& Get(Napi::Value v, const std::string& what);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

 private:
  static Napi::FunctionReference constructor_;
  at::Tensor tensor_;
  // The storage this handle keeps alive, counted in the external-memory ledger (tensor_handle.cc).
  const c10::StorageImpl* storage_ = nullptr;

  void Reset(Napi::Env env);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value SetGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value IsLeaf(const Napi::CallbackInfo& info);
  Napi::Value GradFn(const Napi::CallbackInfo& info);
  Napi::Value SameStorage(const Napi::CallbackInfo& info);
};

// Shape and dtype of a tensor as "float32[2, 3]", for error messages.
std::string Describe(const at::Tensor& t);
// Converts a libtorch exception into a JS error with the given context prefix.
[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& context, const std::exception& e);
