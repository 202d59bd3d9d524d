#include "gates/session/session_gate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <chrono>

#include "core/secrets.h"
#include "core/strings.h"
#include "gates/session/session_admin.h"
#include "state/stores.h"

namespace rampart::session {

namespace asio = boost::asio;
using state::KvStatus;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kOutcomes[] = {"pass",
                                          "anonymous",
                                          "login",
                                          "logout",
                                          "missing_session",
                                          "invalid_session",
                                          "expired_session",
                                          "revoked_session",
                                          "malformed",
                                          "store_unavailable",
                                          "bad_login"};
constexpr std::size_t kFirstReason = 4;

// What the request phase found, for the response phase (rotation and logout).
struct SessionState final : GateState {
  std::string key;  // the store key of the session the request came with, if valid
};

bool PrincipalSafe(std::string_view p) {
  if (p.empty() || p.size() > 256) return false;
  for (char c : p) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::vector<std::string> Split(std::string_view v) {
  std::vector<std::string> out;
  ForEachListToken(v, [&](std::string_view t) {
    // A space-separated list (OAuth scopes) inside a comma-separated one.
    while (!t.empty()) {
      const std::size_t sp = t.find(' ');
      if (sp != 0) out.emplace_back(t.substr(0, sp));
      if (sp == std::string_view::npos) break;
      t.remove_prefix(sp + 1);
    }
  });
  return out;
}

}  // namespace

std::int64_t SystemMillis() noexcept {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SessionGate::SessionGate(SessionConfig config, std::shared_ptr<state::KvStore> store,
                         observe::OutcomeCounters counters, WallMillis clock)
    : config_(std::move(config)),
      store_(std::move(store)),
      counters_(std::move(counters)),
      clock_(clock) {}

std::span<const std::string_view> SessionGate::Reasons() const noexcept {
  return std::span<const std::string_view>(kOutcomes).subspan(kFirstReason);
}

void SessionGate::Count(const Exchange& ex, std::string_view outcome) const noexcept {
  counters_.Add(ex.worker, outcome);
}

std::string SessionGate::CookieLine(std::string_view id) const {
  std::string line = fmt::format("Set-Cookie: {}={}; Path={}", config_.cookie, id, config_.path);
  if (!config_.domain.empty()) line += "; Domain=" + config_.domain;
  line += fmt::format("; Max-Age={}",
                      id.empty() ? 0 : static_cast<long long>(config_.absolute_timeout.count()));
  line += "; HttpOnly";
  if (config_.secure) line += "; Secure";
  line += config_.same_site == SameSite::kLax      ? "; SameSite=Lax"
          : config_.same_site == SameSite::kStrict ? "; SameSite=Strict"
                                                   : "; SameSite=None";
  return line + "\r\n";
}

std::chrono::milliseconds SessionGate::Ttl(const Record& r, std::int64_t now) const noexcept {
  const std::int64_t left =
      r.created + std::chrono::duration_cast<milliseconds>(config_.absolute_timeout).count() - now;
  return milliseconds(std::max<std::int64_t>(
      1, std::min<std::int64_t>(left, duration_cast<milliseconds>(config_.idle_timeout).count())));
}

std::string_view SessionGate::SessionId(const Exchange& ex, int& seen) const noexcept {
  std::string_view id;
  seen = 0;
  for (const auto& f : *ex.request_headers) {
    if (!IEquals(f.name, "cookie")) continue;
    ForEachPair(f.value, ';', [&](std::string_view n, std::string_view v) {
      if (n == config_.cookie) {
        ++seen;
        id = v;
      }
      return true;
    });
  }
  return id;
}

Decision SessionGate::Refuse(Exchange& ex, std::string_view reason) const {
  Count(ex, reason);
  ex.notes.push_back({"session", reason, {}});
  if (reason == "store_unavailable") {
    return Decision::Respond(503, reason, "the session cannot be checked right now");
  }
  // A cookie that names no session is cleared, so the browser stops sending it. Two session
  // cookies are not: one of them may be a sibling domain's planted copy (cookie tossing), and
  // clearing would delete the user's real one while the planted one stays.
  const bool clear = reason != "missing_session" && reason != "malformed";
  return Decision::Respond(401, reason,
                           reason == "missing_session" ? "a session is required"
                                                       : "the session is not valid; log in again",
                           clear ? CookieLine({}) : std::string());
}

Decision SessionGate::OnRequestHeaders(Exchange& ex) noexcept {
  if (!config_.forward_header.empty()) ex.upstream_headers.emplace_back(config_.forward_header, "");
  // The login and logout headers are the upstream's words to rampart: a client's never arrive.
  for (const std::string* h : {&config_.login_header, &config_.roles_header, &config_.scopes_header,
                               &config_.logout_header}) {
    if (!h->empty()) ex.upstream_headers.emplace_back(*h, "");
  }
  int seen = 0;
  const std::string_view id = SessionId(ex, seen);
  if (seen > 0) {
    // The session cookie is rampart's: the upstream gets the other cookies only (RFC 9113
    // §8.2.3 joins HTTP/2's cookie fields the same way).
    std::string rest;
    for (const auto& f : *ex.request_headers) {
      if (!IEquals(f.name, "cookie")) continue;
      ForEachPair(f.value, ';', [&](std::string_view n, std::string_view v) {
        if (n == config_.cookie) return true;
        if (!rest.empty()) rest += "; ";
        const char* end = v.data() != nullptr ? v.data() + v.size() : n.data() + n.size();
        rest.append(n.data(), static_cast<std::size_t>(end - n.data()));
        return true;
      });
    }
    ex.upstream_headers.emplace_back("cookie", std::move(rest));
  }
  if (seen > 1) return Refuse(ex, "malformed");  // which one would the origin believe?
  if (seen == 0) {
    if (config_.allow_anonymous) {
      Count(ex, "anonymous");
      return Decision::Continue();
    }
    return Refuse(ex, "missing_session");
  }
  if (!WellFormedId(id)) return Refuse(ex, "invalid_session");
  return Decision::Await();
}

asio::awaitable<Decision> SessionGate::OnRequestHeadersAsync(Exchange& ex) noexcept {
  int seen = 0;
  const std::string_view cookie = SessionId(ex, seen);
  const std::string key = SessionKey(cookie);
  // The session and its principal's cut-off, in one round trip.
  const std::array<state::KvResult, 2> got =
      co_await store_->GetTwo(key, CutoffKey(cookie), ex.worker);
  if (got[0].status == KvStatus::kUnavailable || got[1].status == KvStatus::kUnavailable) {
    if (config_.on_store_failure == StoreFailure::kAllow) {
      Count(ex, "anonymous");
      co_return Decision::Continue();
    }
    co_return Refuse(ex, "store_unavailable");
  }
  Record r;
  // A cookie whose tag is not its session's principal's (one edited to dodge a cut-off) is none.
  if (got[0].status != KvStatus::kOk || !Decode(got[0].value, r) ||
      cookie.substr(44) != PrincipalTag(r.principal)) {
    co_return Refuse(ex, "invalid_session");
  }
  const std::int64_t now = clock_();
  if (now >=
      r.created + std::chrono::duration_cast<milliseconds>(config_.absolute_timeout).count()) {
    const KvStatus gone = co_await store_->Delete(key, ex.worker);
    (void)gone;
    co_return Refuse(ex, "expired_session");
  }
  if (got[1].status == KvStatus::kOk) {
    std::int64_t before = 0;
    std::from_chars(got[1].value.data(), got[1].value.data() + got[1].value.size(), before);
    if (r.created <= before) {
      const KvStatus gone = co_await store_->Delete(key, ex.worker);
      (void)gone;
      co_return Refuse(ex, "revoked_session");
    }
  }
  // The idle timeout is the record's TTL; it is pushed back at most every tenth of it.
  const std::int64_t touch =
      std::max<std::int64_t>(1000, duration_cast<milliseconds>(config_.idle_timeout).count() / 10);
  if (now - r.last >= touch) {
    r.last = now;
    // Only while it is there: a logout or revocation meanwhile is not undone.
    const KvStatus set = co_await store_->SetIfPresent(key, Encode(r), Ttl(r, now), ex.worker);
    if (set == KvStatus::kNotFound) co_return Refuse(ex, "invalid_session");
    if (set != KvStatus::kOk) spdlog::warn("session: could not extend a session's idle timeout");
  }
  auto st = std::make_unique<SessionState>();
  st->key = key;
  ex.slot().state = std::move(st);
  Count(ex, "pass");
  ex.notes.push_back({"session", "pass", {}});
  if (ex.identity.principal.empty()) {
    // The forwarded principal is the one later gates decide on: only when this gate set it.
    if (!config_.forward_header.empty()) ex.FillUpstreamHeader(config_.forward_header, r.principal);
    ex.identity.principal = std::move(r.principal);
    ex.identity.method = "session";
    auto grants = std::make_shared<Grants>();
    grants->roles = std::move(r.roles);
    grants->scopes = std::move(r.scopes);
    ex.identity.grants = std::move(grants);
  }
  co_return Decision::Continue();
}

Decision SessionGate::OnResponseHeaders(Exchange& ex) noexcept {
  if (!ex.response.from_origin()) return Decision::Continue();
  // Only the origin may speak these headers, and only to rampart.
  bool act = false;
  for (const std::string* h : {&config_.login_header, &config_.roles_header, &config_.scopes_header,
                               &config_.logout_header}) {
    if (h->empty() || !ex.response.headers->Has(*h)) continue;
    ex.response_remove.push_back(*h);
    if ((h == &config_.login_header && config_.login) || h == &config_.logout_header) act = true;
  }
  return act ? Decision::Await() : Decision::Continue();
}

asio::awaitable<Decision> SessionGate::OnResponseHeadersAsync(Exchange& ex) noexcept {
  const http::HeaderList& h = *ex.response.headers;
  const auto* st = dynamic_cast<const SessionState*>(ex.slot().state.get());
  // Logout, and rotation on login: the session the request came with ends.
  if (st != nullptr) {
    const KvStatus gone = co_await store_->Delete(st->key, ex.worker);
    (void)gone;
  }
  bool login = false;
  const std::string_view principal = TrimOws(h.Get(config_.login_header, &login));
  login = login && config_.login;
  if (!login) {
    Count(ex, "logout");
    ex.notes.push_back({"session", "logout", {}});
    ex.response_headers += CookieLine({});
    co_return Decision::Continue();
  }
  if (!PrincipalSafe(principal)) {
    Count(ex, "bad_login");
    spdlog::warn("session: the login upstream named no usable principal");
    co_return Decision::Respond(502, "bad_login", "the login service gave no principal");
  }
  Record r;
  r.principal.assign(principal);
  r.roles = Split(h.Get(config_.roles_header));
  r.scopes = Split(h.Get(config_.scopes_header));
  r.created = r.last = clock_();
  const std::string secret = RandomToken(32);  // 256 bits from the CSPRNG
  const std::string id = secret.size() == 43 ? secret + "." + PrincipalTag(r.principal) : "";
  KvStatus set = KvStatus::kUnavailable;  // no co_await inside ?: (GCC 12)
  if (!id.empty()) {
    set = co_await store_->SetIfAbsent(SessionKey(id), Encode(r), Ttl(r, r.created), ex.worker);
  }
  if (set != KvStatus::kOk) {
    Count(ex, "store_unavailable");
    co_return Decision::Respond(503, "store_unavailable", "the session could not be stored");
  }
  Count(ex, "login");
  ex.notes.push_back({"session", "login", {}});
  ex.response_headers += CookieLine(id);
  co_return Decision::Continue();
}

std::unique_ptr<Gate> MakeSessionGate(const YAML::Node& settings, GateContext& ctx) {
  SessionConfig c;
  if (!SessionFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  state::KvSpec spec;
  spec.name = "sessions";
  spec.shared = c.store_shared;
  spec.on_failure = state::KvFailureFor(c.on_store_failure);
  std::string error;
  auto store = ctx.stores.Kv(spec, ctx.config.state, &error);
  if (!store) {
    ctx.reader.Error(settings, fmt::format("{}.store: {}", ctx.where, error));
    return nullptr;
  }
  ctx.admin.Add("/admin/sessions/revoke", spec.shared ? "redis" : "local",
                RevokeEndpoint(store, c.absolute_timeout, SystemMillis), /*broadcast=*/true);
  static constexpr observe::CounterDef<2> kRequests{"rampart_session_requests_total",
                                                    "session gate decisions, by route and outcome.",
                                                    {"route", "outcome"}};
  observe::OutcomeCounters counters(ctx.metrics, kRequests, ctx.route.name, kOutcomes);
  return std::make_unique<SessionGate>(std::move(c), std::move(store), std::move(counters),
                                       SystemMillis);
}

}  // namespace rampart::session
