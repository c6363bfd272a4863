# Third-party libraries, all from Debian packages (see scripts/install_deps.sh).
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)

# OpenBLAS: the OpenMP build shares loom's one OpenMP thread pool (no oversubscription with
# oneDNN and loom's own loops); fall back to the default (pthreads) build.
set(LOOM_OPENBLAS_OPENMP_DIR /usr/lib/x86_64-linux-gnu/openblas-openmp)
find_package(OpenBLAS CONFIG QUIET PATHS ${LOOM_OPENBLAS_OPENMP_DIR}/cmake/openblas NO_DEFAULT_PATH)
if(OpenBLAS_FOUND)
  set(LOOM_OPENBLAS_RPATH ${LOOM_OPENBLAS_OPENMP_DIR})
  message(STATUS "loom: OpenBLAS ${OpenBLAS_VERSION} (OpenMP build)")
else()
  find_package(OpenBLAS CONFIG REQUIRED)
  message(STATUS "loom: OpenBLAS ${OpenBLAS_VERSION} (default build; libopenblas-openmp-dev is preferred)")
endif()
add_library(loom_openblas INTERFACE)
target_include_directories(loom_openblas INTERFACE ${OpenBLAS_INCLUDE_DIRS})
target_link_libraries(loom_openblas INTERFACE ${OpenBLAS_LIBRARIES})

find_package(dnnl 2.6 CONFIG REQUIRED)
message(STATUS "loom: oneDNN ${dnnl_VERSION}")
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)

if(LOOM_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(LOOM_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

# Compiler flags for loom's own code only.
add_library(loom_warnings INTERFACE)
target_compile_options(loom_warnings INTERFACE -Wall -Wextra -Werror)
