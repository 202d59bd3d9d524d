// A session as the store keeps it, under "s:<SHA-256 of the id, hex>" (a dump of the store holds
// no usable id): who it is, what it may do, and when it began and was last used (milliseconds
// since the epoch). "p:<principal>" holds a cut-off: sessions begun at or before it are revoked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::session {

struct Record {
  std::string principal;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::int64_t created = 0;
  std::int64_t last = 0;
};

std::string Encode(const Record& r);
bool Decode(std::string_view json, Record& out);

// The store keys.
std::string SessionKey(std::string_view id);  // hashes the id
std::string PrincipalKey(std::string_view principal);

// A session id as rampart issues them: 256 bits, base64url (43 characters).
bool WellFormedId(std::string_view id) noexcept;

}  // namespace rampart::session
