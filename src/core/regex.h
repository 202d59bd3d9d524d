// PCRE2 (JIT when available) for routing and header matching. Compiled once per config snapshot;
// Matches() is thread-safe and does not allocate (per-thread match data).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace rampart {

class Regex {
 public:
  // Returns nullptr and sets *error when the pattern does not compile.
  static std::unique_ptr<Regex> Compile(std::string_view pattern, std::string* error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // True when the pattern matches anywhere in `subject` (anchor it with ^...$ for a full match).
  bool Matches(std::string_view subject) const noexcept;
  const std::string& pattern() const noexcept { return pattern_; }

 private:
  Regex() = default;
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code*
};

}  // namespace rampart
