// POST /admin/jwt/revoke on the admin listener: revokes one token by its `jti`, or every token
// of a subject issued before a time, in the revocation store of the jwt gates that use it.
//   {"iss": "https://id.example", "jti": "7f3c...", "exp": 1767225600}   exp optional
//   {"iss": "https://id.example", "sub": "alice", "before": 1767225600}  before: default now
#pragma once

#include <memory>

#include "admin/admin_actions.h"
#include "gates/jwt/revocation.h"

namespace rampart::jwt {

admin::AdminAction RevokeEndpoint(std::shared_ptr<Revocations> revocations,
                                  std::int64_t (*clock)());

}  // namespace rampart::jwt
