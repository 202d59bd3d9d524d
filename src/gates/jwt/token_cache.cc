#include "gates/jwt/token_cache.h"

#include <openssl/sha.h>

#include <cstring>

#include "core/secrets.h"

namespace rampart::jwt {

namespace {
constexpr std::size_t kEntryOverhead = 160;  // list node, map node, control block
}

std::size_t Verified::Bytes() const noexcept {
  std::size_t n = sizeof(Verified) + kEntryOverhead + sub.size() + jti.size() + principal.size();
  if (grants) {
    n += sizeof(Grants);
    for (const auto& r : grants->roles) n += sizeof r + r.size();
    for (const auto& s : grants->scopes) n += sizeof s + s.size();
    for (const auto& [k, v] : grants->attributes) n += 2 * sizeof k + k.size() + v.size();
  }
  for (const auto& [k, v] : forward) n += 2 * sizeof k + k.size() + v.size();
  return n;
}

Digest TokenDigest(std::string_view token) noexcept { return Sha256(token); }

TokenCache::TokenCache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(std::max<std::size_t>(1, max_entries / kShards)),
      max_bytes_(std::max<std::size_t>(1, max_bytes / kShards)) {}

std::shared_ptr<const Verified> TokenCache::Find(const Digest& digest, std::int64_t now) {
  Shard& s = ShardOf(digest);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(digest);
  if (it == s.index.end()) return nullptr;
  if (now >= it->second->second->exp) {
    Erase(s, it->second);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->second;
}

void TokenCache::Insert(const Digest& digest, std::shared_ptr<const Verified> v) {
  const std::size_t bytes = v->Bytes();
  Shard& s = ShardOf(digest);
  if (bytes > max_bytes_) return;
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(digest); it != s.index.end()) Erase(s, it->second);
  s.lru.emplace_front(digest, std::move(v));
  s.index.emplace(digest, s.lru.begin());
  s.bytes += bytes;
  while (s.index.size() > max_entries_ || s.bytes > max_bytes_) Erase(s, std::prev(s.lru.end()));
}

void TokenCache::Erase(Shard& s, decltype(Shard::lru)::iterator it) {
  s.bytes -= it->second->Bytes();
  s.index.erase(it->first);
  s.lru.erase(it);
}

std::size_t TokenCache::entries() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.index.size();
  }
  return n;
}

namespace {

struct Recent {
  std::uint64_t owner = 0;
  std::size_t hash = 0;
  std::string token;
  std::shared_ptr<const Verified> verified;
};
constexpr std::size_t kRecent = 16;

std::array<Recent, kRecent>& RecentSlots() noexcept {
  thread_local std::array<Recent, kRecent> slots;
  return slots;
}

}  // namespace

std::shared_ptr<const Verified> RecentTokens::Find(std::uint64_t owner, std::string_view token,
                                                   std::int64_t now) noexcept {
  const std::size_t h = std::hash<std::string_view>{}(token);
  const Recent& r = RecentSlots()[h % kRecent];
  if (r.owner != owner || r.hash != h || r.token != token || !r.verified) return nullptr;
  if (now >= r.verified->exp) return nullptr;
  return r.verified;
}

void RecentTokens::Remember(std::uint64_t owner, std::string_view token,
                            std::shared_ptr<const Verified> v) {
  const std::size_t h = std::hash<std::string_view>{}(token);
  Recent& r = RecentSlots()[h % kRecent];
  r.owner = owner;
  r.hash = h;
  r.token.assign(token);
  r.verified = std::move(v);
}

}  // namespace rampart::jwt
