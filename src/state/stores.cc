#include "state/stores.h"

#include <fmt/format.h>

namespace rampart::state {

Stores::Stores(int workers, observe::Metrics& metrics) : workers_(workers), metrics_(metrics) {
  metrics_.AddCollector([this](std::string& out) { Collect(out); });
}

void Stores::Declare(const Family& f) {
  for (const auto& known : families_) {
    if (known.name == f.name) return;
  }
  families_.push_back(f);
}

void Stores::Collect(std::string& out) {
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (auto it = tables_.begin(); it != tables_.end();) {
      if (it->second.table.expired()) {
        it = tables_.erase(it);
        continue;
      }
      it->second.render(out, f.name);
      ++it;
    }
  }
  for (const auto& [_, pool] : redis_) pool->RenderMetrics(out);
}

std::shared_ptr<redis::Pool> Stores::Redis(const redis::Options& options) {
  std::lock_guard lock(mu_);
  const std::string id = options.Identity();
  auto& pool = redis_[id];
  if (!pool) pool = std::make_shared<redis::Pool>(options, workers_);
  return pool;
}

}  // namespace rampart::state
