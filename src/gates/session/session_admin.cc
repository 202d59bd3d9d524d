#include "gates/session/session_admin.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_strict.h"
#include "gates/session/session_record.h"

namespace rampart::session {

namespace asio = boost::asio;
using admin::AdminError;
using admin::AdminResponse;
using state::KvStatus;

admin::AdminAction RevokeEndpoint(std::shared_ptr<state::KvStore> store,
                                  std::chrono::seconds absolute_timeout, std::int64_t (*clock)()) {
  return [store, absolute_timeout,
          clock](const admin::AdminRequest& req) -> asio::awaitable<AdminResponse> {
    if (req.method != "POST") {
      co_return AdminResponse{405, "application/json",
                              AdminError("method_not_allowed", "use POST")};
    }
    StrictJson json;
    simdjson::dom::element root;
    std::string_view error;
    std::string session, principal;
    if (json.Parse(req.body, root, error) && root.is_object()) {
      session.assign(JsonString(AsObject(root), "session"));
      principal.assign(JsonString(AsObject(root), "principal"));
    }
    if (session.empty() == principal.empty()) {
      co_return AdminResponse{
          400, "application/json",
          AdminError("bad_request", "{\"session\": id} or {\"principal\": name}")};
    }
    KvStatus s{};
    if (!session.empty()) {
      s = co_await store->Delete(SessionKey(session), 0);
      if (s == KvStatus::kNotFound) {
        co_return AdminResponse{404, "application/json",
                                AdminError("not_found", "no such session (ended already?)")};
      }
    } else {
      // Sessions begun at or before now end; the cut-off outlives every one of them.
      s = co_await store->Set(PrincipalKey(principal), std::to_string(clock()),
                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                  absolute_timeout + std::chrono::minutes(1)),
                              0);
    }
    if (s != KvStatus::kOk) {
      co_return AdminResponse{503, "application/json",
                              AdminError("store_unavailable", "the session store did not answer")};
    }
    spdlog::info("session: revoked {}",
                 session.empty() ? "every session of a principal" : "a session");
    co_return AdminResponse{
        200, "application/json",
        session.empty() ? "{\"revoked\":\"principal\"}\n" : "{\"revoked\":\"session\"}\n"};
  };
}

}  // namespace rampart::session
