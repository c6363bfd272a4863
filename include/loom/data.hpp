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

namespace loom::data {

// Reads an IDX file (optionally gzip-compressed): uint8/int8/int16/int32/float32/float64
// payloads of any rank. Bad magic numbers, unknown types and truncated files are IOErrors
// naming the path.
LOOM_API Tensor read_idx(const std::string& path);
// Writes an IDX file (gzip when the path ends in ".gz"), atomically.
LOOM_API void write_idx(const std::string& path, const Tensor& tensor);

// The four splits of MNIST or Fashion-MNIST, as keras.datasets.fashion_mnist.load_data():
// images uint8 (N, 28, 28), labels uint8 (N,).
struct MnistData {
  Tensor x_train, y_train, x_test, y_test;
};
// Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte from `dir`, each plain or gzipped (the same name ending in ".gz").
// A missing file is an IOError naming both names it looked for.
LOOM_API MnistData load_mnist(const std::string& dir);

// A pipeline over examples (tuples of tensors sharing their first axis), as tf.data:
// Dataset::from_tensors({x, y}).shuffle(seed).batch(32). Iterating yields elements (vectors of
// tensors): examples, or batches after batch().
class LOOM_API Dataset {
 public:
  using Element = std::vector<Tensor>;
  static Dataset from_tensors(std::vector<Tensor> columns);

  // A new order each pass (epoch), reproducible from the seed.
  Dataset shuffle(uint64_t seed) const;
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  Dataset repeat(int64_t count = -1) const;  // -1: forever
  Dataset map(std::function<Element(const Element&)> fn) const;

  // Number of elements a pass yields; -1 when infinite.
  int64_t cardinality() const;

  class LOOM_API Iterator {
   public:
    bool next(Element& out);  // false at the end

   private:
    friend class Dataset;
    struct State;
    std::shared_ptr<State> state_;
  };
  Iterator iterate() const;
  // All elements of one pass (finite datasets only).
  std::vector<Element> collect() const;

  struct Stage;

 private:
  std::vector<Tensor> columns_;
  std::vector<std::shared_ptr<const Stage>> stages_;
};

// Indices of fold `fold` of `k` over n examples (the seed chapter's get_k_fold_data): the
// validation part is the fold-th contiguous slice, the training part the rest.
LOOM_API std::pair<Tensor, Tensor> k_fold_indices(int64_t n, int64_t k, int64_t fold);
// (x_train, y_train, x_valid, y_valid) for fold `fold` of `k`.
LOOM_API std::vector<Tensor> k_fold_split(const Tensor& x, const Tensor& y, int64_t k, int64_t fold);

}  // namespace loom::data
