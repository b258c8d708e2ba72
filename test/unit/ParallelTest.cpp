//===- ParallelTest.cpp - mstream_parallel_for ----------------------------===//

#include "mstream/Runtime/Parallel.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

/// Counts each token's visits and records the threads that ran them.
struct Visits {
  std::vector<std::atomic<int>> count;
  /// The thread that visited each token (written once per token).
  std::vector<std::thread::id> thread;
  /// For nested ranges: the thread of the task that ran outer token i.
  std::vector<std::thread::id> outer;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  int blasThreads = 0;
  explicit Visits(int64_t n) : count(n), thread(n), outer(n) {}
};

void visit(void *context, int64_t begin, int64_t end) {
  auto *visits = static_cast<Visits *>(context);
  for (int64_t i = begin; i < end; ++i) {
    ++visits->count[i];
    visits->thread[i] = std::this_thread::get_id();
  }
  std::lock_guard<std::mutex> lock(visits->mutex);
  visits->threads.insert(std::this_thread::get_id());
  visits->blasThreads =
      std::max(visits->blasThreads, openblas_get_num_threads());
}

TEST(ParallelForTest, RunsEveryTokenOnceAndRestoresBlasThreads) {
  int blas = openblas_get_num_threads();
  for (int64_t n : {1, 2, 7, 256, 1001}) {
    Visits visits(n + 3);
    mstream_parallel_for(3, n + 3, visit, &visits);
    for (int64_t i = 0; i < n + 3; ++i)
      ASSERT_EQ(visits.count[i].load(), i < 3 ? 0 : 1)
          << "token " << i << " of [3, " << n + 3 << ")";
    EXPECT_LE(visits.threads.size(),
              static_cast<size_t>(mstream::rt::parallelThreads()));
    if (n > 1 && mstream::rt::parallelThreads() > 1) {
      EXPECT_EQ(visits.blasThreads, 1) << "tasks' BLAS calls stay serial";
    }
  }
  EXPECT_EQ(openblas_get_num_threads(), blas);
}

TEST(ParallelForTest, EmptyRangeRunsNothing) {
  Visits visits(4);
  mstream_parallel_for(2, 2, visit, &visits);
  mstream_parallel_for(3, 1, visit, &visits);
  for (auto &count : visits.count)
    EXPECT_EQ(count.load(), 0);
}

/// A parallel-for inside a task runs inline on that task's thread.
void nested(void *context, int64_t begin, int64_t end) {
  auto *visits = static_cast<Visits *>(context);
  for (int64_t i = begin; i < end; ++i) {
    visits->outer[i] = std::this_thread::get_id();
    mstream_parallel_for(i * 4, i * 4 + 4, visit, visits);
  }
}

TEST(ParallelForTest, NestedRangesRunInline) {
  Visits visits(64);
  mstream_parallel_for(0, 16, nested, &visits);
  for (int64_t i = 0; i < 64; ++i)
    ASSERT_EQ(visits.count[i].load(), 1) << "token " << i;
  // Each inner range ran on the thread of the task that asked for it.
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 4; ++j)
      ASSERT_EQ(visits.thread[i * 4 + j], visits.outer[i])
          << "token " << i * 4 + j << " of outer token " << i;
}

TEST(ParallelForTest, ConcurrentCallersShareThePool) {
  Visits a(500), b(500);
  std::thread other([&] { mstream_parallel_for(0, 500, visit, &b); });
  mstream_parallel_for(0, 500, visit, &a);
  other.join();
  for (int64_t i = 0; i < 500; ++i) {
    ASSERT_EQ(a.count[i].load(), 1);
    ASSERT_EQ(b.count[i].load(), 1);
  }
}

/// A forked child has none of its parent's pool threads; it must not wait
/// for them.
TEST(ParallelForTest, WorksInAForkedChild) {
  Visits warm(64);
  mstream_parallel_for(0, 64, visit, &warm);
  EXPECT_EXIT(
      {
        Visits visits(64);
        mstream_parallel_for(0, 64, visit, &visits);
        for (auto &count : visits.count)
          if (count.load() != 1)
            std::exit(1);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

} // namespace
