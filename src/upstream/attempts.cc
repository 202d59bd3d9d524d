#include "upstream/attempts.h"

#include <algorithm>

#include "http/methods.h"
#include "upstream/picker.h"

namespace rampart::upstream {

using http::ErrorKind;
using http::ExchangeError;

Attempts::Attempts(const UpstreamSpec& up, Opener& opener, net::LoopContext& loop, int worker,
                   const ConnectionPool& pool, std::uint64_t& rr, std::mt19937_64& rng,
                   std::string_view method, bool retry_safe, std::string_view route)
    : up_(&up),
      opener_(opener),
      loop_(loop),
      worker_(worker),
      pool_(pool),
      rr_(rr),
      rng_(rng),
      method_(method),
      retry_safe_(retry_safe || http::IsIdempotentMethod(method)),
      route_(route),
      stats_(&up.stats->slot(worker)),
      allowed_(Available()) {
  tickets_.Reset(up.policies.size());
  words_.Reset(up.policies.size());
}

bool Attempts::Begin(bool replayable, ExchangeError& error) {
  waiting_ = false;
  if (loop_.now() >= deadline_) {
    error = count_ > 0 && last_.error
                ? last_.error
                : ExchangeError::Upstream(ErrorKind::kTimeout, http::Step::kPick, false, true);
    if (count_ == 0 || !last_.error) error.detail = "the route's deadline passed";
    return false;
  }
  if (count_ >= kMaxAttempts) {
    error = last_.error
                ? last_.error
                : ExchangeError::Upstream(ErrorKind::kNoEndpoint, http::Step::kPick, false, true);
    return false;
  }
  bool pick = count_ == 0 || next_ == Verdict::kRetryOther;  // kRetrySame stays on the endpoint
  if (next_ == Verdict::kRetryOther) {
    allowed_.reset(endpoint_);
    // Every endpoint was tried: the retry goes to any available one again.
    if (allowed_.none()) allowed_ = Available();
  }
  for (;;) {
    if (pick) {
      const std::size_t picked = Picker::Pick(*up_, pool_, rr_, rng_(), allowed_, hash_);
      if (picked == Picker::kNone) {
        error = count_ > 0 && last_.error ? last_.error
                                          : ExchangeError::Upstream(ErrorKind::kNoEndpoint,
                                                                    http::Step::kPick, false, true);
        return false;
      }
      endpoint_ = picked;
    }
    next_ = Verdict::kContinue;
    delay_ = {};
    ++count_;
    ++total_;
    start_ = loop_.now();
    if (count_ == 1) first_start_ = start_;
    last_ = {};
    reported_ = false;
    bool skip = false;
    for (std::size_t i = 0; i < up_->policies.size() && !skip; ++i) {
      const auto& p = up_->policies[i];
      tickets_[i] = 0;
      const Verdict v = p->Before(Info(replayable, i));
      if (v == Verdict::kContinue) continue;
      for (std::size_t j = 0; j < i; ++j) up_->policies[j]->Abandoned(Info(replayable, j));
      reported_ = true;
      if (v == Verdict::kWait || v == Verdict::kRetryOther) {  // this attempt did not start
        --count_;
        --total_;
      }
      if (v == Verdict::kWait) {  // the next Begin is it again
        waiting_ = waited_ = true;
        delay_ = std::max(delay_, std::chrono::microseconds(1000));  // never a busy loop
        return false;
      }
      if (v == Verdict::kRetryOther) {  // not this endpoint (its own breaker is open): another
        allowed_.reset(endpoint_);
        if (!allowed_.none()) {
          skip = true;
          break;
        }
      }
      error = ExchangeError::Upstream(p->RefusedAs(), http::Step::kPick, false, true);
      if (error.kind == ErrorKind::kNoEndpoint)
        error.detail = "an upstream policy refused the request";
      last_ = {0, error, false, false, {}};
      return false;
    }
    if (!skip) break;
    pick = true;
  }
  stats_->requests.Add();
  if (up_->health) {
    in_flight_ = &up_->health->at(endpoint_);
    in_flight_->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void Attempts::PolicyWords::ResetOnHeap(std::size_t n) {
  heap.assign(n, 0);
  data = heap.data();
}

EndpointMask Attempts::Available() const noexcept {
  return up_->health ? up_->health->Available(loop_.now(), !no_panic_)
                     : EndpointMask(up_->endpoints.size());
}

void Attempts::Restart(const UpstreamSpec& other) {
  Finished({});
  up_ = &other;
  stats_ = &other.stats->slot(worker_);
  no_panic_ = false;
  allowed_ = Available();
  endpoint_ = 0;
  count_ = 0;
  next_ = Verdict::kContinue;
  delay_ = {};
  builtin_retry_used_ = false;
  reported_ = true;
  tickets_.Reset(other.policies.size());
  words_.Reset(other.policies.size());
  ended_ = waiting_ = waited_ = false;
  open_unreported_ = false;
  last_ = {};
}

void Attempts::Landed() noexcept {
  if (in_flight_ == nullptr) return;
  in_flight_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  in_flight_ = nullptr;
}

Stream* Attempts::OpenNow(boost::asio::steady_timer* wake) {
  Stream* s = opener_.OpenNow(*up_, endpoint_, wake);
  reused_ = s != nullptr && s->reused();
  open_unreported_ = s != nullptr;
  return s;
}

boost::asio::awaitable<Stream*> Attempts::Open(boost::asio::steady_timer* wake,
                                               ExchangeError& error) {
  Stream* s = co_await opener_.Open(*up_, endpoint_, wake, error);
  reused_ = s != nullptr && s->reused();
  open_unreported_ = s != nullptr;
  co_return s;
}

void Attempts::Count(const ExchangeError& e) noexcept {
  if (!e.upstream()) return;
  switch (e.upstream_label()[0]) {
    case 'c':
      stats_->Count(observe::UpstreamError::kConnectFailure);
      break;
    case 't':
      stats_->Count(observe::UpstreamError::kTimeout);
      break;
    case 'b':
      stats_->Count(observe::UpstreamError::kBadResponse);
      break;
    default:
      stats_->Count(observe::UpstreamError::kReset);
  }
}

bool Attempts::Retry(int status, const ExchangeError& error, bool replayable) {
  const SteadyTime now = loop_.RefreshNow();
  last_ = {status, error, error.request_sent || status != 0, reused_,
           std::chrono::duration_cast<std::chrono::microseconds>(now - start_)};
  sent_ = sent_ || last_.request_sent;
  open_unreported_ = false;
  if (tried_count_ < tried_.size())
    tried_[tried_count_++] = {up_->endpoints[endpoint_].key, status,
                              error ? error.token() : std::string_view(), last_.latency};
  // Cut by the exchange's deadline (the route's timeout, or one the client shortened): the
  // upstream was not given its own time, so its policies learn nothing from it.
  // And one rampart refused itself (no connection place left) is not the upstream's doing.
  const bool local = error.kind == ErrorKind::kBulkheadFull;
  if (local || (error && now >= deadline_ &&
                (error.kind == ErrorKind::kTimeout || error.kind == ErrorKind::kConnectTimeout))) {
    if (!local) Count(error);
    for (std::size_t i = 0; i < up_->policies.size(); ++i)
      up_->policies[i]->Abandoned(Info(replayable, i));
    reported_ = true;
    return false;
  }
  Verdict verdict = Verdict::kContinue;
  if (error && (error.kind == ErrorKind::kStale || error.kind == ErrorKind::kRefusedStream) &&
      replayable && !builtin_retry_used_) {
    builtin_retry_used_ = true;
    verdict = Verdict::kRetrySame;  // a new connection, or another session, to the same endpoint
  } else {
    Count(error);
  }
  reported_ = true;
  for (std::size_t i = 0; i < up_->policies.size(); ++i) {
    const Verdict v = up_->policies[i]->After(Info(replayable, i), last_);
    if (verdict == Verdict::kContinue && (v == Verdict::kRetrySame || v == Verdict::kRetryOther))
      verdict = v;
  }
  if (verdict == Verdict::kContinue || !replayable || count_ >= kMaxAttempts) return false;
  if (deadline_ != SteadyTime::max() && now + delay_ >= deadline_) return false;
  next_ = verdict;
  Landed();
  return true;
}

void Attempts::Finished(const ExchangeError& error) {
  if ((count_ == 0 && !waited_) || ended_) return;
  ended_ = true;
  Landed();
  if (error && !last_.error) {  // a failure after the head (Retry counted any before it)
    Count(error);
    last_.error = error;
  }
  for (std::size_t i = 0; i < up_->policies.size(); ++i) {
    if (!reported_) up_->policies[i]->Abandoned(Info(false, i));
    up_->policies[i]->Ended(Info(false, i), last_);
  }
  reported_ = true;
}

std::chrono::microseconds Attempts::elapsed() const noexcept {
  if (count_ == 0) return {};
  return std::chrono::duration_cast<std::chrono::microseconds>(loop_.now() - first_start_);
}

}  // namespace rampart::upstream
