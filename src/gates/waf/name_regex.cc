#include "gates/waf/name_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>

#include "core/strings.h"

namespace rampart::waf {

namespace {

// One match-data block per thread: keys are matched on the request path without allocating.
pcre2_match_data* ThreadMatchData() {
  thread_local struct Holder {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(md); }
  } holder;
  return holder.md;
}

bool WordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

std::shared_ptr<const NameRegex> NameRegex::Compile(std::string_view pattern, std::string& error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_CASELESS | PCRE2_DOTALL, &code, &offset, nullptr);
  if (re == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    error = "selector /" + std::string(pattern) + "/: " + reinterpret_cast<const char*>(msg) +
            " at offset " + std::to_string(offset);
    return nullptr;
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT fails
  auto out = std::shared_ptr<NameRegex>(new NameRegex());
  out->code_ = re;
  out->pattern_ = std::string(pattern);
  std::string_view word = pattern;
  const bool anchored = !word.empty() && word.front() == '^';
  if (anchored) word.remove_prefix(1);
  // Without a closing `$`, a trailing `.*` or `c*` may match nothing, so it changes no answer
  // (/paramcounter_.*/, /MULTIPART_HEADERS_CONTENT_TYPES_*/): it is dropped. An escaped byte
  // before it (`\w*`, `\.*`) leaves a backslash, which is not a word: PCRE2 then decides.
  while (word.size() >= 2 && word.back() == '*' &&
         (word[word.size() - 2] == '.' || WordByte(word[word.size() - 2]))) {
    word.remove_suffix(2);
  }
  if (!word.empty() && std::all_of(word.begin(), word.end(), WordByte)) {
    out->anchored_ = anchored;
    for (char c : word) out->literal_.push_back(AsciiLower(c));
  }
  return out;
}

NameRegex::~NameRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool NameRegex::Matches(std::string_view subject) const noexcept {
  if (!literal_.empty()) {
    if (anchored_) return IStartsWith(subject, literal_);
    // Each place the literal's first byte is, in either case, then the rest compared folded:
    // CRS walks TX's hundred names with TX:/paramcounter_.*/ this way. memchr finds the next
    // place of each case, and each search starts past the last one it found, so a name made of
    // one byte repeated costs one pass, not one per place.
    const std::size_t n = literal_.size();
    if (subject.size() < n) return false;
    const char lower = literal_[0];
    const char upper = lower >= 'a' && lower <= 'z' ? static_cast<char>(lower - 'a' + 'A') : lower;
    const char* const last = subject.data() + (subject.size() - n);  // the last place it may start
    auto next = [&](char c, const char* from) -> const char* {
      if (from > last) return nullptr;
      return static_cast<const char*>(
          std::memchr(from, c, static_cast<std::size_t>(last - from) + 1));
    };
    const char* a = next(lower, subject.data());
    const char* b = upper != lower ? next(upper, subject.data()) : nullptr;
    while (a != nullptr || b != nullptr) {
      const char* p = a == nullptr ? b : b == nullptr ? a : std::min(a, b);
      if (detail::IEqualsSameSize(p + 1, literal_.data() + 1, n - 1)) return true;
      if (p == a) a = next(lower, p + 1);
      if (p == b) b = next(upper, p + 1);
    }
    return false;
  }
  const int rc =
      pcre2_match(static_cast<pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                  subject.size(), 0, 0, ThreadMatchData(), nullptr);
  return rc >= 0;
}

}  // namespace rampart::waf
