// Stored responses encrypted at rest: AES-256-GCM (OpenSSL EVP) under keys read from files, each
// with an id. The first key seals; every listed key opens, so a key is rotated by adding a new
// one first and removing the old one once the records it sealed have expired. The record's head
// (key, token, fingerprint, key id) is the associated data: a sealed body moved to another key
// or record does not open. Key material is never logged: errors name the file, not its bytes.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::idempotency {

struct SealKey {
  std::string id;
  std::array<unsigned char, 32> bytes{};
};

class Sealer {
 public:
  Sealer() = default;  // no keys: Seal and Open pass bytes through under the key id "-"
  explicit Sealer(std::vector<SealKey> keys) : keys_(std::move(keys)) {}

  // Reads a key file: 32 bytes written as 64 hex digits or as base64 (44 characters), with
  // surrounding whitespace ignored. False with `error` otherwise.
  static bool ReadKeyFile(const std::string& path, SealKey& key, std::string& error);

  bool encrypts() const noexcept { return !keys_.empty(); }
  std::string_view active_id() const noexcept {
    return keys_.empty() ? std::string_view("-") : std::string_view(keys_.front().id);
  }
  // nonce (12 bytes) | ciphertext | tag (16 bytes), appended to `out`. False if OpenSSL failed.
  bool Seal(std::string_view plaintext, std::string_view aad, std::string& out) const;
  // False when `key_id` is not a listed key, or the bytes were not sealed by it with this `aad`.
  bool Open(std::string_view key_id, std::string_view sealed, std::string_view aad,
            std::string& plaintext) const;

 private:
  std::vector<SealKey> keys_;
};

}  // namespace rampart::idempotency
