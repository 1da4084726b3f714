#include "pipeline/caches.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "base/fs.h"

namespace slipway::pipeline {
namespace {

// A container path as a directory name: "/root/.cache/pip" -> "root_.cache_pip".
std::string path_dir_name(const std::string& path) {
  std::string out;
  for (char c : path.substr(path.find_first_not_of('/')))
    out += c == '/' ? '_' : c;
  return out;
}

uint64_t bytes_at(int dir_fd, dev_t dev, int depth) {
  if (depth > 256) return 0;
  int fd = ::dup(dir_fd);
  DIR* dir = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!dir) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  uint64_t total = 0;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev) continue;
    if (S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_blocks) * 512;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) total += bytes_at(sub.get(), dev, depth + 1);
    }
  }
  ::closedir(dir);
  return total;
}

std::string human(uint64_t bytes) {
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1024);
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024 * 1024));
}

}  // namespace

std::string caches_dir(const std::string& root) { return fs::join(root, "pipelines/caches"); }

uint64_t directory_bytes(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) < 0) return 0;
  return bytes_at(fd.get(), st.st_dev, 0);
}

Result<CacheLease> lease_caches(const std::string& root, const std::vector<CacheRequest>& requests) {
  // What caches hold came from containers: other host users must not reach it.
  SLW_TRY(fs::make_private_dir(caches_dir(root)));
  std::map<std::string, std::vector<std::string>> by_key;  // sorted: the lock order
  for (const auto& r : requests) by_key[r.key].insert(by_key[r.key].end(), r.paths.begin(), r.paths.end());
  CacheLease lease;
  for (const auto& [key, paths] : by_key) {
    std::string dir = fs::join(caches_dir(root), key);
    SLW_TRY(fs::make_dirs(dir, 0700));
    lease.locks.push_back(SLW_TRY(FileLock::acquire(fs::join(dir, "lock"))));
    std::string data = fs::join(dir, "data");
    bool hit = fs::exists(data);
    SLW_TRY(fs::make_dirs(data, 0755));
    // The LRU clock: the mtime of `used`.
    SLW_TRY(fs::write_file(fs::join(dir, "used"), "", 0600));
    for (const auto& path : paths) {
      std::string host = fs::join(data, path_dir_name(path));
      SLW_TRY(fs::make_dirs(host, 0755));
      lease.mounts.push_back({host, path});
    }
    lease.notes.push_back(hit ? fmt::format("cache {}: hit ({})", key, human(directory_bytes(data)))
                              : fmt::format("cache {}: new", key));
  }
  return lease;
}

Result<std::vector<PrunedCache>> prune_caches(const std::string& root, uint64_t max_bytes) {
  std::vector<PrunedCache> pruned;
  auto keys = fs::list_dir(caches_dir(root));
  if (!keys) return pruned;
  struct Entry {
    std::string key;
    int64_t used_ns = 0;
    uint64_t bytes = 0;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  for (const auto& key : *keys) {
    std::string dir = fs::join(caches_dir(root), key);
    struct stat st {};
    Entry e{key, 0, directory_bytes(dir)};
    if (::stat(fs::join(dir, "used").c_str(), &st) == 0) e.used_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    total += e.bytes;
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used_ns < b.used_ns; });
  for (const auto& e : entries) {
    if (total <= max_bytes) break;
    std::string dir = fs::join(caches_dir(root), e.key);
    auto lock = SLW_TRY(FileLock::try_acquire(fs::join(dir, "lock"), FileLock::Mode::kExclusive, true));
    if (!lock) continue;  // a step uses it now
    SLW_TRY(fs::remove_tree(fs::join(dir, "data")));
    SLW_TRY(fs::remove_tree(fs::join(dir, "used")));
    // The lock file goes last, unlinked while held: a waiter starts over on a new one. The key's
    // empty directory stays, so that such a waiter can make it there.
    SLW_TRY(lock->remove());
    total -= e.bytes;
    pruned.push_back({e.key, e.bytes});
  }
  return pruned;
}

}  // namespace slipway::pipeline
