// Admin endpoints that gates and upstream policies add while a config snapshot is built (revoke
// a token, add an API key, ...): found by path, run by the admin server on worker 0's loop (where
// the key-value stores' clients live), replaced with the snapshot on reload. Several gates may
// add the same endpoint (two routes with their own store): it is added once per distinct key.
// A broadcast action (a revocation) runs on every store and answers with the first error, else
// the first success; any other action answers from the first store that does not say 404 (an
// API key is created once, and revoked wherever it is).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::admin {

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct AdminRequest {
  std::string method;
  std::string content_type;
  std::string path;
  std::string query;  // without '?'
  std::string body;
};

using AdminAction = std::function<boost::asio::awaitable<AdminResponse>(const AdminRequest&)>;

class AdminActions {
 public:
  // `key` names what the action acts on (a store): the same path and key added twice is once.
  struct Entry {
    std::string key;
    AdminAction action;
    bool broadcast = false;
  };
  void Add(const std::string& path, const std::string& key, AdminAction action,
           bool broadcast = false) {
    auto& list = actions_[path];
    for (const Entry& e : list) {
      if (e.key == key) return;
    }
    list.push_back({key, std::move(action), broadcast});
  }
  const std::vector<Entry>* Find(std::string_view path) const {
    auto it = actions_.find(path);
    return it == actions_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> Paths() const {
    std::vector<std::string> out;
    for (const auto& [p, _] : actions_) out.push_back(p);
    return out;
  }

 private:
  std::map<std::string, std::vector<Entry>, std::less<>> actions_;
};

// A JSON error body for admin answers: {"error": token, "message": text}.
std::string AdminError(std::string_view error, std::string_view message);

}  // namespace rampart::admin
