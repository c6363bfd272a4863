/* Threads: several threads run ops and their own tapes and optimizers at once, predict on one
 * shared model concurrently, and a tape used from a foreign thread is an error, not a crash. */
#include "check.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

#define THREADS 4
#define STEPS 60

/* Each thread fits w in y = w * x to its own target slope (1 + thread index) with SGD. */
typedef struct {
  int index;
  double final_w;
  int failures;
} FitJob;

static void* fit_slope(void* arg) {
  FitJob* job = (FitJob*)arg;
  const int64_t d[] = {8};
  float xs[8], ys[8];
  loom_tensor *x = NULL, *y = NULL, *w0 = NULL;
  loom_variable* w = NULL;
  loom_optimizer* sgd = NULL;
  loom_attrs* attrs = NULL;
  int i, step, ok = 1;
  for (i = 0; i < 8; ++i) {
    xs[i] = (float)i / 8.0f;
    ys[i] = (float)(job->index + 1) * xs[i];
  }
  ok &= loom_tensor_from_host(xs, sizeof xs, d, 1, LOOM_F32, &x) == LOOM_OK;
  ok &= loom_tensor_from_host(ys, sizeof ys, d, 1, LOOM_F32, &y) == LOOM_OK;
  ok &= loom_tensor_zeros(NULL, 0, LOOM_F32, &w0) == LOOM_OK;
  ok &= loom_variable_new(w0, "w", 1, &w) == LOOM_OK;
  ok &= loom_attrs_new(&attrs) == LOOM_OK && loom_attrs_set_float(attrs, "learning_rate", 0.5) == LOOM_OK;
  ok &= loom_optimizer_new("sgd", attrs, &sgd) == LOOM_OK;
  for (step = 0; ok && step < STEPS; ++step) {
    loom_tape* tape = NULL;
    loom_tensor *wt = NULL, *pred = NULL, *err = NULL, *sq = NULL, *loss = NULL, *grad = NULL;
    ok &= loom_tape_new(0, 1, &tape) == LOOM_OK;
    ok &= loom_variable_tensor(w, &wt) == LOOM_OK;
    ok &= loom_mul(wt, x, &pred) == LOOM_OK;
    ok &= loom_sub(pred, y, &err) == LOOM_OK;
    ok &= loom_mul(err, err, &sq) == LOOM_OK;
    ok &= loom_reduce_mean(sq, NULL, -1, 0, &loss) == LOOM_OK;
    ok &= loom_tape_gradient(tape, loss, NULL, 0, (const loom_variable* const*)&w, 1, NULL, 0, &grad) == LOOM_OK;
    ok &= loom_optimizer_apply_gradients(sgd, (const loom_tensor* const*)&grad, &w, 1) == LOOM_OK;
    loom_tape_release(tape);
    loom_tensor_release(wt);
    loom_tensor_release(pred);
    loom_tensor_release(err);
    loom_tensor_release(sq);
    loom_tensor_release(loss);
    loom_tensor_release(grad);
  }
  {
    loom_tensor* now = NULL;
    ok &= loom_variable_read(w, &now) == LOOM_OK && loom_tensor_item(now, &job->final_w) == LOOM_OK;
    loom_tensor_release(now);
  }
  if (!ok) fprintf(stderr, "thread %d: %s\n", job->index, loom_last_error_message());
  job->failures = !ok;
  loom_optimizer_release(sgd);
  loom_attrs_release(attrs);
  loom_variable_release(w);
  loom_tensor_release(w0);
  loom_tensor_release(x);
  loom_tensor_release(y);
  return NULL;
}

static void test_concurrent_tapes(void) {
  pthread_t threads[THREADS];
  FitJob jobs[THREADS];
  int i;
  for (i = 0; i < THREADS; ++i) {
    jobs[i].index = i;
    jobs[i].failures = 0;
    CHECK(pthread_create(&threads[i], NULL, fit_slope, &jobs[i]) == 0);
  }
  for (i = 0; i < THREADS; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(jobs[i].failures == 0);
    CHECK_NEAR(jobs[i].final_w, i + 1, 0.02);
  }
}

typedef struct {
  loom_model* model;
  const loom_tensor* x;
  float out[16];
  int failures;
} PredictJob;

static void* predict_many(void* arg) {
  PredictJob* job = (PredictJob*)arg;
  int round;
  for (round = 0; round < 20 && !job->failures; ++round) {
    loom_tensor* y = NULL;
    job->failures |= loom_model_predict(job->model, job->x, 4, &y) != LOOM_OK;
    job->failures |= loom_tensor_to_host(y, job->out, sizeof job->out) != LOOM_OK;
    loom_tensor_release(y);
  }
  return NULL;
}

static void test_concurrent_predict(void) {
  const int64_t in_shape[] = {3}, dx[] = {16, 3};
  loom_model* model = NULL;
  loom_layer *hidden = NULL, *out = NULL;
  loom_attrs *a = NULL, *b = NULL;
  loom_tensor *x = NULL, *reference = NULL;
  pthread_t threads[THREADS];
  PredictJob jobs[THREADS];
  float expected[16];
  int i;
  CHECK_OK(loom_tensor_random_normal(dx, 2, 0, 1, LOOM_F32, 5, &x));
  CHECK_OK(loom_sequential_new(in_shape, 1, NULL, &model));
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_int(a, "units", 8));
  CHECK_OK(loom_attrs_set_string(a, "activation", "tanh"));
  CHECK_OK(loom_layer_new("Dense", a, &hidden));
  CHECK_OK(loom_attrs_new(&b));
  CHECK_OK(loom_attrs_set_int(b, "units", 1));
  CHECK_OK(loom_layer_new("Dense", b, &out));
  CHECK_OK(loom_sequential_add(model, hidden));
  CHECK_OK(loom_sequential_add(model, out));
  CHECK_OK(loom_model_predict(model, x, 4, &reference)); /* the threads' batch size */
  CHECK_OK(loom_tensor_to_host(reference, expected, sizeof expected));
  for (i = 0; i < THREADS; ++i) {
    jobs[i].model = model;
    jobs[i].x = x;
    jobs[i].failures = 0;
    CHECK(pthread_create(&threads[i], NULL, predict_many, &jobs[i]) == 0);
  }
  for (i = 0; i < THREADS; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(jobs[i].failures == 0);
    CHECK(memcmp(jobs[i].out, expected, sizeof expected) == 0);
  }
  loom_attrs_release(a);
  loom_attrs_release(b);
  loom_layer_release(hidden);
  loom_layer_release(out);
  loom_tensor_release(x);
  loom_tensor_release(reference);
  loom_model_release(model);
}

typedef struct {
  loom_tape* tape;
  const loom_tensor* x;
  loom_status status, resume_status;
  char message[256], resume_message[256];
} ForeignJob;

static void* use_foreign_tape(void* arg) {
  ForeignJob* job = (ForeignJob*)arg;
  job->status = loom_tape_watch(job->tape, job->x);
  loom_last_error_copy(job->message, sizeof job->message);
  job->resume_status = loom_tape_resume_recording(job->tape);
  loom_last_error_copy(job->resume_message, sizeof job->resume_message);
  return NULL;
}

static void test_tape_belongs_to_its_thread(void) {
  const int64_t d[] = {1};
  loom_tensor* x = NULL;
  ForeignJob job;
  pthread_t thread;
  CHECK_OK(loom_tensor_ones(d, 1, LOOM_F32, &x));
  CHECK_OK(loom_tape_new(0, 1, &job.tape));
  job.x = x;
  CHECK_OK(loom_tape_stop_recording(job.tape));
  CHECK(pthread_create(&thread, NULL, use_foreign_tape, &job) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(job.status == LOOM_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(job.message, "loom_tape_watch") != NULL && strstr(job.message, "thread") != NULL);
  CHECK(job.resume_status == LOOM_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(job.resume_message, "loom_tape_resume_recording") != NULL);
  CHECK_OK(loom_tape_resume_recording(job.tape)); /* the owner still uses it */
  CHECK_OK(loom_tape_watch(job.tape, x));
  loom_tape_release(job.tape);
  loom_tensor_release(x);
}

int main(void) {
  RUN(test_concurrent_tapes);
  RUN(test_concurrent_predict);
  RUN(test_tape_belongs_to_its_thread);
  printf("%d failure(s)\n", check_failures);
  return check_failures == 0 ? 0 : 1;
}
