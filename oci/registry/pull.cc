#include "oci/registry/pull.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>
#include <nlohmann/json.hpp>

#include "base/file_lock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/scope_exit.h"
#include "oci/store/blob_store.h"
#include "oci/digest.h"
#include "oci/registry/blob_locations.h"

namespace slipway::oci {

namespace {

constexpr int kMaxIndexDepth = 4;
constexpr size_t kConcurrentDownloads = 3;
constexpr std::string_view kLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";

// Streams blob d into path, hashing it; the file exists afterwards only if it is exactly d.
Result<StagedFile> download_blob(RegistryClient& client, const Descriptor& d,
                                 const std::string& path, TransferProgress* progress) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return fail_errno(fmt::format("create {}", path));
  ScopeExit remove([&] { ::unlink(path.c_str()); });
  Sha256 hash;
  int64_t got = 0;
  auto sink = [&](std::string_view data) -> Status {
    // A registry that sends more than the descriptor says is cut off, not trusted to stop.
    if (got + static_cast<int64_t>(data.size()) > d.size)
      return fail("blob {}: the registry sent more than the {} bytes its descriptor says", d.digest,
                  d.size);
    hash.update(data);
    got += static_cast<int64_t>(data.size());
    return fs::write_all(fd.get(), data, path);
  };
  auto restart = [&]() -> Status {
    if (::ftruncate(fd.get(), 0) < 0 || ::lseek(fd.get(), 0, SEEK_SET) < 0)
      return fail_errno(fmt::format("truncate {}", path));
    hash = Sha256();
    got = 0;
    return {};
  };
  int row = progress ? progress->begin(short_digest(d.digest), "Pulling", d.size) : -1;
  auto s = client.get_blob(d.digest, sink, restart, [&](int64_t n) {
    if (progress) progress->update(row, n);
  });
  if (!s) {
    if (progress) progress->end(row, "Failed");
    return std::unexpected(std::move(s.error()));
  }
  StagedFile staged{path, hash.finish(), got};
  if (auto ok = check_blob(d.digest, d.size, staged.digest, staged.size); !ok) {
    if (progress) progress->end(row, "Failed");
    return std::unexpected(std::move(ok.error()));
  }
  if (progress) progress->end(row, "Pulled");
  remove.release();
  return staged;
}

// A small blob (config) fetched into memory and checked.
Result<std::string> fetch_json_blob(RegistryClient& client, const Descriptor& d) {
  if (d.size > kMaxJsonBlobSize)
    return fail("blob {} is {} bytes, too large for a config", d.digest, d.size);
  std::string data;
  auto sink = [&](std::string_view chunk) -> Status {
    if (static_cast<int64_t>(data.size() + chunk.size()) > d.size)
      return fail("blob {}: the registry sent more than the {} bytes its descriptor says", d.digest,
                  d.size);
    data.append(chunk);
    return {};
  };
  auto restart = [&]() -> Status {
    data.clear();
    return {};
  };
  SLW_TRY(client.get_blob(d.digest, sink, restart));
  SLW_TRY(check_blob(d.digest, d.size, sha256_digest(data), static_cast<int64_t>(data.size())));
  return data;
}

class StagingDir {
 public:
  static Result<StagingDir> create(const std::string& tmp_dir) {
    // Named <kind>-<pid>-<random> so that the store sweeps it if this process dies.
    std::string path = fs::join(tmp_dir, fmt::format("pull-{}-XXXXXX", ::getpid()));
    if (!::mkdtemp(path.data()))
      return fail_errno(fmt::format("create a directory in {}", tmp_dir));
    StagingDir dir(path);
    SLW_TRY(fs::make_dirs(dir.blob_dir(), 0700));
    SLW_TRY(fs::write_file(fs::join(path, "oci-layout"), kLayoutFile));
    return dir;
  }
  StagingDir(StagingDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  ~StagingDir() {
    if (!path_.empty()) (void)fs::remove_tree(path_);
  }
  const std::string& path() const { return path_; }
  std::string blob_dir() const { return fs::join(path_, "blobs/sha256"); }
  std::string blob_path(std::string_view digest) const {
    return fs::join(blob_dir(), digest.substr(kSha256Prefix.size()));
  }

 private:
  explicit StagingDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// What the download workers found, shared between them.
struct LayerTally {
  std::mutex mu;
  int downloaded = 0, present = 0;
  int64_t bytes = 0;
  std::optional<Error> error;  // the first failure; the workers stop taking layers after it
};

void report_present(TransferProgress* progress, const Descriptor& layer) {
  if (!progress) return;
  progress->end(progress->begin(short_digest(layer.digest), "Exists", layer.size), "Exists");
}

// Held while one process downloads a blob: a lock per blob, beside the staging files, makes
// concurrent pulls of one image (in any processes) download each blob once; the others wait, then
// find it in the store. The file goes with the download.
class BlobDownloadLock {
 public:
  static Result<BlobDownloadLock> acquire(const BlobStore& blobs, std::string_view digest) {
    std::string hex(SLW_TRY(digest_hex(digest)));
    return BlobDownloadLock(
        SLW_TRY(FileLock::acquire(fs::join(blobs.tmp_dir(), fmt::format("pulling-{}.lock", hex)))));
  }
  BlobDownloadLock(BlobDownloadLock&&) = default;
  ~BlobDownloadLock() {
    if (lock_.held()) (void)lock_.remove();
  }

 private:
  explicit BlobDownloadLock(FileLock lock) : lock_(std::move(lock)) {}
  FileLock lock_;
};

// A blob the store already has, hard-linked into the staging layout: should a prune collect it
// before the load (nothing names it until then), the load still finds it there.
void keep_in_staging(const BlobStore& blobs, const StagingDir& staging, std::string_view digest) {
  (void)::link(blobs.path(digest).c_str(), staging.blob_path(digest).c_str());
}

// One layer into the store, unless it is there already; true when this process downloaded it.
Result<bool> fetch_layer(RegistryClient& client, BlobStore& blobs, const StagingDir& staging,
                         const Descriptor& layer, TransferProgress* progress, int64_t& bytes) {
  if (blobs.contains(layer.digest)) {
    keep_in_staging(blobs, staging, layer.digest);
    return false;
  }
  BlobDownloadLock lock = SLW_TRY(BlobDownloadLock::acquire(blobs, layer.digest));
  if (blobs.contains(layer.digest)) {  // pulled by another process while we waited
    keep_in_staging(blobs, staging, layer.digest);
    return false;
  }
  StagedFile staged = SLW_TRY(download_blob(client, layer, staging.blob_path(layer.digest), progress));
  // Linked into the store now, so the load finds it there and does not copy it; the staging copy
  // stays for the load should a concurrent prune collect it first.
  SLW_TRY(blobs.adopt(staged, layer.digest, layer.size, /*keep_source=*/true));
  bytes = staged.size;
  return true;
}

}  // namespace

Result<PullResult> pull_image(ImageStore& store, const RegistryReference& source,
                              const PullOptions& options) {
  RegistryClient client =
      SLW_TRY(RegistryClient::create(source.registry, source.repository, "pull", options.registry));
  PullResult result;
  TransferProgress* progress = options.progress;

  FetchedManifest fetched = SLW_TRY(client.get_manifest(source.manifest_ref()));
  if (!source.digest.empty() && fetched.digest != source.digest)
    return fail("manifest {}: content is {}", source.digest, fetched.digest);
  for (int depth = 0;; ++depth) {
    DocumentKind kind =
        SLW_TRY(with_context(detect_document(fetched.body, fetched.media_type), fetched.digest));
    if (kind == DocumentKind::kManifest) break;
    if (depth == kMaxIndexDepth) return fail("{}: image indexes nested too deeply", fetched.digest);
    Index index = SLW_TRY(with_context(parse_index(fetched.body), fetched.digest));
    Descriptor chosen =
        SLW_TRY(with_context(select_manifest(index, options.platform), fetched.digest));
    fetched = SLW_TRY(client.get_manifest(chosen.digest));
    SLW_TRY(check_blob(chosen.digest, chosen.size, fetched.digest,
                       static_cast<int64_t>(fetched.body.size())));
    if (fetched.media_type.empty()) fetched.media_type = chosen.media_type;
  }
  Manifest manifest = SLW_TRY(with_context(parse_manifest(fetched.body), fetched.digest));
  // Some registries label manifests "application/json" or the like: trust the document then.
  if (fetched.media_type != kMediaTypeOciManifest && fetched.media_type != kMediaTypeDockerManifest)
    fetched.media_type =
        manifest.media_type.empty() ? std::string(kMediaTypeOciManifest) : manifest.media_type;
  for (const auto& l : manifest.layers) {
    if (!is_layer_media_type(l.media_type))
      return fail("layer {} has unsupported media type '{}'", l.digest, l.media_type);
    SLW_TRY(digest_hex(l.digest));
  }
  SLW_TRY(digest_hex(manifest.config.digest));

  BlobStore blobs(store.root());
  StagingDir staging = SLW_TRY(StagingDir::create(blobs.tmp_dir()));
  SLW_TRY(fs::write_file(staging.blob_path(fetched.digest), fetched.body));
  // The config is small and stays out of the store until the load, so a failed pull leaves
  // nothing of it there; concurrent pulls each fetch it.
  std::string config = SLW_TRY(fetch_json_blob(client, manifest.config));
  SLW_TRY(fs::write_file(staging.blob_path(manifest.config.digest), config));

  BlobLocationIndex seen;
  int64_t now = ::time(nullptr);
  record_blob_location(seen, manifest.config.digest, source.registry, source.repository, now);
  std::vector<Descriptor> wanted;  // each digest once: a manifest may list a layer twice
  std::set<std::string> listed;
  for (const auto& layer : manifest.layers) {
    record_blob_location(seen, layer.digest, source.registry, source.repository, now);
    if (listed.insert(layer.digest).second) wanted.push_back(layer);
  }

  // Up to kConcurrentDownloads layers at once (Docker's max-concurrent-downloads), each worker
  // with its own connection and the tokens this one already holds.
  LayerTally tally;
  std::atomic<size_t> next{0};
  auto work = [&](RegistryClient& c) {
    for (size_t i; (i = next++) < wanted.size();) {
      {
        std::lock_guard lock(tally.mu);
        if (tally.error) return;
      }
      int64_t bytes = 0;
      auto fetched = fetch_layer(c, blobs, staging, wanted[i], progress, bytes);
      std::lock_guard lock(tally.mu);
      if (!fetched) {
        if (!tally.error) tally.error = std::move(fetched).error();
        return;
      }
      if (*fetched) {
        ++tally.downloaded;
        tally.bytes += bytes;
      } else {
        ++tally.present;
        report_present(progress, wanted[i]);
      }
    }
  };
  std::vector<RegistryClient> helpers;
  for (size_t n = 1; n < std::min<size_t>(kConcurrentDownloads, wanted.size()); ++n)
    helpers.push_back(SLW_TRY(client.fork()));
  std::vector<std::thread> threads;
  for (auto& helper : helpers) threads.emplace_back([&] { work(helper); });
  work(client);
  for (auto& t : threads) t.join();
  for (const auto& helper : helpers) client.add_stats(helper.stats());
  if (tally.error) return std::unexpected(std::move(*tally.error));
  result.downloaded = tally.downloaded;
  result.present = tally.present;
  result.bytes_downloaded = tally.bytes;

  Index index;
  index.media_type = std::string(kMediaTypeOciIndex);
  Descriptor entry;
  entry.media_type = fetched.media_type;
  entry.digest = fetched.digest;
  entry.size = static_cast<int64_t>(fetched.body.size());
  index.manifests.push_back(entry);
  SLW_TRY(fs::write_file(fs::join(staging.path(), "index.json"), to_json(index)));

  LoadOptions load;
  if (!options.local_name.empty()) load.name = options.local_name;
  else if (!source.tag.empty()) load.name = source.name() + ":" + source.tag;
  auto loaded = SLW_TRY(store.load(staging.path(), load));
  if (loaded.size() != 1) return fail("the store loaded {} images, expected 1", loaded.size());
  result.manifest_digest = fetched.digest;
  result.image_id = loaded.front().id;
  result.name = load.name;
  result.stats = client.stats();
  if (auto s = BlobLocationFile(store.root()).merge(seen); !s)
    log::warn("remember blob locations: {}", s.error().message());
  return result;
}

}  // namespace slipway::oci
