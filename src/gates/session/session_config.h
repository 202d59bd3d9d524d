// The session gate's settings.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config/fields.h"
#include "state/kv/store_failure.h"

namespace rampart::session {

using state::StoreFailure;
enum class SameSite : std::uint8_t { kLax, kStrict, kNone };

struct SessionConfig {
  std::string cookie = "rampart_session";
  bool secure = true;
  SameSite same_site = SameSite::kLax;
  std::string path = "/";
  std::string domain;
  std::chrono::seconds idle_timeout{1800};
  std::chrono::seconds absolute_timeout{43200};
  bool store_shared = false;  // store: redis
  StoreFailure on_store_failure = StoreFailure::kRefuse;
  bool allow_anonymous = false;
  // Only a login route's upstream may begin sessions: elsewhere a login header in a response
  // (an endpoint that echoes request headers) is removed and ignored.
  bool login = false;
  // The login upstream names the principal (and roles, scopes) in these response headers;
  // rampart makes a session of them and removes them before the client sees the response.
  std::string login_header = "x-rampart-session-principal";
  std::string roles_header = "x-rampart-session-roles";
  std::string scopes_header = "x-rampart-session-scopes";
  std::string logout_header = "x-rampart-session-logout";
  std::string forward_header;  // the principal, upstream
};

const config::Fields<SessionConfig>& SessionFields();

}  // namespace rampart::session
