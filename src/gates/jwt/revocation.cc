#include "gates/jwt/revocation.h"

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
  if (!jti.empty()) {
    const state::KvResult r = co_await store_->Get(Key("jti", iss, jti), worker);
    if (r.status == KvStatus::kUnavailable) co_return RevocationVerdict::kUnavailable;
    if (r.status == KvStatus::kOk) co_return RevocationVerdict::kRevoked;
  }
  if (!sub.empty()) {
    const state::KvResult r = co_await store_->Get(Key("sub", iss, sub), worker);
    if (r.status == KvStatus::kUnavailable) co_return RevocationVerdict::kUnavailable;
    if (r.status == KvStatus::kOk) {
      std::int64_t before = 0;
      std::from_chars(r.value.data(), r.value.data() + r.value.size(), before);
      // Issued before the cut-off, or with no iat to say when: revoked.
      if (iat == 0 || iat <= before) co_return RevocationVerdict::kRevoked;
    }
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
