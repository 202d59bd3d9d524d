#include "gates/cache/cache_gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>

#include "core/copy_lower.h"
#include "core/strings.h"
#include "core/thread_cache.h"
#include "gates/cache/admin_endpoint.h"
#include "gates/cache/cache_control.h"
#include "http/methods.h"
#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "pipeline/router.h"
#include "state/stores.h"

namespace rampart::cache {

namespace {

constexpr std::string_view kOutcomes[] = {
    "hit",             // a fresh entry answered
    "hit_304",         // a fresh entry answered the client's conditional request with 304
    "miss",            // no usable entry: the origin answered (and the answer may be stored)
    "revalidated",     // a stale entry, confirmed by the origin's 304, answered
    "bypass",          // not cacheable by this route's rules (method, Authorization, cookies)
    "stored",          // an origin answer was stored
    "not_stored",      // an origin answer was not storable (RFC 9111 section 3, size, Set-Cookie)
    "invalidated",     // an unsafe method's success removed the target's entries
    "coalesced",       // a miss waited for another exchange's fetch of the key and was served by it
    "stale",           // a stale entry answered at once (stale-while-revalidate)
    "stale_if_error",  // a stale entry answered instead of an origin failure
    "refresh",         // a background request refreshed an entry (stale or early refresh)
    "shared_hit",      // a local miss answered from the shared tier
    "shared_stored",   // an origin answer written to the shared tier
    "shared_fenced",   // a write to the shared tier refused: a newer leader wrote first
    "filtered",        // a path key_filter does not match: answered 404, never forwarded
};
constexpr std::string_view kReasons[] = {"cache_hit",   "cache_revalidated", "not_cached",
                                         "cache_stale", "refresh_in_flight", "key_filtered"};

// The X-Rampart-Cache lines a miss and a bypass add (as string_views: no strlen per request).
constexpr std::string_view kMissLine = "X-Rampart-Cache: MISS\r\n";
constexpr std::string_view kBypassLine = "X-Rampart-Cache: BYPASS\r\n";

using Clock = std::chrono::system_clock;

// The request fields the gate decides on, read in one pass (a miss would otherwise walk the
// request's fields once per name; IEquals rejects a name of another length at once).
struct RequestFields {
  bool body = false;  // Transfer-Encoding, or a Content-Length other than 0
  bool authorization = false;
  bool cookie = false;
  bool range = false;
  bool conditional = false;  // If-None-Match or If-Modified-Since
  CacheControl cc;           // every Cache-Control field, in order
};

RequestFields ReadRequestFields(const http::HeaderList& req) {
  RequestFields r;
  for (const auto& f : req) {
    const std::string_view n = f.name;
    if (IEquals(n, "cache-control")) {
      ParseCacheControlValue(f.value, r.cc);
    } else if (IEquals(n, "transfer-encoding") ||
               (IEquals(n, "content-length") && f.value != "0")) {
      r.body = true;
    } else if (IEquals(n, "authorization")) {
      r.authorization = true;
    } else if (IEquals(n, "cookie")) {
      r.cookie = true;
    } else if (IEquals(n, "range")) {
      r.range = true;
    } else if (IEquals(n, "if-none-match") || IEquals(n, "if-modified-since")) {
      r.conditional = true;
    }
  }
  return r;
}

// What one exchange carries between phases.
struct Pending final : GateState {
  enum class Mode : std::uint8_t { kFill, kRevalidate, kInvalidate } mode = Mode::kFill;
  // The key: in key_inline when it fits (nearly always: no allocation per request), else in
  // key_long. Set once.
  std::string_view key;
  void SetKey(std::string&& k) {
    key_long = std::move(k);
    key = key_long;
  }
  static constexpr std::size_t kInlineKey = 256;
  char key_inline[kInlineKey];
  std::string key_long;
  WallTime request_time;
  std::shared_ptr<const CachedResponse> stale;  // the stale entry found (kRevalidate: its base)
  bool stale_ok = false;       // it may answer instead of an origin failure (stale-if-error)
  bool route_windows = false;  // the route's stale_if_error applies to it (no s-maxage)
  std::unique_ptr<CachedResponse> fill;  // an answer being stored
  bool too_large = false;
  bool body_end = false;
  // The key's flight when this exchange leads it (request coalescing): landed when the exchange
  // is done with it, after its answer was stored, so that waiters find it.
  CacheControl rcc;  // the request's Cache-Control, parsed once
  std::shared_ptr<Flights> flights;
  Flights::Token token = 0;
  bool waiter = false;  // another exchange leads the key here: wait for it
  // The answer could not be stored: the key's misses pass (no coalescing) until then.
  SteadyTime pass_until{};
  bool origin_failed = false;  // told to the waiters when the flight lands
  // The request's own fields, read once with the others: If-None-Match or If-Modified-Since,
  // and Authorization.
  bool conditional = false;
  bool authorization = false;
  // The answer as it arrives, offered to the key's waiters (a leader with a declared length).
  std::shared_ptr<Fill> stream;
  // The key's lock in the shared tier, when this exchange leads it across instances.
  std::shared_ptr<SharedTier> shared;
  std::int64_t shared_token = 0;
  std::int64_t shared_generation = 0;  // the zone's generation when the lock was taken
  std::vector<std::string> erase;      // kInvalidate: keys to drop from the shared tier too
  bool published = false;  // the lock went with a write (else the destructor releases it)
  boost::asio::any_io_executor executor;
  int worker = 0;
  // Provided, so that make_unique does not zero all of it before the members' own
  // initialisers run (every member has one); a miss builds one of these.
  Pending() noexcept {}  // NOLINT(modernize-use-equals-default)
  // One is built and dropped per request: from the worker's own cache of blocks.
  // (Pending is final: these only ever see its own size.)
  static void* operator new(std::size_t /*size*/) { return BlockCache<sizeof(Pending)>::Take(); }
  static void operator delete(void* block) noexcept { BlockCache<sizeof(Pending)>::Give(block); }
  ~Pending() override {
    if (stream) stream->End(false);  // not completed by OnComplete: cut for its readers
    if (flights) flights->Land(key, token, pass_until, origin_failed);
    if (shared && shared_token > 0 && !published) {
      // The coroutine holds the tier: a reload may drop the gate's reference meanwhile.
      boost::asio::co_spawn(
          executor,
          [](std::shared_ptr<SharedTier> tier, std::string key, std::int64_t token,
             int worker) -> boost::asio::awaitable<void> {
            co_await tier->Unlock(std::move(key), token, worker);
          }(shared, std::string(key), shared_token, worker),
          boost::asio::detached);
    }
  }
};

// How long the shared tier keeps an entry: its freshness left and its stale windows.
std::chrono::milliseconds SharedTtl(const CachedResponse& e, Seconds age, const CacheConfig& c) {
  const Seconds stale = std::max({e.stale_while_revalidate, e.stale_if_error,
                                  std::chrono::duration_cast<Seconds>(c.stale_while_revalidate),
                                  std::chrono::duration_cast<Seconds>(c.stale_if_error)});
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(1), e.lifetime - age + stale);
}

Pending* PendingOf(const Exchange& ex) {
  return static_cast<Pending*>(ex.slots[ex.gate_index].state.get());
}

// The value of request field `name` as the upstream gets it (all fields of the name,
// comma-joined): a gate's header (ex.upstream_headers) or the route's rules replace or remove the
// client's, so Vary and key headers see what the origin answered to, not what a client claims.
void AppendForwarded(const Exchange& ex, std::string_view name, std::string& out) {
  for (const auto& [n, v] : ex.upstream_headers) {
    if (IEquals(n, name)) {
      out.append(v);
      return;
    }
  }
  if (ex.route != nullptr && ex.route->config != nullptr) {
    const config::HeaderRules& rules = ex.route->config->request_headers;
    for (const auto& [n, v] : rules.add) {
      if (IEquals(n, name)) {
        out.append(v);
        return;
      }
    }
    for (const auto& n : rules.remove) {
      if (IEquals(n, name)) return;
    }
  }
  bool first = true;
  for (const auto& f : *ex.request_headers) {
    if (!IEquals(f.name, name)) continue;
    if (!first) out += ',';
    out.append(TrimOws(f.value));
    first = false;
  }
}

// The forwarded values of `names`, each followed by '\n'.
void AppendVaryValues(const std::vector<std::string>& names, const Exchange& ex, std::string& out) {
  for (const auto& n : names) {
    AppendForwarded(ex, n, out);
    out += '\n';
  }
}

std::string VaryValues(const std::vector<std::string>& names, const Exchange& ex) {
  std::string out;
  AppendVaryValues(names, ex, out);
  return out;
}

// A query parameter's name, percent-decoded, so that `i%64` is the `id` the origin will read.
std::string DecodedName(std::string_view p) {
  std::string out;
  PercentDecode(p.substr(0, p.find('=')), out);
  return out;
}

// `uri` (a Location or Content-Location value) as a path and query when it names a target on the
// request's own scheme and authority: origin-form ("/a?b"), or absolute with the same scheme and
// authority (case-insensitive). Relative references without a leading '/' are not followed.
bool SameOriginTarget(std::string_view uri, const Exchange& ex, std::string_view& path,
                      std::string_view& query) {
  uri = uri.substr(0, uri.find('#'));
  if (uri.starts_with("//")) return false;
  if (!uri.starts_with('/')) {
    const std::string_view scheme = ex.is_tls ? "https://" : "http://";
    if (uri.size() < scheme.size() || !IEquals(uri.substr(0, scheme.size()), scheme)) {
      return false;
    }
    uri.remove_prefix(scheme.size());
    const std::size_t end = std::min(uri.find('/'), uri.find('?'));
    if (!IEquals(uri.substr(0, end), ex.authority)) return false;
    uri = end == std::string_view::npos ? std::string_view("/") : uri.substr(end);
    if (uri.starts_with('?')) return false;  // "http://host?q": no path to key
  }
  const std::size_t q = uri.find('?');
  path = uri.substr(0, q);
  query = q == std::string_view::npos ? std::string_view() : uri.substr(q + 1);
  return !path.empty();
}

// The origin's Content-Length (the codec has checked it: digits, one value).
std::optional<std::uint64_t> DeclaredLength(const http::HeaderList& fields) {
  bool found = false;
  const std::string_view v = fields.Get("content-length", &found);
  std::uint64_t n = 0;
  if (!found || v.empty() ||
      std::from_chars(v.data(), v.data() + v.size(), n).ptr != v.data() + v.size()) {
    return std::nullopt;
  }
  return n;
}

// How long a waiter reading a leader's answer as it streams waits for its next bytes (the
// leader's own exchange is bounded by its upstream's timeouts; this only bounds a stall).
constexpr std::chrono::seconds kFillWait{60};

// Whether an entry of `age` may answer a request with these directives as fresh.
bool Usable(const CachedResponse& e, const CacheControl& rcc, Seconds age) {
  if (age >= e.lifetime || rcc.no_cache || rcc.invalid) return false;
  if (rcc.max_age && age.count() > *rcc.max_age) return false;
  if (rcc.min_fresh && (e.lifetime - age).count() < *rcc.min_fresh) return false;
  return true;
}

// An answer the origin did not really give: its 5xx of unavailability, or rampart's own 502, 503
// or 504 (connect failure, reset, timeout, open breaker, no endpoint).
bool OriginFailed(const ResponseView& r) {
  return r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
}

std::vector<std::string> VaryNames(const http::HeaderList& headers, bool& star) {
  std::vector<std::string> names;
  star = false;
  for (const auto& f : headers) {
    if (!IEquals(f.name, "vary")) continue;
    for (std::string_view rest = f.value; !rest.empty();) {
      const auto comma = rest.find(',');
      const std::string_view item = TrimOws(rest.substr(0, comma));
      if (item == "*") star = true;
      if (!item.empty() && item != "*") names.push_back(ToLower(item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string_view Field(const std::vector<std::pair<std::string, std::string>>& fields,
                       std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (IEquals(n, name)) return v;
  }
  return {};
}

// A HeaderList view of stored fields, for the freshness functions.
http::HeaderList View(const std::vector<std::pair<std::string, std::string>>& fields) {
  http::HeaderList l;
  l.reserve(fields.size());
  for (const auto& [n, v] : fields) l.Add(n, v);
  return l;
}

// Until when the key of an answer this exchange could not store skips coalescing; {}: never.
// Only what says the key's answers are not storable counts: not an origin failure (5xx: the
// next answer may be), not a 304 or an answer to the leader's own conditions (the client's,
// not the key's).
SteadyTime PassUntil(const Pending& p, const Exchange& ex, const CacheConfig& c) noexcept {
  if (c.pass_ttl.count() == 0 || !ex.response.from_origin() || ex.response.status >= 500 ||
      ex.response.status == 304 || p.conditional) {
    return {};
  }
  return ex.start + c.pass_ttl;
}

// stale-if-error (RFC 5861 section 4): whether the stale entry an exchange found may answer an
// origin failure now (its window: the origin's, or the route's where it allows one).
bool StaleIfError(const Pending& p, const CacheConfig& c, WallTime now) {
  if (!p.stale || !p.stale_ok) return false;
  const Seconds age =
      CurrentAge(View(p.stale->headers), p.stale->request_time, p.stale->response_time, now);
  const Seconds window =
      p.route_windows
          ? std::max(p.stale->stale_if_error, std::chrono::duration_cast<Seconds>(c.stale_if_error))
          : p.stale->stale_if_error;
  return age < p.stale->lifetime + window;
}

// RFC 9110 section 13.1.2: If-None-Match with the weak comparison.
bool NoneMatch(std::string_view list, std::string_view etag) {
  if (etag.empty()) return false;
  auto opaque = [](std::string_view t) { return t.starts_with("W/") ? t.substr(2) : t; };
  for (std::string_view rest = list; !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view item = TrimOws(rest.substr(0, comma));
    if (item == "*" || opaque(item) == opaque(etag)) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

// Fields an answer is stored with: end to end, without framing, rampart's own or cookies.
bool Keep(std::string_view name, const http::ConnectionTokens& listed) {
  // Age is kept: the entry's age counts it (RFC 9111 section 4.2.3); answers carry a new one.
  // Set-Cookie is never replayed to other clients, even where the route stores such answers.
  return !(http::IsHopByHop(name) || listed.Contains(name) || IEquals(name, "content-length") ||
           IEquals(name, "x-request-id") || IEquals(name, "x-rampart-cache") ||
           IEquals(name, "set-cookie"));
}

// An entry read from the shared tier holds only what this gate would have stored itself: a
// final status, and fields Keep() lets through (no Set-Cookie, framing or hop-by-hop fields).
bool Trustworthy(const CachedResponse& e) {
  static const http::HeaderList kNone;
  static const http::ConnectionTokens kNoTokens(kNone);
  if (e.status < 200 || e.status > 599) return false;
  for (const auto& [name, value] : e.headers) {
    if (!Keep(name, kNoTokens)) return false;
  }
  return true;
}

// The route's name: part of every key, so that routes never answer from each other's entries.
std::string_view RouteName(const Exchange& ex) {
  return ex.route != nullptr ? std::string_view(ex.route->name) : std::string_view("");
}

// A key's head: scheme, authority (ASCII capitals lowered), path, "?". Returns its end.
char* WriteUrlHead(const Exchange& ex, std::string_view path, char* out) {
  const std::string_view scheme = ex.is_tls ? "https://" : "http://";
  std::memcpy(out, scheme.data(), scheme.size());
  out += scheme.size();
  CopyLower(out, ex.authority);
  out += ex.authority.size();
  if (!path.empty()) std::memcpy(out, path.data(), path.size());  // (an empty one may be null)
  out += path.size();
  *out++ = '?';
  return out;
}

// The key of a request whose query does not count, and nothing else: its head, "\n", the route,
// "\n". UrlKeySize bytes.
std::size_t UrlKeySize(const Exchange& ex, std::string_view path) {
  return (ex.is_tls ? 8 : 7) + ex.authority.size() + path.size() + 1 + RouteName(ex).size() + 2;
}
void WriteUrlKey(const Exchange& ex, std::string_view path, char* out) {
  out = WriteUrlHead(ex, path, out);
  const std::string_view route = RouteName(ex);
  *out++ = '\n';
  std::memcpy(out, route.data(), route.size());
  out[route.size()] = '\n';
}

}  // namespace

// kOutcomes' indexes, in its order.
enum class CacheGate::Outcome : std::uint8_t {
  kHit,
  kHit304,
  kMiss,
  kRevalidated,
  kBypass,
  kStored,
  kNotStored,
  kInvalidated,
  kCoalesced,
  kStale,
  kStaleIfError,
  kRefresh,
  kSharedHit,
  kSharedStored,
  kSharedFenced,
  kFiltered,
};
static_assert(std::size(kOutcomes) == static_cast<std::size_t>(CacheGate::Outcome::kFiltered) + 1);

CacheClock CacheClock::System() {
  return {[] { return Clock::now(); },
          [] {
            thread_local std::minstd_rand rng(std::random_device{}());
            // (0, 1]: ln() of it is finite.
            return 1.0 - std::uniform_real_distribution<double>(0.0, 1.0)(rng);
          }};
}

CacheGate::CacheGate(CacheConfig config, std::shared_ptr<CacheStore> store,
                     std::shared_ptr<Flights> flights, std::shared_ptr<SharedTier> shared,
                     observe::OutcomeCounters counters, CacheClock clock)
    : config_(std::move(config)),
      store_(std::move(store)),
      flights_(std::move(flights)),
      shared_(std::move(shared)),
      counters_(std::move(counters)),
      clock_(std::move(clock)),
      url_key_(config_.key_headers.empty() && !config_.cache_authorized) {
  if (!config_.key_filter.empty()) {
    std::string error;  // checked when the settings were read
    key_filter_ = Regex::Compile("^(?:" + config_.key_filter + ")$", &error);
  }
}

std::chrono::microseconds CacheGate::Lease() const noexcept {
  // A leader holds its key this long at most; a refresh leads too when coalescing is off.
  return std::max<std::chrono::microseconds>(config_.coalesce_timeout, std::chrono::seconds(5));
}

bool CacheGate::EarlyRefresh(const CachedResponse& e, Seconds age) const {
  if (config_.early_refresh <= 0) return false;
  // Never in the first half of the entry's freshness: under a high request rate XFetch fires
  // about delta x ln(rate x delta) before expiry, which for a short lifetime would mean a refresh
  // right after every store; this bounds it to two fetches per lifetime.
  if (age * 2 < e.lifetime) return false;
  // delta: how long the entry took to fetch (at least a millisecond).
  const double delta =
      std::max(1e-3, std::chrono::duration<double>(e.response_time - e.request_time).count());
  const double left = std::chrono::duration<double>(e.lifetime - age).count();
  const double u = std::clamp(clock_.random(), 1e-12, 1.0);
  return -delta * config_.early_refresh * std::log(u) >= left;
}

void CacheGate::AskRefresh(Exchange& ex, std::string_view key) const {
  if (flights_->Reserve(key, ex.start, Lease())) ex.refresh_gate = static_cast<int>(ex.gate_index);
}

GateNeeds CacheGate::Needs() const noexcept {
  GateNeeds n;
  n.response_body = true;
  return n;
}

std::span<const std::string_view> CacheGate::Reasons() const noexcept { return kReasons; }

void CacheGate::Note(Exchange& ex, Outcome outcome) const {
  const auto i = static_cast<std::size_t>(outcome);
  counters_.AddAt(ex.worker, i);
  ex.notes.push_back({"cache", kOutcomes[i], {}});
}

std::string CacheGate::KeyFor(const Exchange& ex, std::string_view path,
                              std::string_view query) const {
  std::string key;
  BuildKey(ex, path, query, key);
  return key;
}

void CacheGate::BuildKey(const Exchange& ex, std::string_view path, std::string_view query,
                         std::string& key) const {
  // The URL as the origin sees it: the authority with its port (Host goes upstream as sent),
  // then, after a newline, what else the answer may depend on: the route, a trusted proxy's
  // scheme and host, the chosen request fields as forwarded, the principal.
  if (!QueryCounts(query)) {
    key.resize(UrlKeySize(ex, path));
    WriteUrlKey(ex, path, key.data());
  } else {
    key.resize(UrlKeySize(ex, path) - RouteName(ex).size() - 2);
    WriteUrlHead(ex, path, key.data());
    std::vector<std::pair<std::string, std::string_view>> params;  // decoded name, as sent
    for (std::string_view rest = query; !rest.empty();) {
      const auto amp = rest.find('&');
      const std::string_view p = rest.substr(0, amp);
      if (!p.empty()) {
        std::string name = DecodedName(p);
        if (config_.query == CacheConfig::Query::kAll ||
            std::find(config_.query_params.begin(), config_.query_params.end(), name) !=
                config_.query_params.end()) {
          params.emplace_back(std::move(name), p);
        }
      }
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
    // By name only: repeated names keep their order (first-wins and last-wins origins differ).
    std::stable_sort(params.begin(), params.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (i) key += '&';
      key.append(params[i].second);
    }
    key += '\n';
    key.append(RouteName(ex));
    key += '\n';
  }
  if (ex.from_trusted_peer) {  // a trusted proxy's scheme and host reach the origin too
    for (const char* f : {"x-forwarded-proto", "x-forwarded-host"}) {
      key.append(ex.request_headers->Get(f));
      key += '\n';
    }
  }
  if (!config_.key_headers.empty()) AppendVaryValues(config_.key_headers, ex, key);
  if (config_.cache_authorized) {
    key += "principal=";
    key += ex.identity.principal;
  }
}

Decision CacheGate::Serve(Exchange& ex, const CachedResponse& e, std::string_view state,
                          Outcome outcome) const {
  const WallTime now = clock_.now();
  const http::HeaderList fields = View(e.headers);
  const Seconds age = CurrentAge(fields, e.request_time, e.response_time, now);
  auto out = std::make_shared<StoredResponse>();
  const http::HeaderList& req = *ex.request_headers;
  bool inm_found = false, ims_found = false;
  const std::string_view inm = req.Get("if-none-match", &inm_found);
  const std::string_view ims = req.Get("if-modified-since", &ims_found);
  bool not_modified = false;
  if (e.status == 200) {
    if (inm_found) {
      not_modified = NoneMatch(inm, Field(e.headers, "etag"));
    } else if (ims_found) {
      const auto since = ParseHttpDate(ims);
      const auto modified = ParseHttpDate(Field(e.headers, "last-modified"));
      not_modified = since && modified && *modified <= *since;
    }
  }
  if (not_modified) {
    // RFC 9110 section 15.4.5: the fields a 200 would have carried that describe it.
    out->status = 304;
    for (const auto& [n, v] : e.headers) {
      if (IEquals(n, "etag") || IEquals(n, "cache-control") || IEquals(n, "expires") ||
          IEquals(n, "vary") || IEquals(n, "content-location") || IEquals(n, "date") ||
          IEquals(n, "last-modified")) {
        out->headers.emplace_back(n, v);
      }
    }
  } else {
    out->status = e.status;
    out->headers.reserve(e.headers.size() + 1);
    for (const auto& f : e.headers) {
      if (!IEquals(f.first, "age")) out->headers.push_back(f);
    }
    out->body = e.body;
  }
  out->headers.emplace_back("Age", std::to_string(age.count()));
  Note(ex, not_modified ? Outcome::kHit304 : outcome);
  std::string extra;
  if (config_.status_header) extra = fmt::format("X-Rampart-Cache: {}\r\n", state);
  // The route's added fields, as on the answer the entry came from (its removals were applied
  // when the entry was stored).
  if (ex.route != nullptr && ex.route->config != nullptr) {
    for (const auto& [n, v] : ex.route->config->response_headers.add) {
      extra += fmt::format("{}: {}\r\n", n, v);
    }
  }
  const std::string_view reason = state == "REVALIDATED" ? kReasons[1]
                                  : state == "STALE"     ? kReasons[3]
                                                         : kReasons[0];
  return Decision::Serve(std::move(out), reason, std::move(extra));
}

Decision CacheGate::OnRequestHeaders(Exchange& ex) noexcept {
  const http::HeaderList& req = *ex.request_headers;
  // Compared once (the method decides several steps), inline.
  const bool get = ex.method.size() == 3 && std::memcmp(ex.method.data(), "GET", 3) == 0;
  // A success of an unsafe method invalidates the target's entry.
  if (!get && !http::IsSafeMethod(ex.method)) {
    auto p = std::make_unique<Pending>();
    p->mode = Pending::Mode::kInvalidate;
    p->SetKey(Key(ex));
    ex.slot().state = std::move(p);
    return Decision::Continue();
  }
  const auto bypass = [&] {
    Note(ex, Outcome::kBypass);
    if (config_.status_header) ex.response_headers.append(kBypassLine);
    return Decision::Continue();
  };
  if (!get && ex.method != "HEAD") return bypass();
  if (key_filter_ && !key_filter_->Matches(ex.path)) {
    Note(ex, Outcome::kFiltered);  // a key that cannot exist: the origin is spared it
    return Decision::Respond(404, kReasons[5], "no such resource");
  }
  const RequestFields asked = ReadRequestFields(req);
  // A body the key does not see could shape the answer ("fat GET"): not from or for the cache.
  if (asked.body) return bypass();
  // Whoever the request speaks for (Authorization, an API key, a session, a client certificate)
  // may get an answer meant for them only: unless the route keys entries by principal, it passes.
  const bool personal =
      asked.authorization || !ex.identity.principal.empty() || !ex.identity.method.empty();
  if (personal && !config_.cache_authorized) return bypass();
  if (asked.cookie && !config_.cache_cookies) return bypass();
  if (asked.range) return bypass();  // partial content is not stored here
  const CacheControl& rcc = asked.cc;
  if (rcc.no_store) return bypass();
  // Built before the stored entry is looked at: FromStored reads and fills it.
  ex.slot().state = std::make_unique<Pending>();
  Pending* p = PendingOf(ex);
  const std::size_t url_size = UrlKeySize(ex, ex.path);
  if (KeyIsUrl(ex) && url_size <= Pending::kInlineKey) {  // written in place: no allocation
    WriteUrlKey(ex, ex.path, p->key_inline);
    p->key = std::string_view(p->key_inline, url_size);
  } else {
    std::string key;
    BuildKey(ex, ex.path, ex.query, key);
    p->SetKey(std::move(key));
  }
  const std::uint64_t hash = KeyedHash(p->key);  // for the store and the flights table alike
  auto entry = store_->Get(p->key, hash, [&](const CachedResponse& e) {
    return VaryValues(e.vary_names, ex) == e.vary_values;
  });
  if (ex.background) return Refresh(ex, std::move(entry), asked.authorization);
  p->request_time = clock_.now();
  p->rcc = rcc;
  p->conditional = asked.conditional;
  p->authorization = asked.authorization;
  if (entry) {
    if (std::optional<Decision> d = FromStored(ex, std::move(entry))) {
      ex.slot().state.reset();
      return std::move(*d);
    }
  } else if (rcc.only_if_cached) {
    ex.slot().state.reset();
    return Decision::Respond(504, "not_cached", "only-if-cached: no stored answer");
  }
  if (p->mode == Pending::Mode::kFill && !get && !p->stale) {  // HEAD
    Note(ex, Outcome::kMiss);  // an answer to HEAD has no body to store
    if (config_.status_header) ex.response_headers.append(kMissLine);
    ex.slot().state.reset();
    return Decision::Continue();
  }
  // Request coalescing: the first miss on a key leads; the others wait for its answer.
  const bool coalesce = config_.coalesce_timeout.count() > 0 && get;
  Flights::Role role = Flights::Role::kLead;
  if (coalesce) {
    const Flights::Claim claim = flights_->Lead(p->key, hash, ex.start, Lease());
    role = claim.role;
    p->token = claim.token;
    if (role == Flights::Role::kLead) p->flights = flights_;
  }
  p->waiter = role == Flights::Role::kWait;
  // A leader asks the shared tier before the origin (a key that passes does not).
  const bool ask = p->waiter || (shared_ != nullptr && get && role == Flights::Role::kLead);
  return ask ? Decision::Await() : Decision::Continue();
}

std::optional<Decision> CacheGate::FromStored(Exchange& ex,
                                              std::shared_ptr<const CachedResponse> entry) const {
  Pending* p = PendingOf(ex);
  const std::string_view key = p->key;
  const CacheControl& rcc = p->rcc;
  const WallTime now = p->request_time;
  const http::HeaderList fields = View(entry->headers);
  const Seconds age = CurrentAge(fields, entry->request_time, entry->response_time, now);
  const bool asks_fresh = !rcc.no_cache && !rcc.invalid && !rcc.max_age;
  if (Usable(*entry, rcc, age)) {
    if (asks_fresh && EarlyRefresh(*entry, age)) AskRefresh(ex, key);
    return Serve(ex, *entry, "HIT", Outcome::kHit);
  }
  // stale-while-revalidate (RFC 5861 section 3): served at once, refreshed in the background,
  // unless the entry must be revalidated or the client asked for a check or a bound age.
  const CacheControl scc = ParseCacheControl(fields);
  const bool may_be_stale = asks_fresh && !rcc.min_fresh && !scc.must_revalidate &&
                            !scc.proxy_revalidate && !scc.no_cache && entry->lifetime.count() > 0;
  // The route's windows stand in for the origin's only where it allowed stale answers at all:
  // s-maxage implies proxy-revalidate for a shared cache (RFC 9111 section 5.2.2.10), so then
  // only the origin's own stale-while-revalidate counts.
  const Seconds swr =
      scc.s_maxage ? entry->stale_while_revalidate
                   : std::max(entry->stale_while_revalidate,
                              std::chrono::duration_cast<Seconds>(config_.stale_while_revalidate));
  if (may_be_stale && age < entry->lifetime + swr) {
    AskRefresh(ex, key);
    return Serve(ex, *entry, "STALE", Outcome::kStale);
  }
  if (rcc.only_if_cached) {  // RFC 9111 section 5.2.1.7
    return Decision::Respond(504, "not_cached", "only-if-cached: no fresh stored answer");
  }
  // Stale (or the client asks for a check): revalidate with the entry's validators, unless
  // the client brought its own conditions (then its answer is its own).
  const std::string_view etag = Field(entry->headers, "etag");
  const std::string_view modified = Field(entry->headers, "last-modified");
  if ((!etag.empty() || !modified.empty()) && !p->conditional) {
    if (!etag.empty()) ex.upstream_headers.emplace_back("If-None-Match", std::string(etag));
    if (!modified.empty()) {
      ex.upstream_headers.emplace_back("If-Modified-Since", std::string(modified));
    }
    p->mode = Pending::Mode::kRevalidate;
  }
  // Kept for the 304's merge, and for stale-if-error: an origin failure may still be answered
  // with it, unless it must be revalidated.
  p->stale_ok = !scc.must_revalidate && !scc.proxy_revalidate && !scc.no_cache;
  p->route_windows = !scc.s_maxage;
  p->stale = std::move(entry);
  return std::nullopt;
}

boost::asio::awaitable<Decision> CacheGate::OnRequestHeadersAsync(Exchange& ex) noexcept {
  Pending* p = PendingOf(ex);
  if (p == nullptr) co_return Decision::Continue();
  if (!p->waiter) co_return co_await FromShared(ex);
  const Flights::Waited waited =
      co_await flights_->Wait(std::string(p->key), config_.coalesce_timeout);
  if (waited.failed &&
      StaleIfError(*p, config_, clock_.now())) {  // the origin just failed the leader: not again
    auto stale = std::move(p->stale);
    Decision d = Serve(ex, *stale, "STALE", Outcome::kStaleIfError);
    ex.slot().state.reset();
    co_return d;
  }
  // (A waiter that asks for a minimum freshness is served from the stored entry, which knows it.)
  if (waited.fill && !ParseCacheControl(*ex.request_headers).min_fresh &&
      VaryValues(waited.fill->vary_names(), ex) == waited.fill->vary_values()) {
    // The leader's answer, as it arrives.
    auto out = std::make_shared<StoredResponse>();
    out->status = waited.fill->status();
    for (const auto& f : waited.fill->headers()) {
      if (!IEquals(f.first, "age")) out->headers.push_back(f);
    }
    // The answer's age as it arrived (an upstream cache's Age counts, RFC 9111 section 4.2.3);
    // it is read as it arrives, so no time has passed since.
    const WallTime now = clock_.now();
    out->headers.emplace_back(
        "Age", std::to_string(CurrentAge(View(waited.fill->headers()), now, now, now).count()));
    out->growing = waited.fill;
    Note(ex, Outcome::kCoalesced);
    ex.slot().state.reset();
    co_return Decision::Serve(std::move(out), kReasons[0],
                              config_.status_header ? "X-Rampart-Cache: HIT\r\n" : "");
  }
  // Either way the store is asked again: a timed-out waiter may still find the entry.
  auto entry = store_->Get(p->key, [&](const CachedResponse& e) {
    return VaryValues(e.vary_names, ex) == e.vary_values;
  });
  if (entry) {
    const CacheControl rcc = ParseCacheControl(*ex.request_headers);
    const Seconds age =
        CurrentAge(View(entry->headers), entry->request_time, entry->response_time, clock_.now());
    if (Usable(*entry, rcc, age)) {
      Decision d = Serve(ex, *entry, "HIT", Outcome::kCoalesced);
      ex.slot().state.reset();
      co_return d;
    }
  }
  // The leader's answer was not stored (not storable, failed, or slower than the wait): this
  // one goes to the origin itself, without leading (no second round of waiting).
  co_return Decision::Continue();
}

Decision CacheGate::ServeShared(Exchange& ex, std::shared_ptr<CachedResponse> e,
                                Outcome outcome) const {
  Pending* p = PendingOf(ex);
  store_->Put(p->key, e);  // here too: this instance's next requests, and its waiters, find it
  Decision d = Serve(ex, *e, "HIT", outcome);
  ex.slot().state.reset();  // lands the local flight
  return d;
}

boost::asio::awaitable<Decision> CacheGate::FromShared(Exchange& ex) {
  namespace asio = boost::asio;
  const int worker = ex.worker;
  const std::string key(PendingOf(ex)->key);
  const CacheControl rcc = ParseCacheControl(*ex.request_headers);
  const auto usable = [&](const CachedResponse& e) {
    const Seconds age = CurrentAge(View(e.headers), e.request_time, e.response_time, clock_.now());
    return VaryValues(e.vary_names, ex) == e.vary_values && Usable(e, rcc, age);
  };
  SharedTier::Found found = co_await shared_->Get(key, worker);
  if (found.entry && !Trustworthy(*found.entry)) found.entry.reset();
  if (found.entry && usable(*found.entry)) {
    co_return ServeShared(ex, std::move(found.entry), Outcome::kSharedHit);
  }
  const std::int64_t token = co_await shared_->Lock(key, worker);
  if (token > 0) {  // this instance leads: to the origin, and the answer goes to the tier
    Pending* p = PendingOf(ex);
    p->shared = shared_;
    p->shared_token = token;
    p->shared_generation = found.generation;
    p->worker = worker;
    p->executor = co_await asio::this_coro::executor;
    co_return Decision::Continue();
  }
  if (token == 0) {  // another instance fetches it: its answer lands in the tier
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto limit =
        config_.coalesce_timeout.count() > 0 ? config_.coalesce_timeout : config_.shared_lease;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      found = co_await shared_->Get(key, worker);
      if (found.entry && Trustworthy(*found.entry) && usable(*found.entry)) {
        co_return ServeShared(ex, std::move(found.entry), Outcome::kCoalesced);
      }
      const bool locked = co_await shared_->Locked(key, worker);
      if (!locked) break;  // it stored nothing usable: this one goes itself
    }
  }
  co_return Decision::Continue();  // the tier is down, or the wait ran out: to the origin
}

void CacheGate::Publish(const Exchange& ex, std::shared_ptr<const CachedResponse> e) const {
  Pending* p = PendingOf(ex);
  if (p == nullptr || !p->shared || p->shared_token <= 0) return;
  p->published = true;
  const Seconds age = CurrentAge(View(e->headers), e->request_time, e->response_time, clock_.now());
  const std::chrono::milliseconds ttl = SharedTtl(*e, age, config_);
  boost::asio::co_spawn(
      p->executor,
      [](std::shared_ptr<SharedTier> tier, std::string key, std::int64_t token,
         std::int64_t generation, std::shared_ptr<const CachedResponse> entry,
         std::chrono::milliseconds ttl, int worker,
         observe::OutcomeCounters counters) -> boost::asio::awaitable<void> {
        const state::KvStatus s = co_await tier->Put(key, token, generation, entry, ttl, worker);
        if (s == state::KvStatus::kOk) counters.Add(worker, "shared_stored");
        if (s == state::KvStatus::kExists) counters.Add(worker, "shared_fenced");
      }(p->shared, std::string(p->key), p->shared_token, p->shared_generation, std::move(e), ttl,
                                            p->worker, counters_),
      boost::asio::detached);
}

Decision CacheGate::Refresh(Exchange& ex, std::shared_ptr<const CachedResponse> entry,
                            bool authorization) const {
  Pending* p = PendingOf(ex);
  p->request_time = clock_.now();
  p->authorization = authorization;  // the client's request, copied: its rules still apply
  const Flights::Claim claim = flights_->Lead(p->key, ex.start, Lease());
  // Another refresh or fill leads (or the key's answers are not stored): nothing to do.
  if (claim.role != Flights::Role::kLead) {
    ex.slot().state.reset();
    return Decision::Drop(kReasons[4]);
  }
  p->token = claim.token;
  p->flights = flights_;
  Note(ex, Outcome::kRefresh);
  // The client's own conditions were its own: the refresh asks with the entry's, or none.
  ex.upstream_headers.emplace_back("If-None-Match", "");
  ex.upstream_headers.emplace_back("If-Modified-Since", "");
  if (entry) {
    const std::string_view etag = Field(entry->headers, "etag");
    const std::string_view modified = Field(entry->headers, "last-modified");
    if (!etag.empty()) ex.FillUpstreamHeader("If-None-Match", etag);
    if (!modified.empty()) ex.FillUpstreamHeader("If-Modified-Since", modified);
    if (!etag.empty() || !modified.empty()) {
      p->mode = Pending::Mode::kRevalidate;
      p->stale = std::move(entry);
    }
  }
  return Decision::Continue();
}

Decision CacheGate::Invalidated(Exchange& ex) {
  Pending* p = PendingOf(ex);
  const int status = ex.response.status;
  const http::HeaderList& fields = *ex.response.headers;
  if (status >= 200 && status < 400) {
    p->erase.emplace_back(p->key);
    // RFC 9111 section 4.4: the Location and Content-Location targets too, when they are on
    // the request's own scheme and authority (another host's entries are not the sender's
    // to drop).
    for (const char* name : {"location", "content-location"}) {
      std::string_view path, query;
      if (SameOriginTarget(fields.Get(name), ex, path, query)) {
        // Keyed as requests are: by the normalized path (`/products/%31%32` is /products/12).
        std::string normal;
        if (http::NormalizePath(path, normal)) path = normal;
        p->erase.push_back(KeyFor(ex, path, query));
      }
    }
    for (const auto& k : p->erase) store_->Erase(k);
    Note(ex, Outcome::kInvalidated);
    // The shared tier too: another instance's next miss would bring the old answer back.
    if (shared_) return Decision::Await();
  }
  ex.slot().state.reset();
  return Decision::Continue();
}

Decision CacheGate::Revalidated(Exchange& ex) {
  Pending* p = PendingOf(ex);
  const http::HeaderList& fields = *ex.response.headers;
  // RFC 9111 section 4.3.4: the stored entry, its fields updated from the 304's.
  auto fresh = std::make_shared<CachedResponse>(*p->stale);
  // The entry's age starts again from this exchange (and the 304's Age, if it has one).
  std::erase_if(fresh->headers, [](const auto& kv) { return IEquals(kv.first, "age"); });
  const http::ConnectionTokens listed(fields);
  for (const auto& f : fields) {
    if (!Keep(f.name, listed) || IEquals(f.name, "content-type")) continue;
    std::erase_if(fresh->headers, [&](const auto& kv) { return IEquals(kv.first, f.name); });
  }
  for (const auto& f : fields) {
    if (Keep(f.name, listed) && !IEquals(f.name, "content-type")) {
      fresh->headers.emplace_back(std::string(f.name), std::string(f.value));
    }
  }
  fresh->request_time = p->request_time;
  fresh->response_time = clock_.now();
  const http::HeaderList merged = View(fresh->headers);
  const CacheControl cc = ParseCacheControl(merged);
  fresh->lifetime = cc.no_cache ? Seconds(0) : FreshnessLifetime(cc, merged, fresh->response_time);
  bool star = false;
  VaryNames(merged, star);
  if (cc.no_store || cc.is_private || cc.invalid || star) {
    store_->Erase(p->key);  // the origin no longer lets a shared cache keep it
  } else {
    store_->Put(p->key, fresh);
    Publish(ex, fresh);
  }
  ex.slot().state.reset();
  return Serve(ex, *fresh, "REVALIDATED", Outcome::kRevalidated);
}

Decision CacheGate::Admit(Exchange& ex, const CacheControl& scc, bool negative,
                          std::vector<std::string> vary) {
  Pending* p = PendingOf(ex);
  const int status = ex.response.status;
  const http::HeaderList& fields = *ex.response.headers;
  auto e = std::make_unique<CachedResponse>();
  e->status = status;
  const http::ConnectionTokens listed(fields);
  for (const auto& f : fields) {
    if (Keep(f.name, listed)) e->headers.emplace_back(std::string(f.name), std::string(f.value));
  }
  e->request_time = p->request_time;
  e->response_time = clock_.now();
  // A response's no-cache: stored, but revalidated before every use (section 5.2.2.4).
  e->lifetime = scc.no_cache ? Seconds(0) : FreshnessLifetime(scc, fields, e->response_time);
  if (negative && e->lifetime.count() == 0 && !scc.no_cache) {
    e->lifetime = std::chrono::duration_cast<Seconds>(config_.negative_ttl);
  }
  e->lifetime = JitteredLifetime(e->lifetime, config_.ttl_jitter * 100, clock_.random());
  if (scc.stale_while_revalidate) e->stale_while_revalidate = Seconds(*scc.stale_while_revalidate);
  if (scc.stale_if_error) e->stale_if_error = Seconds(*scc.stale_if_error);
  e->vary_values = VaryValues(vary, ex);
  e->vary_names = std::move(vary);
  if (!config_.tag_header.empty()) {
    for (const auto& f : fields) {
      if (!IEquals(f.name, config_.tag_header)) continue;
      for (std::string_view rest = f.value; !rest.empty();) {
        const auto sp = rest.find(' ');
        if (sp != 0) e->tags.emplace_back(rest.substr(0, sp));
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp + 1);
      }
    }
  }
  p->mode = Pending::Mode::kFill;
  // Waiters on the key read the answer as it arrives when its length is known to fit, and when
  // it is fresh: an answer an upstream cache already held past its lifetime (its Age) is stored
  // for revalidation but shared with no one (RFC 9111 section 4.2.3); waiters then ask the
  // origin themselves.
  // The age is worked out (Age and Date parsed) only for a key that leads a flight.
  const std::optional<std::uint64_t> length = DeclaredLength(fields);
  if (p->flights && p->token != 0 && length && *length <= config_.max_entry && ex.method == "GET" &&
      CurrentAge(fields, e->request_time, e->response_time, e->response_time) < e->lifetime) {
    p->stream = std::make_shared<Fill>(status, e->headers, *length, e->vary_names, e->vary_values,
                                       kFillWait);
    flights_->Offer(p->key, p->token, p->stream);
  }
  p->fill = std::move(e);
  return Decision::Continue();
}

Decision CacheGate::OnResponseHeaders(Exchange& ex) noexcept {
  Pending* p = PendingOf(ex);
  if (p == nullptr) return Decision::Continue();
  // stale-if-error (RFC 5861 section 4): a stale entry within its window answers instead.
  if (p->mode != Pending::Mode::kInvalidate && OriginFailed(ex.response)) {
    p->origin_failed = true;  // its waiters answer with their own stale entries, or go on
    if (!ex.background && StaleIfError(*p, config_, clock_.now())) {
      auto stale = std::move(p->stale);
      ex.slot().state.reset();  // lands the flight
      return Serve(ex, *stale, "STALE", Outcome::kStaleIfError);
    }
  }
  if (!ex.response.from_origin()) return Decision::Continue();
  const int status = ex.response.status;
  const http::HeaderList& fields = *ex.response.headers;
  if (p->mode == Pending::Mode::kInvalidate) return Invalidated(ex);
  if (p->mode == Pending::Mode::kRevalidate && status == 304) return Revalidated(ex);
  // A fresh answer: stored if RFC 9111 section 3 and the route's rules allow.
  if (!ex.background) Note(ex, Outcome::kMiss);  // a refresh was counted as one
  if (config_.status_header) ex.response_headers.append(kMissLine);
  const CacheControl scc = ParseCacheControl(fields);
  StoreQuestion q{ex.method, status, &p->rcc, &scc, &fields, p->authorization};
  bool star = false;
  Storability storable = CanStore(q);
  // Negative caching: an answer that something does not exist, without freshness of its own.
  const bool negative =
      config_.negative_ttl.count() > 0 &&
      (storable == Storability::kNoLifetime || storable == Storability::kStatus) &&
      std::find(config_.negative_statuses.begin(), config_.negative_statuses.end(), status) !=
          config_.negative_statuses.end() &&
      !scc.invalid;
  if (negative) storable = Storability::kStorable;
  std::vector<std::string> vary;
  if (storable == Storability::kStorable) vary = VaryNames(fields, star);
  if (storable != Storability::kStorable || star ||
      (fields.Has("set-cookie") && !config_.cache_cookies)) {
    Note(ex, Outcome::kNotStored);
    p->pass_until = PassUntil(*p, ex, config_);  // its next misses go straight to the origin
    ex.slot().state.reset();
    return Decision::Continue();
  }
  return Admit(ex, scc, negative, std::move(vary));
}

boost::asio::awaitable<Decision> CacheGate::OnResponseHeadersAsync(Exchange& ex) noexcept {
  Pending* p = PendingOf(ex);
  if (p != nullptr && shared_) {
    const std::vector<std::string> keys = std::move(p->erase);
    for (const auto& k : keys) co_await shared_->Erase(k, ex.worker);
  }
  ex.slot().state.reset();
  co_return Decision::Continue();
}

void CacheGate::OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept {
  Pending* p = PendingOf(ex);
  if (p != nullptr && p->stream) p->stream->Append(piece);
  if (p == nullptr || !p->fill || p->too_large) return;
  if (p->fill->body.size() + piece.size() > config_.max_entry) {
    p->too_large = true;
    std::string().swap(p->fill->body);
    return;
  }
  p->fill->body.append(piece);
  if (end) p->body_end = true;
}

void CacheGate::OnComplete(const Exchange& ex, const Completion& /*c*/) noexcept {
  Pending* p = PendingOf(ex);
  if (p == nullptr || !p->fill) return;
  if (p->too_large) p->pass_until = PassUntil(*p, ex, config_);
  // Only an answer the origin sent whole is stored, and given whole to the waiters reading it:
  // the leader's client leaving mid-answer does not cut it (the driver reads the rest for the
  // taps), a truncated or replaced answer never ends its body.
  const bool whole = p->body_end && !p->too_large;
  if (p->stream) {
    p->stream->End(whole);
    p->stream.reset();
  }
  // What the client got: fields the route or a gate removed are not stored either.
  const config::HeaderRules* rules = ex.route != nullptr && ex.route->config != nullptr
                                         ? &ex.route->config->response_headers
                                         : nullptr;
  std::erase_if(p->fill->headers, [&](const auto& f) {
    return http::RemovedFromResponse(f.first, rules, &ex.response_remove);
  });
  std::shared_ptr<const CachedResponse> entry(std::move(p->fill));
  counters_.AddAt(ex.worker, static_cast<std::size_t>(whole && store_->Put(p->key, entry)
                                                          ? Outcome::kStored
                                                          : Outcome::kNotStored));
  // To the shared tier too (even when this store's admission refused it: others may want it).
  if (whole) Publish(ex, std::move(entry));
}

std::unique_ptr<Gate> MakeCacheGate(const YAML::Node& settings, GateContext& ctx) {
  CacheConfig c;
  if (!CacheFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  // One store per zone for the process, shared by every worker and route naming it, kept
  // across reloads while its bound stays the same.
  const std::string identity = fmt::format("cache:{}:{}", c.zone, c.max_bytes);
  const std::string zone = c.zone;
  auto store = ctx.stores.Local<CacheStore>(
      identity, [&] { return std::make_shared<CacheStore>(c.max_bytes); },
      {{"rampart_cache_bytes", "gauge", "Bytes a cache zone holds."},
       {"rampart_cache_entries", "gauge", "Entries a cache zone holds."},
       {"rampart_cache_evictions_total", "counter", "Entries a cache zone evicted for room."}},
      [zone](std::weak_ptr<CacheStore> weak) -> state::Stores::Render {
        return [weak, zone](std::string& out, std::string_view family) {
          auto s = weak.lock();
          if (!s) return;
          const std::string z = observe::EscapeLabelValue(zone);
          if (family == "rampart_cache_bytes") {
            out += fmt::format("rampart_cache_bytes{{zone=\"{}\"}} {}\n", z, s->bytes());
          } else if (family == "rampart_cache_entries") {
            out += fmt::format("rampart_cache_entries{{zone=\"{}\"}} {}\n", z, s->entries());
          } else if (family == "rampart_cache_evictions_total") {
            out +=
                fmt::format("rampart_cache_evictions_total{{zone=\"{}\"}} {}\n", z, s->evictions());
          }
        };
      });
  std::shared_ptr<SharedTier> shared;
  if (c.shared) {
    state::KvSpec spec;
    spec.name = "cache." + zone;  // one namespace per zone: zones never share entries
    spec.shared = true;
    spec.on_failure = state::KvOnFailure::kFail;  // unavailable reads as a miss
    std::string error;
    auto kv = ctx.stores.Kv(spec, ctx.config.state, &error);
    if (!kv) {
      ctx.reader.Error(settings, fmt::format("{}.shared: {}", ctx.where, error));
      return nullptr;
    }
    shared = std::make_shared<SharedTier>(
        std::move(kv), c.shared_max_entry,
        std::chrono::duration_cast<std::chrono::milliseconds>(c.shared_lease));
  }
  AddPurgeEndpoint(ctx.admin, zone, store, shared);
  // The zone's keys in flight, shared by its routes and workers like its store.
  auto flights = ctx.stores.Local<Flights>("cache-flights:" + zone,
                                           [] { return std::make_shared<Flights>(); });
  static constexpr observe::CounterDef<2> kRequests{
      "rampart_cache_requests_total", "cache gate outcomes, by route.", {"route", "outcome"}};
  return std::make_unique<CacheGate>(
      std::move(c), std::move(store), std::move(flights), std::move(shared),
      observe::OutcomeCounters(ctx.metrics, kRequests, ctx.route.name, kOutcomes));
}

}  // namespace rampart::cache
