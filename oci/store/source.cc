#include "oci/store/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "oci/digest.h"
#include "oci/image_spec.h"
#include "oci/layer/path.h"
#include "oci/libarchive.h"

namespace slipway::oci {

namespace {

constexpr int kMaxAliasHops = 16;

// rel as given by a manifest or index: relative, and never climbing out of the source.
Result<std::string> clean_source_path(std::string_view rel, std::string_view location) {
  if (rel.starts_with("/")) return fail("{}: path '{}' is absolute", location, rel);
  auto comps = clean_entry_path(rel);
  if (!comps) return fail("{}: path '{}' leaves the image directory", location, rel);
  if (comps->empty()) return fail("{}: empty path", location);
  return join_components(*comps);
}

class DirSource : public ImageSource {
 public:
  explicit DirSource(std::string dir) : ImageSource(dir), dir_(std::move(dir)) {}

  bool exists(const std::string& rel) const override {
    auto clean = clean_source_path(rel, location());
    return clean && fs::exists(fs::join(dir_, *clean));
  }
  Result<UniqueFd> open(const std::string& rel) const override {
    std::string clean = SLW_TRY(clean_source_path(rel, location()));
    std::string path = fs::join(dir_, clean);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) return fail("{}: {} is missing", location(), clean);
      return fail_errno(fmt::format("open {}", path));
    }
    return fd;
  }
  const StagedFile* staged(const std::string&) const override { return nullptr; }

 private:
  std::string dir_;
};

class ArchiveSource : public ImageSource {
 public:
  ArchiveSource(std::string location, std::string staging)
      : ImageSource(std::move(location)), staging_(std::move(staging)) {}
  ~ArchiveSource() override { (void)fs::remove_tree(staging_); }

  Status read(int fd);

  bool exists(const std::string& rel) const override { return staged(rel) != nullptr; }
  Result<UniqueFd> open(const std::string& rel) const override {
    const StagedFile* f = staged(rel);
    if (!f) return fail("{}: {} is missing", location(), rel);
    UniqueFd fd(::open(f->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno(fmt::format("open staged {}", rel));
    return fd;
  }
  const StagedFile* staged(const std::string& rel) const override {
    auto clean = clean_source_path(rel, location());
    if (!clean) return nullptr;
    std::string key = *clean;
    // Docker writes repeated layers as symlinks or hardlinks to the first copy.
    for (int hop = 0; hop < kMaxAliasHops; ++hop) {
      if (auto f = files_.find(key); f != files_.end()) return &f->second;
      auto a = aliases_.find(key);
      if (a == aliases_.end()) return nullptr;
      key = a->second;
    }
    return nullptr;
  }

 private:
  Result<StagedFile> stage_entry(struct archive* a, const std::string& name);

  std::string staging_;
  std::map<std::string, StagedFile> files_;
  std::map<std::string, std::string> aliases_;
  int counter_ = 0;
};

std::string source_error(struct archive* a) {
  std::string m = archive_message(a, "unreadable archive");
  if (m.find("Unrecognized archive format") != std::string::npos)
    m = "not a tar archive, OCI layout or docker-archive";
  return m;
}

Result<StagedFile> ArchiveSource::stage_entry(struct archive* a, const std::string& name) {
  StagedFile f;
  f.path = fs::join(staging_, fmt::format("f{}", counter_++));
  UniqueFd fd(::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return fail_errno(fmt::format("create {}", f.path));
  Sha256 hash;
  int64_t pos = 0;
  static const char kZeros[4096] = {};
  for (;;) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail("{}: {}: {}", location(), name, source_error(a));
    // Holes of sparse entries read as zeros.
    while (pos < offset) {
      size_t n = static_cast<size_t>(std::min<int64_t>(offset - pos, sizeof kZeros));
      hash.update(kZeros, n);
      SLW_TRY(fs::write_all(fd.get(), std::string_view(kZeros, n), "staged file"));
      pos += static_cast<int64_t>(n);
    }
    hash.update(buf, size);
    SLW_TRY(fs::write_all(fd.get(), std::string_view(static_cast<const char*>(buf), size), "staged file"));
    pos += static_cast<int64_t>(size);
  }
  f.size = static_cast<int64_t>(hash.size());
  f.digest = hash.finish();
  return f;
}

Status ArchiveSource::read(int fd) {
  ArchivePtr reader = new_archive_reader();
  if (!reader) return fail("{}: libarchive could not allocate a reader", location());
  struct archive* a = reader.get();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, kArchiveBlock) != ARCHIVE_OK)
    return fail("{}: {}", location(), source_error(a));
  for (;;) {
    struct archive_entry* e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail("{}: {}", location(), source_error(a));
    const char* raw = archive_entry_pathname(e);
    if (!raw) raw = archive_entry_pathname_utf8(e);
    if (!raw) continue;
    auto comps = clean_entry_path(raw);
    if (!comps) return fail("{}: {}", location(), comps.error().message());
    if (comps->empty()) continue;
    std::string key = join_components(*comps);
    if (const char* link = archive_entry_hardlink(e)) {
      auto target = clean_entry_path(link);
      if (!target || target->empty())
        return fail("{}: entry '{}': hardlink target '{}' leaves the archive", location(), raw,
                    link);
      aliases_[key] = join_components(*target);
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFREG: {
        files_.erase(key);
        aliases_.erase(key);
        files_[key] = SLW_TRY(stage_entry(a, raw));
        break;
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) target = archive_entry_symlink_utf8(e);
        if (!target) break;
        std::string joined =
            std::string(target).starts_with("/")
                ? std::string(target)
                : join_components({comps->begin(), comps->end() - 1}) + "/" + target;
        auto resolved = clean_entry_path(joined);
        if (!resolved || resolved->empty())
          return fail("{}: entry '{}': symlink to '{}' leaves the archive", location(), raw,
                      target);
        aliases_[key] = join_components(*resolved);
        break;
      }
      default:
        break;  // directories and anything else carry no image content
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<ImageSource>> open_image_source(const std::string& path,
                                                       const std::string& tmp_dir) {
  UniqueFd fd;
  if (path == "-") {
    fd.reset(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
    if (!fd) return fail_errno("read stdin");
  } else {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return fail_errno(path);
    if (S_ISDIR(st.st_mode)) return std::unique_ptr<ImageSource>(new DirSource(path));
    fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno(fmt::format("open {}", path));
  }
  std::string staging = fs::join(tmp_dir, fmt::format("load-{}-XXXXXX", ::getpid()));
  if (!::mkdtemp(staging.data()))
    return fail_errno(fmt::format("create temp directory in {}", tmp_dir));
  auto source = std::make_unique<ArchiveSource>(path == "-" ? "stdin" : path, staging);
  SLW_TRY(source->read(fd.get()));
  return std::unique_ptr<ImageSource>(std::move(source));
}

Result<std::string> read_source_file(const ImageSource& source, const std::string& rel) {
  UniqueFd fd = SLW_TRY(source.open(rel));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno(fmt::format("stat {}", rel));
  if (st.st_size > kMaxJsonBlobSize)
    return fail("{}: {} is {} bytes, too large for image metadata", source.location(), rel,
                st.st_size);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("read {}", rel));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace slipway::oci
