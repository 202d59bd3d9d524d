#include "core/thread_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace rampart {
namespace {

// A block given back is the next one taken on its thread (no trip through the allocator), up to
// the kept bound; past it blocks go back to the allocator. Under AddressSanitizer nothing is
// kept, so that a use after free is still caught: every block is then a fresh one.
TEST(BlockCache, ABlockGivenBackIsTakenAgainOnItsThread) {
  using Cache = BlockCache<96>;
  void* a = Cache::Take();
  void* b = Cache::Take();
  ASSERT_NE(a, b);
  Cache::Give(a);
  // Kept, not freed: the allocator does not hand it out (its per-thread cache would, first).
  void* elsewhere = ::operator new(96);
  void* again = Cache::Take();
  if (detail::kThreadCacheKeep > 0) {
    EXPECT_NE(elsewhere, a);
    EXPECT_EQ(again, a);
  }
  ::operator delete(elsewhere);
  // Another thread keeps its own: it does not see this thread's blocks.
  Cache::Give(again);
  void* there = nullptr;
  std::thread([&] {
    there = Cache::Take();
    Cache::Give(there);
  }).join();
  if (detail::kThreadCacheKeep > 0) {
    EXPECT_NE(there, again);
  }
  Cache::Give(b);
  // More than the bound given back at once: the rest are freed, nothing is lost or kept twice.
  std::vector<void*> many;
  for (std::size_t i = 0; i < detail::kThreadCacheKeep + 8; ++i) many.push_back(Cache::Take());
  for (void* p : many) Cache::Give(p);
  std::vector<void*> taken;
  for (std::size_t i = 0; i < detail::kThreadCacheKeep + 8; ++i) taken.push_back(Cache::Take());
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(std::adjacent_find(taken.begin(), taken.end()), taken.end());
  for (void* p : taken) Cache::Give(p);
}

}  // namespace
}  // namespace rampart
