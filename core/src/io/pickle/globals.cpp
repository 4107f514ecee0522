// SPDX-License-Identifier: MIT
// The globals a pickle may name: the whitelist, the calls (REDUCE, NEWOBJ, BUILD) dispatched to
// their native implementations, and the Python builtins and collections among them. numpy's
// and torch's are in numpy_globals.cpp and torch_globals.cpp.
#include "machine.h"

namespace pm {
namespace pickle_detail {
namespace {

constexpr size_t kMaxCallArgs = 8;  ///< no whitelisted callable takes more

// ---------------------------------------------------------------------------------------------
// The whitelist.

struct GlobalEntry {
  const char* module;
  const char* name;
  GlobalId id;
};

constexpr GlobalEntry kWhitelist[] = {
    {"numpy.core.multiarray", "_reconstruct", GlobalId::kNumpyReconstruct},
    {"numpy._core.multiarray", "_reconstruct", GlobalId::kNumpyReconstruct},
    {"numpy", "ndarray", GlobalId::kNumpyNdarray},
    {"numpy", "dtype", GlobalId::kNumpyDType},
    {"numpy.core.multiarray", "scalar", GlobalId::kNumpyScalar},
    {"numpy._core.multiarray", "scalar", GlobalId::kNumpyScalar},
    {"numpy.core.numeric", "_frombuffer", GlobalId::kNumpyFromBuffer},
    {"numpy._core.numeric", "_frombuffer", GlobalId::kNumpyFromBuffer},
    {"collections", "OrderedDict", GlobalId::kOrderedDict},
    {"builtins", "set", GlobalId::kSet},
    {"__builtin__", "set", GlobalId::kSet},
    {"builtins", "frozenset", GlobalId::kFrozenSet},
    {"__builtin__", "frozenset", GlobalId::kFrozenSet},
    {"_codecs", "encode", GlobalId::kCodecsEncode},
    {"builtins", "bytes", GlobalId::kBytes},
    {"__builtin__", "bytes", GlobalId::kBytes},
    {"builtins", "bytearray", GlobalId::kBytes},
    {"__builtin__", "bytearray", GlobalId::kBytes},
    {"torch._utils", "_rebuild_tensor", GlobalId::kTorchRebuildTensor},
    {"torch._utils", "_rebuild_tensor_v2", GlobalId::kTorchRebuildTensorV2},
    {"torch._utils", "_rebuild_parameter", GlobalId::kTorchRebuildParameter},
    {"torch._utils", "_rebuild_parameter_with_state", GlobalId::kTorchRebuildParameterWithState},
    {"torch.storage", "_load_from_bytes", GlobalId::kTorchLoadFromBytes},
    {"torch", "Size", GlobalId::kTorchSize},
};

/// Resolves a whitelisted global, or returns nullptr.
std::shared_ptr<GlobalNode> resolve_global(const std::string& module, const std::string& name) {
  auto make = [&](GlobalId id) {
    auto node = std::make_shared<GlobalNode>();
    node->name = module + "." + name;
    node->id = id;
    return node;
  };
  for (const auto& e : kWhitelist) {
    if (module == e.module && name == e.name)
      return make(e.id);
  }
  const bool storage_module = module == "torch" || module == "torch.cuda" ||
                              (module == "torch.storage" && name == "UntypedStorage");
  DType dtype = DType::kU8;
  bool bfloat16 = false;
  if (storage_module && find_torch_storage_type(name, dtype, bfloat16)) {
    auto node = make(GlobalId::kTorchStorageType);
    node->storage_dtype = dtype;
    node->bfloat16 = bfloat16;
    return node;
  }
  return nullptr;
}

}  // namespace

const std::vector<PickleValue>& Unpickler::tuple_items(const PickleValue& args, const char* op) {
  if (args.kind() != Kind::kTuple) {
    malformed(fmt::format("{} arguments are a {}, not a tuple", op, args.type_name()));
  }
  if (args.items().size() > kMaxCallArgs) {
    invalid(fmt::format("{} with {} arguments", op, args.items().size()));
  }
  return args.items();
}

PickleValue Unpickler::global(const std::string& module, const std::string& name) {
  std::shared_ptr<GlobalNode> node = resolve_global(module, name);
  if (node == nullptr) {
    invalid(fmt::format("refusing to load global '{}' (not a CAM/checkpoint type)",
                        printable(module + "." + name, 120)));
  }
  return Access::make(Kind::kGlobal, node);
}

const GlobalNode& Unpickler::callable_global(const PickleValue& callable) {
  if (callable.kind() != Kind::kGlobal) {
    invalid(fmt::format("pickle calls a {}; only whitelisted globals can be called",
                        callable.type_name()));
  }
  return Access::as<GlobalNode>(callable);
}

void Unpickler::expect_args(const GlobalNode& g,
                            const std::vector<PickleValue>& args,
                            size_t min,
                            size_t max) {
  if (args.size() < min || args.size() > max) {
    invalid(fmt::format("{} called with {} arguments", g.name, args.size()));
  }
}

PickleValue Unpickler::call(const PickleValue& callable, const std::vector<PickleValue>& args) {
  const GlobalNode& g = callable_global(callable);
  switch (g.id) {
    case GlobalId::kNumpyReconstruct:
      return numpy_reconstruct(g, args);
    case GlobalId::kNumpyDType:
      return numpy_dtype(g, args);
    case GlobalId::kNumpyScalar:
      return numpy_scalar(g, args);
    case GlobalId::kNumpyFromBuffer:
      return numpy_frombuffer(g, args);
    case GlobalId::kOrderedDict:
      return ordered_dict(g, args);
    case GlobalId::kSet:
    case GlobalId::kFrozenSet:
      return python_set(g, args);
    case GlobalId::kCodecsEncode:
      return codecs_encode(g, args);
    case GlobalId::kBytes:
      return python_bytes(g, args);
    case GlobalId::kTorchRebuildTensor:
      expect_args(g, args, 4, 4);
      return rebuild_tensor(g, args);
    case GlobalId::kTorchRebuildTensorV2:
      expect_args(g, args, 6, 7);
      return rebuild_tensor(g, args);
    case GlobalId::kTorchRebuildParameter:
    case GlobalId::kTorchRebuildParameterWithState:
      return rebuild_parameter(g, args);
    case GlobalId::kTorchLoadFromBytes:
      return load_from_bytes(g, args);
    case GlobalId::kTorchSize:
      return torch_size(g, args);
    case GlobalId::kNumpyNdarray:
    case GlobalId::kTorchStorageType:
      break;
  }
  invalid(fmt::format("{} cannot be called here", g.name));
}

PickleValue Unpickler::new_object(const PickleValue& cls, const std::vector<PickleValue>& args) {
  const GlobalNode& g = callable_global(cls);
  if (g.id == GlobalId::kOrderedDict && args.empty())
    return make_dict();
  if ((g.id == GlobalId::kSet || g.id == GlobalId::kFrozenSet) && args.empty()) {
    return make_set();
  }
  invalid(fmt::format("cannot instantiate {} (NEWOBJ)", g.name));
}

PickleValue Unpickler::ordered_dict(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 0, 1);
  PickleValue dict = make_dict();
  if (args.empty())
    return dict;
  const Kind k = args[0].kind();
  if (k == Kind::kDict) {
    charge_copies(args[0].dict_items().size());
    for (const auto& e : args[0].dict_items())
      dict_set(Access::as<DictNode>(dict), e.first, e.second);
    return dict;
  }
  if (k != Kind::kList && k != Kind::kTuple) {
    invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
  }
  charge_copies(args[0].items().size());
  for (const auto& pair : args[0].items()) {
    if ((pair.kind() != Kind::kList && pair.kind() != Kind::kTuple) || pair.items().size() != 2) {
      invalid(fmt::format("{} of something other than (key, value) pairs", g.name));
    }
    dict_set(Access::as<DictNode>(dict), pair.items()[0], pair.items()[1]);
  }
  return dict;
}

PickleValue Unpickler::python_set(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 0, 1);
  PickleValue set = make_set();
  if (args.empty())
    return set;
  const Kind k = args[0].kind();
  if (k != Kind::kList && k != Kind::kTuple && k != Kind::kSet) {
    invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
  }
  charge_copies(args[0].items().size());
  for (const auto& v : args[0].items())
    set_add(Access::as<SetNode>(set), v);
  return set;
}

PickleValue Unpickler::python_bytes(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 0, 1);
  if (args.empty())
    return make_text(Kind::kBytes, "");
  if (args[0].kind() != Kind::kBytes)
    invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
  return args[0];
}

PickleValue Unpickler::codecs_encode(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 2, 2);
  if (args[0].kind() != Kind::kStr || args[1].kind() != Kind::kStr ||
      (args[1].as_str() != "latin1" && args[1].as_str() != "latin-1")) {
    invalid(fmt::format("{} is only supported as encode(str, 'latin1')", g.name));
  }
  charge_data(args[0].as_str().size());
  std::string bytes;
  if (!utf8_to_latin1(args[0].as_str(), bytes)) {
    invalid(fmt::format("{}: text is not latin-1 encodable", g.name));
  }
  return make_text(Kind::kBytes, std::move(bytes));
}

void Unpickler::build(PickleValue& obj, const PickleValue& state) {
  const Kind raw = Access::raw_kind(obj);
  if (raw == Kind::kArray) {
    auto& node = Access::as<ArrayNode>(obj);
    if (node.state != ArrayNode::State::kPending)
      invalid("BUILD on an array that has its data");
    build_numpy_array(node, state);
    return;
  }
  if (raw == Kind::kDType) {
    build_numpy_dtype(Access::as<DTypeNode>(obj), state);
    return;
  }
  if (raw == Kind::kDict && (state.is_none() || state.kind() == Kind::kDict)) {
    // An OrderedDict's instance attributes (a state dict's `_metadata` of module versions):
    // already decoded through the whitelist, and not part of the mapping, so dropped.
    return;
  }
  invalid(fmt::format("BUILD (setstate) on a {} is not supported", obj.type_name()));
}

}  // namespace pickle_detail
}  // namespace pm
