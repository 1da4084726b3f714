#include "oci/layer/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/layer/tar_sinks.h"
#include "oci/layer/path.h"

namespace slipway::oci {

namespace {

using namespace layer_tar;  // NOLINT: the shared sinks and constants

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

class DiffWriter {
 public:
  DiffWriter(struct archive* tar, std::string root, const LayerDiffOptions& options)
      : tar_(tar), root_(std::move(root)), options_(options) {
    overlay_prefix_ = options_.overlay_xattr_namespace + "overlay.";
  }

  Status write_dir(int dirfd, const std::string& prefix) {
    UniqueFd list_fd(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!list_fd) return fail_errno("duplicate directory fd");
    DIR* d = ::fdopendir(list_fd.release());
    if (!d) return fail_errno(fmt::format("list {}", prefix.empty() ? "." : prefix));
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(d)) {
      std::string_view n = de->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) SLW_TRY(write_one(dirfd, name, prefix + name));
    return {};
  }

  uint64_t entries() const { return entries_; }

 private:
  int64_t mtime_of(const struct stat& st) const {
    int64_t t = st.st_mtim.tv_sec;
    return options_.clamp_mtime ? std::min<int64_t>(t, *options_.clamp_mtime) : t;
  }

  // Reads the overlay xattrs of an entry: refuses those a plain walk cannot interpret, drops
  // bookkeeping ones when normalizing, and reports whether a directory is opaque.
  Status overlay_xattrs(const std::string& path, bool is_dir, bool& opaque) {
    opaque = false;
    std::string full = fs::join(root_, path);
    char names[4096];
    ssize_t n = ::llistxattr(full.c_str(), names, sizeof names);
    if (n < 0) {
      if (errno == ENOTSUP || errno == ENODATA) return {};
      if (errno != ERANGE) return fail_errno(fmt::format("list xattrs of {}", path));
      return fail("list xattrs of {}: too many", path);
    }
    for (ssize_t off = 0; off < n;) {
      std::string key(names + off);
      off += static_cast<ssize_t>(key.size()) + 1;
      if (!key.starts_with(overlay_prefix_)) continue;
      std::string what = key.substr(overlay_prefix_.size());
      if (what == "opaque") {
        char v[8];
        ssize_t len = ::lgetxattr(full.c_str(), key.c_str(), v, sizeof v);
        opaque = is_dir && len == 1 && v[0] == 'y';
        continue;
      }
      if (what == "redirect" || what == "metacopy")
        return fail(
            "{}: overlayfs {} xattr: a renamed directory or metadata-only copy cannot be "
            "turned into a layer by reading the upper dir alone",
            path, what);
      if (options_.normalize_dir && ::lremovexattr(full.c_str(), key.c_str()) < 0 &&
          errno != ENODATA)
        return fail_errno(fmt::format("remove {} of {}", key, path));
    }
    return {};
  }

  Status normalize_mtime(int dirfd, const std::string& name, const struct stat& st,
                         const std::string& path) {
    int64_t want = mtime_of(st);
    if (!options_.normalize_dir || (want == st.st_mtim.tv_sec && st.st_mtim.tv_nsec == 0))
      return {};
    struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(want), 0}};
    if (::utimensat(dirfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno(fmt::format("set mtime of {}", path));
    return {};
  }

  EntryPtr new_entry(const std::string& name, const struct stat& st) {
    EntryPtr e = new_archive_entry();
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), mtime_of(st), 0);
    archive_entry_set_size(e.get(), 0);
    return e;
  }

  // `.wh.NAME` (or `.wh..wh..opq`): an empty regular file, as Docker's overlay differ writes it.
  Status write_marker(const std::string& name, const struct stat& st, mode_t perm) {
    struct stat marker = st;
    marker.st_mode = S_IFREG | perm;
    EntryPtr e = new_entry(name, marker);
    return write_header(e.get(), name);
  }

  Status write_one(int dirfd, const std::string& name, const std::string& path) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno(fmt::format("stat {}", path));
    if (S_ISSOCK(st.st_mode)) return {};
    SLW_TRY(normalize_mtime(dirfd, name, st, path));
    if (is_whiteout(st)) {
      auto slash = path.rfind('/');
      std::string parent = slash == std::string::npos ? "" : path.substr(0, slash + 1);
      return write_marker(parent + std::string(kWhiteoutPrefix) + name, st, 0600);
    }
    bool opaque = false;
    SLW_TRY(overlay_xattrs(path, S_ISDIR(st.st_mode), opaque));
    EntryPtr e = new_entry(S_ISDIR(st.st_mode) ? path + "/" : path, st);
    UniqueFd file;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto [it, fresh] = links_.try_emplace({st.st_dev, st.st_ino}, path);
        if (!fresh) {
          archive_entry_set_hardlink(e.get(), it->second.c_str());
          return write_header(e.get(), path);
        }
      }
      file.reset(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!file) return fail_errno(fmt::format("open {}", path));
      archive_entry_set_size(e.get(), st.st_size);
      SLW_TRY(add_capability(e.get(), file.get(), path));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) return fail_errno(fmt::format("read symlink {}", path));
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
    }
    SLW_TRY(write_header(e.get(), path));
    if (file) SLW_TRY(copy_data(file.get(), st.st_size, path));
    if (S_ISDIR(st.st_mode)) {
      // First in the directory, so that no extractor can apply it after the entries it must keep.
      if (opaque)
        SLW_TRY(write_marker(path + "/" + std::string(kOpaqueWhiteout), st, st.st_mode & 0777));
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return fail_errno(fmt::format("open {}", path));
      SLW_TRY(write_dir(sub.get(), path + "/"));
    }
    return {};
  }

  Status add_capability(struct archive_entry* e, int fd, const std::string& path) {
    char value[256];
    ssize_t n = ::fgetxattr(fd, kCapabilityXattr, value, sizeof value);
    if (n < 0) {
      if (errno == ENODATA || errno == ENOTSUP) return {};
      return fail_errno(fmt::format("read {} of {}", kCapabilityXattr, path));
    }
    archive_entry_xattr_add_entry(e, kCapabilityXattr, value, static_cast<size_t>(n));
    return {};
  }

  Status write_header(struct archive_entry* e, const std::string& path) {
    if (archive_write_header(tar_, e) < ARCHIVE_WARN)
      return fail("write tar header for {}: {}", path, archive_message(tar_));
    ++entries_;
    return {};
  }

  Status copy_data(int fd, int64_t size, const std::string& path) {
    if (!buf_) buf_ = std::make_unique<char[]>(kArchiveBlock);
    return write_entry_data(tar_, fd, size, path, buf_.get());
  }

  struct archive* tar_;
  std::string root_;
  const LayerDiffOptions& options_;
  std::string overlay_prefix_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::unique_ptr<char[]> buf_;
  uint64_t entries_ = 0;
};

}  // namespace

Result<LayerDiff> write_layer_diff(const std::string& dir, const std::string& tmp_dir,
                                   const LayerDiffOptions& options) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno(dir);
  LayerDiff out;
  StagedFile& blob_file = out.layer.blob;
  blob_file.path = fs::join(tmp_dir, fmt::format("layer-{}-XXXXXX", ::getpid()));
  int raw = ::mkostemp(blob_file.path.data(), O_CLOEXEC);
  if (raw < 0) return fail_errno(fmt::format("create temp file in {}", tmp_dir));
  UniqueFd blob_fd(raw);
  ScopeExit cleanup([&] { ::unlink(blob_file.path.c_str()); });

  BlobSink blob{blob_fd.get(), {}, 0};
  ArchivePtr gzip = new_archive_writer();
  if (!gzip) return fail("pack layer: libarchive could not allocate a writer");
  archive_write_set_format_raw(gzip.get());
  archive_write_add_filter_gzip(gzip.get());
  // No timestamp in the gzip header and a fixed level: the bytes depend on the content only.
  std::string level = std::to_string(kLayerGzipLevel);
  if (archive_write_set_filter_option(gzip.get(), "gzip", "timestamp", nullptr) < ARCHIVE_WARN ||
      archive_write_set_filter_option(gzip.get(), "gzip", "compression-level", level.c_str()) <
          ARCHIVE_WARN)
    return fail("pack layer: {}", archive_message(gzip.get()));
  archive_write_set_bytes_in_last_block(gzip.get(), 1);
  if (archive_write_open(gzip.get(), &blob, nullptr, &BlobSink::write, nullptr) != ARCHIVE_OK)
    return fail("pack layer: {}", archive_message(gzip.get()));
  EntryPtr raw_entry = new_archive_entry();
  archive_entry_set_pathname(raw_entry.get(), "layer.tar");
  archive_entry_set_filetype(raw_entry.get(), AE_IFREG);
  if (archive_write_header(gzip.get(), raw_entry.get()) < ARCHIVE_WARN)
    return fail("pack layer: {}", archive_message(gzip.get()));

  TarSink tar_sink{gzip.get(), {}};
  ArchivePtr tar = new_archive_writer();
  if (!tar) return fail("pack layer: libarchive could not allocate a writer");
  archive_write_set_format_pax_restricted(tar.get());
  archive_write_set_bytes_in_last_block(tar.get(), 1);
  if (archive_write_open(tar.get(), &tar_sink, nullptr, &TarSink::write, nullptr) != ARCHIVE_OK)
    return fail("pack layer: {}", archive_message(tar.get()));

  DiffWriter writer(tar.get(), dir, options);
  SLW_TRY(writer.write_dir(root.get(), ""));
  if (archive_write_close(tar.get()) != ARCHIVE_OK)
    return fail("pack layer: finish tar: {}", archive_message(tar.get()));
  if (archive_write_close(gzip.get()) != ARCHIVE_OK) {
    if (blob.err) return fail_errno(fmt::format("write {}", blob_file.path), blob.err);
    return fail("pack layer: finish gzip: {}", archive_message(gzip.get()));
  }
  out.entries = writer.entries();
  out.layer.tar_size = static_cast<int64_t>(tar_sink.hash.size());
  out.layer.diff_id = tar_sink.hash.finish();
  blob_file.size = static_cast<int64_t>(blob.hash.size());
  blob_file.digest = blob.hash.finish();
  ::fchmod(blob_fd.get(), 0644);
  cleanup.release();
  return out;
}

}  // namespace slipway::oci
