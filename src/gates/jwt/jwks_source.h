// Where a provider's verification keys come from, and keeping them current: inline (read at
// load), a file (read at load, then watched: a change is read within watch_interval, a broken
// file keeps the last good set), or a URL fetched by the outbound client on the control thread:
// cached for the response's Cache-Control max-age (bounded by min_ttl and max_ttl; `ttl` without
// one), refreshed in the background before it runs out, fetched again at most once per
// `unknown_kid_interval` when a token names a kid the set lacks, the last good set kept when a
// fetch fails. Workers never fetch: a request that needs a fetch waits for the one in flight
// (bounded by the fetch timeout), so there is never more than one at a time per source.
//
// Sources are shared by every gate and route naming the same one, and kept across reloads while
// a snapshot holds them (state::Stores::Local).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/secrets.h"
#include "gates/jwt/jwk.h"
#include "upstream/services.h"

namespace rampart::jwt {

struct JwksSpec {
  std::string inline_json;
  std::string file;
  std::string url;
  std::string ca_file;  // https: verify the key server against this bundle
  std::chrono::seconds ttl{300};
  std::chrono::seconds min_ttl{30};
  std::chrono::seconds max_ttl{86400};
  std::chrono::seconds unknown_kid_interval{30};
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds watch_interval{1000};
  bool allow_http = false;  // a plain http:// URL (anyone on the path could swap the keys)
  // Every setting, for sharing: two providers naming the same keys the same way share a source.
  std::string Identity() const;
  // The URL, the file, or "inline", for logs and metrics.
  std::string Label() const;
};

class FetchWaiters;

class JwksSource : public std::enable_shared_from_this<JwksSource> {
 public:
  // Inline and file sources are read now (an error is a config error); a URL source starts its
  // first fetch at Start().
  JwksSource(JwksSpec spec, Services services);
  ~JwksSource();
  bool Load(std::string& error);  // inline and file: the first read
  void Start();  // the background refresh or watch, on the control thread (once; then a no-op)

  // The current keys (null until a URL's first fetch succeeded).
  std::shared_ptr<const KeySet> keys() const;
  // From a worker: when no keys were fetched yet, waits for the first fetch; when `unknown_kid`,
  // asks for a fetch (at most one per unknown_kid_interval) and waits for it; keys() then has
  // what there is.
  boost::asio::awaitable<void> Refresh(bool unknown_kid);

  const JwksSpec& spec() const noexcept { return spec_; }
  std::uint64_t fetches_ok() const noexcept { return ok_.load(std::memory_order_relaxed); }
  std::uint64_t fetches_failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  std::size_t key_count() const;
  // Counts key set changes: a token verified under an older set is verified again, so a key
  // removed from the set stops accepting tokens the cache holds.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  boost::asio::awaitable<void> Fetch();                                     // control thread
  boost::asio::awaitable<void> Await(bool unknown_kid);                     // control thread
  static boost::asio::awaitable<void> Run(std::weak_ptr<JwksSource> weak);  // control thread
  bool ReadFile(std::string& error);
  void Install(KeySet set);                  // logs the keys it skipped
  std::string_view Origin() const noexcept;  // the URL, the file, or "the inline set"

  JwksSpec spec_;
  Services services_;
  mutable std::mutex mu_;
  std::shared_ptr<const KeySet> keys_;
  std::atomic<bool> started_{false};
  // Control thread only.
  bool fetching_ = false;
  bool fetched_once_ = false;  // a fetch finished, successfully or not
  SteadyTime last_fetch_{};
  SteadyTime refresh_at_{};
  std::chrono::seconds retry_{1};
  std::unique_ptr<FetchWaiters> waiters_;
  Sha256Digest last_body_{};  // the last document fetched
  std::int64_t file_mtime_ = 0;
  std::uint64_t file_size_ = 0;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> ok_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace rampart::jwt
