// main() of the test programs that mpirun starts: every rank joins the job, runs the same tests
// in the same order, and reports; only rank 0 prints the progress, the others their failures.
// LOOM_DIST_TEST_BACKEND picks the backend ("mpi" unless defined); a job whose backend this
// build or machine lacks (NCCL without a GPU) is skipped with exit status 77.
#include <gtest/gtest.h>

#include <cstdio>

#include "loom/dist.hpp"
#include "loom/error.hpp"

#ifndef LOOM_DIST_TEST_BACKEND
#define LOOM_DIST_TEST_BACKEND "mpi"
#endif

namespace {

// The failures of a rank other than 0, prefixed with the rank.
class FailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  try {
    loom::dist::init(LOOM_DIST_TEST_BACKEND);
  } catch (const loom::Error& e) {
    if (std::string(LOOM_DIST_TEST_BACKEND) == "mpi") throw;
    std::printf("skipped: %s\n", e.what());
    return 77;
  }
  loom::dist::set_timeout(60);  // a test that leaves its peers waiting fails rather than hangs
  const int rank = loom::dist::rank();
  if (rank != 0) {
    testing::TestEventListeners& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  const int failed = RUN_ALL_TESTS();
  loom::dist::finalize();
  return failed;
}
