// @rx and @rxGlobal (ModSecurity v3 src/operators/rx.cc, rx_global.cc; the search loop of
// @rxGlobal is Regex::searchGlobal in src/utils/regex.cc).
#include <algorithm>

#include "gates/waf/operator_internal.h"
#include "gates/waf/operator_pcre.h"

namespace rampart::waf::op_internal {
namespace {

void StoreGroup(CaptureSet* captures, std::size_t index, std::string_view value, std::size_t start,
                std::size_t end) {
  if (captures == nullptr || index >= captures->groups.size()) return;
  if (start == PCRE2_UNSET || end > value.size() || start > end) {
    captures->groups[index].clear();
  } else {
    captures->groups[index].assign(value.substr(start, end - start));
  }
  captures->count = std::max(captures->count, static_cast<int>(index) + 1);
}

class RegexOperator final : public Operator {
 public:
  RegexOperator(bool global, bool has_macros, std::unique_ptr<CompiledRegex> re,
                std::uint32_t match_limit)
      : global_(global), has_macros_(has_macros), re_(std::move(re)), limit_(match_limit) {}

  bool Match(std::string_view value, std::string_view runtime_param,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    SetLastRegexStatus(RegexStatus::kOk);
    const CompiledRegex* re = re_.get();
    if (has_macros_) {
      // v3 compiles the expanded text per evaluation (an empty expansion becomes ".*"); we keep
      // the last few per thread.
      re = RuntimeRegex(runtime_param);
      if (re == nullptr) {
        SetLastRegexStatus(RegexStatus::kError);
        return false;
      }
    } else if (re == nullptr) {
      // v3 (Rx::evaluate): an empty parameter matches without running anything, captures nothing.
      return true;
    }
    return global_ ? MatchAll(*re, value, captures) : MatchFirst(*re, value, captures);
  }

 private:
  // v3 Regex::searchOneMatch: the first match; TX.n is group n.
  bool MatchFirst(const CompiledRegex& re, std::string_view value,
                  CaptureSet* captures) const noexcept {
    const PCRE2_SIZE* ov = nullptr;
    int pairs = 0;
    switch (re.Search(value, 0, 0, limit_.get(), &ov, &pairs)) {
      case RegexOutcome::kMatch:
        break;
      case RegexOutcome::kNoMatch:
        return false;
      case RegexOutcome::kMatchLimit:
        // v3: a regex error is no match (and MSC_PCRE_LIMITS_EXCEEDED for the engine to set).
        SetLastRegexStatus(RegexStatus::kMatchLimit);
        return false;
      case RegexOutcome::kError:
        SetLastRegexStatus(RegexStatus::kError);
        return false;
    }
    if (captures != nullptr) {
      // v3 stores only the groups that took part in the match and leaves an unset group's TX.n
      // as it was; a CaptureSet has no "unchanged" slot, so an unset group below the last set one
      // is captured as empty.
      try {
        for (int i = 0; i < pairs; ++i) StoreGroup(captures, i, value, ov[2 * i], ov[2 * i + 1]);
      } catch (...) {  // std::bad_alloc while copying a capture: the match still stands
      }
    }
    return true;
  }

  // v3 Regex::searchGlobal: every match left to right; the groups of each match are numbered on
  // from the number of groups stored so far (v3 counts only set groups there, which we mirror,
  // later matches overwriting earlier ones where v3's numbering collides). After an empty match
  // the next search is anchored and must not be empty, then the start moves on one character.
  bool MatchAll(const CompiledRegex& re, std::string_view value,
                CaptureSet* captures) const noexcept {
    bool matched = false;
    std::size_t start = 0;
    std::size_t stored = 0;  // v3's captures.size()
    bool after_empty = false;
    try {
      while (start <= value.size()) {
        const std::uint32_t options = after_empty ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
        const PCRE2_SIZE* ov = nullptr;
        int pairs = 0;
        const RegexOutcome outcome = re.Search(value, start, options, limit_.get(), &ov, &pairs);
        if (outcome == RegexOutcome::kMatch) {
          matched = true;
          const std::size_t first = stored;
          for (int i = 0; i < pairs; ++i) {
            if (ov[2 * i] == PCRE2_UNSET) continue;
            StoreGroup(captures, first + i, value, ov[2 * i], ov[2 * i + 1]);
            ++stored;
          }
          if (ov[1] > ov[0]) {
            start = ov[1];
            after_empty = false;
          } else if (ov[1] >= value.size()) {
            break;  // empty match at the end
          } else {
            // v3 retries from the search's start offset, not from the empty match, and so can
            // report one empty match several times; we continue from the match itself.
            start = ov[1];
            after_empty = true;
          }
          continue;
        }
        if (outcome != RegexOutcome::kNoMatch) {
          // v3 (PCRE2 build) treats a failed search inside the loop like "no more matches" and
          // keeps what it found; we do the same but still report the limit.
          SetLastRegexStatus(outcome == RegexOutcome::kMatchLimit ? RegexStatus::kMatchLimit
                                                                  : RegexStatus::kError);
        }
        if (!after_empty) break;
        // The anchored non-empty retry failed: move on one character (two over a CRLF only when
        // PCRE2 treats CRLF as a newline, which the default LF build does not).
        ++start;
        after_empty = false;
      }
    } catch (...) {  // std::bad_alloc while copying a capture: keep what we have
    }
    return matched;
  }

  bool global_;
  bool has_macros_;
  std::unique_ptr<CompiledRegex> re_;  // null: empty parameter, or a macro parameter
  MatchLimitContext limit_;
};

}  // namespace

std::unique_ptr<Operator> MakeRegexOperator(bool global, std::string_view param,
                                            const OperatorEnv& env, std::string* error) {
  const bool has_macros = ParamHasMacros(param);
  std::unique_ptr<CompiledRegex> re;
  if (has_macros) {
    // Compiled per evaluation from the expanded text (a macro may stand for regex syntax, so the
    // text as written proves nothing).
  } else if (!param.empty()) {
    // v3 does not check the pattern when loading (Rx::init ignores Regex::hasError) and fails
    // each evaluation instead; refusing the rule at load time is the safer outcome here.
    re = CompiledRegex::Compile(param, error);
    if (re == nullptr) return nullptr;
  }
  return std::make_unique<RegexOperator>(global, has_macros, std::move(re), env.pcre_match_limit);
}

}  // namespace rampart::waf::op_internal
