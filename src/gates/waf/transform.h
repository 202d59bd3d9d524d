// SecLang transformation functions (the `t:` actions), with the byte-exact behaviour of
// ModSecurity v3 (libmodsecurity, src/actions/transformations/), quirks included, so that rules
// written and tested against v3 (the OWASP CRS) see the same values here. Where v3 differs from
// ModSecurity v2, v3 is followed and the code says so. Pure functions, no I/O, fuzzed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::waf {

enum class TransformId : std::uint8_t {
  kNone,
  kBase64Decode,
  kBase64DecodeExt,
  kBase64Encode,
  kCmdLine,
  kCompressWhitespace,
  kCssDecode,
  kEscapeSeqDecode,
  kHexDecode,
  kHexEncode,
  kHtmlEntityDecode,
  kJsDecode,
  kLength,
  kLowercase,
  kMd5,
  kNormalizePath,
  kNormalizePathWin,
  kParityEven7bit,
  kParityOdd7bit,
  kParityZero7bit,
  kRemoveComments,
  kRemoveCommentsChar,
  kRemoveNulls,
  kRemoveWhitespace,
  kReplaceComments,
  kReplaceNulls,
  kSha1,
  kSqlHexDecode,
  kTrim,
  kTrimLeft,
  kTrimRight,
  kUppercase,
  kUrlDecode,
  kUrlDecodeUni,
  kUrlEncode,
  kUtf8ToUnicode,
};

// lowercase and uppercase: ASCII case changes, which the prefilter's case-folded signatures do
// not see.
constexpr bool IsCaseChange(TransformId t) noexcept {
  return t == TransformId::kLowercase || t == TransformId::kUppercase;
}

// Looks a transformation up by its SecLang name as written after `t:` (e.g. "urlDecodeUni").
// ASCII case-insensitive, as ModSecurity v3's lexer (seclang-scanner.ll writes every name as
// (?i:t:name)), so CRS's `t:base64decode` resolves. Aliases: normalisePath and normalisePathWin
// (v3's lexer), cmd_line and compress_whitespace (v3's Transformation::instantiate, which its Lua
// API and unit tests use; its SecLang lexer does not). nullopt for an unknown name.
std::optional<TransformId> FindTransform(std::string_view name) noexcept;

// The canonical SecLang name ("urlDecodeUni", "normalizePath"); "" for an out-of-range id.
std::string_view TransformName(TransformId id) noexcept;

// Applies one transformation to `in`, writing the result into `out` (cleared first; its capacity
// is reused, so a caller that keeps `out` between calls does not allocate once it is large
// enough). `in` must not point into `out`. kNone (and an id out of range) copies.
//
// Returns true when the result differs from the input: the "changed" flag multiMatch uses. v3
// computes that flag per transformation and it sometimes disagrees with the bytes (cmdLine and
// compressWhitespace report only length changes, so "ABC" -> "abc" is "unchanged" there;
// base64*, hex*, md5, sha1, length and parity* report every non-empty input as changed, and
// lowercase/uppercase every input with a byte >= 0x80; cssDecode "\q" -> "q" and utf8toUnicode
// dropping a NUL are "unchanged"). Here it is always the comparison, which is what multiMatch
// means.
//
// Nothing is thrown but std::bad_alloc when `out` cannot grow. md5 and sha1 use OpenSSL's EVP
// interface; if it fails (e.g. MD5 unavailable under a FIPS-only provider) `out` is left empty.
bool ApplyTransform(TransformId id, std::string_view in, std::string& out);
// True when `id` is certain to leave `in` as it is (a URL decode of a value without '%' or '+',
// lowercase of one without capitals, ...), so callers can skip the copy. False means "may
// change it", never "will".
bool TransformKeeps(TransformId id, std::string_view in) noexcept;

}  // namespace rampart::waf
