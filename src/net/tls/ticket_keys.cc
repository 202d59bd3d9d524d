#include "net/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace rampart::tls {
namespace {

int TicketCallback(SSL*, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                   EVP_MAC_CTX* mac, int enc) {
  TicketKeys::Key k;
  int result = 1;
  if (enc == 1) {
    if (!TicketKeys::Instance().Newest(&k)) return 0;  // no key yet: issue no ticket
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    std::memcpy(key_name, k.name.data(), k.name.size());
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return -1;
  } else {
    result = TicketKeys::Instance().Find(key_name, &k);
    if (result == 0) return 0;  // unknown or expired key: a full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return -1;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac.data(), k.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return result;
}

}  // namespace

TicketKeys& TicketKeys::Instance() {
  static TicketKeys keys;
  return keys;
}

bool TicketKeys::Rotate(std::int64_t now, std::int64_t every, std::int64_t keep_for) {
  std::lock_guard lock(mu_);
  std::erase_if(keys_, [&](const Key& k) { return now - k.created >= keep_for; });
  if (!keys_.empty() && now - keys_.front().created < every) return false;
  Key k;
  k.created = now;
  if (RAND_bytes(k.name.data(), k.name.size()) != 1 ||
      RAND_bytes(k.aes.data(), k.aes.size()) != 1 ||
      RAND_bytes(k.hmac.data(), k.hmac.size()) != 1) {
    return false;
  }
  keys_.insert(keys_.begin(), k);
  return true;
}

void TicketKeys::Install(SSL_CTX* ctx) {
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketCallback);
}

std::size_t TicketKeys::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

bool TicketKeys::Newest(Key* out) const {
  std::lock_guard lock(mu_);
  if (keys_.empty()) return false;
  *out = keys_.front();
  return true;
}

int TicketKeys::Find(const unsigned char* name, Key* out) const {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      *out = keys_[i];
      return i == 0 ? 1 : 2;
    }
  }
  return 0;
}

}  // namespace rampart::tls
