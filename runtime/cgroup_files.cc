// Files and directories of cgroupfs: control files written in one write(), subtrees listed and
// created, v1 cpusets filled in, v2 controllers enabled down a path.
#include "runtime/cgroup_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"

namespace slipway::runtime::cgroup_files {

namespace {

// A concurrent destroy may remove the shared empty parent between our mkdir -p and mkdir.
constexpr int kCreateAttempts = 5;

}  // namespace

Result<CgroupFile> CgroupFile::open(std::string path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("write {} to {}", value, path));
  return CgroupFile(std::move(path), std::move(fd));
}

Status CgroupFile::write(std::string_view value) const {
  ssize_t n;
  do {
    n = ::write(fd_.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(fmt::format("write {} to {}", value, path_));
  if (static_cast<size_t>(n) != value.size())
    return fail("write {} to {}: only {} bytes were taken", value, path_, n);
  return {};
}

Status write_cgroup_file(const std::string& path, std::string_view value) {
  return SLW_TRY(CgroupFile::open(path, value)).write(value);
}

Status inherit_cpusets(const std::string& mount, const std::string& name) {
  std::string parent = mount;
  size_t start = 0;
  for (;;) {
    size_t slash = name.find('/', start);
    std::string dir = fs::join(mount, name.substr(0, slash));
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      std::string own = SLW_TRY(fs::read_file(fs::join(dir, file)));
      if (own.find_first_not_of(" \n") != std::string::npos) continue;
      std::string inherited = SLW_TRY(fs::read_file(fs::join(parent, file)));
      SLW_TRY(write_cgroup_file(fs::join(dir, file), inherited));
    }
    if (slash == std::string::npos) return {};
    parent = dir;
    start = slash + 1;
  }
}

Result<std::set<std::string>> read_words(const std::string& path) {
  std::string text = SLW_TRY(fs::read_file(path));
  std::set<std::string> words;
  size_t pos = 0;
  while ((pos = text.find_first_not_of(" \n", pos)) != std::string::npos) {
    size_t end = text.find_first_of(" \n", pos);
    words.insert(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

Result<std::vector<std::string>> list_subdirs(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return fail_errno(fmt::format("list cgroup {}", dir));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (e->d_type == DT_DIR && n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status collect_subtree(const std::string& dir, std::vector<std::string>& out) {
  for (const auto& child : SLW_TRY(list_subdirs(dir)))
    SLW_TRY(collect_subtree(fs::join(dir, child), out));
  out.push_back(dir);
  return {};
}

Status make_leaf(const std::string& mount, const std::string& name) {
  std::string dir = fs::join(mount, name);
  std::string parent = dir.substr(0, dir.rfind('/'));
  // The leaf first: its parent usually exists (another container's) or is one mkdir away.
  for (int attempt = 0;; ++attempt) {
    if (::mkdir(dir.c_str(), 0755) == 0) return {};
    if (errno != ENOENT || attempt == kCreateAttempts)
      return fail_errno(fmt::format("create cgroup {}", dir));
    SLW_TRY_CTX(fs::make_dirs(parent), "create cgroup {}", dir);
  }
}

Status enable_controllers(const std::string& root, const std::string& name,
                          const std::vector<std::string>& controllers) {
  std::string dir = root;
  size_t start = 0;
  for (;;) {
    std::string control = fs::join(dir, "cgroup.subtree_control");
    std::set<std::string> enabled = SLW_TRY(read_words(control));
    for (const auto& c : controllers) {
      if (enabled.contains(c)) continue;
      Status st = write_cgroup_file(control, "+" + c);
      // Typical inside a container whose own processes sit in the namespace's root cgroup.
      if (!st && st.error().code() == EBUSY)
        return std::unexpected(Error(
            EBUSY, fmt::format("{} (processes in {} itself keep it from giving controllers to "
                               "child cgroups)",
                               st.error().message(), dir)));
      SLW_TRY(std::move(st));
    }
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) return {};
    dir = fs::join(root, name.substr(0, slash));
    start = slash + 1;
  }
}

}  // namespace slipway::runtime::cgroup_files
