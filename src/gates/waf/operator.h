// SecRule operators (`@rx`, `@pm`, `@within`, ...) with the semantics of ModSecurity v3
// (libmodsecurity, src/operators/*.cc), the engine the OWASP Core Rule Set v4 is tested against.
// The rule engine parses the rule, expands macros, applies the `!` negation and stores captures;
// an Operator only answers "does this value match".
//
// Built once when the rule set loads, then shared by every worker thread: Match is const,
// thread-safe and allocates nothing on its usual path (per-thread PCRE2 match data and Vectorscan
// scratch are made once per thread).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::waf {

// What a matching rule with the `capture` action stores as TX.0..TX.9: groups[i] is TX.i for
// i < count. An operator that captures nothing leaves count at 0.
struct CaptureSet {
  std::array<std::string, 10> groups;
  int count = 0;
};

// SecPcreMatchLimit when the configuration gives none. v3 then leaves PCRE2's own limit
// (10,000,000), under which one exponential backtrack costs ~40 ms of CPU; its
// modsecurity.conf-recommended sets 1000, under which ordinary values of a few kilobytes already
// exhaust many CRS v4 patterns (PCRE2 counts over all start positions), so that padding a payload
// would evade them. A tenth of PCRE2's default: no CRS v4 pattern reached it on 40 KB samples of
// text, JSON and base64, and an exponential backtrack stops after ~4 ms.
inline constexpr std::uint32_t kDefaultPcreMatchLimit = 1000000;

struct OperatorEnv {
  // Directory of the rule file: @pmFromFile / @ipMatchFromFile resolve relative paths against it.
  std::string rules_dir;
  // SecPcreMatchLimit for @rx / @rxGlobal / @verifyCC (0: PCRE2's built-in limit, as v3 without
  // the directive).
  std::uint32_t pcre_match_limit = kDefaultPcreMatchLimit;
};

class Operator {
 public:
  virtual ~Operator() = default;
  // Whether the operator matches `value` (before the rule's `!` negation: the engine applies it).
  //
  // `runtime_param` matters only for an operator whose parameter contains a macro (see
  // ParamHasMacros): the engine expands the parameter per transaction and passes the result,
  // which then replaces the compiled parameter, even when it expanded to nothing. @rx/@rxGlobal/
  // @pm compile such a parameter at run time, through a small per-thread cache keyed by the text.
  //
  // When `captures` is non-null it is reset and, on a match, filled as v3's `capture` action does:
  // @rx groups 0..9, @rxGlobal the groups of successive matches numbered on, @pm/@pmFromFile the
  // phrase found (as written in the list) as TX.0, @verifyCC the card number found as TX.0; the
  // other operators capture nothing (as in v3).
  virtual bool Match(std::string_view value, std::string_view runtime_param,
                     CaptureSet* captures) const noexcept = 0;
  // For @pm and @pmFromFile with a fixed parameter: the phrases, one of which (compared
  // case-insensitively) is in every value that matches. Null for the other operators.
  virtual const std::vector<std::string>* Phrases() const noexcept { return nullptr; }
};

// True when a parameter contains a macro (%{...}) and must be expanded per transaction.
bool ParamHasMacros(std::string_view param) noexcept;

// Builds the operator `name` (without the '@': "rx", "pmFromFile"; case-insensitive as in v3, and
// v3's aliases "pmf" and "ipMatchF" accepted) with its parameter as written in the rule. Null and
// `*error` set to a sentence naming the operator and the problem ("@rx: missing closing
// parenthesis at offset 12", "@pmFromFile: cannot read lfi-os-files.data: No such file or
// directory") on failure. "detectSQLi" and "detectXSS" are the engine's: null with "not handled
// here".
std::unique_ptr<Operator> MakeOperator(std::string_view name, std::string_view param,
                                       const OperatorEnv& env, std::string* error);

// What the last regex evaluation (@rx, @rxGlobal, @verifyCC) on this thread ran into. v3 then
// sets MSC_PCRE_ERROR, and for a match limit also MSC_PCRE_LIMITS_EXCEEDED and
// TX:MSC_PCRE_LIMITS_EXCEEDED, and the value does not match (@rxGlobal keeps the matches found
// before the failure). Reset by every evaluation.
enum class RegexStatus { kOk, kMatchLimit, kError };
RegexStatus LastRegexStatus() noexcept;

}  // namespace rampart::waf
