#include "oci/registry/blob_locations.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/file_lock.h"
#include "base/fs.h"
#include "base/log.h"
#include "oci/digest.h"

namespace slipway::oci {

namespace {

int64_t newest(const std::map<std::string, int64_t>& places) {
  int64_t n = 0;
  for (const auto& [place, when] : places) n = std::max(n, when);
  return n;
}

}  // namespace

Result<BlobLocationIndex> parse_blob_locations(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("not a JSON object");
  BlobLocationIndex index;
  for (const auto& [digest, places] : doc.items()) {
    if (!is_sha256_digest(digest) || !places.is_object()) return fail("bad entry '{}'", digest);
    auto& out = index.blobs[digest];
    for (const auto& [place, when] : places.items()) {
      if (!when.is_number_integer()) return fail("bad time for {} in '{}'", place, digest);
      out[place] = when.get<int64_t>();
    }
  }
  return index;
}

std::string to_json(const BlobLocationIndex& index) {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [digest, places] : index.blobs) doc[digest] = places;
  return doc.dump() + "\n";
}

void record_blob_location(BlobLocationIndex& index, std::string_view digest,
                          std::string_view registry, std::string_view repository, int64_t now) {
  auto& places = index.blobs[std::string(digest)];
  places[fmt::format("{}/{}", registry, repository)] = now;
  while (places.size() > kMaxLocationsPerBlob) {
    auto oldest = std::min_element(places.begin(), places.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;
    });
    places.erase(oldest);
  }
}

std::vector<std::string> mount_candidates(const BlobLocationIndex& index, std::string_view digest,
                                          std::string_view registry, std::string_view except) {
  auto it = index.blobs.find(std::string(digest));
  if (it == index.blobs.end()) return {};
  std::string prefix = std::string(registry) + "/";
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& [place, when] : it->second) {
    if (!place.starts_with(prefix)) continue;
    std::string repo = place.substr(prefix.size());
    if (repo != except && !repo.empty()) found.emplace_back(when, repo);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (auto& [when, repo] : found) out.push_back(std::move(repo));
  return out;
}

void trim_blob_locations(BlobLocationIndex& index, size_t max_blobs) {
  if (index.blobs.size() <= max_blobs) return;
  std::vector<std::pair<int64_t, std::string>> ages;
  for (const auto& [digest, places] : index.blobs) ages.emplace_back(newest(places), digest);
  std::sort(ages.begin(), ages.end());
  for (size_t i = 0; i < ages.size() - max_blobs; ++i) index.blobs.erase(ages[i].second);
}

BlobLocationFile::BlobLocationFile(std::string root)
    : root_(std::move(root)),
      path_(fs::join(root_, "registry-blobs.json")),
      lock_path_(fs::join(root_, "locks/registry-blobs.lock")) {}

BlobLocationIndex BlobLocationFile::load() const {
  if (!fs::exists(path_)) return {};
  auto text = fs::read_file(path_);
  if (!text) return {};
  auto index = parse_blob_locations(*text);
  if (!index) {
    log::warn("{}: {}; starting it afresh", path_, index.error().message());
    return {};
  }
  return std::move(*index);
}

Status BlobLocationFile::merge(const BlobLocationIndex& seen) const {
  if (seen.blobs.empty()) return {};
  SLW_TRY(fs::make_dirs(fs::join(root_, "locks"), 0700));
  FileLock lock = SLW_TRY(FileLock::acquire(lock_path_, FileLock::Mode::kExclusive));
  BlobLocationIndex index = load();
  for (const auto& [digest, places] : seen.blobs) {
    for (const auto& [place, when] : places) {
      auto slash = place.find('/');
      if (slash == std::string::npos) continue;
      record_blob_location(index, digest, std::string_view(place).substr(0, slash),
                           std::string_view(place).substr(slash + 1), when);
    }
  }
  trim_blob_locations(index);
  // Not fsynced: a cache that a crash loses costs uploads, not correctness.
  return fs::write_file_atomic(path_, to_json(index), 0644, /*durable=*/false);
}

}  // namespace slipway::oci
