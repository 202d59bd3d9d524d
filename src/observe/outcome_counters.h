// A gate's decisions counted by their outcome token (rampart_<gate>_requests_total{route,
// outcome}): one series per outcome the gate declares, found by the token it decided. Empty (no
// series) in unit tests that build a gate without metrics.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "observe/metrics.h"

namespace rampart::observe {

class OutcomeCounters {
 public:
  OutcomeCounters() = default;
  OutcomeCounters(Metrics& metrics, const CounterDef<2>& def, std::string_view route,
                  std::span<const std::string_view> outcomes)
      : outcomes_(outcomes) {
    for (std::string_view o : outcomes) series_.push_back(metrics.Counter(def, {route, o}));
  }
  // The outcome at `index` of the declared tokens (out of range: not counted).
  void AddAt(int worker, std::size_t index) const noexcept {
    if (index < series_.size()) series_[index]->Add(worker);
  }
  // `outcome` is one of the declared tokens (others are not counted).
  void Add(int worker, std::string_view outcome) const noexcept {
    for (std::size_t i = 0; i < series_.size(); ++i) {
      if (outcomes_[i] == outcome) {
        series_[i]->Add(worker);
        return;
      }
    }
  }

 private:
  std::span<const std::string_view> outcomes_;
  std::vector<CounterSeries*> series_;
};

}  // namespace rampart::observe
