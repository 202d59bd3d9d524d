#include "core/pooled_new.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rampart::core {
namespace {

// Opaque to the optimizer, so a new/delete pair is not elided.
void* Keep(void* p) {
  asm volatile("" : : "g"(p) : "memory");
  return p;
}

// A block of `freed` bytes is freed, then `asked` bytes are asked for (and freed): both blocks'
// addresses, taken while each was held (equal when the second reused the first).
struct Reuse {
  std::uintptr_t freed;
  std::uintptr_t got;
};
Reuse FreeThenAsk(std::size_t freed, std::size_t asked) {
  void* a = Keep(::operator new(freed));
  const auto freed_at = reinterpret_cast<std::uintptr_t>(a);
  ::operator delete(a);
  void* b = Keep(::operator new(asked));
  const auto got_at = reinterpret_cast<std::uintptr_t>(b);
  ::operator delete(b, asked);
  return {freed_at, got_at};
}

TEST(PooledNew, ReusesTheBlockLastFreedOfTheSameSizeClass) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  const auto [a, b] = FreeThenAsk(200, 193);  // same 16-byte class (193..208)
  EXPECT_EQ(a, b);
  void* c = Keep(::operator new(240));  // another class: not that block
  EXPECT_NE(a, reinterpret_cast<std::uintptr_t>(c));
  ::operator delete(c);
}

TEST(PooledNew, KeepsAtMostTheCapPerClassAndFreesTheRest) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  const std::uint32_t before = PooledBlocksReady(720);
  std::vector<void*> blocks;
  for (std::uint32_t i = 0; i < kMaxPerClass + 50; ++i) blocks.push_back(Keep(::operator new(720)));
  EXPECT_LE(PooledBlocksReady(720), before);
  for (void* p : blocks) ::operator delete(p);
  EXPECT_EQ(PooledClassCap(720), kMaxPerClass);
  EXPECT_EQ(PooledBlocksReady(720), kMaxPerClass);
}

// A response body's buffer (the benchmarks' 1 KiB body is a 1,025-byte string) is kept too, in
// coarser classes whose cap is set by bytes.
TEST(PooledNew, BodySizedBlocksAreKeptInCoarserClassesCappedByBytes) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  const auto [a, b] = FreeThenAsk(1025, 1280);  // same 256-byte class (1025..1280)
  EXPECT_EQ(a, b);
  EXPECT_EQ(PooledClassBytes(1281), 1536u);
  EXPECT_EQ(PooledClassCap(4096), kMaxBytesPerClass / 4096);
  std::vector<void*> blocks;
  for (std::uint32_t i = 0; i < PooledClassCap(4000) + 20; ++i)
    blocks.push_back(Keep(::operator new(4000)));
  for (void* p : blocks) ::operator delete(p);
  EXPECT_EQ(PooledBlocksReady(3900), PooledClassCap(4096));
}

// OpenSSL frees a connection's record buffers (some 17 KiB) whenever it has nothing buffered.
TEST(PooledNew, RecordBufferSizedBlocksAreKept) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  const auto [a, b] = FreeThenAsk(17000, 20000);  // same 4 KiB class (16385..20480)
  EXPECT_EQ(a, b);
  EXPECT_EQ(PooledClassBytes(4097), 8192u);
  EXPECT_EQ(PooledClassCap(kMaxPooledBytes), kMaxBytesPerClass / kMaxPooledBytes);
}

TEST(PooledNew, LargeBlocksAreNotKept) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  const std::uint32_t before = PooledBlocksReady(kMaxPooledBytes);
  void* big = Keep(::operator new(kMaxPooledBytes + 1));
  ::operator delete(big);
  EXPECT_EQ(PooledBlocksReady(kMaxPooledBytes), before);
  EXPECT_EQ(PooledBlocksReady(kMaxPooledBytes + 1), 0u);
}

TEST(PooledNew, BlocksAreAlignedAndUsableWholeInEveryForm) {
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
        std::size_t{1023}, std::size_t{1024}, std::size_t{1025}, std::size_t{1 << 20}}) {
    auto* p = static_cast<unsigned char*>(Keep(::operator new(n)));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__, 0u) << n;
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(i);
    ::operator delete(p, n);
    auto* q = static_cast<unsigned char*>(Keep(::operator new[](n, std::nothrow)));
    ASSERT_NE(q, nullptr);
    for (std::size_t i = 0; i < n; ++i) q[i] = 0xa5;
    ::operator delete[](q);
  }
  auto s = std::make_unique<std::string>(300, 'x');
  EXPECT_EQ(s->size(), 300u);
}

TEST(PooledNew, ABlockFreedOnAnotherThreadServesThatThread) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  void* mine = Keep(::operator new(500));
  void* reused = nullptr;
  std::thread t([&] {
    ::operator delete(mine);
    reused = Keep(::operator new(500));
    ::operator delete(reused);
  });  // the thread's cache is freed as it ends
  t.join();
  EXPECT_EQ(reused, mine);
}

std::uint32_t AllBlocksReady() {
  std::uint32_t n = 0;
  for (std::size_t b = 16; b <= kMaxPooledBytes; b = PooledClassBytes(b) + 1)
    n += PooledBlocksReady(b);
  return n;
}

// The build settings that make Asio allocate through operator new (CMakeLists.txt): without them
// its coroutine frames and operations would bypass the cache, and this finds none in it.
TEST(PooledNew, AsioCoroutineFramesAndOperationsComeFromTheCache) {
  if (!PooledNewActive()) GTEST_SKIP() << "a sanitizer's operator new is in use";
  namespace asio = boost::asio;
  asio::io_context io(1);
  asio::steady_timer timer(io);
  // Empty this thread's cache, so every block in it afterwards was freed by the run below.
  std::vector<void*> held;
  held.reserve(AllBlocksReady());  // may take one of them: never more than it holds
  for (std::size_t b = 16; b <= kMaxPooledBytes; b = PooledClassBytes(b) + 1) {
    while (PooledBlocksReady(b) > 0) held.push_back(::operator new(b));
  }
  ASSERT_EQ(AllBlocksReady(), 0u);
  bool ran = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        timer.expires_after(std::chrono::milliseconds(0));
        co_await timer.async_wait(asio::use_awaitable);
        ran = true;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(ran);
  EXPECT_GE(AllBlocksReady(), 2u);  // at least the coroutine's frame and the wait's operation
  for (void* p : held) ::operator delete(p);
}

}  // namespace
}  // namespace rampart::core
