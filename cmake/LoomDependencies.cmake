# Third-party libraries, all from Debian packages (see scripts/install_deps.sh).
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)

# Debian packages unpacked under another root (the GPU check machine has no package registry):
# -DLOOM_DEPS_ROOT=/opt/loomdeps with CMAKE_PREFIX_PATH=/opt/loomdeps/usr.
set(LOOM_DEPS_ROOT "" CACHE PATH "Root of unpacked Debian dependency packages (empty: the system)")

# OpenBLAS: the OpenMP build shares loom's one OpenMP thread pool (no oversubscription with
# oneDNN and loom's own loops); fall back to the default (pthreads) build.
set(LOOM_OPENBLAS_OPENMP_DIR ${LOOM_DEPS_ROOT}/usr/lib/x86_64-linux-gnu/openblas-openmp)
find_library(LOOM_OPENBLAS_OPENMP openblas PATHS ${LOOM_OPENBLAS_OPENMP_DIR} NO_DEFAULT_PATH)
find_path(LOOM_OPENBLAS_OPENMP_INCLUDE cblas.h PATHS ${LOOM_DEPS_ROOT}/usr/include/x86_64-linux-gnu/openblas-openmp NO_DEFAULT_PATH)
if(LOOM_OPENBLAS_OPENMP AND LOOM_OPENBLAS_OPENMP_INCLUDE)
  set(OpenBLAS_LIBRARIES ${LOOM_OPENBLAS_OPENMP})
  set(OpenBLAS_INCLUDE_DIRS ${LOOM_OPENBLAS_OPENMP_INCLUDE})
  set(LOOM_OPENBLAS_RPATH ${LOOM_OPENBLAS_OPENMP_DIR})
  message(STATUS "loom: OpenBLAS (OpenMP build) ${LOOM_OPENBLAS_OPENMP}")
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

# Compiler flags for loom's own code only. Warnings are errors with the supported compiler
# (g++ 12); other compilers may turn it off (-DLOOM_WARNINGS_AS_ERRORS=OFF).
option(LOOM_WARNINGS_AS_ERRORS "Treat warnings in loom's code as errors" ON)
add_library(loom_warnings INTERFACE)
target_compile_options(loom_warnings INTERFACE -Wall -Wextra $<$<BOOL:${LOOM_WARNINGS_AS_ERRORS}>:-Werror>)
