//===- Parallel.cpp - the parallel-for generated code calls ---------------===//

#include "mstream/Runtime/Parallel.h"
#include "mstream/Runtime/Denormals.h"

#include <algorithm>
#include <atomic>
#include <cblas.h>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

namespace {

using Task = void (*)(void *, int64_t, int64_t);

/// Set on pool threads, and on the caller while it runs tasks: a parallel-for
/// reached from a task runs inline.
thread_local bool inTask = false;

int threadCount() {
  if (const char *env = std::getenv("MSTREAM_NUM_THREADS"))
    if (int count = std::atoi(env); count > 0)
      return count;
  if (int blas = openblas_get_num_threads(); blas > 0)
    return blas;
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Threads that wait for a range and claim chunks of it until none is left;
/// the caller works on the range too.
class Pool {
public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i)
      workers.emplace_back([this] { work(); });
  }

  int size() const { return static_cast<int>(workers.size()) + 1; }

  void run(int64_t begin, int64_t end, Task task, void *context) {
    std::lock_guard<std::mutex> one(dispatch);
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = {task, context, end,
             std::max<int64_t>(1, (end - begin) / (4 * size())),
             mstream::rt::floatControl()};
      next.store(begin);
      busy = static_cast<int>(workers.size());
      ++generation;
    }
    wake.notify_all();
    inTask = true;
    claimChunks();
    inTask = false;
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, [&] { return busy == 0; });
  }

private:
  struct Job {
    Task task;
    void *context;
    int64_t end, chunk;
    unsigned floatControl; // the caller's: subnormals flushed or not
  };

  void work() {
    inTask = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen; });
        seen = generation;
      }
      mstream::rt::setFloatControl(job.floatControl);
      claimChunks();
      std::lock_guard<std::mutex> lock(mutex);
      if (--busy == 0)
        finished.notify_one();
    }
  }

  void claimChunks() {
    for (;;) {
      int64_t start = next.fetch_add(job.chunk);
      if (start >= job.end)
        return;
      job.task(job.context, start, std::min(start + job.chunk, job.end));
    }
  }

  std::vector<std::thread> workers;
  std::mutex dispatch, mutex;
  std::condition_variable wake, finished;
  Job job{};
  std::atomic<int64_t> next{0};
  uint64_t generation = 0;
  int busy = 0;
};

/// Never destroyed: its threads wait for work until the process exits. A
/// forked child has none of them, so it builds a pool of its own.
std::atomic<Pool *> instance{nullptr};
std::mutex creation;

Pool &pool() {
  if (Pool *current = instance.load(std::memory_order_acquire))
    return *current;
  std::lock_guard<std::mutex> lock(creation);
  static const bool registered =
      ::pthread_atfork(nullptr, nullptr, [] { instance.store(nullptr); }) == 0;
  (void)registered;
  if (!instance.load())
    instance.store(new Pool(threadCount()));
  return *instance.load();
}

} // namespace

int mstream::rt::parallelThreads() { return pool().size(); }

bool mstream::rt::inParallelTask() { return inTask; }

extern "C" void mstream_parallel_for(int64_t begin, int64_t end, Task task,
                                     void *context) {
  if (end <= begin)
    return;
  if (inTask || pool().size() == 1 || end - begin == 1) {
    bool outer = inTask;
    inTask = true;
    task(context, begin, end);
    inTask = outer;
    return;
  }
  int blasThreads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  pool().run(begin, end, task, context);
  openblas_set_num_threads(blasThreads);
}
