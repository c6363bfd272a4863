#pragma once
/// \file
/// The backend API: what a device backend (loom's CPU and CUDA backends, or a third party's)
/// builds against. It is C++ only, versioned on its own, and not part of the C ABI. A backend
/// supplies an allocator, copies and synchronisation (backend.hpp) and kernels for ops of the
/// registry (kernel.hpp); the shared semantics of the ops (geometry.hpp, arithmetic.hpp,
/// philox.hpp, strided_layout.hpp) keep every backend computing the same thing.
#include "loom/export.hpp"

/// Marks the functions of the backend API that libloom exports to backends.
#define LOOM_BACKEND_API LOOM_API

/// The version of the backend API; bumped on any incompatible change. A backend loaded at run
/// time passes the version it was built against and is refused when it differs.
#define LOOM_BACKEND_API_VERSION 2

/// Marks functions that CUDA device code may call too (inline host functions elsewhere).
#if defined(__CUDACC__)
#define LOOM_HD __host__ __device__ __forceinline__
#else
#define LOOM_HD inline
#endif
