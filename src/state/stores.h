// Shared state that outlives config snapshots, owned by the server: in-process tables (rate-limit
// buckets, ...) found again by identity after a reload, and the Redis clients of each worker.
// Gates get it through their GateContext and never know which back end a limit runs on.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "observe/metrics.h"
#include "state/kv/kv_fallback.h"
#include "state/kv/kv_store.h"
#include "state/redis/redis_pool.h"

namespace rampart::state {

// A key-value store a gate asks for (Stores::Kv).
struct KvSpec {
  std::string name;     // its namespace: keys of two stores never meet ("sessions", ...)
  bool shared = false;  // on Redis (`state.redis`), so every instance sees the same keys
  KvOnFailure on_failure = KvOnFailure::kFail;  // shared store unavailable: local or fail
  std::uint64_t max_keys = 1'000'000;           // in process
};

// The Redis options of the `state.redis` configuration.
redis::Options RedisOptionsFrom(const config::RedisConfig& rc);

class Stores {
 public:
  // Registers one collector with `metrics` that renders the live tables' gauges.
  Stores(int workers, observe::Metrics& metrics);
  Stores(const Stores&) = delete;
  Stores& operator=(const Stores&) = delete;

  int workers() const noexcept { return workers_; }
  observe::Metrics& metrics() noexcept { return metrics_; }

  // A metric family that Local tables render into; declared once, rendered in declaration order.
  struct Family {
    std::string name;
    std::string type;  // "gauge" or "counter"
    std::string help;
  };
  // Renders the table's series of `family` (lines without HELP/TYPE).
  using Render = std::function<void(std::string& out, std::string_view family)>;

  // The table known as `identity` (which must name its type and every number that gives its
  // state meaning), or a new one from make(). Tables live while a snapshot holds them; a new
  // table's series come from render_for(weak reference to it).
  template <typename T, typename Make, typename RenderFor>
  std::shared_ptr<T> Local(const std::string& identity, Make&& make,
                           const std::vector<Family>& families, RenderFor&& render_for) {
    std::lock_guard lock(mu_);
    auto& e = tables_[identity];
    if (auto alive = e.table.lock()) return std::static_pointer_cast<T>(alive);
    std::shared_ptr<T> t = make();
    e.table = t;
    e.render = render_for(std::weak_ptr<T>(t));
    for (const auto& f : families) Declare(f);
    return t;
  }

  // The same, for a table with no metric series of its own.
  template <typename T, typename Make>
  std::shared_ptr<T> Local(const std::string& identity, Make&& make) {
    return Local<T>(identity, std::forward<Make>(make), {},
                    [](std::weak_ptr<T>) -> Render { return nullptr; });
  }

  // The Redis clients for `options`, one per worker; the same options share one pool, kept for
  // the life of the process (its connections belong to the workers' event loops).
  std::shared_ptr<redis::Pool> Redis(const redis::Options& options);

  // The key-value store `spec` names: in process (kept across reloads while a snapshot uses it,
  // found again by name and bound), or on Redis with the in-process one behind it as
  // `on_failure` says. Null with `error` set when shared is asked without `state.redis`.
  std::shared_ptr<KvStore> Kv(const KvSpec& spec, const config::StateConfig& state,
                              std::string* error);

 private:
  void Declare(const Family& f);
  void Collect(std::string& out);

  struct Entry {
    std::weak_ptr<void> table;
    Render render;
  };
  int workers_;
  observe::Metrics& metrics_;
  std::mutex mu_;
  std::map<std::string, Entry> tables_;
  std::vector<Family> families_;
  std::map<std::string, std::shared_ptr<redis::Pool>> redis_;  // kept: workers hold clients
};

}  // namespace rampart::state
