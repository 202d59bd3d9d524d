#include "gates/connection_limits/connection_limiter.h"

#include <algorithm>

namespace rampart::gates {

ConnectionVerdict ConnectionLimiter::AdmitGlobal(const config::ListenerConnections& c,
                                                 Ticket& t) noexcept {
  // Counted whether or not a cap is set, so a reload that sets one starts from the truth.
  const std::uint64_t cap = c.max_connections;
  const std::uint64_t before = open_.fetch_add(1, std::memory_order_relaxed);
  if (cap != 0 && before >= cap) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return ConnectionVerdict::kMaxConnections;
  }
  t.global = true;
  return ConnectionVerdict::kAdmitted;
}

ConnectionVerdict ConnectionLimiter::AdmitSource(const config::ListenerConnections& c,
                                                 const boost::asio::ip::address& client,
                                                 SteadyTime now, Ticket& t) {
  SourceLimits limits;
  limits.max_per_source = c.max_per_source;
  limits.ipv6_prefix = c.ipv6_prefix;
  if (c.rate_per_source.count > 0 && c.rate_per_source.period.count() > 0) {
    limits.rate_per_second =
        c.rate_per_source.count * 1e6 / static_cast<double>(c.rate_per_source.period.count());
  }
  limits.burst =
      c.burst_per_source > 0 ? c.burst_per_source : std::max(1.0, limits.rate_per_second);
  if (limits.max_per_source == 0 && limits.rate_per_second <= 0)
    return ConnectionVerdict::kAdmitted;
  switch (sources_.Admit(client, limits, now)) {
    case SourceVerdict::kAdmitted:
      t.source = true;
      t.address = client;
      t.ipv6_prefix = limits.ipv6_prefix;
      return ConnectionVerdict::kAdmitted;
    case SourceVerdict::kAdmittedUntracked:
      untracked_.fetch_add(1, std::memory_order_relaxed);
      return ConnectionVerdict::kAdmitted;
    case SourceVerdict::kTooMany:
      return ConnectionVerdict::kMaxPerSource;
    case SourceVerdict::kTooFast:
      return ConnectionVerdict::kRatePerSource;
  }
  return ConnectionVerdict::kAdmitted;
}

void ConnectionLimiter::Release(Ticket& t) noexcept {
  if (t.global) open_.fetch_sub(1, std::memory_order_relaxed);
  if (t.source) sources_.Release(t.address, t.ipv6_prefix);
  t.global = t.source = false;
}

std::shared_ptr<ConnectionLimiter> ConnectionLimiters::For(const std::string& listener) {
  std::lock_guard lock(mu_);
  auto& slot = by_listener_[listener];
  if (!slot) slot = std::make_shared<ConnectionLimiter>();
  return slot;
}

}  // namespace rampart::gates
