/* The distributed entry points of the C ABI from C, on the ranks mpirun starts (2 in the suite):
 * collectives with hand-computed values, the distributed optimizer of custom loops, a
 * data-parallel fit, and the errors. Every rank runs the same calls in the same order. */
#include "check.h"

static int32_t rank_ = -1, size_ = 0;

static void test_before_init(void) {
  int32_t value = 7;
  CHECK_OK(loom_dist_initialized(&value));
  CHECK(value == 0);
  CHECK_FAILS(loom_dist_rank(&value), LOOM_ERROR_DISTRIBUTED, "loom_dist_rank", "not initialised");
  CHECK_FAILS(loom_dist_init("gloo"), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_init", "unknown backend 'gloo'");
  CHECK_FAILS(loom_dist_set_timeout(0), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_set_timeout", "> 0");
}

static void test_job(void) {
  int32_t value = 0, local = -1;
  double seconds = 0;
  CHECK_OK(loom_dist_init(NULL)); /* "mpi" */
  CHECK_OK(loom_dist_init("mpi")); /* again: nothing to do */
  CHECK_OK(loom_dist_initialized(&value));
  CHECK(value == 1);
  CHECK_OK(loom_dist_rank(&rank_));
  CHECK_OK(loom_dist_size(&size_));
  CHECK_OK(loom_dist_local_rank(&local));
  CHECK(size_ >= 1 && rank_ >= 0 && rank_ < size_ && local >= 0);
  CHECK_OK(loom_dist_set_timeout(60));
  CHECK_OK(loom_dist_get_timeout(&seconds));
  CHECK(seconds == 60);
  CHECK_FAILS(loom_dist_init("nccl"), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_init", "already initialised");
}

/* Rank r contributes (r + 1) * {1, 2, 3}. */
static loom_tensor* rank_values(void) {
  const int64_t dims[] = {3};
  const float v[] = {(float)(rank_ + 1), (float)(2 * (rank_ + 1)), (float)(3 * (rank_ + 1))};
  return tensor_f32(v, dims, 1);
}

static void test_collectives(void) {
  const double triangle = size_ * (size_ + 1) / 2.0; /* sum of (r + 1) */
  loom_tensor *x = rank_values(), *out = NULL;
  float v[8];
  int64_t dims[2];
  int32_t rank = 0;
  CHECK_OK(loom_dist_all_reduce(x, LOOM_REDUCE_SUM, &out));
  values_f32(out, v, 3);
  CHECK_NEAR(v[0], triangle, 0);
  CHECK_NEAR(v[2], 3 * triangle, 0);
  loom_tensor_release(out);
  CHECK_OK(loom_dist_all_reduce(x, LOOM_REDUCE_MEAN, &out));
  values_f32(out, v, 3);
  CHECK_NEAR(v[1], 2 * triangle / size_, 1e-6);
  loom_tensor_release(out);
  CHECK_OK(loom_dist_all_reduce(x, LOOM_REDUCE_MAX, &out));
  values_f32(out, v, 3);
  CHECK_NEAR(v[0], size_, 0);
  loom_tensor_release(out);
  CHECK_OK(loom_dist_broadcast(x, size_ - 1, &out));
  values_f32(out, v, 3);
  CHECK_NEAR(v[0], size_, 0);
  loom_tensor_release(out);
  CHECK_OK(loom_dist_all_gather(x, &out));
  CHECK_OK(loom_tensor_shape(out, dims, 2, &rank));
  CHECK(rank == 1 && dims[0] == 3 * size_);
  loom_tensor_release(out);
  CHECK_OK(loom_dist_reduce_scatter(x, LOOM_REDUCE_SUM, &out)); /* 3 rows over the ranks */
  CHECK_OK(loom_tensor_shape(out, dims, 2, &rank));
  CHECK(dims[0] == 3 / size_ + (rank_ < 3 % size_ ? 1 : 0));
  if (dims[0] > 0) {
    values_f32(out, v, (size_t)dims[0]);
    CHECK_NEAR(v[0], (rank_ * (3 / size_) + (rank_ < 3 % size_ ? rank_ : 3 % size_) + 1) * triangle, 0);
  }
  loom_tensor_release(out);
  CHECK_OK(loom_dist_barrier());
  {
    loom_variable* var = NULL;
    loom_tensor* read = NULL;
    CHECK_OK(loom_variable_new(x, "v", 0, &var));
    CHECK_OK(loom_dist_all_reduce_variable(var, LOOM_REDUCE_SUM));
    CHECK_OK(loom_variable_read(var, &read));
    values_f32(read, v, 3);
    CHECK_NEAR(v[1], 2 * triangle, 0);
    loom_tensor_release(read);
    CHECK_OK(loom_dist_broadcast_variable(var, 0));
    loom_variable_release(var);
  }
  CHECK_FAILS(loom_dist_all_reduce(x, 9, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_all_reduce",
              "op 9 is not a LOOM_REDUCE_* value");
  CHECK(out == NULL);
  CHECK_FAILS(loom_dist_broadcast(x, size_, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_broadcast", "is not a rank");
  CHECK_FAILS(loom_dist_all_reduce(NULL, LOOM_REDUCE_SUM, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_all_reduce",
              "x is NULL");
  {
    loom_tensor* ints = NULL;
    CHECK_OK(loom_tensor_cast(x, LOOM_I32, &ints));
    CHECK_FAILS(loom_dist_all_reduce(ints, LOOM_REDUCE_MEAN, &out), LOOM_ERROR_DTYPE, "loom_dist_all_reduce",
                "mean needs a floating dtype");
    loom_tensor_release(ints);
  }
  /* Validation mode: shapes that differ between ranks fail on every rank, naming both. */
  CHECK_OK(loom_dist_set_validation(1));
  {
    const int64_t mine[] = {rank_ + 1};
    loom_tensor* z = NULL;
    CHECK_OK(loom_tensor_zeros(mine, 1, LOOM_F32, &z));
    if (size_ > 1) {
      CHECK_FAILS(loom_dist_all_reduce(z, LOOM_REDUCE_SUM, &out), LOOM_ERROR_SHAPE, "loom_dist_all_reduce",
                  "rank 0 calls all_reduce (sum) on float32 (1,), rank 1 calls all_reduce (sum) on float32 (2,)");
    }
    loom_tensor_release(z);
  }
  CHECK_OK(loom_dist_set_validation(0));
  loom_tensor_release(x);
}

/* Custom loop: w <- w - lr * mean over ranks of (rank + 1), for 3 steps, with the gradient of
 * sum(w * (rank + 1)) handed over by a watched tape. */
static void test_distributed_optimizer(void) {
  const int64_t dims[] = {2};
  const float start[] = {1, 1};
  const double mean = (size_ + 1) / 2.0;
  loom_tensor *init = tensor_f32(start, dims, 1), *scale = NULL, *read = NULL;
  loom_variable* w = NULL;
  loom_optimizer* sgd = NULL;
  loom_dist_optimizer* opt = NULL;
  loom_attrs* attrs = NULL;
  int64_t buckets = 0, bytes = 0;
  double comm = -1, exposed = -1;
  float v[2];
  int step;
  CHECK_OK(loom_variable_new(init, "w", 1, &w));
  CHECK_OK(loom_tensor_fill(dims, 1, rank_ + 1, LOOM_F32, &scale));
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_float(attrs, "learning_rate", 0.5));
  CHECK_OK(loom_optimizer_new("sgd", attrs, &sgd));
  CHECK_OK(loom_dist_optimizer_new(sgd, 0, &opt));
  CHECK_OK(loom_dist_optimizer_broadcast_state(opt, &w, 1, 0));
  for (step = 0; step < 3; ++step) {
    loom_tape* tape = NULL;
    loom_tensor *wt = NULL, *prod = NULL, *loss = NULL, *grad = NULL;
    CHECK_OK(loom_tape_new(0, 1, &tape));
    CHECK_OK(loom_dist_optimizer_watch(opt, tape, &w, 1));
    CHECK_OK(loom_variable_tensor(w, &wt));
    CHECK_OK(loom_mul(wt, scale, &prod));
    CHECK_OK(loom_reduce_sum(prod, NULL, -1, 0, &loss));
    CHECK_OK(loom_tape_gradient(tape, loss, NULL, 0, (const loom_variable* const*)&w, 1, NULL, 0, &grad));
    CHECK_OK(loom_dist_optimizer_apply_gradients(opt, (const loom_tensor* const*)&grad, &w, 1));
    loom_tensor_release(grad);
    loom_tensor_release(loss);
    loom_tensor_release(prod);
    loom_tensor_release(wt);
    loom_tape_release(tape);
  }
  CHECK_OK(loom_variable_read(w, &read));
  values_f32(read, v, 2);
  CHECK_NEAR(v[0], 1 - 3 * 0.5 * mean, 1e-6);
  CHECK_OK(loom_dist_optimizer_stats(opt, &buckets, &bytes, &comm, &exposed));
  CHECK(buckets == 1 && bytes == 8 && comm >= 0 && exposed >= 0);
  CHECK_OK(loom_dist_optimizer_stats(opt, NULL, NULL, NULL, NULL));
  CHECK_FAILS(loom_dist_optimizer_new(sgd, -1, &opt), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_optimizer_new",
              "bucket_bytes must be >= 0");
  CHECK(opt == NULL);
  CHECK_FAILS(loom_dist_optimizer_watch(NULL, NULL, &w, 1), LOOM_ERROR_INVALID_ARGUMENT, "loom_dist_optimizer_watch",
              "optimizer is NULL");
  loom_dist_optimizer_release(NULL);
  loom_tensor_release(read);
  loom_attrs_release(attrs);
  loom_optimizer_release(sgd);
  loom_tensor_release(scale);
  loom_tensor_release(init);
  loom_variable_release(w);
}

/* A one-Dense model of 4 inputs made from `seed`, compiled with SGD and MSE. */
static loom_model* dense_model(uint64_t seed) {
  const int64_t in_shape[] = {4};
  loom_model* model = NULL;
  loom_layer* dense = NULL;
  loom_attrs* layer = NULL;
  CHECK_OK(loom_set_seed(seed));
  CHECK_OK(loom_sequential_new(in_shape, 1, NULL, &model));
  CHECK_OK(loom_attrs_new(&layer));
  CHECK_OK(loom_attrs_set_int(layer, "units", 1));
  CHECK_OK(loom_layer_new("Dense", layer, &dense));
  CHECK_OK(loom_sequential_add(model, dense));
  CHECK_OK(loom_model_compile(model, "sgd", NULL, "mse", NULL, NULL, 0));
  loom_attrs_release(layer);
  loom_layer_release(dense);
  return model;
}

/* 2 epochs of global batch 8 (shuffled with seed 7): data-parallel over the ranks, or alone. */
static void fit_dense(loom_model* model, const loom_tensor* x, const loom_tensor* y, int distributed, double* history) {
  loom_attrs* options = NULL;
  int32_t epochs = 0;
  CHECK_OK(loom_attrs_new(&options));
  CHECK_OK(loom_attrs_set_int(options, "epochs", 2));
  CHECK_OK(loom_attrs_set_int(options, "batch_size", 8));
  CHECK_OK(loom_attrs_set_int(options, "seed", 7));
  CHECK_OK(loom_attrs_set_bool(options, "distributed", distributed));
  if (distributed) CHECK_OK(loom_attrs_set_int(options, "bucket_bytes", 4));
  CHECK_OK(loom_model_fit(model, x, y, options, NULL, NULL, history, 2, &epochs));
  CHECK(epochs == 2 && history[1] < history[0]);
  loom_attrs_release(options);
}

/* A data-parallel fit from different initial weights on each rank ends, on every rank, with the
 * weights and losses of rank 0's model trained alone on the global batches. */
static void test_distributed_fit(void) {
  const int64_t xdims[] = {32, 4}, ydims[] = {32, 1};
  float xs[32 * 4], ys[32], mine[5], alone[5], start[4];
  loom_model *model = dense_model(100 + (uint64_t)rank_), *reference = dense_model(100);
  loom_tensor *x = NULL, *y = NULL, *w[2] = {NULL, NULL}, *r[2] = {NULL, NULL};
  double history[2], reference_history[2];
  int i;
  for (i = 0; i < 32 * 4; ++i) xs[i] = (float)((i * 7) % 11) / 11.0f;
  for (i = 0; i < 32; ++i) ys[i] = xs[4 * i] + 2 * xs[4 * i + 1];
  x = tensor_f32(xs, xdims, 2);
  y = tensor_f32(ys, ydims, 2);
  CHECK_OK(loom_model_get_weights(reference, r, 2));
  values_f32(r[0], start, 4);
  loom_tensor_release(r[0]);
  loom_tensor_release(r[1]);
  fit_dense(model, x, y, 1, history);
  fit_dense(reference, x, y, 0, reference_history);
  CHECK_OK(loom_model_get_weights(model, w, 2)); /* kernel (4, 1), bias (1) */
  CHECK_OK(loom_model_get_weights(reference, r, 2));
  values_f32(w[0], mine, 4);
  values_f32(w[1], mine + 4, 1);
  values_f32(r[0], alone, 4);
  values_f32(r[1], alone + 4, 1);
  for (i = 0; i < 5; ++i) CHECK_NEAR(mine[i], alone[i], 1e-5 * (1 + fabs(alone[i])));
  CHECK(fabs(alone[0] - start[0]) > 1e-3); /* not vacuous: training moved the weights */
  for (i = 0; i < 2; ++i) CHECK_NEAR(history[i], reference_history[i], 1e-5 * reference_history[i]);
  CHECK_OK(loom_dist_broadcast_model(model, 0));
  for (i = 0; i < 2; ++i) {
    loom_tensor_release(w[i]);
    loom_tensor_release(r[i]);
  }
  loom_tensor_release(x);
  loom_tensor_release(y);
  loom_model_release(model);
  loom_model_release(reference);
}

static void test_finalize(void) {
  int32_t value = 1;
  CHECK_OK(loom_dist_finalize());
  CHECK_OK(loom_dist_initialized(&value));
  CHECK(value == 0);
  CHECK_OK(loom_dist_finalize()); /* nothing left to do */
  CHECK_FAILS(loom_dist_init("mpi"), LOOM_ERROR_DISTRIBUTED, "loom_dist_init", "MPI was finalised already");
}

int main(void) {
  CHECK_OK(loom_init(LOOM_ABI_VERSION));
  RUN(test_before_init);
  RUN(test_job);
  RUN(test_collectives);
  RUN(test_distributed_optimizer);
  RUN(test_distributed_fit);
  RUN(test_finalize);
  return check_failures;
}
