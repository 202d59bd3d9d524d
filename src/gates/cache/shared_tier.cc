#include "gates/cache/shared_tier.h"

#include <charconv>

#include "core/secrets.h"
#include "gates/cache/entry_codec.h"
#include "state/kv/fenced_value.h"

namespace rampart::cache {

namespace asio = boost::asio;
using state::KvStatus;

namespace {
// Fencing tokens and generations only grow while their counters live: longer than any entry's
// lifetime and stale windows, or a restarted counter would be refused by the entries it fences.
constexpr std::chrono::milliseconds kCounterTtl = std::chrono::hours(24 * 400);
constexpr std::string_view kGeneration = "gen";
// One counter per zone for every key's fencing tokens: tokens only need to grow per key, and one
// counter leaves nothing behind per key.
constexpr std::string_view kFence = "fence";

// An entry's value: its generation in decimal, '\n', then its encoding.
bool SplitGeneration(std::string_view v, std::int64_t& generation, std::string_view& encoded) {
  const auto nl = v.find('\n');
  if (nl == std::string_view::npos || nl == 0) return false;
  const auto r = std::from_chars(v.data(), v.data() + nl, generation);
  if (r.ptr != v.data() + nl || generation < 0) return false;
  encoded = v.substr(nl + 1);
  return true;
}
}  // namespace

std::string SharedTier::Name(char kind, std::string_view key) {
  std::string out(1, kind);
  out += ':';
  out += Hex(Sha256(key));
  return out;
}

asio::awaitable<SharedTier::Found> SharedTier::Get(std::string_view key, int worker) {
  const std::array<state::KvResult, 2> r =
      co_await kv_->GetTwo(Name('e', key), kGeneration, worker);
  Found out;
  if (r[1].status == KvStatus::kOk) {
    const auto g =
        std::from_chars(r[1].value.data(), r[1].value.data() + r[1].value.size(), out.generation);
    if (g.ptr != r[1].value.data() + r[1].value.size()) co_return Found{};
  } else if (r[1].status != KvStatus::kNotFound) {
    co_return Found{};
  }
  std::int64_t token = 0, generation = 0;
  std::string_view fenced, encoded;
  if (r[0].status != KvStatus::kOk || !state::ParseFenced(r[0].value, token, fenced) ||
      !SplitGeneration(fenced, generation, encoded) || generation != out.generation) {
    co_return out;
  }
  auto e = std::make_shared<CachedResponse>();
  if (DecodeEntry(encoded, *e)) out.entry = std::move(e);
  co_return out;
}

asio::awaitable<std::int64_t> SharedTier::Lock(std::string_view key, int worker) {
  const state::KvResult fence = co_await kv_->Increment(kFence, kCounterTtl, worker);
  if (fence.status != KvStatus::kOk) co_return -1;
  const std::string token = std::to_string(fence.number);
  const KvStatus s = co_await kv_->SetIfAbsent(Name('l', key), token, lease_, worker);
  if (s == KvStatus::kOk) co_return fence.number;
  co_return s == KvStatus::kExists ? 0 : -1;
}

asio::awaitable<bool> SharedTier::Locked(std::string_view key, int worker) {
  const state::KvResult r = co_await kv_->Get(Name('l', key), worker);
  co_return r.status != KvStatus::kNotFound;
}

asio::awaitable<KvStatus> SharedTier::Put(std::string key, std::int64_t token,
                                          std::int64_t generation,
                                          std::shared_ptr<const CachedResponse> e,
                                          std::chrono::milliseconds ttl, int worker) {
  std::string value = std::to_string(generation);
  value += '\n';
  EncodeEntry(*e, value);
  KvStatus s = KvStatus::kNotFound;
  if (value.size() <= max_entry_) {
    s = co_await kv_->SetFenced(Name('e', key), token, value, ttl, worker);
  }
  co_await Unlock(std::move(key), token, worker);
  co_return s;
}

asio::awaitable<void> SharedTier::Erase(std::string key, int worker) {
  co_await kv_->Delete(Name('e', key), worker);
}

asio::awaitable<bool> SharedTier::Flush(int worker) {
  const state::KvResult r = co_await kv_->Increment(kGeneration, kCounterTtl, worker);
  co_return r.status == KvStatus::kOk;
}

asio::awaitable<void> SharedTier::Unlock(std::string key, std::int64_t token, int worker) {
  co_await kv_->CompareAndDelete(Name('l', key), std::to_string(token), worker);
}

}  // namespace rampart::cache
