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

// The cookie's value is "<id>.<tag>": the id, 256 bits from the CSPRNG in base64url (43
// characters), and the principal's tag (16 hex digits of the SHA-256 of its name), which names
// the principal's cut-off key so that both are read in one round trip. The tag is checked against
// the record: a cookie with another principal's tag is no session.
std::string PrincipalTag(std::string_view principal);
bool WellFormedId(std::string_view cookie) noexcept;

// The store keys: the session under the hash of the id part, the cut-off under the tag.
std::string SessionKey(std::string_view cookie);
std::string PrincipalKey(std::string_view principal);
std::string CutoffKey(std::string_view cookie);

}  // namespace rampart::session
