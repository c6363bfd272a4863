#pragma once
// Each kernel family registers its kernels for DeviceType::GPU; called once from
// loom_cuda_backend_init after a usable GPU was found.
namespace loom::cuda {

void register_elementwise_kernels();
void register_reduce_kernels();
void register_matmul_kernels();
void register_index_kernels();
void register_nn_kernels();

inline void register_all_kernels() {
  register_elementwise_kernels();
  register_reduce_kernels();
  register_matmul_kernels();
  register_index_kernels();
  register_nn_kernels();
}

}  // namespace loom::cuda
