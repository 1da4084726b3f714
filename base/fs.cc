#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include <algorithm>

namespace slipway::fs {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno(fmt::format("open {}", path));
  return UniqueFd(fd);
}

// All of fd; `what` names it in errors.
Result<std::string> read_all(int fd, std::string_view what) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("read {}", what));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd = SLW_TRY(open_file(path, O_RDONLY));
  return read_all(fd.get(), path);
}

Status write_all(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("write {}", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status write_file(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd = SLW_TRY(open_file(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  return write_all(fd.get(), data, path);
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                         bool durable) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    UniqueFd fd = SLW_TRY(open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    if (auto st = write_all(fd.get(), data, tmp); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (durable && ::fsync(fd.get()) < 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return fail_errno(fmt::format("fsync {}", tmp), e);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail_errno(fmt::format("rename {} to {}", tmp, path), e);
  }
  return {};
}

pid_t pid_after_mark(std::string_view name, std::string_view mark) {
  auto at = name.rfind(mark);
  if (at == std::string_view::npos) return 0;
  std::string_view digits = name.substr(at + mark.size());
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos)
    return 0;
  return static_cast<pid_t>(std::stol(std::string(digits)));
}

bool process_gone(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) < 0 && errno == ESRCH;
}

Result<std::vector<std::string>> remove_stale_atomic_writes(const std::string& dir) {
  std::vector<std::string> removed;
  for (const std::string& name : SLW_TRY(list_dir(dir))) {
    if (!process_gone(pid_after_mark(name, ".tmp."))) continue;
    std::string path = join(dir, name);
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    if (::unlink(path.c_str()) < 0 && errno != ENOENT)
      return fail_errno(fmt::format("remove {}", path));
    removed.push_back(name);
  }
  return removed;
}

Status make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  // mkdir first: most calls make one new directory in a parent that exists (a container's
  // state dirs, its cgroups), which is then one system call instead of a stat per level.
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == ENOENT) {
    auto slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0) SLW_TRY(make_dirs(path.substr(0, slash), mode));
    if (::mkdir(path.c_str(), mode) == 0) return {};
  }
  if (errno != EEXIST) return fail_errno(fmt::format("make directory {}", path));
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return fail_errno(fmt::format("make directory {}", path));
  if (S_ISDIR(st.st_mode)) return {};
  return fail("make directory {}: exists and is not a directory", path);
}

static int remove_entry(const char* p, const struct stat*, int type, struct FTW*) {
  int r = (type == FTW_DP) ? ::rmdir(p) : ::unlink(p);
  return (r < 0 && errno != ENOENT) ? errno : 0;
}

Result<UniqueFd> open_in_root(const std::string& root, const std::string& rel, int flags) {
  int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return fail_errno(fmt::format("open {}", root));
  UniqueFd root_owner(root_fd);
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do fd = static_cast<int>(::syscall(SYS_openat2, root_fd, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return fail_errno(fmt::format("{} (in {})", rel, root));
  return UniqueFd(fd);
}

Result<std::string> read_file_in_root(const std::string& root, const std::string& rel) {
  UniqueFd fd = SLW_TRY(open_in_root(root, rel, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno(fmt::format("stat {}", rel));
  if (!S_ISREG(st.st_mode)) return fail("{} (in {}) is not a regular file", rel, root);
  return read_all(fd.get(), rel);
}

Result<std::string> resolve_in_root(const std::string& root, const std::string& rel) {
  UniqueFd fd = SLW_TRY(open_in_root(root, rel, O_PATH));
  char buf[PATH_MAX + 1];
  ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", fd.get()).c_str(), buf, PATH_MAX);
  if (n < 0) return fail_errno(fmt::format("resolve {}", rel));
  return std::string(buf, static_cast<size_t>(n));
}

Status make_private_dir(const std::string& path) {
  SLW_TRY(make_dirs(path, 0700));
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return fail_errno(fmt::format("stat {}", path));
  if (!S_ISDIR(st.st_mode)) return fail("{} is not a directory", path);
  if ((st.st_mode & 077) && ::chmod(path.c_str(), st.st_mode & 07700) < 0)
    return fail_errno(fmt::format("close {} to other users", path));
  return {};
}

Status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return fail_errno(fmt::format("remove {}", path));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) < 0) return fail_errno(fmt::format("remove {}", path));
    return {};
  }
  // Directories may be read-only (e.g. unpacked layers); let the owner (root) write them first.
  int r = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat* s, int type, struct FTW*) -> int {
        if (type == FTW_D && !(s->st_mode & S_IWUSR)) ::chmod(p, s->st_mode | S_IRWXU);
        return 0;
      },
      64, FTW_PHYS | FTW_MOUNT);
  (void)r;
  r = ::nftw(path.c_str(), remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (r != 0) return fail_errno(fmt::format("remove {}", path), r > 0 ? r : errno);
  return {};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return fail_errno(fmt::format("list {}", path));
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  std::string out(a);
  if (out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

}  // namespace slipway::fs
