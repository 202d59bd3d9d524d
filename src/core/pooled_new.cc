#include "core/pooled_new.h"

#include <cstdlib>
#include <new>

#include "core/sanitizers.h"

#if !RAMPART_ASAN

namespace {

using rampart::core::kFinePooledBytes;
using rampart::core::kMaxPooledBytes;
using rampart::core::kMediumPooledBytes;
using rampart::core::PooledClassBytes;
using rampart::core::PooledClassCap;

// Every block starts with a header that names its size class, so an unsized delete (Asio's, C
// libraries', a virtual destructor's) finds the class too. 16 bytes keep the payload at the
// default new alignment.
constexpr std::size_t kHeader = 16;
constexpr std::size_t kFineClasses = kFinePooledBytes / 16;
constexpr std::size_t kMediumClasses = (kMediumPooledBytes - kFinePooledBytes) / 256;
constexpr std::size_t kClasses =
    kFineClasses + kMediumClasses + (kMaxPooledBytes - kMediumPooledBytes) / 4096;
constexpr std::uint32_t kLarge = 0xffffffffu;

struct alignas(16) Header {
  std::uint32_t cls;
};
static_assert(sizeof(Header) == kHeader);

struct FreeBlock {
  FreeBlock* next;
};

// Each class's block size and cap, computed once from PooledClassBytes: class i holds the i-th
// distinct block size.
struct ClassTable {
  std::uint32_t bytes[kClasses];
  std::uint32_t cap[kClasses];
  constexpr ClassTable() : bytes{}, cap{} {
    std::size_t i = 0;
    for (std::size_t n = 1; n <= kMaxPooledBytes; n = PooledClassBytes(n) + 1, ++i) {
      bytes[i] = static_cast<std::uint32_t>(PooledClassBytes(n));
      cap[i] = PooledClassCap(n);
    }
  }
};
constexpr ClassTable kTable{};

struct Cache {
  FreeBlock* head[kClasses];
  std::uint32_t count[kClasses];
  bool registered;  // the thread's Drain is set up
  bool closed;      // the thread is ending: deletes go straight to free
};
constinit thread_local Cache t_cache{};

// Frees what the thread holds when it ends.
struct Drain {
  ~Drain() {
    Cache& c = t_cache;
    c.closed = true;
    for (std::size_t i = 0; i < kClasses; ++i) {
      while (FreeBlock* b = c.head[i]) {
        c.head[i] = b->next;
        std::free(reinterpret_cast<char*>(b) - kHeader);
      }
      c.count[i] = 0;
    }
  }
};
thread_local Drain t_drain;

constexpr std::size_t ClassOf(std::size_t n) noexcept {
  if (n <= kFinePooledBytes) return n == 0 ? 0 : (n - 1) / 16;
  if (n <= kMediumPooledBytes) return kFineClasses + (n - kFinePooledBytes - 1) / 256;
  return kFineClasses + kMediumClasses + (n - kMediumPooledBytes - 1) / 4096;
}
// ClassOf agrees with the table for every pooled size, and the table is full.
constexpr bool ClassOfMatchesTable() {
  for (std::size_t n = 1; n <= kMaxPooledBytes; ++n) {
    if (kTable.bytes[ClassOf(n)] != PooledClassBytes(n)) return false;
  }
  return ClassOf(kMaxPooledBytes) == kClasses - 1 && kTable.bytes[kClasses - 1] == kMaxPooledBytes;
}
static_assert(ClassOfMatchesTable());

void* Raw(std::size_t payload, std::uint32_t cls) noexcept {
  if (payload > static_cast<std::size_t>(-1) - kHeader) return nullptr;
  void* raw = std::malloc(kHeader + payload);
  if (raw == nullptr) return nullptr;
  static_cast<Header*>(raw)->cls = cls;
  return static_cast<char*>(raw) + kHeader;
}

void* TryAllocate(std::size_t n) noexcept {
  if (n <= kMaxPooledBytes) {
    const std::size_t cls = ClassOf(n);
    Cache& c = t_cache;
    if (FreeBlock* b = c.head[cls]) {
      c.head[cls] = b->next;
      --c.count[cls];
      return b;
    }
    return Raw(kTable.bytes[cls], static_cast<std::uint32_t>(cls));
  }
  return Raw(n, kLarge);
}

void* Allocate(std::size_t n) {
  for (;;) {
    if (void* p = TryAllocate(n)) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

void Release(void* p) noexcept {
  if (p == nullptr) return;
  auto* h = reinterpret_cast<Header*>(static_cast<char*>(p) - kHeader);
  const std::uint32_t cls = h->cls;
  Cache& c = t_cache;
  if (cls != kLarge && !c.closed && c.count[cls] < kTable.cap[cls]) {
    if (!c.registered) {
      c.registered = true;
      [[maybe_unused]] Drain* d = &t_drain;  // constructs it: its destructor runs at thread exit
    }
    auto* b = static_cast<FreeBlock*>(p);
    b->next = c.head[cls];
    c.head[cls] = b;
    ++c.count[cls];
    return;
  }
  std::free(h);
}

}  // namespace

void* operator new(std::size_t n) { return Allocate(n); }
void* operator new[](std::size_t n) { return Allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return TryAllocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return TryAllocate(n); }
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, std::size_t) noexcept { Release(p); }
void operator delete[](void* p, std::size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }

namespace rampart::core {

bool PooledNewActive() noexcept { return true; }

std::uint32_t PooledBlocksReady(std::size_t bytes) noexcept {
  return bytes <= kMaxPooledBytes ? t_cache.count[ClassOf(bytes)] : 0;
}

}  // namespace rampart::core

#else

namespace rampart::core {

bool PooledNewActive() noexcept { return false; }
std::uint32_t PooledBlocksReady(std::size_t) noexcept { return 0; }

}  // namespace rampart::core

#endif
