// A per-upstream policy: consulted before each attempt and told each attempt's outcome, it may
// let the attempt go, refuse it, or ask for another one (on the same endpoint or elsewhere).
// Circuit breakers, bulkheads, retry budgets and outlier ejection are policies. Built once per
// config snapshot by their registered factory (policy_registry.h), shared by all workers:
// methods are noexcept, must not block, and keep per-worker or atomic state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "http/exchange_error.h"

namespace rampart::upstream {

struct UpstreamSpec;

enum class Verdict : std::uint8_t {
  kContinue,    // no objection
  kRefuse,      // no attempt now (an open breaker, a full bulkhead): the exchange fails
  kRetrySame,   // (after an attempt) send the request again to the same endpoint
  kRetryOther,  // (after an attempt) send it again, to an endpoint not tried yet; (before an
                // attempt) not this endpoint: pick another (a per-endpoint breaker), or, when
                // none is left, fail as RefusedAs says
  kWait,        // (before an attempt) not now: ask again after *delay (a bulkhead's queue)
};

// One attempt, as policies see it.
struct AttemptInfo {
  const UpstreamSpec& upstream;
  std::size_t endpoint = 0;  // index into upstream.endpoints
  int attempt = 0;           // 0 for the first attempt of the exchange
  int worker = 0;
  bool replayable = false;  // the request could be sent again whole
  std::string_view method;
  std::string_view route;  // the route the exchange matched
  // Sending it again cannot act twice: an idempotent method (RFC 9110 section 9.2.2), or a gate
  // made it so (an idempotency key: the origin sees it once per key). Retry policies ask this.
  bool retry_safe = false;
  // This policy's word about this attempt, kept by the seam from Before to After or Abandoned
  // (a circuit breaker's admission ticket); zero at Before.
  std::uint64_t* ticket = nullptr;
  // This policy's word about the whole exchange, kept by the seam until Ended; zero at first
  // (a retry budget's note that the exchange is counted in flight).
  std::uint64_t* exchange = nullptr;
  // Since the exchange's first attempt started (zero for it).
  std::chrono::microseconds elapsed{};
  // After: how long to wait before the retry this policy asks for (zero: at once); Before, with
  // kWait: how long to wait before asking again.
  std::chrono::microseconds* delay = nullptr;
  // The worker loop's clock, read at the last event (zero when the caller has none: a policy
  // then reads its own clock).
  SteadyTime now{};

  template <typename Clock>
  SteadyTime NowOr(const Clock& clock) const {
    return now != SteadyTime{} ? now : clock();
  }
};

// What an attempt came to. Reported after the response head (or the failure before it), and
// again, with the body's fate, when the exchange over that attempt ends.
struct AttemptOutcome {
  int status = 0;  // 0 when no response head came
  http::ExchangeError error;
  bool request_sent = false;
  bool reused = false;                  // over a connection that served earlier requests
  std::chrono::microseconds latency{};  // from the attempt's start to its head (or failure)
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view Name() const noexcept = 0;
  // What the exchange fails with when Before refuses (its status and reason token).
  virtual http::ErrorKind RefusedAs() const noexcept { return http::ErrorKind::kNoEndpoint; }
  virtual Verdict Before(const AttemptInfo&) noexcept { return Verdict::kContinue; }
  virtual Verdict After(const AttemptInfo&, const AttemptOutcome&) noexcept {
    return Verdict::kContinue;
  }
  // The exchange ended (once per exchange that began an attempt, whatever became of it).
  virtual void Ended(const AttemptInfo&, const AttemptOutcome&) noexcept {}
  // An attempt this policy admitted ended without an outcome to learn from: a later policy
  // refused it, or the exchange ended before its head or failure (the client left, its body
  // failed). Called instead of After for that attempt.
  virtual void Abandoned(const AttemptInfo&) noexcept {}
  // Its state for `GET /admin/upstreams`: JSON members appended to the policy's object, each
  // starting with a comma (`,"state":"open"`). Called on the control thread.
  virtual void Describe(std::string& out) const { (void)out; }
};

}  // namespace rampart::upstream
