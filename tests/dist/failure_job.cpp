// A data-parallel training job that loses a rank, and its resumption (run by run_failure.py):
//   failure_job train DIR   trains 3 epochs with a checkpoint after each; rank 1 exits in the
//                           middle of the second epoch; the others report what their fit threw
//   failure_job resume DIR  restores DIR/checkpoint and trains the remaining epochs
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "loom/creation.hpp"
#include "loom/dist.hpp"
#include "loom/error.hpp"
#include "loom/nn.hpp"
#include "loom/ops.hpp"

namespace {

using namespace loom;

constexpr int kEpochs = 3;

std::shared_ptr<nn::Sequential> make_model() {
  set_seed(5);
  auto model = std::make_shared<nn::Sequential>(
      std::vector<nn::LayerPtr>{std::make_shared<nn::Dense>(16, "relu"), std::make_shared<nn::Dense>(1)}, Shape{8});
  model->compile(nn::Adam(0.01), nn::MeanSquaredError());
  return model;
}

nn::FitOptions options(const std::string& checkpoint) {
  nn::FitOptions o;
  o.batch_size = 64;
  o.epochs = kEpochs;
  o.seed = 3;
  o.verbose = 0;
  o.strategy = std::make_shared<nn::MultiWorkerMirroredStrategy>();
  auto save = std::make_shared<nn::LambdaCallback>();
  save->epoch_end = [checkpoint](nn::Model& m, int epoch, const nn::Logs&) { m.save_checkpoint(checkpoint, epoch); };
  o.callbacks.push_back(save);
  return o;
}

int run(const std::string& mode, const std::string& dir) {
  const Tensor x = random_normal(Shape{256, 8}, 0, 1, DType::Float32, 1);
  const Tensor y = reduce_sum(x, std::vector<int64_t>{1}, true);
  auto model = make_model();
  nn::FitOptions o = options(dir + "/checkpoint");
  if (mode == "resume") {
    o.initial_epoch = model->load_checkpoint(dir + "/checkpoint");
    const nn::History h = model->fit(x, y, o);
    std::printf("rank %d resumed at epoch %d and finished epoch %d, loss %.6f\n", dist::rank(), o.initial_epoch,
                o.initial_epoch + h.epochs_run(), h.history.at("loss").back());
    return 0;
  }
  auto die = std::make_shared<nn::LambdaCallback>();
  int epoch_now = 0;
  die->batch_end = [&epoch_now](nn::Model&, int64_t batch, const nn::Logs&) {
    if (dist::rank() == 1 && epoch_now == 1 && batch == 1) _exit(3);  // a crash: no cleanup, no MPI_Finalize
  };
  auto track = std::make_shared<nn::LambdaCallback>();
  track->epoch_end = [&epoch_now](nn::Model&, int epoch, const nn::Logs&) { epoch_now = epoch + 1; };
  o.callbacks.push_back(die);
  o.callbacks.push_back(track);
  const auto start = std::chrono::steady_clock::now();
  try {
    model->fit(x, y, o);
  } catch (const Error& e) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("rank %d fit failed after %.1f s in epoch %d (%s): %s\n", dist::rank(), seconds, epoch_now,
                error_code_name(e.code()), e.what());
    std::fflush(stdout);
    return 2;
  }
  std::printf("rank %d trained all epochs\n", dist::rank());
  return 1;  // the job was meant to lose a rank
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: failure_job train|resume DIR\n");
    return 64;
  }
  try {
    loom::dist::init("mpi");
    const int status = run(argv[1], argv[2]);
    std::fflush(stdout);
    loom::dist::finalize();
    return status;
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
