//===- HeapTest.cpp - a step's freed temporaries stay in the heap ---------===//

#include "mstream/Runtime/Heap.h"

#include <gtest/gtest.h>

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

#if defined(__GLIBC__)
/// Bytes the main arena holds from the kernel; mmapped blocks.
size_t heapBytes() { return ::mallinfo2().arena; }
size_t mmappedBytes() { return ::mallinfo2().hblkhd; }

// 1.2 GiB: over glibc's largest mmap threshold and over the 1 GiB trim
// threshold that let tmm's d=512 step give its temporaries back every step.
// Only one page is touched, so the test costs address space, not memory.
constexpr size_t kStepTemporaries = size_t(1200) << 20;

TEST(HeapTest, LargeBlocksComeFromTheHeapAndStayThere) {
  mstream::rt::keepStepBuffers();
  size_t mmapped = mmappedBytes();
  void *block = std::malloc(kStepTemporaries);
  ASSERT_NE(block, nullptr);
  static_cast<volatile char *>(block)[0] = 1;
  size_t grown = heapBytes();
  EXPECT_GE(grown, kStepTemporaries) << "served by the heap";
  EXPECT_EQ(mmappedBytes(), mmapped) << "not a fresh mmap";
  std::free(block);
  EXPECT_EQ(heapBytes(), grown) << "the freed top of the heap was trimmed";
}
#else
TEST(HeapTest, LargeBlocksComeFromTheHeapAndStayThere) {
  GTEST_SKIP() << "skipped: the allocator policy is glibc's";
}
#endif

} // namespace
