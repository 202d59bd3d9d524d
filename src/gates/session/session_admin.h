// POST /admin/sessions/revoke on the admin listener: ends one session ({"session": "<cookie
// value>"}) or every session of a principal begun until now ({"principal": "alice"}).
#pragma once

#include <chrono>
#include <memory>

#include "admin/admin_actions.h"
#include "state/kv/kv_store.h"

namespace rampart::session {

admin::AdminAction RevokeEndpoint(std::shared_ptr<state::KvStore> store,
                                  std::chrono::seconds absolute_timeout, std::int64_t (*clock)());

}  // namespace rampart::session
