// A per-thread cache of blocks of one size, for an object one request builds and drops (a gate's
// state): its allocation then costs a pop and a push on the worker's own stack. In rampart's
// executables operator new is itself a per-thread cache (core/pooled_new.h), so this saves only
// its size-class lookup and header there; binaries without it (benchmarks) skip malloc. A thread
// keeps at most 64 blocks; the rest go back to the allocator.
// Under AddressSanitizer (GCC's or clang's) nothing is kept, so a use after free is still caught.
#pragma once

#include <cstddef>
#include <new>

#include "core/sanitizers.h"

namespace rampart {

namespace detail {
#if RAMPART_ASAN
inline constexpr std::size_t kThreadCacheKeep = 0;
#else
inline constexpr std::size_t kThreadCacheKeep = 64;
#endif
}  // namespace detail

// Blocks of `Size` bytes (operator new's alignment): for a class's own operator new and delete.
template <std::size_t Size>
class BlockCache {
 public:
  static void* Take() {
    Stack& s = stack();
    if (s.count > 0) return s.blocks[--s.count];
    return ::operator new(Size);
  }
  static void Give(void* p) noexcept {
    Stack& s = stack();
    if (s.count < detail::kThreadCacheKeep) {
      s.blocks[s.count++] = p;
    } else {
      ::operator delete(p);
    }
  }

 private:
  // No destructor: a block given back while its thread ends (another thread-local's destructor)
  // never meets a destroyed stack. What a thread keeps when it ends stays allocated; rampart's
  // threads live as long as the process.
  struct Stack {
    void* blocks[detail::kThreadCacheKeep + 1];
    std::size_t count;
  };
  static Stack& stack() noexcept {
    thread_local constinit Stack s{};
    return s;
  }
};

}  // namespace rampart
