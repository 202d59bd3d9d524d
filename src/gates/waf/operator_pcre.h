// PCRE2 as ModSecurity v3 uses it (src/utils/regex.cc, WITH_PCRE2): every pattern compiled with
// PCRE2_DOTALL | PCRE2_MULTILINE (no PCRE2_DOLLAR_ENDONLY, no UTF), JIT-compiled when possible,
// matched with the JIT and retried by the interpreter when the JIT stack runs out.
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gates/waf/operator.h"

namespace rampart::waf::op_internal {

enum class RegexOutcome { kMatch, kNoMatch, kMatchLimit, kError };

class CompiledRegex {
 public:
  // The groups a search reports: TX.0..TX.9 is all a rule can capture.
  static constexpr int kMaxPairs = 10;

  // An empty pattern compiles as ".*", as in v3's Regex constructor. Null and `*error` ("missing
  // closing parenthesis at offset 12") when PCRE2 refuses the pattern.
  static std::unique_ptr<CompiledRegex> Compile(std::string_view pattern, std::string* error);
  ~CompiledRegex();
  CompiledRegex(const CompiledRegex&) = delete;
  CompiledRegex& operator=(const CompiledRegex&) = delete;

  // Searches `subject` from `start` with pcre2_match `options`. On kMatch, `*ovector` points into
  // this thread's match data (valid until the next Search on the thread) and `*pairs` (1..10) is
  // how many (start, end) pairs it holds; unset groups are PCRE2_UNSET.
  RegexOutcome Search(std::string_view subject, std::size_t start, std::uint32_t options,
                      pcre2_match_context* context, const PCRE2_SIZE** ovector,
                      int* pairs) const noexcept;

 private:
  CompiledRegex(pcre2_code* code, bool jit) : code_(code), jit_(jit) {}
  pcre2_code* code_;
  bool jit_;  // the JIT compiled it: matches go straight to pcre2_jit_match
};

// A match context carrying SecPcreMatchLimit; shared read-only by all threads.
class MatchLimitContext {
 public:
  explicit MatchLimitContext(std::uint32_t match_limit);
  ~MatchLimitContext();
  MatchLimitContext(const MatchLimitContext&) = delete;
  MatchLimitContext& operator=(const MatchLimitContext&) = delete;
  pcre2_match_context* get() const noexcept { return context_; }

 private:
  pcre2_match_context* context_ = nullptr;  // null: PCRE2's defaults
};

// The regex for a parameter expanded at run time, from this thread's small cache (compiled on a
// miss). Null when the text does not compile (remembered too, so a bad expansion is not
// recompiled for every value).
const CompiledRegex* RuntimeRegex(std::string_view pattern) noexcept;

void SetLastRegexStatus(RegexStatus status) noexcept;

// A few entries per thread, keyed by text, replaced round-robin: run-time parameters of one rule
// set take few distinct values, and a rule that produced a new one every time would only cost a
// compile per evaluation, never unbounded memory.
template <typename T, std::size_t N = 16>
class SmallTextCache {
 public:
  // The entry for `key`: *found is false on a miss.
  const T* Find(std::string_view key, bool* found) const noexcept {
    for (const Entry& e : entries_) {
      if (e.used && e.key == key) {
        *found = true;
        return e.value.get();
      }
    }
    *found = false;
    return nullptr;
  }
  // Stores `value` (possibly null: a remembered failure) for `key`, evicting the oldest entry.
  const T* Insert(std::string_view key, std::unique_ptr<T> value) {
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % N;
    e.key.assign(key);
    e.value = std::move(value);
    e.used = true;
    return e.value.get();
  }

 private:
  struct Entry {
    bool used = false;
    std::string key;
    std::unique_ptr<T> value;
  };
  std::array<Entry, N> entries_;
  std::size_t next_ = 0;
};

}  // namespace rampart::waf::op_internal
