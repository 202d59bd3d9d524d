#include "gates/blackhole/blackhole.h"

#include <algorithm>
#include <cstring>

#include "core/wall_clock.h"

namespace rampart::gates {

namespace {

std::int64_t Ns(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

Blackhole::Key Blackhole::KeyOf(const boost::asio::ip::address& a) {
  std::array<unsigned char, 16> b{};
  if (a.is_v4()) {
    b[10] = b[11] = 0xff;
    const auto v4 = a.to_v4().to_bytes();
    std::memcpy(b.data() + 12, v4.data(), 4);
  } else {
    b = a.to_v6().to_bytes();
  }
  return Key(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string Blackhole::Text(const Key& k) {
  std::array<unsigned char, 16> b{};
  std::memcpy(b.data(), k.data(), 16);
  const boost::asio::ip::address_v6 v6(b);
  if (v6.is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  return v6.to_string();
}

void Blackhole::MakeRoom(SteadyTime now) {
  if (states_.size() < capacity_) return;
  // The least recently seen of a few clients that are not held goes: a bounded look (a flood of
  // distinct offenders must not make each refusal scan the whole table under the lock), from a
  // hand that moves on, so every entry comes up in turn.
  constexpr int kLook = 16;
  auto victim = states_.end();
  if (hand_ == states_.end()) hand_ = states_.begin();
  for (int i = 0; i < kLook && !states_.empty(); ++i) {
    if (hand_ == states_.end()) hand_ = states_.begin();
    if (hand_->second.until <= now &&
        (victim == states_.end() || hand_->second.last < victim->second.last))
      victim = hand_;
    ++hand_;
  }
  if (victim == states_.end()) return;
  if (victim == hand_) ++hand_;
  states_.erase(victim);
}

bool Blackhole::NoteRefusal(const boost::asio::ip::address& client, int status,
                            const BlackholeSettings& s, SteadyTime now) {
  if (std::find(s.statuses.begin(), s.statuses.end(), status) == s.statuses.end()) return false;
  const Key k = KeyOf(client);
  std::lock_guard lock(mu_);
  auto it = states_.find(k);
  if (it == states_.end()) {
    MakeRoom(now);
    if (states_.size() >= capacity_) return false;  // every entry is held: nothing to forget
    it = states_.emplace(k, State{}).first;
  }
  State& st = it->second;
  if (st.until > now) return false;  // already held (a request still on an older connection)
  // Strikes are forgotten after a quiet spell as long as the longest hole.
  if (st.strikes > 0 && now - st.last > s.max_cooldown) st.strikes = 0;
  if (now - st.window_start > s.within || st.count == 0) {
    st.window_start = now;
    st.count = 0;
  }
  st.last = now;
  if (++st.count < s.refusals) return false;
  const auto doubled = s.cooldown * (std::int64_t{1} << std::min<std::uint32_t>(st.strikes, 20));
  const auto hold = std::min(doubled, s.max_cooldown);
  ++st.strikes;
  st.count = 0;
  st.manual = false;
  Hole(st, now + hold);
  Publish(k, hold);
  auto_added_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Blackhole::Hole(State& st, SteadyTime until) {
  st.until = until;
  st.last = until;
  std::int64_t seen = holes_until_ns_.load(std::memory_order_relaxed);
  while (seen < Ns(until) &&
         !holes_until_ns_.compare_exchange_weak(seen, Ns(until), std::memory_order_relaxed)) {
  }
}

void Blackhole::Publish(const Key& k, std::chrono::microseconds remaining) {
  if (!sharing_.load(std::memory_order_relaxed)) return;
  if (changes_.size() >= capacity_) return;  // Redis has been away long: the rest stay local
  // The end is fixed now, in wall-clock time: a change published late must not last longer.
  const std::int64_t until_ms =
      remaining.count() > 0
          ? WallMillis() + std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count()
          : 0;
  changes_.push_back({Text(k), remaining, until_ms});
}

void Blackhole::DisableSharing() {
  sharing_.store(false, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  changes_.clear();
  for (auto& [_, st] : states_) st.shared = false;
}

std::vector<Blackhole::Change> Blackhole::TakeChanges() {
  std::lock_guard lock(mu_);
  std::vector<Change> out;
  out.swap(changes_);
  return out;
}

void Blackhole::Requeue(std::vector<Change> changes) {
  std::lock_guard lock(mu_);
  changes.insert(changes.end(), changes_.begin(), changes_.end());
  if (changes.size() > capacity_) changes.resize(capacity_);
  changes_.swap(changes);
}

std::size_t Blackhole::MergeShared(const std::vector<Change>& shared, SteadyTime now,
                                   bool complete) {
  std::unordered_map<Key, std::chrono::microseconds> in;
  in.reserve(shared.size());
  for (const Change& c : shared) {
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(c.address, ec);
    if (!ec && c.remaining.count() > 0) in.emplace(KeyOf(a), c.remaining);
  }
  std::size_t learned = 0;
  std::lock_guard lock(mu_);
  for (auto& [k, st] : states_) {
    if (st.shared && st.until <= now) st.shared = false;  // ended: no longer anyone's to lift
    if (!complete || !st.shared || in.contains(k)) continue;
    st.until = now;  // lifted elsewhere; a hole published but not yet listed is not shared yet
    st.shared = false;
  }
  for (const auto& [k, remaining] : in) {
    auto it = states_.find(k);
    if (it == states_.end()) {
      MakeRoom(now);
      if (states_.size() >= capacity_) continue;
      it = states_.emplace(k, State{}).first;
    }
    State& st = it->second;
    const bool held = st.until > now;
    st.shared = true;
    if (held && st.until >= now + remaining) continue;
    if (!held) ++learned;
    Hole(st, now + remaining);
  }
  shared_added_.fetch_add(learned, std::memory_order_relaxed);
  return learned;
}

bool Blackhole::Holds(const boost::asio::ip::address& client, SteadyTime now) const {
  if (holes_until_ns_.load(std::memory_order_relaxed) <= Ns(now)) return false;
  std::lock_guard lock(mu_);
  auto it = states_.find(KeyOf(client));
  return it != states_.end() && it->second.until > now;
}

void Blackhole::Add(const boost::asio::ip::address& client, std::chrono::microseconds ttl,
                    SteadyTime now) {
  const Key k = KeyOf(client);
  std::lock_guard lock(mu_);
  auto it = states_.find(k);
  if (it == states_.end()) {
    MakeRoom(now);
    it = states_.emplace(k, State{}).first;  // an operator's word is kept even when full
    if (states_.size() > capacity_) hand_ = states_.end();  // a rehash may have moved it
  }
  State& st = it->second;
  st.manual = true;
  Hole(st, now + ttl);
  Publish(k, ttl);
  manual_added_.fetch_add(1, std::memory_order_relaxed);
}

bool Blackhole::Remove(const boost::asio::ip::address& client) {
  std::lock_guard lock(mu_);
  const Key k = KeyOf(client);
  Publish(k, std::chrono::microseconds::zero());  // other instances may hold it though we do not
  auto it = states_.find(k);
  if (it == states_.end()) return sharing_.load(std::memory_order_relaxed);
  if (it == hand_) ++hand_;
  states_.erase(it);  // strikes too: an operator's pardon is complete
  return true;
}

std::vector<Blackhole::Entry> Blackhole::List(SteadyTime now) const {
  std::vector<Entry> out;
  std::lock_guard lock(mu_);
  for (const auto& [k, st] : states_) {
    if (st.until <= now) continue;
    out.push_back({Text(k), std::chrono::duration_cast<std::chrono::microseconds>(st.until - now),
                   st.strikes, st.manual});
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.address < b.address; });
  return out;
}

std::size_t Blackhole::active(SteadyTime now) const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(
      states_.begin(), states_.end(), [&](const auto& kv) { return kv.second.until > now; }));
}

}  // namespace rampart::gates
