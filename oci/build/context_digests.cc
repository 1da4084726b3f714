#include "oci/build/context_digests.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "base/fs.h"
#include "base/log.h"

namespace slipway::oci {
namespace {

constexpr std::string_view kMagic = "slipway-context-digests 1\n";

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// Reads little-endian fields and length-prefixed strings; any overrun makes ok() false.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  uint64_t u64() {
    if (data_.size() < 8) return fail();
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(data_[i])) << (8 * i);
    data_.remove_prefix(8);
    return v;
  }
  std::string text() {
    uint64_t n = u64();
    if (!ok_ || n > data_.size()) return fail(), std::string();
    std::string s(data_.substr(0, n));
    data_.remove_prefix(n);
    return s;
  }
  bool ok() const { return ok_; }
  bool done() const { return data_.empty(); }

 private:
  uint64_t fail() {
    ok_ = false;
    data_ = {};
    return 0;
  }
  std::string_view data_;
  bool ok_ = true;
};

bool before(int64_t sec, int64_t nsec, const timespec& t) {
  return sec < t.tv_sec || (sec == t.tv_sec && nsec < t.tv_nsec);
}

}  // namespace

ContextDigests ContextDigests::load(std::string path) {
  // The kernel stamps files from the coarse clock: a file changed after this moment has a ctime at
  // or after it.
  timespec taken;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &taken);
  ContextDigests d;
  if (auto text = fs::read_file(path)) d = parse(*text);
  d.path_ = std::move(path);
  d.taken_ = taken;
  return d;
}

void ContextDigests::keep_only(const std::vector<std::string>& present) {
  std::map<std::string, Entry> kept;
  for (const auto& rel : present)
    if (auto it = entries_.find(rel); it != entries_.end()) kept.insert(entries_.extract(it));
  changed_ |= !entries_.empty();
  entries_ = std::move(kept);
}

ContextDigests::Entry ContextDigests::entry_of(const struct stat& st) {
  Entry e;
  e.dev = st.st_dev;
  e.ino = st.st_ino;
  e.mtime_sec = st.st_mtim.tv_sec;
  e.mtime_nsec = st.st_mtim.tv_nsec;
  e.ctime_sec = st.st_ctim.tv_sec;
  e.ctime_nsec = st.st_ctim.tv_nsec;
  e.digest.size = static_cast<uint64_t>(st.st_size);
  return e;
}

const FileDigest* ContextDigests::find(const std::string& rel, const struct stat& st) const {
  auto it = entries_.find(rel);
  if (it == entries_.end()) return nullptr;
  const Entry& e = it->second;
  Entry now = entry_of(st);
  bool same = e.dev == now.dev && e.ino == now.ino && e.digest.size == now.digest.size &&
              e.mtime_sec == now.mtime_sec && e.mtime_nsec == now.mtime_nsec && e.ctime_sec == now.ctime_sec &&
              e.ctime_nsec == now.ctime_nsec;
  return same ? &e.digest : nullptr;
}

void ContextDigests::record(const std::string& rel, const struct stat& st, FileDigest digest) {
  if (path_.empty()) return;
  // Changed in the tick the listing began: a later change in that same tick would look the same.
  if (!before(st.st_ctim.tv_sec, st.st_ctim.tv_nsec, taken_) ||
      !before(st.st_mtim.tv_sec, st.st_mtim.tv_nsec, taken_)) {
    changed_ |= entries_.erase(rel) > 0;
    return;
  }
  Entry e = entry_of(st);
  e.digest = std::move(digest);
  entries_[rel] = std::move(e);
  changed_ = true;
}

std::string ContextDigests::serialize() const {
  std::string out(kMagic);
  for (const auto& [rel, e] : entries_) {
    put_u64(out, rel.size());
    out += rel;
    for (uint64_t v : {e.dev, e.ino, e.digest.size}) put_u64(out, v);
    for (int64_t v : {e.mtime_sec, e.mtime_nsec, e.ctime_sec, e.ctime_nsec}) put_u64(out, static_cast<uint64_t>(v));
    put_u64(out, e.digest.digest.size());
    out += e.digest.digest;
  }
  return out;
}

ContextDigests ContextDigests::parse(std::string_view data) {
  ContextDigests d;
  if (!data.starts_with(kMagic)) return d;
  Reader r(data.substr(kMagic.size()));
  while (r.ok() && !r.done()) {
    std::string rel = r.text();
    Entry e;
    e.dev = r.u64();
    e.ino = r.u64();
    e.digest.size = r.u64();
    e.mtime_sec = static_cast<int64_t>(r.u64());
    e.mtime_nsec = static_cast<int64_t>(r.u64());
    e.ctime_sec = static_cast<int64_t>(r.u64());
    e.ctime_nsec = static_cast<int64_t>(r.u64());
    e.digest.digest = r.text();
    if (r.ok()) d.entries_[std::move(rel)] = std::move(e);
  }
  if (!r.ok()) d.entries_.clear();  // damaged: start over rather than trust a part of it
  return d;
}

void ContextDigests::save() const {
  if (path_.empty() || !changed_) return;
  std::string dir = path_.substr(0, path_.rfind('/'));
  Status st = fs::make_dirs(dir, 0700);
  if (st) st = fs::write_file_atomic(path_, serialize(), 0600, /*durable=*/false);
  if (!st) log::warn("build context digest cache: {}", st.error().message());
  forget_oldest(dir);
}

void ContextDigests::forget_oldest(const std::string& dir) {
  // One file per context directory ever built: a CI host building fresh checkouts keeps the
  // most recently written ones only.
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> files;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    auto t = f.last_write_time(ec);
    if (!ec) files.emplace_back(t, f.path());
  }
  if (files.size() <= kKeptContexts) return;
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + kKeptContexts < files.size(); ++i) std::filesystem::remove(files[i].second, ec);
}

}  // namespace slipway::oci
