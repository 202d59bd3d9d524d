// SecLang macros: text with %{COLLECTION.key} or %{VARIABLE} references (msg, logdata, setvar,
// operator parameters), split once at load and expanded per transaction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rampart::waf {

struct MacroPart {
  std::string text;  // a literal, or the variable's name (upper case: "TX", "MATCHED_VAR")
  std::string key;   // the key after the dot, lower case ("" for a plain variable)
  bool is_ref = false;
};

struct Macro {
  std::vector<MacroPart> parts;
  bool HasRefs() const noexcept {
    for (const auto& p : parts) {
      if (p.is_ref) return true;
    }
    return false;
  }
  // The text with no reference in it (only meaningful when !HasRefs()).
  const std::string& Literal() const noexcept;
};

// Splits `text` into literals and references. "%{" without its "}" is kept literally, as
// ModSecurity v3 does.
Macro ParseMacro(std::string_view text);

}  // namespace rampart::waf
