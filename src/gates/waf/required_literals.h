// What a PCRE2 pattern requires of every match it makes: literals, one of which each match
// contains (literal_prefilter.h turns them into a cheap test on a value). The analysis follows
// the syntax CRS uses (groups, alternation, classes, quantifiers, escapes, lookarounds, inline
// flags) and gives up on anything else rather than guess.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::waf {

// Lower-case ASCII literals, one of which every match of `pattern` contains; nullopt when the
// pattern can match without any (`.*`, `[a-z]+`), needs more than `max_literals` of them, or
// holds syntax the analysis does not follow.
std::optional<std::vector<std::string>> RequiredLiterals(std::string_view pattern,
                                                         std::size_t max_literals = 512);

// Whether a byte of a folded literal is a letter or digit: alone, nearly every value holds one.
inline bool IsFoldedAlnum(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace rampart::waf
