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

bool QueryNameIs(std::string_view raw, std::string_view want) noexcept {
  if (raw == want) return true;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::size_t j = 0;
  for (std::size_t i = 0; i < raw.size(); ++j) {
    char c = raw[i];
    if (c == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
      c = static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
      i += 3;
    } else {
      if (c == '+') c = ' ';
      ++i;
    }
    if (j >= want.size() || want[j] != c) return false;
  }
  return j == want.size();
}

}  // namespace rampart
