// Files and directories of cgroupfs, for runtime/cgroups.cc: control files written in one
// write(), cgroup subtrees listed and created, v1 cpusets filled in, v2 controllers enabled.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::runtime::cgroup_files {

// A cgroup control file opened once for several values (devices.allow takes one rule per write,
// and opening a kernfs file costs more than the write).
class CgroupFile {
 public:
  // `value` is only for the error message: "write VALUE to PATH: ...", like every write here.
  static Result<CgroupFile> open(std::string path, std::string_view value);
  // Cgroup files take their value in one write(); a short write would apply a truncated value.
  Status write(std::string_view value) const;

 private:
  CgroupFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

Status write_cgroup_file(const std::string& path, std::string_view value);
// The words of a space-separated cgroup file such as cgroup.controllers.
Result<std::set<std::string>> read_words(const std::string& path);
// Child cgroups of `dir` (kernfs fills in d_type); a vanished dir has none.
Result<std::vector<std::string>> list_subdirs(const std::string& dir);
// `dir` and every cgroup below it, children before their parent, so rmdir can go in order.
Status collect_subtree(const std::string& dir, std::vector<std::string>& out);
// mount/name, and its parents as needed (a concurrent removal of an empty parent is retried).
Status make_leaf(const std::string& mount, const std::string& name);
// A v1 cpuset directory starts with no CPUs and no memory nodes, and takes no process so: each
// level of `name` below the mount gets its parent's.
Status inherit_cpusets(const std::string& mount, const std::string& name);
// v2 only offers a controller's files in a cgroup when every ancestor lists it in
// cgroup.subtree_control; enabling is idempotent and works after the child exists.
Status enable_controllers(const std::string& root, const std::string& name,
                          const std::vector<std::string>& controllers);

}  // namespace slipway::runtime::cgroup_files
