#include "gates/cache/shared_tier.h"

#include "core/secrets.h"
#include "gates/cache/entry_codec.h"

namespace rampart::cache {

namespace asio = boost::asio;
using state::KvStatus;

namespace {
// Fencing tokens only grow while their counter lives; a day outlives any lease by far.
constexpr std::chrono::milliseconds kCounterTtl = std::chrono::hours(24);
}  // namespace

std::string SharedTier::Name(char kind, std::string_view key) {
  std::string out(1, kind);
  out += ':';
  out += Hex(Sha256(key));
  return out;
}

asio::awaitable<std::shared_ptr<CachedResponse>> SharedTier::Get(std::string_view key, int worker) {
  const state::KvResult r = co_await kv_->GetFenced(Name('e', key), worker);
  if (r.status != KvStatus::kOk) co_return nullptr;
  auto e = std::make_shared<CachedResponse>();
  if (!DecodeEntry(r.value, *e)) co_return nullptr;
  co_return e;
}

asio::awaitable<std::int64_t> SharedTier::Lock(std::string_view key, int worker) {
  const state::KvResult fence = co_await kv_->Increment(Name('f', key), kCounterTtl, worker);
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
                                          std::shared_ptr<const CachedResponse> e,
                                          std::chrono::milliseconds ttl, int worker) {
  std::string value;
  EncodeEntry(*e, value);
  KvStatus s = KvStatus::kNotFound;
  if (value.size() <= max_entry_) {
    s = co_await kv_->SetFenced(Name('e', key), token, value, ttl, worker);
  }
  co_await Unlock(std::move(key), token, worker);
  co_return s;
}

asio::awaitable<void> SharedTier::Unlock(std::string key, std::int64_t token, int worker) {
  co_await kv_->CompareAndDelete(Name('l', key), std::to_string(token), worker);
}

}  // namespace rampart::cache
