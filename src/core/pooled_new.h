// The program's operator new and delete: a per-thread cache of freed small blocks in front of
// malloc (pooled_new.cc). Linked into rampart's executables only; a sanitizer build keeps the
// sanitizer's own operator new.
//
// Why: a worker proxying HTTP/2 starts ten streams from one read, each with a chain of coroutine
// frames and I/O operations (about ten blocks of 100–900 bytes), and frees them as the answers
// come back one by one. glibc keeps seven freed blocks per size per thread (tcache), and Asio's
// own recycling keeps a few of any size and hands a large one to a small request first, so most
// of these went through malloc's bins: about a tenth of a worker's CPU in the h2_tls_c64m10
// benchmark. The cache here keeps up to kMaxPerClass blocks of each 16-byte size class up to
// kMaxPooledBytes, so a burst of streams reuses the blocks the previous burst freed. HAProxy's
// pools and nginx's per-request pools avoid malloc on their hot paths the same way.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rampart::core {

inline constexpr std::size_t kMaxPooledBytes = 1024;
inline constexpr std::uint32_t kMaxPerClass = 512;

// True in builds whose operator new is the cache (not under a sanitizer, and only in binaries
// that link pooled_new.cc).
bool PooledNewActive() noexcept;

// How many blocks of `bytes`' size class the calling thread holds ready (tests).
std::uint32_t PooledBlocksReady(std::size_t bytes) noexcept;

}  // namespace rampart::core
