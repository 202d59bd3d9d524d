// A per-thread cache of blocks of one size, for an object one request builds and drops (a gate's
// state): its allocation then costs a pop and a push on the worker's own stack instead of a trip
// through malloc and free. A thread keeps at most 64 blocks; the rest go back to the allocator.
// Under AddressSanitizer nothing is kept, so a use after free is still caught.
#pragma once

#include <cstddef>
#include <new>

namespace rampart {

namespace detail {
#if defined(__SANITIZE_ADDRESS__)
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
  struct Stack {
    void* blocks[detail::kThreadCacheKeep + 1];
    std::size_t count = 0;
    ~Stack() {
      while (count > 0) ::operator delete(blocks[--count]);
    }
  };
  static Stack& stack() noexcept {
    thread_local Stack s;
    return s;
  }
};

}  // namespace rampart
