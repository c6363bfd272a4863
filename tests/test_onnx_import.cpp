// ONNX import (import_onnx): CNNs exported by PyTorch predict as PyTorch does and train with fit,
// loom's own exports come back unchanged, and malformed or unsupported files are clean errors.
// The PyTorch files and their outputs are golden files (tests/golden/make_torch_onnx.py).
#include <filesystem>
#include <fstream>

#include "interop/onnx_proto.hpp"
#include "loom/interop.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

using namespace loom::nn;

const std::string kOnnxGolden = std::string(LOOM_GOLDEN_DIR) + "/onnx/";

// Small ONNX graphs written with libonnx's classes, for the error paths.
class OnnxFile {
 public:
  explicit OnnxFile(int opset = 13) {
    model_.set_ir_version(8);
    auto& domain = *model_.add_opset_import();
    domain.set_domain("");
    domain.set_version(opset);
    model_.mutable_graph()->set_name("tiny");
  }
  // An input of float32 with `dims`; -1 is a named (unknown) axis.
  OnnxFile& input(const std::string& name, const std::vector<int64_t>& dims) {
    auto& info = *model_.mutable_graph()->add_input();
    info.set_name(name);
    auto& tensor = *info.mutable_type()->mutable_tensor_type();
    tensor.set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      if (d < 0) tensor.mutable_shape()->add_dim()->set_dim_param("n");
      else tensor.mutable_shape()->add_dim()->set_dim_value(d);
    }
    return *this;
  }
  OnnxFile& output(const std::string& name) {
    auto& info = *model_.mutable_graph()->add_output();
    info.set_name(name);
    info.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name) {
    auto& n = *model_.mutable_graph()->add_node();
    n.set_op_type(op);
    n.set_name(name);
    for (const auto& i : inputs) n.add_input(i);
    for (const auto& o : outputs) n.add_output(o);
    return n;
  }
  onnx::TensorProto& initializer(const std::string& name, const Tensor& value) {
    auto& t = *model_.mutable_graph()->add_initializer();
    interop::to_tensor_proto(value, name, t);
    return t;
  }
  onnx::ModelProto& proto() { return model_; }
  std::string write(const TempDir& dir, const std::string& file) const {
    interop::write_onnx_file(model_, dir / file, "test");
    return dir / file;
  }

 private:
  onnx::ModelProto model_;
};

void set_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
}

std::vector<std::string> layer_types(const Functional& model) {
  std::vector<std::string> types;
  for (const LayerPtr& l : model.layers()) types.push_back(l->type_name());
  return types;
}

bool has_type(const Functional& model, const std::string& type) {
  const auto types = layer_types(model);
  return std::find(types.begin(), types.end(), type) != types.end();
}

TEST(OnnxImport, PyTorchCnnsPredictAsPyTorch) {
  for (const std::string name : {"lenet", "bn_lenet", "resnet", "inception"}) {
    SCOPED_TRACE(name);
    const auto model = import_onnx(kOnnxGolden + name + ".onnx");
    const Tensor x = load_npy(kOnnxGolden + name + "_input.npy");
    const Tensor expected = load_npy(kOnnxGolden + name + "_expected.npy");
    const Tensor y = model->predict(x);
    const double diff = max_abs_diff(y, expected);
    EXPECT_LE(diff, 1e-5);
    RecordProperty(name + "_max_abs_diff", std::to_string(diff));
    std::printf("%s: max |loom - PyTorch| = %.3g\n", name.c_str(), diff);
    // The same predictions one example at a time: the batch axis stays free.
    expect_tensor_near(model->predict(x, 1), y, 1e-6, 1e-6, name + " one by one");
  }
}

TEST(OnnxImport, PyTorchLayersBecomeKerasLayers) {
  const auto lenet = import_onnx(kOnnxGolden + "lenet.onnx");
  for (const std::string type : {"InputLayer", "Permute", "Conv2D", "Activation", "AvgPool2D", "Flatten", "Dense"}) {
    EXPECT_TRUE(has_type(*lenet, type)) << type;
  }
  EXPECT_EQ(lenet->inputs()[0].shape(), Shape({-1, 1, 28, 28}));  // the file's NCHW input
  EXPECT_EQ(lenet->outputs()[0].shape(), Shape({-1, 10}));
  // One transpose to NHWC at the input and one back before Flatten.
  const auto types = layer_types(*lenet);
  EXPECT_EQ(std::count(types.begin(), types.end(), "Permute"), 2);
  const auto resnet = import_onnx(kOnnxGolden + "resnet.onnx");
  EXPECT_TRUE(has_type(*resnet, "BatchNormalization"));
  EXPECT_TRUE(has_type(*resnet, "MaxPool2D"));
  EXPECT_TRUE(has_type(*resnet, "Add"));
  EXPECT_TRUE(has_type(*import_onnx(kOnnxGolden + "inception.onnx"), "Concatenate"));
  // PyTorch's weights are trainable; the moving statistics of its 5 batch normalizations are not.
  EXPECT_EQ(resnet->weights().size() - resnet->trainable_weights().size(), 10u);
}

TEST(OnnxImport, ImportedModelsTrainWithFit) {
  for (const std::string name : {"bn_lenet", "resnet", "inception"}) {
    SCOPED_TRACE(name);
    const auto model = import_onnx(kOnnxGolden + name + ".onnx");
    const Tensor x = load_npy(kOnnxGolden + name + "_input.npy");
    const Tensor y = arange(0, 8, 1, DType::Int64);
    model->compile(Adam(0.01), SparseCategoricalCrossentropy(true));
    const History h = model->fit(x, y, quiet(60, 8));
    const auto& loss = h.history.at("loss");
    EXPECT_LT(loss.back(), 0.5 * loss.front()) << "from " << loss.front() << " to " << loss.back();
    const Tensor predicted = argmax(model->predict(x), 1);
    EXPECT_EQ(predicted.to_vector<int64_t>(), y.to_vector<int64_t>());
  }
}

// A functional loom model with convolutions, pooling, batch normalization, merges and a nested
// Sequential; its weights are random.
std::shared_ptr<Functional> loom_cnn() {
  set_seed(3);
  const SymbolicTensor x = Input({9, 9, 3}, DType::Float32, "image");
  Conv2DLayerOptions same;
  same.padding = "same";
  same.activation = "relu";
  const SymbolicTensor a = (*std::make_shared<Conv2D>(4, std::vector<int64_t>{3, 3}, same))(x);
  Conv2DLayerOptions grouped;
  grouped.groups = 2;
  grouped.dilation_rate = {2, 2};
  grouped.padding = Padding(2, 2, 2, 2);
  const SymbolicTensor b = (*std::make_shared<BatchNormalization>())((*std::make_shared<Conv2D>(4, std::vector<int64_t>{3, 3}, grouped))(a));
  const SymbolicTensor sum = (*std::make_shared<Add>())({a, b});
  const SymbolicTensor pooled = (*std::make_shared<MaxPool2D>(std::vector<int64_t>{2, 2}, std::vector<int64_t>{2, 2}, "same"))(sum);
  const SymbolicTensor joined = (*std::make_shared<Concatenate>())({pooled, (*std::make_shared<AvgPool2D>(std::vector<int64_t>{3, 3}, std::vector<int64_t>{2, 2}, "same"))(sum)});
  auto head = std::make_shared<Sequential>(std::vector<LayerPtr>{std::make_shared<Flatten>(), std::make_shared<Dense>(6, "tanh"),
                                                                 std::make_shared<Dropout>(0.5), std::make_shared<Dense>(3)});
  return std::make_shared<Functional>(std::vector<SymbolicTensor>{x}, std::vector<SymbolicTensor>{(*head)(joined)}, "cnn");
}

TEST(OnnxImport, ALoomExportComesBackAsTheSameModel) {
  TempDir dir;
  const auto model = loom_cnn();
  // Moving statistics that are not the initial ones.
  auto* bn = dynamic_cast<BatchNormalization*>(model->get_layer(3).get());
  ASSERT_NE(bn, nullptr);
  Variable(bn->moving_mean()).assign(random_uniform({4}, -0.5, 0.5, DType::Float32, 4));
  Variable(bn->moving_variance()).assign(random_uniform({4}, 0.5, 1.5, DType::Float32, 5));
  export_onnx(*model, dir / "cnn.onnx");
  const auto back = import_onnx(dir / "cnn.onnx");
  const Tensor x = random_normal({4, 9, 9, 3}, 0, 1, DType::Float32, 6);
  const double diff = max_abs_diff(back->predict(x), model->predict(x));
  EXPECT_LE(diff, 1e-5);
  // The transposes loom writes around convolutions cancel out: loom's NHWC all the way through.
  EXPECT_FALSE(has_type(*back, "Permute"));
  EXPECT_EQ(back->inputs()[0].shape(), Shape({-1, 9, 9, 3}));
}

TEST(OnnxImport, AnImportedModelSavesAsALoomModel) {
  TempDir dir;
  const auto model = import_onnx(kOnnxGolden + "resnet.onnx");
  const Tensor x = load_npy(kOnnxGolden + "resnet_input.npy");
  model->save(dir / "resnet.loom");
  expect_tensor_near(load_model(dir / "resnet.loom")->predict(x), model->predict(x), 0, 0);
  model->save_weights(dir / "resnet.h5");
  const auto again = import_onnx(kOnnxGolden + "resnet.onnx");
  for (const Variable& v : again->weights()) Variable(v).assign(zeros_like(v));
  again->load_weights(dir / "resnet.h5");
  expect_tensor_near(again->predict(x), model->predict(x), 0, 0);
}

void set_int(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
}

TEST(OnnxImport, ElementwiseReductionAndMatmulOperatorsImport) {
  TempDir dir;
  const Tensor w = constant(std::vector<double>{0.5, -1, 2, 0.25, 1, -0.5}, Shape{2, 3});
  const Tensor bias = constant(std::vector<double>{1, 2}, Shape{2, 1, 1});
  OnnxFile f;
  f.input("x", {-1, 2, 3, 3}).output("y");
  f.initializer("w", w);
  f.initializer("bias", bias);
  f.initializer("two", fill({}, 2.0));
  f.initializer("last", constant(std::vector<int64_t>{3}));
  f.initializer("first", constant(std::vector<int64_t>{1}));
  set_ints(f.node("Transpose", {"x"}, {"t"}, "to_last"), "perm", {0, 2, 3, 1});  // (n, 3, 3, 2)
  f.node("MatMul", {"t", "w"}, {"m"}, "matmul");                                  // (n, 3, 3, 3)
  f.node("Mul", {"x", "bias"}, {"scaled"}, "mul");
  f.node("Sqrt", {"two"}, {"root"}, "folded");  // a constant, computed while importing
  f.node("Pow", {"scaled", "root"}, {"p"}, "pow");
  set_ints(f.node("ReduceMean", {"p"}, {"r"}, "mean"), "axes", {2});  // (n, 2, 1, 3)
  f.node("Exp", {"m"}, {"e"}, "exp");
  set_int(f.node("ReduceSum", {"e", "last"}, {"s"}, "sum"), "keepdims", 0);  // (n, 3, 3)
  f.node("ReduceSum", {"s", "first"}, {"s2"}, "sum_2");                      // (n, 1, 3)
  f.node("Flatten", {"r"}, {"rf"}, "flatten");
  f.node("Flatten", {"s2"}, {"sf"}, "flatten_2");
  set_int(f.node("Concat", {"rf", "sf"}, {"c"}, "concat"), "axis", 1);
  f.node("Softmax", {"c"}, {"y"}, "softmax");
  const auto model = import_onnx(f.write(dir, "math.onnx"));
  const Tensor x = random_uniform({2, 2, 3, 3}, 0.1, 1.0, DType::Float32, 9);
  // The same graph computed with loom's ops directly.
  const Tensor m = matmul(transpose(x, {0, 2, 3, 1}), w);
  const Tensor r = reduce_mean(pow(x * bias, fill({}, std::sqrt(2.0))), std::vector<int64_t>{2}, true);
  const Tensor s2 = reduce_sum(reduce_sum(exp(m), std::vector<int64_t>{3}), std::vector<int64_t>{1}, true);
  const Tensor expected = softmax(concat({reshape(r, {2, -1}), reshape(s2, {2, -1})}, 1));
  expect_tensor_near(model->predict(x), expected, 1e-5, 1e-6);
  EXPECT_TRUE(has_type(*model, "OpLayer"));
  EXPECT_TRUE(has_type(*model, "Dense"));  // MatMul by a constant matrix
}

TEST(OnnxImport, MalformedFilesAreCleanErrors) {
  TempDir dir;
  expect_error<IOError>([&] { import_onnx(dir / "missing.onnx"); }, "[import_onnx] cannot open");
  std::ofstream(dir / "noise.onnx") << "this is not a protobuf \xff\xff\xff\xff";
  expect_error<IOError>([&] { import_onnx(dir / "noise.onnx"); }, "is not an ONNX model");
  {
    std::ifstream in(kOnnxGolden + "lenet.onnx", std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::ofstream(dir / "truncated.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_error<IOError>([&] { import_onnx(dir / "truncated.onnx"); }, "protobuf is truncated or malformed");

  OnnxFile missing;
  missing.input("x", {-1, 3}).output("y");
  missing.node("MatMul", {"x", "w"}, {"y"}, "dense");
  expect_error<IOError>([&] { import_onnx(missing.write(dir, "missing_initializer.onnx")); },
                        "node 'dense' (MatMul) reads 'w', which no node, input or initializer makes");

  OnnxFile cycle;
  cycle.input("x", {-1, 3}).output("b");
  cycle.node("Add", {"x", "b"}, {"a"}, "first");
  cycle.node("Relu", {"a"}, {"b"}, "second");
  expect_error<IOError>([&] { import_onnx(cycle.write(dir, "cycle.onnx")); }, "the graph has a cycle: node 'first' (Add)");

  OnnxFile twice;
  twice.input("x", {-1, 3}).output("y");
  twice.node("Relu", {"x"}, {"y"}, "one");
  twice.node("Sigmoid", {"x"}, {"y"}, "two");
  expect_error<IOError>([&] { import_onnx(twice.write(dir, "twice.onnx")); }, "value 'y' is made twice");

  OnnxFile short_data;
  short_data.input("x", {-1, 2}).output("y");
  short_data.initializer("w", ones({2, 2})).mutable_raw_data()->resize(8);
  short_data.node("MatMul", {"x", "w"}, {"y"}, "dense");
  expect_error<IOError>([&] { import_onnx(short_data.write(dir, "short.onnx")); },
                        "initializer 'w': it holds 8 bytes of data for shape (2, 2) of float32 (16 bytes)");

  OnnxFile external;
  external.input("x", {-1, 2}).output("y");
  external.initializer("w", ones({2, 2})).set_data_location(onnx::TensorProto::EXTERNAL);
  external.node("MatMul", {"x", "w"}, {"y"}, "dense");
  expect_error<IOError>([&] { import_onnx(external.write(dir, "external.onnx")); }, "lives in an external file");

  OnnxFile mismatch;
  mismatch.input("x", {-1, 1, 8, 8}).output("y");
  mismatch.initializer("w", ones({4, 3, 3, 3}));
  mismatch.node("Conv", {"x", "w"}, {"y"}, "conv1");
  expect_error<ShapeError>([&] { import_onnx(mismatch.write(dir, "mismatch.onnx")); }, "node 'conv1' (Conv)");

  OnnxFile unknown_axis;
  unknown_axis.input("x", {-1, 3, -1}).output("y");
  unknown_axis.node("Relu", {"x"}, {"y"}, "relu");
  expect_error<UnimplementedError>([&] { import_onnx(unknown_axis.write(dir, "unknown_axis.onnx")); },
                                   "input 'x' has an unknown or empty axis 2");
}

TEST(OnnxImport, UnsupportedOperatorsAndOpsetsNameWhatIsMissing) {
  TempDir dir;
  OnnxFile rnn;
  rnn.input("x", {-1, 4, 3}).output("y");
  rnn.node("LSTM", {"x"}, {"y"}, "encoder");
  try {
    import_onnx(rnn.write(dir, "lstm.onnx"));
    ADD_FAILURE() << "imported an LSTM";
  } catch (const UnimplementedError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("node 'encoder' (LSTM): loom does not import this operator (it imports: Abs, Add, "), std::string::npos)
        << message;
    EXPECT_NE(message.find("Conv, "), std::string::npos) << message;
  }
  OnnxFile old(9);
  old.input("x", {-1, 3}).output("y");
  old.node("Relu", {"x"}, {"y"}, "relu");
  expect_error<UnimplementedError>([&] { import_onnx(old.write(dir, "opset9.onnx")); }, "opset 9 is not one loom reads (13 to 17");
  OnnxFile batch;
  batch.input("x", {-1, 2, 3}).output("y");
  batch.initializer("shape", constant(std::vector<int64_t>{-1, 3}));
  batch.node("Reshape", {"x", "shape"}, {"y"}, "merge");
  expect_error<UnimplementedError>([&] { import_onnx(batch.write(dir, "batch.onnx")); }, "node 'merge' (Reshape): a reshape to (-1, 3)");
  OnnxFile custom;
  custom.input("x", {-1, 3}).output("y");
  custom.node("Relu", {"x"}, {"y"}, "relu").set_domain("com.example");
  expect_error<UnimplementedError>([&] { import_onnx(custom.write(dir, "domain.onnx")); }, "operators of domain 'com.example'");
  EXPECT_EQ(onnx_import_operators().front(), "Abs");
}

TEST(OnnxExport, RefusesWhatItCannotWrite) {
  TempDir dir;
  const auto model = loom_cnn();
  expect_error<InvalidArgument>([&] { export_onnx(*model, dir / "m.onnx", 12); }, "opset 12 is not one loom writes (13 to 17)");
  Sequential unbuilt({std::make_shared<Dense>(3)});
  expect_error<InvalidArgument>([&] { export_onnx(unbuilt, dir / "m.onnx"); }, "is not built");
  Sequential with_op_layer({std::make_shared<Dense>(3)}, Shape{4});
  with_op_layer.add(std::make_shared<OpLayer>("norm", Attrs{}, std::vector<int64_t>{0}, std::vector<Tensor>{}, "norm"));
  expect_error<UnimplementedError>([&] { export_onnx(with_op_layer, dir / "m.onnx"); },
                                   "layer 'norm' of type 'OpLayer' has no ONNX form in loom (it exports: Sequential, Functional, ");
  EXPECT_FALSE(std::filesystem::exists(dir / "m.onnx"));
}

}  // namespace
}  // namespace loom::testing
