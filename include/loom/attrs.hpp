#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "loom/dtype.hpp"
#include "loom/export.hpp"

namespace loom {

/// Attribute values an op may take. The C ABI sets the same kinds by name.
using AttrValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>,
                               std::vector<double>, DType>;

/// The kinds of AttrValue, in the variant's order: Int, Float, Bool, String, IntList,
/// FloatList, DType.
enum class AttrType { Int, Float, Bool, String, IntList, FloatList, DType };
/// The kind's name: "int", "float", "bool", "string", "int list", "float list", "dtype".
LOOM_API const char* attr_type_name(AttrType type);

/// Named attributes of one op call: a small ordered list (ops take few attributes).
///
/// `Attrs{{"axis", int64_t{1}}, {"keepdims", true}}`; see call_op.
class LOOM_API Attrs {
 public:
  /// No attributes.
  Attrs() = default;
  /// The given (name, value) pairs, in order.
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items)
      : items_(items.begin(), items.end()) {}

  /// Sets `name` to `value`, replacing an earlier value of that name; returns *this.
  Attrs& set(std::string name, AttrValue value);
  /// The value of `name`, or null when absent.
  const AttrValue* find(std::string_view name) const;
  /// Whether `name` is set.
  bool has(std::string_view name) const { return find(name) != nullptr; }
  /// All (name, value) pairs, in the order they were first set.
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  /// Whether no attribute is set.
  bool empty() const { return items_.empty(); }

  // Typed reads; `op` names the op in the error when the value is missing or of another type.
  // Ints are accepted where floats are asked for.
  /// The int `name`; a bool reads as 0 or 1. InvalidArgument naming `op` when missing or of
  /// another type (as every typed read).
  int64_t get_int(std::string_view name, const char* op) const;
  /// The float `name`; an int is converted.
  double get_float(std::string_view name, const char* op) const;
  /// The bool `name`; an int 0 or 1 is accepted.
  bool get_bool(std::string_view name, const char* op) const;
  /// The string `name`.
  const std::string& get_string(std::string_view name, const char* op) const;
  /// The int list `name`; a single int reads as a list of one.
  std::vector<int64_t> get_ints(std::string_view name, const char* op) const;
  /// The float list `name`; an int list or a single float is converted.
  std::vector<double> get_floats(std::string_view name, const char* op) const;
  /// The dtype `name`; a dtype name (string) or a valid dtype number (int) is accepted.
  DType get_dtype(std::string_view name, const char* op) const;

  /// As get_int(name, op), or `fallback` when `name` is absent.
  int64_t get_int(std::string_view name, int64_t fallback, const char* op) const;
  /// As get_float(name, op), or `fallback` when `name` is absent.
  double get_float(std::string_view name, double fallback, const char* op) const;
  /// As get_bool(name, op), or `fallback` when `name` is absent.
  bool get_bool(std::string_view name, bool fallback, const char* op) const;
  /// As get_string(name, op), or `fallback` when `name` is absent.
  std::string get_string(std::string_view name, const std::string& fallback, const char* op) const;
  /// As get_dtype(name, op), or `fallback` when `name` is absent.
  DType get_dtype(std::string_view name, DType fallback, const char* op) const;

 private:
  const AttrValue& require(std::string_view name, const char* op) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};

}  // namespace loom
