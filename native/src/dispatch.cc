// Calls any ATen operator by schema name through the boxed dispatcher, so the binding needs
// no per-op C++: the JS layer names the op, and arguments are converted by the schema's types.
#include <ATen/core/dispatch/Dispatcher.h>

#include <sstream>

#include "tensor_handle.h"

namespace {

struct Op {
  c10::OperatorHandle handle;
  std::string name;
};
std::vector<Op> g_ops;

std::string ArgContext(const Op& op, const c10::Argument& arg) { return op.name + ": argument '" + arg.name() + "'"; }

[[noreturn]] void Expected(Napi::Env env, const std::string& where, const std::string& what) {
  throw Napi::TypeError::New(env, where + ": expected " + what);
}

int64_t ToInt(Napi::Value v, const std::string& where) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) Expected(v.Env(), where, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) Expected(v.Env(), where, "an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double ToDouble(Napi::Value v, const std::string& where) {
  if (!v.IsNumber()) Expected(v.Env(), where, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::IValue ToIValue(Napi::Value v, const c10::TypePtr& type, const std::string& where);

c10::IValue ToList(Napi::Value v, const c10::ListTypePtr& type, const std::string& where) {
  const c10::TypePtr& elem = type->getElementType();
  // A single int where int[] is expected is broadcast by ATen (e.g. kernel_size=3).
  if (!v.IsArray()) {
    if (v.IsNumber() && (elem->kind() == c10::TypeKind::IntType || elem->kind() == c10::TypeKind::SymIntType)) {
      return c10::List<int64_t>({ToInt(v, where)});
    }
    Expected(v.Env(), where, "an array");
  }
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  switch (elem->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      c10::List<int64_t> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(ToInt(arr.Get(i), where + "[" + std::to_string(i) + "]"));
      return out;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> out;
      for (uint32_t i = 0; i < n; i++) out.push_back(ToDouble(arr.Get(i), where + "[" + std::to_string(i) + "]"));
      return out;
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (uint32_t i = 0; i < n; i++) out.push_back(arr.Get(i).ToBoolean());
      return out;
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(TensorHandle::Get(arr.Get(i), where + "[" + std::to_string(i) + "]"));
      return out;
    }
    case c10::TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < n; i++) {
        Napi::Value e = arr.Get(i);
        if (e.IsUndefined() || e.IsNull()) {
          out.push_back(c10::nullopt);
        } else {
          out.push_back(TensorHandle::Get(e, where + "[" + std::to_string(i) + "]"));
        }
      }
      return out;
    }
    default:
      Expected(v.Env(), where, std::string("a supported list type, not ") + type->str());
  }
}

c10::IValue ToIValue(Napi::Value v, const c10::TypePtr& type, const std::string& where) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      return TensorHandle::Get(v, where);
    case c10::TypeKind::OptionalType:
      if (v.IsUndefined() || v.IsNull()) return c10::IValue();
      return ToIValue(v, type->castRaw<c10::OptionalType>()->getElementType(), where);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      return ToInt(v, where);
    case c10::TypeKind::FloatType:
      return ToDouble(v, where);
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) Expected(v.Env(), where, "a boolean");
      return v.As<Napi::Boolean>().Value();
    case c10::TypeKind::NumberType:
      // Integral JS numbers stay integral so integer tensors keep their dtype.
      if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
      if (!v.IsNumber()) Expected(v.Env(), where, "a number");
      {
        double d = v.As<Napi::Number>().DoubleValue();
        if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.007199254740992e15) return c10::Scalar(static_cast<int64_t>(d));
        return c10::Scalar(d);
      }
    case c10::TypeKind::StringType:
      if (!v.IsString()) Expected(v.Env(), where, "a string");
      return v.As<Napi::String>().Utf8Value();
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) Expected(v.Env(), where, "a device string such as 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::ListType:
      return ToList(v, type->expect<c10::ListType>(), where);
    default:
      Expected(v.Env(), where, std::string("a value of supported type, not ") + type->str());
  }
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Undefined();
    return TensorHandle::Wrap(env, t);
  }
  if (v.isNone()) return env.Undefined();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, elems[i]));
    return out;
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), TensorHandle::Wrap(env, list.get(i)));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(list[i])));
    return out;
  }
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  throw Napi::Error::New(env, std::string("unsupported return type ") + v.tagKind());
}

std::string DescribeCall(const Op& op, const torch::jit::Stack& stack) {
  std::ostringstream s;
  s << op.name << "(";
  const auto& args = op.handle.schema().arguments();
  for (size_t i = 0; i < stack.size() && i < args.size(); i++) {
    if (i) s << ", ";
    s << args[i].name() << ": ";
    const c10::IValue& v = stack[i];
    if (v.isTensor()) {
      s << Describe(v.toTensor());
    } else if (v.isTensorList()) {
      s << "[";
      auto list = v.toTensorList();
      for (size_t j = 0; j < list.size(); j++) s << (j ? ", " : "") << Describe(list.get(j));
      s << "]";
    } else {
      s << v;
    }
  }
  s << ")";
  return s.str();
}

// findOp(name, overload) -> op id
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throw Napi::Error::New(info.Env(), "unknown operator " + name + (overload.empty() ? "" : "." + overload));
  g_ops.push_back({*handle, overload.empty() ? name : name + "." + overload});
  return Napi::Number::New(info.Env(), static_cast<double>(g_ops.size() - 1));
}

// hasOperator(name, overload) -> whether the linked libtorch registers that schema; unlike findOp
// it keeps no handle, so tests can check every name the JS layer uses.
Napi::Value HasOperator(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info[1].As<Napi::String>().Utf8Value();
  return Napi::Boolean::New(info.Env(), c10::Dispatcher::singleton().findSchema({name, overload}).has_value());
}

// callOp(id, args): positional arguments in schema order; undefined takes the schema default.
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op& op = g_ops.at(static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()));
  Napi::Array args = info[1].As<Napi::Array>();
  const auto& schema = op.handle.schema();
  const auto& params = schema.arguments();
  if (args.Length() > params.size()) {
    throw Napi::TypeError::New(env, op.name + ": takes " + std::to_string(params.size()) + " arguments, got " + std::to_string(args.Length()));
  }
  torch::jit::Stack stack;
  stack.reserve(params.size());
  for (size_t i = 0; i < params.size(); i++) {
    Napi::Value v = i < args.Length() ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
    const c10::Argument& p = params[i];
    if (v.IsUndefined() && p.default_value()) {
      stack.push_back(*p.default_value());
    } else if (v.IsUndefined() && p.type()->kind() != c10::TypeKind::OptionalType) {
      throw Napi::TypeError::New(env, ArgContext(op, p) + " is required");
    } else {
      try {
        stack.push_back(ToIValue(v, p.type(), ArgContext(op, p)));
      } catch (const Napi::Error&) {
        throw;
      } catch (const std::exception& e) {  // e.g. c10::Device rejecting a device string
        ThrowTorchError(env, ArgContext(op, p), e);
      }
    }
  }
  std::string context;
  try {
    // Describe lazily: only when the call fails.
    torch::jit::Stack copy = stack;
    try {
      op.handle.callBoxed(&stack);
    } catch (const std::exception&) {
      context = DescribeCall(op, copy);
      throw;
    }
  } catch (const std::exception& e) {
    ThrowTorchError(env, context.empty() ? op.name : context, e);
  }
  if (stack.empty()) return env.Undefined();
  if (stack.size() == 1) return FromIValue(env, stack[0]);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i]));
  return out;
}

// fromBuffer(typedArrayOrBuffer, shape, dtype): copies the bytes into a new CPU tensor.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    bytes = ta.ByteLength();
  } else if (info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    data = static_cast<const uint8_t*>(ab.Data());
    bytes = ab.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "fromBuffer: expected a typed array or ArrayBuffer");
  }
  Napi::Array shapeArr = info[1].As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < shapeArr.Length(); i++) shape.push_back(ToInt(shapeArr.Get(i), "fromBuffer: shape[" + std::to_string(i) + "]"));
  auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  at::Tensor t;
  try {
    t = at::empty(shape, at::TensorOptions().dtype(dtype));
  } catch (const std::exception& e) {
    ThrowTorchError(env, "fromBuffer", e);
  }
  size_t need = static_cast<size_t>(t.numel()) * t.element_size();
  if (need != bytes) {
    throw Napi::RangeError::New(env, "fromBuffer: shape " + Describe(t) + " needs " + std::to_string(need) + " bytes, got " + std::to_string(bytes));
  }
  if (bytes) std::memcpy(t.data_ptr(), data, bytes);
  return TensorHandle::Wrap(env, t);
}

// schema(id) -> the operator's schema string, for error messages and debugging.
Napi::Value Schema(const Napi::CallbackInfo& info) {
  const Op& op = g_ops.at(static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()));
  std::ostringstream s;
  s << op.handle.schema();
  return Napi::String::New(info.Env(), s.str());
}

}  // namespace

void InitDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, FindOp));
  exports.Set("hasOperator", Napi::Function::New(env, HasOperator));
  exports.Set("callOp", Napi::Function::New(env, CallOp));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("schema", Napi::Function::New(env, Schema));
}
