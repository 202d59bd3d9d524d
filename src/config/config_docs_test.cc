// Every settings key a gate or an upstream policy declares (config/fields.h, through its
// registry) is described in docs/configuration.md, under its kind's heading: adding a key
// without documenting it fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "pipeline/gate_registry.h"
#include "upstream/policy_registry.h"

namespace rampart {
namespace {

std::string ReadDocs() {
  std::ifstream f(std::string(RAMPART_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The text under `heading` up to the next heading of the same level.
std::string Section(const std::string& docs, const std::string& heading) {
  const auto start = docs.find("\n" + heading + "\n");
  if (start == std::string::npos) return {};
  const auto end = docs.find("\n## ", start + heading.size() + 1);
  return docs.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool Describes(const std::string& section, const std::string& key) {
  for (const std::string& form : {"`" + key + "`", "`" + key + "[]`", "`limits[]." + key + "`"}) {
    if (section.find(form) != std::string::npos) return true;
  }
  return false;
}

TEST(ConfigDocs, EveryDeclaredGateKeyIsDocumented) {
  GateRegistry::RegisterBuiltins();
  const std::string docs = ReadDocs();
  ASSERT_FALSE(docs.empty());
  const GateRegistry& r = GateRegistry::Instance();
  for (const std::string& kind : r.Kinds()) {
    const std::string heading = "## gates: " + std::string(r.DocumentedAs(kind));
    const std::string section = Section(docs, heading);
    EXPECT_FALSE(section.empty()) << "docs/configuration.md has no '" << heading << "'";
    EXPECT_FALSE(r.Keys(kind).empty()) << kind << " declares no keys";
    for (const std::string& key : r.Keys(kind)) {
      EXPECT_TRUE(Describes(section, key)) << heading << " does not describe `" << key << "`";
    }
  }
}

TEST(ConfigDocs, EveryDeclaredPolicyKeyIsDocumented) {
  const std::string docs = ReadDocs();
  upstream::PolicyRegistry::RegisterBuiltins();
  const upstream::PolicyRegistry& r = upstream::PolicyRegistry::Instance();
  for (const std::string& kind : r.Kinds()) {
    const std::string heading = "## policies: " + kind;
    const std::string section = Section(docs, heading);
    EXPECT_FALSE(section.empty()) << "docs/configuration.md has no '" << heading << "'";
    for (const std::string& key : r.Keys(kind)) {
      EXPECT_TRUE(Describes(section, key)) << heading << " does not describe `" << key << "`";
    }
  }
}

TEST(ConfigDocs, TheCheckFindsAMissingKey) {
  const std::string section = "## gates: x\n| `documented` | ... |\n";
  EXPECT_TRUE(Describes(section, "documented"));
  EXPECT_FALSE(Describes(section, "undocumented"));
}

}  // namespace
}  // namespace rampart
