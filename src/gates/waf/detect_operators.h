// @detectSQLi and @detectXSS: the operators over rampart's own detectors (sqli_detector.h,
// xss_detector.h), which stand where ModSecurity v3 uses libinjection.
#pragma once

#include <memory>
#include <string_view>

#include "gates/waf/operator.h"

namespace rampart::waf {

// `lower_name`: "detectsqli" or "detectxss".
std::unique_ptr<Operator> MakeDetectOperator(std::string_view lower_name);

}  // namespace rampart::waf
