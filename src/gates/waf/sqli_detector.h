// SQL injection detector behind the WAF gate's @detectSQLi operator (CRS rules 942100, 942101).
//
// The input is read as the tail of a SQL statement the way an application would splice it in:
// as is (a number or name spliced without quotes), and, when it holds the quote character, as
// the rest of a single-quoted and of a double-quoted string literal. Each reading is tokenized
// (numbers, strings, names, keywords, functions, operators, comments, parentheses, ...) into a
// small fixed buffer and a shape checker walks the tokens like a tiny SQL grammar: the value has
// to read as valid SQL up to a construct only an injection produces (a boolean tautology after
// a plain value, UNION SELECT, a stacked statement, a time-delay or file function, a comment
// cutting the statement short after a quote, ...), and that construct has to start within the
// first few tokens. Prose fails the grammar early (two words in a row are not SQL), which is
// what keeps "select a nice shirt from our range" and "O'Brien" out. DETECTORS.md has the rules
// and the measured precision and recall.
//
// Linear in the input, no allocation, no recursion, no exceptions; any bytes are accepted.
#pragma once

#include <string>
#include <string_view>

namespace rampart::waf {

// True when `input` reads as SQL injection. When fingerprint != nullptr, it receives a short
// description of the token shape that matched (for the audit log; like libinjection's, e.g.
// "s&sos"), and is cleared when nothing matched.
bool DetectSqli(std::string_view input, std::string* fingerprint = nullptr) noexcept;

}  // namespace rampart::waf
