// libFuzzer target: arbitrary bytes through every SecLang transformation, and as a transformation
// name. No crash, no read out of bounds, bounded time, and:
// - `changed` is exactly "the output differs from the input"; a reused output buffer gives the
//   same result as a fresh one;
// - none copies; length is the decimal size; md5/sha1 are 16/20 bytes;
// - sizes: the encoders' outputs have their exact or bounded length (utf8toUnicode at most the
//   4n+1 ModSecurity v3 allocates), every other transformation never grows its input;
// - contents: what a transformation removes or folds (case, NULs, whitespace, comment markers,
//   high bits) is gone from its output, and the folding ones are idempotent;
// - round trips: hex, base64 (both decoders) and url (both decoders) undo their encoders.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gates/waf/transform.h"

namespace {

using rampart::waf::ApplyTransform;
using rampart::waf::TransformId;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

bool NoneOf(std::string_view s, std::string_view bytes) {
  return s.find_first_of(bytes) == std::string_view::npos;
}

// Applies `id` and checks the invariants every transformation shares.
const std::string& Run(TransformId id, std::string_view in) {
  static std::string out;  // reused across calls, as the engine does
  static std::string fresh;
  const bool changed = ApplyTransform(id, in, out);
  Check(changed == (std::string_view(out) != in));
  fresh = std::string();
  Check(ApplyTransform(id, in, fresh) == changed && fresh == out);
  // TransformKeeps may only say "unchanged" when it is.
  Check(!rampart::waf::TransformKeeps(id, in) || !changed);
  return out;
}

void CheckOne(TransformId id, std::string_view in) {
  const std::string out = Run(id, in);
  const std::size_t n = in.size();
  switch (id) {
    case TransformId::kNone:
      Check(out == in);
      break;
    case TransformId::kLength:
      Check(out == std::to_string(n));
      break;
    case TransformId::kMd5:
      Check(out.size() == 16);
      break;
    case TransformId::kSha1:
      Check(out.size() == 20);
      break;
    case TransformId::kHexEncode:
      Check(out.size() == 2 * n && out.find_first_not_of("0123456789abcdef") == std::string::npos);
      Check(Run(TransformId::kHexDecode, out) == in);
      break;
    case TransformId::kBase64Encode:
      Check(out.size() == (n + 2) / 3 * 4);
      Check(Run(TransformId::kBase64Decode, out) == in);
      Check(Run(TransformId::kBase64DecodeExt, out) == in);
      break;
    case TransformId::kUrlEncode:
      Check(out.size() <= 3 * n);
      Check(Run(TransformId::kUrlDecode, out) == in);
      Check(Run(TransformId::kUrlDecodeUni, out) == in);
      break;
    case TransformId::kUtf8ToUnicode:
      Check(out.size() <= 4 * n + 1);
      break;
    default:
      Check(out.size() <= n);
  }
  switch (id) {
    case TransformId::kLowercase:
    case TransformId::kUppercase:
    case TransformId::kParityEven7bit:
    case TransformId::kParityOdd7bit:
    case TransformId::kParityZero7bit:
    case TransformId::kReplaceNulls:
      Check(out.size() == n);
      break;
    default:
      break;
  }
  const auto idempotent = [&] { Check(Run(id, out) == out); };
  switch (id) {
    case TransformId::kLowercase:
      Check(NoneOf(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
      idempotent();
      break;
    case TransformId::kUppercase:
      Check(NoneOf(out, "abcdefghijklmnopqrstuvwxyz"));
      idempotent();
      break;
    case TransformId::kParityZero7bit:
      for (unsigned char c : out) Check(c < 0x80);
      break;
    case TransformId::kRemoveNulls:
    case TransformId::kReplaceNulls:
      Check(out.find('\0') == std::string::npos);
      idempotent();
      break;
    case TransformId::kRemoveWhitespace:
      Check(NoneOf(out, " \t\n\v\f\r\xa0\xc2"));
      idempotent();
      break;
    case TransformId::kCompressWhitespace:
      Check(NoneOf(out, "\t\n\v\f\r") && out.find("  ") == std::string::npos);
      idempotent();
      break;
    case TransformId::kCmdLine:
      Check(NoneOf(out, "\"'\\^,;\t\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ"));
      Check(out.find("  ") == std::string::npos && out.find(" /") == std::string::npos &&
            out.find(" (") == std::string::npos);
      idempotent();
      break;
    case TransformId::kRemoveCommentsChar:
      Check(NoneOf(out, "#"));
      break;
    case TransformId::kTrim:
      Check(out.empty() || (!IsSpace(out.front()) && !IsSpace(out.back())));
      idempotent();
      break;
    case TransformId::kTrimLeft:
      Check(out.empty() || !IsSpace(out.front()));
      idempotent();
      break;
    case TransformId::kTrimRight:
      Check(out.empty() || !IsSpace(out.back()));
      idempotent();
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i <= int(TransformId::kUtf8ToUnicode); ++i) CheckOne(TransformId(i), in);
  if (const auto id = rampart::waf::FindTransform(in)) {
    Check(rampart::waf::FindTransform(rampart::waf::TransformName(*id)) == id);
  }
  return 0;
}
