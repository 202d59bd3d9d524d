#include "gates/jwt/revoke_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_strict.h"
#include "core/strings.h"

namespace rampart::jwt {

namespace asio = boost::asio;
using admin::AdminError;
using admin::AdminResponse;

namespace {

AdminResponse Bad(std::string_view message) {
  return {400, "application/json", AdminError("bad_request", message)};
}

// A whole number of seconds at `key`, if present.
bool Seconds(simdjson::dom::object o, std::string_view key, std::int64_t& out, bool& present) {
  auto v = o.at_key(key);
  present = !v.error();
  if (!present) return true;
  return !v.value_unsafe().get_int64().get(out) && out >= 0;
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

}  // namespace

admin::AdminAction RevokeEndpoint(std::shared_ptr<Revocations> revocations,
                                  std::int64_t (*clock)()) {
  return [revocations, clock](const admin::AdminRequest& req) -> asio::awaitable<AdminResponse> {
    if (req.method != "POST") {
      co_return AdminResponse{405, "application/json",
                              AdminError("method_not_allowed", "use POST")};
    }
    StrictJson json;
    simdjson::dom::element root;
    std::string_view error;
    if (!json.Parse(req.body, root, error) || !root.is_object()) {
      co_return Bad(
          "the body is a JSON object: {\"iss\", \"jti\"[, \"exp\"]} or "
          "{\"iss\", \"sub\"[, \"before\"]}");
    }
    const simdjson::dom::object o = AsObject(root);
    const std::string iss(JsonString(o, "iss"));
    const std::string jti(JsonString(o, "jti"));
    const std::string sub(JsonString(o, "sub"));
    if (iss.empty()) co_return Bad("'iss' names the issuer whose token is revoked");
    if (jti.empty() == sub.empty()) co_return Bad("exactly one of 'jti' or 'sub'");
    const std::int64_t now = clock();
    std::int64_t when = 0;
    bool present = false;
    state::KvStatus status{};
    std::string done;
    if (!jti.empty()) {
      if (!Seconds(o, "exp", when, present)) co_return Bad("'exp' is seconds since the epoch");
      status = co_await revocations->RevokeJti(iss, jti, when, now, 0);
      done = fmt::format("{{\"revoked\":\"jti\",\"iss\":{},\"jti\":{}}}\n", Quote(iss), Quote(jti));
    } else {
      if (!Seconds(o, "before", when, present)) {
        co_return Bad("'before' is seconds since the epoch");
      }
      if (!present) when = now;
      status = co_await revocations->RevokeSubject(iss, sub, when, 0);
      done = fmt::format("{{\"revoked\":\"sub\",\"iss\":{},\"sub\":{},\"before\":{}}}\n",
                         Quote(iss), Quote(sub), when);
    }
    if (status != state::KvStatus::kOk) {
      co_return AdminResponse{
          503, "application/json",
          AdminError("store_unavailable", "the revocation store did not take it; try again")};
    }
    spdlog::info("jwt: revoked {} of issuer '{}'", jti.empty() ? "a subject" : "a token id", iss);
    co_return AdminResponse{200, "application/json", std::move(done)};
  };
}

}  // namespace rampart::jwt
