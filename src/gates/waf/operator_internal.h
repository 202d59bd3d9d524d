// Internals shared by the operator families (operator.cc dispatches to these factories). Each
// factory returns null with `*error` set to the problem without the "@name: " prefix, which
// MakeOperator adds.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/operator.h"

namespace rampart::waf::op_internal {

// regex_operator.cc: "rx", "rxGlobal".
std::unique_ptr<Operator> MakeRegexOperator(bool global, std::string_view param,
                                            const OperatorEnv& env, std::string* error);
// verify_cc_operator.cc
std::unique_ptr<Operator> MakeVerifyCC(std::string_view param, const OperatorEnv& env,
                                       std::string* error);
// phrase_operator.cc
std::unique_ptr<Operator> MakePm(std::string_view param, std::string* error);
std::unique_ptr<Operator> MakePmFromFile(std::string_view param, const OperatorEnv& env,
                                         std::string* error);
// string_operators.cc: streq, strmatch, contains, containsWord, beginsWith, endsWith, within,
// unconditionalMatch, noMatch. `kind` is the lower-cased operator name. Null when not one of them.
std::unique_ptr<Operator> MakeStringOperator(std::string_view kind, std::string_view param);
// compare_operators.cc: eq, ge, gt, le, lt. Null when not one of them.
std::unique_ptr<Operator> MakeCompareOperator(std::string_view kind, std::string_view param);
// validate_operators.cc
std::unique_ptr<Operator> MakeValidateByteRange(std::string_view param, std::string* error);
std::unique_ptr<Operator> MakeValidateUrlEncoding();
std::unique_ptr<Operator> MakeValidateUtf8Encoding();
// ip_match_operator.cc
std::unique_ptr<Operator> MakeIpMatch(std::string_view param, std::string* error);
std::unique_ptr<Operator> MakeIpMatchFromFile(std::string_view param, const OperatorEnv& env,
                                              std::string* error);

// operator_files.cc: the contents of the data file `name` (relative paths against `rules_dir`).
// False with "cannot read NAME: REASON" in *error.
bool ReadOperatorFile(std::string_view rules_dir, std::string_view name, std::string* contents,
                      std::string* error);
// Splits on ASCII white space (space, \t, \n, \v, \f, \r), dropping empty pieces.
std::vector<std::string_view> SplitOnSpace(std::string_view text);

}  // namespace rampart::waf::op_internal
