#include "gates/authz/rules.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/strings.h"

namespace rampart::authz {

using config::YamlObject;
using config::YamlReader;

namespace {

constexpr int kMaxDepth = 16;  // nesting of all/any/not

bool Has(const std::vector<std::string>* list, std::string_view v) noexcept {
  return list != nullptr && std::find(list->begin(), list->end(), v) != list->end();
}

bool Grants(const std::vector<std::string>& perms, std::string_view want) noexcept {
  return std::any_of(perms.begin(), perms.end(), [&](const std::string& p) {
    if (!p.empty() && p.back() == '*') {
      return want.starts_with(std::string_view(p).substr(0, p.size() - 1));
    }
    return p == want;
  });
}

bool HasPermission(const Input& in, const RoleMap& roles, std::string_view want) noexcept {
  if (in.roles == nullptr) return false;
  for (const std::string& role : *in.roles) {
    auto it = roles.find(role);
    if (it != roles.end() && Grants(it->second, want)) return true;
  }
  return false;
}

}  // namespace

bool Match::Test(std::string_view v) const noexcept {
  if (present) return true;
  if (std::find(values.begin(), values.end(), v) != values.end()) return true;
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return v.starts_with(p); });
}

bool Condition::Eval(const Input& in, const RoleMap& roles) const noexcept {
  switch (kind) {
    case Kind::kAll:
      return std::all_of(children.begin(), children.end(),
                         [&](const Condition& c) { return c.Eval(in, roles); });
    case Kind::kAny:
      return std::any_of(children.begin(), children.end(),
                         [&](const Condition& c) { return c.Eval(in, roles); });
    case Kind::kNot:
      return !children.front().Eval(in, roles);
    case Kind::kAuthenticated:
      return in.principal.empty() != flag;
    case Kind::kAuthMethod:
      return std::find(list.begin(), list.end(), in.auth_method) != list.end();
    case Kind::kPrincipal:
      return !in.principal.empty() && match.Test(in.principal);
    case Kind::kRoles:  // any of
      return std::any_of(list.begin(), list.end(),
                         [&](const std::string& r) { return Has(in.roles, r); });
    case Kind::kScopes:  // all of
      return std::all_of(list.begin(), list.end(),
                         [&](const std::string& s) { return Has(in.scopes, s); });
    case Kind::kPermissions:  // all of
      return std::all_of(list.begin(), list.end(),
                         [&](const std::string& p) { return HasPermission(in, roles, p); });
    case Kind::kClaim: {
      if (in.attributes == nullptr) return false;
      // An array claim has one attribute per item: any item may match.
      for (const auto& [k, v] : *in.attributes) {
        if (k.size() == name.size() + 6 && k.starts_with("claim.") &&
            std::string_view(k).substr(6) == name && match.Test(v)) {
          return true;
        }
      }
      return false;
    }
    case Kind::kClientIp:
      return cidrs.Contains(in.client);
    case Kind::kMtls:
      if (!in.mtls) return false;
      if (match.values.empty() && trust_domains.values.empty() && subjects.values.empty()) {
        return true;  // any verified certificate
      }
      return (!in.spiffe_id.empty() && match.Test(in.spiffe_id)) ||
             (!in.trust_domain.empty() && trust_domains.Test(in.trust_domain)) ||
             (!in.subject.empty() && subjects.Test(in.subject));
    case Kind::kMethod:
      return std::find(list.begin(), list.end(), in.method) != list.end();
    case Kind::kPath:
      return match.Test(in.path);
    case Kind::kTime: {
      // Floor division: a time before 1970 (a test clock) still lands on the right day.
      const std::int64_t local = in.now + std::int64_t{offset_minutes} * 60;
      const std::int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
      const int minute = static_cast<int>((local - day * 86400) / 60);
      const int weekday = static_cast<int>(((day % 7) + 7 + 3) % 7);  // 1970-01-01: Thursday
      auto day_ok = [&](int d) { return (days & (1u << ((d + 7) % 7))) != 0; };
      if (from < to) return day_ok(weekday) && minute >= from && minute < to;
      // A window past midnight (fri 22:00-02:00): the early hours belong to the day before.
      return (day_ok(weekday) && minute >= from) || (day_ok(weekday - 1) && minute < to);
    }
  }
  return false;
}

bool Rule::Applies(const Input& in) const noexcept {
  if (!methods.empty() && std::find(methods.begin(), methods.end(), in.method) == methods.end()) {
    return false;
  }
  if (paths.empty()) return true;
  return std::any_of(paths.begin(), paths.end(), [&](const std::string& p) {
    if (p.back() == '*') return in.path.starts_with(std::string_view(p).substr(0, p.size() - 1));
    if (p.back() == '/') return in.path.starts_with(p);
    return in.path == p;
  });
}

bool NormalizePath(std::string_view raw, std::string& out) {
  out.clear();
  std::vector<std::string> segments;
  std::string seg;
  auto finish = [&](bool last) {
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    } else if (last && !segments.empty() && seg.empty()) {
      segments.emplace_back();  // a trailing slash stays
    }
    seg.clear();
  };
  bool params = false;  // inside a ";..." of this segment
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '/') {
      finish(false);
      params = false;
      continue;
    }
    if (c == '\\' || c == '\0') return false;
    if (c == '%') {
      const int escaped = EscapedByteAt(raw, i);
      if (escaped < 0) return false;
      c = static_cast<char>(escaped);
      i += 2;
      if (c == '/' || c == '\\' || c == '\0') return false;
    } else if (c == ';') {
      params = true;
    }
    if (!params) seg.push_back(c);
  }
  finish(true);
  for (const std::string& s : segments) out += "/" + s;
  if (out.empty()) out = "/";
  return true;
}

Outcome Evaluate(const Policy& p, const Input& in) {
  Outcome out;
  out.verdict = p.default_allow ? Verdict::kAllow : Verdict::kDeny;
  std::vector<std::pair<const Rule*, Verdict>> shadow;
  for (const Rule& r : p.rules) {
    if (!r.Applies(in)) continue;
    bool decides = true;
    Verdict v = Verdict::kAllow;
    switch (r.effect) {
      case Rule::Effect::kAllow:
        break;
      case Rule::Effect::kRequire:
        v = r.condition->Eval(in, p.roles) ? Verdict::kAllow : Verdict::kDeny;
        break;
      case Rule::Effect::kDenyIf:
        decides = r.condition->Eval(in, p.roles);
        v = Verdict::kDeny;
        break;
    }
    if (!decides) continue;
    if (r.shadow) {
      shadow.emplace_back(&r, v);
      continue;
    }
    out.verdict = v;
    out.rule = &r;
    break;
  }
  for (const auto& s : shadow) {
    if (s.second != out.verdict) out.shadowed.push_back(s);
  }
  return out;
}

// --- reading -------------------------------------------------------------------------------

namespace {

// equals, in, prefix or present (exactly one) from an object being read.
bool ReadMatchKeys(YamlReader& r, YamlObject& o, const std::string& path, Match& m) {
  bool ok = true;
  int set = 0;
  if (auto x = o.Get("equals"); x.IsDefined()) {
    std::string v;
    ok = r.String(x, o.Where("equals"), v) && ok;
    m.values.push_back(v);
    ++set;
  }
  if (auto x = o.Get("in"); x.IsDefined()) {
    ok = r.StringList(x, o.Where("in"), m.values) && ok;
    ++set;
  }
  if (auto x = o.Get("prefix"); x.IsDefined()) {
    ok = r.StringList(x, o.Where("prefix"), m.prefixes) && ok;
    ++set;
  }
  if (auto x = o.Get("present"); x.IsDefined()) {
    ok = r.Bool(x, o.Where("present"), m.present) && ok;
    if (ok && !m.present) {
      r.Error(x,
              fmt::format("{}: only 'present: true' (use not: for absence)", o.Where("present")));
      ok = false;
    }
    ++set;
  }
  if (ok && set != 1) {
    r.Error(o.node(), fmt::format("{}: exactly one of equals, in, prefix or present", path));
    return false;
  }
  return ok;
}

// A list of values, or an object with one test.
bool ReadMatch(YamlReader& r, const YAML::Node& n, const std::string& path, Match& m) {
  if (n.IsScalar() || n.IsSequence()) return r.StringList(n, path, m.values);
  YamlObject o(r, n, path);
  if (!o.ok()) return false;
  const bool ok = ReadMatchKeys(r, o, path, m);
  o.Finish();
  return ok;
}

bool ReadMinutes(YamlReader& r, const YAML::Node& n, const std::string& path, int& out) {
  std::string s;
  if (!r.String(n, path, s)) return false;
  int h = 0, m = 0;
  if (s.size() == 5 && s[2] == ':' && std::isdigit(static_cast<unsigned char>(s[0])) &&
      std::isdigit(static_cast<unsigned char>(s[1])) &&
      std::isdigit(static_cast<unsigned char>(s[3])) &&
      std::isdigit(static_cast<unsigned char>(s[4]))) {
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    if ((h < 24 && m < 60) || (h == 24 && m == 0)) {
      out = h * 60 + m;
      return true;
    }
  }
  r.Error(n, fmt::format("{}: '{}' is not a time of day HH:MM", path, s));
  return false;
}

bool ReadTime(YamlReader& r, const YAML::Node& n, const std::string& path, Condition& c) {
  YamlObject o(r, n, path);
  if (!o.ok()) return false;
  bool ok = true;
  if (auto x = o.Get("days"); x.IsDefined()) {
    std::vector<std::string> days;
    ok = r.StringList(x, o.Where("days"), days) && ok;
    static constexpr std::string_view kNames[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    c.days = 0;
    for (const auto& d : days) {
      const auto it = std::find(std::begin(kNames), std::end(kNames), d);
      if (it == std::end(kNames)) {
        r.Error(x, fmt::format("{}: '{}' is not mon, tue, wed, thu, fri, sat or sun",
                               o.Where("days"), d));
        ok = false;
        continue;
      }
      c.days |= static_cast<std::uint8_t>(1u << (it - std::begin(kNames)));
    }
  }
  if (auto x = o.Get("from"); x.IsDefined()) ok = ReadMinutes(r, x, o.Where("from"), c.from) && ok;
  if (auto x = o.Get("to"); x.IsDefined()) ok = ReadMinutes(r, x, o.Where("to"), c.to) && ok;
  if (c.from == c.to || c.days == 0) {
    r.Error(n, fmt::format("{}: an empty window (from equals to, or no days)", path));
    ok = false;
  }
  if (auto x = o.Get("utc_offset"); x.IsDefined()) {
    std::string s;
    ok = r.String(x, o.Where("utc_offset"), s) && ok;
    int minutes = 0;
    if (ok && s.size() == 6 && (s[0] == '+' || s[0] == '-') &&
        ReadMinutes(r, YAML::Node(s.substr(1)), o.Where("utc_offset"), minutes) &&
        minutes <= 14 * 60) {
      c.offset_minutes = s[0] == '-' ? -minutes : minutes;
    } else if (ok) {
      r.Error(x, fmt::format("{}: '{}' is not an offset like +02:00", o.Where("utc_offset"), s));
      ok = false;
    }
  }
  o.Finish();
  return ok;
}

bool ReadCondition(YamlReader& r, const YAML::Node& n, const std::string& path, Condition& c,
                   int depth);

bool ReadChildren(YamlReader& r, const YAML::Node& n, const std::string& path, Condition& c,
                  int depth) {
  if (!n.IsSequence() || n.size() == 0) {
    r.Error(n, fmt::format("{}: a non-empty list of conditions", path));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    c.children.emplace_back();
    ok = ReadCondition(r, n[i], fmt::format("{}[{}]", path, i), c.children.back(), depth + 1) && ok;
  }
  return ok;
}

bool ReadCondition(YamlReader& r, const YAML::Node& n, const std::string& path, Condition& c,
                   int depth) {
  if (depth > kMaxDepth) {
    r.Error(n, fmt::format("{}: conditions nested deeper than {}", path, kMaxDepth));
    return false;
  }
  if (!n.IsMap() || n.size() != 1) {
    r.Error(n, fmt::format("{}: one condition: all, any, not, authenticated, auth_method, "
                           "principal, roles, scopes, permissions, claim, client_ip, mtls, "
                           "method, path or time",
                           path));
    return false;
  }
  const std::string key = n.begin()->first.as<std::string>("");
  const YAML::Node v = n.begin()->second;
  const std::string sub = path + "." + key;
  using K = Condition::Kind;
  if (key == "all" || key == "any") {
    c.kind = key == "all" ? K::kAll : K::kAny;
    return ReadChildren(r, v, sub, c, depth);
  }
  if (key == "not") {
    c.kind = K::kNot;
    c.children.emplace_back();
    return ReadCondition(r, v, sub, c.children.back(), depth + 1);
  }
  if (key == "authenticated") {
    c.kind = K::kAuthenticated;
    return r.Bool(v, sub, c.flag);
  }
  if (key == "auth_method" || key == "roles" || key == "scopes" || key == "permissions" ||
      key == "method") {
    c.kind = key == "auth_method" ? K::kAuthMethod
             : key == "roles"     ? K::kRoles
             : key == "scopes"    ? K::kScopes
             : key == "method"    ? K::kMethod
                                  : K::kPermissions;
    if (!r.StringList(v, sub, c.list)) return false;
    if (c.list.empty()) {
      r.Error(v, fmt::format("{}: name at least one", sub));
      return false;
    }
    if (c.kind == K::kAuthMethod) {
      for (const auto& m : c.list) {
        if (m != "jwt" && m != "api_key" && m != "session" && m != "mtls") {
          r.Error(v, fmt::format("{}: '{}' is not jwt, api_key, session or mtls", sub, m));
          return false;
        }
      }
    }
    return true;
  }
  if (key == "principal" || key == "path") {
    c.kind = key == "principal" ? K::kPrincipal : K::kPath;
    return ReadMatch(r, v, sub, c.match);
  }
  if (key == "claim") {
    c.kind = K::kClaim;
    YamlObject o(r, v, sub);
    if (!o.ok()) return false;
    bool ok = true;
    if (auto x = o.Get("name"); x.IsDefined()) ok = r.String(x, o.Where("name"), c.name);
    if (ok && c.name.empty()) {
      r.Error(v, fmt::format("{}: required", o.Where("name")));
      ok = false;
    }
    ok = ReadMatchKeys(r, o, sub, c.match) && ok;
    o.Finish();
    return ok;
  }
  if (key == "client_ip") {
    c.kind = K::kClientIp;
    std::vector<std::string> nets;
    if (!r.StringList(v, sub, nets)) return false;
    for (const auto& s : nets) {
      auto cidr = Cidr::Parse(s);
      if (!cidr) {
        r.Error(v, fmt::format("{}: '{}' is not an address or CIDR", sub, s));
        return false;
      }
      c.cidrs.Add(*cidr);
    }
    if (nets.empty()) {
      r.Error(v, fmt::format("{}: name at least one network", sub));
      return false;
    }
    return true;
  }
  if (key == "mtls") {
    c.kind = K::kMtls;
    if (v.IsScalar()) {  // mtls: true, any verified certificate
      bool any = false;
      if (!r.Bool(v, sub, any)) return false;
      if (!any) {
        r.Error(v, fmt::format("{}: 'true', or spiffe_ids / trust_domains / subjects", sub));
        return false;
      }
      return true;
    }
    YamlObject o(r, v, sub);
    if (!o.ok()) return false;
    bool ok = true;
    if (auto x = o.Get("spiffe_ids"); x.IsDefined()) {
      ok = r.StringList(x, o.Where("spiffe_ids"), c.match.values) && ok;
    }
    if (auto x = o.Get("trust_domains"); x.IsDefined()) {
      ok = r.StringList(x, o.Where("trust_domains"), c.trust_domains.values) && ok;
    }
    if (auto x = o.Get("subjects"); x.IsDefined()) {
      ok = r.StringList(x, o.Where("subjects"), c.subjects.values) && ok;
    }
    o.Finish();
    if (ok && c.match.values.empty() && c.trust_domains.values.empty() &&
        c.subjects.values.empty()) {  // `mtls: true` says "any certificate"; an empty map may not
      r.Error(v,
              fmt::format("{}: name spiffe_ids, trust_domains or subjects (or mtls: true)", sub));
      return false;
    }
    return ok;
  }
  if (key == "time") {
    c.kind = K::kTime;
    return ReadTime(r, v, sub, c);
  }
  r.Error(n, fmt::format("{}: unknown condition '{}' (all, any, not, authenticated, auth_method, "
                         "principal, roles, scopes, permissions, claim, client_ip, mtls, method, "
                         "path, time)",
                         path, key));
  return false;
}

bool ReadRule(YamlReader& r, const YAML::Node& n, const std::string& path, Rule& rule) {
  YamlObject o(r, n, path);
  if (!o.ok()) return false;
  bool ok = true;
  if (auto x = o.Get("name"); x.IsDefined()) ok = r.String(x, o.Where("name"), rule.name);
  if (ok && rule.name.empty()) {
    r.Error(n, fmt::format("{}: required", o.Where("name")));
    ok = false;
  }
  if (auto m = o.Get("match"); m.IsDefined()) {
    YamlObject mo(r, m, o.Where("match"));
    if (!mo.ok()) return false;
    if (auto x = mo.Get("methods"); x.IsDefined()) {
      ok = r.StringList(x, mo.Where("methods"), rule.methods) && ok;
      if (rule.methods.empty()) {  // an empty list would read as "any"
        r.Error(x, fmt::format("{}: name at least one method", mo.Where("methods")));
        ok = false;
      }
    }
    if (auto x = mo.Get("paths"); x.IsDefined()) {
      ok = r.StringList(x, mo.Where("paths"), rule.paths) && ok;
      if (rule.paths.empty()) {
        r.Error(x, fmt::format("{}: name at least one path", mo.Where("paths")));
        ok = false;
      }
      for (const auto& p : rule.paths) {
        if (p.empty() || p.front() != '/') {
          r.Error(x, fmt::format("{}: '{}' does not start with '/'", mo.Where("paths"), p));
          ok = false;
        }
      }
    }
    mo.Finish();
  }
  int effects = 0;
  if (auto x = o.Get("allow"); x.IsDefined()) {
    bool allow = false;
    ok = r.Bool(x, o.Where("allow"), allow) && ok;
    if (!allow) {
      r.Error(x, fmt::format("{}: 'allow: true' (use deny_if to deny)", o.Where("allow")));
      ok = false;
    }
    rule.effect = Rule::Effect::kAllow;
    ++effects;
  }
  for (std::string_view k : {"require", "deny_if"}) {
    if (auto x = o.Get(k); x.IsDefined()) {
      rule.effect = k == "require" ? Rule::Effect::kRequire : Rule::Effect::kDenyIf;
      rule.condition = std::make_unique<Condition>();
      ok = ReadCondition(r, x, o.Where(k), *rule.condition, 0) && ok;
      ++effects;
    }
  }
  if (auto x = o.Get("shadow"); x.IsDefined()) ok = r.Bool(x, o.Where("shadow"), rule.shadow) && ok;
  o.Finish();
  if (ok && effects != 1) {
    r.Error(n, fmt::format("{}: exactly one of allow, require or deny_if", path));
    return false;
  }
  return ok;
}

}  // namespace

std::vector<std::string> PolicyKeys() { return {"roles", "rules", "default"}; }

bool ReadPolicy(YamlReader& r, const YAML::Node& n, const std::string& path, Policy& out) {
  YamlObject o(r, n, path);
  if (!o.ok()) return false;
  bool ok = true;
  if (auto x = o.Get("roles"); x.IsDefined()) {
    if (!x.IsMap()) {
      r.Error(x, fmt::format("{}: a map of role: [permissions]", o.Where("roles")));
      ok = false;
    } else {
      for (const auto& kv : x) {
        const std::string role = kv.first.as<std::string>("");
        std::vector<std::string> perms;
        ok = r.StringList(kv.second, fmt::format("{}.{}", o.Where("roles"), role), perms) && ok;
        out.roles[role] = std::move(perms);
      }
    }
  }
  if (auto x = o.Get("rules"); x.IsDefined()) {
    if (!x.IsSequence()) {
      r.Error(x, fmt::format("{}: a list of rules", o.Where("rules")));
      ok = false;
    } else {
      for (std::size_t i = 0; i < x.size(); ++i) {
        out.rules.emplace_back();
        ok = ReadRule(r, x[i], fmt::format("{}[{}]", o.Where("rules"), i), out.rules.back()) && ok;
      }
      for (std::size_t i = 0; ok && i < out.rules.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (out.rules[i].name == out.rules[j].name) {
            r.Error(x[i], fmt::format("{}[{}]: a second rule named '{}'", o.Where("rules"), i,
                                      out.rules[i].name));
            ok = false;
          }
        }
      }
    }
  }
  if (auto x = o.Get("default"); x.IsDefined()) {
    ok = r.Choice(x, o.Where("default"), {{"deny", false}, {"allow", true}}, out.default_allow) &&
         ok;
  }
  o.Finish();
  return ok;
}

}  // namespace rampart::authz
