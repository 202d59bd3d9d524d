#include "state/kv/kv_fallback.h"

namespace rampart::state {

namespace asio = boost::asio;

asio::awaitable<KvResult> KvFallback::Get(std::string_view key, int worker) {
  KvResult r = co_await primary_->Get(key, worker);
  if (r.status == KvStatus::kUnavailable && Fallback(worker))
    r = co_await secondary_->Get(key, worker);
  co_return r;
}

asio::awaitable<KvStatus> KvFallback::Set(std::string_view key, std::string_view value,
                                          std::chrono::milliseconds ttl, int worker) {
  KvStatus s = co_await primary_->Set(key, value, ttl, worker);
  if (s == KvStatus::kUnavailable && Fallback(worker))
    s = co_await secondary_->Set(key, value, ttl, worker);
  co_return s;
}

asio::awaitable<KvStatus> KvFallback::SetIfAbsent(std::string_view key, std::string_view value,
                                                  std::chrono::milliseconds ttl, int worker) {
  KvStatus s = co_await primary_->SetIfAbsent(key, value, ttl, worker);
  if (s == KvStatus::kUnavailable && Fallback(worker))
    s = co_await secondary_->SetIfAbsent(key, value, ttl, worker);
  co_return s;
}

asio::awaitable<KvStatus> KvFallback::Delete(std::string_view key, int worker) {
  KvStatus s = co_await primary_->Delete(key, worker);
  if (s == KvStatus::kUnavailable && Fallback(worker)) s = co_await secondary_->Delete(key, worker);
  co_return s;
}

asio::awaitable<KvResult> KvFallback::Increment(std::string_view key, std::chrono::milliseconds ttl,
                                                int worker) {
  KvResult r = co_await primary_->Increment(key, ttl, worker);
  if (r.status == KvStatus::kUnavailable && Fallback(worker))
    r = co_await secondary_->Increment(key, ttl, worker);
  co_return r;
}

}  // namespace rampart::state
