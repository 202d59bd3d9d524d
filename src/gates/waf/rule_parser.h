// Parses the three parts of a SecRule (targets, operator, actions) into rule.h's structures, with
// the semantics of ModSecurity v3's parser. Errors are sentences naming the part at fault.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/rule.h"

namespace rampart::waf {

// "ARGS|!ARGS:foo|&REQUEST_HEADERS:/^x-/|XML:/*"
bool ParseVariables(std::string_view text, std::vector<VarSpec>& out, std::string& error);

// "!@rx ^a", "@pm a b", "^a" (no operator: @rx). Fills op_name, op_param, negated, op_macro.
bool ParseOperator(std::string_view text, Rule& rule, std::string& error);

// "id:1,phase:2,t:none,msg:'a, b',setvar:tx.x=+1". Actions accumulate into `out` (so
// SecRuleUpdateActionById can add to a rule's).
bool ParseActions(std::string_view text, Actions& out, std::string& error);

}  // namespace rampart::waf
