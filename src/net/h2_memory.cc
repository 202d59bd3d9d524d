#include "net/h2_memory.h"

#include <cstdint>
#include <cstring>
#include <new>

namespace rampart::net {

namespace {

// The size in front of each block; 16 bytes keep the 16-byte alignment malloc gives.
constexpr std::size_t kFront = 16;

char* Front(void* p) noexcept { return static_cast<char*>(p) - kFront; }

void* Alloc(std::size_t size, bool zero) noexcept {
  if (size > SIZE_MAX - kFront) return nullptr;
  void* raw = ::operator new(size + kFront, std::nothrow);
  if (raw == nullptr) return nullptr;
  std::memcpy(raw, &size, sizeof(size));
  char* p = static_cast<char*>(raw) + kFront;
  if (zero) std::memset(p, 0, size);
  return p;
}

void* Malloc(std::size_t size, void*) { return Alloc(size, false); }

void Free(void* p, void*) {
  if (p != nullptr) ::operator delete(Front(p));
}

void* Calloc(std::size_t n, std::size_t size, void*) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  return Alloc(n * size, true);
}

void* Realloc(void* p, std::size_t size, void* ud) {
  if (p == nullptr) return Alloc(size, false);
  std::size_t old = 0;
  std::memcpy(&old, Front(p), sizeof(old));
  if (size <= old) return p;  // the block is large enough already
  void* grown = Alloc(size, false);
  if (grown == nullptr) return nullptr;  // as realloc: the old block stays valid
  std::memcpy(grown, p, old);
  Free(p, ud);
  return grown;
}

nghttp2_mem g_memory{nullptr, &Malloc, &Free, &Calloc, &Realloc};

}  // namespace

nghttp2_mem* H2Memory() noexcept { return &g_memory; }

}  // namespace rampart::net
