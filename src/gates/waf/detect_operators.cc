#include "gates/waf/detect_operators.h"

#include "gates/waf/sqli_detector.h"
#include "gates/waf/xss_detector.h"

namespace rampart::waf {

namespace {

// As in ModSecurity v3, a SQL injection's fingerprint is captured as TX.0.
class DetectSqliOperator final : public Operator {
 public:
  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    std::string fingerprint;
    if (!DetectSqli(value, captures != nullptr ? &fingerprint : nullptr)) return false;
    if (captures != nullptr) {
      captures->groups[0] = std::move(fingerprint);
      captures->count = 1;
    }
    return true;
  }
};

class DetectXssOperator final : public Operator {
 public:
  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    return DetectXss(value);
  }
};

}  // namespace

std::unique_ptr<Operator> MakeDetectOperator(std::string_view lower_name) {
  if (lower_name == "detectsqli") return std::make_unique<DetectSqliOperator>();
  return std::make_unique<DetectXssOperator>();
}

}  // namespace rampart::waf
