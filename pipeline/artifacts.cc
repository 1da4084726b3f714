#include "pipeline/artifacts.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace slipway::pipeline {
namespace {

constexpr int kMaxArtifactDepth = 64;

struct Walk {
  const std::vector<std::string>& patterns;
  const std::string& dest;
  const ArtifactLimits& limits;
  CollectedFiles out;
  size_t entries = 0;
};

bool matched(const std::vector<std::string>& patterns, const std::string& path) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return artifact_matches(p, path); });
}

// Copies one regular file, opened without following a link.
Status copy_file(int dir_fd, const char* name, const std::string& rel, Walk& w) {
  UniqueFd in(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!in) return {};  // gone or swapped for a link since the listing: not copied
  struct stat st {};
  if (::fstat(in.get(), &st) < 0 || !S_ISREG(st.st_mode)) return {};
  if (w.out.files.size() >= w.limits.max_files) {
    w.out.truncated = fmt::format("more than {} files", w.limits.max_files);
    return {};
  }
  if (w.out.bytes + static_cast<uint64_t>(st.st_size) > w.limits.max_bytes) {
    w.out.truncated = fmt::format("more than {} bytes", w.limits.max_bytes);
    return {};
  }
  std::string target = fs::join(w.dest, rel);
  SLW_TRY(fs::make_dirs(target.substr(0, target.rfind('/'))));
  UniqueFd out(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!out) return fail_errno("artifact " + rel);
  char buf[128 * 1024];
  uint64_t copied = 0;
  while (copied < static_cast<uint64_t>(st.st_size)) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read artifact " + rel);
    if (n == 0) break;  // shrank meanwhile
    n = std::min<ssize_t>(n, static_cast<ssize_t>(st.st_size - copied));  // nor grows past what was counted
    SLW_TRY(fs::write_all(out.get(), std::string_view(buf, static_cast<size_t>(n)), target));
    copied += static_cast<uint64_t>(n);
  }
  w.out.bytes += copied;
  w.out.files.push_back(rel);
  return {};
}

Status walk(int dir_fd, const std::string& prefix, int depth, bool all_below, Walk& w) {
  if (depth > kMaxArtifactDepth || !w.out.truncated.empty()) return {};
  int fd = ::dup(dir_fd);
  if (fd < 0) return fail_errno("dup");
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return fail_errno("read directory " + prefix);
  }
  std::vector<std::pair<std::string, unsigned char>> names;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (++w.entries > w.limits.max_entries) {
      w.out.truncated = fmt::format("more than {} entries in the workspace", w.limits.max_entries);
      break;
    }
    names.emplace_back(name, e->d_type);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& [name, type] : names) {
    std::string rel = prefix.empty() ? name : prefix + "/" + name;
    unsigned char t = type;
    if (t == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
      t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    bool match = all_below || matched(w.patterns, rel);
    if (t == DT_REG && match) SLW_TRY(copy_file(dir_fd, name.c_str(), rel, w));
    if (t == DT_DIR) {
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
      if (sub) SLW_TRY(walk(sub.get(), rel, depth + 1, match, w));
    }
  }
  return {};
}

}  // namespace

bool artifact_matches(const std::string& pattern, const std::string& path) {
  std::string p = pattern;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.starts_with("./")) p = p.substr(2);
  int flags = p.find("**") != std::string::npos ? 0 : FNM_PATHNAME;
  return ::fnmatch(p.c_str(), path.c_str(), flags) == 0;
}

Result<CollectedFiles> collect_files(const std::string& workspace, const std::vector<std::string>& patterns,
                                     const std::string& dest, const ArtifactLimits& limits) {
  Walk w{patterns, dest, limits, {}, 0};
  if (patterns.empty()) return w.out;
  UniqueFd root(::open(workspace.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!root) return fail_errno("workspace " + workspace);
  SLW_TRY(walk(root.get(), "", 0, false, w));
  std::sort(w.out.files.begin(), w.out.files.end());
  return w.out;
}

}  // namespace slipway::pipeline
