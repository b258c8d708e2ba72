//===- DenormalsTest.cpp - subnormals flushed while entries run -----------===//

#include "mstream/Runtime/Denormals.h"
#include "mstream/Runtime/Parallel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace {

using mstream::rt::ScopedFlushDenormals;

/// Whether this thread's arithmetic flushes a subnormal (1e-39 is one).
bool flushes() {
  volatile float tiny = 1e-39f;
  return tiny * 2.0f == 0.0f;
}

TEST(DenormalsTest, FlushedInsideTheScopeOnly) {
  ASSERT_FALSE(flushes()) << "threads start with IEEE subnormals";
  {
    ScopedFlushDenormals flush;
    EXPECT_TRUE(flushes());
    volatile float small = 1e-20f;
    EXPECT_EQ(small * small, 0.0f) << "a subnormal result is flushed too";
  }
  EXPECT_FALSE(flushes());
}

/// Records, per item, whether its thread flushed, and the threads.
struct Seen {
  std::vector<int> flushed;
  std::mutex mutex;
  std::set<std::thread::id> threads;
};

void record(void *context, int64_t begin, int64_t end) {
  auto *seen = static_cast<Seen *>(context);
  for (int64_t i = begin; i < end; ++i) {
    seen->flushed[i] = flushes();
    // Long enough that the pool's threads take part, not only the caller.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::lock_guard<std::mutex> lock(seen->mutex);
  seen->threads.insert(std::this_thread::get_id());
}

// Every thread of the pool runs a task in its caller's mode, both ways.
TEST(DenormalsTest, PoolThreadsTakeTheCallersMode) {
  for (bool flush : {true, false, true}) {
    Seen seen;
    seen.flushed.assign(48, -1);
    {
      std::optional<ScopedFlushDenormals> scope;
      if (flush)
        scope.emplace();
      mstream_parallel_for(0, 48, record, &seen);
    }
    for (int value : seen.flushed)
      ASSERT_EQ(value, flush ? 1 : 0) << "flush " << flush;
    if (mstream::rt::parallelThreads() > 1) {
      EXPECT_GT(seen.threads.size(), 1u);
    }
  }
}

TEST(DenormalsTest, ZeroKeepsSubnormals) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("MSTREAM_FLUSH_DENORMALS", "0", 1);
        ScopedFlushDenormals flush;
        std::exit(flushes() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

} // namespace
