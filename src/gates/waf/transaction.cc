#include "gates/waf/transaction.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <unordered_map>

#include "core/strings.h"
#include "gates/waf/name_regex.h"
#include "gates/waf/rule_parser.h"

namespace rampart::waf {
namespace {

// ModSecurity v3's parsing of numbers in setvar and comparisons: a leading integer, else 0.
std::int64_t ToInt(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Scalars set once when the request arrives (or its body does) and never changed after: their
// index among them, or -1 for the others.
int WrittenOnce(Var v) {
  switch (v) {
    case Var::kRequestMethod:
      return 0;
    case Var::kRequestUri:
      return 1;
    case Var::kRequestUriRaw:
      return 2;
    case Var::kRequestFilename:
    case Var::kPathInfo:
      return 3;
    case Var::kRequestBasename:
      return 4;
    case Var::kRequestLine:
      return 5;
    case Var::kRequestProtocol:
      return 6;
    case Var::kQueryString:
      return 7;
    case Var::kRequestBody:
      return 8;
    case Var::kRemoteAddr:
      return 9;
    default:
      return -1;
  }
}

// Values above this are transformed each time instead of kept: kept forms cost at most this
// much per value and chain prefix.
constexpr std::size_t kMaxKept = 64 << 10;

}  // namespace

int Transaction::EntrySlot(const Entry& e, bool name) {
  if (e.slot < 0) {
    e.slot = next_slot_;
    next_slot_ += 2;
  }
  return e.slot + (name ? 1 : 0);
}

int Transaction::ScalarSlot(Var v) {
  const int i = WrittenOnce(v);
  if (i < 0) return -1;
  int& slot = scalar_slots_[static_cast<std::size_t>(i)];
  if (slot < 0) slot = next_slot_++;
  return slot;
}

std::string_view Transaction::Tx(std::string_view key) const noexcept {
  const std::pmr::string* v = tx_.Find(key);
  return v == nullptr ? std::string_view() : std::string_view(*v);
}

std::int64_t Transaction::TxInt(std::string_view key) const noexcept { return ToInt(Tx(key)); }

void Transaction::SetTx(std::string_view key, std::string_view value) {
  tx_.Slot(key).assign(value);
}

const std::vector<Entry>* Transaction::CollectionOf(Var v) const {
  switch (v) {
    case Var::kArgsGet:
    case Var::kArgsGetNames:
      return &args_get_;
    case Var::kArgsPost:
    case Var::kArgsPostNames:
      return &args_post_;
    case Var::kRequestHeaders:
    case Var::kRequestHeadersNames:
      return &headers_;
    case Var::kRequestCookies:
    case Var::kRequestCookiesNames:
      return &cookies_;
    case Var::kResponseHeaders:
    case Var::kResponseHeadersNames:
      return &response_headers_;
    case Var::kFiles:
      return &files_;
    case Var::kFilesNames:
      return &files_names_;
    case Var::kFilesSizes:
      return &files_sizes_;
    case Var::kMultipartPartHeaders:
      return &part_headers_;
    case Var::kMatchedVars:
    case Var::kMatchedVarsNames:
      return &matched_vars_;
    case Var::kEnv:
      return &env_;
    default:
      return nullptr;
  }
}

const std::string* Transaction::ScalarValue(Var v, std::string& scratch) const {
  switch (v) {
    case Var::kArgsCombinedSize:
      return &args_combined_size_;
    case Var::kFilesCombinedSize:
      return &files_combined_size_;
    case Var::kRequestMethod:
      return &method_;
    case Var::kRequestUri:
      return &uri_;
    case Var::kRequestUriRaw:
      return &uri_raw_;
    case Var::kRequestFilename:
    case Var::kPathInfo:
      return &filename_;
    case Var::kRequestBasename:
      return &basename_;
    case Var::kRequestLine:
      return &line_;
    case Var::kRequestProtocol:
      return &protocol_;
    case Var::kQueryString:
      return &query_;
    case Var::kRequestBody:
      return request_body_length_.empty() ? nullptr : &request_body_;
    case Var::kRequestBodyLength:
      return request_body_length_.empty() ? nullptr : &request_body_length_;
    case Var::kRemoteAddr:
      return &remote_addr_;
    case Var::kRemotePort:
      return &remote_port_;
    case Var::kServerAddr:
      return &server_addr_;
    case Var::kServerPort:
      return &server_port_;
    case Var::kServerName:
      return &server_name_;
    case Var::kUniqueId:
      return &unique_id_;
    case Var::kReqbodyError:
      return &reqbody_error_;
    case Var::kReqbodyErrorMsg:
      return &reqbody_error_msg_;
    case Var::kReqbodyProcessor:
      return body_processor_.empty() ? nullptr : &body_processor_;
    case Var::kReqbodyProcessorError:
      return &reqbody_processor_error_;
    case Var::kUrlencodedError:
      return &urlencoded_error_;
    case Var::kInboundDataError:
      return &inbound_data_error_;
    case Var::kResponseStatus:
      return response_status_.empty() ? nullptr : &response_status_;
    case Var::kResponseProtocol:
      return response_protocol_.empty() ? nullptr : &response_protocol_;
    case Var::kResponseBody:
      return response_body_.empty() ? nullptr : &response_body_;
    case Var::kResponseContentType:
      return &response_content_type_;
    case Var::kResponseContentLength:
      return &response_content_length_;
    case Var::kMatchedVar:
      return &matched_var_;
    case Var::kMatchedVarName:
      return &matched_var_name_;
    case Var::kFullRequestLength:
      return &full_request_length_;
    case Var::kHighestSeverity:
      return &highest_severity_;
    case Var::kStatusLine:
      scratch = response_protocol_ + " " + response_status_;
      return &scratch;
    default:
      return nullptr;
  }
}

bool Transaction::TargetsRemovedFrom(std::string_view collection) const {
  // A target written COLLECTION or COLLECTION:key names the collection.
  const auto names = [&](std::string_view target) {
    return IStartsWith(target, collection) &&
           (target.size() == collection.size() || target[collection.size()] == ':');
  };
  for (const auto& removal : removed_targets_) {
    if (names(removal.second)) return true;
  }
  for (const auto& removal : removed_targets_by_tag_) {
    if (names(removal.second)) return true;
  }
  return false;
}

bool Transaction::TargetRemoved(const Rule& r, std::string_view collection,
                                std::string_view key) const {
  if (removed_targets_.empty() && removed_targets_by_tag_.empty()) return false;
  // ctl's targets are written COLLECTION:key (or COLLECTION); compared without building it.
  const auto same = [&](std::string_view target) {
    if (key.empty()) return IEquals(target, collection);
    return target.size() == collection.size() + 1 + key.size() &&
           target[collection.size()] == ':' &&
           IEquals(target.substr(0, collection.size()), collection) &&
           IEquals(target.substr(collection.size() + 1), key);
  };
  for (const auto& [ids, target] : removed_targets_) {
    if (r.act.id >= ids.first && r.act.id <= ids.second && same(target)) return true;
  }
  for (const auto& [tag, target] : removed_targets_by_tag_) {
    if (same(target) && HasTag(r, tag)) return true;
  }
  return false;
}

template <class F>
void Transaction::ForEach(const VarSpec& spec, const std::vector<VarSpec>* exclusions,
                          const Rule* rule, F&& f) {
  const std::string_view coll = spec.name;
  // ctl's removals are rare: the walk asks about them only when one names this collection
  // (CRS's 941010 removes REQUEST_FILENAME from the 941 rules on most requests); then per value
  // (TargetRemoved), for the rules it applies to.
  const bool ctl_removed = rule != nullptr && TargetsRemovedFrom(coll);
  auto excluded = [&](Var var, std::string_view key) {
    if (exclusions != nullptr) {
      for (const auto& x : *exclusions) {
        if (!x.exclude || x.var != var) continue;
        if (x.key_regex ? x.key_regex->Matches(key) : (x.key.empty() || IEquals(x.key, key))) {
          return true;
        }
      }
    }
    return ctl_removed && TargetRemoved(*rule, coll, key);
  };
  auto selected = [&](std::string_view key) {
    if (spec.key_regex) return spec.key_regex->Matches(key);
    return spec.key.empty() || IEquals(spec.key, key);
  };
  // Collections other than MATCHED_VARS hold what the request sent: their values stay.
  const bool keeps = spec.var != Var::kMatchedVars && spec.var != Var::kMatchedVarsNames;
  auto each_entry = [&](const std::vector<Entry>& list, bool names) {
    for (const auto& e : list) {
      if (!selected(e.key()) || excluded(spec.var, e.key())) continue;
      f(coll, e.key(), names ? e.key() : std::string_view(e.value),
        keeps ? EntrySlot(e, names) : -1);
    }
  };
  switch (spec.var) {
    case Var::kArgs:
      each_entry(args_get_, false);
      each_entry(args_post_, false);
      return;
    case Var::kArgsNames:
      each_entry(args_get_, true);
      each_entry(args_post_, true);
      return;
    case Var::kArgsGetNames:
    case Var::kArgsPostNames:
    case Var::kRequestHeadersNames:
    case Var::kRequestCookiesNames:
    case Var::kResponseHeadersNames:
    case Var::kMatchedVarsNames:
      each_entry(*CollectionOf(spec.var), true);
      return;
    case Var::kTx:
      if (!spec.key.empty() && !spec.key_regex) {
        // Names are lower case, the selector too: it is the stored name.
        const std::pmr::string* v = tx_.Find(spec.key);
        if (v != nullptr && !excluded(Var::kTx, spec.key)) {
          f(coll, std::string_view(spec.key), std::string_view(*v), -1);
        }
        return;
      }
      tx_.ForEach([&](std::string_view k, std::string_view v) {
        if (selected(k) && !excluded(Var::kTx, k)) f(coll, k, v, -1);
      });
      return;
    case Var::kXml: {
      // XML:/* is the document's text, XML://@* its attribute values (what CRS asks for).
      const bool attrs = spec.key.find('@') != std::string::npos;
      for (const auto& e : attrs ? xml_attrs_ : xml_text_) {
        f(coll, std::string_view(spec.key), std::string_view(e.value), EntrySlot(e, false));
      }
      return;
    }
    case Var::kRule: {
      if (rule == nullptr) return;
      std::string v;
      if (spec.key == "id")
        v = std::to_string(rule->act.id);
      else if (spec.key == "phase")
        v = std::to_string(rule->act.phase);
      else if (spec.key == "severity")
        v = std::to_string(rule->act.severity);
      else if (spec.key == "ver")
        v = rule->act.ver;
      else if (spec.key == "rev")
        v = rule->act.rev;
      else if (spec.key == "msg" && rule->act.msg)
        v = rule->act.msg->Literal();
      else
        return;
      f(coll, std::string_view(spec.key), std::string_view(v), -1);
      return;
    }
    case Var::kMultipartFlag:
      for (const auto& e : multipart_flags_) {
        if (e.key() == spec.key && !excluded(spec.var, {})) {
          f(coll, {}, std::string_view(e.value), -1);
        }
      }
      return;
    case Var::kMultipartFilename:
      for (const auto& n : multipart_filenames_) f(coll, {}, std::string_view(n), -1);
      return;
    case Var::kMultipartName:
      for (const auto& n : multipart_names_) f(coll, {}, std::string_view(n), -1);
      return;
    default:
      break;
  }
  if (const auto* list = CollectionOf(spec.var)) {
    each_entry(*list, false);
    return;
  }
  std::string scratch;
  if (const std::string* v = ScalarValue(spec.var, scratch)) {
    if (!excluded(spec.var, {})) f(coll, {}, std::string_view(*v), ScalarSlot(spec.var));
  }
}

std::size_t Transaction::Count(const VarSpec& spec) {
  std::size_t n = 0;
  ForEach(spec, nullptr, nullptr,
          [&](std::string_view, std::string_view, std::string_view, int) { ++n; });
  return n;
}

bool Transaction::Resolve(std::string_view name, std::string_view key, std::string& out,
                          const Rule* rule) {
  if (name == "TX") {
    const std::pmr::string* v = tx_.Find(key);
    if (v == nullptr) return false;
    out.append(std::string_view(*v));
    return true;
  }
  if (name == "MATCHED_VAR") return out.append(matched_var_), true;
  if (name == "MATCHED_VAR_NAME") return out.append(matched_var_name_), true;
  // Other references map onto the targets rules use; parsed once per thread and name.
  thread_local std::unordered_map<std::string, VarSpec> specs;
  std::string text(name);
  if (!key.empty()) text.append(":").append(key);
  auto it = specs.find(text);
  if (it == specs.end()) {
    std::vector<VarSpec> one;
    std::string error;
    if (!ParseVariables(text, one, error) || one.size() != 1) return false;
    it = specs.emplace(text, std::move(one.front())).first;
  }
  bool found = false;
  ForEach(it->second, nullptr, rule,
          [&](std::string_view, std::string_view, std::string_view value, int) {
            if (!found) out.append(value);
            found = true;
          });
  return found;
}

void Transaction::Expand(const Macro& m, std::string& out, const Rule* rule) {
  out.clear();
  for (const auto& p : m.parts) {
    if (!p.is_ref) {
      out.append(p.text);
    } else {
      Resolve(p.text, p.key, out, rule);
    }
  }
}

bool Transaction::Removed(const Rule& r) const {
  for (const auto& [from, to] : removed_ids_) {
    if (r.act.id >= from && r.act.id <= to) return true;
  }
  for (const int tag : removed_tags_) {
    if (HasTag(r, tag)) return true;
  }
  return false;
}

void Transaction::MultiMatchValues(const Rule& r, std::string_view in, int slot,
                                   std::vector<std::string_view>& outs, std::vector<int>& items) {
  // multiMatch tests the value before any transformation and after each one that changed it
  // (ModSecurity v3, executeTransformations).
  outs.clear();
  items.clear();
  outs.push_back(in);
  if (slot >= 0 && in.size() <= kMaxKept && r.chain_id >= 0) {
    items.push_back(Cached(-1, in, slot));
    if (ChainKeeps(r.chain_id, in, slot)) return;
    Cached(r.chain_id, in, slot);
    // Every prefix of the chain is kept now; nothing is appended while the views are taken.
    std::vector<int>& chain = scratch_chain_;
    chain.clear();
    const auto& steps = rules_.transform_chains();
    for (int c = r.chain_id; c >= 0; c = steps[static_cast<std::size_t>(c)].parent) {
      chain.push_back(c);
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const std::string_view v = CachedView(*it, in, slot);
      if (v != outs.back()) {
        outs.push_back(v);
        items.push_back(Cached(*it, in, slot));  // kept already: a lookup
      }
    }
    return;
  }
  items.push_back(-1);
  multi_scratch_.clear();
  multi_scratch_.reserve(r.effective_transforms.size());
  std::string cur(in), next;
  for (TransformId t : r.effective_transforms) {
    const bool changed = ApplyTransform(t, cur, next);
    cur.swap(next);
    if (changed) multi_scratch_.push_back(cur);
  }
  for (const auto& v : multi_scratch_) outs.push_back(v);
  items.resize(outs.size(), -1);
}

std::string_view Transaction::CachedView(int chain, std::string_view value, int slot) {
  const std::uint32_t state =
      tf_state_[static_cast<std::size_t>(slot) * columns_ + static_cast<std::size_t>(chain + 1)];
  const TfItem& t = tf_items_[state - 1];
  return t.same ? value : std::string_view(tf_arena_).substr(t.offset, t.size);
}

std::uint64_t Transaction::LearnSlotKeeps(std::uint64_t wanted, std::string_view value, int slot) {
  const auto at = static_cast<std::size_t>(slot);
  if (at >= slot_keeps_.size()) {
    slot_keeps_.resize(static_cast<std::size_t>(next_slot_));
    slot_known_.resize(static_cast<std::size_t>(next_slot_));
  }
  std::uint64_t unknown = wanted & ~slot_known_[at];
  while (unknown != 0) {
    const int t = __builtin_ctzll(unknown);
    unknown &= unknown - 1;
    if (TransformKeeps(static_cast<TransformId>(t), value))
      slot_keeps_[at] |= std::uint64_t{1} << t;
    slot_known_[at] |= std::uint64_t{1} << t;
  }
  return slot_keeps_[at] & wanted;
}

bool Transaction::ChainKeeps(int chain, std::string_view value, int slot) {
  if (chain < 0) return true;
  const std::uint64_t wanted =
      rules_.transform_chains()[static_cast<std::size_t>(chain)].transforms;
  return SlotKeeps(wanted, value, slot) == wanted;
}

int Transaction::Cached(int chain, std::string_view value, int slot) {
  const std::size_t at =
      static_cast<std::size_t>(slot) * columns_ + static_cast<std::size_t>(chain + 1);
  if (at >= tf_state_.size()) tf_state_.resize(static_cast<std::size_t>(next_slot_) * columns_);
  if (tf_state_[at] != 0) return static_cast<int>(tf_state_[at] - 1);
  TfItem made;
  if (chain < 0) {
    made.same = true;
  } else {
    const ChainStep& step = rules_.transform_chains()[static_cast<std::size_t>(chain)];
    const int parent = Cached(step.parent, value, slot);
    const TfItem p = tf_items_[static_cast<std::size_t>(parent)];
    const std::string_view pv =
        p.same ? value : std::string_view(tf_arena_).substr(p.offset, p.size);
    // On the value as it is, the slot's bits answer (asked once per slot and transformation).
    const std::uint64_t bit = std::uint64_t{1} << static_cast<int>(step.last);
    const bool keeps = p.same ? SlotKeeps(bit, value, slot) != 0 : TransformKeeps(step.last, pv);
    if (keeps || !ApplyTransform(step.last, pv, scratch_b_)) {
      // The same bytes as the parent's: its span, and its signature once there is one.
      made = p;
      made.alias = p.alias >= 0 ? p.alias : parent;
    } else {
      made.offset = static_cast<std::uint32_t>(tf_arena_.size());
      made.size = static_cast<std::uint32_t>(scratch_b_.size());
      tf_arena_.append(scratch_b_);
      // A case change signs as its parent: signatures are case-folded.
      if (IsCaseChange(step.last)) {
        made.alias = p.alias >= 0 ? p.alias : parent;
      }
    }
  }
  made.signature = -1;
  tf_items_.push_back(made);
  tf_state_[at] = static_cast<std::uint32_t>(tf_items_.size());
  return static_cast<int>(tf_items_.size() - 1);
}

std::string_view Transaction::Kept(int chain, std::string_view value, int slot, int* item) {
  if (ChainKeeps(chain, value, slot)) {
    *item = Cached(-1, value, slot);
    return value;
  }
  *item = Cached(chain, value, slot);
  return CachedView(chain, value, slot);
}

std::string_view Transaction::Transformed(const Rule& r, std::string_view value, int slot,
                                          int* item) {
  *item = -1;
  const bool keep = slot >= 0 && value.size() <= kMaxKept;
  if (keep && (r.chain_id >= 0 || r.value_prefilter)) return Kept(r.chain_id, value, slot, item);
  if (r.chain_id < 0) return value;
  // Most values are left alone by most chains (no '%', no capitals, ...): no copy then.
  bool keeps = true;
  for (TransformId t : r.effective_transforms) {
    if (!TransformKeeps(t, value)) {
      keeps = false;
      break;
    }
  }
  if (keeps) return value;
  scratch_a_.assign(value);
  for (TransformId t : r.effective_transforms) {
    ApplyTransform(t, scratch_a_, scratch_b_);
    scratch_a_.swap(scratch_b_);
  }
  return scratch_a_;
}

bool Transaction::MayMatch(const Rule& r, std::string_view value, int item) {
  if (!prefilter_ || !r.value_prefilter) return true;
  // Values that are not kept (TX, MATCHED_VAR) are short: signing one costs less than the
  // regex; long ones go straight to PCRE2.
  constexpr std::size_t kSignedInPassing = 256;
  if (item < 0 && value.size() > kSignedInPassing) return true;
  ++stats_.values_asked;
  const bool may =
      r.prefilter->MayMatch(item < 0 ? Signature::Of(value) : ItemSignature(item, value));
  if (!may) ++stats_.values_ruled_out;
  return may;
}

int Transaction::ItemSignatureIndex(int item, std::string_view value) {
  TfItem& t = tf_items_[static_cast<std::size_t>(item)];
  if (t.signature < 0) {
    // Items with the same bytes share one signature, kept by the first of them.
    TfItem& first = t.alias >= 0 ? tf_items_[static_cast<std::size_t>(t.alias)] : t;
    if (first.signature < 0) {
      first.signature = static_cast<int>(signatures_.size());
      signatures_.push_back(Signature::Of(value));
    }
    t.signature = first.signature;
  }
  return t.signature;
}

void Transaction::Join(SignatureJoin& j, int at) {
  if (j.first < 0) {
    j.first = at;
  } else if (at != j.first) {
    if (!j.joined) j.all = signatures_[static_cast<std::size_t>(j.first)];
    j.joined = true;
    j.all |= signatures_[static_cast<std::size_t>(at)];
  }
}

int Transaction::Joined(const SignatureJoin& j) {
  if (!j.joined && j.first >= 0) return j.first;
  if (j.first < 0) {
    // Most parts of most requests are empty (no cookies, no body, no XML): they share one.
    if (empty_signature_ < 0) {
      empty_signature_ = static_cast<int>(signatures_.size());
      signatures_.emplace_back();
    }
    return empty_signature_;
  }
  signatures_.push_back(j.all);
  return static_cast<int>(signatures_.size() - 1);
}

int Transaction::PartSignature(const Rule& r, const VarSpec& spec, int part) {
  // (A rule reading RULE:..., its own metadata, has no group: AssignGroup. `spec` is read only
  // when the target's union is taken, once per phase.)
  // Every value the target names, exclusions and ctl removals aside: a superset of what each
  // rule reading it sees.
  const int target = rules_.part_target(part);
  TargetSignature& ts = target_signature_[static_cast<std::size_t>(target)];
  if (ts.at == -2) {
    // The target's values as they are, and which of its parts' transformations leave them so.
    const std::uint64_t wanted = rules_.target_transforms(target);
    SignatureJoin j;
    bool stable = true;
    std::uint64_t keeps = wanted;
    ts.changers = static_cast<std::uint32_t>(target_changers_.size());
    ForEach(spec, nullptr, nullptr,
            [&](std::string_view, std::string_view, std::string_view value, int slot) {
              if (slot < 0 || value.size() > kMaxKept) {
                stable = false;
                return;
              }
              const std::uint64_t kept = SlotKeeps(wanted, value, slot);
              if (kept != wanted) target_changers_.push_back({value, slot});
              keeps &= kept;
              Join(j, ItemSignatureIndex(Cached(-1, value, slot), value));
            });
    ts.changers_end = static_cast<std::uint32_t>(target_changers_.size());
    ts.at = stable ? Joined(j) : -1;
    ts.keeps = keeps;
  }
  if (ts.at < 0) return -1;
  ++stats_.parts_joined;
  const int chain = r.PrefilterChain();
  const std::uint64_t transforms =
      chain < 0 ? 0 : rules_.transform_chains()[static_cast<std::size_t>(chain)].transforms;
  // Every value is as it was after each step of the chain: the part is the target's union
  // (a multiMatch part too, whose variants are then all the value itself).
  if ((transforms & ~ts.keeps) == 0) {
    ++stats_.parts_as_target;
    return ts.at;
  }
  // Otherwise the values the chain changes add their transformed forms to the target's union.
  // A multiMatch rule tests each value as it is too; for the others the union is a superset
  // (the changed values as they were as well), which the prefilter allows: it only ever says
  // "cannot match".
  SignatureJoin j;
  Join(j, ts.at);
  const auto& steps = rules_.transform_chains();
  for (std::uint32_t i = ts.changers; i < ts.changers_end; ++i) {
    const Changer c = target_changers_[i];
    // Each step the value is not left alone by, from the whole chain back (a multiMatch rule
    // tests every step; the others only the last). Once a step keeps the value, so do the steps
    // before it: the value as it is, in the target's union already.
    for (int step = chain; step >= 0; step = steps[static_cast<std::size_t>(step)].parent) {
      const ChainStep& s = steps[static_cast<std::size_t>(step)];
      if (SlotKeeps(s.transforms, c.value, c.slot) == s.transforms) break;
      // A case change signs as the step before it (signatures are case-folded).
      if (IsCaseChange(s.last)) continue;
      const int item = Cached(step, c.value, c.slot);
      Join(j, ItemSignatureIndex(item, CachedView(step, c.value, c.slot)));
      if (!r.multi_match) break;
    }
  }
  return Joined(j);
}

bool Transaction::GroupMayMatch(const Rule& r) {
  if (!prefilter_ || r.prefilter_group < 0) return true;
  int& joined = group_signature_[static_cast<std::size_t>(r.prefilter_group)];
  if (joined == -2) {
    // The union of the group's parts, each joined once per phase.
    Signature all;
    bool stable = true;
    int only = -2;  // the one signature index all parts share, if they do (-1: they differ)
    for (const auto& [var, part] : r.prefilter_parts) {
      int& p = part_signature_[static_cast<std::size_t>(part)];
      if (p == -2) p = PartSignature(r, r.vars[static_cast<std::size_t>(var)], part);
      if (p < 0) {
        stable = false;
        break;
      }
      only = only == -2 || only == p ? p : -1;
      all |= signatures_[static_cast<std::size_t>(p)];
    }
    if (!stable) {
      joined = -1;
    } else if (only >= 0) {
      joined = only;  // one part, or parts all empty: no new union
    } else {
      joined = static_cast<int>(signatures_.size());
      signatures_.push_back(all);
    }
  }
  if (joined < 0) return true;
  ++stats_.groups_asked;
  const bool may = r.prefilter->MayMatch(signatures_[static_cast<std::size_t>(joined)]);
  if (!may) ++stats_.groups_ruled_out;
  return may;
}

void Transaction::RunSetVars(const Rule& r, const Rule& top) {
  // Persistent collections are not kept (no initcol): only TX's setvars were compiled.
  const TxSetVar* const setvars = rules_.tx_setvars(r);
  for (std::uint32_t i = 0; i < r.tx_setvars_count; ++i) {
    const TxSetVar& sv = setvars[i];
    // Most names and values are literal (the parser lower-cased the names), their names' hashes
    // taken at load: used as they are.
    std::string_view name;
    std::uint64_t hash;
    if (sv.name_literal) {
      name = rules_.setvar_text(sv.name_at, sv.name_size);
      hash = sv.name_hash;
    } else {
      Expand(sv.source->name, setvar_name_, &top);
      for (char& c : setvar_name_) c = AsciiLower(c);
      name = setvar_name_;
      hash = TxTable::Hash(name);
    }
    // The value, copied out of TX when it is read from there (TX's values move as it grows).
    auto value = [&]() -> std::string_view {
      if (sv.value_literal) return rules_.setvar_text(sv.value_at, sv.value_size);
      if (sv.value_tx) {
        const std::pmr::string* v =
            tx_.Find(rules_.setvar_text(sv.value_at, sv.value_size), sv.value_hash);
        setvar_value_.assign(v != nullptr ? std::string_view(*v) : std::string_view());
        return setvar_value_;
      }
      Expand(sv.source->value, setvar_value_, &top);
      return setvar_value_;
    };
    switch (sv.op) {
      case SetVar::Op::kDelete:
        tx_.Erase(name, hash);
        break;
      case SetVar::Op::kSetOne:
        tx_.Slot(name, hash).assign("1");
        break;
      case SetVar::Op::kSet: {
        const std::string_view v = value();
        tx_.Slot(name, hash).assign(v);
        break;
      }
      case SetVar::Op::kAdd:
      case SetVar::Op::kSub: {
        const std::int64_t delta = ToInt(value());
        std::pmr::string& slot = tx_.Slot(name, hash);
        const std::int64_t cur = ToInt(slot);
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits,
                                       sv.op == SetVar::Op::kAdd ? cur + delta : cur - delta);
        slot.assign(digits, end.ptr);
        break;
      }
    }
  }
}

void Transaction::ApplyCtl(const Ctl& ctl) {
  using K = Ctl::Kind;
  switch (ctl.kind) {
    case K::kRuleEngine:
      mode_ = ctl.value == "ON"              ? EngineMode::kOn
              : ctl.value == "DETECTIONONLY" ? EngineMode::kDetectionOnly
                                             : EngineMode::kOff;
      break;
    case K::kRuleRemoveById:
      removed_ids_.emplace_back(ctl.id_from, ctl.id_to);
      break;
    case K::kRuleRemoveByTag:
      // A tag no rule has removes nothing.
      if (const int tag = rules_.TagId(ctl.value); tag >= 0) removed_tags_.push_back(tag);
      break;
    case K::kRuleRemoveTargetById:
      removed_targets_.push_back({{ctl.id_from, ctl.id_to}, ctl.target});
      break;
    case K::kRuleRemoveTargetByTag:
      if (const int tag = rules_.TagId(ctl.value); tag >= 0) {
        removed_targets_by_tag_.emplace_back(tag, ctl.target);
      }
      break;
    case K::kRequestBodyProcessor:
      body_processor_ = ctl.value;
      break;
    case K::kForceRequestBodyVariable:
      break;  // REQUEST_BODY holds every non-empty body already (ModSecurity v3's behaviour)
    case K::kRequestBodyAccess:
      request_body_access_ = ctl.value == "ON";
      break;
    case K::kResponseBodyAccess:
      response_body_access_ = ctl.value == "ON";
      break;
    case K::kAuditEngine:
      break;  // every logged match is in the audit record; there is no separate audit engine
  }
}

void Transaction::AfterFullMatch(const Rule& r, const Rule& top) {
  for (const auto& ctl : r.act.ctls) ApplyCtl(ctl);
  if (r.act.skip > 0) skip_ = r.act.skip;
  if (r.skip_after_id >= 0) marker_ = r.skip_after_id;
  if (&r != &top) return;
  // The chain's head logs and decides for the whole chain.
  const Disruptive d = r.effective_disruptive;
  const bool stops = d == Disruptive::kDeny || d == Disruptive::kDrop;
  if (r.effective_log) {
    MatchRecord m;
    m.id = r.act.id;
    m.rule = &r;
    if (r.act.msg) Expand(*r.act.msg, m.msg, &r);
    if (r.act.logdata) Expand(*r.act.logdata, m.data, &r);
    m.severity = r.act.severity;
    m.var = matched_var_name_;
    // Records keep a bounded share of what matched: the audit line shows at most 256 bytes.
    constexpr std::size_t kKept = 512;
    m.value = matched_var_.substr(0, kKept);
    if (m.data.size() > kKept) m.data.resize(kKept);
    if (m.msg.size() > kKept) m.msg.resize(kKept);
    m.disruptive = stops;
    matches_.push_back(std::move(m));
  }
  if (r.act.severity >= 0 && r.act.severity < ToInt(highest_severity_)) {
    highest_severity_ = std::to_string(r.act.severity);
  }
  if (d == Disruptive::kAllow) {
    // Like every disruptive action, allow acts only when the engine is On (ModSecurity v3).
    if (mode_ != EngineMode::kOn || detection_only_) return;
    allow_ = r.act.allow_scope == AllowScope::kPhase     ? Allow::kPhase
             : r.act.allow_scope == AllowScope::kRequest ? Allow::kRequest
                                                         : Allow::kAll;
    return;
  }
  if (stops && mode_ == EngineMode::kOn && !detection_only_) {
    intervention_.intercepted = true;
    intervention_.action = d;
    intervention_.rule_id = r.act.id;
    intervention_.status = r.act.status != 0         ? r.act.status
                           : r.effective_status != 0 ? r.effective_status
                                                     : 403;
  }
}

bool Transaction::EvaluateRule(const Rule& r, const Rule& top) {
  bool matched = false;
  // `value` and `key` may be views into TX, which the captures and setvar change: they are
  // copied first.
  auto on_match = [&](std::string_view coll, std::string_view key, std::string_view value) {
    matched_var_.assign(value);
    matched_var_name_.assign(coll);
    if (!key.empty()) matched_var_name_.append(":").append(key);
    if (r.capture && captures_.count > 0) {
      for (int i = 0; i < captures_.count; ++i) {
        SetTx(std::to_string(i), captures_.groups[static_cast<std::size_t>(i)]);
      }
    }
    matched_vars_.push_back(Entry{matched_var_name_, matched_var_});
    RunSetVars(r, top);
    matched = true;
  };
  if (r.is_action) {
    RunSetVars(r, top);
    matched = true;
  } else if (GroupMayMatch(r)) {
    // The expanded parameter; a chained rule evaluated after this loop may reuse the buffer.
    std::string& param = op_param_;
    param.clear();
    if (r.op_has_macros) Expand(r.op_macro, param, &r);
    CaptureSet* caps = r.capture ? &captures_ : nullptr;
    // Whether the operator matches `v` (kept as `item`, or -1). A value the prefilter rules
    // out cannot match: PCRE2 is not asked (and so cannot stop at its match limit on a value
    // it could never match).
    auto operate = [&](std::string_view v, int item) {
      if (!MayMatch(r, v, item)) {
        // As if the operator had run and not matched: it captures nothing (a negated rule
        // that matches then stores no stale groups).
        if (caps != nullptr) caps->count = 0;
        return false;
      }
      const bool hit = r.op->Match(v, param, caps);
      if (r.regex_op) {
        ++stats_.regex_runs;
        if (LastRegexStatus() == RegexStatus::kMatchLimit) {
          // ModSecurity v3 names it so; rule 899112 (waf_config.cc) acts on it.
          SetTx("msc_pcre_limits_exceeded", "1");
        }
      }
      return hit;
    };
    auto test = [&](std::string_view coll, std::string_view key, std::string_view value, int slot) {
      if (r.multi_match) {
        // Each variant has its own signature (kept steps are signed once per request).
        MultiMatchValues(r, value, slot, multi_values_, multi_items_);
        for (std::size_t i = 0; i < multi_values_.size(); ++i) {
          const std::string_view v = multi_values_[i];
          if (operate(v, multi_items_[i]) != r.negated) on_match(coll, key, v);
        }
        return;
      }
      int item;
      const std::string_view v = Transformed(r, value, slot, &item);
      if (operate(v, item) != r.negated) on_match(coll, key, v);
    };
    for (const auto& spec : r.vars) {
      if (spec.exclude) continue;
      if (spec.count) {
        const std::string n = std::to_string(Count(spec));
        if (r.op->Match(n, param, caps) != r.negated) on_match(spec.name, {}, n);
        continue;
      }
      if (spec.var == Var::kTx || spec.var == Var::kMatchedVars ||
          spec.var == Var::kMatchedVarsNames || spec.var == Var::kMatchedVar ||
          spec.var == Var::kMatchedVarName || spec.var == Var::kRule ||
          spec.var == Var::kStatusLine) {
        // setvar (in on_match) may change these while they are walked, and some are built on
        // the fly (their storage is reused, so they are never cached): copy them first.
        walk_text_.clear();
        walk_spans_.clear();
        ForEach(spec, r.excludes ? &r.vars : nullptr, &top,
                [&](std::string_view, std::string_view key, std::string_view value, int) {
                  walk_spans_.push_back({walk_text_.size(), key.size(), value.size()});
                  walk_text_.append(key).append(value);
                });
        for (const auto& w : walk_spans_) {
          const std::string_view text(walk_text_);
          test(spec.name, text.substr(w.offset, w.key), text.substr(w.offset + w.key, w.value), -1);
        }
        continue;
      }
      ForEach(spec, r.excludes ? &r.vars : nullptr, &top, test);
    }
  }
  if (!matched) {
    matched_var_.clear();
    matched_var_name_.clear();
    matched_vars_.clear();
    return false;
  }
  if (r.chained && !EvaluateRule(*r.chained, top)) return false;
  AfterFullMatch(r, top);
  return true;
}

const Intervention& Transaction::RunPhase(int phase) {
  // The logging phase runs even after an interception, as in ModSecurity v3.
  if (mode_ == EngineMode::kOff || (intervention_.intercepted && phase != 5)) {
    return intervention_;
  }
  if (allow_ == Allow::kAll && phase != 5) return intervention_;
  if (allow_ == Allow::kRequest && phase <= 2) return intervention_;
  allow_ = Allow::kNone;
  skip_ = 0;
  marker_ = -1;
  // Each phase may bring values (the body, the response): groups are joined again.
  group_signature_.assign(rules_.prefilter_groups(), -2);
  part_signature_.assign(rules_.prefilter_parts(), -2);
  target_signature_.assign(rules_.prefilter_targets(), TargetSignature{});
  target_changers_.clear();
  const auto& rules = rules_.Phase(phase);
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (marker_ >= 0) {
      // skipAfter: straight to the marker (paranoia levels skip most of CRS this way), or past
      // the phase's end when it has none after this point.
      i = rules_.NextMarker(phase, marker_, i);
      marker_ = -1;
      continue;
    }
    const Rule& r = *rules[i];
    if (r.is_marker) continue;
    if (skip_ > 0) {
      --skip_;
      continue;
    }
    if (allow_ != Allow::kNone) break;
    // ctl's removals are rare: a rule is looked up in them only when there are some (asking
    // every rule costs 0.6% of a request's instructions).
    if ((!removed_ids_.empty() || !removed_tags_.empty()) && Removed(r)) continue;
    EvaluateRule(r, r);
    if (intervention_.intercepted && phase != 5) break;
    if (mode_ == EngineMode::kOff) break;
  }
  return intervention_;
}

}  // namespace rampart::waf
