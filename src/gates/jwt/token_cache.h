// Tokens already verified, so a repeated one skips the signature: keyed by the SHA-256 of the
// token (the token itself is not kept), bounded in entries and bytes (least recently used out
// first), each entry ending at the token's exp. Shared by the workers, in shards with a lock each.
// Revocation is not cached: the gate checks it on every request.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/exchange.h"

namespace rampart::jwt {

// What a verified token grants, kept in the cache.
struct Verified {
  std::size_t provider = 0;
  std::uint64_t key_generation = 0;  // the provider's key set it was verified with
  std::int64_t exp = 0;              // seconds; the cache entry ends here (INT64_MAX without exp)
  std::int64_t iat = 0;              // 0 without iat
  std::string sub;
  std::string jti;
  std::string principal;
  std::shared_ptr<const Grants> grants;  // roles, scopes, claims as "claim.<name>"
  std::vector<std::pair<std::string, std::string>> forward;  // header, value
  std::size_t Bytes() const noexcept;
};

using Digest = std::array<unsigned char, 32>;
Digest TokenDigest(std::string_view token) noexcept;

class TokenCache {
 public:
  TokenCache(std::size_t max_entries, std::size_t max_bytes);
  // The entry for `digest` if present and not past its exp at `now`.
  std::shared_ptr<const Verified> Find(const Digest& digest, std::int64_t now);
  void Insert(const Digest& digest, std::shared_ptr<const Verified> v);
  std::size_t entries() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept {
      std::size_t h;
      std::memcpy(&h, d.data(), sizeof h);  // already uniform
      return h;
    }
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<std::pair<Digest, std::shared_ptr<const Verified>>> lru;  // front: newest
    std::unordered_map<Digest, decltype(lru)::iterator, DigestHash> index;
    std::size_t bytes = 0;
  };
  Shard& ShardOf(const Digest& d) noexcept { return shards_[d[31] % kShards]; }
  void Erase(Shard& s, decltype(Shard::lru)::iterator it);

  std::size_t max_entries_;  // per shard
  std::size_t max_bytes_;    // per shard
  std::array<Shard, kShards> shards_;
};

// A worker's last few verified tokens, compared byte for byte: a client that sends the same
// token on every request (the common case) skips even the SHA-256 and the shared cache's lock.
// Per thread, no lock; `owner` keeps two gates' tokens apart (a gate's id, never reused).
class RecentTokens {
 public:
  static std::shared_ptr<const Verified> Find(std::uint64_t owner, std::string_view token,
                                              std::int64_t now) noexcept;
  static void Remember(std::uint64_t owner, std::string_view token,
                       std::shared_ptr<const Verified> v);
};

}  // namespace rampart::jwt
