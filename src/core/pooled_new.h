// The program's operator new and delete: a per-thread cache of freed small blocks in front of
// malloc (pooled_new.cc). Linked into rampart's executables only; a sanitizer build keeps the
// sanitizer's own operator new.
//
// Why: a worker proxying HTTP/2 starts ten streams from one read, each with a chain of coroutine
// frames and I/O operations (about ten blocks of 100–900 bytes), and frees them as the answers
// come back one by one. glibc keeps seven freed blocks per size per thread (tcache), and Asio's
// own recycling keeps a few of any size and hands a large one to a small request first, so most
// of these went through malloc's bins: about a tenth of a worker's CPU in the h2_tls_c64m10
// benchmark. The cache here keeps freed blocks up to kMaxPooledBytes in size classes, at most
// kMaxPerClass and kMaxBytesPerClass of each (at most about 24 MiB a thread in all, 16 of
// them in the 16-byte classes), so a burst of
// streams reuses the blocks the previous burst freed. HAProxy's pools and nginx's per-request pools
// avoid malloc on their hot paths the same way.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rampart::core {

// Size classes: 16 bytes apart up to kFinePooledBytes, 256 up to kMediumPooledBytes (a response
// body's buffer), 4 KiB up to kMaxPooledBytes (OpenSSL's record buffers, which it frees whenever a
// connection has nothing buffered: SSL_MODE_RELEASE_BUFFERS).
inline constexpr std::size_t kFinePooledBytes = 1024;
inline constexpr std::size_t kMediumPooledBytes = 4096;
inline constexpr std::size_t kMaxPooledBytes = 20480;
inline constexpr std::uint32_t kMaxPerClass = 512;
inline constexpr std::size_t kMaxBytesPerClass = 512 * 1024;

// The size of the blocks that serve a request for `bytes` (1..kMaxPooledBytes).
constexpr std::size_t PooledClassBytes(std::size_t bytes) noexcept {
  if (bytes <= kFinePooledBytes) return bytes == 0 ? 16 : (bytes + 15) / 16 * 16;
  if (bytes <= kMediumPooledBytes) return (bytes + 255) / 256 * 256;
  return (bytes + 4095) / 4096 * 4096;
}

// How many freed blocks of `bytes`' class a thread keeps at most.
constexpr std::uint32_t PooledClassCap(std::size_t bytes) noexcept {
  const std::size_t by_bytes = kMaxBytesPerClass / PooledClassBytes(bytes);
  return by_bytes < kMaxPerClass ? static_cast<std::uint32_t>(by_bytes) : kMaxPerClass;
}

// True in builds whose operator new is the cache (not under a sanitizer, and only in binaries
// that link pooled_new.cc).
bool PooledNewActive() noexcept;

// How many blocks of `bytes`' size class the calling thread holds ready (tests).
std::uint32_t PooledBlocksReady(std::size_t bytes) noexcept;

}  // namespace rampart::core
