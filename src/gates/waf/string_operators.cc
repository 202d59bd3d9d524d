// String comparisons, all case-sensitive and byte-wise as in ModSecurity v3: @streq, @strmatch,
// @contains, @containsWord, @beginsWith, @endsWith, @within; and @unconditionalMatch, @noMatch.
// None of them captures (v3 stores nothing in TX for them).
#include "gates/waf/operator_internal.h"

namespace rampart::waf::op_internal {
namespace {

enum class Kind {
  kStrEq,
  kStrMatch,
  kContains,
  kContainsWord,
  kBeginsWith,
  kEndsWith,
  kWithin,
  kUnconditional,
  kNever
};

// v3 ContainsWord::acceptableChar: a position outside the value is not a boundary (the callers
// rely on that for the start and end of the value), and only ASCII letters are word characters:
// digits, '_' and bytes >= 0x80 all separate words.
bool WordBoundaryAt(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return false;
  const char c = s[pos];
  return !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
}

// v3 ContainsWord::evaluate, condition for condition (pos - 1 at pos 0 wraps around and is
// "outside the value", as in v3).
bool ContainsWord(std::string_view value, std::string_view word) {
  if (word.empty()) return true;
  if (value.empty()) return false;
  if (value == word) return true;
  for (std::size_t pos = value.find(word); pos != std::string_view::npos;
       pos = value.find(word, pos + 1)) {
    const std::size_t after = pos + word.size();
    if (pos == 0 && WordBoundaryAt(value, after)) return true;
    if (after == value.size() && WordBoundaryAt(value, pos - 1)) return true;
    if (WordBoundaryAt(value, pos - 1) && WordBoundaryAt(value, after)) return true;
  }
  return false;
}

class StringOperator final : public Operator {
 public:
  StringOperator(Kind kind, std::string_view param)
      : kind_(kind), param_(param), has_macros_(ParamHasMacros(param)) {}

  bool Match(std::string_view value, std::string_view runtime_param,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    const std::string_view p = has_macros_ ? runtime_param : std::string_view(param_);
    switch (kind_) {
      case Kind::kStrEq:
        return value == p;
      case Kind::kStrMatch:  // v3 StrMatch: a substring search, like @contains
      case Kind::kContains:
        return value.find(p) != std::string_view::npos;
      case Kind::kContainsWord:
        return ContainsWord(value, p);
      case Kind::kBeginsWith:
        return value.substr(0, p.size()) == p;
      case Kind::kEndsWith:
        return value.size() >= p.size() && value.substr(value.size() - p.size()) == p;
      case Kind::kWithin:
        // v3 Within: the value is a substring of the parameter (so "GE" is within
        // "GET POST"), and an empty value is always within.
        return value.empty() || p.find(value) != std::string_view::npos;
      case Kind::kUnconditional:
        return true;
      case Kind::kNever:
        return false;
    }
    return false;
  }

 private:
  Kind kind_;
  std::string param_;
  bool has_macros_;
};

}  // namespace

std::unique_ptr<Operator> MakeStringOperator(std::string_view kind, std::string_view param) {
  struct Entry {
    std::string_view name;
    Kind kind;
  };
  static constexpr Entry kKinds[] = {
      {"streq", Kind::kStrEq},           {"strmatch", Kind::kStrMatch},
      {"contains", Kind::kContains},     {"containsword", Kind::kContainsWord},
      {"beginswith", Kind::kBeginsWith}, {"endswith", Kind::kEndsWith},
      {"within", Kind::kWithin},         {"unconditionalmatch", Kind::kUnconditional},
      {"nomatch", Kind::kNever}};
  for (const Entry& e : kKinds) {
    if (e.name == kind) return std::make_unique<StringOperator>(e.kind, param);
  }
  return nullptr;
}

}  // namespace rampart::waf::op_internal
