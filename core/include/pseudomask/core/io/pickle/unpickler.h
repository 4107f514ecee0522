// SPDX-License-Identifier: MIT
#pragma once

// A restricted Python unpickler for the files WSSS tools write: np.save of dicts and object
// arrays, plainly pickled torch tensors (their storages carry a legacy torch.save byte string),
// legacy torch.save files and the data.pkl of torch.save zip checkpoints. It understands the
// opcodes of pickle protocols 0 to 5 but executes nothing: a global is accepted only if it is
// on a short whitelist of numpy / torch / collections names, each implemented natively here,
// and anything else is refused by name. Inputs are treated as hostile: the stack, the memo,
// the nesting depth and the bytes a file can make us allocate are all bounded.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "pseudomask/core/io/pickle/value.h"

namespace pm {

/// Receives a persistent id (BINPERSID / PERSID) and returns the object it stands for, usually
/// PickleValue::make_storage(...). Throw pm::Error to refuse.
using PersistentLoadFn = std::function<PickleValue(const PickleValue& pid)>;

/// Bounds against hostile input. Allocations are otherwise linear in the input size: array
/// payloads must be bytes present in the input, and torch tensor views may materialize at most
/// the bytes of the storages seen plus `tensor_slack_bytes`.
struct PickleLimits {
  size_t max_stack = size_t{1} << 20;  ///< values on the unpickler stack
  size_t max_marks = 4096;             ///< open MARKs
  size_t max_memo = size_t{1} << 20;   ///< memo entries
  size_t max_nesting = 256;            ///< containers nested in containers
  int max_torch_nesting = 4;           ///< torch.storage._load_from_bytes inside one another
  uint64_t tensor_slack_bytes = uint64_t{1} << 20;
};

struct PickleOptions {
  /// Called for persistent ids; when empty, a pickle with persistent ids is refused.
  PersistentLoadFn persistent_load;
  PickleLimits limits;
};

/// Decodes the pickle at the start of data[0, size) up to its STOP opcode and returns the top
/// value. `name` (usually the file path) starts every error message. If `consumed` is not null
/// it receives the number of bytes read. Throws pm::Error on malformed input, on a global that
/// is not whitelisted ("<name>: refusing to load global 'os.system' (not a CAM/checkpoint
/// type)") and when a limit is exceeded.
PickleValue load_pickle(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const PickleOptions& options = {},
                        size_t* consumed = nullptr);

}  // namespace pm
