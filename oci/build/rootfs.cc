#include "oci/build/rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <set>

#include "base/fs.h"

namespace slipway::oci {

namespace {

// Linux's limit on symlinks followed in one lookup.
constexpr int kMaxSymlinks = 40;

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Finds the line of a passwd or group file whose first field is `name`; returns its fields.
std::optional<std::vector<std::string>> find_entry(const std::optional<std::string>& text,
                                                   std::string_view name) {
  if (!text) return std::nullopt;
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      auto colon = line.find(':', start);
      fields.emplace_back(
          line.substr(start, colon == std::string_view::npos ? colon : colon - start));
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    if (fields.size() >= 3 && fields[0] == name) return fields;
  }
  return std::nullopt;
}

}  // namespace

PathParts split_path(std::string_view path) {
  PathParts out;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.emplace_back(part);
  }
  return out;
}

std::string join_path(const PathParts& parts) {
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

LayerStack::LayerStack(std::vector<std::string> layers, std::string xattr_namespace)
    : layers_(std::move(layers)), opaque_xattr_(xattr_namespace + "overlay.opaque") {}

bool LayerStack::opaque(const std::string& host_path) const {
  char v[4];
  ssize_t n = ::lgetxattr(host_path.c_str(), opaque_xattr_.c_str(), v, sizeof v);
  return n == 1 && v[0] == 'y';
}

std::string LayerStack::host_path(const Entry& entry) const {
  std::string out = layers_[entry.layer];
  for (const auto& p : entry.path) out += "/" + p;
  return out;
}

Result<LayerStack::Walk> LayerStack::walk(const PathParts& path) const {
  Walk w;
  for (std::size_t l = layers_.size(); l-- > 0;) w.dir_layers.push_back(l);
  std::string rel;
  for (std::size_t i = 0; i < path.size(); ++i) {
    rel += "/" + path[i];
    std::optional<Entry> found;
    std::vector<std::size_t> next;
    for (std::size_t l : w.dir_layers) {
      std::string host = layers_[l] + rel;
      struct stat st;
      if (::lstat(host.c_str(), &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        return fail_errno(fmt::format("stat {}", host));
      }
      if (is_whiteout(st)) break;
      if (!found) found = Entry{st, l, PathParts(path.begin(), path.begin() + i + 1)};
      // A directory merges with directories below it; anything else hides all that is below.
      if (!S_ISDIR(st.st_mode) || !S_ISDIR(found->st.st_mode)) break;
      next.push_back(l);
      if (opaque(host)) break;
    }
    if (!found) return Walk{};
    if (i + 1 < path.size() && !S_ISDIR(found->st.st_mode)) return Walk{};
    w.entry = std::move(found);
    w.dir_layers = std::move(next);
  }
  if (path.empty()) {
    Entry root;
    root.st.st_mode = S_IFDIR | 0755;
    for (std::size_t l = layers_.size(); l-- > 0;) {
      if (::lstat(layers_[l].c_str(), &root.st) == 0) {
        root.layer = l;
        break;
      }
    }
    w.entry = root;
  }
  return w;
}

Result<std::optional<LayerStack::Entry>> LayerStack::lookup(const PathParts& path) const {
  Walk w = SLW_TRY(walk(path));
  return std::move(w.entry);
}

Result<PathParts> resolve_in_root(std::string_view path, bool follow_last,
                                  const SymlinkReader& read_symlink) {
  auto pieces = [](std::string_view text) {
    // Raw components, not split_path's: ".." must apply after a symlink is followed, not before.
    std::vector<std::string> out;
    while (!text.empty()) {
      auto slash = text.find('/');
      std::string_view part = text.substr(0, slash);
      text = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
      if (!part.empty() && part != ".") out.emplace_back(part);
    }
    return out;
  };
  std::vector<std::string> first = pieces(path);
  std::deque<std::string> pending(first.begin(), first.end());
  PathParts resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    resolved.push_back(part);
    if (pending.empty() && !follow_last) break;
    std::optional<std::string> target = SLW_TRY(read_symlink(resolved));
    if (!target) continue;
    if (++links > kMaxSymlinks) return fail("resolve {}: too many levels of symbolic links", path);
    resolved.pop_back();
    if (target->starts_with('/')) resolved.clear();
    std::vector<std::string> more = pieces(*target);
    pending.insert(pending.begin(), more.begin(), more.end());
  }
  return resolved;
}

Result<PathParts> LayerStack::resolve(std::string_view path, bool follow_last) const {
  return resolve_in_root(path, follow_last,
                         [this](const PathParts& p) -> Result<std::optional<std::string>> {
                           auto entry = SLW_TRY(lookup(p));
                           if (!entry || !S_ISLNK(entry->st.st_mode)) return std::nullopt;
                           return SLW_TRY(read_link(*entry));
                         });
}

Result<std::vector<std::string>> LayerStack::list(const PathParts& dir) const {
  Walk w = SLW_TRY(walk(dir));
  if (!w.entry) return fail("{}: no such directory", join_path(dir));
  if (!S_ISDIR(w.entry->st.st_mode)) return fail("{}: not a directory", join_path(dir));
  std::set<std::string> seen;
  std::vector<std::string> out;
  std::string rel;
  for (const auto& p : dir) rel += "/" + p;
  for (std::size_t l : w.dir_layers) {
    std::string host = layers_[l] + rel;
    auto names = fs::list_dir(host);
    if (!names) return std::unexpected(names.error());
    for (auto& name : *names) {
      if (!seen.insert(name).second) continue;
      struct stat st;
      std::string child = host + "/" + name;
      if (::lstat(child.c_str(), &st) < 0) return fail_errno(fmt::format("stat {}", child));
      if (!is_whiteout(st)) out.push_back(std::move(name));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<UniqueFd> LayerStack::open(const Entry& entry) const {
  std::string host = host_path(entry);
  UniqueFd fd(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("open {}", join_path(entry.path)));
  return fd;
}

Result<std::string> LayerStack::read_link(const Entry& entry) const {
  std::string host = host_path(entry);
  std::string target(static_cast<std::size_t>(entry.st.st_size) + 256, '\0');
  ssize_t n = ::readlink(host.c_str(), target.data(), target.size());
  if (n < 0) return fail_errno(fmt::format("read symlink {}", join_path(entry.path)));
  target.resize(static_cast<std::size_t>(n));
  return target;
}

Result<std::optional<std::string>> LayerStack::read_file(std::string_view path,
                                                         std::size_t max_size) const {
  PathParts resolved = SLW_TRY(resolve(path, true));
  auto entry = SLW_TRY(lookup(resolved));
  if (!entry || !S_ISREG(entry->st.st_mode)) return std::optional<std::string>();
  if (static_cast<std::size_t>(entry->st.st_size) > max_size)
    return fail("{}: larger than {} bytes", path, max_size);
  UniqueFd fd = SLW_TRY(open(*entry));
  std::string out(static_cast<std::size_t>(entry->st.st_size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("read {}", path));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return std::optional<std::string>(std::move(out));
}

Result<Owner> resolve_owner(std::string_view spec, const LayerStack& rootfs) {
  Owner owner;
  std::string_view user = spec.substr(0, spec.find(':'));
  std::optional<std::string_view> group;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) group = spec.substr(colon + 1);
  if (user.empty()) return fail("invalid user \"{}\": the user part is empty", spec);
  if (auto numeric = parse_id(user)) {
    owner.uid = *numeric;
    owner.gid = *numeric;
  } else {
    auto passwd = SLW_TRY(rootfs.read_file("/etc/passwd"));
    auto fields = find_entry(passwd, user);
    std::optional<uint32_t> uid, gid;
    if (fields && fields->size() >= 4) {
      uid = parse_id((*fields)[2]);
      gid = parse_id((*fields)[3]);
    }
    if (!uid || !gid)
      return fail("unable to find user {}: no matching entries in the stage's /etc/passwd", user);
    owner.uid = *uid;
    owner.gid = *gid;
  }
  if (group) {
    if (auto numeric = parse_id(*group)) {
      owner.gid = *numeric;
    } else {
      auto groups = SLW_TRY(rootfs.read_file("/etc/group"));
      auto fields = find_entry(groups, *group);
      std::optional<uint32_t> found = fields ? parse_id((*fields)[2]) : std::nullopt;
      if (!found)
        return fail("unable to find group {}: no matching entries in the stage's /etc/group",
                    *group);
      owner.gid = *found;
    }
  }
  return owner;
}

}  // namespace slipway::oci
