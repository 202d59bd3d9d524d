#include "gates/authz/authz_gate.h"

#include <ctime>

#include "core/strings.h"
#include "net/tls/server_tls.h"

namespace rampart::authz {

namespace {

constexpr std::string_view kReasons[] = {"forbidden"};
constexpr std::string_view kWhat[] = {"allow", "deny", "shadow_allow", "shadow_deny"};
constexpr std::string_view kDefault = "(default)";

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

AuthzGate::AuthzGate(Policy policy, std::vector<observe::CounterSeries*> counters,
                     WallSeconds clock)
    : policy_(std::move(policy)), counters_(std::move(counters)), clock_(clock) {}

std::span<const std::string_view> AuthzGate::Reasons() const noexcept { return kReasons; }

void AuthzGate::Count(const Exchange& ex, const Rule* rule, int what) const noexcept {
  const std::size_t index = rule == nullptr ? policy_.rules.size()
                                            : static_cast<std::size_t>(rule - policy_.rules.data());
  const std::size_t slot = index * 4 + static_cast<std::size_t>(what);
  if (slot < counters_.size() && counters_[slot] != nullptr) counters_[slot]->Add(ex.worker);
}

namespace {

// Calls fn(METHOD) for each method an override names, upper-cased as the frameworks that honour
// them do: the X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override fields (and their '_'
// spellings, which CGI-style origins read alike) and a `_method` query parameter; each element
// of a list (Express takes the first, others the whole value). An element that is not a method
// token (letters only) is passed as it is, and no rule allows it.
template <typename Fn>
void ForEachMethodOverride(const Exchange& ex, std::string& buf, Fn&& fn) {
  auto each = [&](std::string_view value) {
    ForEachListToken(value, [&](std::string_view token) {
      buf = ToUpper(token);
      fn(std::string_view(buf));
    });
  };
  if (ex.request_headers != nullptr) {
    for (const auto& f : *ex.request_headers) {
      if (SameFieldForCgi(f.name, "x-http-method-override") ||
          SameFieldForCgi(f.name, "x-http-method") ||
          SameFieldForCgi(f.name, "x-method-override")) {
        each(f.value);
      }
    }
  }
  std::string decoded;
  ForEachPair(ex.query, '&', [&](std::string_view n, std::string_view v) {
    if (QueryNameIs(n, "_method")) {
      PercentDecode(v, decoded);
      each(decoded);
    }
    return true;
  });
}

bool IsMethodToken(std::string_view m) noexcept {
  if (m.empty()) return false;
  for (const char c : m) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

Decision AuthzGate::OnRequestHeaders(Exchange& ex) noexcept {
  Input in;
  in.principal = ex.identity.principal;
  in.auth_method = ex.identity.method;
  in.roles = &ex.identity.roles();
  in.scopes = &ex.identity.scopes();
  in.attributes = &ex.identity.attributes();
  in.method = ex.method;
  std::string path;
  if (!NormalizePath(ex.path, path)) {
    Count(ex, nullptr, 1);
    ex.notes.push_back({"authz", "forbidden", "(path)"});
    return Decision::Respond(403, "forbidden", "the path hides a separator or is badly encoded");
  }
  in.path = path;
  in.client = ex.client_address;
  if (ex.peer != nullptr && ex.peer->verified) {
    in.mtls = true;
    in.spiffe_id = ex.peer->spiffe_id;
    in.trust_domain = ex.peer->TrustDomain();
    in.subject = ex.peer->subject;
  }
  in.now = clock_();
  Outcome out = Evaluate(policy_, in);
  // A method override (X-HTTP-Method-Override: DELETE on a POST, `_method=DELETE`) is the method
  // Express, Laravel, Symfony and Rails origins run: the request must be allowed as that method
  // too, or the override would carry a forbidden DELETE past a rule that names DELETE.
  if (out.verdict == Verdict::kAllow) {
    std::string overridden;
    ForEachMethodOverride(ex, overridden, [&](std::string_view m) {
      if (m == in.method || out.verdict != Verdict::kAllow) return;
      if (!IsMethodToken(m)) {  // "DELETE;x", "DEL ETE": no framework's method, no rule's
        out.verdict = Verdict::kDeny;
        out.rule = nullptr;
        return;
      }
      Input as = in;
      as.method = m;
      Outcome o = Evaluate(policy_, as);
      if (o.verdict != Verdict::kAllow) out = std::move(o);
    });
  }
  for (const auto& [rule, verdict] : out.shadowed) {
    const bool allow = verdict == Verdict::kAllow;
    Count(ex, rule, allow ? 2 : 3);
    ex.notes.push_back({"authz", allow ? "shadow:allow" : "shadow:deny", rule->name});
  }
  const bool allow = out.verdict == Verdict::kAllow;
  Count(ex, out.rule, allow ? 0 : 1);
  const std::string_view rule = out.rule ? std::string_view(out.rule->name) : kDefault;
  ex.notes.push_back({"authz", allow ? "allow" : "forbidden", rule});
  if (allow) return Decision::Continue();
  return Decision::Respond(403, "forbidden", "the principal may not do this");
}

std::unique_ptr<Gate> MakeAuthzGate(const YAML::Node& settings, GateContext& ctx) {
  Policy policy;
  if (!ReadPolicy(ctx.reader, settings, ctx.where, policy)) return nullptr;
  static constexpr observe::CounterDef<3> kDecisions{
      "rampart_authz_decisions_total",
      "authz gate decisions by route, deciding rule ((default) when none did) and decision.",
      {"route", "rule", "decision"}};
  std::vector<observe::CounterSeries*> counters;
  auto add = [&](std::string_view rule) {
    for (std::string_view w : kWhat) {
      counters.push_back(ctx.metrics.Counter(kDecisions, {ctx.route.name, rule, w}));
    }
  };
  for (const Rule& r : policy.rules) add(r.name);
  add(kDefault);
  return std::make_unique<AuthzGate>(std::move(policy), std::move(counters), Now);
}

}  // namespace rampart::authz
