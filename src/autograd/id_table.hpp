#pragma once
// Open-addressing hash table keyed by tensor id (ids are never 0). The tape inserts a few ids
// per recorded op; node-based std::unordered_* tables spent a malloc on each.
#include <cstdint>
#include <utility>
#include <vector>

namespace loom::detail {

template <class Value>
class IdTable {
 public:
  // Returns the value for `id`, inserting a default one if absent; `inserted` tells which.
  Value& get_or_insert(uint64_t id, bool* inserted = nullptr) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    size_t i = index(id);
    while (slots_[i].first != 0 && slots_[i].first != id) i = (i + 1) & (slots_.size() - 1);
    const bool fresh = slots_[i].first == 0;
    if (fresh) {
      slots_[i].first = id;
      ++size_;
    }
    if (inserted) *inserted = fresh;
    return slots_[i].second;
  }
  Value* find(uint64_t id) {
    if (slots_.empty()) return nullptr;
    for (size_t i = index(id);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].first == id) return &slots_[i].second;
      if (slots_[i].first == 0) return nullptr;
    }
  }
  bool contains(uint64_t id) const { return const_cast<IdTable*>(this)->find(id) != nullptr; }
  size_t size() const { return size_; }
  void clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  size_t index(uint64_t id) const { return (id * 0x9E3779B97F4A7C15ull >> 20) & (slots_.size() - 1); }
  void grow() {
    std::vector<std::pair<uint64_t, Value>> old(slots_.empty() ? 16 : slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (auto& [id, value] : old) {
      if (id != 0) get_or_insert(id) = std::move(value);
    }
  }
  std::vector<std::pair<uint64_t, Value>> slots_;
  size_t size_ = 0;
};

// A set of ids.
class IdSet {
 public:
  bool insert(uint64_t id) {
    bool inserted = false;
    table_.get_or_insert(id, &inserted);
    return inserted;
  }
  bool contains(uint64_t id) const { return table_.contains(id); }
  void clear() { table_.clear(); }

 private:
  IdTable<char> table_;
};

}  // namespace loom::detail
