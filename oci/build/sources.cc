#include "oci/build/sources.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "oci/digest.h"

namespace slipway::oci {

namespace {

std::string rel_path(const PathParts& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Raw components of a COPY source, with "." dropped; ".." is kept for resolve to apply.
std::vector<std::string> raw_parts(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (!part.empty() && part != ".") out.emplace_back(part);
  }
  return out;
}

class Digester {
 public:
  explicit Digester(const SourceTree& tree) : tree_(tree) {}

  // Length-prefixed fields, so no name can forge another entry.
  void field(std::string_view text) {
    hash_.update(fmt::format("{}:", text.size()));
    hash_.update(text);
  }

  Status node(const SourceTree::Node& n, const std::string& rel) {
    const struct stat& st = n.st;
    char type = S_ISDIR(st.st_mode)   ? 'd'
                : S_ISREG(st.st_mode) ? 'f'
                : S_ISLNK(st.st_mode) ? 'l'
                                      : 'o';
    field(std::string(1, type));
    field(rel);
    field(fmt::format("{:o}", st.st_mode & 07777));
    if (S_ISREG(st.st_mode)) {
      FileDigest content = SLW_TRY(tree_.content_digest(n));
      field(std::to_string(content.size));
      field(content.digest);
    } else if (S_ISLNK(st.st_mode)) {
      field(SLW_TRY(tree_.read_link(n)));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      field(std::to_string(st.st_rdev));
    } else if (S_ISDIR(st.st_mode)) {
      for (const auto& name : SLW_TRY(tree_.list(n.path))) {
        PathParts child_path = n.path;
        child_path.push_back(name);
        auto child = SLW_TRY(tree_.lookup(child_path));
        if (child) SLW_TRY(node(*child, rel + "/" + name));
      }
      field("end");
    }
    return {};
  }

  std::string finish() { return hash_.finish(); }

 private:
  const SourceTree& tree_;
  Sha256 hash_;
};

}  // namespace

Result<FileDigest> SourceTree::content_digest(const Node& node) const {
  UniqueFd fd = SLW_TRY(open(node));
  Sha256 content;
  char buf[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail_errno(fmt::format("read {}", rel_path(node.path)));
    if (got == 0) break;
    content.update(buf, static_cast<size_t>(got));
  }
  FileDigest out;
  out.size = content.size();
  out.digest = content.finish();
  return out;
}

Result<PathParts> SourceTree::resolve(std::string_view path, bool follow_last) const {
  return resolve_in_root(path, follow_last,
                         [this](const PathParts& p) -> Result<std::optional<std::string>> {
                           auto node = SLW_TRY(lookup(p));
                           if (!node || !S_ISLNK(node->st.st_mode)) return std::nullopt;
                           return SLW_TRY(read_link(*node));
                         });
}

Result<ContextTree> ContextTree::open(const std::string& dir, const Dockerignore& ignore,
                                     ContextDigests digests) {
  ContextTree tree;
  tree.dir_ = dir;
  tree.digests_ = std::move(digests);
  tree.root_.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!tree.root_) return fail_errno(fmt::format("build context {}", dir));
  auto entries = SLW_TRY(with_context(list_context(dir, ignore), "read the build context"));
  tree.children_[""];
  for (auto& e : entries) {
    auto slash = e.path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : e.path.substr(0, slash);
    tree.children_[parent].push_back(e.path.substr(slash == std::string::npos ? 0 : slash + 1));
    if (e.kind == ContextEntry::Kind::kDirectory) tree.children_[e.path];
    std::string key = e.path;
    tree.entries_.emplace(std::move(key), std::move(e));
  }
  for (auto& [_, names] : tree.children_) std::sort(names.begin(), names.end());
  std::vector<std::string> files;
  for (const auto& [rel, e] : tree.entries_)
    if (e.kind == ContextEntry::Kind::kFile) files.push_back(rel);
  tree.digests_.keep_only(files);
  return tree;
}

Result<std::optional<SourceTree::Node>> ContextTree::lookup(const PathParts& path) const {
  Node n;
  n.path = path;
  if (path.empty()) {
    n.st.st_mode = S_IFDIR | 0755;
    return n;
  }
  auto it = entries_.find(rel_path(path));
  if (it == entries_.end()) return std::optional<Node>();
  n.st = it->second.st;
  return n;
}

Result<FileDigest> ContextTree::content_digest(const Node& node) const {
  std::string rel = rel_path(node.path);
  if (const FileDigest* known = digests_.find(rel, node.st)) return *known;
  FileDigest d = SLW_TRY(SourceTree::content_digest(node));
  digests_.count_read();
  // What was read is the file as it is now, when its size still is the listed one; else it
  // changed during the build and stays uncached.
  if (d.size == static_cast<uint64_t>(node.st.st_size)) digests_.record(rel, node.st, d);
  return d;
}

Result<std::vector<std::string>> ContextTree::list(const PathParts& dir) const {
  auto it = children_.find(rel_path(dir));
  if (it == children_.end())
    return fail("{}: not a directory in the build context", join_path(dir));
  return it->second;
}

Result<UniqueFd> ContextTree::open_beneath(const std::string& rel, int flags) const {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root_.get(), rel.c_str(), &how, sizeof how)));
  if (!fd) return fail_errno(fmt::format("open {} in the build context", rel));
  return fd;
}

Result<UniqueFd> ContextTree::open(const Node& node) const {
  return open_beneath(rel_path(node.path), O_RDONLY | O_NOFOLLOW);
}

Result<std::string> ContextTree::read_link(const Node& node) const {
  PathParts parent(node.path.begin(), node.path.end() - (node.path.empty() ? 0 : 1));
  UniqueFd dir =
      SLW_TRY(open_beneath(parent.empty() ? "." : rel_path(parent), O_PATH | O_DIRECTORY));
  std::string target(static_cast<size_t>(node.st.st_size) + 256, '\0');
  ssize_t n = ::readlinkat(dir.get(), node.path.back().c_str(), target.data(), target.size());
  if (n < 0)
    return fail_errno(fmt::format("read symlink {} in the build context", rel_path(node.path)));
  target.resize(static_cast<size_t>(n));
  return target;
}

Result<std::optional<SourceTree::Node>> StackTree::lookup(const PathParts& path) const {
  auto entry = SLW_TRY(stack_.lookup(path));
  if (!entry) return std::optional<Node>();
  return Node{entry->st, entry->path};
}

Result<std::vector<std::string>> StackTree::list(const PathParts& dir) const {
  return stack_.list(dir);
}

Result<UniqueFd> StackTree::open(const Node& node) const {
  auto entry = SLW_TRY(stack_.lookup(node.path));
  if (!entry) return fail("{}: {} disappeared", what_, join_path(node.path));
  return stack_.open(*entry);
}

Result<std::string> StackTree::read_link(const Node& node) const {
  auto entry = SLW_TRY(stack_.lookup(node.path));
  if (!entry) return fail("{}: {} disappeared", what_, join_path(node.path));
  return stack_.read_link(*entry);
}

bool has_wildcards(std::string_view source) {
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\\') {
      ++i;
      continue;
    }
    if (source[i] == '*' || source[i] == '?' || source[i] == '[') return true;
  }
  return false;
}

Result<std::vector<SourceMatch>> expand_sources(const SourceTree& tree,
                                                const std::vector<std::string>& sources) {
  std::vector<SourceMatch> out;
  for (const auto& source : sources) {
    if (!has_wildcards(source)) {
      PathParts path = SLW_TRY(tree.resolve(source, true));
      auto node = SLW_TRY(tree.lookup(path));
      if (!node) return fail("source \"{}\" not found in {}", source, tree.describe());
      PathParts named = split_path(source);
      out.push_back({source, named.empty() ? "" : named.back(), std::move(*node)});
      continue;
    }
    std::vector<PathParts> candidates = {{}};
    for (const auto& part : raw_parts(source)) {
      std::vector<PathParts> next;
      for (const auto& c : candidates) {
        if (!has_wildcards(part)) {
          PathParts p = c;
          p.push_back(part);
          next.push_back(std::move(p));
          continue;
        }
        PathParts dir = SLW_TRY(tree.resolve(join_path(c), true));
        auto node = SLW_TRY(tree.lookup(dir));
        if (!node || !S_ISDIR(node->st.st_mode)) continue;
        for (const auto& name : SLW_TRY(tree.list(dir))) {
          if (::fnmatch(part.c_str(), name.c_str(), FNM_PATHNAME) != 0) continue;
          PathParts p = dir;
          p.push_back(name);
          next.push_back(std::move(p));
        }
      }
      candidates = std::move(next);
    }
    size_t before = out.size();
    for (const auto& c : candidates) {
      PathParts path = SLW_TRY(tree.resolve(join_path(c), true));
      auto node = SLW_TRY(tree.lookup(path));
      if (node) out.push_back({source, c.empty() ? "" : c.back(), std::move(*node)});
    }
    if (out.size() == before && sources.size() == 1)
      return fail("no files in {} match \"{}\"", tree.describe(), source);
  }
  if (out.empty()) return fail("no source files were specified");
  return out;
}

Result<std::string> sources_digest(const SourceTree& tree,
                                   const std::vector<SourceMatch>& matches) {
  Digester d(tree);
  for (const auto& m : matches) {
    d.field("source");
    d.field(m.source);
    SLW_TRY(d.node(m.node, join_path(m.node.path)));
  }
  return d.finish();
}

}  // namespace slipway::oci
