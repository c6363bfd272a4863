// Distributed training in one process without a job: the errors before dist::init(),
// SyncBatchNormalization alone, and the plugin loader's message when a plugin is missing.
// Collectives and training on several ranks run under mpirun (tests/dist/).
#include "dist/context.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(Dist, EverythingNeedsInitFirst) {
  ASSERT_FALSE(dist::initialized());
  expect_error<DistributedError>([] { dist::rank(); }, "[dist.rank] loom::dist is not initialised: call dist::init(\"mpi\")");
  expect_error<DistributedError>([] { dist::all_reduce(ones(Shape{2})); }, "[dist.all_reduce] loom::dist is not initialised");
  expect_error<DistributedError>([] { dist::barrier(); }, "[dist.barrier]");
  expect_error<DistributedError>([] { (void)nn::MultiWorkerMirroredStrategy(); }, "[dist.size]");
  expect_error<DistributedError>([] { (void)nn::DistributedOptimizer(nn::SGD()); }, "[dist.size]");
  expect_error<DistributedError>([] { (void)dist::GradientBucketer({Variable(ones(Shape{2}))}); }, "[GradientBucketer]");
  expect_error<DistributedError>([] { nn::fit_options_from_config(Attrs{{"distributed", true}}); }, "not initialised");
  expect_error<InvalidArgument>([] { dist::init("gloo"); }, "[dist.init] unknown backend 'gloo' (mpi, nccl)");
  expect_error<InvalidArgument>([] { dist::set_timeout(-1); }, "must be > 0 seconds");
  dist::finalize();  // nothing to do
  EXPECT_STREQ(dist::reduce_op_name(dist::ReduceOp::Mean), "mean");
  EXPECT_STREQ(error_code_name(ErrorCode::Distributed), "distributed error");
  EXPECT_THROW(throw_error(ErrorCode::Distributed, "x"), DistributedError);
}

TEST(Dist, TimeoutAndValidationSettingsHoldWithoutAJob) {
  const double before = dist::timeout();
  EXPECT_GT(before, 0);
  dist::set_timeout(12.5);
  EXPECT_EQ(dist::timeout(), 12.5);
  dist::set_timeout(before);
  const bool validating = dist::validation();
  dist::set_validation(!validating);
  EXPECT_EQ(dist::validation(), !validating);
  dist::set_validation(validating);
}

TEST(Dist, SyncBatchNormalizationWithoutAJobIsBatchNormalization) {
  const Tensor x = random_normal(Shape{8, 3}, 2.0, 3.0, DType::Float32, 4);
  nn::SyncBatchNormalization sync;
  nn::BatchNormalization plain;
  expect_tensor_near(sync(x, true), plain(x, true), 0, 0);
  expect_tensor_near(sync.moving_variance(), plain.moving_variance(), 0, 0);
  EXPECT_EQ(sync.type_name(), "SyncBatchNormalization");
  nn::BatchNormalizationOptions bad;
  bad.epsilon = 0;
  expect_error<InvalidArgument>([&] { nn::SyncBatchNormalization{bad}; }, "epsilon must be > 0");
}

// The plugin loader names what is missing. This build may or may not have built the NCCL
// plugin (it needs the CUDA toolkit); either way the message says what went wrong.
TEST(Dist, AMissingOrUnusablePluginIsNamed) {
  dist::CommunicatorSetup setup;  // no MPI communicator to bootstrap over
  try {
    dist::detail::create_communicator("nccl", setup);
    ADD_FAILURE() << "an NCCL communicator without MPI";
  } catch (const NotFoundError& e) {  // no libloom_nccl.so in this build
    EXPECT_NE(std::string(e.what()).find("the NCCL communicator plugin libloom_nccl.so could not be loaded"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("built with the CUDA backend"), std::string::npos) << e.what();
  } catch (const DistributedError& e) {  // built, but refused: it bootstraps over MPI
    EXPECT_NE(std::string(e.what()).find("needs the MPI communicator to bootstrap over"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loom::testing
