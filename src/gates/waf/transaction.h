// One request's pass through a rule set: the variables the rules read (filled from the request,
// its body and the response), TX, the matched variables, and the evaluation of each phase with
// ModSecurity v3's semantics (rule_with_operator.cc, rule_with_actions.cc, rules_set.cc): setvar
// runs for every matching value, the other actions once the whole chain matched; t:none drops the
// transformations before it and SecDefaultAction's; skipAfter runs to the named SecMarker.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gates/waf/ruleset.h"
#include "gates/waf/tx_table.h"

namespace rampart::waf {

// A collection's value under its key ("id" of ARGS:id). Rules see it as COLLECTION:key, with
// the collection named as the rule named it (ARGS_GET:id, ARGS_NAMES:id), as ModSecurity v3 does.
struct Entry {
  std::string name;
  std::string value;
  // Where the transformed forms of `value` (slot) and `name` (slot + 1) are kept for this
  // request; given on first use (-1 before).
  mutable int slot = -1;
  std::string_view key() const noexcept { return name; }
};

// What the gate knows of the request when phase 1 starts.
struct RequestInfo {
  std::string_view method;
  std::string_view target;    // as sent
  std::string_view protocol;  // "HTTP/1.1", "HTTP/2.0"
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view client_addr;
  int client_port = 0;
  std::string_view server_addr;
  int server_port = 0;
  std::string_view server_name;
  std::string_view unique_id;
};

// A rule that matched and logs: one line of the audit record.
struct MatchRecord {
  std::int64_t id = 0;
  const Rule* rule = nullptr;
  std::string msg, data, var, value;
  int severity = -1;
  bool disruptive = false;  // the rule would stop the request (deny, drop)
};

struct Intervention {
  bool intercepted = false;
  int status = 0;
  Disruptive action = Disruptive::kNone;
  std::int64_t rule_id = 0;
};

class Transaction {
 public:
  // Making, filling and destroying a transaction run once per request, with the caches cold:
  // they are compiled for size and kept apart from the hot code ([[gnu::cold]]).
  [[gnu::cold]] explicit Transaction(const RuleSet& rules);
  [[gnu::cold]] ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  [[gnu::cold]] void SetRequest(const RequestInfo& req);
  // The held body (all of it when `complete`) and its Content-Type; runs the body processor.
  [[gnu::cold]] void SetRequestBody(std::string_view body, bool complete,
                                    std::string_view content_type);
  void SetResponse(int status, std::string_view protocol,
                   const std::vector<std::pair<std::string_view, std::string_view>>& headers);
  void AppendResponseBody(std::string_view piece);

  // Runs one phase (1..5). Returns the intervention, if a rule intercepted (and the engine is On).
  const Intervention& RunPhase(int phase);
  // Nothing is intercepted whatever the rules or their ctl say (the gate's detect mode):
  // every phase runs and logs what would have been stopped.
  void ForceDetectionOnly() noexcept { detection_only_ = true; }
  // Whether the literal prefilter may answer "no match" before an operator runs (on by
  // default). The answers are the same either way; off, every operator runs, so the two can be
  // compared.
  void UsePrefilter(bool on) noexcept { prefilter_ = on; }
  // What the prefilter did in this transaction, and how often a regex still ran.
  struct PrefilterStats {
    std::uint32_t groups_asked = 0, groups_ruled_out = 0;  // rules tested by their group's union
    std::uint32_t values_asked = 0, values_ruled_out = 0;  // values tested before the operator
    std::uint32_t regex_runs = 0;                          // @rx, @rxGlobal, @verifyCC calls
    // Parts joined, and of those the ones that were their target's union of values as they are.
    std::uint32_t parts_joined = 0, parts_as_target = 0;
  };
  const PrefilterStats& prefilter_stats() const noexcept { return stats_; }

  const std::vector<MatchRecord>& matches() const noexcept { return matches_; }
  const Intervention& intervention() const noexcept { return intervention_; }
  EngineMode mode() const noexcept { return mode_; }
  bool request_body_access() const noexcept { return request_body_access_; }
  bool response_body_access() const noexcept { return response_body_access_; }
  // A TX value ("" when unset); keys lower case. A view: valid until the next TX variable is made
  // (TX's values move when its table grows).
  std::string_view Tx(std::string_view key) const noexcept;
  std::int64_t TxInt(std::string_view key) const noexcept;

  // How many values a target names (what &TARGET counts).
  std::size_t Count(const VarSpec& spec);

 private:
  // Calls f(collection, key, value, slot) for each value `spec` names, minus `exclusions`' and
  // ctl's removals; `collection` is the target's name, `key` empty for a variable without one;
  // `slot` says where the value's transformed forms are kept (-1: the value may change while
  // the request is inspected, so they are not).
  template <class F>
  void ForEach(const VarSpec& spec, const std::vector<VarSpec>* exclusions, const Rule* rule,
               F&& f);
  bool EvaluateRule(const Rule& r, const Rule& top);
  void AfterFullMatch(const Rule& r, const Rule& top);
  void RunSetVars(const Rule& r, const Rule& top);
  void ApplyCtl(const Ctl& ctl);
  void Expand(const Macro& m, std::string& out, const Rule* rule);
  bool Resolve(std::string_view name, std::string_view key, std::string& out, const Rule* rule);
  bool Removed(const Rule& r) const;
  static bool HasTag(const Rule& r, int tag) {
    return std::find(r.tag_ids.begin(), r.tag_ids.end(), tag) != r.tag_ids.end();
  }
  bool TargetRemoved(const Rule& r, std::string_view collection, std::string_view key) const;
  // Whether some ctl removal names a target of `collection` (for whichever rules).
  bool TargetsRemovedFrom(std::string_view collection) const;
  // Sets TX's `key`. Keys are lower case: setvar folds the names it expands, and the parser
  // folded the literal ones.
  void SetTx(std::string_view key, std::string_view value);
  const std::string* ScalarValue(Var v, std::string& scratch) const;
  const std::vector<Entry>* CollectionOf(Var v) const;
  // What multiMatch tests: the value, then each transformation's result that changed it, and
  // where each is kept (-1: not kept), for the prefilter.
  void MultiMatchValues(const Rule& r, std::string_view in, int slot,
                        std::vector<std::string_view>& outs, std::vector<int>& items);
  // The value under chain `chain` (-1: as it is), kept under `slot`: its item.
  int Cached(int chain, std::string_view value, int slot);
  // The value under chain `chain` (-1: as it is), kept under `slot`, and its item.
  std::string_view Kept(int chain, std::string_view value, int slot, int* item);
  // Whether each transformation of `chain` leaves the value under `slot` as it is (so the chain
  // does too): answered per slot and transformation once, as bits.
  bool ChainKeeps(int chain, std::string_view value, int slot);
  // The transformations of `wanted` that leave the value under `slot` as it is (bit t: TransformId
  // t), each asked once per slot: answered inline once known.
  std::uint64_t SlotKeeps(std::uint64_t wanted, std::string_view value, int slot) {
    const auto at = static_cast<std::size_t>(slot);
    if (at < slot_known_.size() && (wanted & ~slot_known_[at]) == 0) {
      return slot_keeps_[at] & wanted;
    }
    return LearnSlotKeeps(wanted, value, slot);
  }
  std::uint64_t LearnSlotKeeps(std::uint64_t wanted, std::string_view value, int slot);
  std::string_view CachedView(int chain, std::string_view value, int slot);
  // The value after the rule's transformations (not multiMatch), kept under `slot` (-1: not);
  // `*item` is where it is kept (-1: not kept).
  std::string_view Transformed(const Rule& r, std::string_view value, int slot, int* item);
  // Whether the rule's prefilter lets `value` (kept as `item`, or -1) through to its operator.
  bool MayMatch(const Rule& r, std::string_view value, int item);
  const Signature& ItemSignature(int item, std::string_view value) {
    return signatures_[static_cast<std::size_t>(ItemSignatureIndex(item, value))];
  }
  // Where the signature of item `item` (whose bytes are `value`) is in signatures_.
  int ItemSignatureIndex(int item, std::string_view value);
  // Whether the rule's prefilter admits the union of its group's values (true without a group).
  bool GroupMayMatch(const Rule& r);
  // The union of the signatures of the values `spec` names under r's chain (part `part`), for
  // the prefilter: its index in signatures_, or -1 when a value may change (TX, ...).
  int PartSignature(const Rule& r, const VarSpec& spec, int part);
  // Joins signatures into a union, copying none while they are all one.
  struct SignatureJoin {
    int first = -1;  // the first signature met (-1: none yet)
    bool joined = false;
    Signature all;  // the others joined to it, once one differs
  };
  void Join(SignatureJoin& j, int at);
  int Joined(const SignatureJoin& j);
  int EntrySlot(const Entry& e, bool name);
  int ScalarSlot(Var v);
  [[gnu::cold]] void ProcessBody(std::string_view body, std::string_view content_type);

  const RuleSet& rules_;
  EngineMode mode_;
  bool detection_only_ = false;
  bool prefilter_ = true;
  PrefilterStats stats_;
  bool request_body_access_;
  bool response_body_access_;
  std::string body_processor_;  // REQBODY_PROCESSOR ("" before phase 2 or without one)

  // Scalars.
  std::string method_, uri_, uri_raw_, filename_, basename_, line_, protocol_, query_;
  std::string remote_addr_, remote_port_, server_addr_, server_port_, server_name_, unique_id_;
  std::string request_body_, request_body_length_, reqbody_error_ = "0", reqbody_error_msg_;
  std::string reqbody_processor_error_ = "0", urlencoded_error_ = "0";
  std::string inbound_data_error_ = "0";
  std::string args_combined_size_ = "0", files_combined_size_ = "0", full_request_length_ = "0";
  std::string response_status_, response_protocol_, response_body_, response_content_type_;
  std::string response_content_length_;
  std::string matched_var_, matched_var_name_;
  std::string highest_severity_ = "255";

  // Collections.
  std::vector<Entry> args_get_, args_post_, headers_, cookies_, response_headers_;
  std::vector<Entry> files_, files_names_, files_sizes_, part_headers_, xml_text_, xml_attrs_;
  std::vector<Entry> matched_vars_, env_;
  std::vector<Entry> multipart_flags_;  // key: the flag's name; value "0" / "1"
  std::vector<std::string> multipart_filenames_, multipart_names_;
  // TX lives in a per-request arena: CRS creates about a hundred variables per request, and
  // each would otherwise cost allocations for its name and value, and their frees.
  std::pmr::monotonic_buffer_resource tx_memory_{16 << 10};
  TxTable tx_{&tx_memory_};

  // Per-transaction state changed by ctl.
  std::vector<std::pair<std::int64_t, std::int64_t>> removed_ids_;
  std::vector<int> removed_tags_;  // RuleSet::TagId
  std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, std::string>> removed_targets_;
  std::vector<std::pair<int, std::string>> removed_targets_by_tag_;

  // Phase flow.
  int skip_ = 0;
  int marker_ = -1;  // skipAfter: skipping until this SecMarker (Rule::marker_id)
  enum class Allow : std::uint8_t { kNone, kPhase, kRequest, kAll } allow_ = Allow::kNone;
  Intervention intervention_;
  std::vector<MatchRecord> matches_;
  CaptureSet captures_;
  // Transformed values, computed once per request and chain for the values that cannot change
  // while the request is inspected (not TX, not MATCHED_VARS): tf_state_[slot * (chains + 1) +
  // chain_id + 1] is 0 before it is computed, else 1 + its index in tf_items_.
  struct TfItem {
    std::uint32_t offset = 0, size = 0;  // in tf_arena_, unless `same`
    bool same = false;                   // the chain leaves the value as it is
    int alias = -1;  // an earlier item with the same signature (the same bytes, or but for case)
    int signature = -1;  // its index in signatures_, once a prefilter asked
  };
  std::size_t columns_;
  int next_slot_ = 0;
  std::array<int, 16> scalar_slots_;
  std::vector<std::uint32_t> tf_state_;
  std::vector<TfItem> tf_items_;
  std::vector<std::uint64_t> slot_known_,
      slot_keeps_;  // by slot, bit t: TransformKeeps known, true
  std::vector<Signature> signatures_;
  // Per prefilter group, for the running phase: -2 not yet joined, -1 cannot be (a value that
  // changes), else the union's index in signatures_.
  std::vector<int> group_signature_;
  std::vector<int> part_signature_;  // likewise per part
  // Likewise per target: the union of its values as they are (at), and the transformations of
  // its parts that leave every one of them alone (keeps). A part whose chain is among those has
  // that union, without a walk of its own (four parts in five of a benign request).
  // The values some transformation of its parts changes are listed in target_changers_
  // [changers, changers_end): a part that does not keep them all adds only theirs to the union.
  struct TargetSignature {
    int at = -2;
    std::uint64_t keeps = 0;
    std::uint32_t changers = 0, changers_end = 0;
  };
  struct Changer {
    std::string_view value;
    int slot;
  };
  std::vector<TargetSignature> target_signature_;
  std::vector<Changer> target_changers_;
  int empty_signature_ = -1;  // the parts without values share it
  std::string tf_arena_;
  std::string scratch_a_, scratch_b_;
  std::string setvar_name_, setvar_value_, op_param_;
  // Copies of the values of a target that setvar may change while it is walked (TX, ...): a
  // multiMatch rule's setvar may even delete the variable between its values.
  struct WalkSpan {
    std::size_t offset, key, value;
  };
  std::string walk_text_;
  std::vector<WalkSpan> walk_spans_;
  std::vector<int> scratch_chain_;
  std::vector<std::string> multi_scratch_;
  std::vector<std::string_view> multi_values_;
  std::vector<int> multi_items_;
};

}  // namespace rampart::waf
