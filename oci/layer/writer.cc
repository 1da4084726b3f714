#include "oci/layer/writer.h"

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

namespace slipway::oci {

namespace {

using namespace layer_tar;  // NOLINT: the shared sinks and constants

class TreeWriter {
 public:
  explicit TreeWriter(struct archive* tar) : tar_(tar) {}

  Status write_dir(int dirfd, const std::string& prefix) {
    UniqueFd list_fd(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!list_fd) return fail_errno("duplicate directory fd");
    DIR* d = ::fdopendir(list_fd.release());
    if (!d) return fail_errno(fmt::format("list {}", shown(prefix)));
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

 private:
  static std::string shown(const std::string& path) { return path.empty() ? "." : path; }

  Status write_one(int dirfd, const std::string& name, const std::string& path) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno(fmt::format("stat {}", path));
    if (S_ISSOCK(st.st_mode)) return {};
    EntryPtr e = new_archive_entry();
    archive_entry_set_pathname(e.get(), S_ISDIR(st.st_mode) ? (path + "/").c_str() : path.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
    UniqueFd file;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto [it, fresh] = links_.try_emplace({st.st_dev, st.st_ino}, path);
        if (!fresh) {
          archive_entry_set_hardlink(e.get(), it->second.c_str());
          archive_entry_set_size(e.get(), 0);
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
      archive_entry_set_size(e.get(), 0);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
      archive_entry_set_size(e.get(), 0);
    } else {
      archive_entry_set_size(e.get(), 0);
    }
    SLW_TRY(write_header(e.get(), path));
    if (file) SLW_TRY(copy_data(file.get(), st.st_size, path));
    if (S_ISDIR(st.st_mode)) {
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
    return {};
  }

  Status copy_data(int fd, int64_t size, const std::string& path) {
    if (!buf_) buf_ = std::make_unique<char[]>(kArchiveBlock);
    return write_entry_data(tar_, fd, size, path, buf_.get());
  }

  struct archive* tar_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace

Result<WrittenLayer> write_layer(const std::string& dir, const std::string& tmp_dir) {
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
  // No timestamp in the gzip header, so the bytes depend on the content only.
  if (archive_write_set_filter_option(gzip.get(), "gzip", "timestamp", nullptr) < ARCHIVE_WARN)
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

  TreeWriter tree(tar.get());
  SLW_TRY(tree.write_dir(root.get(), ""));
  if (archive_write_close(tar.get()) != ARCHIVE_OK)
    return fail("pack layer: finish tar: {}", archive_message(tar.get()));
  if (archive_write_close(gzip.get()) != ARCHIVE_OK) {
    if (blob.err) return fail_errno(fmt::format("write {}", out.blob.path), blob.err);
    return fail("pack layer: finish gzip: {}", archive_message(gzip.get()));
  }
  out.tar_size = static_cast<int64_t>(tar_sink.hash.size());
  out.diff_id = tar_sink.hash.finish();
  out.blob.size = static_cast<int64_t>(blob.hash.size());
  out.blob.digest = blob.hash.finish();
  ::fchmod(blob_fd.get(), 0644);
  cleanup.release();
  return out;
}

}  // namespace slipway::oci
