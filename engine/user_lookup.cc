#include "engine/user_lookup.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <sstream>

#include <fmt/core.h>

#include "base/unique_fd.h"

namespace slipway::engine {
namespace {

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string> split(std::string_view line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = line.find(sep, start);
    out.emplace_back(line.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// Calls f(fields) for each non-comment line of a colon-separated file.
template <class F>
void for_each_entry(const std::optional<std::string>& text, F&& f) {
  if (!text) return;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    f(split(line, ':'));
  }
}

}  // namespace

Result<ResolvedUser> resolve_user(std::string_view spec, const RootfsReader& read) {
  ResolvedUser u;
  if (spec.empty()) return u;
  std::string_view user_part = spec.substr(0, spec.find(':'));
  std::optional<std::string_view> group_part;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) group_part = spec.substr(colon + 1);

  auto passwd = read("/etc/passwd");
  std::string user_name;
  bool found = false;
  std::optional<uint32_t> numeric = parse_id(user_part);
  for_each_entry(passwd, [&](const std::vector<std::string>& f) {
    if (found || f.size() < 7) return;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) return;
    if ((numeric && *uid == *numeric) || (!numeric && f[0] == user_part)) {
      found = true;
      user_name = f[0];
      u.uid = *uid;
      u.gid = *gid;
      u.home = f[5].empty() ? "/" : f[5];
    }
  });
  if (!found) {
    if (!numeric) return fail("unable to find user {}: no matching entries in the image's /etc/passwd", user_part);
    u.uid = *numeric;
    u.gid = 0;
  }

  auto group = read("/etc/group");
  if (group_part) {
    std::optional<uint32_t> gid = parse_id(*group_part);
    bool group_found = gid.has_value();
    for_each_entry(group, [&](const std::vector<std::string>& f) {
      if (group_found || f.size() < 3) return;
      if (f[0] == *group_part) {
        gid = parse_id(f[2]);
        group_found = gid.has_value();
      }
    });
    if (!group_found) return fail("unable to find group {}: no matching entries in the image's /etc/group", *group_part);
    u.gid = *gid;
  }
  if (!user_name.empty()) {
    for_each_entry(group, [&](const std::vector<std::string>& f) {
      if (f.size() < 4) return;
      auto gid = parse_id(f[2]);
      if (!gid || *gid == u.gid) return;
      for (const auto& member : split(f[3], ','))
        if (member == user_name) u.additional_gids.push_back(*gid);
    });
  }
  return u;
}

RootfsReader layered_rootfs_reader(std::vector<std::string> layers) {
  return [layers = std::move(layers)](std::string_view path) -> std::optional<std::string> {
    std::string rel(path);
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
      UniqueFd root(::open(it->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) continue;
      // O_PATH first: a device node named etc/passwd must never be opened for reading on the host.
      open_how how{};
      how.flags = O_PATH | O_CLOEXEC;
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
      UniqueFd path_fd(static_cast<int>(::syscall(SYS_openat2, root.get(), rel.c_str(), &how, sizeof how)));
      if (!path_fd) continue;
      struct stat st;
      if (::fstat(path_fd.get(), &st) < 0) continue;
      if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return std::nullopt;  // whiteout hides lower layers
      if (!S_ISREG(st.st_mode)) continue;
      UniqueFd fd(::open(fmt::format("/proc/self/fd/{}", path_fd.get()).c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) continue;
      std::string out;
      char buf[8192];
      for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, n);
        if (out.size() > (1 << 22)) break;  // /etc/passwd larger than 4 MiB is not a real one
      }
      return out;
    }
    return std::nullopt;
  };
}

}  // namespace slipway::engine
