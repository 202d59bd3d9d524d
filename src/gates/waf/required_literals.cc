#include "gates/waf/required_literals.h"

#include <algorithm>
#include <bitset>
#include <climits>

#include "core/strings.h"

namespace rampart::waf {
namespace {

// Exact sets stay small: a class or an optional piece multiplies them.
constexpr std::size_t kMaxExact = 64;
// A class of at most this many bytes (case-folded) is an exact set of one-byte strings: a
// separator class such as [\s&|;] is often all a noise-tolerant pattern requires.
constexpr std::size_t kMaxClass = 16;
// Alternations of more literals than this are not followed (CRS's largest have a few hundred).
constexpr std::size_t kMaxAlternatives = 1024;

// What a piece of a pattern says about the texts it matches. `exact`: it matches exactly one of
// `strings`. Otherwise every match contains one of `strings` (empty: nothing is known).
struct Facts {
  bool exact = false;
  std::vector<std::string> strings;

  static Facts Exactly(std::vector<std::string> s) { return {true, std::move(s)}; }
  static Facts Empty() { return Exactly({std::string()}); }
  static Facts Unknown() { return {}; }
};

// Whether a requirement filters at all: false for a set that admits the empty string, or whose
// shortest literal is too short for its number of literals (nearly any value holds one of
// sixteen single bytes).
bool Filters(const std::vector<std::string>& s) {
  if (s.empty()) return false;
  std::size_t min_len = SIZE_MAX;
  for (const auto& x : s) min_len = std::min(min_len, x.size());
  if (min_len == 0) return false;
  return std::min<std::size_t>(min_len, 6) * 16 >= std::min<std::size_t>(s.size(), 48);
}

// Which of two required sets a sequence keeps: the higher scores, longer literals and fewer of
// them. A literal counts its length up to 5, one less than Filters allows, so that a word
// ("where") outweighs the same word with each of a class after it (six "where" + whitespace).
// A lone letter or digit is in nearly every value and counts for little, where a lone separator
// (space, '|', ';') is rare.
int Score(const std::vector<std::string>& s) {
  if (!Filters(s)) return INT_MIN;  // below every set that filters, however weakly
  int weakest = INT_MAX;
  for (const auto& x : s) {
    const bool lone_alnum = x.size() == 1 && IsFoldedAlnum(static_cast<unsigned char>(x[0]));
    weakest = std::min(weakest,
                       lone_alnum ? 2 : static_cast<int>(std::min<std::size_t>(x.size(), 5)) * 16);
  }
  return weakest - static_cast<int>(std::min<std::size_t>(s.size(), 48));
}

void Dedupe(std::vector<std::string>& s) {
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
}

// Drops literals that contain another one of the set: a text holding the longer one holds the
// shorter, so "contains one of them" is unchanged.
void DropSuperstrings(std::vector<std::string>& s) {
  Dedupe(s);
  std::vector<std::string> kept;
  for (const auto& x : s) {
    const bool redundant = std::any_of(s.begin(), s.end(), [&](const std::string& y) {
      return y.size() < x.size() && x.find(y) != std::string::npos;
    });
    if (!redundant) kept.push_back(x);
  }
  s.swap(kept);
}

// Concatenation: exact pieces multiply while the product stays small; past that, the best
// requirement seen so far stands for the whole.
class Sequence {
 public:
  void Add(Facts f) {
    // The run so far and the piece's own literals are required too: "where" may filter better
    // than the six "where" + whitespace the run becomes with a \s after it.
    if (f.exact) {
      Keep(run_);
      Keep(f.strings);
    }
    if (f.exact && run_.size() * f.strings.size() <= kMaxExact) {
      std::vector<std::string> next;
      next.reserve(run_.size() * f.strings.size());
      for (const auto& a : run_) {
        for (const auto& b : f.strings) next.push_back(a + b);
      }
      Dedupe(next);
      run_.swap(next);
      return;
    }
    broken_ = true;
    Keep(std::move(run_));
    if (f.exact) {
      run_ = std::move(f.strings);
    } else {
      Keep(std::move(f.strings));
      run_ = {std::string()};
    }
  }
  Facts Finish() {
    if (!broken_) return Facts::Exactly(std::move(run_));
    Keep(std::move(run_));
    return {false, std::move(best_)};
  }

 private:
  void Keep(std::vector<std::string> s) {
    // Scored as what it requires: "\\|" adds nothing to "|" ("contains one of them" is the same).
    DropSuperstrings(s);
    const int score = Score(s), best = Score(best_);
    // On a tie the longer literals: "select" rather than the run "selec" on its way there.
    if (score > best || (score == best && Shortest(s) > Shortest(best_))) best_ = std::move(s);
  }
  static std::size_t Shortest(const std::vector<std::string>& s) {
    std::size_t n = SIZE_MAX;
    for (const auto& x : s) n = std::min(n, x.size());
    return n;
  }
  std::vector<std::string> run_{std::string()};
  std::vector<std::string> best_;
  bool broken_ = false;
};

Facts Alternation(std::vector<Facts> branches) {
  if (branches.size() == 1) return std::move(branches.front());
  std::size_t total = 0;
  bool all_exact = true;
  for (const auto& b : branches) {
    all_exact = all_exact && b.exact;
    total += b.strings.size();
  }
  std::vector<std::string> all;
  all.reserve(total);
  for (auto& b : branches) {
    // A branch that admits anything lets the whole alternation admit anything.
    if (!b.exact && !Filters(b.strings)) return Facts::Unknown();
    all.insert(all.end(), b.strings.begin(), b.strings.end());
  }
  Dedupe(all);
  if (all_exact && all.size() <= kMaxExact) return Facts::Exactly(std::move(all));
  // Weighed as what it requires: a branch's "'" + whitespace adds nothing to another's "'".
  DropSuperstrings(all);
  if (!Filters(all)) return Facts::Unknown();
  if (all.size() > kMaxAlternatives) return Facts::Unknown();
  return {false, std::move(all)};
}

class Analyzer {
 public:
  explicit Analyzer(std::string_view p) : p_(p) {}

  std::optional<Facts> Run() {
    Facts f = ParseAlternation();
    if (failed_ || i_ != p_.size()) return std::nullopt;
    return f;
  }

 private:
  bool AtEnd() const { return i_ >= p_.size(); }
  char Peek(std::size_t ahead = 0) const { return i_ + ahead < p_.size() ? p_[i_ + ahead] : '\0'; }
  Facts Fail() {
    failed_ = true;
    i_ = p_.size();
    return Facts::Unknown();
  }

  Facts ParseAlternation() {
    std::vector<Facts> branches;
    branches.push_back(ParseSequence());
    while (!failed_ && Peek() == '|' && !AtEnd()) {
      ++i_;
      branches.push_back(ParseSequence());
    }
    return Alternation(std::move(branches));
  }

  Facts ParseSequence() {
    Sequence seq;
    while (!AtEnd() && !failed_ && Peek() != '|' && Peek() != ')') {
      atom_is_whole_ = true;
      Facts atom = ParseAtom();
      if (failed_) break;
      ParseQuantifier(std::move(atom), seq);
    }
    return seq.Finish();
  }

  // Reads `{n}`, `{n,}` or `{n,m}` at i_; false (i_ unchanged) when the brace is a literal.
  bool ReadBraces(int& min, int& max) {
    std::size_t j = i_ + 1;
    // Every digit counts (PCRE2 reads {0000000} as {0}); past its limit the pattern would not
    // have compiled.
    auto number = [&](int& out) {
      const std::size_t from = j;
      out = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') {
        out = std::min(out * 10 + (p_[j] - '0'), 1 << 20);
        ++j;
      }
      return j > from;
    };
    if (!number(min)) return false;
    max = min;
    if (j < p_.size() && p_[j] == ',') {
      ++j;
      if (!number(max)) max = -1;
    }
    if (j >= p_.size() || p_[j] != '}') return false;
    i_ = j + 1;
    return true;
  }

  // `atom` repeated `times` times: every concatenation of that many of its strings.
  static std::vector<std::string> Power(const std::vector<std::string>& atom, int times) {
    std::vector<std::string> out{std::string()};
    for (int k = 0; k < times; ++k) {
      std::vector<std::string> next;
      for (const auto& a : out) {
        for (const auto& b : atom) next.push_back(a + b);
      }
      Dedupe(next);
      out.swap(next);
    }
    return out;
  }

  static std::size_t PowerSize(std::size_t base, int times) {
    std::size_t n = 1;
    for (int k = 0; k < times && n <= kMaxExact; ++k) n *= base;
    return n;
  }

  // Reads a quantifier after `atom`, if any, and adds what the repeated atom says to `seq`.
  void ParseQuantifier(Facts atom, Sequence& seq) {
    int min = 1, max = 1;
    const char c = Peek();
    if (c == '{' && !ReadBraces(min, max)) {
      // A brace that is not a quantifier is a literal in PCRE2 10.42, but later versions read
      // more forms ({,n}, { n }) as quantifiers: not followed.
      Fail();
      return;
    }
    const bool quantified = c == '*' || c == '+' || c == '?' || c == '{';
    if (quantified && !atom_is_whole_) {
      // A quantifier after \Q...\E, \E or a comment applies to the last character (or to
      // what came before an empty item), not to what this analysis read as the atom.
      Fail();
      return;
    }
    if (c == '*') {
      min = 0, max = -1, ++i_;
    } else if (c == '+') {
      min = 1, max = -1, ++i_;
    } else if (c == '?') {
      min = 0, max = 1, ++i_;
    } else if (c == '{') {
      // Read by ReadBraces above.
    } else {
      seq.Add(std::move(atom));
      return;
    }
    if (Peek() == '?' || Peek() == '+') ++i_;  // lazy or possessive: same texts
    if (!atom.exact) {
      // Some copies of something only known to hold a literal: they hold it if there is one.
      seq.Add(min == 0 ? Facts::Unknown() : std::move(atom));
      return;
    }
    if (max >= 0 && max <= 8 && PowerSize(atom.strings.size(), max) <= kMaxExact) {
      // A few copies of a small exact set: exactly their concatenations (x{2,3}: xx, xxx).
      std::vector<std::string> all;
      for (int k = min; k <= max; ++k) {
        auto p = Power(atom.strings, k);
        all.insert(all.end(), p.begin(), p.end());
      }
      Dedupe(all);
      seq.Add(Facts::Exactly(std::move(all)));
      return;
    }
    // At least `min` copies, then anything: the first copies are exact, what follows is not.
    if (min > 0) {
      const int exact = PowerSize(atom.strings.size(), min) <= kMaxExact ? min : 1;
      seq.Add(Facts::Exactly(Power(atom.strings, exact)));
    }
    seq.Add(Facts::Unknown());
  }

  Facts ParseAtom() {
    const char c = p_[i_];
    switch (c) {
      case '(':
        return ParseGroup();
      case '[':
        return ParseClass();
      case '.':
        ++i_;
        return Facts::Unknown();
      case '^':
      case '$':
        ++i_;
        return Facts::Empty();
      case '\\':
        return ParseEscape();
      case '*':
      case '+':
      case '?':
        return Fail();
      default:
        ++i_;
        return Facts::Exactly({std::string(1, AsciiLower(c))});
    }
  }

  Facts ParseGroup() {
    ++i_;  // '('
    // Nesting is bounded as PCRE2 bounds it (PARENS_NEST_LIMIT), and more tightly: the analysis
    // recurses once per group.
    constexpr int kMaxDepth = 64;
    if (++depth_ > kMaxDepth) return Fail();
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    if (Peek() == '*') return Fail();  // (*VERB)
    bool lookaround = false;
    if (Peek() == '?') {
      ++i_;
      const char k = Peek();
      if (k == ':' || k == '>' || k == '|') {
        ++i_;
      } else if (k == '=' || k == '!') {
        ++i_;
        lookaround = true;
      } else if (k == '<' && (Peek(1) == '=' || Peek(1) == '!')) {
        i_ += 2;
        lookaround = true;
      } else if (k == '<' || k == '\'' || (k == 'P' && Peek(1) == '<')) {
        if (k == 'P') ++i_;
        const char close = Peek() == '<' ? '>' : '\'';
        const std::size_t end = p_.find(close, i_ + 1);
        if (end == std::string_view::npos) return Fail();
        i_ = end + 1;
      } else if (k == '#') {
        const std::size_t end = p_.find(')', i_);
        if (end == std::string_view::npos) return Fail();
        i_ = end + 1;
        atom_is_whole_ = false;
        return Facts::Empty();
      } else {
        // Inline flags: (?i) (?-i) (?i:...). Case is folded everywhere already; extended mode
        // (x) changes what the text means, so it is not followed.
        while (!AtEnd() && Peek() != ')' && Peek() != ':') {
          const char f = Peek();
          if (f != 'i' && f != 'm' && f != 's' && f != 'n' && f != 'U' && f != 'J' && f != '-') {
            return Fail();
          }
          ++i_;
        }
        if (AtEnd()) return Fail();
        if (Peek() == ')') {
          ++i_;
          return Facts::Empty();
        }
        ++i_;  // ':'
      }
    }
    Facts inner = ParseAlternation();
    if (failed_) return inner;
    if (Peek() != ')') return Fail();
    ++i_;
    // A lookaround consumes nothing; what it asserts is left for PCRE2 to check.
    return lookaround ? Facts::Empty() : inner;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // \xhh or \x{hh}: the byte, or -1 (and failed_) for what a byte cannot hold.
  int ReadHexEscape() {
    // i_ is just past 'x'.
    int v = 0;
    if (Peek() == '{') {
      const std::size_t end = p_.find('}', i_);
      if (end == std::string_view::npos || end == i_ + 1 || end - i_ > 3) {
        Fail();
        return -1;
      }
      for (std::size_t j = i_ + 1; j < end; ++j) {
        const int h = Hex(p_[j]);
        if (h < 0) {
          Fail();
          return -1;
        }
        v = v * 16 + h;
      }
      i_ = end + 1;
      return v;
    }
    for (int n = 0; n < 2 && Hex(Peek()) >= 0; ++n) v = v * 16 + Hex(p_[i_++]);
    return v;
  }

  // Escapes that stand for one byte (\n, \x41, \.); -1 when `e` is not one of them.
  int SimpleEscape(char e) {
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'e':
        return 0x1b;
      case 'a':
        return 0x07;
      case 'x':
        return ReadHexEscape();
      default:
        break;
    }
    const auto u = static_cast<unsigned char>(e);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9')) return -1;
    return u;  // an escaped punctuation character or byte stands for itself
  }

  // \p{Name} or \pL after the 'p': skipped (what it matches is not known here).
  void SkipPropertyName() {
    if (Peek() != '{') {
      if (!AtEnd()) ++i_;
      return;
    }
    const std::size_t end = p_.find('}', i_);
    if (end == std::string_view::npos) {
      Fail();
      return;
    }
    i_ = end + 1;
  }

  // The byte an escape stands for inside a class (where \b is a backspace); -1 for what the
  // analysis does not follow (\Q, \E, \c, octal, ...).
  int ClassEscape(char e) {
    if (e == 'b') return 0x08;
    if (e == 'Q' || e == 'E') return -1;
    const int b = SimpleEscape(e);
    return failed_ ? -1 : b;
  }

  // The bytes \d, \s, \h and \v match, as PCRE2 compiles the rules (8-bit, neither UTF nor
  // UCP, its default character tables): a test holds them to what PCRE2 itself matches.
  static std::string_view TypeBytes(char e) {
    switch (e) {
      case 'd':
        return "0123456789";
      case 's':
        return "\t\n\v\f\r ";
      case 'h':
        return "\t \xa0";
      default:  // 'v'
        return "\n\v\f\r\x85";
    }
  }

  Facts ParseEscape() {
    ++i_;  // '\'
    if (AtEnd()) return Fail();
    const char e = p_[i_++];
    switch (e) {
      case 'b':
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
      case 'G':
      case 'K':
        return Facts::Empty();
      case 'E':
        atom_is_whole_ = false;
        return Facts::Empty();
      case 'd':
      case 's':
      case 'h':
      case 'v': {
        std::vector<std::string> out;
        for (const unsigned char b : TypeBytes(e)) out.emplace_back(1, static_cast<char>(b));
        return Facts::Exactly(std::move(out));
      }
      case 'D':
      case 'w':
      case 'W':
      case 'S':
      case 'H':
      case 'V':
      case 'R':
      case 'N':
      case 'X':
        return Facts::Unknown();
      case 'p':
      case 'P':
        SkipPropertyName();
        return Facts::Unknown();
      case 'Q': {
        std::size_t end = p_.find("\\E", i_);
        if (end == std::string_view::npos) end = p_.size();
        std::string lit;
        for (std::size_t j = i_; j < end; ++j) lit.push_back(AsciiLower(p_[j]));
        i_ = std::min(end + 2, p_.size());
        atom_is_whole_ = false;
        return Facts::Exactly({lit});
      }
      default:
        break;
    }
    if (e >= '1' && e <= '9') {
      // A back reference (or an octal escape): what it matches is not known here.
      while (Peek() >= '0' && Peek() <= '9') ++i_;
      return Facts::Unknown();
    }
    const int b = SimpleEscape(e);
    if (failed_) return Facts::Unknown();
    if (b < 0) return Fail();  // \0, \c, \g, \k, \o, ...: not followed
    return Facts::Exactly({std::string(1, AsciiLower(static_cast<char>(b)))});
  }

  // A character class: exact when it folds to a few bytes, else unknown.
  Facts ParseClass() {
    ++i_;  // '['
    bool negated = false;
    if (Peek() == '^') {
      negated = true;
      ++i_;
    }
    std::bitset<256> set;
    bool wide = false;  // holds \d, [:alpha:] and the like
    bool first = true;
    int prev = -1;  // the last single byte, for a range
    while (true) {
      if (AtEnd()) return Fail();
      const char c = p_[i_];
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      int b = -1;
      if (c == '[' && Peek(1) == ':') {
        // [:name:] (or [:^name:]) is a POSIX class only when letters run to ":]"; otherwise
        // the '[' is an ordinary byte, as in PCRE2.
        std::size_t j = i_ + 2;
        if (j < p_.size() && p_[j] == '^') ++j;
        while (j < p_.size() && p_[j] >= 'a' && p_[j] <= 'z') ++j;
        if (j + 1 < p_.size() && p_[j] == ':' && p_[j + 1] == ']') {
          i_ = j + 2;
          wide = true;
          prev = -1;
          continue;
        }
        if (std::string_view(p_).substr(i_ + 2).find(":]") != std::string_view::npos) {
          return Fail();  // something else PCRE2 may read differently: not followed
        }
      }
      if (c == '\\') {
        if (i_ + 1 >= p_.size()) return Fail();
        const char e = p_[i_ + 1];
        i_ += 2;
        if (e == 'd' || e == 's' || e == 'h' || e == 'v') {
          for (const unsigned char x : TypeBytes(e)) set.set(x);
          prev = -1;
          continue;
        }
        if (std::string_view("DwWSHVpPN").find(e) != std::string_view::npos) {
          if (e == 'p' || e == 'P') SkipPropertyName();
          if (failed_) return Facts::Unknown();
          wide = true;
          prev = -1;
          continue;
        }
        b = ClassEscape(e);
        if (b < 0) return Fail();
      } else {
        b = static_cast<unsigned char>(c);
        ++i_;
      }
      // A range: prev '-' b.
      if (b == '-' && c == '-' && prev >= 0 && Peek() != ']' && !AtEnd()) {
        int hi;
        const char d = p_[i_];
        if (d == '\\') {
          if (i_ + 1 >= p_.size()) return Fail();
          const char e = p_[i_ + 1];
          i_ += 2;
          hi = ClassEscape(e);
          if (hi < 0) return Fail();
        } else if (d == '[') {
          return Fail();
        } else {
          hi = static_cast<unsigned char>(d);
          ++i_;
        }
        if (hi < prev) return Fail();
        for (int x = prev; x <= hi; ++x) set.set(static_cast<std::size_t>(x));
        prev = -1;
        continue;
      }
      set.set(static_cast<std::size_t>(b));
      prev = b;
    }
    if (negated || wide) return Facts::Unknown();
    std::bitset<256> folded;
    for (int x = 0; x < 256; ++x) {
      if (set.test(static_cast<std::size_t>(x))) {
        folded.set(static_cast<unsigned char>(AsciiLower(static_cast<char>(x))));
      }
    }
    if (folded.count() == 0 || folded.count() > kMaxClass) return Facts::Unknown();
    std::vector<std::string> out;
    for (int x = 0; x < 256; ++x) {
      if (folded.test(static_cast<std::size_t>(x))) out.emplace_back(1, static_cast<char>(x));
    }
    return Facts::Exactly(std::move(out));
  }

  std::string_view p_;
  std::size_t i_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  // False when the item just read is not one atom for a quantifier (\Q...\E, \E, a comment).
  bool atom_is_whole_ = true;
};

}  // namespace

std::optional<std::vector<std::string>> RequiredLiterals(std::string_view pattern,
                                                         std::size_t max_literals) {
  auto facts = Analyzer(pattern).Run();
  if (!facts || !Filters(facts->strings)) return std::nullopt;
  std::vector<std::string> out = std::move(facts->strings);
  DropSuperstrings(out);
  if (out.empty() || out.size() > max_literals) return std::nullopt;
  return out;
}

}  // namespace rampart::waf
