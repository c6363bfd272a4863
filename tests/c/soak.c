/* Soak test of the C ABI under load: randomly generated small models (Dense stacks with batch
 * normalisation and dropout, regression or classification, SGD/Adam/RMSprop) and random op
 * sequences differentiated on a tape, run from several threads at once for a given time. Each
 * job's results (loss history, predictions, evaluation, gradients) must equal bit for bit those
 * of the same job run alone before the threads start, and the resident memory must not grow
 * after a warm-up. Usage: loom_soak SECONDS [THREADS (default 4)]. Exit status 0 when clean;
 * the last line sums up what ran. */
#include "check.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
/* AddressSanitizer holds freed memory in a quarantine (256 MiB by default) that would read as
 * growth; a small one still catches use after free. */
const char* __asan_default_options(void);
const char* __asan_default_options(void) { return "quarantine_size_mb=16"; }
#endif
#endif

#define JOBS 12        /* distinct jobs; threads cycle through them */
#define MAX_VALUES 512 /* per job result */
#define EXAMPLES 48

typedef struct {
  double values[MAX_VALUES];
  int count;
  char error[256];
} Result;

static uint64_t next_random(uint64_t* state) { /* xorshift64* */
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 2685821657736338717ull;
}

static int pick(uint64_t* state, int n) { return (int)(next_random(state) % (uint64_t)n); }

static void fail(Result* r, const char* what) {
  if (!r->error[0]) snprintf(r->error, sizeof r->error, "%s: %s", what, loom_last_error_message());
}

static void append(Result* r, const loom_tensor* t) {
  loom_tensor* as_f64 = NULL;
  int64_t n = 0;
  double* all = NULL;
  if (loom_tensor_numel(t, &n) != LOOM_OK || loom_tensor_cast(t, LOOM_F64, &as_f64) != LOOM_OK) {
    fail(r, "append");
    return;
  }
  all = (double*)malloc((size_t)n * sizeof(double) + 1);
  if (all && loom_tensor_to_host(as_f64, all, (size_t)n * sizeof(double)) == LOOM_OK) {
    if (n > MAX_VALUES - r->count) n = MAX_VALUES - r->count;
    memcpy(r->values + r->count, all, (size_t)n * sizeof(double));
    r->count += (int)n;
  } else {
    fail(r, "to_host");
  }
  free(all);
  loom_tensor_release(as_f64);
}

static loom_layer* layer(Result* r, const char* type, loom_attrs* attrs) {
  loom_layer* l = NULL;
  if (loom_layer_new(type, attrs, &l) != LOOM_OK) fail(r, type);
  loom_attrs_release(attrs);
  return l;
}

static loom_attrs* attrs(void) {
  loom_attrs* a = NULL;
  loom_attrs_new(&a);
  return a;
}

/* A model job: architecture, data, initial weights and training all follow from `seed`. */
static void model_job(uint64_t seed, Result* r) {
  static const char* activations[] = {"relu", "tanh", "sigmoid", "linear", "elu"};
  static const char* optimizers[] = {"sgd", "adam", "rmsprop"};
  uint64_t s = seed * 7919 + 1;
  const int64_t in_dim = 2 + pick(&s, 7);
  const int classify = pick(&s, 2);
  const int64_t outputs = classify ? 2 + pick(&s, 3) : 1 + pick(&s, 2);
  const int hidden = 1 + pick(&s, 3);
  const int64_t x_dims[] = {EXAMPLES, in_dim};
  loom_model* model = NULL;
  loom_tensor *x = NULL, *y = NULL, *pred = NULL;
  loom_tensor* weights[32] = {NULL};
  int32_t n_weights = 0, i, epochs_run = 0;
  double history[2] = {0, 0}, evaluation[4] = {0};
  loom_attrs* fit = attrs();

  if (loom_sequential_new(&in_dim, 1, "soak", &model) != LOOM_OK) {
    fail(r, "sequential_new");
    loom_attrs_release(fit);
    return;
  }
  for (i = 0; i < hidden && !r->error[0]; ++i) {
    loom_attrs* a = attrs();
    loom_attrs_set_int(a, "units", 2 + pick(&s, 11));
    loom_attrs_set_string(a, "activation", activations[pick(&s, 5)]);
    loom_layer* l = layer(r, "Dense", a);
    if (l && loom_sequential_add(model, l) != LOOM_OK) fail(r, "add Dense");
    loom_layer_release(l);
    if (pick(&s, 3) == 0) {
      l = layer(r, "BatchNormalization", NULL);
      if (l && loom_sequential_add(model, l) != LOOM_OK) fail(r, "add BatchNormalization");
      loom_layer_release(l);
    }
    if (pick(&s, 3) == 0) {
      a = attrs();
      loom_attrs_set_float(a, "rate", 0.25);
      loom_attrs_set_int(a, "seed", (int64_t)seed + i);
      l = layer(r, "Dropout", a);
      if (l && loom_sequential_add(model, l) != LOOM_OK) fail(r, "add Dropout");
      loom_layer_release(l);
    }
  }
  {
    loom_attrs* a = attrs();
    loom_attrs_set_int(a, "units", outputs);
    loom_attrs_set_string(a, "activation", classify ? "softmax" : "linear");
    loom_layer* l = layer(r, "Dense", a);
    if (l && loom_sequential_add(model, l) != LOOM_OK) fail(r, "add output");
    loom_layer_release(l);
  }
  /* Seeded initial weights: the initialisers draw from the process's shared generator, whose
   * order between threads is not fixed. */
  if (!r->error[0] && loom_model_get_weights(model, weights, 32) == LOOM_OK && loom_model_weight_count(model, &n_weights) == LOOM_OK) {
    for (i = 0; i < n_weights; ++i) {
      int64_t dims[8];
      int32_t rank = 0;
      loom_tensor* fresh = NULL;
      loom_tensor_shape(weights[i], dims, 8, &rank);
      loom_tensor_random_normal(dims, rank, 0.5, 0.3, LOOM_F32, seed * 100 + (uint64_t)i, &fresh);
      loom_tensor_release(weights[i]);
      weights[i] = fresh;
    }
    if (loom_model_set_weights(model, (const loom_tensor* const*)weights, n_weights) != LOOM_OK) fail(r, "set_weights");
  } else {
    fail(r, "get_weights");
  }
  for (i = 0; i < n_weights; ++i) loom_tensor_release(weights[i]);

  if (loom_tensor_random_normal(x_dims, 2, 0, 1, LOOM_F32, seed + 1000, &x) != LOOM_OK) fail(r, "x");
  if (classify) {
    const int64_t y_dims[] = {EXAMPLES};
    loom_tensor* u = NULL;
    if (loom_tensor_random_uniform(y_dims, 1, 0, (double)outputs, LOOM_I64, seed + 2000, &u) != LOOM_OK) fail(r, "labels");
    y = u;
  } else {
    const int64_t y_dims[] = {EXAMPLES, outputs};
    if (loom_tensor_random_normal(y_dims, 2, 0, 1, LOOM_F32, seed + 2000, &y) != LOOM_OK) fail(r, "targets");
  }
  {
    loom_attrs* opt = attrs();
    const char* metrics[] = {"accuracy"};
    loom_attrs_set_float(opt, "learning_rate", 0.01);
    if (!r->error[0] && loom_model_compile(model, optimizers[pick(&s, 3)], opt, classify ? "sparse_categorical_crossentropy" : "mse",
                                           NULL, metrics, classify ? 1 : 0) != LOOM_OK) {
      fail(r, "compile");
    }
    loom_attrs_release(opt);
  }
  loom_attrs_set_int(fit, "epochs", 2);
  loom_attrs_set_int(fit, "batch_size", 16);
  loom_attrs_set_int(fit, "seed", (int64_t)seed);
  if (!r->error[0] && loom_model_fit(model, x, y, fit, NULL, NULL, history, 2, &epochs_run) != LOOM_OK) fail(r, "fit");
  if (!r->error[0] && loom_model_evaluate(model, x, y, 32, evaluation, 4, NULL) != LOOM_OK) fail(r, "evaluate");
  if (!r->error[0] && loom_model_predict(model, x, 32, &pred) != LOOM_OK) fail(r, "predict");
  if (!r->error[0]) {
    r->values[r->count++] = history[0];
    r->values[r->count++] = history[1];
    r->values[r->count++] = evaluation[0];
    r->values[r->count++] = evaluation[1];
    append(r, pred);
  }
  loom_attrs_release(fit);
  loom_tensor_release(pred);
  loom_tensor_release(x);
  loom_tensor_release(y);
  loom_model_release(model);
}

/* An op job: a random chain of differentiable ops on a watched input, then its gradient. */
static void op_job(uint64_t seed, Result* r) {
  static const char* unary[] = {"tanh", "sigmoid", "exp", "square", "relu", "softmax", "sin"};
  uint64_t s = seed * 104729 + 3;
  const int64_t dims[] = {3 + pick(&s, 4), 2 + pick(&s, 4)};
  loom_tensor *x = NULL, *h = NULL, *w = NULL, *loss = NULL, *grad = NULL;
  loom_tape* tape = NULL;
  int step;
  if (loom_tensor_random_normal(dims, 2, 0, 0.5, LOOM_F64, seed, &x) != LOOM_OK || loom_tape_new(0, 0, &tape) != LOOM_OK ||
      loom_tape_watch(tape, x) != LOOM_OK) {
    fail(r, "op job setup");
  }
  h = x;
  for (step = 0; step < 6 && !r->error[0]; ++step) {
    loom_tensor* next = NULL;
    int32_t n = 0;
    const int kind = pick(&s, 3);
    if (kind == 0) {
      const loom_tensor* in[] = {h};
      if (loom_op_call(unary[pick(&s, 7)], in, 1, NULL, &next, 1, &n) != LOOM_OK) fail(r, "unary op");
    } else if (kind == 1) {
      const int64_t wd[] = {dims[1], dims[1]};
      if (loom_tensor_random_normal(wd, 2, 0, 0.5, LOOM_F64, seed + (uint64_t)step, &w) != LOOM_OK || loom_matmul(h, w, 0, 0, &next) != LOOM_OK) {
        fail(r, "matmul");
      }
      loom_tensor_release(w);
      w = NULL;
    } else {
      if (loom_mul(h, x, &next) != LOOM_OK) fail(r, "mul");
    }
    if (h != x) loom_tensor_release(h);
    h = next;
  }
  if (!r->error[0] && (loom_reduce_sum(h, NULL, -1, 0, &loss) != LOOM_OK ||
                       loom_tape_gradient(tape, loss, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 0, &grad) != LOOM_OK)) {
    fail(r, "gradient");
  }
  if (!r->error[0]) {
    append(r, loss);
    append(r, grad);
  }
  if (h != x) loom_tensor_release(h);
  loom_tensor_release(loss);
  loom_tensor_release(grad);
  loom_tensor_release(x);
  loom_tape_release(tape);
}

static void run_job(int job, Result* r) {
  memset(r, 0, sizeof *r);
  if (job % 2 == 0) {
    model_job((uint64_t)job + 1, r);
  } else {
    op_job((uint64_t)job + 1, r);
  }
}

static Result reference[JOBS];
static double deadline;
static long rss_after_warmup_kb = -1;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long resident_kb(void) {
  long pages = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

typedef struct {
  int index;
  long runs;
  long mismatches;
  char first_problem[512];
} Worker;

static void* work(void* arg) {
  Worker* w = (Worker*)arg;
  Result r;
  int job = w->index * 5;
  while (now() < deadline) {
    job = (job + 1) % JOBS;
    run_job(job, &r);
    ++w->runs;
    if (r.error[0] || r.count != reference[job].count ||
        memcmp(r.values, reference[job].values, (size_t)r.count * sizeof(double)) != 0) {
      if (!w->mismatches) {
        snprintf(w->first_problem, sizeof w->first_problem, "thread %d, job %d: %s", w->index, job,
                 r.error[0] ? r.error : "results differ from the serial run");
      }
      ++w->mismatches;
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 10;
  const int threads = argc > 2 ? atoi(argv[2]) : 4;
  Worker workers[64];
  pthread_t ids[64];
  long runs = 0, mismatches = 0, rss_end_kb;
  int fewest = MAX_VALUES, most = 0;
  double start;
  int i;
  if (seconds <= 0 || threads < 1 || threads > 64) {
    fprintf(stderr, "usage: loom_soak SECONDS [THREADS 1-64]\n");
    return 2;
  }
  loom_set_num_threads(1); /* one kernel thread per caller: the callers are the load */
  for (i = 0; i < JOBS; ++i) {
    run_job(i, &reference[i]);
    if (reference[i].error[0]) {
      fprintf(stderr, "serial job %d failed: %s\n", i, reference[i].error);
      return 1;
    }
    if (reference[i].count < fewest) fewest = reference[i].count;
    if (reference[i].count > most) most = reference[i].count;
  }
  start = now();
  deadline = start + seconds;
  for (i = 0; i < threads; ++i) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].index = i;
    pthread_create(&ids[i], NULL, work, &workers[i]);
  }
  /* Warm-up: the first quarter fills the allocators' caches; after it memory must stay flat. */
  {
    const struct timespec tick = {0, 100000000};
    while (now() < start + seconds / 4) nanosleep(&tick, NULL);
  }
  rss_after_warmup_kb = resident_kb();
  for (i = 0; i < threads; ++i) {
    pthread_join(ids[i], NULL);
    runs += workers[i].runs;
    mismatches += workers[i].mismatches;
    if (workers[i].mismatches) fprintf(stderr, "%s\n", workers[i].first_problem);
  }
  rss_end_kb = resident_kb();
  printf("soak: %d threads, %.0f s, %ld jobs (%d distinct models and op sequences, %d to %d values compared each), "
         "%ld mismatches; resident memory %ld MiB after warm-up, %ld MiB at the end\n",
         threads, seconds, runs, JOBS, fewest, most, mismatches, rss_after_warmup_kb / 1024, rss_end_kb / 1024);
  /* Growth allowance: 16 MiB or 10%, for allocator fragmentation, not for leaks (a leak of one
   * job's tensors grows by megabytes per second). */
  if (rss_end_kb - rss_after_warmup_kb > 16 * 1024 && rss_end_kb > rss_after_warmup_kb + rss_after_warmup_kb / 10) {
    fprintf(stderr, "resident memory grew after warm-up\n");
    return 1;
  }
  return mismatches ? 1 : 0;
}
