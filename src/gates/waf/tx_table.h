// TX, a request's own variables: kept in the order they were first set, found through an
// open-addressing index (a power of two of 32-bit cells, linear probing), all in the request's
// arena. CRS reads and writes some hundred of them per request; a lookup is one keyed hash
// (core/keyed_hash.h: header names become TX names, so clients choose some of the keys) and,
// usually, one cell and one variable.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::waf {

class TxTable {
 public:
  explicit TxTable(std::pmr::memory_resource* memory, std::size_t expected = 128);

  // The hash a key is found by (core/keyed_hash.h): the same for the whole process, so a rule
  // set takes its literal names' hashes once, at load.
  static std::uint64_t Hash(std::string_view key) noexcept;

  // The value under `key`, or nullptr. Valid until the next insertion (values move when the
  // table grows).
  const std::pmr::string* Find(std::string_view key) const noexcept { return Find(key, Hash(key)); }
  const std::pmr::string* Find(std::string_view key, std::uint64_t hash) const noexcept;
  // The value under `key`, made (empty) when there is none. Valid until the next insertion.
  std::pmr::string& Slot(std::string_view key) { return Slot(key, Hash(key)); }
  std::pmr::string& Slot(std::string_view key, std::uint64_t hash);
  // Removes `key`; whether it was there.
  bool Erase(std::string_view key) noexcept { return Erase(key, Hash(key)); }
  bool Erase(std::string_view key, std::uint64_t hash) noexcept;
  std::size_t size() const noexcept { return live_; }

  // Calls f(key, value) for every variable, in the order they were first set.
  template <class F>
  void ForEach(F&& f) const {
    for (const auto& v : vars_) {
      if (v.live) f(std::string_view(v.key), std::string_view(v.value));
    }
  }

 private:
  struct Var {
    Var(std::uint64_t h, std::string_view k, std::pmr::memory_resource* m)
        : hash(h), key(k, m), value(m) {}
    std::uint64_t hash;
    std::pmr::string key, value;
    bool live = true;  // a removed variable keeps its place, and comes back there if set again
  };
  // The position in vars_ of `key`, or -1.
  std::ptrdiff_t Position(std::string_view key, std::uint64_t hash) const noexcept;
  void Index(std::size_t position);
  void Grow();

  std::pmr::memory_resource* memory_;
  std::pmr::vector<Var> vars_;
  std::pmr::vector<std::uint32_t> index_;  // 0: empty, else 1 + a position in vars_
  std::size_t live_ = 0;
};

}  // namespace rampart::waf
