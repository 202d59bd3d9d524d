#include "gates/idempotency/sealer.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>

namespace rampart::idempotency {

namespace {

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

int HexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool Sealer::ReadKeyFile(const std::string& path, SealKey& key, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot read key file {}", path);
    return false;
  }
  std::string raw(4096, '\0');  // a key file is small: read it into one buffer we can wipe
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  raw.resize(static_cast<std::size_t>(in.gcount()));
  const auto first = raw.find_first_not_of(" \t\r\n");
  const auto last = raw.find_last_not_of(" \t\r\n");
  const std::string_view text = first == std::string::npos
                                    ? std::string_view()
                                    : std::string_view(raw).substr(first, last - first + 1);
  bool ok = false;
  if (text.size() == 64) {
    ok = true;
    for (std::size_t i = 0; i < 32; ++i) {
      const int hi = HexDigit(text[2 * i]);
      const int lo = HexDigit(text[2 * i + 1]);
      if (hi < 0 || lo < 0) ok = false;
      key.bytes[i] = static_cast<unsigned char>((hi << 4) | (lo & 0xf));
    }
  } else if (text.size() == 44) {
    unsigned char out[33];
    const int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(text.data()), 44);
    // 44 base64 characters with one '=' of padding are 32 bytes (EVP_DecodeBlock counts 33).
    if (n == 33 && text[43] == '=' && text[42] != '=') {
      std::copy(out, out + 32, key.bytes.begin());
      ok = true;
    }
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!ok) {
    error = fmt::format("key file {} must hold 32 bytes as 64 hex digits or 44 base64 characters",
                        path);
  }
  return ok;
}

bool Sealer::Seal(std::string_view plaintext, std::string_view aad, std::string& out) const {
  if (keys_.empty()) {
    out.append(plaintext);
    return true;
  }
  const SealKey& k = keys_.front();
  unsigned char nonce[kNonce];
  if (RAND_bytes(nonce, kNonce) != 1) return false;
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k.bytes.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) {
    return false;
  }
  const std::size_t at = out.size();
  out.resize(at + kNonce + plaintext.size() + kTag);
  auto* p = reinterpret_cast<unsigned char*>(out.data() + at);
  std::copy(nonce, nonce + kNonce, p);
  int n = 0;
  if (EVP_EncryptUpdate(ctx.get(), p + kNonce, &n,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), p + kNonce + n, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, p + kNonce + plaintext.size()) !=
          1) {
    out.resize(at);
    return false;
  }
  return true;
}

bool Sealer::Open(std::string_view key_id, std::string_view sealed, std::string_view aad,
                  std::string& plaintext) const {
  plaintext.clear();
  if (keys_.empty()) {
    if (key_id != "-") return false;
    plaintext.assign(sealed);
    return true;
  }
  const SealKey* k = nullptr;
  for (const SealKey& c : keys_) {
    if (c.id == key_id) k = &c;
  }
  if (k == nullptr || sealed.size() < kNonce + kTag) return false;  // "-" included: fail closed
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const std::size_t n = sealed.size() - kNonce - kTag;
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  plaintext.resize(n);
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  unsigned char tag[kTag];
  std::copy(p + kNonce + n, p + kNonce + n + kTag, tag);
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k->bytes.data(), p) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, p + kNonce, static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) plaintext.clear();
  return ok;
}

}  // namespace rampart::idempotency
