// libFuzzer target: a pattern (the input's first line) and a subject (the rest). No crash, no
// read out of bounds, and the prefilter is sound: when PCRE2, compiled as the WAF compiles @rx
// (PCRE2_DOTALL | PCRE2_MULTILINE), matches the subject, the subject's signature admits one of
// the pattern's required literals.
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gates/waf/literal_prefilter.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return 0;
  const std::string_view pattern = in.substr(0, nl), subject = in.substr(nl + 1);
  const auto prefilter = rampart::waf::LiteralPrefilter::For(pattern);
  if (!prefilter) return 0;
  int code_error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_DOTALL | PCRE2_MULTILINE, &code_error, &offset, nullptr);
  if (code == nullptr) return 0;
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context, 100000);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                             0, md, context);
  if (rc >= 0 && !prefilter->MayMatch(rampart::waf::Signature::Of(subject))) __builtin_trap();
  pcre2_match_data_free(md);
  pcre2_match_context_free(context);
  pcre2_code_free(code);
  return 0;
}
