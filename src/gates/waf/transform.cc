// Each transformation follows the algorithm of the same-named file in ModSecurity v3's
// src/actions/transformations/ (v3.0.13, with 3.0.14's htmlEntityDecode fix), rewritten to read
// from a string_view and append to `out`. v3 works on NUL-terminated std::string buffers and
// sometimes reads the terminator after the last byte; At() reproduces that by answering 0 past the
// end. Character classes are those of the C locale v3 runs in: ASCII only.
#include "gates/waf/transform.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <limits>
#include <memory>
#include <utility>

namespace rampart::waf {
namespace {

using Byte = unsigned char;

constexpr Byte kNbsp = 0xa0;
constexpr std::uint64_t kLongMax = std::numeric_limits<long>::max();

Byte At(std::string_view s, std::size_t i) { return i < s.size() ? Byte(s[i]) : Byte{0}; }

bool IsHex(Byte c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsOctal(Byte c) { return c >= '0' && c <= '7'; }
bool IsDigit(Byte c) { return c >= '0' && c <= '9'; }
bool IsAlpha(Byte c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(Byte c) { return IsAlpha(c) || IsDigit(c); }
bool IsSpace(Byte c) { return c == ' ' || (c >= '\t' && c <= '\r'); }  // isspace() in "C"
bool IsF(Byte c) { return c == 'f' || c == 'F'; }
char Lower(Byte c) { return char(c >= 'A' && c <= 'Z' ? c + 32 : c); }
char Upper(Byte c) { return char(c >= 'a' && c <= 'z' ? c - 32 : c); }

// v3's xsingle2c()/x2c(): callers validate the digits first, except hexDecode, which feeds
// anything and gets this arithmetic's value (mod 256) for non-hex bytes; kept for parity.
Byte HexValue(Byte c) { return Byte(c >= 'A' ? ((c & 0xdf) - 'A') + 10 : c - '0'); }
Byte HexPair(Byte hi, Byte lo) { return Byte(HexValue(hi) * 16 + HexValue(lo)); }

// The value of up to three octal digits (callers validated them).
unsigned Octal(std::string_view digits) {
  unsigned v = 0;
  for (char c : digits) v = v * 8 + unsigned(c - '0');
  return v;
}

// The byte of the C escape \a \b \f \n \r \t \v named by `e`, or -1.
int ControlEscape(Byte e) {
  constexpr std::string_view kNames = "abfnrtv";
  constexpr std::string_view kBytes = "\a\b\f\n\r\t\v";
  const auto k = kNames.find(char(e));
  return k == std::string_view::npos ? -1 : kBytes[k];
}

void AppendHexByte(Byte c, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.push_back(kDigits[c >> 4]);
  out.push_back(kDigits[c & 0xf]);
}

int Base64Value(Byte c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// v3 decodes with mbedtls_base64_decode (mbed TLS 3.6), which rejects the whole input on any
// invalid character (the result is then empty), allows CRLF/LF anywhere, spaces only before a
// line end or the end, and at most two trailing '='; an incomplete last quantum is dropped.
// v3 passes strlen(value), so the input ends at its first NUL. (v2 instead decoded up to the
// first invalid character.)
void Base64Decode(std::string_view in, std::string& out) {
  in = in.substr(0, in.find('\0'));
  std::size_t equals = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    bool spaces = false;
    for (; i < in.size() && in[i] == ' '; ++i) spaces = true;
    if (i == in.size()) break;
    if (in[i] == '\n' || (in[i] == '\r' && At(in, i + 1) == '\n')) continue;
    if (spaces) return;
    if (in[i] == '=') {
      if (++equals > 2) return;
    } else if (equals != 0 || Base64Value(Byte(in[i])) < 0) {
      return;
    }
  }
  std::uint32_t acc = 0;
  int digits = 0;
  equals = 0;
  for (Byte c : in) {
    if (c == '\r' || c == '\n' || c == ' ') continue;
    acc <<= 6;
    if (c == '=') {
      ++equals;
    } else {
      acc |= std::uint32_t(Base64Value(c));
    }
    if (++digits < 4) continue;
    digits = 0;
    out.push_back(char(acc >> 16));
    if (equals <= 1) out.push_back(char(acc >> 8));
    if (equals == 0) out.push_back(char(acc));
  }
}

// v3's Base64::decode_forgiven: skips every invalid byte (NULs included), ignores '=' except that
// padding after a lone sextet (4k+1 of them) empties the result. v3 then compares its last
// *decoded sextet* with '=' (61), so a final '9' (sextet 61) at such a position empties the
// result too; kept for parity.
void Base64DecodeExt(std::string_view in, std::string& out) {
  std::size_t sextets = 0;
  int last = 0;  // v3's `ch`: '=' for padding, else the byte's sextet value (-1 if invalid)
  Byte partial = 0;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const Byte c = Byte(in[k]);
    if (c == '=') {
      if (At(in, k + 1) != '=' && sextets % 4 == 1) {
        out.clear();
        return;
      }
      last = '=';
      continue;
    }
    const int v = last = Base64Value(c);
    if (v < 0) continue;
    switch (sextets++ % 4) {
      case 0:
        partial = Byte(v << 2);
        break;
      case 1:
        out.push_back(char(partial | (v >> 4)));
        partial = Byte((v & 0x0f) << 4);
        break;
      case 2:
        out.push_back(char(partial | (v >> 2)));
        partial = Byte((v & 0x03) << 6);
        break;
      default:
        out.push_back(char(partial | v));
    }
  }
  if (last == '=' && sextets % 4 == 1) out.clear();
}

void Base64Encode(std::string_view in, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    std::uint32_t v = std::uint32_t(Byte(in[i])) << 16;
    if (n > 1) v |= std::uint32_t(Byte(in[i + 1])) << 8;
    if (n > 2) v |= Byte(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(n > 1 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(n > 2 ? kAlphabet[v & 63] : '=');
  }
}

// v3's cmd_line.cc: delete \ " ' ^; a run of space , ; \t \r \n becomes one space; a space
// right before / or ( is deleted; everything else is lowercased. Leading spaces stay.
void CmdLine(std::string_view in, std::string& out) {
  bool space = false;
  for (Byte c : in) {
    switch (c) {
      case '"':
      case '\'':
      case '\\':
      case '^':
        break;  // removed, and they do not end a run of spaces
      case ' ':
      case ',':
      case ';':
      case '\t':
      case '\r':
      case '\n':
        if (!space) out.push_back(' ');
        space = true;
        break;
      case '/':
      case '(':
        if (space) out.pop_back();  // the last byte written is that space
        space = false;
        out.push_back(char(c));
        break;
      default:
        out.push_back(Lower(c));
        space = false;
    }
  }
}

// Runs of isspace() bytes become one space. (v2 also counted NBSP 0xa0 as space; v3 does not.)
void CompressWhitespace(std::string_view in, std::string& out) {
  bool space = false;
  for (Byte c : in) {
    if (!IsSpace(c)) {
      out.push_back(char(c));
      space = false;
    } else if (!space) {
      out.push_back(' ');
      space = true;
    }
  }
}

// v3's css_decode.cc: backslash + 1..6 hex digits is one byte (the last two digits; with four
// digits, or more with leading zeros, FFxx in 01..5e maps full-width ASCII down by adding 0x20),
// then one whitespace after it is swallowed; backslash + newline vanishes; backslash + anything
// else is that character; a trailing backslash is dropped.
void CssDecode(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    if (in[i] != '\\') {
      out.push_back(in[i++]);
      continue;
    }
    if (++i == n) break;
    std::size_t j = 0;
    while (j < 6 && i + j < n && IsHex(Byte(in[i + j]))) ++j;
    if (j == 0) {
      if (in[i] != '\n') out.push_back(in[i]);
      ++i;
      continue;
    }
    const Byte* h = reinterpret_cast<const Byte*>(in.data()) + i;
    Byte b = j == 1 ? HexValue(h[0]) : HexPair(h[j - 2], h[j - 1]);
    const bool full_width =
        j == 4 || (j == 5 && h[0] == '0') || (j == 6 && h[0] == '0' && h[1] == '0');
    if (full_width && b > 0x00 && b < 0x5f && IsF(h[j - 3]) && IsF(h[j - 4])) b += 0x20;
    out.push_back(char(b));
    if (i + j < n && IsSpace(Byte(in[i + j]))) ++j;
    i += j;
  }
}

// v3's escape_seq_decode.cc (ANSI C): \a \b \f \n \r \t \v \\ \? \' \", \xHH (exactly two
// digits), \ooo (one to three octal digits, the value truncated to a byte: \777 is 0xff). An
// unknown or malformed escape drops the backslash only; a trailing backslash stays.
void EscapeSeqDecode(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    if (in[i] != '\\' || i + 1 == n) {
      out.push_back(in[i++]);
      continue;
    }
    const Byte e = Byte(in[i + 1]);
    int c = ControlEscape(e);
    if (c == -1 && (e == '\\' || e == '?' || e == '\'' || e == '"')) c = e;
    if (c != -1) {
      i += 2;
    } else if (e == 'x' || e == 'X') {
      if (i + 3 < n && IsHex(Byte(in[i + 2])) && IsHex(Byte(in[i + 3]))) {
        c = HexPair(Byte(in[i + 2]), Byte(in[i + 3]));
        i += 4;
      }
    } else if (IsOctal(e)) {
      std::size_t j = 1;
      while (j < 3 && i + 1 + j < n && IsOctal(Byte(in[i + 1 + j]))) ++j;
      c = int(Octal(in.substr(i + 1, j)) & 0xff);
      i += 1 + j;
    }
    if (c == -1) {
      out.push_back(char(e));
      i += 2;
    } else {
      out.push_back(char(c));
    }
  }
}

// v3's hex_decode.cc: pairs of bytes, not validated; an odd last byte is dropped. (v3 reads past
// the buffer for a one-byte input; the secrules-language-tests expect "" there, as here.)
void HexDecode(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i + 1 < in.size(); i += 2) {
    out.push_back(char(HexPair(Byte(in[i]), Byte(in[i + 1]))));
  }
}

void HexEncode(std::string_view in, std::string& out) {
  out.reserve(in.size() * 2);
  for (Byte c : in) AppendHexByte(c, out);
}

// True when the alphanumeric run after '&' starts with `entity`, case-insensitively: v3 compares
// with strncasecmp(run, entity, strlen(entity)), so "&ltfoo;" decodes to "<" and eats "ltfoo;".
bool EntityIs(std::string_view run, std::string_view entity) {
  if (run.size() < entity.size()) return false;
  for (std::size_t k = 0; k < entity.size(); ++k) {
    if (Lower(Byte(run[k])) != entity[k]) return false;
  }
  return true;
}

// v3's html_entity_decode.cc: &#ddd and &#xhh, and the named quot amp lt gt nbsp, each with or
// without the ';'. Anything else is copied as is (an unknown name together with its '&').
// Numeric entities take every digit and keep the low byte of strtol()'s value (which saturates
// at LONG_MAX, so a huge one is 0xff), as v2 and v3 up to 3.0.12 do. v3.0.13 read at most three
// decimal or two hex digits, so "&#0000123;" escaped decoding (CVE-2025-27110); v3.0.14 fixed
// that, and the secrules-language-tests expect "&#000...000123;" to give "{".
void HtmlEntityDecode(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    std::size_t copy = 1;
    if (in[i] == '&' && i + 1 < n) {
      std::size_t j = i + 1;
      int value = -1;
      if (in[j] == '#') {
        copy = 2;
        const bool hex = j + 1 < n && (in[j + 1] == 'x' || in[j + 1] == 'X');
        if (hex) copy = 3;
        if (j + copy - 1 < n) {
          j += copy - 1;  // the first digit
          const std::size_t k = j;
          const std::uint64_t base = hex ? 16 : 10;
          std::uint64_t v = 0;
          for (; j < n && (hex ? IsHex(Byte(in[j])) : IsDigit(Byte(in[j]))); ++j) {
            const std::uint64_t d = HexValue(Byte(in[j]));
            v = v <= (kLongMax - d) / base ? v * base + d : kLongMax;
          }
          if (j > k) value = int(v & 0xff);
        }
      } else {
        while (j < n && IsAlnum(Byte(in[j]))) ++j;
        const std::string_view run = in.substr(i + 1, j - i - 1);
        if (EntityIs(run, "quot")) {
          value = '"';
        } else if (EntityIs(run, "amp")) {
          value = '&';
        } else if (EntityIs(run, "lt")) {
          value = '<';
        } else if (EntityIs(run, "gt")) {
          value = '>';
        } else if (EntityIs(run, "nbsp")) {
          value = kNbsp;
        } else {
          copy = run.size() + 1;
        }
      }
      if (value >= 0) {
        out.push_back(char(value));
        i = j < n && in[j] == ';' ? j + 1 : j;
        continue;
      }
    }
    out.append(in.substr(i, copy));
    i += copy;
  }
}

// v3's js_decode.cc: \uHHHH (the low byte; FFxx in 01..5e is full-width ASCII, mapped down by
// adding 0x20), \xHH, \ooo (up to three octal digits while the value fits a byte), the C escapes
// \a \b \f \n \r \t \v, and \c for any other c (so "\u12" is "u12"); a trailing backslash stays.
void JsDecode(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  const auto hex = [&](std::size_t k) { return IsHex(At(in, k)); };
  std::size_t i = 0;
  while (i < n) {
    if (in[i] != '\\' || i + 1 == n) {
      out.push_back(in[i++]);
      continue;
    }
    const Byte e = Byte(in[i + 1]);
    if (e == 'u' && i + 5 < n && hex(i + 2) && hex(i + 3) && hex(i + 4) && hex(i + 5)) {
      Byte b = HexPair(Byte(in[i + 4]), Byte(in[i + 5]));
      if (b > 0x00 && b < 0x5f && IsF(Byte(in[i + 2])) && IsF(Byte(in[i + 3]))) b += 0x20;
      out.push_back(char(b));
      i += 6;
    } else if (e == 'x' && i + 3 < n && hex(i + 2) && hex(i + 3)) {
      out.push_back(char(HexPair(Byte(in[i + 2]), Byte(in[i + 3]))));
      i += 4;
    } else if (IsOctal(e)) {
      std::size_t j = 1;
      while (j < 3 && i + 1 + j < n && IsOctal(Byte(in[i + 1 + j]))) ++j;
      if (j == 3 && e > '3') j = 2;  // \477 would not fit a byte: take \47
      out.push_back(char(Octal(in.substr(i + 1, j))));
      i += 1 + j;
    } else {
      const int c = ControlEscape(e);  // \?, \\, \' and \" are just the character
      out.push_back(c == -1 ? char(e) : char(c));
      i += 2;
    }
  }
}

void Length(std::string_view in, std::string& out) {
  std::array<char, 24> buf;
  const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), in.size()).ptr;
  out.append(buf.data(), end);
}

// v3's normalise_path.cc (NormalisePath::normalize_path_inplace), run in place on a copy of the
// input as v3 does, with indices instead of pointers: removes "./" and "//", resolves "../"
// against the previous segment without going above the root (a relative path keeps its leading
// "../"), and keeps a trailing slash only if the input had one. `win` first turns backslashes
// into slashes.
void NormalizePath(std::string_view in, std::string& out, bool win) {
  out.assign(in);
  if (out.empty()) return;
  char* p = out.data();
  const auto slash = [&](char c) { return c == '/' || (win && c == '\\'); };
  const std::ptrdiff_t end = std::ptrdiff_t(out.size()) - 1;
  const bool relative = !slash(p[0]);
  const bool trailing = slash(p[end]);
  std::ptrdiff_t src = 0;
  std::ptrdiff_t dst = 0;
  bool hitroot = false;
  bool done = false;
  while (!done && src <= end && dst <= end) {
    if (win) {
      if (p[src] == '\\') p[src] = '/';
      if (src < end && p[src + 1] == '\\') p[src + 1] = '/';
    }
    bool normalize = true;  // only at the end of a segment (or of the input)
    if (src == end) {
      done = true;
    } else if (p[src + 1] != '/') {
      normalize = false;
    }
    if (normalize && !(src != end && p[src] == '/')) {
      if (p[src] == '.') {
        if (dst > 0 && p[dst - 1] == '.') {  // "..": drop it and the previous segment
          if (relative && (hitroot || dst - 2 <= 0)) {
            hitroot = true;  // nothing left to remove: keep the ".."
          } else {
            dst -= 3;
            while (dst > 0 && p[dst] != '/') --dst;
            if (dst <= 0) {
              hitroot = true;
              dst = (!relative && src == end) ? 1 : 0;  // keep the root slash
            }
            if (done) break;
            ++src;
          }
        } else if (dst == 0) {  // "./" at the start of a relative path
          if (done) break;
          ++src;
        } else if (p[dst - 1] == '/') {  // "/./"
          if (done) break;
          --dst;
          ++src;
        }
      } else if (dst > 0) {
        hitroot = false;  // a regular segment
      }
    }
    if (p[src] == '/') {
      while (src < end && slash(p[src + 1])) ++src;  // "//" collapses to the last slash
      if (relative && dst == 0) {
        ++src;  // a relative path does not start with a slash
        continue;
      }
    }
    p[dst++] = p[src++];
  }
  if (!trailing && dst > 0 && p[dst - 1] == '/') --dst;
  out.resize(std::size_t(dst));
}

// v2 and v3 compute the parity over all eight bits (not the low seven) before setting bit 7.
void Parity(std::string_view in, std::string& out, bool even) {
  for (Byte c : in) {
    const Byte nibble = (c ^ (c >> 4)) & 0x0f;
    const bool odd_bits = (0x6996 >> nibble) & 1;
    out.push_back(char(odd_bits == even ? c | 0x80 : c & 0x7f));
  }
}

// v3's remove_comments.cc: drops /* */ and <!-- --> (either opener closes with either closer);
// an unterminated comment becomes one space; "--" or "#" outside a comment ends the value. After
// a closer v3 copies the next byte without looking at it, so "/*a*/#x" keeps "#x", and a closer at
// the very end copies the string's NUL terminator: "a/*b*/" gives "a\0". Kept for parity.
void RemoveComments(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  bool in_comment = false;
  std::size_t i = 0;
  while (i < n) {
    const char c = in[i];
    if (!in_comment) {
      if (c == '/' && At(in, i + 1) == '*') {
        in_comment = true;
        i += 2;
      } else if (c == '<' && At(in, i + 1) == '!' && At(in, i + 2) == '-' && At(in, i + 3) == '-') {
        in_comment = true;
        i += 4;
      } else if ((c == '-' && At(in, i + 1) == '-') || c == '#') {
        break;
      } else {
        out.push_back(c);
        ++i;
      }
    } else if (c == '*' && At(in, i + 1) == '/') {
      in_comment = false;
      out.push_back(char(At(in, i + 2)));
      i += 3;
    } else if (c == '-' && At(in, i + 1) == '-' && At(in, i + 2) == '>') {
      in_comment = false;
      out.push_back(char(At(in, i + 3)));
      i += 4;
    } else {
      ++i;
    }
  }
  if (in_comment) out.push_back(' ');
}

// v3's remove_comments_char.cc: deletes the markers /* */ <!-- --> -- # and keeps the text.
void RemoveCommentsChar(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const std::string_view rest = in.substr(i);
    if (rest.starts_with("/*") || rest.starts_with("*/")) {
      i += 2;
    } else if (rest.starts_with("<!--")) {
      i += 4;
    } else if (rest.starts_with("-->")) {
      i += 3;
    } else if (rest.starts_with("--")) {
      i += 2;
    } else if (rest[0] == '#') {
      i += 1;
    } else {
      out.push_back(in[i++]);
    }
  }
}

// v3's remove_whitespace.cc: isspace() bytes, NBSP (0xa0) and also every 0xc2 byte (the lead
// byte of UTF-8 NBSP, and of every other U+0080..U+00BF). v2 removed only isspace() and 0xa0.
void RemoveWhitespace(std::string_view in, std::string& out) {
  for (Byte c : in) {
    if (!IsSpace(c) && c != kNbsp && c != 0xc2) out.push_back(char(c));
  }
}

// v3's replace_comments.cc: each /* */ comment, or an unterminated one, becomes one space.
void ReplaceComments(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  bool in_comment = false;
  std::size_t i = 0;
  while (i < n) {
    if (!in_comment && in[i] == '/' && At(in, i + 1) == '*') {
      in_comment = true;
      i += 2;
    } else if (!in_comment) {
      out.push_back(in[i++]);
    } else if (in[i] == '*' && At(in, i + 1) == '/') {
      in_comment = false;
      out.push_back(' ');
      i += 2;
    } else {
      ++i;
    }
  }
  if (in_comment) out.push_back(' ');
}

// v3's sql_hex_decode.cc: 0x (or 0X) followed by hex pairs decodes the pairs; an odd digit left
// over is copied. "0x" without two hex digits is copied as is.
void SqlHexDecode(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  const auto hex = [&](std::size_t k) { return IsHex(At(in, k)); };
  std::size_t i = 0;
  while (i < n) {
    if (i + 3 < n && in[i] == '0' && (in[i + 1] == 'x' || in[i + 1] == 'X') && hex(i + 2) &&
        hex(i + 3)) {
      i += 2;
      do {
        out.push_back(char(HexPair(Byte(in[i]), Byte(in[i + 1]))));
        i += 2;
      } while (i + 1 < n && hex(i) && hex(i + 1));
    } else {
      out.push_back(in[i++]);
    }
  }
}

void Trim(std::string_view in, std::string& out, bool left, bool right) {
  std::size_t b = 0;
  std::size_t e = in.size();
  while (left && b < e && IsSpace(Byte(in[b]))) ++b;
  while (right && e > b && IsSpace(Byte(in[e - 1]))) --e;
  out.append(in.substr(b, e - b));
}

// v3's urlDecode (utils::urldecode_nonstrict_inplace) and urlDecodeUni: '+' is a space, %xx with
// two hex digits a byte, anything else (a lone or truncated '%') is copied. With `uni`, %uXXXX
// (or %UXXXX) is its low byte, except full-width ASCII FF01..FF5E, which becomes 0x21..0x7e; a
// malformed %u copies "%u" and goes on after it. v3 can instead map %u through a
// SecUnicodeMapFile table; rampart has no such directive, which is v3's default.
void UrlDecode(std::string_view in, std::string& out, bool uni) {
  const std::size_t n = in.size();
  const auto hex = [&](std::size_t k) { return IsHex(At(in, k)); };
  std::size_t i = 0;
  while (i < n) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
      ++i;
    } else if (c != '%') {
      out.push_back(c);
      ++i;
    } else if (uni && (At(in, i + 1) == 'u' || At(in, i + 1) == 'U')) {
      if (i + 5 < n && hex(i + 2) && hex(i + 3) && hex(i + 4) && hex(i + 5)) {
        Byte b = HexPair(Byte(in[i + 4]), Byte(in[i + 5]));
        if (b > 0x00 && b < 0x5f && IsF(Byte(in[i + 2])) && IsF(Byte(in[i + 3]))) b += 0x20;
        out.push_back(char(b));
        i += 6;
      } else {
        out.append(in.substr(i, 2));
        i += 2;
      }
    } else if (i + 2 < n && hex(i + 1) && hex(i + 2)) {
      out.push_back(char(HexPair(Byte(in[i + 1]), Byte(in[i + 2]))));
      i += 3;
    } else {
      out.push_back(c);
      ++i;
    }
  }
}

// v3's url_encode.cc: keeps only '*' and ASCII letters and digits, a space becomes '+', every
// other byte %xx in lower case.
void UrlEncode(std::string_view in, std::string& out) {
  for (Byte c : in) {
    if (c == ' ') {
      out.push_back('+');
    } else if (c == '*' || IsAlnum(c)) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      AppendHexByte(c, out);
    }
  }
}

// "%u" and the code point in lower-case hex, at least four digits ("%u00e9", "%u1f600").
void AppendCodePoint(std::uint32_t d, std::string& out) {
  std::array<char, 8> buf;
  const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), d, 16).ptr;
  out += "%u";
  out.append(std::size_t(std::max<std::ptrdiff_t>(0, 4 - (end - buf.data()))), '0');
  out.append(buf.data(), end);
}

// v3's utf8_to_unicode.cc. A well-formed 2-, 3- or 4-byte sequence becomes %uXXXX. Its quirks,
// kept for parity: after an overlong form or a surrogate (U+D800..DFFF) the lead byte is also
// copied raw ("\xc0\xaf" gives "%u002f\xc0"); a lead byte F5..F7 is copied raw before the
// sequence is decoded anyway; a lead byte whose continuation bytes are missing or wrong is
// dropped (they are then copied, like any stray byte 80..BF or F8..FF); a NUL is dropped unless
// it is the last byte.
void Utf8ToUnicode(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  const auto cont = [&](std::size_t k) { return (At(in, k) & 0xc0) == 0x80; };
  const auto low6 = [&](std::size_t k) { return std::uint32_t(Byte(in[k]) & 0x3f); };
  std::size_t i = 0;
  while (i < n) {
    const Byte c = Byte(in[i]);
    std::size_t len = 0;  // of a well-formed sequence
    std::uint32_t d = 0;
    if (c < 0x80) {
      if (c != 0 || i + 1 == n) out.push_back(char(c));
    } else if ((c & 0xe0) == 0xc0) {
      if (cont(i + 1)) {
        len = 2;
        d = (std::uint32_t(c & 0x1f) << 6) | low6(i + 1);
      }
    } else if ((c & 0xf0) == 0xe0) {
      if (cont(i + 1) && cont(i + 2)) {
        len = 3;
        d = (std::uint32_t(c & 0x0f) << 12) | (low6(i + 1) << 6) | low6(i + 2);
      }
    } else if ((c & 0xf8) == 0xf0) {
      if (c >= 0xf5) out.push_back(char(c));
      if (cont(i + 1) && cont(i + 2) && cont(i + 3)) {
        len = 4;
        d = (std::uint32_t(c & 0x07) << 18) | (low6(i + 1) << 12) | (low6(i + 2) << 6) |
            low6(i + 3);
      }
    } else {
      out.push_back(char(c));
    }
    if (len > 0) AppendCodePoint(d, out);
    if (d >= 0xd800 && d <= 0xdfff) out.push_back(char(c));
    if ((len == 4 && d < 0x10000) || (len == 3 && d < 0x800) || (len == 2 && d < 0x80)) {
      out.push_back(char(c));
    }
    i += len > 0 ? len : 1;
  }
}

// md5 and sha1 with OpenSSL 3's EVP: each algorithm is fetched once, the context is reused per
// thread, and the digest is binary (16 or 20 bytes), as v3's.
using MdPtr = std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)>;

void Digest(const EVP_MD* md, std::string_view in, std::string& out) {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (md != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
      EVP_DigestUpdate(ctx.get(), in.data(), in.size()) == 1 &&
      EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1) {
    out.append(reinterpret_cast<const char*>(digest), size);
  }
}

void Md5(std::string_view in, std::string& out) {
  static const MdPtr md(EVP_MD_fetch(nullptr, "MD5", nullptr), &EVP_MD_free);
  Digest(md.get(), in, out);
}

void Sha1(std::string_view in, std::string& out) {
  static const MdPtr md(EVP_MD_fetch(nullptr, "SHA1", nullptr), &EVP_MD_free);
  Digest(md.get(), in, out);
}

// The one-line transformations, and the variants of the shared ones.
void Copy(std::string_view in, std::string& out) { out.assign(in); }
void Lowercase(std::string_view in, std::string& out) {
  for (Byte c : in) out.push_back(Lower(c));
}
void Uppercase(std::string_view in, std::string& out) {
  for (Byte c : in) out.push_back(Upper(c));
}
void RemoveNulls(std::string_view in, std::string& out) {
  for (char c : in) {
    if (c != '\0') out.push_back(c);
  }
}
void ReplaceNulls(std::string_view in, std::string& out) {
  for (char c : in) out.push_back(c == '\0' ? ' ' : c);
}
void ParityZero7bit(std::string_view in, std::string& out) {
  for (Byte c : in) out.push_back(char(c & 0x7f));
}
void ParityEven7bit(std::string_view in, std::string& out) { Parity(in, out, true); }
void ParityOdd7bit(std::string_view in, std::string& out) { Parity(in, out, false); }
void NormalizePathUnix(std::string_view in, std::string& out) { NormalizePath(in, out, false); }
void NormalizePathWin(std::string_view in, std::string& out) { NormalizePath(in, out, true); }
void TrimBoth(std::string_view in, std::string& out) { Trim(in, out, true, true); }
void TrimLeft(std::string_view in, std::string& out) { Trim(in, out, true, false); }
void TrimRight(std::string_view in, std::string& out) { Trim(in, out, false, true); }
void UrlDecodePlain(std::string_view in, std::string& out) { UrlDecode(in, out, false); }
void UrlDecodeUni(std::string_view in, std::string& out) { UrlDecode(in, out, true); }

struct Entry {
  std::string_view name;  // canonical SecLang name
  TransformId id;
  void (*apply)(std::string_view in, std::string& out);  // appends to an empty `out`
};

// In TransformId order: ApplyTransform and TransformName index it.
constexpr Entry kTransforms[] = {
    {"none", TransformId::kNone, Copy},
    {"base64Decode", TransformId::kBase64Decode, Base64Decode},
    {"base64DecodeExt", TransformId::kBase64DecodeExt, Base64DecodeExt},
    {"base64Encode", TransformId::kBase64Encode, Base64Encode},
    {"cmdLine", TransformId::kCmdLine, CmdLine},
    {"compressWhitespace", TransformId::kCompressWhitespace, CompressWhitespace},
    {"cssDecode", TransformId::kCssDecode, CssDecode},
    {"escapeSeqDecode", TransformId::kEscapeSeqDecode, EscapeSeqDecode},
    {"hexDecode", TransformId::kHexDecode, HexDecode},
    {"hexEncode", TransformId::kHexEncode, HexEncode},
    {"htmlEntityDecode", TransformId::kHtmlEntityDecode, HtmlEntityDecode},
    {"jsDecode", TransformId::kJsDecode, JsDecode},
    {"length", TransformId::kLength, Length},
    {"lowercase", TransformId::kLowercase, Lowercase},
    {"md5", TransformId::kMd5, Md5},
    {"normalizePath", TransformId::kNormalizePath, NormalizePathUnix},
    {"normalizePathWin", TransformId::kNormalizePathWin, NormalizePathWin},
    {"parityEven7bit", TransformId::kParityEven7bit, ParityEven7bit},
    {"parityOdd7bit", TransformId::kParityOdd7bit, ParityOdd7bit},
    {"parityZero7bit", TransformId::kParityZero7bit, ParityZero7bit},
    {"removeComments", TransformId::kRemoveComments, RemoveComments},
    {"removeCommentsChar", TransformId::kRemoveCommentsChar, RemoveCommentsChar},
    {"removeNulls", TransformId::kRemoveNulls, RemoveNulls},
    {"removeWhitespace", TransformId::kRemoveWhitespace, RemoveWhitespace},
    {"replaceComments", TransformId::kReplaceComments, ReplaceComments},
    {"replaceNulls", TransformId::kReplaceNulls, ReplaceNulls},
    {"sha1", TransformId::kSha1, Sha1},
    {"sqlHexDecode", TransformId::kSqlHexDecode, SqlHexDecode},
    {"trim", TransformId::kTrim, TrimBoth},
    {"trimLeft", TransformId::kTrimLeft, TrimLeft},
    {"trimRight", TransformId::kTrimRight, TrimRight},
    {"uppercase", TransformId::kUppercase, Uppercase},
    {"urlDecode", TransformId::kUrlDecode, UrlDecodePlain},
    {"urlDecodeUni", TransformId::kUrlDecodeUni, UrlDecodeUni},
    {"urlEncode", TransformId::kUrlEncode, UrlEncode},
    {"utf8toUnicode", TransformId::kUtf8ToUnicode, Utf8ToUnicode},
};

constexpr bool InIdOrder() {
  for (std::size_t i = 0; i < std::size(kTransforms); ++i) {
    if (std::size_t(kTransforms[i].id) != i) return false;
  }
  return std::size(kTransforms) == std::size_t(TransformId::kUtf8ToUnicode) + 1;
}
static_assert(InIdOrder());

// normalisePath and normalisePathWin from v3's lexer; cmd_line and compress_whitespace from v3's
// Transformation::instantiate() (used by its Lua API and its unit tests).
constexpr std::pair<std::string_view, TransformId> kAliases[] = {
    {"normalisePath", TransformId::kNormalizePath},
    {"normalisePathWin", TransformId::kNormalizePathWin},
    {"cmd_line", TransformId::kCmdLine},
    {"compress_whitespace", TransformId::kCompressWhitespace},
};

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(Byte(a[i])) != Lower(Byte(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::optional<TransformId> FindTransform(std::string_view name) noexcept {
  for (const auto& entry : kTransforms) {
    if (EqualsNoCase(entry.name, name)) return entry.id;
  }
  for (const auto& [alias, id] : kAliases) {
    if (EqualsNoCase(alias, name)) return id;
  }
  return std::nullopt;
}

std::string_view TransformName(TransformId id) noexcept {
  const auto i = std::size_t(id);
  return i < std::size(kTransforms) ? kTransforms[i].name : std::string_view();
}

bool TransformKeeps(TransformId id, std::string_view in) noexcept {
  // Each test is what the transformation acts on: without it, the output is the input.
  const auto has = [&](char c) { return in.find(c) != std::string_view::npos; };
  const auto none_of = [&](auto pred) {
    for (char c : in) {
      if (pred(Byte(c))) return false;
    }
    return true;
  };
  switch (id) {
    case TransformId::kNone:
      return true;
    case TransformId::kUrlDecode:
    case TransformId::kUrlDecodeUni:
      return !has('%') && !has('+');
    case TransformId::kLowercase:
      return none_of([](Byte c) { return c >= 'A' && c <= 'Z'; });
    case TransformId::kUppercase:
      return none_of([](Byte c) { return c >= 'a' && c <= 'z'; });
    case TransformId::kHtmlEntityDecode:
      return !has('&');
    case TransformId::kJsDecode:
    case TransformId::kCssDecode:
    case TransformId::kEscapeSeqDecode:
      return !has('\\');
    case TransformId::kRemoveNulls:
    case TransformId::kReplaceNulls:
      return !has('\0');
    case TransformId::kUtf8ToUnicode:
      return none_of([](Byte c) { return c == 0 || c >= 0x80; });
    case TransformId::kRemoveWhitespace:
      return none_of([](Byte c) { return IsSpace(c) || c == kNbsp || c == 0xc2; });
    case TransformId::kCompressWhitespace:
      // Only single spaces: each run of whitespace becomes one ' '.
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (IsSpace(Byte(in[i])) &&
            (in[i] != ' ' || (i + 1 < in.size() && IsSpace(Byte(in[i + 1]))))) {
          return false;
        }
      }
      return true;
    case TransformId::kReplaceComments:
      return in.find("/*") == std::string_view::npos;
    default:
      return false;
  }
}

bool ApplyTransform(TransformId id, std::string_view in, std::string& out) {
  const auto i = std::size_t(id);
  out.clear();
  out.reserve(in.size());  // the bound of every transformation but the encoders
  (i < std::size(kTransforms) ? kTransforms[i].apply : Copy)(in, out);
  return std::string_view(out) != in;
}

}  // namespace rampart::waf
