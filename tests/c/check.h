/* A minimal test harness for the C ABI tests: CHECK records a failure with the line and the
 * library's last error; main returns the failure count. */
#ifndef LOOM_TESTS_C_CHECK_H
#define LOOM_TESTS_C_CHECK_H

#define _POSIX_C_SOURCE 200809L /* mkstemp, close: the tests are C99 on POSIX */

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loom/loom.h"

static int check_failures = 0;

#define CHECK(cond)                                                                                     \
  do {                                                                                                  \
    if (!(cond)) {                                                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n  last error: %s\n", __FILE__, __LINE__, #cond,         \
              loom_last_error_message());                                                               \
      ++check_failures;                                                                                 \
    }                                                                                                   \
  } while (0)

#define CHECK_OK(call) CHECK((call) == LOOM_OK)

#define CHECK_NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

/* A failing call: the status, and a message that names the function and contains `needle`. */
#define CHECK_FAILS(call, status, function, needle)                                                     \
  do {                                                                                                  \
    loom_status s_ = (call);                                                                            \
    const char* m_ = loom_last_error_message();                                                         \
    if (s_ != (status) || strncmp(m_, function ": ", strlen(function ": ")) != 0 ||                      \
        strstr(m_, needle) == NULL) {                                                                   \
      fprintf(stderr, "%s:%d: expected %s to fail with %d naming '%s' and '%s'\n  got %d: %s\n",       \
              __FILE__, __LINE__, #call, (int)(status), function, needle, (int)s_, m_);                 \
      ++check_failures;                                                                                 \
    }                                                                                                   \
  } while (0)

#define RUN(test)                                  \
  do {                                             \
    int before_ = check_failures;                  \
    test();                                        \
    printf("%-40s %s\n", #test, check_failures == before_ ? "ok" : "FAILED"); \
  } while (0)

/* Copies a float32 tensor's values out (at most n). */
static inline void values_f32(const loom_tensor* t, float* out, size_t n) {
  CHECK_OK(loom_tensor_to_host(t, out, n * sizeof(float)));
}

static inline loom_tensor* tensor_f32(const float* values, const int64_t* dims, int32_t rank) {
  loom_tensor* t = NULL;
  size_t n = 1;
  int32_t i;
  for (i = 0; i < rank; ++i) n *= (size_t)dims[i];
  CHECK_OK(loom_tensor_from_host(values, n * sizeof(float), dims, rank, LOOM_F32, &t));
  return t;
}

static inline double scalar_of(const loom_tensor* t) {
  double v = NAN;
  CHECK_OK(loom_tensor_item(t, &v));
  return v;
}

/* Fills a "/tmp/..._XXXXXX" template with a fresh file's name; true on success. */
static inline int make_temp_file(char* path_template) {
  int fd = mkstemp(path_template);
  return fd >= 0 && close(fd) == 0;
}

#endif
