#include "oci/layer/writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/layer/path.h"
#include "oci/libarchive.h"

namespace slipway::oci {

namespace {

// The only xattr Docker carries into layers: file capabilities (ping, newuidmap, ...).
constexpr const char* kCapabilityXattr = "security.capability";

// Compressed side: hashes the gzip bytes and writes them to the staged file.
struct BlobSink {
  int fd;
  Sha256 hash;
  int err = 0;
  static la_ssize_t write(struct archive*, void* ctx, const void* buf, size_t n) {
    auto* self = static_cast<BlobSink*>(ctx);
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(self->fd, static_cast<const char*>(buf) + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        self->err = errno;
        return -1;
      }
      done += static_cast<size_t>(w);
    }
    self->hash.update(buf, n);
    return static_cast<la_ssize_t>(n);
  }
};

// Uncompressed side: hashes the tar bytes (the diff_id) and feeds them to the gzip writer.
struct TarSink {
  struct archive* gzip;
  Sha256 hash;
  static la_ssize_t write(struct archive*, void* ctx, const void* buf, size_t n) {
    auto* self = static_cast<TarSink*>(ctx);
    self->hash.update(buf, n);
    la_ssize_t w = archive_write_data(self->gzip, buf, n);
    return w < 0 ? -1 : static_cast<la_ssize_t>(n);
  }
};

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

class TreeWriter {
 public:
  TreeWriter(struct archive* tar, std::string root, const LayerWriteOptions& options)
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

  // Overlay form: reads the overlay xattrs of an entry, refuses those a plain walk cannot
  // interpret, drops bookkeeping ones when normalizing, and reports whether a directory is opaque.
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
    bool opaque = false;
    if (options_.overlay) {
      if (is_whiteout(st)) {
        auto slash = path.rfind('/');
        std::string parent = slash == std::string::npos ? "" : path.substr(0, slash + 1);
        return write_marker(parent + std::string(kWhiteoutPrefix) + name, st, 0600);
      }
      SLW_TRY(overlay_xattrs(path, S_ISDIR(st.st_mode), opaque));
    }
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
    if (file) {
      if (!buf_) buf_ = std::make_unique<char[]>(kArchiveBlock);
      SLW_TRY(write_entry_data(tar_, file.get(), st.st_size, path, buf_.get()));
    }
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

  struct archive* tar_;
  std::string root_;
  const LayerWriteOptions& options_;
  std::string overlay_prefix_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::unique_ptr<char[]> buf_;
  uint64_t entries_ = 0;
};

}  // namespace

Result<WrittenLayer> write_layer(const std::string& dir, const std::string& tmp_dir,
                                 const LayerWriteOptions& options) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno(dir);
  WrittenLayer out;
  out.blob.path = fs::join(tmp_dir, fmt::format("layer-{}-XXXXXX", ::getpid()));
  int raw = ::mkostemp(out.blob.path.data(), O_CLOEXEC);
  if (raw < 0) return fail_errno(fmt::format("create temp file in {}", tmp_dir));
  UniqueFd blob_fd(raw);
  ScopeExit cleanup([&] { ::unlink(out.blob.path.c_str()); });

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

  TreeWriter tree(tar.get(), dir, options);
  SLW_TRY(tree.write_dir(root.get(), ""));
  if (archive_write_close(tar.get()) != ARCHIVE_OK)
    return fail("pack layer: finish tar: {}", archive_message(tar.get()));
  if (archive_write_close(gzip.get()) != ARCHIVE_OK) {
    if (blob.err) return fail_errno(fmt::format("write {}", out.blob.path), blob.err);
    return fail("pack layer: finish gzip: {}", archive_message(gzip.get()));
  }
  out.entries = tree.entries();
  out.tar_size = static_cast<int64_t>(tar_sink.hash.size());
  out.diff_id = tar_sink.hash.finish();
  out.blob.size = static_cast<int64_t>(blob.hash.size());
  out.blob.digest = blob.hash.finish();
  ::fchmod(blob_fd.get(), 0644);
  cleanup.release();
  return out;
}

}  // namespace slipway::oci
