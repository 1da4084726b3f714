#include "oci/staged_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "oci/digest.h"

namespace slipway::oci {
namespace {

constexpr size_t kCopyBlock = 1 << 20;

}  // namespace

Result<std::vector<std::string>> remove_partial_files(const std::string& tmp_dir) {
  std::vector<std::string> removed;
  auto names = fs::list_dir(tmp_dir);
  if (!names) return removed;  // no tmp dir yet: nothing was ever staged
  for (const auto& name : *names) {
    auto first = name.find('-');
    if (first == std::string::npos) continue;
    auto second = name.find('-', first + 1);
    if (second == std::string::npos) continue;  // WORD-XXXXXX (mkstemp) carries no pid
    std::string pid_text = name.substr(first + 1, second - first - 1);
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // Alive, or a reused pid: keep it (a later gc gets it).
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    SLW_TRY(fs::remove_tree(fs::join(tmp_dir, name)));
    removed.push_back(name);
  }
  return removed;
}

Result<StagedFile> stage_file(int fd, const std::string& dir, std::string_view prefix,
                              std::optional<int64_t> declared_size) {
  StagedFile out;
  out.path = fs::join(dir, fmt::format("{}-{}-XXXXXX", prefix, ::getpid()));
  int raw = ::mkostemp(out.path.data(), O_CLOEXEC);
  if (raw < 0) return fail_errno(fmt::format("create temp file in {}", dir));
  UniqueFd dst(raw);
  ScopeExit cleanup([&] { ::unlink(out.path.c_str()); });
  Sha256 hash;
  auto buf = std::make_unique<char[]>(kCopyBlock);
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kCopyBlock);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read");
    }
    if (n == 0) break;
    // A blob that claims 10 bytes is not read to its end (maybe gigabytes) before being refused.
    if (declared_size && static_cast<int64_t>(hash.size()) + n > *declared_size)
      return fail("blob is larger than its declared size {}", *declared_size);
    hash.update(buf.get(), static_cast<size_t>(n));
    SLW_TRY(fs::write_all(dst.get(), std::string_view(buf.get(), static_cast<size_t>(n)), out.path));
  }
  out.size = static_cast<int64_t>(hash.size());
  out.digest = hash.finish();
  ::fchmod(dst.get(), 0644);
  cleanup.release();
  return out;
}

}  // namespace slipway::oci
