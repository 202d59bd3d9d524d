#include "state/kv/kv_fallback.h"

namespace rampart::state {

namespace asio = boost::asio;

namespace {
bool Unavailable(KvStatus s) noexcept { return s == KvStatus::kUnavailable; }
bool Unavailable(const KvResult& r) noexcept { return r.status == KvStatus::kUnavailable; }
bool Unavailable(const std::array<KvResult, 2>& r) noexcept {
  return Unavailable(r[0]) || Unavailable(r[1]);
}
}  // namespace

template <typename R, typename Call>
asio::awaitable<R> KvFallback::Route(int worker, Call call) {
  R r = co_await call(*primary_);
  if (Unavailable(r) && Fallback(worker)) r = co_await call(*secondary_);
  co_return r;
}

asio::awaitable<KvResult> KvFallback::Get(std::string_view key, int worker) {
  co_return co_await Route<KvResult>(worker, [&](KvStore& s) { return s.Get(key, worker); });
}

asio::awaitable<std::array<KvResult, 2>> KvFallback::GetTwo(std::string_view a, std::string_view b,
                                                            int worker) {
  co_return co_await Route<std::array<KvResult, 2>>(
      worker, [&](KvStore& s) { return s.GetTwo(a, b, worker); });
}

asio::awaitable<KvStatus> KvFallback::Set(std::string_view key, std::string_view value,
                                          std::chrono::milliseconds ttl, int worker) {
  co_return co_await Route<KvStatus>(worker,
                                     [&](KvStore& s) { return s.Set(key, value, ttl, worker); });
}

asio::awaitable<KvStatus> KvFallback::SetIfAbsent(std::string_view key, std::string_view value,
                                                  std::chrono::milliseconds ttl, int worker) {
  co_return co_await Route<KvStatus>(
      worker, [&](KvStore& s) { return s.SetIfAbsent(key, value, ttl, worker); });
}

asio::awaitable<KvStatus> KvFallback::SetIfPresent(std::string_view key, std::string_view value,
                                                   std::chrono::milliseconds ttl, int worker) {
  co_return co_await Route<KvStatus>(
      worker, [&](KvStore& s) { return s.SetIfPresent(key, value, ttl, worker); });
}

asio::awaitable<KvStatus> KvFallback::Delete(std::string_view key, int worker) {
  co_return co_await Route<KvStatus>(worker, [&](KvStore& s) { return s.Delete(key, worker); });
}

asio::awaitable<KvStatus> KvFallback::CompareAndSet(std::string_view key, std::string_view expected,
                                                    std::string_view value,
                                                    std::chrono::milliseconds ttl, int worker) {
  co_return co_await Route<KvStatus>(
      worker, [&](KvStore& s) { return s.CompareAndSet(key, expected, value, ttl, worker); });
}

asio::awaitable<KvStatus> KvFallback::CompareAndDelete(std::string_view key,
                                                       std::string_view expected, int worker) {
  co_return co_await Route<KvStatus>(
      worker, [&](KvStore& s) { return s.CompareAndDelete(key, expected, worker); });
}

asio::awaitable<KvResult> KvFallback::Increment(std::string_view key, std::chrono::milliseconds ttl,
                                                int worker) {
  co_return co_await Route<KvResult>(worker,
                                     [&](KvStore& s) { return s.Increment(key, ttl, worker); });
}

asio::awaitable<KvStatus> KvFallback::SetFenced(std::string_view key, std::int64_t token,
                                                std::string_view value,
                                                std::chrono::milliseconds ttl, int worker) {
  co_return co_await Route<KvStatus>(
      worker, [&](KvStore& s) { return s.SetFenced(key, token, value, ttl, worker); });
}

asio::awaitable<KvResult> KvFallback::GetFenced(std::string_view key, int worker) {
  co_return co_await Route<KvResult>(worker, [&](KvStore& s) { return s.GetFenced(key, worker); });
}

asio::awaitable<KvResult> KvFallback::Scan(std::string_view prefix, std::size_t limit, int worker) {
  co_return co_await Route<KvResult>(worker,
                                     [&](KvStore& s) { return s.Scan(prefix, limit, worker); });
}

}  // namespace rampart::state
