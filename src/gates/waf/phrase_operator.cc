// @pm, @pmFromFile (alias @pmf): case-insensitive phrase matching (ModSecurity v3
// src/operators/pm.cc, pm_from_file.cc). v3 runs its own Aho-Corasick automaton
// (src/utils/acmp.cc); we compile the phrases into one Vectorscan literal database
// (operator_phrase_set.cc). v3's automaton misses some occurrences: run side by side on the CRS
// data files, it did not see "pm2.log" in "__pm2.log" (lfi-os-files.data also lists
// "__pycache__/") nor "str_replace" in "baSTR_replace" (which looks like
// owasp-modsecurity/ModSecurity#3165), and it never found a phrase that is not there. We find
// every occurrence, so we match a few values v3 does not, and TX.0 may then name a phrase that
// ends earlier than the one v3 names.
#include <cctype>

#include "gates/waf/operator_internal.h"
#include "gates/waf/operator_pcre.h"  // SmallTextCache
#include "gates/waf/operator_phrase_set.h"

namespace rampart::waf::op_internal {
namespace {

thread_local SmallTextCache<PhraseSet> tls_runtime_phrase_sets;

// v3 pm.cc parse_pm_content: an optional pair of double quotes around the parameter, "|41 42|"
// hex bytes, and the escapes \: \; \\ \". Anything malformed and v3 uses the parameter as
// written. The branch order (a '|' toggles hex mode even right after a backslash) is v3's.
std::string ParsePmContent(std::string_view param) {
  std::size_t offset = param.find_first_not_of(" \t");
  if (offset == std::string_view::npos) return std::string(param);
  std::size_t size = param.size() - offset;
  if (size >= 2 && param[offset] == '"' && param.back() == '"') {
    ++offset;
    size -= 2;
  }
  if (size == 0) return std::string(param);
  const std::string_view body = param.substr(offset, size);
  std::string out;
  out.reserve(body.size());
  bool hex = false;
  bool escaped = false;
  int nibbles = 0;
  unsigned char byte = 0;
  for (const char c : body) {
    if (c == '|') {
      hex = !hex;
    } else if (!escaped && c == '\\') {
      escaped = true;
    } else if (hex) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::string(param);
      const unsigned char v = static_cast<unsigned char>(
          c <= '9' ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10));
      byte = static_cast<unsigned char>(byte << 4 | v);
      if (++nibbles == 2) {
        out.push_back(static_cast<char>(byte));
        nibbles = 0;
        byte = 0;
      }
    } else if (escaped) {
      if (c != ':' && c != ';' && c != '\\' && c != '"') return std::string(param);
      out.push_back(c);
      escaped = false;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::unique_ptr<PhraseSet> BuildPmSet(std::string_view param, bool shared, std::string* error) {
  const std::string parsed = ParsePmContent(param);
  return PhraseSet::Build(SplitOnSpace(parsed), shared, error);
}

class PhraseOperator final : public Operator {
 public:
  PhraseOperator(std::unique_ptr<PhraseSet> set, bool runtime)
      : set_(std::move(set)), runtime_(runtime) {}

  const std::vector<std::string>* Phrases() const noexcept override {
    return set_ != nullptr ? &set_->phrases() : nullptr;
  }

  bool Match(std::string_view value, std::string_view runtime_param,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    const PhraseSet* set = runtime_ ? RuntimeSet(runtime_param) : set_.get();
    if (set == nullptr) return false;
    const int found = set->Find(value, captures != nullptr);
    if (found < 0) return false;
    if (captures != nullptr) {
      // v3 (Pm::evaluate): TX.0 is the phrase as written in the parameter or file.
      try {
        captures->groups[0].assign(set->phrase(found));
        captures->count = 1;
      } catch (...) {  // std::bad_alloc: the match still stands
      }
    }
    return true;
  }

 private:
  static const PhraseSet* RuntimeSet(std::string_view param) noexcept {
    bool found = false;
    const PhraseSet* set = tls_runtime_phrase_sets.Find(param, &found);
    if (found) return set;
    try {
      std::string error;
      return tls_runtime_phrase_sets.Insert(param, BuildPmSet(param, false, &error));
    } catch (...) {
      return nullptr;
    }
  }

  std::unique_ptr<PhraseSet> set_;  // null when runtime_
  bool runtime_;
};

// v3 PmFromFile::isComment: an empty line, or one whose first non-space character is '#'.
bool IsCommentLine(std::string_view line) {
  const std::size_t first = line.find_first_not_of(" \t\n\v\f\r");
  return first == std::string_view::npos ? line.empty() : line[first] == '#';
}

// Appends the phrases of one data file: one per line, taken as written (v3 does not trim: the
// leading space of " in query expression" in sql-errors.data is part of the phrase).
void AppendFilePhrases(std::string_view contents, std::vector<std::string_view>* phrases) {
  std::size_t pos = 0;
  while (pos < contents.size()) {
    std::size_t end = contents.find('\n', pos);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view line = contents.substr(pos, end - pos);
    pos = end + 1;
    // Not in v3, which would keep the '\r' of a CRLF file as part of the phrase.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (IsCommentLine(line)) continue;
    // v3 would add a line of only white space as a phrase (matching any value with that many
    // spaces); we skip it.
    if (line.find_first_not_of(" \t\v\f") == std::string_view::npos) continue;
    phrases->push_back(line);
  }
}

}  // namespace

std::unique_ptr<Operator> MakePm(std::string_view param, std::string* error) {
  if (ParamHasMacros(param)) {
    // v3 never expands macros in @pm (Pm::init reads the parameter once, as written); we expand
    // them as for @rx and build the phrase set per thread at run time.
    return std::make_unique<PhraseOperator>(nullptr, true);
  }
  auto set = BuildPmSet(param, true, error);
  if (set == nullptr) return nullptr;
  return std::make_unique<PhraseOperator>(std::move(set), false);
}

std::unique_ptr<Operator> MakePmFromFile(std::string_view param, const OperatorEnv& env,
                                         std::string* error) {
  if (param.substr(0, 8) == "https://" || param.substr(0, 7) == "http://") {
    *error = "downloading phrase files is not supported";
    return nullptr;
  }
  const std::vector<std::string_view> names = SplitOnSpace(param);
  if (names.empty()) {
    *error = "missing file name";
    return nullptr;
  }
  // v3 (as of 3.0.13) reads the whole parameter as one path; v2, and v3 since
  // owasp-modsecurity/ModSecurity#3403, take several files separated by spaces. We try the whole
  // parameter first, then its pieces.
  std::vector<std::string> contents;
  std::string whole;
  if (names.size() == 1 || !ReadOperatorFile(env.rules_dir, param, &whole, error)) {
    for (std::string_view name : names) {
      std::string text;
      if (!ReadOperatorFile(env.rules_dir, name, &text, error)) return nullptr;
      contents.push_back(std::move(text));
    }
  } else {
    contents.push_back(std::move(whole));
  }
  std::vector<std::string_view> phrases;
  for (const std::string& text : contents) AppendFilePhrases(text, &phrases);
  auto set = PhraseSet::Build(phrases, true, error);
  if (set == nullptr) return nullptr;
  return std::make_unique<PhraseOperator>(std::move(set), false);
}

}  // namespace rampart::waf::op_internal
