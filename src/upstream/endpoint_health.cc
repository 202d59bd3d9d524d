#include "upstream/endpoint_health.h"

namespace rampart::upstream {

EndpointHealth::EndpointHealth(std::vector<std::shared_ptr<EndpointState>> endpoints,
                               std::vector<bool> backup)
    : endpoints_(std::move(endpoints)), backup_(std::move(backup)) {
  backup_.resize(endpoints_.size(), false);
}

bool EndpointHealth::Up(std::size_t i, SteadyTime now) const noexcept {
  return endpoints_[i]->Up(now, checked_);
}

EndpointMask EndpointHealth::Available(SteadyTime now, bool panic) const noexcept {
  const std::size_t n = endpoints_.size();
  EndpointMask primaries(n), backups(n), all_open(n);
  bool primary_up = false, backup_up = false;
  for (std::size_t i = 0; i < n; ++i) {
    const bool up = Up(i, now);
    const bool b = backup_[i];
    if (!up || b) primaries.reset(i);
    if (!up || !b) backups.reset(i);
    if (endpoints_[i]->draining.load(std::memory_order_relaxed)) all_open.reset(i);
    primary_up = primary_up || (up && !b);
    backup_up = backup_up || (up && b);
  }
  if (primary_up) return primaries;
  if (backup_up) return backups;
  if (!panic) return EndpointMask(n, false);
  return all_open;  // may be empty: every endpoint is draining
}

std::size_t EndpointHealth::EjectedCount(SteadyTime now) const noexcept {
  std::size_t c = 0;
  for (const auto& e : endpoints_) c += e->Ejected(now) ? 1 : 0;
  return c;
}

}  // namespace rampart::upstream
