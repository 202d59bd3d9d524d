// Numeric comparisons @eq, @ge, @gt, @le, @lt (ModSecurity v3 src/operators/eq.cc, ge.cc, ...).
// Both sides are converted as v3 converts them, which is not the same for all five:
//  - @eq uses std::stoi: leading white space, a sign, decimal digits, anything after ignored; no
//    digits, or a number outside `int`, counts as 0 (the exception is caught);
//  - the others use atoll: the same parse, but in `long long`, saturating on overflow (glibc).
// So "abc" equals 0, "12abc" is 12, and @eq "4294967296" equals 0.
#include <climits>
#include <cstdint>

#include "gates/waf/operator_internal.h"

namespace rampart::waf::op_internal {
namespace {

enum class Cmp { kEq, kGe, kGt, kLe, kLt };

// strtoll's parse (base 10, C locale) of the text up to its first NUL byte, as atoll sees a
// std::string's c_str(). *digits is false when there is no number, *overflow when it does not fit
// in long long (the result is then saturated, as glibc's strtoll returns it).
long long ParseLeadingInteger(std::string_view s, bool* digits, bool* overflow) noexcept {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  // Accumulate the magnitude as unsigned to handle LLONG_MIN.
  const unsigned long long limit =
      negative ? static_cast<unsigned long long>(LLONG_MAX) + 1 : LLONG_MAX;
  unsigned long long magnitude = 0;
  *digits = false;
  *overflow = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    *digits = true;
    const unsigned d = static_cast<unsigned>(s[i] - '0');
    if (*overflow || magnitude > (limit - d) / 10) {
      *overflow = true;
      continue;
    }
    magnitude = magnitude * 10 + d;
  }
  if (!*digits) return 0;
  if (*overflow) return negative ? LLONG_MIN : LLONG_MAX;
  return negative ? static_cast<long long>(0 - magnitude) : static_cast<long long>(magnitude);
}

// atoll as glibc implements it.
long long AtoLL(std::string_view s) noexcept {
  bool digits = false;
  bool overflow = false;
  return ParseLeadingInteger(s, &digits, &overflow);
}

// v3 Eq's `try { std::stoi(s) } catch (...) { 0 }`.
long long StoiOrZero(std::string_view s) noexcept {
  bool digits = false;
  bool overflow = false;
  const long long v = ParseLeadingInteger(s, &digits, &overflow);
  if (!digits || overflow || v < INT_MIN || v > INT_MAX) return 0;
  return v;
}

long long Convert(Cmp cmp, std::string_view s) noexcept {
  return cmp == Cmp::kEq ? StoiOrZero(s) : AtoLL(s);
}

class CompareOperator final : public Operator {
 public:
  CompareOperator(Cmp cmp, std::string_view param)
      : cmp_(cmp), has_macros_(ParamHasMacros(param)), param_value_(Convert(cmp, param)) {}

  bool Match(std::string_view value, std::string_view runtime_param,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    const long long p = has_macros_ ? Convert(cmp_, runtime_param) : param_value_;
    const long long v = Convert(cmp_, value);
    switch (cmp_) {
      case Cmp::kEq:
        return v == p;
      case Cmp::kGe:
        return v >= p;
      case Cmp::kGt:
        return v > p;
      case Cmp::kLe:
        return v <= p;
      case Cmp::kLt:
        return v < p;
    }
    return false;
  }

 private:
  Cmp cmp_;
  bool has_macros_;
  long long param_value_;
};

}  // namespace

std::unique_ptr<Operator> MakeCompareOperator(std::string_view kind, std::string_view param) {
  Cmp cmp;
  if (kind == "eq") {
    cmp = Cmp::kEq;
  } else if (kind == "ge") {
    cmp = Cmp::kGe;
  } else if (kind == "gt") {
    cmp = Cmp::kGt;
  } else if (kind == "le") {
    cmp = Cmp::kLe;
  } else if (kind == "lt") {
    cmp = Cmp::kLt;
  } else {
    return nullptr;
  }
  return std::make_unique<CompareOperator>(cmp, param);
}

}  // namespace rampart::waf::op_internal
