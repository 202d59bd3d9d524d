// A cache fill as it arrives: the leader of a key (request coalescing) appends the origin's body
// here as it forwards it to its own client, and the misses that waited on the key read it as it
// grows, each at its own pace, on its own worker, instead of waiting for the whole answer.
// Offered only for answers whose origin declared a length within max_entry, so a reader never
// starts an answer the cache would then drop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/decision.h"

namespace rampart::cache {

class Fill final : public GrowingBody {
 public:
  // `wait`: the longest a reader waits for the next bytes before it gives up (the answer is then
  // cut for it).
  // `vary_names` and `vary_values` as in CachedResponse: a waiter reads the fill only when its
  // own values for those names match.
  Fill(int status, std::vector<std::pair<std::string, std::string>> headers, std::uint64_t length,
       std::vector<std::string> vary_names, std::string vary_values, std::chrono::microseconds wait)
      : status_(status),
        headers_(std::move(headers)),
        length_(length),
        vary_names_(std::move(vary_names)),
        vary_values_(std::move(vary_values)),
        wait_(wait) {}

  int status() const noexcept { return status_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept {
    return headers_;
  }
  const std::vector<std::string>& vary_names() const noexcept { return vary_names_; }
  const std::string& vary_values() const noexcept { return vary_values_; }

  // The leader (its worker's thread).
  void Append(std::string_view piece);
  // The body is complete (`whole`), or cut short: readers finish or fail.
  void End(bool whole);

  // Readers (any worker).
  std::optional<std::uint64_t> length() const noexcept override { return length_; }
  boost::asio::awaitable<bool> Read(std::size_t offset, std::string& out, bool& end) override;

 private:
  struct Reader {  // as Flights::Waiter: the reader's coroutine owns the timer
    boost::asio::any_io_executor executor;
    std::weak_ptr<boost::asio::steady_timer> timer;
  };
  void WakeLocked() noexcept;

  const int status_;
  const std::vector<std::pair<std::string, std::string>> headers_;
  const std::uint64_t length_;
  const std::vector<std::string> vary_names_;
  const std::string vary_values_;
  const std::chrono::microseconds wait_;
  std::mutex mu_;
  std::string body_;
  bool done_ = false;
  bool cut_ = false;
  std::vector<Reader> readers_;  // waiting for more bytes
};

}  // namespace rampart::cache
