#include "gates/jwt/jwks_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/secrets.h"
#include "core/strings.h"
#include "upstream/http_client.h"

namespace rampart::jwt {

namespace asio = boost::asio;
using std::chrono::seconds;

// Requests waiting on the control thread for the fetch in flight; woken when it ends.
class FetchWaiters {
 public:
  explicit FetchWaiters(asio::any_io_executor ex) : timer_(ex) {}
  // When a fetch begins (setting the expiry would cancel waits already pending).
  void Arm() { timer_.expires_at(SteadyTime::max()); }
  asio::awaitable<void> Wait() { co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable)); }
  void WakeAll() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

namespace {

// A key set served at a URL is public: an HMAC secret in it is anyone's secret.
bool RefuseSecrets(const KeySet& set, std::string& error) {
  for (const Jwk& k : set.keys) {
    if (k.type == KeyType::kOct) {
      error = "the set holds an HMAC (oct) key: a published secret verifies nothing";
      return true;
    }
  }
  return false;
}

// Cache-Control's max-age (RFC 9111 §5.2.2.1), when the response has one and allows caching.
std::optional<seconds> MaxAge(const upstream::ClientResponse& r) {
  for (const auto& [name, value] : r.headers) {
    if (!IEquals(name, "cache-control")) continue;
    std::optional<seconds> age;
    bool uncacheable = false;
    ForEachListToken(value, [&](std::string_view d) {
      if (IEquals(d, "no-store") || IEquals(d, "no-cache")) uncacheable = true;
      if (!IStartsWith(d, "max-age=")) return;
      d.remove_prefix(8);
      if (d.size() >= 2 && d.front() == '"' && d.back() == '"') d = d.substr(1, d.size() - 2);
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), n);
      if (ec == std::errc() && end == d.data() + d.size() && n >= 0) age = seconds(n);
    });
    if (uncacheable) return seconds(0);
    return age;
  }
  return std::nullopt;
}

}  // namespace

std::string JwksSpec::Identity() const {
  return fmt::format("{} inline#{:x} ca={} ttl={} min={} max={} kid={} timeout={} watch={}",
                     Label(), std::hash<std::string>{}(inline_json), ca_file, ttl.count(),
                     min_ttl.count(), max_ttl.count(), unknown_kid_interval.count(),
                     timeout.count(), watch_interval.count());
}

std::string JwksSpec::Label() const {
  if (!url.empty()) return url;
  if (!file.empty()) return "file:" + file;
  return "inline";
}

JwksSource::JwksSource(JwksSpec spec, Services services)
    : spec_(std::move(spec)), services_(std::move(services)) {}

JwksSource::~JwksSource() = default;

std::shared_ptr<const KeySet> JwksSource::keys() const {
  std::lock_guard lock(mu_);
  return keys_;
}

std::size_t JwksSource::key_count() const {
  auto k = keys();
  return k ? k->keys.size() : 0;
}

std::string_view JwksSource::Origin() const noexcept {
  if (!spec_.url.empty()) return spec_.url;
  if (!spec_.file.empty()) return spec_.file;
  return "the inline set";
}

void JwksSource::Install(KeySet set) {
  for (const auto& note : set.skip_notes) {
    spdlog::warn("jwt: keys from {}: {} (skipped)", Origin(), note);
  }
  auto next = std::make_shared<const KeySet>(std::move(set));
  std::lock_guard lock(mu_);
  keys_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
}

bool JwksSource::ReadFile(std::string& error) {
  struct stat st {};
  if (::stat(spec_.file.c_str(), &st) != 0) {
    error = fmt::format("cannot read '{}'", spec_.file);
    return false;
  }
  std::ifstream in(spec_.file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    error = fmt::format("cannot read '{}'", spec_.file);
    return false;
  }
  file_mtime_ = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  KeySet set;
  if (!ParseJwks(ss.str(), set, error)) {
    error = fmt::format("'{}': {}", spec_.file, error);
    return false;
  }
  Install(std::move(set));
  return true;
}

bool JwksSource::Load(std::string& error) {
  if (!spec_.inline_json.empty()) {
    KeySet set;
    if (!ParseJwks(spec_.inline_json, set, error)) return false;
    Install(std::move(set));
    return true;
  }
  if (!spec_.file.empty()) return ReadFile(error);
  return true;  // a URL: fetched from Start()
}

void JwksSource::Start() {
  if (!spec_.inline_json.empty() || started_.exchange(true)) return;
  asio::co_spawn(services_.control, Run(weak_from_this()), asio::detached);
}

asio::awaitable<void> JwksSource::Run(std::weak_ptr<JwksSource> weak) {
  // Wakes at least once a second: a source no snapshot holds any more ends here within one.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    std::chrono::milliseconds step{1000};
    {
      auto self = weak.lock();
      if (!self) co_return;
      const SteadyTime now = std::chrono::steady_clock::now();
      if (!self->spec_.file.empty()) {
        struct stat st {};
        const bool seen = ::stat(self->spec_.file.c_str(), &st) == 0;
        const std::int64_t mtime =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        if (seen && (mtime != self->file_mtime_ ||
                     static_cast<std::uint64_t>(st.st_size) != self->file_size_)) {
          std::string error;
          if (self->ReadFile(error)) {
            self->ok_.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("jwt: keys reloaded from {}", self->spec_.file);
          } else {
            self->failed_.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("jwt: keeping the last good keys: {}", error);
          }
        }
        step = std::min(step, self->spec_.watch_interval);
      } else if (!self->spec_.url.empty()) {
        if (!self->fetching_ && now >= self->refresh_at_) co_await self->Fetch();
      }
    }
    timer.expires_after(step);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> JwksSource::Fetch() {
  auto self = shared_from_this();  // the fetch outlives nothing it needs
  if (!waiters_) waiters_ = std::make_unique<FetchWaiters>(services_.control);
  waiters_->Arm();
  fetching_ = true;
  last_fetch_ = std::chrono::steady_clock::now();
  upstream::ClientRequest req;
  req.url = spec_.url;
  req.ca_file = spec_.ca_file;
  req.timeout = spec_.timeout;
  req.max_response_bytes = 1024 * 1024;
  req.headers.emplace_back("accept", "application/jwk-set+json, application/json");
  upstream::ClientResponse r;
  if (services_.client != nullptr) r = co_await services_.client->Fetch(std::move(req));
  const SteadyTime now = std::chrono::steady_clock::now();
  std::string error;
  KeySet set;
  if (!r.ok()) {
    error = r.error_text.empty() ? "fetch failed" : r.error_text;
  } else if (r.status != 200) {
    error = fmt::format("status {}", r.status);
  } else if (ParseJwks(r.body, set, error) && !RefuseSecrets(set, error)) {
    // The same document again (the usual refresh) keeps the key set, and with it every cached
    // verification.
    const Sha256Digest digest = Sha256(r.body);
    if (digest != last_body_ || !keys()) Install(std::move(set));
    last_body_ = digest;
    seconds ttl = MaxAge(r).value_or(spec_.ttl);
    ttl = std::clamp(ttl, spec_.min_ttl, spec_.max_ttl);
    // Refreshed at 80% of its life, so the set in use never runs out while the server is up.
    refresh_at_ = now + ttl * 4 / 5;
    retry_ = seconds(1);
    ok_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!error.empty()) {
    set = KeySet{};
    failed_.fetch_add(1, std::memory_order_relaxed);
    // The last good set stays; the next try backs off (1 s doubling, at most min_ttl).
    refresh_at_ = now + retry_;
    retry_ = std::min(retry_ * 2, std::max(spec_.min_ttl, seconds(1)));
    spdlog::warn("jwt: fetching keys from {} failed ({}); {}", spec_.url, error,
                 keys() ? "keeping the last good set" : "no keys yet");
  }
  fetched_once_ = true;
  fetching_ = false;
  waiters_->WakeAll();
}

asio::awaitable<void> JwksSource::Await(bool unknown_kid) {
  if (spec_.url.empty()) co_return;  // files are watched; inline keys never change
  const SteadyTime now = std::chrono::steady_clock::now();
  const bool have = keys() != nullptr;
  if (have && !unknown_kid) co_return;
  if (!fetching_) {
    // A set is there and a fetch happened recently: an unknown kid does not fetch again.
    if (have && fetched_once_ && now - last_fetch_ < spec_.unknown_kid_interval) co_return;
    if (!have && fetched_once_ && now - last_fetch_ < std::chrono::seconds(1)) co_return;
    co_await Fetch();
    co_return;
  }
  co_await waiters_->Wait();
}

asio::awaitable<void> JwksSource::Refresh(bool unknown_kid) {
  if (spec_.url.empty()) co_return;
  const std::shared_ptr<JwksSource> self = shared_from_this();  // held until the fetch is done
  co_await asio::co_spawn(services_.control, self->Await(unknown_kid), asio::use_awaitable);
}

}  // namespace rampart::jwt
