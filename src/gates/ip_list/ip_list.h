// An IP list at run time: allow and deny prefixes (inline and from files) in one
// longest-prefix-match table (core/prefix_table.h), read lock-free by every worker, and rebuilt
// from its files by the control thread when one changes: the new table is swapped in whole, and
// a file that cannot be read or parsed leaves the old table serving (logged and counted).
//
// The most specific prefix decides (10.0.0.0/8 deny with 10.1.0.0/16 allow lets 10.1.x.x
// through); the same prefix in both lists is denied. An address no prefix covers is allowed,
// unless the list has allow entries: then only what they cover gets through.
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/prefix_table.h"
#include "gates/ip_list/ip_list_config.h"

namespace rampart::ip_list {

class IpList {
 public:
  // Reads every file (relative paths against `base_dir`). Null and `*error` when one cannot be
  // read or has a bad line ("file:line: ...").
  static std::shared_ptr<IpList> Build(std::string name, IpListSpec spec, std::string base_dir,
                                       std::string* error);
  ~IpList();

  bool Denies(const boost::asio::ip::address& addr) const noexcept;

  // Control thread: rebuilds when a file's size, inode or modification time changed and then
  // held still for one more check (a file being written is not read half-way). True when a new
  // table was swapped in.
  bool Refresh();

  const std::string& name() const noexcept { return name_; }
  std::size_t prefixes() const noexcept;
  std::uint64_t reloads_ok() const noexcept { return reloads_ok_.load(); }
  std::uint64_t reloads_failed() const noexcept { return reloads_failed_.load(); }

 private:
  struct FileStamp {
    std::string path;
    std::int64_t mtime_ns = 0;
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  IpList(std::string name, IpListSpec spec, std::string base_dir);
  // Builds a table from the spec and the files as they are now.
  std::shared_ptr<const PrefixTable> Load(std::vector<FileStamp>& stamps, std::string* error) const;
  std::vector<FileStamp> Stamps() const;
  void Install(std::shared_ptr<const PrefixTable> table);

  std::string name_;
  IpListSpec spec_;
  std::string base_dir_;
  bool default_deny_ = false;
  // Workers read `current_` without a lock or a reference count. A replaced table stays owned
  // (`retired_`) for a grace period far longer than any lookup, then is freed by Refresh.
  std::atomic<const PrefixTable*> current_{nullptr};
  std::shared_ptr<const PrefixTable> owned_;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const PrefixTable>>>
      retired_;
  std::vector<FileStamp> stamps_;   // control thread
  std::vector<FileStamp> refused_;  // the files of the last refused rebuild: not retried as is
  std::vector<FileStamp> pending_;  // a change seen once: loaded if it still holds next time
  std::atomic<std::uint64_t> reloads_ok_{0}, reloads_failed_{0};
};

// Every list built registers here; the control thread refreshes them once a second. Lists of a
// snapshot that is gone drop out.
class IpListWatch {
 public:
  static IpListWatch& Instance();
  void Add(const std::shared_ptr<IpList>& list);
  void RefreshAll();
  // rampart_ip_list_reloads_total{list,result} and rampart_ip_list_prefixes{list}, for the live
  // lists (the newest of each name).
  void RenderMetrics(std::string& out);

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<IpList>> lists_;
};

}  // namespace rampart::ip_list
