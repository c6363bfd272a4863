#pragma once
// loom's communication thread: every call into a communicator plugin runs here, one at a time,
// in the order submitted. MPI then sees a single thread (MPI_THREAD_FUNNELED is enough), and
// gradient buckets all-reduce here while the backward pass goes on on the caller's thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace loom::dist::detail {

class Worker {
 public:
  Worker();
  // Joins the thread after the queued jobs ran.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `job`; the future holds its exception, if any.
  std::future<void> submit(std::function<void()> job);
  // Lets the thread go without waiting for it (it may be stuck in a transport whose peers are
  // gone): the process can still exit.
  void abandon();

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loom::dist::detail
