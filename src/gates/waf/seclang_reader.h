// Reads SecLang configuration text (ModSecurity's rule language) into directives: one per
// logical line, with continuation lines joined, comments dropped, quoted arguments unquoted, and
// `Include` resolved (globs, relative to the including file). No meaning is given to directives
// here; ruleset.cc does that.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rampart::waf {

struct Directive {
  std::string name;               // as written: "SecRule", "SecAction", ...
  std::vector<std::string> args;  // unquoted
  std::string file;               // the file it came from ("<inline>" for text)
  int line = 0;                   // its first line
  std::string Where() const { return file + ":" + std::to_string(line); }
};

// Splits `text` (the contents of `file`) into directives, appending to `out`. Include directives
// are followed when `follow_includes` (paths relative to `file`'s directory). On failure returns
// false with `error` naming file:line and what is wrong.
bool ReadSecLangText(std::string_view text, const std::string& file, std::vector<Directive>& out,
                     std::string& error, bool follow_includes = true, int depth = 0);

// Reads one file, or every file a glob pattern names (sorted, as Apache and ModSecurity expand
// them). A pattern that names no file is an error.
bool ReadSecLangFiles(const std::string& pattern, std::vector<Directive>& out, std::string& error,
                      int depth = 0);

}  // namespace rampart::waf
