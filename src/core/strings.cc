#include "core/strings.h"

namespace rampart {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

void AppendJsonStringList(std::string& out, const std::vector<std::string>& list) {
  out += '[';
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, list[i]);
  }
  out += ']';
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
}

namespace {
int HexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte a form decoder reads at `i`, and how many input bytes it took.
char FormByteAt(std::string_view s, std::size_t i, std::size_t& used) noexcept {
  if (const int b = EscapedByteAt(s, i); b >= 0) {
    used = 3;
    return static_cast<char>(b);
  }
  used = 1;
  return s[i] == '+' ? ' ' : s[i];
}
}  // namespace

int EscapedByteAt(std::string_view s, std::size_t i) noexcept {
  if (i + 2 >= s.size() || s[i] != '%') return -1;
  const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

bool QueryNameIs(std::string_view raw, std::string_view want) noexcept {
  if (raw == want) return true;
  std::size_t j = 0;
  for (std::size_t i = 0, used = 0; i < raw.size(); i += used, ++j) {
    const char c = FormByteAt(raw, i, used);
    if (j >= want.size() || want[j] != c) return false;
  }
  return j == want.size();
}

void PercentDecode(std::string_view raw, std::string& out) {
  out.clear();
  for (std::size_t i = 0, used = 0; i < raw.size(); i += used)
    out.push_back(FormByteAt(raw, i, used));
}

}  // namespace rampart
