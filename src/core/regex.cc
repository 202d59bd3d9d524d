#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/regex.h"

#include <pcre2.h>

namespace rampart {
namespace {

struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

}  // namespace

std::unique_ptr<Regex> Regex::Compile(std::string_view pattern, std::string* error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0,
                                 &code, &offset, nullptr);
  if (re == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(code, buf, sizeof(buf));
    if (error) {
      *error =
          std::string(reinterpret_cast<const char*>(buf)) + " at offset " + std::to_string(offset);
    }
    return nullptr;
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is absent
  std::unique_ptr<Regex> out(new Regex());
  out->pattern_ = std::string(pattern);
  out->code_ = re;
  return out;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool Regex::Matches(std::string_view subject) const noexcept {
  thread_local MatchData md;
  int rc = pcre2_match(static_cast<const pcre2_code*>(code_),
                       reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, md.data,
                       nullptr);
  return rc >= 0;
}

}  // namespace rampart
