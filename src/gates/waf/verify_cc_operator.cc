// @verifyCC (ModSecurity v3 src/operators/verify_cc.cc): the parameter is a regex for candidate
// card numbers; the operator matches when one candidate passes the Luhn check.
#include "gates/waf/operator_internal.h"
#include "gates/waf/operator_pcre.h"

namespace rampart::waf::op_internal {
namespace {

// Luhn (ISO/IEC 7812) over the digits of `text`, other characters skipped as v3 skips them.
// No digits at all is not a card number.
bool LuhnValid(std::string_view text) noexcept {
  int sum = 0;
  int digits = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    const char c = text[i];
    if (c < '0' || c > '9') continue;
    int d = c - '0';
    if (digits % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++digits;
  }
  return digits > 0 && sum % 10 == 0;
}

class VerifyCCOperator final : public Operator {
 public:
  VerifyCCOperator(std::unique_ptr<CompiledRegex> re, std::uint32_t match_limit)
      : re_(std::move(re)), limit_(match_limit) {}

  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    SetLastRegexStatus(RegexStatus::kOk);
    // v3 searches again from every offset after a candidate that fails the check. A search from
    // any offset up to a failed candidate's start finds that same candidate again, so we resume
    // just past its start: the same candidates in the same order, without the quadratic rescan.
    // (v3 runs these searches without SecPcreMatchLimit; we apply it.)
    std::size_t offset = 0;
    while (offset < value.size()) {
      const PCRE2_SIZE* ov = nullptr;
      int pairs = 0;
      const RegexOutcome outcome = re_->Search(value, offset, 0, limit_.get(), &ov, &pairs);
      if (outcome != RegexOutcome::kMatch) {
        if (outcome == RegexOutcome::kMatchLimit) SetLastRegexStatus(RegexStatus::kMatchLimit);
        if (outcome == RegexOutcome::kError) SetLastRegexStatus(RegexStatus::kError);
        return false;
      }
      const std::string_view candidate = value.substr(ov[0], ov[1] - ov[0]);
      if (LuhnValid(candidate)) {
        if (captures != nullptr) {
          try {
            captures->groups[0].assign(candidate);
            captures->count = 1;
          } catch (...) {  // std::bad_alloc: the match still stands
          }
        }
        return true;
      }
      offset = ov[0] + 1;
    }
    return false;
  }

 private:
  std::unique_ptr<CompiledRegex> re_;
  MatchLimitContext limit_;
};

}  // namespace

std::unique_ptr<Operator> MakeVerifyCC(std::string_view param, const OperatorEnv& env,
                                       std::string* error) {
  // In v3 an empty pattern only finds empty candidates, so the rule can never match; we refuse
  // it at load time (our Compile would turn it into ".*").
  if (param.empty()) {
    *error = "missing regular expression";
    return nullptr;
  }
  auto re = CompiledRegex::Compile(param, error);
  if (re == nullptr) return nullptr;
  return std::make_unique<VerifyCCOperator>(std::move(re), env.pcre_match_limit);
}

}  // namespace rampart::waf::op_internal
