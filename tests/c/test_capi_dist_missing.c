/* A loom without communicator plugins (ctest runs this against a copy of libloom.so in a folder
 * that holds no plugin, as a build without MPI would be): asking for a backend is an error that
 * names the missing plugin and what to install, and leaves loom usable and uninitialised. */
#include "check.h"

static void test_missing_plugins(void) {
  int32_t value = 7;
  CHECK_FAILS(loom_dist_init("mpi"), LOOM_ERROR_NOT_FOUND, "loom_dist_init",
              "the MPI communicator plugin libloom_mpi.so could not be loaded");
  CHECK_FAILS(loom_dist_init(NULL), LOOM_ERROR_NOT_FOUND, "loom_dist_init", "install the Debian packages libopenmpi-dev and openmpi-bin");
  /* NCCL bootstraps over MPI: the MPI plugin is the one missing first. */
  CHECK_FAILS(loom_dist_init("nccl"), LOOM_ERROR_NOT_FOUND, "loom_dist_init", "libloom_mpi.so");
  CHECK_OK(loom_dist_initialized(&value));
  CHECK(value == 0);
  CHECK_FAILS(loom_dist_barrier(), LOOM_ERROR_DISTRIBUTED, "loom_dist_barrier", "not initialised");
  CHECK_OK(loom_dist_finalize());
}

int main(void) {
  CHECK_OK(loom_init(LOOM_ABI_VERSION));
  RUN(test_missing_plugins);
  return check_failures;
}
