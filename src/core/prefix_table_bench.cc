// PrefixTable at reputation-feed scale: 1,000,000 random prefixes, 70% IPv4 (lengths 8..32,
// mostly /24 and /32) and 30% IPv6 (lengths 16..128, mostly /32../64). Goals: a lookup <= 60 ns,
// <= 48 bytes per prefix (the bytes_per_prefix counter), a build from 1M lines of text <= 1 s.
//
// BM_PrefixTableLookup runs independent lookups (throughput: the CPU overlaps their cache
// misses); BM_PrefixTableLookupLatency makes each lookup's address depend on the previous result,
// so the misses do not overlap: the cost of one lookup on its own.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/prefix_table.h"

namespace {

using rampart::PrefixTable;

constexpr std::size_t kPrefixes = 1'000'000;
constexpr std::size_t kAddresses = std::size_t{1} << 18;  // a power of two: index by mask

struct Corpus {
  std::vector<PrefixTable::Network> networks;
  std::string text;  // the same, as a list file
  PrefixTable table;
  std::vector<boost::asio::ip::address> addresses;
};

int V4Length(std::mt19937_64& rng) {
  const auto r = rng() % 100;
  if (r < 40) return 24;
  if (r < 65) return 32;
  return 8 + static_cast<int>(rng() % 25);  // 8..32
}

int V6Length(std::mt19937_64& rng) {
  const auto r = rng() % 100;
  if (r < 70) return 32 + static_cast<int>(rng() % 33);  // 32..64
  if (r < 85) return 128;
  return 16 + static_cast<int>(rng() % 113);  // 16..128
}

// A random address inside `n`, or anywhere in its family when `anywhere`.
boost::asio::ip::address Inside(const PrefixTable::Network& n, bool anywhere,
                                std::mt19937_64& rng) {
  std::array<std::uint8_t, 16> b = n.bytes;
  const int width = n.is_v6 ? 128 : 32;
  for (int bit = anywhere ? 0 : n.length; bit < width; ++bit) {
    const auto mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
    b[bit / 8] = static_cast<std::uint8_t>((rng() & 1) ? b[bit / 8] | mask : b[bit / 8] & ~mask);
  }
  if (n.is_v6) return boost::asio::ip::address_v6(b);
  return boost::asio::ip::address_v4({b[0], b[1], b[2], b[3]});
}

const Corpus& TheCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    std::mt19937_64 rng(42);
    c->networks.reserve(kPrefixes);
    c->text.reserve(kPrefixes * 24);
    PrefixTable::Builder builder;
    for (std::size_t i = 0; i < kPrefixes; ++i) {
      PrefixTable::Network n;
      n.is_v6 = rng() % 10 < 3;
      n.length = n.is_v6 ? V6Length(rng) : V4Length(rng);
      const boost::asio::ip::address a = Inside(n, true, rng);
      const auto v = static_cast<PrefixTable::Value>(rng() % 2);
      builder.Add(a, n.length, v);
      const std::string cidr = a.to_string() + "/" + std::to_string(n.length);
      c->text += cidr + "\n";
      c->networks.push_back(*PrefixTable::ParseNetwork(cidr));
    }
    c->table = std::move(builder).Build();
    // Half the lookups fall inside a listed prefix, half anywhere (mostly misses for IPv6).
    c->addresses.reserve(kAddresses);
    for (std::size_t i = 0; i < kAddresses; ++i) {
      const PrefixTable::Network& n = c->networks[rng() % c->networks.size()];
      c->addresses.push_back(Inside(n, rng() % 2 == 0, rng));
    }
    return c;
  }();
  return *corpus;
}

void Counters(benchmark::State& state, const PrefixTable& table) {
  state.counters["prefixes"] = static_cast<double>(table.prefixes());
  state.counters["bytes_per_prefix"] =
      static_cast<double>(table.memory_bytes()) / static_cast<double>(table.prefixes());
}

void BM_PrefixTableLookup(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    const std::optional<PrefixTable::Value> v = c.table.Lookup(c.addresses[i]);
    benchmark::DoNotOptimize(v);
    hits += v.has_value();
    i = (i + 1) & (kAddresses - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = static_cast<double>(hits) /
                                static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
  Counters(state, c.table);
}
BENCHMARK(BM_PrefixTableLookup)->Repetitions(5)->DisplayAggregatesOnly(true);

void BM_PrefixTableLookupLatency(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::optional<PrefixTable::Value> v = c.table.Lookup(c.addresses[i]);
    // Values are 0 or 1, so this adds nothing, but the compiler cannot know: the next address
    // waits for this result.
    i = (i + 1 + (v.value_or(0) >> 7)) & (kAddresses - 1);
  }
  benchmark::DoNotOptimize(i);
  state.SetItemsProcessed(state.iterations());
  Counters(state, c.table);
}
BENCHMARK(BM_PrefixTableLookupLatency)->Repetitions(5)->DisplayAggregatesOnly(true);

void BM_PrefixTableBuildFromText(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  for (auto _ : state) {
    PrefixTable::Builder builder;
    std::string error;
    if (!builder.AddListText(c.text, 1, &error)) state.SkipWithError(error.c_str());
    PrefixTable table = std::move(builder).Build();
    benchmark::DoNotOptimize(table.prefixes());
  }
  state.counters["lines"] = static_cast<double>(kPrefixes);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.text.size()));
}
BENCHMARK(BM_PrefixTableBuildFromText)->Unit(benchmark::kMillisecond)->Iterations(3);

// Build alone, from parsed networks: how the time above splits between parsing and building.
void BM_PrefixTableBuild(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  for (auto _ : state) {
    PrefixTable::Builder builder;
    for (const PrefixTable::Network& n : c.networks) builder.Add(n, 1);
    PrefixTable table = std::move(builder).Build();
    benchmark::DoNotOptimize(table.prefixes());
  }
}
BENCHMARK(BM_PrefixTableBuild)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
