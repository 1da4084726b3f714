// What each file of a build context digested to the last time, so that the next build of the same
// context reads only the files that changed (as git's index and BuildKit's content hash cache do).
// An entry is trusted while the file's device, inode, size, mtime and ctime are all the same; the
// ctime cannot be set back by anyone but the clock. A file changed in the same clock tick as the
// digest was taken ("racily clean", in git's words) is never stored: its next change could leave
// every time stamp as it was.
#pragma once

#include <sys/stat.h>

#include <string>
#include <map>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

struct FileDigest {
  uint64_t size = 0;
  std::string digest;  // "sha256:<hex>" of the content
};

class ContextDigests {
 public:
  // An empty cache, which `save` writes nowhere: the build reads every file.
  ContextDigests() = default;

  // The cache kept at `path` for one context (a missing or damaged file is an empty cache, and is
  // rewritten by `save`). Called before the context is listed: its time is the racy limit.
  static ContextDigests load(std::string path);

  // The digest recorded for the file at `rel` when `st` still describes it.
  const FileDigest* find(const std::string& rel, const struct stat& st) const;
  // Keeps a digest for the next build (unless the file changed too recently to tell).
  void record(const std::string& rel, const struct stat& st, FileDigest digest);
  // Drops the entries of files the context no longer has (called with the listed files' paths).
  void keep_only(const std::vector<std::string>& present);
  // Writes the cache back when anything changed. A cache: failing to write it costs the next
  // build time, nothing else, so a failure is logged and not returned.
  void save() const;

  size_t files_read() const { return files_read_; }
  void count_read() { ++files_read_; }

  // The file format, public for the fuzz target and tests.
  std::string serialize() const;
  static ContextDigests parse(std::string_view data);

 private:
  struct Entry {
    uint64_t dev = 0, ino = 0;
    int64_t mtime_sec = 0, mtime_nsec = 0, ctime_sec = 0, ctime_nsec = 0;
    FileDigest digest;
  };
  static Entry entry_of(const struct stat& st);
  static void forget_oldest(const std::string& dir);
  static constexpr size_t kKeptContexts = 64;

  std::string path_;
  timespec taken_{};  // coarse real time before the context was listed
  std::map<std::string, Entry> entries_;
  bool changed_ = false;
  size_t files_read_ = 0;
};

}  // namespace slipway::oci
