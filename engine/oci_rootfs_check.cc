#include "engine/oci_rootfs_check.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>

namespace slipway::engine {
namespace {

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  for (const auto& part : std::filesystem::path(path))
    if (part != "/" && part != "." && !part.empty()) out.push_back(part.string());
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += "/" + p;
  return s.empty() ? "/" : s;
}

// Empty when `destination` stays inside; else the symlink (as a path in the root) that leaves.
Result<std::string> escaping_symlink(const std::string& rootfs, const std::string& destination) {
  std::deque<std::string> todo = components(destination);
  std::vector<std::string> at;  // resolved components so far
  int links = 0;
  std::string via;              // the symlink whose target is being walked
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == "..") {
      if (at.empty()) {
        if (!via.empty()) return via;
        continue;  // ".." at the root of the destination itself stays at the root
      }
      at.pop_back();
      continue;
    }
    at.push_back(part);
    std::string host = rootfs + joined(at);
    struct stat st;
    if (::lstat(host.c_str(), &st) < 0) return std::string();  // the rest is made by the launcher
    if (!S_ISLNK(st.st_mode)) continue;
    if (++links > 40) return fail("{}: too many levels of symbolic links", destination);
    char target[PATH_MAX];
    ssize_t n = ::readlink(host.c_str(), target, sizeof target - 1);
    if (n < 0) return std::string();
    target[n] = '\0';
    via = joined(at);
    at.pop_back();
    if (target[0] == '/') at.clear();
    std::deque<std::string> more = components(target);
    todo.insert(todo.begin(), more.begin(), more.end());
  }
  return std::string();
}

}  // namespace

Status check_mount_destinations(const std::string& rootfs, const std::vector<runtime::MountEntry>& mounts) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    std::string via = SLW_TRY_CTX(escaping_symlink(rootfs, mounts[i].target), "mounts[{}].destination", i);
    if (!via.empty())
      return fail("mounts[{}].destination {}: the symlink {} leads out of the rootfs", i, mounts[i].target, via);
  }
  return {};
}

}  // namespace slipway::engine
