#include "engine/container_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "base/unique_fd.h"
#include "runtime/rootfs_access.h"

namespace slipway::engine {
namespace {

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

// Kernel file systems: writing there changes the host (a container's /proc/sys is the host's
// sysctls), and reading them copies kernel state, not files.
Status refuse_kernel_fs(int fd, std::string_view path) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) < 0) return fail_errno(fmt::format("statfs {}", path));
  switch (static_cast<unsigned long>(fs.f_type)) {
    case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case CGROUP_SUPER_MAGIC: case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC: case DEBUGFS_MAGIC: case SECURITYFS_MAGIC: case BPF_FS_MAGIC:
    case TRACEFS_MAGIC:
      return fail("{} is on a kernel file system (proc, sys, cgroup...): slipway cp does not copy there", path);
  }
  return {};
}

// One side of a copy: the host (paths as given) or a container's root (paths inside it).
struct Side {
  int root_fd = -1;  // -1: the host

  // A path opened as openat2 would: inside the root when there is one.
  Result<UniqueFd> open(const std::string& path, int flags, bool follow_last) const {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW));
    int dir = AT_FDCWD;
    std::string rel = path;
    if (root_fd >= 0) {
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
      dir = root_fd;
      while (rel.starts_with('/')) rel.erase(0, 1);
      if (rel.empty()) rel = ".";
    }
    int fd = static_cast<int>(::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how));
    if (fd < 0) return fail_errno(fmt::format("{}", path));
    UniqueFd owned(fd);
    if (root_fd >= 0) SLW_TRY(refuse_kernel_fs(fd, path));
    return owned;
  }
};

// Splits "a/b/c" into ("a/b", "c"); "/c" into ("/", "c"); "c" into (".", "c").
std::pair<std::string, std::string> split_parent(std::string path) {
  while (path.size() > 1 && path.ends_with('/')) path.pop_back();
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

struct Owner {
  bool keep = false;  // the source's; else the copier's choice below
  bool chown_to_root = false;
};

Status copy_entry(int src_dir, const std::string& src_name, int dst_dir, const std::string& dst_name,
                  const std::string& shown, const Owner& owner, bool dst_is_container);

// Every entry of the directory src_dir into dst_dir (both open directory fds).
Status copy_contents(int src_dir, int dst_dir, const std::string& shown, const Owner& owner, bool dst_is_container) {
  int listing = ::dup(src_dir);
  DIR* d = listing < 0 ? nullptr : ::fdopendir(listing);
  if (!d) {
    if (listing >= 0) ::close(listing);
    return fail_errno(fmt::format("list {}", shown));
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  for (const auto& n : names)
    SLW_TRY(copy_entry(src_dir, n, dst_dir, n, shown + "/" + n, owner, dst_is_container));
  return {};
}

Status copy_data(int from, int to, const std::string& shown) {
  for (;;) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
    if (n > 0) continue;
    if (n == 0) return {};
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
      return fail_errno(fmt::format("copy {}", shown));
    break;  // no copy_file_range between these file systems: read and write
  }
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(from, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("read {}", shown));
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(to, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail_errno(fmt::format("write {}", shown));
      done += w;
    }
  }
}

Status apply_owner(int fd, const char* name, int flags, const struct stat& st, const Owner& owner,
                   const std::string& shown) {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (owner.keep) {
    uid = st.st_uid;
    gid = st.st_gid;
  } else if (owner.chown_to_root) {
    uid = 0;
    gid = 0;
  } else {
    return {};
  }
  if (::fchownat(fd, name, uid, gid, flags) < 0) return fail_errno(fmt::format("chown {}", shown));
  return {};
}

// What is at dir/name now, without following a symlink; nullopt when nothing.
std::optional<struct stat> stat_at(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return std::nullopt;
  return st;
}

// Makes room for a non-directory: whatever non-directory is there goes (never written through).
Status clear_for_file(int dir, const std::string& name, const std::string& shown) {
  auto existing = stat_at(dir, name);
  if (!existing) return {};
  if (S_ISDIR(existing->st_mode)) return fail("cannot overwrite directory {} with a non-directory", shown);
  if (::unlinkat(dir, name.c_str(), 0) < 0) return fail_errno(fmt::format("replace {}", shown));
  return {};
}

Status copy_directory(int src_dir, const std::string& src_name, const struct stat& st, int dst_dir,
                      const std::string& dst_name, const std::string& shown, const Owner& owner,
                      bool dst_is_container) {
  int sfd = ::openat(src_dir, src_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return fail_errno(fmt::format("open {}", shown));
  UniqueFd source(sfd);
  auto existing = stat_at(dst_dir, dst_name);
  if (existing && !S_ISDIR(existing->st_mode))
    return fail("cannot overwrite non-directory {} with a directory", shown);
  if (!existing && ::mkdirat(dst_dir, dst_name.c_str(), 0700) < 0)
    return fail_errno(fmt::format("create directory {}", shown));
  int dfd = ::openat(dst_dir, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return fail_errno(fmt::format("open {}", shown));
  UniqueFd dest(dfd);
  // A directory that was there may be a mount point of the container's (its /proc).
  if (dst_is_container) SLW_TRY(refuse_kernel_fs(dest.get(), shown));
  else SLW_TRY(refuse_kernel_fs(source.get(), shown));
  SLW_TRY(copy_contents(source.get(), dest.get(), shown, owner, dst_is_container));
  if (::fchmod(dest.get(), st.st_mode & 07777) < 0) return fail_errno(fmt::format("chmod {}", shown));
  SLW_TRY(apply_owner(dest.get(), "", AT_EMPTY_PATH, st, owner, shown));
  timespec times[2] = {st.st_atim, st.st_mtim};
  (void)::futimens(dest.get(), times);
  return {};
}

Status copy_entry(int src_dir, const std::string& src_name, int dst_dir, const std::string& dst_name,
                  const std::string& shown, const Owner& owner, bool dst_is_container) {
  auto st = stat_at(src_dir, src_name);
  if (!st) return fail_errno(fmt::format("{}", shown));
  if (S_ISDIR(st->st_mode))
    return copy_directory(src_dir, src_name, *st, dst_dir, dst_name, shown, owner, dst_is_container);
  if (S_ISLNK(st->st_mode)) {
    std::vector<char> target(static_cast<size_t>(st->st_size) + 2);
    ssize_t n = ::readlinkat(src_dir, src_name.c_str(), target.data(), target.size() - 1);
    if (n < 0) return fail_errno(fmt::format("read symlink {}", shown));
    target[static_cast<size_t>(n)] = '\0';
    SLW_TRY(clear_for_file(dst_dir, dst_name, shown));
    if (::symlinkat(target.data(), dst_dir, dst_name.c_str()) < 0)
      return fail_errno(fmt::format("create symlink {}", shown));
    return apply_owner(dst_dir, dst_name.c_str(), AT_SYMLINK_NOFOLLOW, *st, owner, shown);
  }
  if (S_ISFIFO(st->st_mode)) {
    SLW_TRY(clear_for_file(dst_dir, dst_name, shown));
    if (::mkfifoat(dst_dir, dst_name.c_str(), st->st_mode & 07777) < 0)
      return fail_errno(fmt::format("create fifo {}", shown));
    return apply_owner(dst_dir, dst_name.c_str(), AT_SYMLINK_NOFOLLOW, *st, owner, shown);
  }
  if (!S_ISREG(st->st_mode)) return fail("{} is a device or socket: slipway cp copies files, directories and links", shown);
  int sfd = ::openat(src_dir, src_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return fail_errno(fmt::format("open {}", shown));
  UniqueFd source(sfd);
  if (!dst_is_container) SLW_TRY(refuse_kernel_fs(source.get(), shown));
  SLW_TRY(clear_for_file(dst_dir, dst_name, shown));
  int dfd = ::openat(dst_dir, dst_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dfd < 0) return fail_errno(fmt::format("create {}", shown));
  UniqueFd dest(dfd);
  SLW_TRY(copy_data(source.get(), dest.get(), shown));
  SLW_TRY(apply_owner(dest.get(), "", AT_EMPTY_PATH, *st, owner, shown));
  if (::fchmod(dest.get(), st->st_mode & 07777) < 0) return fail_errno(fmt::format("chmod {}", shown));
  timespec times[2] = {st->st_atim, st->st_mtim};
  (void)::futimens(dest.get(), times);
  return {};
}

// Docker's rules, with both ends already resolved to sides: see container_copy.h.
Status copy_between(const Side& from, std::string source, const Side& to, std::string dest,
                    const CopyOptions& options, bool into_container) {
  bool contents_only = source.ends_with("/.");
  if (contents_only) source.resize(source.size() - 2);
  if (source.empty() || source == "/") {
    source = "/";
    contents_only = true;
  }
  auto [src_parent, src_name] = split_parent(source);
  UniqueFd src_parent_fd = SLW_TRY(from.open(src_parent, O_PATH | O_DIRECTORY, true));
  // The source itself: a symlink is copied as one unless -L.
  UniqueFd src_fd = SLW_TRY(from.open(source, O_PATH, options.follow_link));
  struct stat src_st {};
  if (::fstat(src_fd.get(), &src_st) < 0) return fail_errno(source);
  bool src_is_dir = S_ISDIR(src_st.st_mode);
  if (contents_only && !src_is_dir) return fail("{}/.: {} is not a directory", source, source);

  Owner owner{options.archive, into_container && !options.archive};
  // Where it lands: into an existing directory, or as the named path.
  auto existing = to.open(dest, O_PATH, true);
  bool dest_is_dir = existing && [&] {
    struct stat st {};
    return ::fstat(existing->get(), &st) == 0 && S_ISDIR(st.st_mode);
  }();
  if (!existing && dest.ends_with('/'))
    return fail("{}: no such directory", dest);
  if (existing && !dest_is_dir && src_is_dir) return fail("cannot copy directory {} onto file {}", source, dest);
  UniqueFd dest_dir;
  std::string dest_name;
  if (dest_is_dir) {
    dest_dir = SLW_TRY(to.open(dest, O_RDONLY | O_DIRECTORY, true));
    dest_name = contents_only ? "" : src_name;
  } else {
    auto [parent, name] = split_parent(dest);
    dest_dir = SLW_TRY(with_context(to.open(parent, O_RDONLY | O_DIRECTORY, true), "destination"));
    dest_name = name;
  }
  if (into_container) SLW_TRY(refuse_kernel_fs(dest_dir.get(), dest));

  // The source as a name in a directory fd, so that copy_entry never follows its last component.
  UniqueFd src_dir_fd;
  std::string src_entry;
  if (options.follow_link || source == "/" || src_name == ".") {
    src_dir_fd = SLW_TRY(from.open(source, O_RDONLY | (src_is_dir ? O_DIRECTORY : 0), true));
    src_entry = "";
  } else {
    src_dir_fd = std::move(src_parent_fd);
    src_entry = src_name;
  }
  if (src_entry.empty() && !src_is_dir) {
    // -L onto a file: copy what the link points at.
    SLW_TRY(clear_for_file(dest_dir.get(), dest_name, dest));
    int dfd = ::openat(dest_dir.get(), dest_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       src_st.st_mode & 07777);
    if (dfd < 0) return fail_errno(fmt::format("create {}", dest));
    UniqueFd out(dfd);
    return copy_data(src_dir_fd.get(), out.get(), source);
  }
  if (contents_only || src_entry.empty()) {
    // A directory's contents, into the destination directory (made when missing).
    int target = dest_dir.get();
    UniqueFd made;
    if (!dest_name.empty() && dest_name != ".") {
      auto st = stat_at(dest_dir.get(), dest_name);
      if (!st && ::mkdirat(dest_dir.get(), dest_name.c_str(), src_st.st_mode & 07777) < 0)
        return fail_errno(fmt::format("create directory {}", dest));
      int fd = ::openat(dest_dir.get(), dest_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return fail_errno(fmt::format("open {}", dest));
      made.reset(fd);
      target = fd;
    }
    int src_dir = src_entry.empty() ? src_dir_fd.get() : -1;
    UniqueFd opened;
    if (src_dir < 0) {
      int fd = ::openat(src_dir_fd.get(), src_entry.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return fail_errno(source);
      opened.reset(fd);
      src_dir = fd;
    }
    if (!into_container) SLW_TRY(refuse_kernel_fs(src_dir, source));
    return copy_contents(src_dir, target, source, owner, into_container);
  }
  return copy_entry(src_dir_fd.get(), src_entry, dest_dir.get(), dest_name, source, owner, into_container);
}

std::string absolute_in_container(const std::string& path) {
  return path.starts_with('/') ? path : "/" + path;
}

}  // namespace

Status copy_into_container(const runtime::ContainerStore& store, const runtime::ContainerRecord& record,
                           const std::string& host_source, const std::string& container_dest,
                           const CopyOptions& options) {
  return runtime::with_container_root(store, record, [&](int root_fd) -> Status {
    return copy_between(Side{}, host_source, Side{root_fd}, absolute_in_container(container_dest), options, true);
  });
}

Status copy_out_of_container(const runtime::ContainerStore& store, const runtime::ContainerRecord& record,
                             const std::string& container_source, const std::string& host_dest,
                             const CopyOptions& options) {
  return runtime::with_container_root(store, record, [&](int root_fd) -> Status {
    return copy_between(Side{root_fd}, absolute_in_container(container_source), Side{}, host_dest, options, false);
  });
}

}  // namespace slipway::engine
