#include "oci/layer/unpacker.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/layer/extractor.h"
#include "oci/layer/path.h"
#include "oci/layer/stream.h"
#include "oci/libarchive.h"

namespace slipway::oci {

namespace {

// A libarchive tar reader fed from a LayerStream; remembers the stream's own error so that a
// decompression failure is reported as such, not as a damaged tar.
class TarReader {
 public:
  static Result<std::unique_ptr<TarReader>> open(int blob_fd) {
    std::unique_ptr<TarReader> r(new TarReader());
    r->stream_ = SLW_TRY(LayerStream::open(blob_fd));
    r->archive_ = archive_read_new();
    if (!r->archive_) return fail("read layer: libarchive could not allocate a reader");
    archive_read_support_format_tar(r->archive_);
    if (archive_read_open(r->archive_, r.get(), nullptr, &TarReader::read_cb, nullptr) !=
        ARCHIVE_OK)
      return r->error("read layer tar");
    return r;
  }
  ~TarReader() {
    if (archive_) archive_read_free(archive_);
  }

  struct archive* archive() {
    return archive_;
  }
  LayerStream& stream() { return *stream_; }

  // Next entry, or nullptr at the end of the archive.
  Result<struct archive_entry*> next() {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(archive_, &e);
    if (r == ARCHIVE_EOF) return nullptr;
    if (r < ARCHIVE_WARN) return error("read layer tar");
    ++entries_;
    return e;
  }
  uint64_t entries() const { return entries_; }

  std::unexpected<Error> error(std::string_view what) {
    if (stream_error_) return std::unexpected(*stream_error_);
    std::string m = archive_message(archive_, "unreadable data");
    if (m.find("Unrecognized archive format") != std::string::npos)
      m = "not a tar archive (nor gzip, zstd, xz or bzip2 compressed tar)";
    return fail("{}: {}", what, m);
  }

 private:
  TarReader() = default;

  static la_ssize_t read_cb(struct archive* a, void* ctx, const void** buf) {
    auto* self = static_cast<TarReader*>(ctx);
    auto chunk = self->stream_->next();
    if (!chunk) {
      self->stream_error_ = chunk.error();
      archive_set_error(a, EIO, "%s", chunk.error().message().c_str());
      return -1;
    }
    *buf = chunk->data();
    return static_cast<la_ssize_t>(chunk->size());
  }

  std::unique_ptr<LayerStream> stream_;
  struct archive* archive_ = nullptr;
  std::optional<Error> stream_error_;
  uint64_t entries_ = 0;
};

const char* entry_name(struct archive_entry* e) {
  const char* n = archive_entry_pathname(e);
  return n ? n : archive_entry_pathname_utf8(e);
}

Status check_diff_id(const LayerStream::Summary& s, std::string_view expected) {
  if (!expected.empty() && s.digest != expected)
    return fail("uncompressed layer is {} but the image config says {}", s.digest, expected);
  return {};
}

}  // namespace

UnpackOptions default_unpack_options() {
  UnpackOptions o;
  bool root = ::geteuid() == 0;
  o.preserve_owners = root;
  o.overlay_xattr_namespace = root ? "trusted." : "user.";
  return o;
}

Result<UnpackStats> unpack_layer(int blob_fd, std::string_view expected_diff_id,
                                 const std::string& tmp_dir, const std::string& dest,
                                 const UnpackOptions& options) {
  SLW_TRY(fs::make_dirs(tmp_dir, 0700));
  std::string tmp = fs::join(tmp_dir, fmt::format("layer-{}-XXXXXX", ::getpid()));
  if (!::mkdtemp(tmp.data()))
    return fail_errno(fmt::format("create temp directory in {}", tmp_dir));
  ScopeExit cleanup([&] { (void)fs::remove_tree(tmp); });
  UniqueFd root_fd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_fd) return fail_errno(fmt::format("open {}", tmp));

  auto reader = SLW_TRY(TarReader::open(blob_fd));
  LayerExtractor extractor(root_fd.get(), options);
  for (;;) {
    struct archive_entry* e = SLW_TRY(reader->next());
    if (!e) break;
    SLW_TRY(extractor.apply(reader->archive(), e));
  }
  SLW_TRY(extractor.finish());
  LayerStream::Summary summary = SLW_TRY(reader->stream().finish());
  SLW_TRY(check_diff_id(summary, expected_diff_id));
  if (options.sync && ::syncfs(root_fd.get()) < 0) return fail_errno(fmt::format("sync {}", tmp));
  if (::rename(tmp.c_str(), dest.c_str()) < 0) {
    // Someone else finished the same layer first; theirs is as good as ours.
    if ((errno != EEXIST && errno != ENOTEMPTY) || !fs::is_dir(dest))
      return fail_errno(fmt::format("rename {} to {}", tmp, dest));
  } else {
    cleanup.release();
  }
  return UnpackStats{summary.digest, summary.size, reader->entries()};
}

Result<UnpackStats> scan_layer(int blob_fd) {
  auto reader = SLW_TRY(TarReader::open(blob_fd));
  for (;;) {
    struct archive_entry* e = SLW_TRY(reader->next());
    if (!e) break;
    const char* name = entry_name(e);
    if (!name || !*name) return fail("tar entry without a name");
    SLW_TRY(classify_entry_path(name));
    if (const char* link = archive_entry_hardlink(e); link && !clean_entry_path(link))
      return fail("entry '{}': hardlink target '{}' escapes the layer directory", name, link);
    // Data is skipped, but still decompressed and hashed by the stream.
    if (archive_read_data_skip(reader->archive()) < ARCHIVE_WARN)
      return reader->error("read layer tar");
  }
  LayerStream::Summary summary = SLW_TRY(reader->stream().finish());
  return UnpackStats{summary.digest, summary.size, reader->entries()};
}

}  // namespace slipway::oci
