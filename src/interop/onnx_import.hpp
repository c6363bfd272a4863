#pragma once
// ONNX import: the values of the graph as the importer holds them, the node being converted, and
// the table of operator converters.
//
// An ONNX value is either a constant known while importing (initializers, Constant nodes and what
// is computed from them alone) or a tensor of the loom functional graph. ONNX images are NCHW and
// loom's convolutions and pooling NHWC, so a loom tensor may hold its ONNX value transposed to
// NHWC (channels_last): convolution, pooling and batch normalization produce those, elementwise
// operators keep them, and operators that depend on the memory order (Flatten, Reshape, Gemm, the
// graph's outputs) get the ONNX layout back through a Permute layer (made once per value).
#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loom/nn/functional.hpp"

namespace loom::interop {

struct ImportValue {
  std::optional<Tensor> constant;  // known while importing
  nn::SymbolicTensor symbolic;     // else: a tensor of the loom graph
  bool channels_last = false;      // the symbolic tensor is the NCHW value transposed to NHWC

  static ImportValue of(Tensor t) { return ImportValue{std::move(t), {}, false}; }
  static ImportValue of(nn::SymbolicTensor t, bool channels_last = false) { return ImportValue{{}, std::move(t), channels_last}; }
  bool is_constant() const { return constant.has_value(); }
};

// What the importer keeps across nodes: the values by name, the layout changes made so far, the
// layer names taken, and the batch size the file declares (when it declares one).
struct ImportState {
  std::string path;
  std::optional<int64_t> declared_batch;
  std::map<std::string, ImportValue> values;
  std::map<std::pair<std::string, bool>, nn::SymbolicTensor> relayouts;
  std::set<std::string> layer_names;
};

// The node being converted, with typed access to its inputs and attributes and errors that name
// it: "[import_onnx] 'model.onnx': node 'conv1' (Conv): ...".
class OnnxNode {
 public:
  OnnxNode(const onnx::NodeProto& node, ImportState& state) : node_(node), state_(state) {}

  const onnx::NodeProto& proto() const { return node_; }
  // The batch size the file's inputs declare, when they declare one.
  std::optional<int64_t> declared_batch() const { return state_.declared_batch; }
  // Whether input i is given (optional inputs may be missing or named "").
  bool has_input(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  int input_count() const { return node_.input_size(); }
  const ImportValue& input(int i) const;
  // Input i, which must be a constant (UnimplementedError naming `what` otherwise).
  const Tensor& constant(int i, const std::string& what) const;
  // Input i as constant integers.
  std::vector<int64_t> constant_ints(int i, const std::string& what) const;
  // Whether every given input is a constant.
  bool all_constant() const;

  int64_t attr_int(const std::string& name, int64_t fallback) const;
  double attr_float(const std::string& name, double fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> fallback) const;
  const onnx::AttributeProto* find_attr(const std::string& name) const;

  // The ONNX shape of a value (batch axis -1 for a graph tensor).
  Shape onnx_shape(const ImportValue& v) const;
  // Input i as a graph tensor in the ONNX layout, or transposed to NHWC (rank 4).
  nn::SymbolicTensor in_onnx_layout(int i);
  nn::SymbolicTensor channels_last(int i);
  // A value in the ONNX layout / NHWC for another node's value (what in_onnx_layout does).
  nn::SymbolicTensor relayout(const std::string& value_name, const ImportValue& v, bool to_channels_last);

  // A layer name for this node that no other layer has ("conv1_Conv", "conv1_Conv_1", ...).
  std::string layer_name(const std::string& suffix = "");
  // Calls `layer` on `inputs` (as a list when several), naming this node in shape errors.
  nn::SymbolicTensor apply(const nn::LayerPtr& layer, const std::vector<nn::SymbolicTensor>& inputs);
  // Assigns `values` to the weights of a layer that `apply` has built, naming this node on a
  // mismatch.
  void set_weights(const nn::LayerPtr& layer, const std::vector<Tensor>& values);

  [[noreturn]] void unsupported(const std::string& what) const;
  [[noreturn]] void malformed(const std::string& what) const;
  // The prefix of every message about this node.
  std::string where() const;

 private:
  const onnx::NodeProto& node_;
  ImportState& state_;
};

using OnnxConverter = std::function<std::vector<ImportValue>(OnnxNode&)>;

// The converters by ONNX operator (op_type of the default domain).
const std::map<std::string, OnnxConverter>& onnx_converters();
// Adds the converters of one family (nn layers, math, tensor shapes) to `table`.
void add_layer_converters(std::map<std::string, OnnxConverter>& table);
void add_math_converters(std::map<std::string, OnnxConverter>& table);
void add_shape_converters(std::map<std::string, OnnxConverter>& table);

// ONNX axis `axis` (normalized) of a rank-4 value held NHWC: where it lies in loom's tensor.
inline int64_t channels_last_axis(int64_t axis) {
  static const int64_t kLoomAxis[] = {0, 3, 1, 2};  // N, C, H, W -> N, H, W, C
  return kLoomAxis[axis];
}

// A constant of ONNX shape broadcast against a rank-4 NCHW value, laid out for the NHWC tensor
// (right-aligned to rank 4, then transposed); nullopt when its rank is above 4.
std::optional<Tensor> channels_last_constant(const Tensor& c);

}  // namespace loom::interop
