// A loaded rule set: the rules of each phase in order, with SecDefaultAction merged in, removals
// and target updates applied, and the engine settings the directives gave. Immutable once built;
// shared by every route and worker that names the same rules.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/rule.h"
#include "gates/waf/seclang_reader.h"

namespace rampart::waf {

enum class EngineMode : std::uint8_t { kOn, kDetectionOnly, kOff };

struct EngineSettings {
  EngineMode mode = EngineMode::kOn;
  bool request_body_access = true;
  std::uint64_t request_body_limit = 13107200;         // SecRequestBodyLimit
  std::uint64_t request_body_no_files_limit = 131072;  // SecRequestBodyNoFilesLimit
  bool request_body_reject = true;  // SecRequestBodyLimitAction Reject (else ProcessPartial)
  bool response_body_access = false;
  std::uint64_t response_body_limit = 524288;
  std::vector<std::string> response_mime_types = {"text/plain", "text/html"};
  char argument_separator = '&';
  int json_depth_limit = 512;
  int argument_limit = 1000;  // SecArgumentsLimit
  std::string component_signature;
  std::string web_app_id = "default";
};

// A transformation chain: its last transformation, after the chain `parent` (-1: the value).
struct ChainStep {
  int parent = -1;
  TransformId last{};
  std::uint64_t transforms = 0;  // bit t: the chain holds TransformId t
};

// What a rule set holds once loaded (RuleSet's state, filled by its builder).
struct LoadedRules {
  // Every rule of every phase, in walk order, side by side (a walk reads them front to back, so
  // the processor can fetch the next ones ahead), and each phase's rules (1..5) in it.
  std::vector<Rule> storage;
  std::array<std::vector<const Rule*>, 6> phases;
  // Per phase and marker number, the marker's positions in ascending order.
  std::array<std::vector<std::vector<std::size_t>>, 6> markers;
  EngineSettings settings;
  std::size_t rule_count = 0;
  std::vector<std::string> files;
  std::vector<ChainStep> transform_chains;
  std::size_t prefilter_groups = 0;
  std::size_t prefilter_parts = 0;
  std::vector<int> part_targets;                 // by part: its target (a part without chain)
  std::vector<std::uint64_t> target_transforms;  // by target: the transformations its parts use
  std::map<std::string, int, std::less<>> tags;  // every tag a rule has, numbered
  std::vector<TxSetVar> tx_setvars;  // every rule's, in load order (Rule::tx_setvars_at)
  std::string setvar_text;           // their literal names and values
};

class RuleSet {
 public:
  // Loads directives in order. On failure returns nullptr with `error` naming file:line.
  static std::shared_ptr<const RuleSet> Build(const std::vector<Directive>& directives,
                                              std::string& error);

  const std::vector<const Rule*>& Phase(int phase) const noexcept {
    return d_.phases[static_cast<std::size_t>(phase)];
  }
  const EngineSettings& settings() const noexcept { return d_.settings; }
  // The position in Phase(phase) of the first SecMarker numbered `marker` (Rule::marker_id) at
  // or after `from`; the phase's size when there is none.
  std::size_t NextMarker(int phase, int marker, std::size_t from) const noexcept;
  std::size_t rule_count() const noexcept { return d_.rule_count; }
  // Rule files in load order (base names), for per-file metrics.
  const std::vector<std::string>& files() const noexcept { return d_.files; }
  // The transformation chains the rules use and all their prefixes, by Rule::chain_id.
  const std::vector<ChainStep>& transform_chains() const noexcept { return d_.transform_chains; }
  // How many groups of prefiltered rules read the same values (Rule::prefilter_group).
  std::size_t prefilter_groups() const noexcept { return d_.prefilter_groups; }
  // How many (target, chain) parts the groups' unions are made of (Rule::prefilter_parts).
  std::size_t prefilter_parts() const noexcept { return d_.prefilter_parts; }
  // A part's target: the values a part reads, whatever its chain. Parts of one target share
  // the union of the values as they are, for the chains that leave every one of them alone.
  int part_target(int part) const noexcept {
    return d_.part_targets[static_cast<std::size_t>(part)];
  }
  // The rule's setvars on TX, and the text their literal parts are in.
  const TxSetVar* tx_setvars(const Rule& r) const noexcept {
    return d_.tx_setvars.data() + r.tx_setvars_at;
  }
  std::string_view setvar_text(std::uint32_t at, std::uint32_t size) const noexcept {
    return std::string_view(d_.setvar_text).substr(at, size);
  }
  // A tag's number (Rule::tag_ids), or -1 when no rule has it.
  int TagId(std::string_view tag) const {
    const auto it = d_.tags.find(tag);
    return it == d_.tags.end() ? -1 : it->second;
  }
  std::size_t prefilter_targets() const noexcept { return d_.target_transforms.size(); }
  // Every transformation a target's parts apply to its values (bit t: TransformId t).
  std::uint64_t target_transforms(int target) const noexcept {
    return d_.target_transforms[static_cast<std::size_t>(target)];
  }

 private:
  LoadedRules d_;
};

}  // namespace rampart::waf
