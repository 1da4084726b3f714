#include "oci/store/image_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/store/source.h"
#include "oci/layer/unpacker.h"
#include "oci/layer/writer.h"
#include "oci/reference.h"

namespace slipway::oci {

namespace {

Descriptor descriptor(std::string_view media_type, std::string digest, int64_t size) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = std::move(digest);
  d.size = size;
  return d;
}

}  // namespace

std::vector<int> LayerLease::fds() const {
  std::vector<int> out;
  for (const auto& l : locks_) out.push_back(l.fd());
  return out;
}

ImageStore::ImageStore(std::string root)
    : root_(std::move(root)),
      blobs_(root_),
      layers_dir_(fs::join(root_, "layers")),
      locks_dir_(fs::join(root_, "locks")),
      index_path_(fs::join(root_, "images.json")) {}

Result<ImageStore> ImageStore::open(const std::string& root) {
  if (root.empty()) return fail("image store: empty root path");
  ImageStore store(root);
  // The root is closed to other users as a whole: unpacked layers hold setuid files and device
  // nodes of every image, build caches and run logs hold what the jobs made.
  SLW_TRY(with_context(fs::make_private_dir(root), "image store"));
  SLW_TRY(with_context(store.blobs_.init(), "image store"));
  SLW_TRY(with_context(fs::make_private_dir(store.layers_dir_), "image store"));
  SLW_TRY(with_context(fs::make_dirs(store.locks_dir_, 0700), "image store"));
  return store;
}

std::string ImageStore::layer_dir(std::string_view chain_id) const {
  return fs::join(layers_dir_, chain_id.substr(kSha256Prefix.size()));
}

Result<FileLock> ImageStore::lock(std::string_view name, FileLock::Mode mode) const {
  return FileLock::acquire(fs::join(locks_dir_, std::string(name) + ".lock"), mode);
}

Result<StoreIndex> ImageStore::read_index() const {
  if (!fs::exists(index_path_)) return StoreIndex{};
  std::string text = SLW_TRY(fs::read_file(index_path_));
  return with_context(parse_store_index(text), index_path_);
}

Status ImageStore::write_index(const StoreIndex& index) const {
  return fs::write_file_atomic(index_path_, to_json(index), 0644);
}

Result<Image> ImageStore::build_image(const ImageRecord& record, const StoreIndex& index) const {
  std::string what = record.names.empty() ? record.id : record.names.front();
  std::string manifest_text =
      SLW_TRY(with_context(blobs_.read(record.manifest_digest), fmt::format("image {}", what)));
  Manifest manifest = SLW_TRY(with_context(parse_manifest(manifest_text), record.manifest_digest));
  std::string config_text =
      SLW_TRY(with_context(blobs_.read(record.id), fmt::format("image {}", what)));
  ConfigFile config = SLW_TRY(with_context(parse_config(config_text), record.id));
  if (config.diff_ids.size() != manifest.layers.size())
    return fail("image {}: manifest has {} layers but its config lists {} diff_ids", what,
                manifest.layers.size(), config.diff_ids.size());
  Image img;
  img.id = record.id;
  img.manifest_digest = record.manifest_digest;
  img.names = record.names;
  img.config = std::move(config.config);
  img.diff_ids = std::move(config.diff_ids);
  img.chain_ids = chain_ids(img.diff_ids);
  img.platform = std::move(config.platform);
  img.created = std::move(config.created);
  img.layers = std::move(manifest.layers);
  for (const auto& l : img.layers) {
    auto it = index.layers.find(l.digest);
    img.size += it != index.layers.end() ? it->second.size : l.size;
  }
  return img;
}

Result<Image> ImageStore::resolve(std::string_view ref) const {
  StoreIndex index = SLW_TRY(read_index());
  Match m = SLW_TRY(find_image(index, ref));
  return build_image(*m.image, index);
}

Result<std::vector<Image>> ImageStore::list() const {
  StoreIndex index = SLW_TRY(read_index());
  std::vector<Image> out;
  for (const auto& r : index.images) out.push_back(SLW_TRY(build_image(r, index)));
  std::sort(out.begin(), out.end(), [](const Image& a, const Image& b) {
    if (a.names.empty() != b.names.empty()) return !a.names.empty();
    if (!a.names.empty() && a.names.front() != b.names.front())
      return a.names.front() < b.names.front();
    return a.id < b.id;
  });
  return out;
}

Result<std::vector<std::string>> ImageStore::unpacked_layers(const Image& image) {
  std::vector<std::string> dirs;
  std::optional<FileLock> gc;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const Descriptor& layer = image.layers[i];
    std::string dir = layer_dir(image.chain_ids[i]);
    dirs.push_back(dir);
    if (fs::is_dir(dir)) continue;
    // Keeps `image rm` from collecting the blob while we read it.
    if (!gc) gc = SLW_TRY(lock(kGcLock, FileLock::Mode::kShared));
    std::string hex = image.chain_ids[i].substr(kSha256Prefix.size());
    FileLock busy = SLW_TRY(lock("layer-" + hex, FileLock::Mode::kExclusive));
    if (fs::is_dir(dir)) continue;  // another process unpacked it while we waited
    std::string what = fmt::format("unpack layer {} of {}", layer.digest,
                                   image.names.empty() ? image.id : image.names.front());
    UniqueFd fd = SLW_TRY(with_context(blobs_.open(layer.digest), what));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(what);
    if (st.st_size != layer.size)
      return fail("{}: blob is {} bytes but the manifest says {}", what, st.st_size, layer.size);
    SLW_TRY(with_context(unpack_layer(fd.get(), image.diff_ids[i], blobs_.tmp_dir(), dir), what));
  }
  return dirs;
}

Result<LayerLease> ImageStore::lease_layers(const std::vector<std::string>& layer_dirs) const {
  LayerLease lease;
  for (const auto& dir : layer_dirs) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return fail_errno(fmt::format("lease layer {}", dir));
    FileLock l = SLW_TRY(FileLock::acquire_fd(std::move(fd), FileLock::Mode::kShared, dir));
    // The directory may have been collected between open and flock: then it is no longer there.
    struct stat held, now;
    if (::fstat(l.fd(), &held) < 0 || ::stat(dir.c_str(), &now) < 0 || held.st_ino != now.st_ino ||
        held.st_dev != now.st_dev)
      return fail("lease layer {}: it was removed; unpack the image again", dir);
    lease.locks_.push_back(std::move(l));
  }
  return lease;
}

Result<std::vector<LoadedImage>> ImageStore::commit(std::vector<IngestedImage> images) {
  FileLock guard = SLW_TRY(lock(kIndexLock, FileLock::Mode::kExclusive));
  StoreIndex index = SLW_TRY(read_index());
  std::vector<LoadedImage> out;
  for (auto& img : images) {
    for (auto& [digest, layer] : img.layers) index.layers[digest] = layer;
    out.push_back({img.record.id, img.record.names});
    upsert_image(index, std::move(img.record));
  }
  SLW_TRY(write_index(index));
  return out;
}

Result<std::vector<LoadedImage>> ImageStore::load(const std::string& path,
                                                  const LoadOptions& options) {
  FileLock gc = SLW_TRY(lock(kGcLock, FileLock::Mode::kShared));
  sweep_tmp();
  StoreIndex index = SLW_TRY(read_index());
  auto source = SLW_TRY(open_image_source(path, blobs_.tmp_dir()));
  ImageLoader loader(blobs_, index.layers);
  auto candidates = SLW_TRY(loader.plan(*source, options));
  // Each image is recorded as soon as it is verified, so a bad second image keeps the first.
  std::vector<LoadedImage> out;
  for (const auto& c : candidates) {
    auto img = loader.ingest(*source, c);
    if (!img) return std::unexpected(std::move(img.error()).context(source->location()));
    auto loaded = SLW_TRY(commit({std::move(*img)}));
    out.push_back(std::move(loaded.front()));
  }
  return out;
}

Result<LoadedImage> ImageStore::import(const std::string& path, std::string_view name) {
  Reference ref = SLW_TRY(parse_reference(name));
  if (!ref.digest.empty()) return fail("import as {}: a name cannot pin a digest", name);
  FileLock gc = SLW_TRY(lock(kGcLock, FileLock::Mode::kShared));
  sweep_tmp();
  StoreIndex index = SLW_TRY(read_index());

  Descriptor layer;
  std::string diff_id;
  if (path != "-" && fs::is_dir(path)) {
    WrittenLayer written =
        SLW_TRY(with_context(write_layer(path, blobs_.tmp_dir()), fmt::format("import {}", path)));
    ScopeExit cleanup([&] { ::unlink(written.blob.path.c_str()); });
    SLW_TRY(blobs_.adopt(written.blob, written.blob.digest, written.blob.size, false));
    layer = descriptor(kMediaTypeOciLayerGzip, written.blob.digest, written.blob.size);
    diff_id = written.diff_id;
    // What write_layer hashed is what scan would find; record it without reading it back.
    index.layers[layer.digest] = {written.diff_id, written.tar_size};
  } else {
    UniqueFd fd(path == "-" ? ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0)
                            : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno(fmt::format("import {}", path));
    StagedFile staged = SLW_TRY(stage_file(fd.get(), blobs_.tmp_dir(), "blob"));
    ScopeExit cleanup([&] { ::unlink(staged.path.c_str()); });
    // Checked before it enters the store, so a bad tar leaves nothing behind.
    UniqueFd blob = SLW_TRY(fs::open_file(staged.path, O_RDONLY));
    char magic[6] = {};
    ssize_t n = ::pread(blob.get(), magic, sizeof magic, 0);
    std::string media_type = SLW_TRY(with_context(
        layer_media_type_for(std::string_view(magic, n > 0 ? static_cast<size_t>(n) : 0), path),
        fmt::format("import {}", path)));
    UnpackStats stats =
        SLW_TRY(with_context(scan_layer(blob.get()), fmt::format("import {}", path)));
    SLW_TRY(blobs_.adopt(staged, staged.digest, staged.size, false));
    layer = descriptor(media_type, staged.digest, staged.size);
    diff_id = stats.diff_id;
    index.layers[layer.digest] = {stats.diff_id, static_cast<int64_t>(stats.tar_size)};
  }

  Platform platform = host_platform();
  nlohmann::ordered_json config;
  config["architecture"] = platform.architecture;
  config["os"] = platform.os;
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  config["config"] = nlohmann::ordered_json::object();
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", {diff_id}}};
  config["history"] = {{{"created_by", "slipway image import"}}};
  std::string config_text = config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Manifest manifest;
  manifest.media_type = std::string(kMediaTypeOciManifest);
  manifest.config = descriptor(kMediaTypeOciConfig, SLW_TRY(blobs_.put(config_text)),
                               static_cast<int64_t>(config_text.size()));
  manifest.layers.push_back(layer);
  std::string manifest_digest = SLW_TRY(blobs_.put(to_json(manifest)));

  IngestedImage img;
  img.record = {manifest.config.digest, manifest_digest, {ref.name_tag()}};
  ImageLoader loader(blobs_, index.layers);
  img.layers[layer.digest] = SLW_TRY(loader.verify_layer(layer.digest, diff_id));
  auto loaded = SLW_TRY(commit({std::move(img)}));
  return loaded.front();
}

Result<FileLock> ImageStore::hold_for_build() const {
  FileLock gc = SLW_TRY(lock(kGcLock, FileLock::Mode::kShared));
  sweep_tmp();
  return gc;
}

Status ImageStore::adopt_layer_dir(std::string_view chain_id, const std::string& dir) {
  std::string hex(SLW_TRY(digest_hex(chain_id)));
  std::string dest = layer_dir(chain_id);
  FileLock busy = SLW_TRY(lock("layer-" + hex, FileLock::Mode::kExclusive));
  if (!fs::is_dir(dest)) {
    // Unpacked layers look like this: a root dir of mode 0755 owned by root.
    if (::chmod(dir.c_str(), 0755) < 0) return fail_errno(fmt::format("chmod {}", dir));
    if (::geteuid() == 0 && ::lchown(dir.c_str(), 0, 0) < 0)
      return fail_errno(fmt::format("chown {}", dir));
    if (::rename(dir.c_str(), dest.c_str()) == 0) return {};
    // Another file system (EXDEV): the blob is unpacked on first use instead.
    if (errno != EXDEV) return fail_errno(fmt::format("move {} to {}", dir, dest));
  }
  return fs::remove_tree(dir);
}

Result<Image> ImageStore::commit_image(const NewImage& image) {
  std::vector<std::string> names;
  for (const auto& n : image.names) {
    Reference ref = SLW_TRY(parse_reference(n));
    if (!ref.digest.empty()) return fail("tag {}: a name cannot pin a digest", n);
    names.push_back(ref.name_tag());
  }
  for (const auto& l : image.layers) {
    if (!blobs_.contains(l.digest)) return fail("commit image: layer blob {} is missing", l.digest);
  }
  Manifest manifest;
  manifest.media_type = std::string(kMediaTypeOciManifest);
  manifest.config = descriptor(kMediaTypeOciConfig, SLW_TRY(blobs_.put(image.config)),
                               static_cast<int64_t>(image.config.size()));
  manifest.layers = image.layers;
  std::string manifest_digest = SLW_TRY(blobs_.put(to_json(manifest)));

  FileLock guard = SLW_TRY(lock(kIndexLock, FileLock::Mode::kExclusive));
  StoreIndex index = SLW_TRY(read_index());
  std::string before = to_json(index);
  for (const auto& [digest, record] : image.records) index.layers.try_emplace(digest, record);
  std::sort(names.begin(), names.end());
  upsert_image(index, {manifest.config.digest, manifest_digest, names});
  if (to_json(index) != before) SLW_TRY(write_index(index));
  Match m = SLW_TRY(find_image(index, manifest.config.digest));
  return build_image(*m.image, index);
}

Result<Image> ImageStore::tag(std::string_view source, std::string_view target) {
  Reference ref = SLW_TRY(with_context(parse_reference(target), fmt::format("tag {}", target)));
  if (!ref.digest.empty()) return fail("tag {}: a name cannot pin a digest", target);
  FileLock guard = SLW_TRY(lock(kIndexLock, FileLock::Mode::kExclusive));
  StoreIndex index = SLW_TRY(read_index());
  Match m = SLW_TRY(find_image(index, source));
  ImageRecord record = *m.image;
  record.names = {ref.name_tag()};
  upsert_image(index, std::move(record));
  SLW_TRY(write_index(index));
  Match tagged = SLW_TRY(find_image(index, ref.name_tag()));
  return build_image(*tagged.image, index);
}

void ImageStore::sweep_tmp() const {
  // Temp entries are named <kind>-<pid>-<random>; those of dead processes are leftovers.
  (void)remove_partial_files(blobs_.tmp_dir());
}

}  // namespace slipway::oci
