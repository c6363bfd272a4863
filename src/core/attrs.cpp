#include "loom/attrs.hpp"

#include <string>

#include "loom/error.hpp"

namespace loom {
namespace {

const char* value_type_name(const AttrValue& v) {
  return attr_type_name(static_cast<AttrType>(v.index()));
}

[[noreturn]] void wrong_type(const char* op, std::string_view name, const char* wanted,
                             const AttrValue& v) {
  throw InvalidArgument(std::string("[") + op + "] attribute '" + std::string(name) + "' must be " +
                        wanted + ", got " + value_type_name(v));
}

}  // namespace

const char* attr_type_name(AttrType type) {
  switch (type) {
    case AttrType::Int: return "int";
    case AttrType::Float: return "float";
    case AttrType::Bool: return "bool";
    case AttrType::String: return "string";
    case AttrType::IntList: return "int list";
    case AttrType::FloatList: return "float list";
    case AttrType::DType: return "dtype";
  }
  return "unknown";
}

Attrs& Attrs::set(std::string name, AttrValue value) {
  for (auto& item : items_) {
    if (item.first == name) {
      item.second = std::move(value);
      return *this;
    }
  }
  items_.emplace_back(std::move(name), std::move(value));
  return *this;
}

const AttrValue* Attrs::find(std::string_view name) const {
  for (const auto& item : items_) {
    if (item.first == name) return &item.second;
  }
  return nullptr;
}

const AttrValue& Attrs::require(std::string_view name, const char* op) const {
  const AttrValue* v = find(name);
  if (!v) {
    throw InvalidArgument(std::string("[") + op + "] missing required attribute '" +
                          std::string(name) + "'");
  }
  return *v;
}

int64_t Attrs::get_int(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  wrong_type(op, name, "an int", v);
}

double Attrs::get_float(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  wrong_type(op, name, "a float", v);
}

bool Attrs::get_bool(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (*i == 0 || *i == 1) return *i == 1;
  }
  wrong_type(op, name, "a bool", v);
}

const std::string& Attrs::get_string(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  wrong_type(op, name, "a string", v);
}

std::vector<int64_t> Attrs::get_ints(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* l = std::get_if<std::vector<int64_t>>(&v)) return *l;
  if (const auto* i = std::get_if<int64_t>(&v)) return {*i};
  wrong_type(op, name, "an int list", v);
}

std::vector<double> Attrs::get_floats(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* l = std::get_if<std::vector<double>>(&v)) return *l;
  if (const auto* l = std::get_if<std::vector<int64_t>>(&v)) return {l->begin(), l->end()};
  if (const auto* d = std::get_if<double>(&v)) return {*d};
  wrong_type(op, name, "a float list", v);
}

DType Attrs::get_dtype(std::string_view name, const char* op) const {
  const AttrValue& v = require(name, op);
  if (const auto* d = std::get_if<DType>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return dtype_from_name(*s, op);
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (dtype_is_valid(static_cast<int32_t>(*i))) return static_cast<DType>(*i);
    throw InvalidArgument(std::string("[") + op + "] attribute '" + std::string(name) +
                          "' is not a valid dtype number: " + std::to_string(*i));
  }
  wrong_type(op, name, "a dtype", v);
}

int64_t Attrs::get_int(std::string_view name, int64_t fallback, const char* op) const {
  return has(name) ? get_int(name, op) : fallback;
}
double Attrs::get_float(std::string_view name, double fallback, const char* op) const {
  return has(name) ? get_float(name, op) : fallback;
}
bool Attrs::get_bool(std::string_view name, bool fallback, const char* op) const {
  return has(name) ? get_bool(name, op) : fallback;
}
std::string Attrs::get_string(std::string_view name, const std::string& fallback,
                              const char* op) const {
  return has(name) ? get_string(name, op) : fallback;
}
DType Attrs::get_dtype(std::string_view name, DType fallback, const char* op) const {
  return has(name) ? get_dtype(name, op) : fallback;
}

}  // namespace loom
