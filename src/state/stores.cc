#include "state/stores.h"

#include <fmt/format.h>

#include "state/kv/local_kv.h"
#include "state/kv/redis_kv.h"

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
      if (it->second.render) it->second.render(out, f.name);  // none: a table without series
      ++it;
    }
  }
  for (const auto& [_, pool] : redis_) pool->RenderMetrics(out);
}

redis::Options RedisOptionsFrom(const config::RedisConfig& rc) {
  redis::Options o;
  o.host = rc.host;
  o.port = rc.port;
  o.password = rc.password;
  o.database = rc.database;
  o.timeout = rc.timeout;
  o.reconnect_interval = rc.reconnect_interval;
  return o;
}

std::shared_ptr<KvStore> Stores::Kv(const KvSpec& spec, const config::StateConfig& state,
                                    std::string* error) {
  const std::string identity = fmt::format("kv:{}:{}", spec.name, spec.max_keys);
  const std::vector<Family> families = {
      {"rampart_kv_keys", "gauge", "Keys held in an in-process key-value store."}};
  std::shared_ptr<LocalKv> local = Local<LocalKv>(
      identity, [&] { return std::make_shared<LocalKv>(spec.max_keys); }, families,
      [name = spec.name](std::weak_ptr<LocalKv> weak) {
        return [name, weak](std::string& out, std::string_view family) {
          if (family != "rampart_kv_keys") return;
          if (auto kv = weak.lock()) {
            out += fmt::format("rampart_kv_keys{{store=\"{}\"}} {}\n",
                               observe::EscapeLabelValue(name), kv->size());
          }
        };
      });
  if (!spec.shared) return local;
  if (!state.redis) {
    if (error) *error = "a shared store needs state.redis";
    return nullptr;
  }
  auto redis = std::make_shared<RedisKv>(Redis(RedisOptionsFrom(*state.redis)),
                                         fmt::format("rampart:kv:{}:", spec.name));
  static constexpr observe::CounterDef<1> kFallbacks{
      "rampart_kv_fallbacks_total",
      "Key-value calls the shared store could not answer (then answered in process, or failed, "
      "as on_failure says).",
      {"store"}};
  auto* fallbacks = metrics_.Counter(kFallbacks, {spec.name});
  return std::make_shared<KvFallback>(std::move(redis), std::move(local), spec.on_failure,
                                      fallbacks);
}

std::shared_ptr<redis::Pool> Stores::Redis(const redis::Options& options) {
  std::lock_guard lock(mu_);
  const std::string id = options.Identity();
  auto& pool = redis_[id];
  if (!pool) pool = std::make_shared<redis::Pool>(options, workers_);
  return pool;
}

}  // namespace rampart::state
