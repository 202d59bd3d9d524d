#include "core/c_memory.h"

#include <cstdint>
#include <cstring>
#include <new>

namespace rampart::core {

namespace {

// The size in front of each block; 16 bytes keep the 16-byte alignment malloc gives.
constexpr std::size_t kFront = 16;

char* Front(void* p) noexcept { return static_cast<char*>(p) - kFront; }

std::size_t SizeOf(void* p) noexcept {
  std::size_t size = 0;
  std::memcpy(&size, Front(p), sizeof(size));
  return size;
}

void* Alloc(std::size_t size, bool zero) noexcept {
  if (size > SIZE_MAX - kFront) return nullptr;
  void* raw = ::operator new(size + kFront, std::nothrow);
  if (raw == nullptr) return nullptr;
  std::memcpy(raw, &size, sizeof(size));
  char* p = static_cast<char*>(raw) + kFront;
  if (zero) std::memset(p, 0, size);
  return p;
}

}  // namespace

void* CMalloc(std::size_t size) noexcept { return Alloc(size, false); }

void* CCalloc(std::size_t n, std::size_t size) noexcept {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  return Alloc(n * size, true);
}

void* CRealloc(void* p, std::size_t size) noexcept {
  if (p == nullptr) return Alloc(size, false);
  if (size == 0) {
    CFree(p);
    return nullptr;
  }
  const std::size_t old = SizeOf(p);
  if (size <= old) return p;  // the block is large enough already
  void* grown = Alloc(size, false);
  if (grown == nullptr) return nullptr;  // as realloc: the old block stays valid
  std::memcpy(grown, p, old);
  CFree(p);
  return grown;
}

void CFree(void* p) noexcept {
  if (p != nullptr) ::operator delete(Front(p));
}

}  // namespace rampart::core
