#include "net/h2_memory.h"

#include "core/c_memory.h"

namespace rampart::net {

namespace {

void* Malloc(std::size_t size, void*) { return core::CMalloc(size); }
void Free(void* p, void*) { core::CFree(p); }
void* Calloc(std::size_t n, std::size_t size, void*) { return core::CCalloc(n, size); }
void* Realloc(void* p, std::size_t size, void*) {
  // nghttp2 never asks for size 0; a realloc to 0 would free the block and return nullptr.
  return core::CRealloc(p, size);
}

nghttp2_mem g_memory{nullptr, &Malloc, &Free, &Calloc, &Realloc};

}  // namespace

nghttp2_mem* H2Memory() noexcept { return &g_memory; }

}  // namespace rampart::net
