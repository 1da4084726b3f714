#include "oci/build/copy.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "oci/build/config_edit.h"
#include "oci/layer/path.h"
#include "oci/libarchive.h"

namespace slipway::oci {

namespace {

PathParts parent_of(const PathParts& p) {
  return PathParts(p.begin(), p.end() - (p.empty() ? 0 : 1));
}

PathParts child_of(PathParts p, const std::string& name) {
  p.push_back(name);
  return p;
}

// Docker: a destination ending in "/" (or naming "." of a directory) is a directory.
bool names_directory(std::string_view dest) {
  return dest.ends_with('/') || dest == "." || dest.ends_with("/.") || dest == ".." ||
         dest.ends_with("/..");
}

// From in_off when given (the fd's own offset is then left alone), else from the fd's offset.
Status copy_bytes(int in, int out, const PathParts& path, loff_t* in_off = nullptr) {
  bool plain = false;
  for (;;) {
    ssize_t n;
    if (!plain) {
      n = ::copy_file_range(in, in_off, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        plain = true;
        continue;
      }
    } else {
      char buf[1 << 16];
      n = in_off ? ::pread(in, buf, sizeof buf, *in_off) : ::read(in, buf, sizeof buf);
      if (n > 0 && in_off) *in_off += n;
      if (n > 0) {
        for (ssize_t done = 0; done < n;) {
          ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return fail_errno(fmt::format("write {}", join_path(path)));
          done += w;
        }
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("copy {}", join_path(path)));
    if (n == 0) return {};
  }
}

}  // namespace

Result<mode_t> parse_chmod(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("01234567") != std::string::npos)
    return fail("invalid --chmod={}: only octal modes such as 755 are supported", text);
  mode_t mode = static_cast<mode_t>(std::stoul(std::string(text), nullptr, 8));
  if (mode > 07777) return fail("invalid --chmod={}: more than 12 mode bits", text);
  return mode;
}

Result<LayerDirWriter> LayerDirWriter::open(const std::string& layer_dir, const LayerStack& lower,
                                            CopyOptions options) {
  UniqueFd root(::open(layer_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno(fmt::format("open layer directory {}", layer_dir));
  LayerDirWriter w(std::move(root), lower, std::move(options));
  return w;
}

Status LayerDirWriter::check_cancel() const {
  if (options_.cancelled && options_.cancelled()) return fail("interrupted");
  return {};
}

Result<UniqueFd> LayerDirWriter::open_dir(const PathParts& dir) const {
  std::string rel;
  for (const auto& p : dir) rel += (rel.empty() ? "" : "/") + p;
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(
      ::syscall(SYS_openat2, root_.get(), rel.empty() ? "." : rel.c_str(), &how, sizeof how)));
  if (!fd) {
    if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
      return fail("{}: the path goes through a symlink or a file of the new layer", join_path(dir));
    return fail_errno(fmt::format("open {} in the new layer", join_path(dir)));
  }
  return fd;
}

Status LayerDirWriter::clear(int dirfd, const PathParts& path, bool keep_dir) {
  struct stat st;
  const std::string& name = path.back();
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return {};
    return fail_errno(fmt::format("stat {} in the new layer", join_path(path)));
  }
  if (S_ISDIR(st.st_mode)) {
    if (keep_dir) return {};
    // The parent's real path has no symlink in it: it was opened without following any.
    char real[PATH_MAX];
    ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", dirfd).c_str(), real, sizeof real - 1);
    if (n < 0) return fail_errno("find the new layer's directory");
    return fs::remove_tree(std::string(real, static_cast<size_t>(n)) + "/" + name);
  }
  if (::unlinkat(dirfd, name.c_str(), 0) < 0)
    return fail_errno(fmt::format("replace {} in the new layer", join_path(path)));
  return {};
}

Status LayerDirWriter::set_meta(int dirfd, const std::string& name, const PathParts& path,
                                uid_t uid, gid_t gid, mode_t mode, bool is_link) {
  // chown first: it clears setuid bits that chmod then sets.
  if (options_.set_owners && ::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno(fmt::format("chown {} to {}:{}", join_path(path), uid, gid));
  if (!is_link && ::fchmodat(dirfd, name.c_str(), mode & 07777, 0) < 0)
    return fail_errno(fmt::format("chmod {}", join_path(path)));
  return {};
}

Status LayerDirWriter::set_mtime(int dirfd, const std::string& name, const PathParts& path,
                                 int64_t mtime) {
  struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(mtime), 0}};
  if (::utimensat(dirfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno(fmt::format("set mtime of {}", join_path(path)));
  return {};
}

Status LayerDirWriter::ensure_dir(const PathParts& dir, std::optional<mode_t> new_mode) {
  for (size_t i = 0; i < dir.size(); ++i) {
    PathParts prefix(dir.begin(), dir.begin() + static_cast<long>(i) + 1);
    UniqueFd parent = SLW_TRY(open_dir(parent_of(prefix)));
    const std::string& name = prefix.back();
    struct stat st;
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return fail("{}: not a directory", join_path(prefix));
    }
    auto below = SLW_TRY(lower_->lookup(prefix));
    if (below && !S_ISDIR(below->st.st_mode))
      return fail("cannot make directory {}: the image has a {} there", join_path(prefix),
                  S_ISLNK(below->st.st_mode) ? "symlink" : "file");
    if (::mkdirat(parent.get(), name.c_str(), 0700) < 0)
      return fail_errno(fmt::format("make directory {}", join_path(prefix)));
    if (below) {
      SLW_TRY(set_meta(parent.get(), name, prefix, below->st.st_uid, below->st.st_gid,
                       below->st.st_mode, false));
      dir_times_[prefix] = below->st.st_mtim.tv_sec;
    } else {
      mode_t mode = i + 1 == dir.size() && new_mode ? *new_mode : 0755;
      SLW_TRY(set_meta(parent.get(), name, prefix, owner().uid, owner().gid, mode, false));
      dir_times_[prefix] = options_.mtime;
    }
  }
  return {};
}

Status LayerDirWriter::copy(const SourceTree& tree, const SourceTree::Node& node,
                            const PathParts& dest) {
  SLW_TRY(check_cancel());
  const struct stat& st = node.st;
  mode_t mode = options_.chmod.value_or(st.st_mode & 07777);
  PathParts target = dest;
  if (S_ISDIR(st.st_mode)) {
    if (!dest.empty()) {
      UniqueFd parent = SLW_TRY(open_dir(parent_of(dest)));
      const std::string& name = dest.back();
      struct stat cur;
      bool have = ::fstatat(parent.get(), name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0;
      auto below = have ? std::nullopt : SLW_TRY(lower_->lookup(dest));
      if (below && S_ISLNK(below->st.st_mode)) {
        // A symlink to a directory in the image stays: the copy goes where it points
        // (/lib -> usr/lib on merged-usr systems).
        PathParts resolved = SLW_TRY(lower_->resolve(join_path(dest), true));
        auto real = SLW_TRY(lower_->lookup(resolved));
        if (real && S_ISDIR(real->st.st_mode)) {
          SLW_TRY(ensure_dir(resolved));
          target = resolved;
          have = true;
          cur.st_mode = S_IFDIR;
        }
      }
      if (!have || !S_ISDIR(cur.st_mode)) {
        if (have) SLW_TRY(clear(parent.get(), dest, false));
        if (::mkdirat(parent.get(), name.c_str(), 0700) < 0)
          return fail_errno(fmt::format("make directory {}", join_path(dest)));
        SLW_TRY(set_meta(parent.get(), name, dest, owner_of(st).uid, owner_of(st).gid, mode, false));
        dir_times_[dest] = options_.mtime;
      }
    }
    for (const auto& name : SLW_TRY(tree.list(node.path))) {
      auto child = SLW_TRY(tree.lookup(child_of(node.path, name)));
      if (child) SLW_TRY(copy(tree, *child, child_of(target, name)));
    }
    return {};
  }
  if (dest.empty()) return fail("cannot copy {} to /: it is not a directory", join_path(node.path));
  if (S_ISSOCK(st.st_mode)) return {};
  UniqueFd parent = SLW_TRY(open_dir(parent_of(dest)));
  const std::string& name = dest.back();
  SLW_TRY(clear(parent.get(), dest, false));
  if (S_ISREG(st.st_mode)) {
    UniqueFd in = SLW_TRY(tree.open(node));
    UniqueFd out(::openat(parent.get(), name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return fail_errno(fmt::format("create {}", join_path(dest)));
    SLW_TRY(copy_bytes(in.get(), out.get(), dest));
  } else if (S_ISLNK(st.st_mode)) {
    std::string link = SLW_TRY(tree.read_link(node));
    if (::symlinkat(link.c_str(), parent.get(), name.c_str()) < 0)
      return fail_errno(fmt::format("create symlink {}", join_path(dest)));
  } else if (::mknodat(parent.get(), name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0) {
    return fail_errno(fmt::format("create {}", join_path(dest)));
  }
  SLW_TRY(set_meta(parent.get(), name, dest, owner_of(st).uid, owner_of(st).gid, mode, S_ISLNK(st.st_mode)));
  return set_mtime(parent.get(), name, dest, options_.mtime);
}

Status LayerDirWriter::write_file(const PathParts& dest, std::string_view data, mode_t mode) {
  if (dest.empty()) return fail("cannot write a file at /");
  UniqueFd parent = SLW_TRY(open_dir(parent_of(dest)));
  const std::string& name = dest.back();
  SLW_TRY(clear(parent.get(), dest, false));
  UniqueFd out(::openat(parent.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return fail_errno(fmt::format("create {}", join_path(dest)));
  for (size_t done = 0; done < data.size();) {
    ssize_t w = ::write(out.get(), data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return fail_errno(fmt::format("write {}", join_path(dest)));
    done += static_cast<size_t>(w);
  }
  SLW_TRY(set_meta(parent.get(), name, dest, owner().uid, owner().gid, mode, false));
  return set_mtime(parent.get(), name, dest, options_.mtime);
}

Status LayerDirWriter::write_fd(const PathParts& dest, int fd, mode_t mode) {
  if (dest.empty()) return fail("cannot write a file at /");
  UniqueFd parent = SLW_TRY(open_dir(parent_of(dest)));
  const std::string& name = dest.back();
  SLW_TRY(clear(parent.get(), dest, false));
  UniqueFd out(::openat(parent.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return fail_errno(fmt::format("create {}", join_path(dest)));
  loff_t offset = 0;
  SLW_TRY(copy_bytes(fd, out.get(), dest, &offset));
  SLW_TRY(set_meta(parent.get(), name, dest, owner().uid, owner().gid, mode, false));
  return set_mtime(parent.get(), name, dest, options_.mtime);
}

Result<bool> LayerDirWriter::extract_if_archive(int fd, const PathParts& dest_dir,
                                                std::string_view what) {
  struct stat fst;
  if (::fstat(fd, &fst) < 0 || fst.st_size == 0) return false;
  ArchivePtr a = new_archive_reader();
  if (!a) return fail("ADD {}: libarchive could not allocate a reader", what);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK) return false;
  struct archive_entry* e = nullptr;
  int r = archive_read_next_header(a.get(), &e);
  if (r < ARCHIVE_WARN) return false;  // not a tar: ADD copies it as it is
  SLW_TRY(ensure_dir(dest_dir));
  for (; r != ARCHIVE_EOF; r = archive_read_next_header(a.get(), &e)) {
    if (r < ARCHIVE_WARN) return fail("ADD {}: {}", what, archive_message(a.get()));
    SLW_TRY(check_cancel());
    const char* raw = archive_entry_pathname(e);
    auto cleaned = clean_entry_path(raw ? raw : "");
    if (!cleaned) return fail("ADD {}: {}", what, cleaned.error().message());
    if (cleaned->empty()) continue;  // "./": the destination itself
    PathParts target = dest_dir;
    target.insert(target.end(), cleaned->begin(), cleaned->end());
    SLW_TRY(ensure_dir(parent_of(target)));
    UniqueFd parent = SLW_TRY(open_dir(parent_of(target)));
    const std::string& name = target.back();
    mode_t type = archive_entry_filetype(e);
    mode_t mode = options_.chmod.value_or(archive_entry_perm(e));
    Owner own = options_.chown.value_or(
        Owner{static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e))});
    int64_t mtime = archive_entry_mtime(e);
    if (const char* link = archive_entry_hardlink(e)) {
      auto to = clean_entry_path(link);
      if (!to || to->empty()) return fail("ADD {}: bad hardlink target \"{}\"", what, link);
      PathParts full = dest_dir;
      full.insert(full.end(), to->begin(), to->end());
      UniqueFd from_dir = SLW_TRY(open_dir(parent_of(full)));
      SLW_TRY(clear(parent.get(), target, false));
      if (::linkat(from_dir.get(), full.back().c_str(), parent.get(), name.c_str(), 0) < 0)
        return fail_errno(
            fmt::format("ADD {}: hardlink {} to {}", what, join_path(target), join_path(full)));
      continue;
    }
    if (type == AE_IFDIR) {
      SLW_TRY(clear(parent.get(), target, true));
      if (::mkdirat(parent.get(), name.c_str(), 0700) < 0 && errno != EEXIST)
        return fail_errno(fmt::format("make directory {}", join_path(target)));
      SLW_TRY(set_meta(parent.get(), name, target, own.uid, own.gid, mode, false));
      dir_times_[target] = mtime;
      continue;
    }
    SLW_TRY(clear(parent.get(), target, false));
    if (type == AE_IFREG) {
      UniqueFd out(::openat(parent.get(), name.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) return fail_errno(fmt::format("create {}", join_path(target)));
      char buf[1 << 16];
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
        if (n < 0) return fail("ADD {}: {}", what, archive_message(a.get()));
        if (n == 0) break;
        for (la_ssize_t done = 0; done < n;) {
          ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return fail_errno(fmt::format("write {}", join_path(target)));
          done += w;
        }
      }
    } else if (type == AE_IFLNK) {
      const char* link = archive_entry_symlink(e);
      if (::symlinkat(link ? link : "", parent.get(), name.c_str()) < 0)
        return fail_errno(fmt::format("create symlink {}", join_path(target)));
    } else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
      dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (::mknodat(parent.get(), name.c_str(), type | 0600, dev) < 0)
        return fail_errno(fmt::format("create {}", join_path(target)));
    } else {
      continue;  // sockets and unknown types are not file system content
    }
    SLW_TRY(set_meta(parent.get(), name, target, own.uid, own.gid, mode, type == AE_IFLNK));
    SLW_TRY(set_mtime(parent.get(), name, target, mtime));
  }
  return true;
}

Status LayerDirWriter::finish() {
  for (const auto& [path, mtime] : dir_times_) {
    UniqueFd parent = SLW_TRY(open_dir(parent_of(path)));
    SLW_TRY(set_mtime(parent.get(), path.back(), path, mtime));
  }
  return {};
}

Status run_copy(const CopyRequest& request, const SourceTree& tree, const LayerStack& lower,
                const std::string& layer_dir, const CopyOptions& options,
                const std::vector<FdSource>& files) {
  LayerDirWriter writer = SLW_TRY(LayerDirWriter::open(layer_dir, lower, options));
  std::vector<SourceMatch> matches;
  if (!request.sources.empty()) matches = SLW_TRY(expand_sources(tree, request.sources));
  size_t count = matches.size() + request.inline_sources.size() + files.size();
  bool dir_dest = names_directory(request.dest);
  if (count > 1 && !dir_dest)
    return fail(
        "copying more than one source to {}: the destination must be a directory and "
        "end with a /",
        request.dest);
  PathParts dest = SLW_TRY(lower.resolve(resolve_workdir(request.workdir, request.dest), true));
  auto existing = SLW_TRY(lower.lookup(dest));
  bool into = dir_dest || (existing && S_ISDIR(existing->st.st_mode));
  auto file_target = [&](const std::string& name) { return into ? child_of(dest, name) : dest; };

  for (const auto& m : matches) {
    if (S_ISDIR(m.node.st.st_mode)) {
      SLW_TRY(writer.ensure_dir(dest, options.chmod.value_or(m.node.st.st_mode & 07777)));
      SLW_TRY(writer.copy(tree, m.node, dest));
      continue;
    }
    if (options.add && S_ISREG(m.node.st.st_mode)) {
      UniqueFd fd = SLW_TRY(tree.open(m.node));
      if (SLW_TRY(writer.extract_if_archive(fd.get(), dest, m.source))) continue;
    }
    std::string name = m.name.empty() && !m.node.path.empty() ? m.node.path.back() : m.name;
    PathParts target = file_target(name);
    SLW_TRY(writer.ensure_dir(parent_of(target)));
    SLW_TRY(writer.copy(tree, m.node, target));
  }
  for (const auto& f : files) {
    PathParts target = file_target(f.name);
    SLW_TRY(writer.ensure_dir(parent_of(target)));
    SLW_TRY(writer.write_fd(target, f.fd, options.chmod.value_or(0600)));
  }
  for (const auto& inline_source : request.inline_sources) {
    PathParts target = file_target(inline_source.name);
    SLW_TRY(writer.ensure_dir(parent_of(target)));
    SLW_TRY(writer.write_file(target, inline_source.data, options.chmod.value_or(0644)));
  }
  return writer.finish();
}

}  // namespace slipway::oci
