// malloc, calloc, realloc and free for C libraries (nghttp2, OpenSSL), served by the program's
// operator new (core/pooled_new.h): the per-thread cache of freed blocks then serves their small
// per-stream and per-record allocations as it serves rampart's own. Each block carries its size
// in front, for realloc.
#pragma once

#include <cstddef>

namespace rampart::core {

// As malloc; nullptr when out of memory.
void* CMalloc(std::size_t size) noexcept;
// As calloc: zeroed; nullptr when out of memory or when n * size overflows.
void* CCalloc(std::size_t n, std::size_t size) noexcept;
// As realloc: nullptr in => CMalloc; a block at least `size` bytes long with the old contents,
// or nullptr with the old block still valid. Size 0 frees the block and returns nullptr (as
// OpenSSL's CRYPTO_realloc does).
void* CRealloc(void* p, std::size_t size) noexcept;
// As free: only blocks from the functions above; nullptr is ignored.
void CFree(void* p) noexcept;

}  // namespace rampart::core
