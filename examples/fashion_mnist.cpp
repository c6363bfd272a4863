// Trains a CNN (or an MLP) on Fashion-MNIST with Keras-style fit(), printing a progress bar and
// per-epoch test accuracy, then saves the weights.
//   fashion_mnist --data DIR --model {mlp,lenet,bn-lenet,vgg-small,nin-small,googlenet,resnet} --epochs N
//                 --batch-size B --optimizer {sgd,adam} --lr X --threads T [--json FILE]
//                 [--save PATH] [--limit N] [--policy float32|mixed_bfloat16|mixed_float16]
#include <loom/loom.hpp>
#include <loom/nn.hpp>
#include <loom/nn/functional.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>

using namespace loom;
using namespace loom::nn;

namespace {

struct Args {
  std::string data = "data/fashion-mnist";
  std::string model = "bn-lenet";
  int epochs = 5;
  int64_t batch_size = 128;
  std::string optimizer = "adam";
  double lr = -1;  // default per optimizer
  int threads = 0;
  std::string json, save = "runs/fashion_mnist.loom";  // runs/ is gitignored
  int64_t limit = 0;  // use only the first N training examples (0: all)
  uint64_t seed = 42;
  std::string policy = "float32";  // a Keras dtype policy: mixed_bfloat16 computes in bfloat16
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "fashion_mnist: %s\nusage: fashion_mnist [--data DIR] [--model mlp|lenet|bn-lenet|vgg-small|nin-small|googlenet|resnet]\n"
               "       [--epochs N] [--batch-size B] [--optimizer sgd|adam] [--lr X] [--threads T] [--json FILE]\n"
               "       [--save PATH] [--limit N] [--seed S] [--policy float32|mixed_bfloat16|mixed_float16]\n",
               problem.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value after " + flag);
    const std::string v = argv[++i];
    try {
      if (flag == "--data") a.data = v;
      else if (flag == "--model") a.model = v;
      else if (flag == "--epochs") a.epochs = std::stoi(v);
      else if (flag == "--batch-size") a.batch_size = std::stoll(v);
      else if (flag == "--optimizer") a.optimizer = v;
      else if (flag == "--lr") a.lr = std::stod(v);
      else if (flag == "--threads") a.threads = std::stoi(v);
      else if (flag == "--json") a.json = v;
      else if (flag == "--save") a.save = v;
      else if (flag == "--limit") a.limit = std::stoll(v);
      else if (flag == "--seed") a.seed = std::stoull(v);
      else if (flag == "--policy") a.policy = Policy(v).name();
      else usage("unknown option " + flag);
    } catch (const std::logic_error&) {
      usage("bad value '" + v + "' for " + flag);
    } catch (const loom::Error& e) {
      usage(e.what());
    }
  }
  if (a.epochs < 1 || a.batch_size < 1) usage("epochs and batch size must be positive");
  const std::set<std::string> models = {"mlp", "lenet", "bn-lenet", "vgg-small", "nin-small", "googlenet", "resnet"};
  if (!models.count(a.model)) usage("unknown model '" + a.model + "'");
  if (a.optimizer != "sgd" && a.optimizer != "adam") usage("unknown optimizer '" + a.optimizer + "'");
  return a;
}

LayerPtr conv(int64_t filters, int64_t k, const std::string& act, const std::string& padding = "same", int64_t stride = 1) {
  Conv2DLayerOptions o;
  o.activation = act;
  o.padding = padding;
  o.strides = {stride, stride};
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, o);
}
LayerPtr pool(int64_t k = 2, int64_t s = 2) { return std::make_shared<MaxPool2D>(std::vector<int64_t>{k, k}, std::vector<int64_t>{s, s}); }
LayerPtr dense(int64_t units, const std::string& act = "linear") { return std::make_shared<Dense>(units, act); }
LayerPtr bn() { return std::make_shared<BatchNormalization>(); }
LayerPtr relu_layer() { return std::make_shared<Activation>("relu"); }

// The functional models of examples/c/graph_models.c, built in the same order (so the same seed
// gives the same weights): a small GoogLeNet and a small ResNet.
SymbolicTensor on(const LayerPtr& layer, const SymbolicTensor& x) { return (*layer)(x); }
LayerPtr same_conv(int64_t filters, int64_t k, int64_t stride, const std::string& act) {
  Conv2DLayerOptions o;
  o.activation = act;
  o.padding = "same";
  o.strides = {stride, stride};
  return std::make_shared<Conv2D>(filters, std::vector<int64_t>{k, k}, o);
}
LayerPtr same_pool(int64_t k, int64_t s) {
  return std::make_shared<MaxPool2D>(std::vector<int64_t>{k, k}, std::vector<int64_t>{s, s}, "same");
}

SymbolicTensor inception(const SymbolicTensor& x, int64_t c1, int64_t c2a, int64_t c2b, int64_t c3a, int64_t c3b, int64_t c4) {
  const SymbolicTensor p1 = on(same_conv(c1, 1, 1, "relu"), x);
  const SymbolicTensor p2 = on(same_conv(c2b, 3, 1, "relu"), on(same_conv(c2a, 1, 1, "relu"), x));
  const SymbolicTensor p3 = on(same_conv(c3b, 5, 1, "relu"), on(same_conv(c3a, 1, 1, "relu"), x));
  const SymbolicTensor p4 = on(same_conv(c4, 1, 1, "relu"), on(same_pool(3, 1), x));
  return (*std::make_shared<Concatenate>())({p1, p2, p3, p4});
}

SymbolicTensor residual(const SymbolicTensor& x, int64_t filters, int64_t stride, bool project) {
  const SymbolicTensor a = on(std::make_shared<BatchNormalization>(), on(same_conv(filters, 3, stride, "linear"), x));
  const SymbolicTensor b = on(same_conv(filters, 3, 1, "linear"), on(std::make_shared<Activation>("relu"), a));
  const SymbolicTensor main = on(std::make_shared<BatchNormalization>(), b);
  const SymbolicTensor shortcut = project ? on(same_conv(filters, 1, stride, "linear"), x) : x;
  return (*std::make_shared<Add>())({main, shortcut});
}

ModelPtr graph_model(const std::string& name) {
  const SymbolicTensor x = Input({28, 28, 1}, DType::Float32, "image");
  SymbolicTensor features;
  if (name == "googlenet") {
    const SymbolicTensor stem = on(same_pool(3, 2), on(same_conv(16, 5, 1, "relu"), x));
    features = on(same_pool(3, 2), inception(inception(stem, 8, 8, 12, 4, 6, 6), 12, 12, 16, 4, 8, 8));
  } else {
    const SymbolicTensor stem = on(same_conv(16, 3, 1, "relu"), x);
    const SymbolicTensor b1 = on(std::make_shared<Activation>("relu"), residual(stem, 16, 1, false));
    features = on(std::make_shared<Activation>("relu"), residual(b1, 32, 2, true));
  }
  const SymbolicTensor logits = on(std::make_shared<Dense>(10), on(std::make_shared<GlobalAvgPool2D>(), features));
  return std::make_shared<Functional>(std::vector<SymbolicTensor>{x}, std::vector<SymbolicTensor>{logits}, name);
}

ModelPtr build(const std::string& name) {
  if (name == "googlenet" || name == "resnet") return graph_model(name);
  const Shape input{28, 28, 1};
  using L = std::vector<LayerPtr>;
  if (name == "mlp") {
    return std::make_shared<Sequential>(L{std::make_shared<Flatten>(), dense(256, "relu"), std::make_shared<Dropout>(0.2), dense(10)}, input);
  }
  if (name == "lenet") {
    return std::make_shared<Sequential>(L{conv(6, 5, "relu"), pool(), conv(16, 5, "relu", "valid"), pool(), std::make_shared<Flatten>(),
                                          dense(120, "relu"), dense(84, "relu"), dense(10)}, input);
  }
  if (name == "bn-lenet") {
    return std::make_shared<Sequential>(L{conv(6, 5, "linear"), bn(), relu_layer(), pool(), conv(16, 5, "linear", "valid"), bn(),
                                          relu_layer(), pool(), std::make_shared<Flatten>(), dense(120), bn(), relu_layer(),
                                          dense(84), bn(), relu_layer(), dense(10)}, input);
  }
  if (name == "vgg-small") {  // the seed's conv_arch idea at Fashion-MNIST scale
    return std::make_shared<Sequential>(L{conv(16, 3, "relu"), pool(), conv(32, 3, "relu"), pool(), conv(64, 3, "relu"),
                                          conv(64, 3, "relu"), pool(), std::make_shared<Flatten>(), dense(128, "relu"),
                                          std::make_shared<Dropout>(0.5), dense(10)}, input);
  }
  if (name == "nin-small") {
    auto nin = [](int64_t c, int64_t k) {
      return std::make_shared<Sequential>(L{conv(c, k, "relu"), conv(c, 1, "relu"), conv(c, 1, "relu")});
    };
    return std::make_shared<Sequential>(L{nin(32, 5), pool(3, 2), nin(64, 3), pool(3, 2), std::make_shared<Dropout>(0.5), nin(10, 3),
                                          std::make_shared<GlobalAvgPool2D>()}, input);
  }
  usage("unknown model '" + name + "'");
}

Tensor images(const Tensor& raw) {  // uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]
  return reshape(cast(raw, DType::Float32) / 255.0, {raw.dim(0), 28, 28, 1});
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    if (args.threads > 0) set_num_threads(args.threads);
    set_seed(args.seed);
    const data::MnistData raw = data::load_mnist(args.data);  // plain or gzipped IDX files
    Tensor x_train = images(raw.x_train);
    Tensor y_train = cast(raw.y_train, DType::Int64);
    const Tensor x_test = images(raw.x_test);
    const Tensor y_test = cast(raw.y_test, DType::Int64);
    if (args.limit > 0 && args.limit < x_train.dim(0)) {
      x_train = x_train[{Slice(None, args.limit)}].contiguous();
      y_train = y_train[{Slice(None, args.limit)}].contiguous();
    }
    std::printf("Fashion-MNIST: %lld training, %lld test images; model %s, %s, %d threads, policy %s\n",
                static_cast<long long>(x_train.dim(0)), static_cast<long long>(x_test.dim(0)), args.model.c_str(),
                args.optimizer.c_str(), get_num_threads(), args.policy.c_str());

    set_global_policy(args.policy);  // before the layers are made: each takes the policy then
    auto model = build(args.model);
    const double lr = args.lr > 0 ? args.lr : (args.optimizer == "sgd" ? 0.05 : 0.002);
    // The learning rate follows a cosine from lr down to 1% over the run: late epochs settle.
    OptimizerOptions schedule;
    const int64_t steps = (x_train.dim(0) + args.batch_size - 1) / args.batch_size * args.epochs;
    schedule.schedule = CosineDecay(lr, steps, 0.01);
    const OptimizerPtr opt = args.optimizer == "sgd" ? SGD(lr, 0.9, false, schedule) : Adam(lr, 0.9, 0.999, 1e-7, schedule);
    model->compile(opt, SparseCategoricalCrossentropy(true), {SparseCategoricalAccuracy()});

    nlohmann::json report = {{"model", args.model}, {"optimizer", args.optimizer}, {"lr", lr}, {"batch_size", args.batch_size},
                             {"threads", get_num_threads()}, {"train_examples", x_train.dim(0)}, {"policy", args.policy}};
    auto epoch_start = std::chrono::steady_clock::now();
    const auto start = epoch_start;
    auto per_epoch = std::make_shared<LambdaCallback>();
    double test_acc = 0;
    per_epoch->epoch_end = [&](Model& m, int epoch, const Logs& logs) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
      test_acc = m.evaluate(x_test, y_test, 1000).at("accuracy");
      std::printf("epoch %d: train_loss %.4f train_acc %.4f test_acc %.4f time %.1fs\n", epoch + 1, logs.at("loss"),
                  logs.at("accuracy"), test_acc, seconds);
      std::fflush(stdout);
      report["epochs"].push_back({{"epoch", epoch + 1}, {"train_loss", logs.at("loss")}, {"train_acc", logs.at("accuracy")},
                                  {"test_acc", test_acc}, {"seconds", seconds}});
      epoch_start = std::chrono::steady_clock::now();
    };
    FitOptions o;
    o.epochs = args.epochs;
    o.batch_size = args.batch_size;
    o.seed = args.seed;
    o.callbacks = {per_epoch};
    model->fit(x_train, y_train, o);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("test accuracy: %.4f (%d epochs, %.1fs)\n", test_acc, args.epochs, total);
    report["test_acc"] = test_acc;
    report["seconds"] = total;
    if (!args.save.empty()) {
      const std::filesystem::path parent = std::filesystem::path(args.save).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      model->save(args.save);  // architecture, compile settings and weights: load_model() reads it back
      std::printf("model saved to %s\n", args.save.c_str());
    }
    if (!args.json.empty()) std::ofstream(args.json) << report.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {  // loom::Error, or the file system's errors for --save
    std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
    return 1;
  }
}
