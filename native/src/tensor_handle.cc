#include "tensor_handle.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include <cstring>
#include <sstream>
#include <unordered_map>

Napi::FunctionReference TensorHandle::constructor_;

namespace {

// What V8 is told about native memory: each storage's bytes once, however many handles (views)
// share it. Counting every view at its full size made V8 run a full collection for each view of
// a large buffer (two per block of a gallery search). Handles live on the JS thread only.
struct Ledger {
  int64_t handles = 0;
  int64_t bytes = 0;
};
std::unordered_map<const c10::StorageImpl*, Ledger> ledger;

const c10::StorageImpl* Account(Napi::Env env, const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return nullptr;
  const c10::StorageImpl* s = t.storage().unsafeGetStorageImpl();
  Ledger& l = ledger[s];
  if (l.handles++ == 0) {
    l.bytes = static_cast<int64_t>(t.storage().nbytes());
    if (l.bytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, l.bytes);
  }
  return s;
}

void Release(Napi::Env env, const c10::StorageImpl* s) {
  if (s == nullptr) return;
  auto it = ledger.find(s);
  if (it == ledger.end() || --it->second.handles > 0) return;
  if (it->second.bytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -it->second.bytes);
  ledger.erase(it);
}

}  // namespace

Napi::Function TensorHandle::Define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "TensorHandle",
                                  {
                                      InstanceMethod<&TensorHandle::Dispose>("dispose"),
                                      InstanceMethod<&TensorHandle::IsDisposed>("isDisposed"),
                                      InstanceMethod<&TensorHandle::Shape>("shape"),
                                      InstanceMethod<&TensorHandle::DType>("dtype"),
                                      InstanceMethod<&TensorHandle::Device>("device"),
                                      InstanceMethod<&TensorHandle::ToBuffer>("toBuffer"),
                                      InstanceMethod<&TensorHandle::RequiresGrad>("requiresGrad"),
                                      InstanceMethod<&TensorHandle::SetRequiresGrad>("setRequiresGrad"),
                                      InstanceMethod<&TensorHandle::Grad>("grad"),
                                      InstanceMethod<&TensorHandle::SetGrad>("setGrad"),
                                      InstanceMethod<&TensorHandle::Backward>("backward"),
                                      InstanceMethod<&TensorHandle::IsLeaf>("isLeaf"),
                                      InstanceMethod<&TensorHandle::GradFn>("gradFn"),
                                      InstanceMethod<&TensorHandle::SameStorage>("sameStorage"),
                                  });
  constructor_ = Napi::Persistent(fn);
  constructor_.SuppressDestruct();
  return fn;
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

TensorHandle::~TensorHandle() { Release(Env(), storage_); }

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor t) {
  Napi::Object obj = constructor_.New({});
  TensorHandle* h = Unwrap(obj);
  h->storage_ = Account(env, t);
  h->tensor_ = std::move(t);
  return obj;
}

bool TensorHandle::IsHandle(Napi::Value v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(constructor_.Value());
}

const at::Tensor& TensorHandle::Get(Napi::Value v, const std::string& what) {
  if (!IsHandle(v)) throw Napi::TypeError::New(v.Env(), what + ": expected a tensor");
  TensorHandle* h = Unwrap(v.As<Napi::Object>());
  if (!h->tensor_.defined()) throw Napi::Error::New(v.Env(), what + ": tensor was disposed");
  return h->tensor_;
}

void TensorHandle::Reset(Napi::Env env) {
  tensor_.reset();
  Release(env, storage_);
  storage_ = nullptr;
}

std::string Describe(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  s << c10::toString(t.scalar_type()) << t.sizes();
  if (!t.device().is_cpu()) s << "@" << t.device();
  return s.str();
}

void ThrowTorchError(Napi::Env env, const std::string& context, const std::exception& e) {
  std::string msg;
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) {
    msg = ce->what_without_backtrace();
  } else {
    msg = e.what();
  }
  // libtorch messages can carry a long C++ trace after the first lines; keep the useful head.
  auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg = msg.substr(0, cut);
  throw Napi::Error::New(env, context + ": " + msg);
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Reset(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Get(Value(), "shape");
  Napi::Array out = Napi::Array::New(info.Env(), t.dim());
  for (int64_t i = 0; i < t.dim(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
  return out;
}

Napi::Value TensorHandle::DType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(Get(Value(), "dtype").scalar_type()));
}

Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Get(Value(), "device").device().str());
}

// Copies the tensor's elements (row-major, on the CPU) into a new ArrayBuffer in one memcpy.
Napi::Value TensorHandle::ToBuffer(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Get(Value(), "toBuffer");
  try {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), bytes);
    if (bytes) std::memcpy(buf.Data(), c.data_ptr(), bytes);
    return buf;
  } catch (const std::exception& e) {
    ThrowTorchError(info.Env(), "toBuffer(" + Describe(t) + ")", e);
  }
}

Napi::Value TensorHandle::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Get(Value(), "requiresGrad").requires_grad());
}

Napi::Value TensorHandle::SetRequiresGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Get(Value(), "requiresGrad_");
  try {
    const_cast<at::Tensor&>(t).set_requires_grad(info[0].ToBoolean());
  } catch (const std::exception& e) {
    ThrowTorchError(info.Env(), "requiresGrad_(" + Describe(t) + ")", e);
  }
  return info.Env().Undefined();
}

Napi::Value TensorHandle::Grad(const Napi::CallbackInfo& info) {
  const at::Tensor& g = Get(Value(), "grad").grad();
  if (!g.defined()) return info.Env().Undefined();
  return Wrap(info.Env(), g);
}

// setGrad(undefined) clears the gradient, as PyTorch's zero_grad(set_to_none=True).
Napi::Value TensorHandle::SetGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Get(Value(), "setGrad");
  at::Tensor& g = const_cast<at::Tensor&>(t).mutable_grad();
  if (info[0].IsUndefined() || info[0].IsNull()) {
    g.reset();
  } else {
    g = Get(info[0], "setGrad(grad)");
  }
  return info.Env().Undefined();
}

// backward(gradient?, retainGraph?, createGraph?)
Napi::Value TensorHandle::Backward(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Get(Value(), "backward");
  std::vector<at::Tensor> grads;
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) grads.push_back(Get(info[0], "backward(gradient)"));
  c10::optional<bool> retain;
  if (info.Length() > 1 && info[1].IsBoolean()) retain = info[1].As<Napi::Boolean>().Value();
  bool create = info.Length() > 2 && info[2].ToBoolean();
  try {
    torch::autograd::backward({t}, grads, retain, create);
  } catch (const std::exception& e) {
    ThrowTorchError(info.Env(), "backward(" + Describe(t) + ")", e);
  }
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Get(Value(), "isLeaf").is_leaf());
}

Napi::Value TensorHandle::GradFn(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Get(Value(), "gradFn");
  auto fn = t.grad_fn();
  if (!fn) return info.Env().Null();
  return Napi::String::New(info.Env(), fn->name());
}

Napi::Value TensorHandle::SameStorage(const Napi::CallbackInfo& info) {
  const at::Tensor& a = Get(Value(), "sameStorage");
  const at::Tensor& b = Get(info[0], "sameStorage(other)");
  return Napi::Boolean::New(info.Env(), a.storage().is_alias_of(b.storage()));
}
