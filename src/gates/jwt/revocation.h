// Revoked tokens, in a key-value store (in process, or Redis shared by every instance): a jti
// deny-list ("jti:<iss>|<jti>", kept until the token would have expired anyway) and per-subject
// cut-offs ("sub:<iss>|<sub>" = T: every token of that subject issued before T). Checked on every
// request, cached tokens included, so a revocation takes effect at each instance's next request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "state/kv/kv_store.h"

namespace rampart::jwt {

enum class RevocationVerdict : std::uint8_t { kValid, kRevoked, kUnavailable };

class Revocations {
 public:
  // `ttl`: how long a subject cut-off, or a jti revoked without its exp, is kept; `slack`: added
  // to a revoked token's remaining life (its provider's leeway and a margin).
  Revocations(std::shared_ptr<state::KvStore> store, std::chrono::seconds ttl,
              std::chrono::seconds slack)
      : store_(std::move(store)), ttl_(ttl), slack_(slack) {}

  // `iat` 0: the token has none (a subject cut-off then revokes it).
  boost::asio::awaitable<RevocationVerdict> Check(std::string_view iss, std::string_view sub,
                                                  std::string_view jti, std::int64_t iat,
                                                  int worker);
  // `until`: when the token expires (seconds since the epoch; 0: keep for the default ttl).
  boost::asio::awaitable<state::KvStatus> RevokeJti(std::string_view iss, std::string_view jti,
                                                    std::int64_t until, std::int64_t now,
                                                    int worker);
  boost::asio::awaitable<state::KvStatus> RevokeSubject(std::string_view iss, std::string_view sub,
                                                        std::int64_t before, int worker);
  const std::shared_ptr<state::KvStore>& store() const noexcept { return store_; }

 private:
  std::shared_ptr<state::KvStore> store_;
  std::chrono::seconds ttl_;
  std::chrono::seconds slack_;
};

}  // namespace rampart::jwt
