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

// Attribute values an op may take. The C ABI sets the same kinds by name.
using AttrValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>,
                               std::vector<double>, DType>;

enum class AttrType { Int, Float, Bool, String, IntList, FloatList, DType };
LOOM_API const char* attr_type_name(AttrType type);

// Named attributes of one op call: a small ordered list (ops take few attributes).
class LOOM_API Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items)
      : items_(items.begin(), items.end()) {}

  Attrs& set(std::string name, AttrValue value);
  const AttrValue* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  // Typed reads; `op` names the op in the error when the value is missing or of another type.
  // Ints are accepted where floats are asked for.
  int64_t get_int(std::string_view name, const char* op) const;
  double get_float(std::string_view name, const char* op) const;
  bool get_bool(std::string_view name, const char* op) const;
  const std::string& get_string(std::string_view name, const char* op) const;
  std::vector<int64_t> get_ints(std::string_view name, const char* op) const;
  std::vector<double> get_floats(std::string_view name, const char* op) const;
  DType get_dtype(std::string_view name, const char* op) const;

  int64_t get_int(std::string_view name, int64_t fallback, const char* op) const;
  double get_float(std::string_view name, double fallback, const char* op) const;
  bool get_bool(std::string_view name, bool fallback, const char* op) const;
  std::string get_string(std::string_view name, const std::string& fallback, const char* op) const;
  DType get_dtype(std::string_view name, DType fallback, const char* op) const;

 private:
  const AttrValue& require(std::string_view name, const char* op) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};

}  // namespace loom
