#include "gates/waf/operator_pcre.h"

namespace rampart::waf {

namespace {
thread_local RegexStatus tls_last_status = RegexStatus::kOk;
}  // namespace

RegexStatus LastRegexStatus() noexcept { return tls_last_status; }

namespace op_internal {

void SetLastRegexStatus(RegexStatus status) noexcept { tls_last_status = status; }

namespace {

// One match data block per thread, big enough for TX.0..TX.9, made on the thread's first search.
// A pattern with more groups still matches (pcre2_match returns 0: "ovector too small") and the
// first ten pairs are filled. The interpreter keeps its backtracking frames in this block too, so
// after warming up a search allocates nothing.
struct ThreadMatchData {
  pcre2_match_data* data = nullptr;
  ~ThreadMatchData() { pcre2_match_data_free(data); }
  pcre2_match_data* Get() noexcept {
    if (data == nullptr) data = pcre2_match_data_create(CompiledRegex::kMaxPairs, nullptr);
    return data;
  }
};
thread_local ThreadMatchData tls_match_data;

std::string ErrorText(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof buffer) < 0) {
    return "error " + std::to_string(code);
  }
  return std::string(reinterpret_cast<const char*>(buffer));
}

}  // namespace

std::unique_ptr<CompiledRegex> CompiledRegex::Compile(std::string_view pattern,
                                                      std::string* error) {
  // v3 (Regex::Regex): an empty pattern becomes ".*"; options DOTALL | MULTILINE and nothing else,
  // so '$' also matches before a final newline and '.' crosses newlines.
  if (pattern.empty()) pattern = ".*";
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_DOTALL | PCRE2_MULTILINE, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    *error = ErrorText(error_code) + " at offset " + std::to_string(error_offset);
    return nullptr;
  }
  // As v3: a pattern the JIT cannot take (or an out-of-memory JIT) is run by the interpreter.
  // Matches go straight to pcre2_jit_match only when there is JIT code ((*NO_JIT) compiles
  // "successfully" to none) and the pattern is not in UTF mode ((*UTF) turns it on, and
  // pcre2_jit_match does not check that the subject is valid UTF-8, as pcre2_match does).
  bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  std::size_t jit_size = 0;
  std::uint32_t options = 0;
  if (pcre2_pattern_info(code, PCRE2_INFO_JITSIZE, &jit_size) != 0 || jit_size == 0 ||
      pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &options) != 0 ||
      (options & PCRE2_UTF) != 0) {
    jit = false;
  }
  return std::unique_ptr<CompiledRegex>(new CompiledRegex(code, jit));
}

CompiledRegex::~CompiledRegex() { pcre2_code_free(code_); }

RegexOutcome CompiledRegex::Search(std::string_view subject, std::size_t start,
                                   std::uint32_t options, pcre2_match_context* context,
                                   const PCRE2_SIZE** ovector, int* pairs) const noexcept {
  pcre2_match_data* md = tls_match_data.Get();
  if (md == nullptr) return RegexOutcome::kError;
  // PCRE2 10.42 refuses a null subject even when it is empty.
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data() != nullptr ? subject.data() : "");
  // pcre2_match runs the JIT code when there is some and the options allow it (PCRE2_ANCHORED
  // at match time sends it to the interpreter, which @rxGlobal needs after an empty match).
  // pcre2_jit_match is that same code without pcre2_match's checks of its arguments (jit_ is
  // false for a pattern in UTF mode, whose subject pcre2_match checks): 1% of a WAF request.
  const bool jit = jit_ && (options & (PCRE2_ANCHORED | PCRE2_NO_JIT)) == 0;
  int rc = jit ? pcre2_jit_match(code_, text, subject.size(), start, options, md, context)
               : pcre2_match(code_, text, subject.size(), start, options, md, context);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    // v3 (Regex::searchOneMatch): the JIT ran out of stack, retry with the interpreter.
    rc = pcre2_match(code_, text, subject.size(), start, options | PCRE2_NO_JIT, md, context);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return RegexOutcome::kNoMatch;
  if (rc == PCRE2_ERROR_MATCHLIMIT) return RegexOutcome::kMatchLimit;
  if (rc < 0) return RegexOutcome::kError;
  *ovector = pcre2_get_ovector_pointer(md);
  *pairs = rc == 0 ? kMaxPairs : rc;
  return RegexOutcome::kMatch;
}

MatchLimitContext::MatchLimitContext(std::uint32_t match_limit) {
  // v3 sets only the match limit (SecPcreMatchLimitRecursion is refused by its parser), and only
  // when SecPcreMatchLimit is given.
  if (match_limit == 0) return;
  context_ = pcre2_match_context_create(nullptr);
  if (context_ != nullptr) pcre2_set_match_limit(context_, match_limit);
}

MatchLimitContext::~MatchLimitContext() { pcre2_match_context_free(context_); }

namespace {
thread_local SmallTextCache<CompiledRegex> tls_runtime_regexes;
}  // namespace

const CompiledRegex* RuntimeRegex(std::string_view pattern) noexcept {
  bool found = false;
  const CompiledRegex* re = tls_runtime_regexes.Find(pattern, &found);
  if (found) return re;
  try {
    std::string error;
    return tls_runtime_regexes.Insert(pattern, CompiledRegex::Compile(pattern, &error));
  } catch (...) {  // std::bad_alloc: treated as a regex error by the caller
    return nullptr;
  }
}

}  // namespace op_internal
}  // namespace rampart::waf
