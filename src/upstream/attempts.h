// The attempts of one exchange at one upstream: each picks its endpoint (among the healthy ones,
// and for a retry that should move, the untried ones while any remain), asks the upstream's
// policies, and opens a stream; each reports its outcome, successes included, to the policies
// and the metrics.
//
// One rule is built in: an attempt that failed before the origin could act on the request (a
// pooled connection the origin had closed, a refused HTTP/2 stream) is made once more when the
// whole request is still in hand. Every other retry is a policy's decision.
#pragma once

#include <algorithm>
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "net/loop_context.h"
#include "upstream/connection_pool.h"
#include "upstream/endpoint_mask.h"
#include "upstream/opener.h"
#include "upstream/policy.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

class Attempts {
 public:
  static constexpr int kMaxAttempts = 8;  // whatever the policies ask

  Attempts(const UpstreamSpec& up, Opener& opener, net::LoopContext& loop, int worker,
           const ConnectionPool& pool, std::uint64_t& rr, std::mt19937_64& rng,
           std::string_view method, bool retry_safe, std::string_view route = {});

  ~Attempts() { Landed(); }
  Attempts(const Attempts&) = delete;
  Attempts& operator=(const Attempts&) = delete;
  Attempts(Attempts&&) = delete;

  // The next attempt: picks its endpoint and asks the policies. False with `error` when none
  // can be made (every endpoint ruled out, a policy refused), or with waiting() when a policy
  // asked to be asked again after delay() (a bulkhead's queue).
  bool Begin(bool replayable, http::ExchangeError& error);
  bool waiting() const noexcept { return waiting_; }
  // The exchange's deadline (the route's timeout, shortened by the client): no attempt starts
  // after it and no retry whose wait would end past it.
  void set_deadline(SteadyTime t) noexcept { deadline_ = t; }
  // The request's key hash, for consistent hashing (ring_hash, maglev).
  void set_hash(std::uint64_t h) noexcept { hash_ = h; }
  // With no endpoint up, fail (the route has a fallback upstream) rather than try them all.
  void set_no_panic() noexcept {
    no_panic_ = true;
    allowed_ = Available();
  }
  // Ends the attempts at this upstream (its policies hear Ended) and starts over at `other`
  // (the route's fallback upstream); the access log keeps every attempt.
  void Restart(const UpstreamSpec& other);
  const UpstreamSpec& upstream() const noexcept { return *up_; }
  // Its stream without waiting (a pooled connection, a ready session), else null.
  Stream* OpenNow(boost::asio::steady_timer* wake);
  // Its stream, connecting if need be; null with `error`.
  boost::asio::awaitable<Stream*> Open(boost::asio::steady_timer* wake, http::ExchangeError& error);
  // The current attempt got a response head (`status`) or failed before one (`error`): reports
  // it, and says whether another attempt should follow (only when `replayable`). The caller ends
  // the current stream first.
  bool Retry(int status, const http::ExchangeError& error, bool replayable);
  // The exchange over the current attempt ended: its body's fate, for the policies and metrics.
  // Once per exchange; later calls do nothing.
  void Finished(const http::ExchangeError& error);

  int count() const noexcept { return count_; }  // at the current upstream
  int total() const noexcept { return total_; }  // at every upstream tried (a fallback's too)
  // What each reported attempt came to, for the access log.
  // Written whole when an attempt is reported (no default member values: the exchange's
  // eight slots are not written until used, as each one written is a cache line touched).
  struct Tried {
    std::string_view endpoint;  // its key (the snapshot owns it)
    int status;                 // 0 when no head came
    std::string_view error;     // its reason token, when it failed
    std::chrono::microseconds latency;
  };
  std::span<const Tried> tried() const noexcept { return {tried_.data(), tried_count_}; }
  // How long to wait before the next attempt (a retry policy's backoff); zero: at once.
  std::chrono::microseconds delay() const noexcept { return delay_; }
  // Some attempt sent (a byte of) the request, or got a response.
  // An attempt whose stream opened and that ended before reporting (the client left) counts:
  // its head may have gone.
  bool request_sent() const noexcept { return sent_ || open_unreported_; }
  const EndpointSpec* endpoint() const noexcept {
    return count_ > 0 ? &up_->endpoints[endpoint_] : nullptr;
  }
  std::chrono::microseconds elapsed() const noexcept;  // since the first attempt started

 private:
  AttemptInfo Info(bool replayable, std::size_t policy) noexcept {
    return {*up_,      endpoint_, count_ - 1,  worker_,           replayable,
            method_,   route_,    retry_safe_, &tickets_[policy], &words_[policy],
            elapsed(), &delay_,   loop_.now()};
  }
  void Count(const http::ExchangeError& e) noexcept;
  EndpointMask Available() const noexcept;
  void Landed() noexcept;  // the current attempt no longer counts as in flight

  const UpstreamSpec* up_;
  Opener& opener_;
  net::LoopContext& loop_;
  int worker_;
  const ConnectionPool& pool_;
  std::uint64_t& rr_;
  std::mt19937_64& rng_;
  std::string_view method_;
  bool retry_safe_;
  std::string_view route_;
  bool waiting_ = false;  // the last Begin was asked to wait
  bool waited_ = false;   // some Begin was: the policies hear Ended even without an attempt
  observe::UpstreamSlot* stats_;
  SteadyTime deadline_ = SteadyTime::max();
  std::uint64_t hash_ = 0;
  bool no_panic_ = false;
  EndpointMask allowed_;
  std::size_t endpoint_ = 0;
  int count_ = 0;
  int total_ = 0;
  Verdict next_ = Verdict::kContinue;  // what the last outcome asked for
  std::chrono::microseconds delay_{};  // before the next attempt
  bool builtin_retry_used_ = false;
  bool reported_ = true;  // the current attempt's outcome went to the policies
  // Per policy: a ticket for the current attempt and a word for the whole exchange. Inline for
  // up to kInlinePolicies (no allocation per exchange), on the heap beyond.
  static constexpr std::size_t kInlinePolicies = 8;
  struct PolicyWords {
    std::array<std::uint64_t, kInlinePolicies> inline_;  // Reset zeroes the words in use
    std::vector<std::uint64_t> heap;
    std::uint64_t* data = inline_.data();
    void Reset(std::size_t n) {
      if (n > kInlinePolicies) [[unlikely]] {
        ResetOnHeap(n);
      } else {
        std::fill_n(inline_.begin(), n, 0);
        data = inline_.data();
      }
    }
    [[gnu::cold, gnu::noinline]] void ResetOnHeap(std::size_t n);
    std::uint64_t& operator[](std::size_t i) noexcept { return data[i]; }
  };
  PolicyWords tickets_;
  PolicyWords words_;
  EndpointState* in_flight_ = nullptr;  // the current attempt counts in its endpoint's in_flight
  bool ended_ = false;                  // Finished ran
  bool sent_ = false;
  bool open_unreported_ = false;
  bool reused_ = false;
  SteadyTime first_start_{};
  SteadyTime start_{};
  AttemptOutcome last_;
  std::array<Tried, kMaxAttempts> tried_;  // the first tried_count_ are set
  std::size_t tried_count_ = 0;
};

}  // namespace rampart::upstream
