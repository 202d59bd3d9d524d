#include "gates/jwt/revocation.h"

#include <array>
#include <charconv>

namespace rampart::jwt {

namespace asio = boost::asio;
using state::KvStatus;

namespace {

std::string Key(std::string_view kind, std::string_view iss, std::string_view id) {
  std::string k;
  k.reserve(kind.size() + iss.size() + id.size() + 2);
  k.append(kind).append(":").append(iss).append("|").append(id);
  return k;
}

}  // namespace

asio::awaitable<RevocationVerdict> Revocations::Check(std::string_view iss, std::string_view sub,
                                                      std::string_view jti, std::int64_t iat,
                                                      int worker) {
  if (jti.empty() && sub.empty()) co_return RevocationVerdict::kValid;
  // Both entries in one round trip (a token without one of them reads a key that is never set).
  // (Keys named first: GCC 12 destroys a ?: temporary inside a co_await expression twice.)
  const std::string jti_key = jti.empty() ? std::string("jti:") : Key("jti", iss, jti);
  const std::string sub_key = sub.empty() ? std::string("sub:") : Key("sub", iss, sub);
  const std::array<state::KvResult, 2> got = co_await store_->GetTwo(jti_key, sub_key, worker);
  if (got[0].status == KvStatus::kUnavailable || got[1].status == KvStatus::kUnavailable) {
    co_return RevocationVerdict::kUnavailable;
  }
  if (!jti.empty() && got[0].status == KvStatus::kOk) co_return RevocationVerdict::kRevoked;
  if (!sub.empty() && got[1].status == KvStatus::kOk) {
    std::int64_t before = 0;
    std::from_chars(got[1].value.data(), got[1].value.data() + got[1].value.size(), before);
    // Issued at or before the cut-off, or with no iat to say when: revoked.
    if (iat == 0 || iat <= before) co_return RevocationVerdict::kRevoked;
  }
  co_return RevocationVerdict::kValid;
}

asio::awaitable<KvStatus> Revocations::RevokeJti(std::string_view iss, std::string_view jti,
                                                 std::int64_t until, std::int64_t now, int worker) {
  std::chrono::seconds ttl = ttl_;
  std::int64_t left = 0;
  if (until > now && !__builtin_sub_overflow(until, now, &left) &&
      left < std::chrono::duration_cast<std::chrono::seconds>(ttl_ - slack_).count()) {
    ttl = std::chrono::seconds(left) + slack_;  // the token's remaining life, plus leeways
  }
  co_return co_await store_->Set(Key("jti", iss, jti), "1",
                                 std::chrono::duration_cast<std::chrono::milliseconds>(ttl),
                                 worker);
}

asio::awaitable<KvStatus> Revocations::RevokeSubject(std::string_view iss, std::string_view sub,
                                                     std::int64_t before, int worker) {
  co_return co_await store_->Set(Key("sub", iss, sub), std::to_string(before),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(ttl_),
                                 worker);
}

}  // namespace rampart::jwt
