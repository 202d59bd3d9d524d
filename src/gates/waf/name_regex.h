// A compiled regular expression for a target's /regex/ selector (ARGS:/^id_/), matched
// case-insensitively against keys as ModSecurity v3 does. PCRE2 with JIT.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace rampart::waf {

class NameRegex {
 public:
  // nullptr and `error` set when the pattern does not compile.
  static std::shared_ptr<const NameRegex> Compile(std::string_view pattern, std::string& error);
  ~NameRegex();
  NameRegex(const NameRegex&) = delete;
  NameRegex& operator=(const NameRegex&) = delete;
  bool Matches(std::string_view subject) const noexcept;
  const std::string& pattern() const noexcept { return pattern_; }

 private:
  NameRegex() = default;
  void* code_ = nullptr;  // pcre2_code*
  std::string pattern_;
  // Most selectors are a word, often anchored (/^header_name_920450_/, /__utm/): matched as one
  // without PCRE2. Lower case; empty when the pattern is not such a word.
  std::string literal_;
  bool anchored_ = false;
};

}  // namespace rampart::waf
