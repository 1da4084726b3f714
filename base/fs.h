// Small file-system helpers that return Result instead of throwing.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::fs {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0644);
Result<std::string> read_file(const std::string& path);
// Everything left to read from fd (a pipe: until every writer closed it); errors name `what`.
Result<std::string> read_all(int fd, std::string_view what);
Status write_file(const std::string& path, std::string_view data, mode_t mode = 0644);
// Writes all of data to fd, retrying short writes and EINTR; errors read "write <path>: why".
Status write_all(int fd, std::string_view data, std::string_view path);
// Writes to a temp file beside path and renames it over path: readers see old or new, never half.
// `durable` adds an fsync first so the new content also survives a power loss (costs milliseconds
// on ext4; not worth it for state that dies with a reboot anyway).
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                         bool durable = true);
// Removes the temp files ("FILE.tmp.PID") that write_file_atomic left in dir when its writer was
// killed, and returns their names. The file of a live (or reused) pid stays; a later call gets it.
Result<std::vector<std::string>> remove_stale_atomic_writes(const std::string& dir);
// Temp names that carry their writer's pid after a mark ("x.tmp.123", ".tmp." -> 123): the pid,
// or 0 when the name does not end that way.
pid_t pid_after_mark(std::string_view name, std::string_view mark);
// Whether pid is dead, so what its temp names hold is garbage (a reused pid counts as alive).
bool process_gone(pid_t pid);
// mkdir -p; succeeds if the directory already exists.
Status make_dirs(const std::string& path, mode_t mode = 0755);
// make_dirs, then closes the last dir to other users (mode 0700) if it is not already: what a
// container or an image made must never be reachable by other host users (a setuid file in a
// layer would be runnable by anyone).
Status make_private_dir(const std::string& path);
// Paths that come from a repository, a Dockerfile or an image are untrusted: these resolve `rel`
// inside `root` as if root were "/" (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so no "..",
// absolute symlink or /proc magic link leads out. Errors name `rel`, never where a link pointed.
Result<UniqueFd> open_in_root(const std::string& root, const std::string& rel, int flags);
Result<std::string> read_file_in_root(const std::string& root, const std::string& rel);
// The real path (no symlinks) that rel names inside root; it exists, and lies under root.
Result<std::string> resolve_in_root(const std::string& root, const std::string& rel);
// rm -rf that never crosses a mount point and never follows symlinks; missing path is success.
Status remove_tree(const std::string& path);
bool exists(const std::string& path);
bool is_dir(const std::string& path);
// Names of the entries in a directory, without "." and "..", sorted.
Result<std::vector<std::string>> list_dir(const std::string& path);
// Joins two path pieces with exactly one '/' between them.
std::string join(std::string_view a, std::string_view b);

}  // namespace slipway::fs
