#pragma once
/// \file
/// What each op of the registry takes and gives: the facts call_op() and the C ABI's
/// loom_op_call() need, so that bindings can generate their wrappers and check their calls.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loom/attrs.hpp"
#include "loom/dtype.hpp"
#include "loom/export.hpp"

namespace loom {

/// One input of an op.
struct OpInputSchema {
  std::string name;           ///< Its name, e.g. "x", "filter", "indices".
  std::vector<DType> dtypes;  ///< The dtypes it accepts (on every device; a device may accept fewer).
};

/// One attribute of an op.
struct OpAttrSchema {
  std::string name;                        ///< Its name, e.g. "axis".
  AttrType type;                           ///< Its type.
  bool required = false;                   ///< Whether every call must give it.
  std::optional<AttrValue> default_value;  ///< What an optional attribute is when omitted (none: the op decides, as documented).
};

/// Everything a caller needs to call an op by name.
struct OpSchema {
  std::string name;                   ///< The op's name, as call_op() takes it.
  std::string doc;                    ///< One line saying what the op computes.
  std::vector<OpInputSchema> inputs;  ///< The inputs in order (for a variadic op: the one kind all inputs follow).
  int min_inputs = 0;                 ///< How many inputs a call needs at least.
  int max_inputs = 0;                 ///< How many it takes at most; -1: any number (variadic).
  std::vector<OpAttrSchema> attrs;    ///< The attributes it takes.
  std::vector<std::string> outputs;   ///< The outputs' names in order (a variadic op: the name all outputs share).
  bool variadic_outputs = false;      ///< Whether the number of outputs depends on the call (split).
  bool differentiable = false;        ///< Whether gradients flow through it.
};

/// The schema of the op called `name`; NotFoundError when there is none (list_ops() gives the names).
LOOM_API OpSchema op_schema(std::string_view name);

}  // namespace loom
