#pragma once
// Datasets from in-memory tensors, the IDX file format (MNIST / Fashion-MNIST) and K-fold splits.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loom/export.hpp"
#include "loom/tensor.hpp"

/// Datasets from in-memory tensors, the IDX file format (MNIST / Fashion-MNIST) and K-fold
/// splits.
namespace loom::data {

/// Reads an IDX file (optionally gzip-compressed) into a tensor: uint8 payloads give uint8,
/// int8/int16/int32 give int32, float32 and float64 keep their type; any rank. Bad magic
/// numbers, unknown types and truncated files are IOErrors naming the path.
LOOM_API Tensor read_idx(const std::string& path);
/// Writes an IDX file (gzip when the path ends in ".gz"), atomically. The tensor must be
/// uint8, int32, float32 or float64 (DTypeError otherwise).
LOOM_API void write_idx(const std::string& path, const Tensor& tensor);

/// The four splits of MNIST or Fashion-MNIST, as keras.datasets.fashion_mnist.load_data():
/// images uint8 (N, 28, 28), labels uint8 (N,).
struct MnistData {
  /// x_train, y_train: the training images and labels; x_test, y_test: the test ones.
  Tensor x_train, y_train, x_test, y_test;
  /// \var loom::data::MnistData::y_train
  /// Training labels, uint8 (N,).
  ///
  /// \var loom::data::MnistData::x_test
  /// Test images, uint8 (N, 28, 28).
  ///
  /// \var loom::data::MnistData::y_test
  /// Test labels, uint8 (N,).
};
/// Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte from `dir`, each plain or gzipped (the same name ending in ".gz").
/// A missing file is an IOError naming both names it looked for; so are images and labels of
/// different counts.
LOOM_API MnistData load_mnist(const std::string& dir);

/// A permutation of [0, n) drawn from `seed` (Fisher-Yates on splitmix64): the same on every
/// platform, so shuffled orders are reproducible anywhere. Dataset::shuffle and fit() use it.
LOOM_API std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

/// A pipeline over examples (tuples of tensors sharing their first axis), as tf.data.
///
/// `Dataset::from_tensors({x, y}).shuffle(seed).batch(32)`. Iterating yields elements (vectors
/// of tensors): examples, or batches after batch(). Datasets are immutable values: each method
/// returns a new one. shuffle and shard come before the other stages and batch (once) before
/// map; another order is an InvalidArgument.
class LOOM_API Dataset {
 public:
  /// One element: one tensor per column (an example, or a batch of examples).
  using Element = std::vector<Tensor>;
  /// A dataset whose examples are the rows (first-axis entries) of the columns. InvalidArgument
  /// for no columns; ShapeError unless all have the same first dimension.
  static Dataset from_tensors(std::vector<Tensor> columns);

  /// Shuffles the examples: a new order each pass (epoch), reproducible from the seed. Must
  /// come before repeat, batch and map.
  Dataset shuffle(uint64_t seed) const;
  /// Keeps every `num_shards`-th example starting at the `index`-th (tf.data's shard): with
  /// `shard(dist::size(), dist::rank())` each rank of a data-parallel job reads its own part,
  /// and batch i of every rank together hold the examples of batch i of the unsharded data
  /// batched by num_shards times the size. After a shuffle with the same seed on every rank, the
  /// ranks share each pass's order. Must come before repeat, batch and map; InvalidArgument
  /// unless num_shards >= 1 and 0 <= index < num_shards.
  Dataset shard(int64_t num_shards, int64_t index) const;
  /// Groups consecutive examples into batches of `batch_size` (>= 1) along a new first axis;
  /// with `drop_remainder` a last, smaller batch is dropped. Once, and before map.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  /// Passes over the data `count` times (>= 1), or forever with -1 (InvalidArgument otherwise).
  /// Batches run across pass boundaries.
  Dataset repeat(int64_t count = -1) const;
  /// Applies `fn` to every element (after batching, if any).
  Dataset map(std::function<Element(const Element&)> fn) const;

  /// Number of elements a pass yields; -1 when infinite.
  int64_t cardinality() const;

  /// Walks a dataset once, element by element; copies share the position.
  class LOOM_API Iterator {
   public:
    /// Writes the next element to `out` and returns true, or returns false at the end.
    bool next(Element& out);

   private:
    friend class Dataset;
    struct State;
    std::shared_ptr<State> state_;
  };
  /// An iterator at the first element.
  Iterator iterate() const;
  /// All elements of one pass (finite datasets only: InvalidArgument when repeating forever).
  std::vector<Element> collect() const;

  /// One stage of the pipeline (shuffle, batch, repeat or map); defined in the library only.
  struct Stage;

 private:
  bool only_reorderings_so_far() const;
  std::vector<Tensor> columns_;
  std::vector<std::shared_ptr<const Stage>> stages_;
};

/// Indices (int64) of fold `fold` of `k` over n examples, as (train, validation).
///
/// The validation part is the fold-th contiguous slice of n / k examples, the training part the
/// rest. InvalidArgument unless 2 <= k <= n and 0 <= fold < k.
LOOM_API std::pair<Tensor, Tensor> k_fold_indices(int64_t n, int64_t k, int64_t fold);
/// (x_train, y_train, x_valid, y_valid) for fold `fold` of `k`; ShapeError unless x and y have
/// the same number of examples.
LOOM_API std::vector<Tensor> k_fold_split(const Tensor& x, const Tensor& y, int64_t k, int64_t fold);

}  // namespace loom::data
