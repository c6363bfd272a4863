// Op attributes, the generic loom_op_call over the whole registry, and typed fast paths.
#include "errors.hpp"
#include "handles.hpp"
#include "loom/nn_ops.hpp"
#include "loom/ops.hpp"

using namespace loom::capi;

namespace {

const loom::Tensor& input(const loom_tensor* t, const char* argument) { return live(t, argument).value; }

using BinaryOp = loom::Tensor (*)(const loom::Tensor&, const loom::Tensor&);
loom_status binary(const char* function, BinaryOp op, const loom_tensor* a, const loom_tensor* b, loom_tensor** out) {
  return tensor_result(function, out, [&] { return op(input(a, "a"), input(b, "b")); });
}

template <class Value>
loom_status set_attr(const char* function, loom_attrs* attrs, const char* name, Value&& value) {
  return guarded(function, [&] { live(attrs, "attrs").value.set(string_arg(name, "name"), std::forward<Value>(value)); });
}

std::optional<std::vector<int64_t>> axes_arg(const int64_t* axes, int32_t n_axes) {
  if (n_axes < 0) return std::nullopt;
  return int_list(axes, n_axes, "axes");
}

}  // namespace

extern "C" {

LOOM_CAPI loom_status loom_attrs_new(loom_attrs** out) {
  return guarded("loom_attrs_new", [&] { out_param(out, "out") = new_handle<loom_attrs>(loom::Attrs()); });
}

LOOM_CAPI void loom_attrs_release(loom_attrs* attrs) { release_handle(attrs, "loom_attrs_release"); }

LOOM_CAPI loom_status loom_attrs_set_int(loom_attrs* attrs, const char* name, int64_t value) {
  return set_attr("loom_attrs_set_int", attrs, name, value);
}

LOOM_CAPI loom_status loom_attrs_set_float(loom_attrs* attrs, const char* name, double value) {
  return set_attr("loom_attrs_set_float", attrs, name, value);
}

LOOM_CAPI loom_status loom_attrs_set_bool(loom_attrs* attrs, const char* name, int32_t value) {
  return set_attr("loom_attrs_set_bool", attrs, name, value != 0);
}

LOOM_CAPI loom_status loom_attrs_set_string(loom_attrs* attrs, const char* name, const char* value) {
  return guarded("loom_attrs_set_string", [&] {
    live(attrs, "attrs").value.set(string_arg(name, "name"), std::string(string_arg(value, "value")));
  });
}

LOOM_CAPI loom_status loom_attrs_set_int_list(loom_attrs* attrs, const char* name, const int64_t* values, int32_t count) {
  return guarded("loom_attrs_set_int_list", [&] {
    live(attrs, "attrs").value.set(string_arg(name, "name"), int_list(values, count, "values"));
  });
}

LOOM_CAPI loom_status loom_attrs_set_float_list(loom_attrs* attrs, const char* name, const double* values,
                                                int32_t count) {
  return guarded("loom_attrs_set_float_list", [&] {
    count_arg(values, count, "values", "count");
    live(attrs, "attrs").value.set(string_arg(name, "name"), std::vector<double>(values, values + count));
  });
}

LOOM_CAPI loom_status loom_attrs_set_dtype(loom_attrs* attrs, const char* name, int32_t dtype) {
  return guarded("loom_attrs_set_dtype", [&] { live(attrs, "attrs").value.set(string_arg(name, "name"), dtype_arg(dtype)); });
}

LOOM_CAPI loom_status loom_op_call(const char* name, const loom_tensor* const* inputs, int32_t n_inputs,
                                   const loom_attrs* attrs, loom_tensor** outputs, int32_t capacity,
                                   int32_t* n_outputs) {
  return guarded("loom_op_call", [&] {
    const char* op = string_arg(name, "name");
    count_arg(inputs, n_inputs, "inputs", "n_inputs");
    count_arg(outputs, capacity, "outputs", "capacity");
    for (int32_t i = 0; i < capacity; ++i) outputs[i] = nullptr;
    std::vector<loom::Tensor> args;
    args.reserve(static_cast<size_t>(n_inputs));
    for (int32_t i = 0; i < n_inputs; ++i) {
      args.push_back(input(inputs[i], ("inputs[" + std::to_string(i) + "]").c_str()));
    }
    const loom::Attrs none;
    const std::vector<loom::Tensor> results =
        loom::call_op(op, args, attrs ? live(attrs, "attrs").value : none);
    require(results.size() <= static_cast<size_t>(capacity),
            std::string("[") + op + "] returns " + std::to_string(results.size()) +
                " outputs but capacity is " + std::to_string(capacity));
    for (size_t i = 0; i < results.size(); ++i) outputs[i] = new_handle<loom_tensor>(results[i]);
    if (n_outputs) *n_outputs = static_cast<int32_t>(results.size());
  });
}

LOOM_CAPI loom_status loom_op_count(int32_t* out) {
  return guarded("loom_op_count", [&] { value_out(out, "out") = static_cast<int32_t>(loom::list_ops().size()); });
}

LOOM_CAPI loom_status loom_op_name(int32_t index, char* buffer, size_t capacity) {
  return guarded("loom_op_name", [&] {
    const std::vector<std::string> names = loom::list_ops();
    require(index >= 0 && static_cast<size_t>(index) < names.size(),
            "index " + std::to_string(index) + " is out of range: there are " + std::to_string(names.size()) + " ops");
    copy_out(names[static_cast<size_t>(index)], buffer, capacity);
  });
}

LOOM_CAPI loom_status loom_add(const loom_tensor* a, const loom_tensor* b, loom_tensor** out) {
  return binary("loom_add", loom::add, a, b, out);
}
LOOM_CAPI loom_status loom_sub(const loom_tensor* a, const loom_tensor* b, loom_tensor** out) {
  return binary("loom_sub", loom::sub, a, b, out);
}
LOOM_CAPI loom_status loom_mul(const loom_tensor* a, const loom_tensor* b, loom_tensor** out) {
  return binary("loom_mul", loom::mul, a, b, out);
}
LOOM_CAPI loom_status loom_div(const loom_tensor* a, const loom_tensor* b, loom_tensor** out) {
  return binary("loom_div", loom::div, a, b, out);
}

LOOM_CAPI loom_status loom_matmul(const loom_tensor* a, const loom_tensor* b, int32_t transpose_a, int32_t transpose_b,
                                  loom_tensor** out) {
  return tensor_result("loom_matmul", out, [&] {
    return loom::matmul(input(a, "a"), input(b, "b"), transpose_a != 0, transpose_b != 0);
  });
}

LOOM_CAPI loom_status loom_exp(const loom_tensor* x, loom_tensor** out) {
  return tensor_result("loom_exp", out, [&] { return loom::exp(input(x, "x")); });
}

LOOM_CAPI loom_status loom_relu(const loom_tensor* x, loom_tensor** out) {
  return tensor_result("loom_relu", out, [&] { return loom::relu(input(x, "x")); });
}

LOOM_CAPI loom_status loom_reduce_sum(const loom_tensor* x, const int64_t* axes, int32_t n_axes, int32_t keepdims,
                                      loom_tensor** out) {
  return tensor_result("loom_reduce_sum", out,
                      [&] { return loom::reduce_sum(input(x, "x"), axes_arg(axes, n_axes), keepdims != 0); });
}

LOOM_CAPI loom_status loom_reduce_mean(const loom_tensor* x, const int64_t* axes, int32_t n_axes, int32_t keepdims,
                                       loom_tensor** out) {
  return tensor_result("loom_reduce_mean", out,
                      [&] { return loom::reduce_mean(input(x, "x"), axes_arg(axes, n_axes), keepdims != 0); });
}

LOOM_CAPI loom_status loom_reshape(const loom_tensor* x, const int64_t* dims, int32_t rank, loom_tensor** out) {
  return tensor_result("loom_reshape", out, [&] { return loom::reshape(input(x, "x"), shape_arg(dims, rank)); });
}

LOOM_CAPI loom_status loom_transpose(const loom_tensor* x, const int64_t* perm, int32_t n_perm, loom_tensor** out) {
  return tensor_result("loom_transpose", out,
                      [&] { return loom::transpose(input(x, "x"), int_list(perm, n_perm, "perm")); });
}

LOOM_CAPI loom_status loom_conv2d(const loom_tensor* x, const loom_tensor* filter, const loom_tensor* bias,
                                  const int64_t* strides, const char* padding, loom_tensor** out) {
  return tensor_result("loom_conv2d", out, [&] {
    loom::Conv2DOptions options;
    if (strides) options.strides = {strides[0], strides[1]};
    if (padding) options.padding = std::string(padding);
    return loom::conv2d(input(x, "x"), input(filter, "filter"), bias ? input(bias, "bias") : loom::Tensor(), options);
  });
}

LOOM_CAPI loom_status loom_softmax(const loom_tensor* x, int64_t axis, loom_tensor** out) {
  return tensor_result("loom_softmax", out, [&] { return loom::softmax(input(x, "x"), axis); });
}

}  // extern "C"
