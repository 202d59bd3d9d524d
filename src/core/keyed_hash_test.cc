// The keyed hash: every byte and the length count.
#include "core/keyed_hash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace rampart {
namespace {

// Every byte of a key counts, at every length and position (the tail is read as two words that
// overlap), and so does the length: keys one zero byte apart differ.
TEST(KeyedHash, EveryByteAndTheLengthCount) {
  std::set<std::uint64_t> seen;
  std::size_t made = 0;
  for (std::size_t len = 0; len <= 48; ++len) {
    std::string key(len, '\0');
    seen.insert(KeyedHash(key));
    ++made;
    for (std::size_t i = 0; i < len; ++i) {
      for (const unsigned char c : {0x01, 0x80, 0xFF}) {
        std::string k = key;
        k[i] = static_cast<char>(c);
        seen.insert(KeyedHash(k));
        ++made;
      }
    }
  }
  EXPECT_EQ(seen.size(), made);
  EXPECT_EQ(KeyedHash("http://a/x?\nr\n"), KeyedHash(std::string("http://a/x?\nr\n")));
}

}  // namespace
}  // namespace rampart
