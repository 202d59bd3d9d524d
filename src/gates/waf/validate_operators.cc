// @validateByteRange, @validateUrlEncoding, @validateUtf8Encoding (ModSecurity v3
// src/operators/validate_*.cc). Each matches when the value is NOT valid: the rule fires on the
// violation.
#include <bitset>

#include "gates/waf/operator_internal.h"

namespace rampart::waf::op_internal {
namespace {

// ---- @validateByteRange ----------------------------------------------------------------------

class ValidateByteRange final : public Operator {
 public:
  explicit ValidateByteRange(const std::bitset<256>& allowed) : allowed_(allowed) {}
  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    for (const char c : value) {
      if (!allowed_[static_cast<unsigned char>(c)]) return true;
    }
    return false;
  }

 private:
  std::bitset<256> allowed_;
};

std::string_view TrimSpace(std::string_view s) {
  const std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A byte value 0..255 written in decimal.
bool ParseByte(std::string_view s, int* out) {
  s = TrimSpace(s);
  if (s.empty() || s.size() > 3) return false;
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 255) return false;
  *out = v;
  return true;
}

// ---- @validateUrlEncoding --------------------------------------------------------------------

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

class ValidateUrlEncoding final : public Operator {
 public:
  // v3 ValidateUrlEncoding::validate_url_encoding: every '%' must be followed by two hex digits.
  // An empty value is valid.
  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    for (std::size_t i = 0; i < value.size();) {
      if (value[i] != '%') {
        ++i;
        continue;
      }
      if (i + 2 >= value.size()) return true;                         // not enough bytes
      if (!IsHex(value[i + 1]) || !IsHex(value[i + 2])) return true;  // non-hex digits
      i += 3;
    }
    return false;
  }
};

// ---- @validateUtf8Encoding -------------------------------------------------------------------

// The length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one. Follows
// v3's detect_utf8_character: a lead byte 0x80..0xBF or 0xF8..0xFF is invalid, a lead byte
// >= 0xF5 is out of range, a truncated sequence or a continuation byte outside 0x80..0xBF is
// invalid, overlong forms and UTF-16 surrogates (U+D800..U+DFFF) are invalid.
std::size_t Utf8SequenceLength(std::string_view s) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  std::size_t len;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    if (c >= 0xF5) return 0;
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len]) return 0;
  // Not in v3, which only refuses lead bytes >= 0xF5 and so accepts F4 90..BF xx xx
  // (U+110000..U+13FFFF); RFC 3629 ends UTF-8 at U+10FFFF.
  if (cp > 0x10FFFF) return 0;
  return len;
}

class ValidateUtf8Encoding final : public Operator {
 public:
  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    for (std::size_t i = 0; i < value.size();) {
      const std::size_t n = Utf8SequenceLength(value.substr(i));
      if (n == 0) return true;
      i += n;
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<Operator> MakeValidateByteRange(std::string_view param, std::string* error) {
  // "1-255" or a comma-separated list of values and ranges: "9,10,13,32-126". v3 builds the same
  // table but silently skips a piece it cannot parse (its init always succeeds, and a lone value
  // above 255 is not even checked); we refuse the rule instead.
  std::bitset<256> allowed;
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = param.find(',', pos);
    const std::string_view piece =
        param.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    const std::size_t dash = piece.find('-');
    int from = 0;
    int to = 0;
    if (dash == std::string_view::npos) {
      if (!ParseByte(piece, &from)) {
        *error = "invalid byte value '" + std::string(TrimSpace(piece)) + "'";
        return nullptr;
      }
      to = from;
    } else if (!ParseByte(piece.substr(0, dash), &from) ||
               !ParseByte(piece.substr(dash + 1), &to) || from > to) {
      *error = "invalid byte range '" + std::string(TrimSpace(piece)) + "'";
      return nullptr;
    }
    for (int b = from; b <= to; ++b) allowed.set(static_cast<std::size_t>(b));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return std::make_unique<ValidateByteRange>(allowed);
}

std::unique_ptr<Operator> MakeValidateUrlEncoding() {
  return std::make_unique<ValidateUrlEncoding>();
}

std::unique_ptr<Operator> MakeValidateUtf8Encoding() {
  return std::make_unique<ValidateUtf8Encoding>();
}

}  // namespace rampart::waf::op_internal
