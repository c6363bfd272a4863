// ONNX's operators on shapes and layouts (Reshape, Flatten, Transpose, Concat, Squeeze,
// Unsqueeze, Pad, Gather, Cast), constants, and Identity. A graph tensor keeps its batch axis
// first: an operator that would move or merge it is not imported.
#include <numeric>

#include "interop/onnx_import.hpp"
#include "interop/onnx_proto.hpp"
#include "loom/creation.hpp"
#include "loom/nn/layers.hpp"
#include "loom/ops.hpp"

namespace loom::interop {
namespace {

using Values = std::vector<ImportValue>;

int64_t normalized_axis(const OnnxNode& n, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) n.malformed("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

int64_t product(const Shape& s, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < s.size(); ++i) p *= s[i];
  return p;
}

// A Reshape layer to ONNX shape `out` (batch axis first) of input 0 in the ONNX layout.
Values reshape_to(OnnxNode& n, const Shape& out) {
  auto layer = std::make_shared<nn::Reshape>(Shape(std::vector<int64_t>(out.begin() + 1, out.end())), n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.in_onnx_layout(0)}))};
}

Values reshape(OnnxNode& n) {
  const ImportValue& x = n.input(0);
  const Shape in = n.onnx_shape(x);
  std::vector<int64_t> target = n.constant_ints(1, "the shape");
  const bool allow_zero = n.attr_int("allowzero", 0) != 0;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] != 0 || allow_zero) continue;
    if (i >= in.size()) n.malformed("shape entry " + std::to_string(i) + " copies an axis the input does not have");
    target[i] = in[i];
  }
  if (x.is_constant()) return {ImportValue::of(loom::reshape(*x.constant, Shape(target)))};
  // The first axis must stay the batch axis: copied, inferred from the rest, or the file's batch size.
  const Shape rest(std::vector<int64_t>(target.begin() + (target.empty() ? 0 : 1), target.end()));
  const bool rest_known = std::none_of(rest.begin(), rest.end(), [](int64_t d) { return d < 0; });
  const bool keeps_batch = !target.empty() && (target[0] == -1 ? rest_known && product(rest, 0) == product(in, 1)
                                                               : n.declared_batch() == target[0]);
  if (!keeps_batch) n.unsupported("a reshape to " + Shape(target).str() + " of shape " + in.str() + " moves the batch axis");
  Shape out{-1};
  for (int64_t d : rest) out.push_back(d);
  return reshape_to(n, out);
}

Values flatten(OnnxNode& n) {
  const ImportValue& x = n.input(0);
  const Shape in = n.onnx_shape(x);
  const int64_t axis = normalized_axis(n, n.attr_int("axis", 1), in.rank() + 1);
  if (x.is_constant()) {
    const int64_t outer = std::accumulate(in.begin(), in.begin() + axis, int64_t{1}, std::multiplies<>());
    return {ImportValue::of(loom::reshape(*x.constant, {outer, -1}))};
  }
  if (axis != 1) n.unsupported("Flatten is imported for axis 1 (per example), got axis " + std::to_string(axis));
  return {ImportValue::of(n.apply(std::make_shared<nn::Flatten>(n.layer_name()), {n.in_onnx_layout(0)}))};
}

Values transpose(OnnxNode& n) {
  const ImportValue& x = n.input(0);
  const int rank = n.onnx_shape(x).rank();
  std::vector<int64_t> perm = n.attr_ints("perm", {});
  if (perm.empty()) {
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int>(perm.size()) != rank) n.malformed("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
  if (x.is_constant()) return {ImportValue::of(loom::transpose(*x.constant, perm))};
  if (perm[0] != 0) n.unsupported("a transpose that moves the batch axis is not imported");
  // The layout changes NHWC <-> NCHW are what loom's tensors already hold.
  if (perm == std::vector<int64_t>{0, 2, 3, 1} && x.channels_last) return {ImportValue::of(x.symbolic, false)};
  if (perm == std::vector<int64_t>{0, 3, 1, 2} && !x.channels_last) return {ImportValue::of(x.symbolic, true)};
  auto layer = std::make_shared<nn::Permute>(std::vector<int64_t>(perm.begin() + 1, perm.end()), n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.in_onnx_layout(0)}))};
}

Values concat(OnnxNode& n) {
  if (n.input_count() == 0) n.malformed("needs at least one input");
  const int rank = n.onnx_shape(n.input(0)).rank();
  const int64_t axis = normalized_axis(n, n.attr_int("axis", 0), rank);
  if (n.all_constant()) {
    std::vector<Tensor> parts;
    for (int i = 0; i < n.input_count(); ++i) parts.push_back(*n.input(i).constant);
    return {ImportValue::of(loom::concat(parts, axis))};
  }
  bool channels_last = true;
  for (int i = 0; i < n.input_count(); ++i) {
    if (n.input(i).is_constant()) n.unsupported("joining graph tensors with constants is not imported");
    channels_last = channels_last && n.input(i).channels_last;
  }
  if (axis == 0) n.unsupported("joining along the batch axis is not imported");
  std::vector<nn::SymbolicTensor> parts;
  for (int i = 0; i < n.input_count(); ++i) parts.push_back(channels_last ? n.input(i).symbolic : n.in_onnx_layout(i));
  auto layer = std::make_shared<nn::Concatenate>(channels_last ? channels_last_axis(axis) : axis, n.layer_name());
  return {ImportValue::of(n.apply(layer, parts), channels_last)};
}

// Squeeze and Unsqueeze: the axes from input 1 (or the opset's attribute), as a reshape.
Values squeeze(OnnxNode& n, bool unsqueeze) {
  const ImportValue& x = n.input(0);
  const Shape in = n.onnx_shape(x);
  std::vector<int64_t> axes = n.has_input(1) ? n.constant_ints(1, "axes") : n.attr_ints("axes", {});
  const int out_rank = unsqueeze ? in.rank() + static_cast<int>(axes.size()) : in.rank();
  for (int64_t& a : axes) a = normalized_axis(n, a, out_rank);
  Shape out;
  if (unsqueeze) {
    for (int64_t i = 0, next = 0; i < out_rank; ++i) {
      out.push_back(std::find(axes.begin(), axes.end(), i) != axes.end() ? 1 : in[static_cast<size_t>(next++)]);
    }
  } else {
    for (int64_t i = 0; i < in.rank(); ++i) {
      const bool listed = std::find(axes.begin(), axes.end(), i) != axes.end();
      if (listed && in[static_cast<size_t>(i)] != 1) n.malformed("axis " + std::to_string(i) + " of shape " + in.str() + " is not 1");
      if (!listed && !(axes.empty() && i > 0 && in[static_cast<size_t>(i)] == 1)) out.push_back(in[static_cast<size_t>(i)]);
    }
  }
  if (x.is_constant()) return {ImportValue::of(loom::reshape(*x.constant, out))};
  if (std::find(axes.begin(), axes.end(), 0) != axes.end()) n.unsupported("squeezing or unsqueezing the batch axis is not imported");
  return reshape_to(n, out);
}

Values pad(OnnxNode& n) {
  if (n.attr_string("mode", "constant") != "constant") n.unsupported("only constant padding is imported");
  const ImportValue& x = n.input(0);
  const int rank = n.onnx_shape(x).rank();
  const std::vector<int64_t> pads = n.constant_ints(1, "pads");
  if (static_cast<int>(pads.size()) != 2 * rank) n.malformed("pads has " + std::to_string(pads.size()) + " values for rank " + std::to_string(rank));
  const double value = n.has_input(2) ? n.constant(2, "constant_value").item<double>() : 0.0;
  const bool channels_last = !x.is_constant() && x.channels_last;
  std::vector<int64_t> paddings;  // loom's {before, after} per axis of the tensor it holds
  for (int64_t j = 0; j < rank; ++j) {
    const int64_t axis = channels_last ? std::vector<int64_t>{0, 2, 3, 1}[static_cast<size_t>(j)] : j;
    paddings.push_back(pads[static_cast<size_t>(axis)]);
    paddings.push_back(pads[static_cast<size_t>(axis + rank)]);
  }
  if (std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; })) return {x};  // PyTorch writes these
  const Attrs attrs{{"paddings", paddings}, {"value", value}};
  if (x.is_constant()) return {ImportValue::of(call_op("pad", {*x.constant}, attrs).at(0))};
  if (paddings[0] != 0 || paddings[1] != 0) n.unsupported("padding the batch axis is not imported");
  auto layer = std::make_shared<nn::OpLayer>("pad", attrs, std::vector<int64_t>{0}, std::vector<Tensor>{}, n.layer_name());
  return {ImportValue::of(n.apply(layer, {x.symbolic}), channels_last)};
}

Values constant(OnnxNode& n) {
  const auto& attrs = n.proto().attribute();
  if (attrs.size() != 1) n.malformed("needs exactly one value attribute");
  const onnx::AttributeProto& a = attrs[0];
  if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) return {ImportValue::of(from_tensor_proto(a.t(), n.where() + "value"))};
  if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) return {ImportValue::of(fill({}, a.f(), DType::Float32))};
  if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) return {ImportValue::of(fill({}, static_cast<double>(a.i()), DType::Int64))};
  if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
    return {ImportValue::of(loom::constant(std::vector<double>(a.floats().begin(), a.floats().end())))};
  }
  if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
    return {ImportValue::of(loom::constant(std::vector<int64_t>(a.ints().begin(), a.ints().end())))};
  }
  n.unsupported("constants of attribute '" + a.name() + "' are not imported");
}

// The shape of a constant, or the known axes of a graph tensor (never its batch size).
Values shape(OnnxNode& n) {
  const Shape in = n.onnx_shape(n.input(0));
  const int rank = in.rank();
  int64_t start = n.attr_int("start", 0), end = n.attr_int("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  std::vector<int64_t> dims(in.begin() + start, in.begin() + std::max(start, end));
  if (std::find(dims.begin(), dims.end(), -1) != dims.end()) n.unsupported("the shape of a graph tensor depends on the batch size");
  return {ImportValue::of(loom::constant(dims))};
}

Values gather(OnnxNode& n) {
  const ImportValue& x = n.input(0);
  const Shape in = n.onnx_shape(x);
  const int64_t axis = normalized_axis(n, n.attr_int("axis", 0), in.rank());
  Tensor indices = n.constant(1, "indices");
  if (indices.dtype() != DType::Int64 && indices.dtype() != DType::Int32) n.malformed("indices must be integers");
  if (in[static_cast<size_t>(axis)] > 0) {  // negative indices count from the end
    const Tensor size = fill({}, static_cast<double>(in[static_cast<size_t>(axis)]), indices.dtype());
    indices = where(less(indices, zeros_like(indices)), indices + size, indices);
  }
  if (x.is_constant()) return {ImportValue::of(loom::gather(*x.constant, indices, axis))};
  if (axis == 0) n.unsupported("gathering along the batch axis is not imported");
  auto layer = std::make_shared<nn::OpLayer>("gather", Attrs{{"axis", axis}}, std::vector<int64_t>{0, -1},
                                             std::vector<Tensor>{indices}, n.layer_name());
  return {ImportValue::of(n.apply(layer, {n.in_onnx_layout(0)}))};
}

Values cast_to(OnnxNode& n) {
  const DType dtype = dtype_of_onnx(static_cast<int32_t>(n.attr_int("to", 0)), n.where() + "attribute 'to'");
  const ImportValue& x = n.input(0);
  if (x.is_constant()) return {ImportValue::of(cast(*x.constant, dtype))};
  auto layer = std::make_shared<nn::OpLayer>("cast", Attrs{{"dtype", dtype}}, std::vector<int64_t>{0}, std::vector<Tensor>{},
                                             n.layer_name());
  return {ImportValue::of(n.apply(layer, {x.symbolic}), x.channels_last)};
}

}  // namespace

void add_shape_converters(std::map<std::string, OnnxConverter>& t) {
  t["Reshape"] = reshape;
  t["Flatten"] = flatten;
  t["Transpose"] = transpose;
  t["Concat"] = concat;
  t["Squeeze"] = [](OnnxNode& n) { return squeeze(n, false); };
  t["Unsqueeze"] = [](OnnxNode& n) { return squeeze(n, true); };
  t["Pad"] = pad;
  t["Constant"] = constant;
  t["Shape"] = shape;
  t["Gather"] = gather;
  t["Cast"] = cast_to;
  t["Identity"] = [](OnnxNode& n) { return Values{n.input(0)}; };
}

}  // namespace loom::interop
