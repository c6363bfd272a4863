# Third-party libraries, all from Debian packages (see scripts/install_deps.sh).
# Each one is looked for quietly; whatever is missing is reported once, at the end, as the Debian
# packages to install (lines starting "loom: missing", which scripts/build.sh prints), instead of
# CMake's error from deep inside a package's own config file.
set(LOOM_MISSING_PACKAGES "")
macro(loom_missing debian_packages)
  list(APPEND LOOM_MISSING_PACKAGES ${debian_packages})
endmacro()

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
  find_package(OpenBLAS CONFIG QUIET)
  if(OpenBLAS_FOUND)
    message(STATUS "loom: OpenBLAS ${OpenBLAS_VERSION} (default build; libopenblas-openmp-dev is preferred)")
  else()
    loom_missing("libopenblas-dev;libopenblas-openmp-dev")
  endif()
endif()
add_library(loom_openblas INTERFACE)
target_include_directories(loom_openblas INTERFACE ${OpenBLAS_INCLUDE_DIRS})
target_link_libraries(loom_openblas INTERFACE ${OpenBLAS_LIBRARIES})

# Debian's oneDNN config requires OpenCL (its GPU runtime) and fails hard without it.
find_package(OpenCL QUIET)
if(NOT OpenCL_FOUND)
  loom_missing(ocl-icd-opencl-dev)
else()
  find_package(dnnl 2.6 CONFIG QUIET)
  if(dnnl_FOUND)
    message(STATUS "loom: oneDNN ${dnnl_VERSION}")
  else()
    loom_missing(libdnnl-dev)
  endif()
endif()
find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  loom_missing(zlib1g-dev)
endif()
find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  loom_missing(nlohmann-json3-dev)
endif()
# Keras' HDF5 weight files: the C library of Debian's serial HDF5 build (libhdf5-dev).
find_path(LOOM_HDF5_INCLUDE hdf5.h PATH_SUFFIXES hdf5/serial)
find_library(LOOM_HDF5_LIBRARY NAMES hdf5_serial hdf5)
if(LOOM_HDF5_INCLUDE AND LOOM_HDF5_LIBRARY)
  add_library(loom_hdf5 INTERFACE)
  target_include_directories(loom_hdf5 INTERFACE ${LOOM_HDF5_INCLUDE})
  target_link_libraries(loom_hdf5 INTERFACE ${LOOM_HDF5_LIBRARY})
else()
  loom_missing(libhdf5-dev)
endif()

if(LOOM_BUILD_TESTS)
  find_package(GTest CONFIG QUIET)
  if(NOT GTest_FOUND)
    loom_missing("libgtest-dev;libgmock-dev")
  endif()
  # Debian's interpreter (where python3-numpy is installed) ahead of any other python3 on PATH.
  if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 QUIET COMPONENTS Interpreter)
  if(NOT Python3_FOUND)
    loom_missing(python3)
  else()
    # The interop tests check loom's files with the reference tools: h5py.
    foreach(module_package h5py:python3-h5py)
      string(REPLACE ":" ";" module_package ${module_package})
      list(GET module_package 0 module)
      list(GET module_package 1 package)
      execute_process(COMMAND ${Python3_EXECUTABLE} -c "import ${module}" RESULT_VARIABLE missing_module
                      OUTPUT_QUIET ERROR_QUIET)
      if(missing_module)
        loom_missing(${package})
      endif()
    endforeach()
  endif()
endif()
if(LOOM_BUILD_BENCH)
  find_package(benchmark CONFIG QUIET)
  if(NOT benchmark_FOUND)
    loom_missing(libbenchmark-dev)
  endif()
endif()

if(LOOM_MISSING_PACKAGES)
  list(JOIN LOOM_MISSING_PACKAGES " " loom_missing_list)
  message(FATAL_ERROR "loom: missing dependencies: install the Debian packages ${loom_missing_list} "
    "(scripts/install_deps.sh does it: it installs everything missing)")
endif()

# Compiler flags for loom's own code only. Warnings are errors with the supported compiler
# (g++ 12); other compilers may turn it off (-DLOOM_WARNINGS_AS_ERRORS=OFF).
option(LOOM_WARNINGS_AS_ERRORS "Treat warnings in loom's code as errors" ON)
add_library(loom_warnings INTERFACE)
target_compile_options(loom_warnings INTERFACE -Wall -Wextra $<$<BOOL:${LOOM_WARNINGS_AS_ERRORS}>:-Werror>)
