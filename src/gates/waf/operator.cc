// MakeOperator: operator names to the families (regex_operator.cc, phrase_operator.cc, ...).
#include "gates/waf/operator.h"

#include <algorithm>
#include <cctype>

#include "gates/waf/operator_internal.h"

namespace rampart::waf {

bool ParamHasMacros(std::string_view param) noexcept {
  // v3's RunTimeString expands %{VARIABLE} and %{COLLECTION.key}: an opening "%{" with a closing
  // brace after at least one character.
  for (std::size_t open = param.find("%{"); open != std::string_view::npos;
       open = param.find("%{", open + 1)) {
    const std::size_t close = param.find('}', open + 2);
    if (close == std::string_view::npos) return false;
    if (close > open + 2) return true;
  }
  return false;
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::unique_ptr<Operator> Build(const std::string& op, std::string_view param,
                                const OperatorEnv& env, std::string* error) {
  using namespace op_internal;
  if (op == "rx") return MakeRegexOperator(false, param, env, error);
  if (op == "rxglobal") return MakeRegexOperator(true, param, env, error);
  if (op == "pm") return MakePm(param, error);
  // v3 registers "pmf" as an alias of pmFromFile (src/operators/pm_f.h).
  if (op == "pmfromfile" || op == "pmf") return MakePmFromFile(param, env, error);
  if (op == "ipmatch") return MakeIpMatch(param, error);
  if (op == "ipmatchfromfile" || op == "ipmatchf") return MakeIpMatchFromFile(param, env, error);
  if (op == "validatebyterange") return MakeValidateByteRange(param, error);
  // v3 ignores the parameter of these two.
  if (op == "validateurlencoding") return MakeValidateUrlEncoding();
  if (op == "validateutf8encoding") return MakeValidateUtf8Encoding();
  if (op == "verifycc") return MakeVerifyCC(param, env, error);
  if (auto string_op = MakeStringOperator(op, param)) return string_op;
  if (auto compare_op = MakeCompareOperator(op, param)) return compare_op;
  if (op == "detectsqli" || op == "detectxss") {
    *error = "not handled here";
    return nullptr;
  }
  // Operators v3 has that this engine does not implement (the CRS uses none of them).
  static constexpr std::string_view kUnsupported[] = {
      "verifycpf", "verifyssn", "verifysvnr", "inspectfile", "fuzzyhash",    "geolookup",
      "gsblookup", "rbl",       "rsub",       "validatedtd", "validatehash", "validateschema"};
  if (std::find(std::begin(kUnsupported), std::end(kUnsupported), op) != std::end(kUnsupported)) {
    *error = "operator not supported";
    return nullptr;
  }
  *error = "unknown operator";
  return nullptr;
}

}  // namespace

std::unique_ptr<Operator> MakeOperator(std::string_view name, std::string_view param,
                                       const OperatorEnv& env, std::string* error) {
  std::string problem;
  auto op = Build(Lower(name), param, env, &problem);
  if (!op) {
    if (problem == "not handled here") {
      *error = problem;
    } else {
      *error = "@" + std::string(name) + ": " + (problem.empty() ? "cannot be built" : problem);
    }
  }
  return op;
}

}  // namespace rampart::waf
