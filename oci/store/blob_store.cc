#include "oci/store/blob_store.h"

#include <signal.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/image_spec.h"

namespace slipway::oci {

namespace {

Status fsync_path(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail_errno(fmt::format("open {}", path));
  if (::fsync(fd.get()) < 0) return fail_errno(fmt::format("fsync {}", path));
  return {};
}

}  // namespace

BlobStore::BlobStore(std::string root)
    : root_(std::move(root)),
      blobs_(fs::join(root_, "blobs/sha256")),
      tmp_(fs::join(root_, "tmp")) {}

Status BlobStore::init() const {
  SLW_TRY(fs::make_dirs(blobs_, 0755));
  SLW_TRY(fs::make_dirs(tmp_, 0700));
  return {};
}

std::string BlobStore::path(std::string_view digest) const {
  return fs::join(blobs_, digest.substr(kSha256Prefix.size()));
}

bool BlobStore::contains(std::string_view digest) const {
  return is_sha256_digest(digest) && fs::exists(path(digest));
}

Result<int64_t> BlobStore::size_of(std::string_view digest) const {
  SLW_TRY(digest_hex(digest));
  struct stat st;
  if (::stat(path(digest).c_str(), &st) < 0) {
    if (errno == ENOENT) return fail("blob {} is not in the store", digest);
    return fail_errno(fmt::format("stat blob {}", digest));
  }
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> BlobStore::open(std::string_view digest) const {
  SLW_TRY(digest_hex(digest));
  UniqueFd fd(::open(path(digest).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return fail("blob {} is not in the store", digest);
    return fail_errno(fmt::format("open blob {}", digest));
  }
  return fd;
}

Result<std::string> BlobStore::read(std::string_view digest) const {
  int64_t size = SLW_TRY(size_of(digest));
  if (size > kMaxJsonBlobSize)
    return fail("blob {} is {} bytes, too large for a manifest or config", digest, size);
  std::string data = SLW_TRY(fs::read_file(path(digest)));
  std::string actual = sha256_digest(data);
  if (actual != digest)
    return fail("blob {} in the store is corrupt (content is {})", digest, actual);
  return data;
}

Status BlobStore::adopt(const StagedFile& staged, std::string_view digest, int64_t size,
                        bool keep_source) const {
  SLW_TRY(digest_hex(digest));
  SLW_TRY(check_blob(digest, size, staged.digest, staged.size));
  if (contains(digest)) return {};
  SLW_TRY(fsync_path(staged.path));
  std::string dest = path(digest);
  int r = keep_source ? ::link(staged.path.c_str(), dest.c_str())
                      : ::rename(staged.path.c_str(), dest.c_str());
  if (r < 0 && errno != EEXIST) return fail_errno(fmt::format("store blob {} as {}", digest, dest));
  return {};
}

Result<std::string> BlobStore::put(std::string_view data) const {
  std::string digest = sha256_digest(data);
  if (contains(digest)) return digest;
  // A temp file of its own (not write_file_atomic's per-pid name): threads may put the same blob.
  StagedFile f{fs::join(tmp_, fmt::format("put-{}-XXXXXX", ::getpid())), digest,
               static_cast<int64_t>(data.size())};
  int raw = ::mkostemp(f.path.data(), O_CLOEXEC);
  if (raw < 0) return fail_errno(fmt::format("create temp file in {}", tmp_));
  UniqueFd fd(raw);
  ScopeExit cleanup([&] { ::unlink(f.path.c_str()); });
  SLW_TRY(fs::write_all(fd.get(), data, f.path));
  ::fchmod(fd.get(), 0644);
  fd.reset();
  SLW_TRY(adopt(f, digest, f.size, /*keep_source=*/false));
  return digest;
}

Status BlobStore::remove(std::string_view digest) const {
  SLW_TRY(digest_hex(digest));
  if (::unlink(path(digest).c_str()) < 0 && errno != ENOENT)
    return fail_errno(fmt::format("remove blob {}", digest));
  return {};
}

Result<std::vector<std::string>> BlobStore::list() const {
  std::vector<std::string> out;
  for (auto& name : SLW_TRY(fs::list_dir(blobs_))) {
    std::string digest = std::string(kSha256Prefix) + name;
    if (is_sha256_digest(digest)) out.push_back(std::move(digest));
  }
  return out;
}

}  // namespace slipway::oci
