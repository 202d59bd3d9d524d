#include "gates/session/session_config.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace rampart::session {

namespace {

bool CookieName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {  // RFC 6265 token
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f ||
        std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

const config::Fields<SessionConfig>& SessionFields() {
  using config::YamlReader;
  using std::chrono::seconds;
  static const config::Fields<SessionConfig> f = [] {
    config::Fields<SessionConfig> d;
    d.String("cookie", &SessionConfig::cookie)
        .Bool("secure", &SessionConfig::secure)
        .Choice("same_site", &SessionConfig::same_site,
                {{"lax", SameSite::kLax}, {"strict", SameSite::kStrict}, {"none", SameSite::kNone}})
        .String("path", &SessionConfig::path)
        .String("domain", &SessionConfig::domain)
        .Duration("idle_timeout", &SessionConfig::idle_timeout, seconds(1), seconds(86400 * 30))
        .Duration("absolute_timeout", &SessionConfig::absolute_timeout, seconds(1),
                  seconds(86400 * 365))
        .Custom("store",
                [](YamlReader& r, const YAML::Node& n, const std::string& p, SessionConfig& c) {
                  return r.Choice(n, p, {{"local", false}, {"redis", true}}, c.store_shared);
                })
        .Choice("on_store_failure", &SessionConfig::on_store_failure, state::StoreFailureChoices())
        .Bool("allow_anonymous", &SessionConfig::allow_anonymous)
        .Bool("login", &SessionConfig::login)
        .String("login_header", &SessionConfig::login_header)
        .String("roles_header", &SessionConfig::roles_header)
        .String("scopes_header", &SessionConfig::scopes_header)
        .String("logout_header", &SessionConfig::logout_header)
        .String("forward_header", &SessionConfig::forward_header)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, SessionConfig& c) {
          bool ok = true;
          if (!CookieName(c.cookie)) {
            r.Error(at, fmt::format("{}.cookie: '{}' is not a cookie name", p, c.cookie));
            ok = false;
          }
          if (c.same_site == SameSite::kNone && !c.secure) {
            r.Error(at, fmt::format("{}: same_site: none needs secure: true (browsers drop it "
                                    "otherwise)",
                                    p));
            ok = false;
          }
          if (c.idle_timeout > c.absolute_timeout) {
            r.Error(at, fmt::format("{}: idle_timeout is longer than absolute_timeout", p));
            ok = false;
          }
          if (c.path.empty() || c.path.front() != '/' ||
              c.path.find_first_of(";\r\n ") != std::string::npos ||
              c.domain.find_first_of(";\r\n ") != std::string::npos) {
            r.Error(at, fmt::format("{}: path starts with '/'; neither path nor domain holds "
                                    "';' or spaces",
                                    p));
            ok = false;
          }
          for (std::string* h : {&c.login_header, &c.roles_header, &c.scopes_header,
                                 &c.logout_header, &c.forward_header}) {
            *h = ToLower(*h);
          }
          return ok;
        });
    return d;
  }();
  return f;
}

}  // namespace rampart::session
