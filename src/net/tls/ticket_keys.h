// Session-ticket keys shared by every TLS context of the process, so that a ticket stays valid
// across SNI certificates, certificate rotations and config reloads, and rotated on a schedule so
// that a leaked key exposes little: tickets are issued with the newest key, and the previous ones
// still decrypt (the ticket is renewed) until they age out.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace rampart::tls {

class TicketKeys {
 public:
  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
    std::int64_t created = 0;  // seconds, caller's clock
  };

  static TicketKeys& Instance();

  // Adds a new key when the newest is older than `every`, and forgets keys older than
  // `keep_for`. Returns true when it rotated. `now` in seconds.
  bool Rotate(std::int64_t now, std::int64_t every, std::int64_t keep_for);
  // Installs the ticket callback on `ctx`.
  static void Install(SSL_CTX* ctx);
  std::size_t size() const;

  // The callback's two halves (exposed for tests): the newest key, or the key named `name`.
  bool Newest(Key* out) const;
  // 0: unknown, 1: the newest, 2: an older one (the ticket should be renewed).
  int Find(const unsigned char* name, Key* out) const;

 private:
  mutable std::mutex mu_;
  std::vector<Key> keys_;  // newest first
};

// How often keys rotate and how long an old key still decrypts.
inline constexpr std::int64_t kTicketKeyRotationSeconds = 3600;
inline constexpr std::int64_t kTicketKeyLifetimeSeconds = 3 * 3600;

}  // namespace rampart::tls
