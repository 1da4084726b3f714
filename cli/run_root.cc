#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>

#include <linux/magic.h>

#include "base/fs.h"
#include "base/hash.h"
#include "cli/cli.h"

namespace slipway::cli {
namespace {

bool is_tmpfs(const char* path) {
  struct statfs st;
  return ::statfs(path, &st) == 0 && st.f_type == TMPFS_MAGIC;
}

}  // namespace

Result<std::string> run_root(const GlobalOptions& g) {
  std::string dir = g.run_root;
  if (dir.empty()) {
    // Container state is small, short-lived and written on every start: tmpfs makes that cheap.
    const char* base = is_tmpfs("/run") ? "/run" : "/dev/shm";
    std::error_code ec;
    std::string root = std::filesystem::weakly_canonical(g.root, ec).string();
    dir = root == "/var/lib/slipway" ? fmt::format("{}/slipway", base)
                                     : fmt::format("{}/slipway-{:012x}", base, fnv1a64(root) >> 16);
  }
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) {
    SLW_TRY_CTX(fs::make_dirs(dir, 0700), "create run root");
  }
  // /dev/shm is world-writable: never use a directory (or symlink) someone else made there.
  struct stat st;
  if (::lstat(dir.c_str(), &st) < 0) return fail_errno(fmt::format("run root {}", dir));
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022))
    return fail("run root {} is not a directory owned by this user and closed to others", dir);
  // Writable layers and logs live here: not even readable by others.
  if ((st.st_mode & 077) && ::chmod(dir.c_str(), 0700) < 0) return fail_errno(fmt::format("run root {}", dir));
  return dir;
}

}  // namespace slipway::cli
