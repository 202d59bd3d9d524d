// A shared store with a fallback: calls go to the primary (Redis); when it answers kUnavailable
// they go to the secondary (the process's own store) if the configuration says `local`, or the
// caller gets kUnavailable and applies its own failure rule (`fail`). Counted by outcome.
#pragma once

#include <memory>

#include "observe/metrics.h"
#include "state/kv/kv_store.h"

namespace rampart::state {

enum class KvOnFailure : std::uint8_t { kLocal, kFail };

class KvFallback final : public KvStore {
 public:
  KvFallback(std::shared_ptr<KvStore> primary, std::shared_ptr<KvStore> secondary,
             KvOnFailure on_failure, observe::CounterSeries* fallbacks)
      : primary_(std::move(primary)),
        secondary_(std::move(secondary)),
        on_failure_(on_failure),
        fallbacks_(fallbacks) {}

  boost::asio::awaitable<KvResult> Get(std::string_view key, int worker) override;
  boost::asio::awaitable<std::array<KvResult, 2>> GetTwo(std::string_view a, std::string_view b,
                                                         int worker) override;
  boost::asio::awaitable<KvStatus> Set(std::string_view key, std::string_view value,
                                       std::chrono::milliseconds ttl, int worker) override;
  boost::asio::awaitable<KvStatus> SetIfAbsent(std::string_view key, std::string_view value,
                                               std::chrono::milliseconds ttl, int worker) override;
  boost::asio::awaitable<KvStatus> SetIfPresent(std::string_view key, std::string_view value,
                                                std::chrono::milliseconds ttl, int worker) override;
  boost::asio::awaitable<KvStatus> Delete(std::string_view key, int worker) override;
  boost::asio::awaitable<KvStatus> CompareAndSet(std::string_view key, std::string_view expected,
                                                 std::string_view value,
                                                 std::chrono::milliseconds ttl,
                                                 int worker) override;
  boost::asio::awaitable<KvStatus> CompareAndDelete(std::string_view key, std::string_view expected,
                                                    int worker) override;
  boost::asio::awaitable<KvResult> Increment(std::string_view key, std::chrono::milliseconds ttl,
                                             int worker) override;
  boost::asio::awaitable<KvStatus> SetFenced(std::string_view key, std::int64_t token,
                                             std::string_view value, std::chrono::milliseconds ttl,
                                             int worker) override;
  boost::asio::awaitable<KvResult> GetFenced(std::string_view key, int worker) override;
  boost::asio::awaitable<KvResult> Scan(std::string_view prefix, std::size_t limit,
                                        int worker) override;
  std::string_view backend() const noexcept override { return primary_->backend(); }

 private:
  // `call` on the primary, and on the secondary when the primary is unavailable and the
  // configuration says `local`.
  template <typename R, typename Call>
  boost::asio::awaitable<R> Route(int worker, Call call);
  bool Fallback(int worker) noexcept {
    if (fallbacks_) fallbacks_->Add(worker);
    return on_failure_ == KvOnFailure::kLocal;
  }

  std::shared_ptr<KvStore> primary_;
  std::shared_ptr<KvStore> secondary_;
  KvOnFailure on_failure_;
  observe::CounterSeries* fallbacks_;
};

}  // namespace rampart::state
