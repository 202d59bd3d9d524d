// The phrase matcher behind @pm / @pmFromFile: one Vectorscan literal database per phrase list,
// scanned with per-thread scratch space.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct hs_database;

namespace rampart::waf::op_internal {

class PhraseSet {
 public:
  // Phrases are compared case-insensitively, ASCII only (as v3's acmp, which folds with tolower
  // in the C locale, and Vectorscan's HS_FLAG_CASELESS). Of phrases equal but for case the first
  // is kept: its spelling is what v3 reports (acmp keeps the text of the phrase that made a trie
  // node). Empty phrases are ignored; a set without phrases never matches.
  // `shared`: used by every thread (built at load time); otherwise used only by the building
  // thread (a run-time parameter in that thread's cache).
  static std::unique_ptr<PhraseSet> Build(const std::vector<std::string_view>& phrases, bool shared,
                                          std::string* error);
  ~PhraseSet();
  PhraseSet(const PhraseSet&) = delete;
  PhraseSet& operator=(const PhraseSet&) = delete;

  // The index of a phrase found in `value`, or -1. With `want_phrase`, the phrase v3's automaton
  // stops at: the one ending first in `value`, the longest of those ending there. Without it, the
  // first phrase found (the scan stops there).
  int Find(std::string_view value, bool want_phrase) const noexcept;

  const std::string& phrase(int index) const { return phrases_[static_cast<std::size_t>(index)]; }
  const std::vector<std::string>& phrases() const noexcept { return phrases_; }

 private:
  PhraseSet() = default;
  struct Search;

  hs_database* db_ = nullptr;  // null: no phrases
  bool shared_ = false;
  // What a value is padded with before it is scanned (operator_phrase_set.cc, Find): a byte no
  // phrase holds in either case, when there is one.
  char pad_ = '\xff';
  std::vector<std::string> phrases_;
};

}  // namespace rampart::waf::op_internal
