#include "oci/layer/extractor.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "oci/layer/path.h"
#include "oci/libarchive.h"

namespace slipway::oci {

namespace {

constexpr size_t kMaxDepth = 1024;

// Opens `path` below root without following any symlink and without leaving root.
Result<UniqueFd> open_beneath(int root, const std::vector<std::string>& path, int flags) {
  if (path.empty()) {
    int fd = ::fcntl(root, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return fail_errno("duplicate layer root fd");
    return UniqueFd(fd);
  }
  std::string rel = join_components(path);
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  if (errno != ENOSYS) return fail_errno(rel);
  // Kernels before 5.6: the same walk one no-follow component at a time.
  UniqueFd cur;
  int at = root;
  for (size_t i = 0; i < path.size(); ++i) {
    int f = (i + 1 == path.size()) ? flags : (O_PATH | O_DIRECTORY);
    int next = ::openat(at, path[i].c_str(), f | O_CLOEXEC | O_NOFOLLOW);
    if (next < 0) return fail_errno(rel);
    cur.reset(next);
    at = cur.get();
  }
  return cur;
}

// rm -r of dir/name, through fds only.
Status remove_all_at(int dir, const std::string& name) {
  int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(dir, name.c_str(), 0) < 0) return fail_errno(fmt::format("remove {}", name));
      return {};
    }
    return fail_errno(fmt::format("open {}", name));
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int e = errno;
    ::close(fd);
    return fail_errno(fmt::format("list {}", name), e);
  }
  std::vector<std::pair<std::string, bool>> children;
  while (struct dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n == "." || n == "..") continue;
    children.emplace_back(std::string(n), de->d_type == DT_DIR);
  }
  Status st;
  for (const auto& [child, is_dir] : children) {
    if (is_dir) {
      st = remove_all_at(::dirfd(d), child);
    } else if (::unlinkat(::dirfd(d), child.c_str(), 0) < 0) {
      st = fail_errno(fmt::format("remove {}/{}", name, child));
    }
    if (!st) break;
  }
  ::closedir(d);
  if (!st) return st;
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) < 0)
    return fail_errno(fmt::format("remove {}", name));
  return {};
}

Status write_all_at(int fd, const char* data, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return {};
}

bool is_overlay_xattr(std::string_view name) {
  // Only the whiteout conversion may set these: an image carrying them could redirect overlayfs.
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

timespec entry_mtime(struct archive_entry* e) {
  return timespec{static_cast<time_t>(archive_entry_mtime(e)), archive_entry_mtime_nsec(e)};
}

}  // namespace

LayerExtractor::LayerExtractor(int root_fd, const UnpackOptions& options)
    : root_fd_(root_fd), options_(options) {}

Status LayerExtractor::apply(struct archive* a, struct archive_entry* e) {
  const char* name = archive_entry_pathname(e);
  if (!name) name = archive_entry_pathname_utf8(e);
  if (!name || !*name) return fail("tar entry without a name");
  std::string raw(name);
  return apply_entry(a, e, raw);
}

Status LayerExtractor::apply_entry(struct archive* a, struct archive_entry* e,
                                   const std::string& raw) {
  EntryPath p = SLW_TRY(classify_entry_path(raw));
  if (p.parents.size() >= kMaxDepth) return fail("entry '{}': path is nested too deeply", raw);
  auto in_entry = [&](Status st) -> Status {
    if (!st) return std::unexpected(std::move(st.error()).context(fmt::format("entry '{}'", raw)));
    return st;
  };
  switch (p.action) {
    case EntryAction::kSkip:
      return {};
    case EntryAction::kOpaque: {
      int dir = SLW_TRY(parent_dir(p.parents, raw));
      return in_entry(mark_opaque(dir));
    }
    case EntryAction::kWhiteout: {
      int dir = SLW_TRY(parent_dir(p.parents, raw));
      return in_entry(make_whiteout(dir, p.name));
    }
    case EntryAction::kCreate:
      break;
  }
  const char* hardlink = archive_entry_hardlink(e);
  if (p.name.empty()) {
    if (hardlink || archive_entry_filetype(e) != AE_IFDIR)
      return fail("entry '{}': the layer root can only be a directory", raw);
    return in_entry(set_root_metadata(e));
  }
  int dir = SLW_TRY(parent_dir(p.parents, raw));
  if (hardlink) {
    std::vector<std::string> path = p.parents;
    path.push_back(p.name);
    return in_entry(make_hardlink(e, dir, p.name, path));
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return in_entry(make_regular(a, e, dir, p.name));
    case AE_IFDIR: {
      std::vector<std::string> path = std::move(p.parents);
      path.push_back(p.name);
      return in_entry(make_directory(e, dir, std::move(path)));
    }
    case AE_IFLNK:
      return in_entry(make_symlink(e, dir, p.name));
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return in_entry(make_node(e, dir, p.name));
    default:
      log::debug("layer entry '{}': skipping unsupported file type {:o}", raw,
                 archive_entry_filetype(e));
      return {};
  }
}

Result<int> LayerExtractor::parent_dir(const std::vector<std::string>& parents,
                                       const std::string& raw) {
  size_t common = 0;
  while (common < stack_.size() && common < parents.size() &&
         stack_[common].first == parents[common])
    ++common;
  stack_.resize(common);
  for (size_t i = common; i < parents.size(); ++i) {
    int at = i == 0 ? root_fd_ : stack_[i - 1].second.get();
    const char* comp = parents[i].c_str();
    int fd = ::openat(at, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      // Tar creates missing parents too; Docker gives them mode 0755 (set at the end, as the
      // umask may have trimmed it).
      std::vector<std::string> path(parents.begin(), parents.begin() + i + 1);
      if (::mkdirat(at, comp, 0755) < 0 && errno != EEXIST)
        return fail_errno(
            fmt::format("entry '{}': create directory '{}'", raw, join_components(path)));
      deferred_.push_back({std::move(path), 0755, {}, false});
      fd = ::openat(at, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0 && errno == ENOTDIR) {
      // ".wh.X" then "X/y" without an "X/" entry: X is a new directory replacing the old one.
      struct stat st;
      if (::fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
          st.st_rdev == makedev(0, 0)) {
        std::vector<std::string> path(parents.begin(), parents.begin() + i + 1);
        if (::unlinkat(at, comp, 0) < 0 || ::mkdirat(at, comp, 0755) < 0)
          return fail_errno(
              fmt::format("entry '{}': replace whiteout '{}'", raw, join_components(path)));
        deferred_.push_back({std::move(path), 0755, {}, false});
        fd = ::openat(at, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
          if (auto st2 = mark_opaque(fd); !st2) {
            ::close(fd);
            return std::unexpected(st2.error().context(fmt::format("entry '{}'", raw)));
          }
        }
      } else {
        errno = ENOTDIR;
      }
    }
    if (fd < 0) {
      int err = errno;
      std::string so_far = join_components({parents.begin(), parents.begin() + i + 1});
      struct stat st;
      if ((err == ELOOP || err == ENOTDIR) && ::fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
          return fail("entry '{}': '{}' is a symlink; refusing to write through it", raw, so_far);
        return fail("entry '{}': '{}' is not a directory", raw, so_far);
      }
      return fail_errno(fmt::format("entry '{}': open directory '{}'", raw, so_far), err);
    }
    stack_.emplace_back(parents[i], UniqueFd(fd));
  }
  return parents.empty() ? root_fd_ : stack_.back().second.get();
}

Result<bool> LayerExtractor::clear(int dir, const std::string& name) {
  struct stat st;
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return false;
    return fail_errno(fmt::format("stat existing {}", name));
  }
  if (S_ISDIR(st.st_mode)) {
    SLW_TRY(remove_all_at(dir, name));
  } else if (::unlinkat(dir, name.c_str(), 0) < 0) {
    return fail_errno(fmt::format("replace existing {}", name));
  }
  return true;
}

Status LayerExtractor::make_regular(struct archive* a, struct archive_entry* e, int dir,
                                    const std::string& name) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int raw_fd = ::openat(dir, name.c_str(), kFlags, 0600);
  if (raw_fd < 0 && errno == EEXIST) {
    SLW_TRY(clear(dir, name));
    raw_fd = ::openat(dir, name.c_str(), kFlags, 0600);
  }
  if (raw_fd < 0) return fail_errno("create file");
  UniqueFd fd(raw_fd);
  int64_t end = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail("read data: {}", archive_message(a, "unreadable tar data"));
    SLW_TRY(write_all_at(fd.get(), static_cast<const char*>(buf), size, offset));
    end = std::max<int64_t>(end, offset + static_cast<int64_t>(size));
  }
  // Sparse files may end in a hole.
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > end &&
      ::ftruncate(fd.get(), archive_entry_size(e)) < 0)
    return fail_errno("extend sparse file");
  if (options_.preserve_owners && ::fchown(fd.get(), static_cast<uid_t>(archive_entry_uid(e)),
                                           static_cast<gid_t>(archive_entry_gid(e))) < 0)
    return fail_errno("chown");
  if (::fchmod(fd.get(), archive_entry_perm(e) & 07777) < 0) return fail_errno("chmod");
  SLW_TRY(set_xattrs_fd(e, fd.get()));
  if (archive_entry_mtime_is_set(e)) {
    timespec t[2] = {entry_mtime(e), entry_mtime(e)};
    if (::futimens(fd.get(), t) < 0) return fail_errno("set mtime");
  }
  return {};
}

Status LayerExtractor::make_directory(struct archive_entry* e, int dir,
                                      std::vector<std::string> path) {
  const std::string name = path.back();
  bool replaces_whiteout = false;
  if (::mkdirat(dir, name.c_str(), 0700) < 0) {
    if (errno != EEXIST) return fail_errno("create directory");
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno("stat existing entry");
    // An existing directory stays and merges with this entry, as in tar.
    if (!S_ISDIR(st.st_mode)) {
      replaces_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
      SLW_TRY(clear(dir, name));
      if (::mkdirat(dir, name.c_str(), 0700) < 0) return fail_errno("create directory");
    }
  }
  if (replaces_whiteout) {
    // ".wh.X" then "X/" in one layer: the old X is gone and a new, empty X replaces it, so the
    // new directory must not merge with X of lower layers.
    int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_errno("open directory");
    UniqueFd owner(fd);
    SLW_TRY(mark_opaque(fd));
  }
  SLW_TRY(set_owner_at(e, dir, name));
  SLW_TRY(set_xattrs_at(e, dir, name));
  deferred_.push_back({std::move(path), static_cast<mode_t>(archive_entry_perm(e) & 07777),
                       entry_mtime(e), archive_entry_mtime_is_set(e) != 0});
  return {};
}

Status LayerExtractor::make_symlink(struct archive_entry* e, int dir, const std::string& name) {
  const char* target = archive_entry_symlink(e);
  if (!target) target = archive_entry_symlink_utf8(e);
  if (!target || !*target) return fail("symlink without a target");
  if (::symlinkat(target, dir, name.c_str()) < 0) {
    if (errno != EEXIST) return fail_errno("create symlink");
    SLW_TRY(clear(dir, name));
    if (::symlinkat(target, dir, name.c_str()) < 0) return fail_errno("create symlink");
  }
  SLW_TRY(set_owner_at(e, dir, name));
  SLW_TRY(set_xattrs_at(e, dir, name));
  return set_mtime_at(e, dir, name);
}

Status LayerExtractor::make_hardlink(struct archive_entry* e, int dir, const std::string& name,
                                     const std::vector<std::string>& path) {
  std::string raw_target = archive_entry_hardlink(e);
  auto target = clean_entry_path(raw_target);
  if (!target) return fail("hardlink target '{}' escapes the layer directory", raw_target);
  if (target->empty()) return fail("hardlink target '{}' is the layer root", raw_target);
  if (*target == path) return {};  // a link to itself: the file is already there
  std::vector<std::string> target_parent(target->begin(), target->end() - 1);
  const std::string& target_name = target->back();
  auto src_dir = open_beneath(root_fd_, target_parent, O_PATH | O_DIRECTORY);
  if (!src_dir) {
    int err = src_dir.error().code();
    if (err == ENOENT) return fail("hardlink target '{}' is not in this layer", raw_target);
    if (err == ELOOP || err == EXDEV || err == ENOTDIR)
      return fail("hardlink target '{}' is reached through a symlink or a non-directory",
                  raw_target);
    return std::unexpected(src_dir.error().context("open hardlink target directory"));
  }
  struct stat st;
  if (::fstatat(src_dir->get(), target_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return fail("hardlink target '{}' is not in this layer", raw_target);
    return fail_errno(fmt::format("stat hardlink target '{}'", raw_target));
  }
  if (S_ISDIR(st.st_mode)) return fail("hardlink target '{}' is a directory", raw_target);
  // flags 0: a symlink target is linked itself, never followed.
  if (::linkat(src_dir->get(), target_name.c_str(), dir, name.c_str(), 0) < 0) {
    if (errno != EEXIST) return fail_errno(fmt::format("hardlink to '{}'", raw_target));
    SLW_TRY(clear(dir, name));
    if (::linkat(src_dir->get(), target_name.c_str(), dir, name.c_str(), 0) < 0)
      return fail_errno(fmt::format("hardlink to '{}'", raw_target));
  }
  return {};
}

Status LayerExtractor::make_node(struct archive_entry* e, int dir, const std::string& name) {
  mode_t type = archive_entry_filetype(e);
  mode_t mode = type | (archive_entry_perm(e) & 07777);
  dev_t dev =
      type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  if (::mknodat(dir, name.c_str(), mode, dev) < 0) {
    if (errno != EEXIST) return fail_errno(type == AE_IFIFO ? "create fifo" : "create device");
    SLW_TRY(clear(dir, name));
    if (::mknodat(dir, name.c_str(), mode, dev) < 0)
      return fail_errno(type == AE_IFIFO ? "create fifo" : "create device");
  }
  SLW_TRY(set_owner_at(e, dir, name));
  // mknod applied the umask; the node was made by us a moment ago in our private directory.
  if (::fchmodat(dir, name.c_str(), archive_entry_perm(e) & 07777, 0) < 0)
    return fail_errno("chmod");
  SLW_TRY(set_xattrs_at(e, dir, name));
  return set_mtime_at(e, dir, name);
}

Status LayerExtractor::make_whiteout(int dir, const std::string& name) {
  // Whiteouts hide lower layers only; what this layer itself put there stays (OCI image spec).
  if (::mknodat(dir, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
    return fail_errno("create overlay whiteout");
  return {};
}

Status LayerExtractor::mark_opaque(int dir) {
  std::string key = options_.overlay_xattr_namespace + "overlay.opaque";
  if (::fsetxattr(dir, key.c_str(), "y", 1, 0) < 0)
    return fail_errno(fmt::format("set {} on the directory", key));
  return {};
}

Status LayerExtractor::set_root_metadata(struct archive_entry* e) {
  root_seen_ = true;
  if (options_.preserve_owners && ::fchown(root_fd_, static_cast<uid_t>(archive_entry_uid(e)),
                                           static_cast<gid_t>(archive_entry_gid(e))) < 0)
    return fail_errno("chown layer root");
  SLW_TRY(set_xattrs_fd(e, root_fd_));
  deferred_.push_back({{},
                       static_cast<mode_t>(archive_entry_perm(e) & 07777),
                       entry_mtime(e),
                       archive_entry_mtime_is_set(e) != 0});
  return {};
}

Status LayerExtractor::set_owner_at(struct archive_entry* e, int dir, const std::string& name) {
  if (!options_.preserve_owners) return {};
  if (::fchownat(dir, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("chown");
  return {};
}

Status LayerExtractor::note_xattr_error(const char* name, int err) {
  // Like Docker: a file system without xattr support (or an unprivileged caller) loses them.
  if (err != ENOTSUP && err != EPERM) return fail_errno(fmt::format("set xattr {}", name), err);
  if (skipped_xattrs_++ == 0) first_skipped_xattr_ = name;
  return {};
}

Status LayerExtractor::set_xattrs_fd(struct archive_entry* e, int fd) {
  if (archive_entry_xattr_reset(e) == 0) return {};
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (is_overlay_xattr(name)) continue;
    if (::fsetxattr(fd, name, value, size, 0) < 0) SLW_TRY(note_xattr_error(name, errno));
  }
  return {};
}

Status LayerExtractor::set_xattrs_at(struct archive_entry* e, int dir, const std::string& name) {
  if (archive_entry_xattr_count(e) == 0) return {};
  // lsetxattr through our own dir fd: the last component is not followed, and name has no '/'.
  std::string path = fmt::format("/proc/self/fd/{}/{}", dir, name);
  archive_entry_xattr_reset(e);
  const char* key;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    if (is_overlay_xattr(key)) continue;
    if (::lsetxattr(path.c_str(), key, value, size, 0) < 0) SLW_TRY(note_xattr_error(key, errno));
  }
  return {};
}

Status LayerExtractor::set_mtime_at(struct archive_entry* e, int dir, const std::string& name) {
  if (!archive_entry_mtime_is_set(e)) return {};
  timespec t[2] = {entry_mtime(e), entry_mtime(e)};
  if (::utimensat(dir, name.c_str(), t, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno("set mtime");
  return {};
}

Status LayerExtractor::finish() {
  stack_.clear();
  if (!root_seen_ && ::fchmod(root_fd_, 0755) < 0) return fail_errno("chmod layer root");
  // Deepest first, so that a directory closed to its owner is set after its children.
  std::stable_sort(deferred_.begin(), deferred_.end(),
                   [](const auto& a, const auto& b) { return a.path.size() > b.path.size(); });
  for (const auto& d : deferred_) {
    auto fd = open_beneath(root_fd_, d.path, O_RDONLY | O_DIRECTORY);
    if (!fd) {
      int err = fd.error().code();
      // Replaced by a later entry: that entry's own metadata is already right.
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;
      return std::unexpected(fd.error().context("set directory metadata"));
    }
    std::string shown = join_components(d.path);
    if (::fchmod(fd->get(), d.mode) < 0) return fail_errno(fmt::format("chmod {}", shown));
    if (d.has_mtime) {
      timespec t[2] = {d.mtime, d.mtime};
      if (::futimens(fd->get(), t) < 0) return fail_errno(fmt::format("set mtime of {}", shown));
    }
  }
  deferred_.clear();
  if (skipped_xattrs_ > 0)
    log::warn("layer: {} extended attribute(s) could not be set and were dropped (first: {})",
              skipped_xattrs_, first_skipped_xattr_);
  return {};
}

}  // namespace slipway::oci
