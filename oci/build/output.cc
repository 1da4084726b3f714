#include "oci/build/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/random_id.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/libarchive.h"

namespace slipway::oci {

namespace {

class DirTar {
 public:
  DirTar(struct archive* a, int64_t mtime) : a_(a), mtime_(mtime) {}

  Status add_dir(const std::string& host, const std::string& prefix) {
    for (const auto& name : SLW_TRY(fs::list_dir(host))) {
      std::string path = fs::join(host, name);
      std::string rel = prefix + name;
      struct stat st;
      if (::lstat(path.c_str(), &st) < 0) return fail_errno(fmt::format("stat {}", path));
      EntryPtr e = new_archive_entry();
      archive_entry_set_uid(e.get(), 0);
      archive_entry_set_gid(e.get(), 0);
      archive_entry_set_mtime(e.get(), mtime_, 0);
      if (S_ISDIR(st.st_mode)) {
        archive_entry_set_pathname(e.get(), (rel + "/").c_str());
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_perm(e.get(), 0755);
        SLW_TRY(header(e.get(), rel));
        SLW_TRY(add_dir(path, rel + "/"));
      } else if (S_ISREG(st.st_mode)) {
        archive_entry_set_pathname(e.get(), rel.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), st.st_size);
        SLW_TRY(header(e.get(), rel));
        SLW_TRY(data(path, st.st_size));
      }
    }
    return {};
  }

 private:
  Status header(struct archive_entry* e, const std::string& rel) {
    if (archive_write_header(a_, e) < ARCHIVE_WARN)
      return fail("write {} into the archive: {}", rel, archive_message(a_));
    return {};
  }

  Status data(const std::string& path, int64_t size) {
    UniqueFd fd = SLW_TRY(fs::open_file(path, O_RDONLY));
    if (!buf_) buf_ = std::make_unique<char[]>(kArchiveBlock);
    return write_entry_data(a_, fd.get(), size, path, buf_.get());
  }

  struct archive* a_;
  int64_t mtime_;
  std::unique_ptr<char[]> buf_;
};

std::string blob_path(std::string_view digest) {
  return fmt::format("blobs/sha256/{}", digest.substr(kSha256Prefix.size()));
}

}  // namespace

Result<BuildOutput> parse_build_output(std::string_view text) {
  auto colon = text.find(':');
  std::string_view kind = colon == std::string_view::npos ? "" : text.substr(0, colon);
  std::string path(colon == std::string_view::npos ? "" : text.substr(colon + 1));
  BuildOutput out;
  if (kind == "oci") {
    out.kind = BuildOutput::Kind::kOciLayout;
  } else if (kind == "oci-archive") {
    out.kind = BuildOutput::Kind::kOciArchive;
  } else if (kind == "docker-archive") {
    out.kind = BuildOutput::Kind::kDockerArchive;
  } else {
    return fail("invalid --output {}: use oci:DIR, oci-archive:FILE or docker-archive:FILE", text);
  }
  if (path.empty()) return fail("invalid --output {}: no path after the colon", text);
  out.path = std::move(path);
  return out;
}

Status write_dir_tar(const std::string& dir, const std::string& file, int64_t mtime) {
  std::string tmp = fmt::format("{}.tmp-{}", file, ::getpid());
  UniqueFd fd = SLW_TRY(fs::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ScopeExit drop([&] { ::unlink(tmp.c_str()); });
  ArchivePtr a = new_archive_writer();
  if (!a) return fail("write {}: libarchive could not allocate a writer", file);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), fd.get()) != ARCHIVE_OK)
    return fail("write {}: {}", file, archive_message(a.get()));
  DirTar tar(a.get(), mtime);
  SLW_TRY(with_context(tar.add_dir(dir, ""), fmt::format("write {}", file)));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail("write {}: {}", file, archive_message(a.get()));
  if (::fsync(fd.get()) < 0) return fail_errno(fmt::format("fsync {}", tmp));
  if (::rename(tmp.c_str(), file.c_str()) < 0)
    return fail_errno(fmt::format("rename {} to {}", tmp, file));
  drop.release();
  return {};
}

Status write_build_output(const ImageStore& store, const Image& image, const BuildOutput& output,
                          int64_t mtime) {
  if (output.kind == BuildOutput::Kind::kOciLayout) return store.save(image.id, output.path);
  std::string tmp = fs::join(store.blobs().tmp_dir(), fmt::format("output-{}-{}", ::getpid(),
                                                                  random_hex_id().substr(0, 12)));
  ScopeExit cleanup([&] { (void)fs::remove_tree(tmp); });
  SLW_TRY(store.save(image.id, tmp));
  if (output.kind == BuildOutput::Kind::kDockerArchive) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : image.layers) layers.push_back(blob_path(l.digest));
    nlohmann::json manifest = nlohmann::json::array(
        {{{"Config", blob_path(image.id)}, {"RepoTags", image.names}, {"Layers", layers}}});
    SLW_TRY(fs::write_file(fs::join(tmp, "manifest.json"), manifest.dump()));
  }
  return write_dir_tar(tmp, output.path, mtime);
}

}  // namespace slipway::oci
