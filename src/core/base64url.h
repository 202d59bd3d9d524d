// base64url (RFC 4648 §5) as JOSE uses it (RFC 7515 §2): no padding, no whitespace, nothing but
// the 64 characters, and canonical: the unused low bits of the last character must be zero, so a
// value has exactly one encoding (a token cannot be altered without changing its bytes).
#pragma once

#include <string>
#include <string_view>

namespace rampart {

// Appends the decoded bytes to `out`; false (out unspecified) when `in` is not strict base64url.
bool Base64UrlDecode(std::string_view in, std::string& out);
void Base64UrlEncode(std::string_view in, std::string& out);

}  // namespace rampart
