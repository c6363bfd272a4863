#include <numeric>

#include "loom/creation.hpp"
#include "loom/data.hpp"
#include "loom/error.hpp"
#include "loom/ops.hpp"

namespace loom::data {

// Stages apply in order to the stream of elements of the source (one example per index).
struct Dataset::Stage {
  enum class Kind { Shuffle, Shard, Batch, Repeat, Map } kind;
  uint64_t seed = 0;
  int64_t size = 0;
  bool drop_remainder = false;
  int64_t count = 0;
  std::function<Element(const Element&)> fn;
  int64_t index = 0;  // shard: which one (size: how many)
};


// A pull-based pipeline: each stage keeps its own position.
struct Dataset::Iterator::State {
  std::vector<Tensor> columns;
  std::vector<std::shared_ptr<const Stage>> stages;
  // Source: indices (after shuffles) of the current pass.
  int64_t n = 0;
  int64_t pass = 0;
  int64_t position = 0;
  std::vector<int64_t> order;
  int64_t repeats_done = 0;

  // Shuffles and shards apply to the order of the examples in the order they were given.
  void start_pass() {
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    for (const auto& s : stages) {
      if (s->kind == Stage::Kind::Shuffle) {
        const auto perm = seeded_permutation(static_cast<int64_t>(order.size()), s->seed + 0x9E37ull * static_cast<uint64_t>(pass));
        std::vector<int64_t> shuffled(order.size());
        for (size_t i = 0; i < order.size(); ++i) shuffled[i] = order[static_cast<size_t>(perm[i])];
        order.swap(shuffled);
      } else if (s->kind == Stage::Kind::Shard) {  // every size-th example, from the index-th on
        std::vector<int64_t> kept;
        for (size_t i = static_cast<size_t>(s->index); i < order.size(); i += static_cast<size_t>(s->size)) kept.push_back(order[i]);
        order.swap(kept);
      }
    }
    position = 0;
  }

  // Examples come out one by one, or gathered in batches when a batch stage follows directly.
  bool next_indices(int64_t want, bool drop_remainder, std::vector<int64_t>& idx) {
    idx.clear();
    while (static_cast<int64_t>(idx.size()) < want) {
      if (position >= static_cast<int64_t>(order.size())) {
        const int64_t repeat = repeat_count();
        if (repeat == 0 || (repeat > 0 && repeats_done + 1 >= repeat) || order.empty()) break;
        ++repeats_done;
        ++pass;
        start_pass();
      }
      idx.push_back(order[static_cast<size_t>(position++)]);
    }
    if (idx.empty() || (drop_remainder && static_cast<int64_t>(idx.size()) < want)) return false;
    return true;
  }

  int64_t repeat_count() const {
    for (const auto& s : stages) {
      if (s->kind == Stage::Kind::Repeat) return s->count;
    }
    return 0;
  }
};

bool Dataset::Iterator::next(Element& out) {
  State& st = *state_;
  int64_t want = 1;
  bool drop = false, batched = false;
  for (const auto& s : st.stages) {
    if (s->kind == Stage::Kind::Batch) {
      want = s->size;
      drop = s->drop_remainder;
      batched = true;
      break;
    }
  }
  std::vector<int64_t> idx;
  if (!st.next_indices(want, drop, idx)) return false;
  out.clear();
  const Tensor index = constant(idx);
  for (const Tensor& c : st.columns) {
    Tensor g = gather(c, index);
    out.push_back(batched ? g : squeeze(g, {0}));
  }
  for (const auto& s : st.stages) {
    if (s->kind == Stage::Kind::Map) out = s->fn(out);
  }
  return true;
}

Dataset Dataset::from_tensors(std::vector<Tensor> columns) {
  if (columns.empty()) throw InvalidArgument("[Dataset.from_tensors] needs at least one tensor");
  for (const Tensor& c : columns) {
    if (!c.defined() || c.rank() < 1 || c.dim(0) != columns[0].dim(0)) {
      throw ShapeError("[Dataset.from_tensors] every tensor needs the same first axis (examples); got " +
                       (c.defined() ? c.shape().str() : std::string("an empty handle")) + " and " + columns[0].shape().str());
    }
  }
  Dataset d;
  d.columns_ = std::move(columns);
  return d;
}

// Shuffle and shard come before the other stages: whether only they came so far.
bool Dataset::only_reorderings_so_far() const {
  for (const auto& s : stages_) {
    if (s->kind != Stage::Kind::Shuffle && s->kind != Stage::Kind::Shard) return false;
  }
  return true;
}

Dataset Dataset::shuffle(uint64_t seed) const {
  if (!only_reorderings_so_far()) throw InvalidArgument("[Dataset.shuffle] shuffle before batch, repeat and map");
  Dataset d = *this;
  d.stages_.push_back(std::make_shared<Stage>(Stage{Stage::Kind::Shuffle, seed, 0, false, 0, nullptr}));
  return d;
}

Dataset Dataset::shard(int64_t num_shards, int64_t index) const {
  if (num_shards < 1 || index < 0 || index >= num_shards) {
    throw InvalidArgument("[Dataset.shard] needs num_shards >= 1 and 0 <= index < num_shards, got num_shards=" +
                          std::to_string(num_shards) + " index=" + std::to_string(index));
  }
  if (!only_reorderings_so_far()) throw InvalidArgument("[Dataset.shard] shard before batch, repeat and map");
  Dataset d = *this;
  d.stages_.push_back(std::make_shared<Stage>(Stage{Stage::Kind::Shard, 0, num_shards, false, 0, nullptr, index}));
  return d;
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  if (batch_size < 1) throw InvalidArgument("[Dataset.batch] batch_size must be >= 1");
  for (const auto& s : stages_) {
    if (s->kind == Stage::Kind::Batch || s->kind == Stage::Kind::Map) {
      throw InvalidArgument("[Dataset.batch] batch once, before map");
    }
  }
  Dataset d = *this;
  d.stages_.push_back(std::make_shared<Stage>(Stage{Stage::Kind::Batch, 0, batch_size, drop_remainder, 0, nullptr}));
  return d;
}

Dataset Dataset::repeat(int64_t count) const {
  if (count == 0 || count < -1) throw InvalidArgument("[Dataset.repeat] count must be >= 1 or -1 (forever)");
  Dataset d = *this;
  d.stages_.push_back(std::make_shared<Stage>(Stage{Stage::Kind::Repeat, 0, 0, false, count, nullptr}));
  return d;
}

Dataset Dataset::map(std::function<Element(const Element&)> fn) const {
  if (!fn) throw InvalidArgument("[Dataset.map] the function is empty");
  Dataset d = *this;
  d.stages_.push_back(std::make_shared<Stage>(Stage{Stage::Kind::Map, 0, 0, false, 0, std::move(fn)}));
  return d;
}

int64_t Dataset::cardinality() const {
  int64_t n = columns_[0].dim(0);
  for (const auto& s : stages_) {
    if (s->kind == Stage::Kind::Shard) n = n > s->index ? (n - s->index + s->size - 1) / s->size : 0;
  }
  for (const auto& s : stages_) {
    if (s->kind == Stage::Kind::Repeat) {
      if (s->count < 0) return -1;
      n *= s->count;
    }
  }
  for (const auto& s : stages_) {
    if (s->kind == Stage::Kind::Batch) n = s->drop_remainder ? n / s->size : (n + s->size - 1) / s->size;
  }
  return n;
}

Dataset::Iterator Dataset::iterate() const {
  Iterator it;
  it.state_ = std::make_shared<Iterator::State>();
  it.state_->columns = columns_;
  it.state_->stages = stages_;
  it.state_->n = columns_[0].dim(0);
  it.state_->start_pass();
  return it;
}

std::vector<Dataset::Element> Dataset::collect() const {
  if (cardinality() < 0) throw InvalidArgument("[Dataset.collect] the dataset repeats forever");
  std::vector<Element> out;
  Iterator it = iterate();
  Element e;
  while (it.next(e)) out.push_back(e);
  return out;
}

std::pair<Tensor, Tensor> k_fold_indices(int64_t n, int64_t k, int64_t fold) {
  if (k < 2 || fold < 0 || fold >= k || n < k) {
    throw InvalidArgument("[k_fold] needs 2 <= k <= n and 0 <= fold < k, got n=" + std::to_string(n) +
                          " k=" + std::to_string(k) + " fold=" + std::to_string(fold));
  }
  const int64_t size = n / k;  // as the seed's get_k_fold_data: equal folds, the rest trains
  std::vector<int64_t> train, valid;
  for (int64_t i = 0; i < n; ++i) {
    (i >= fold * size && i < (fold + 1) * size ? valid : train).push_back(i);
  }
  return {constant(train), constant(valid)};
}

std::vector<Tensor> k_fold_split(const Tensor& x, const Tensor& y, int64_t k, int64_t fold) {
  if (!x.defined() || !y.defined() || x.rank() < 1 || y.rank() < 1 || x.dim(0) != y.dim(0)) {
    throw ShapeError("[k_fold_split] x and y need the same number of examples");
  }
  const auto [train, valid] = k_fold_indices(x.dim(0), k, fold);
  return {gather(x, train), gather(y, train), gather(x, valid), gather(y, valid)};
}

// Fisher-Yates on splitmix64: the same order on every platform and compiler.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  uint64_t s = seed;
  for (int64_t i = n - 1; i > 0; --i) {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(z % static_cast<uint64_t>(i + 1))]);
  }
  return order;
}


}  // namespace loom::data
