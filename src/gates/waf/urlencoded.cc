// Query-string / x-www-form-urlencoded splitting with ModSecurity v3's semantics.
//
// v3 (Transaction::extractArguments) splits with utils::string::ssplit — std::getline on a
// stringstream — and each part with ssplit_pair at the first '='. getline yields an empty token
// for every empty part except a single trailing one, so "a&&b" gives a, "", b and "a&" gives
// just a; v3 then adds the empty token as an argument with an empty name. We reproduce that
// exactly (it changes &ARGS and ARGS_NAMES, which rules count and inspect).
#include "gates/waf/urlencoded.h"

namespace rampart::waf {
namespace {

int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AddPart(std::string_view part, std::vector<Arg>& out, int* invalid) {
  const std::size_t eq = part.find('=');
  Arg arg;
  if (eq == std::string_view::npos) {
    arg.name = UrlDecodeForm(part, invalid);
  } else {
    arg.name = UrlDecodeForm(part.substr(0, eq), invalid);
    arg.value = UrlDecodeForm(part.substr(eq + 1), invalid);
  }
  out.push_back(std::move(arg));
}

}  // namespace

std::string UrlDecodeForm(std::string_view in, int* invalid) {
  std::string out;
  out.reserve(in.size());
  int bad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      // v3 needs both hex digits present ("s + 2 < e"); a '%' near the end is invalid too.
      if (i + 2 < in.size()) {
        const int hi = HexValue(static_cast<unsigned char>(in[i + 1]));
        const int lo = HexValue(static_cast<unsigned char>(in[i + 2]));
        if (hi >= 0 && lo >= 0) {
          out.push_back(static_cast<char>(hi * 16 + lo));
          i += 2;
          continue;
        }
      }
      out.push_back('%');
      ++bad;
    } else if (c == '+') {
      out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  // v3 resets its counter per urldecode call, so an invalid escape in a name is forgotten once
  // the value is decoded (only the value's count reaches URLENCODED_ERROR). We count both: a
  // malformed name is as much an encoding error as a malformed value.
  if (invalid != nullptr) *invalid += bad;
  return out;
}

void ParseUrlEncoded(std::string_view text, char separator, std::vector<Arg>& out,
                     int* invalid_encodings) {
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      AddPart(text.substr(start), out, invalid_encodings);
      return;
    }
    AddPart(text.substr(start, end - start), out, invalid_encodings);
    start = end + 1;
  }
  // Reaching here means `text` is empty or ends with the separator: getline yields no token for
  // what follows the last separator, so neither do we.
}

}  // namespace rampart::waf
