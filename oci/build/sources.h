// Where COPY and ADD read from: the build context as .dockerignore leaves it, or the root file
// system of another stage or image. Sources are expanded (wildcards, symlinks named directly are
// followed) and their content digested for the layer cache key: names, types, permission bits,
// sizes, file contents and link targets, never owners or times.
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/build/context_digests.h"
#include "oci/build/rootfs.h"
#include "oci/dockerfile/dockerignore.h"

namespace slipway::oci {

class SourceTree {
 public:
  struct Node {
    struct stat st {};
    PathParts path;
  };

  virtual ~SourceTree() = default;
  // lstat of a path whose directories hold no symlinks; nullopt when it is not there.
  virtual Result<std::optional<Node>> lookup(const PathParts& path) const = 0;
  // Names in a directory, sorted.
  virtual Result<std::vector<std::string>> list(const PathParts& dir) const = 0;
  virtual Result<UniqueFd> open(const Node& node) const = 0;
  virtual Result<std::string> read_link(const Node& node) const = 0;
  // "the build context", "stage build", ...: for error messages.
  virtual std::string describe() const = 0;
  // Size and sha256 of a regular file's content: read through open() unless the tree knows it.
  virtual Result<FileDigest> content_digest(const Node& node) const;

  // resolve_in_root over this tree.
  Result<PathParts> resolve(std::string_view path, bool follow_last) const;
};

// The build context directory with what .dockerignore excludes taken out.
class ContextTree : public SourceTree {
 public:
  // `digests`: what the files digested to in an earlier build (ContextDigests::load before the
  // listing); unchanged files are not read again, and the cache learns the others.
  static Result<ContextTree> open(const std::string& dir, const Dockerignore& ignore,
                                  ContextDigests digests = {});

  Result<std::optional<Node>> lookup(const PathParts& path) const override;
  Result<std::vector<std::string>> list(const PathParts& dir) const override;
  Result<UniqueFd> open(const Node& node) const override;
  Result<std::string> read_link(const Node& node) const override;
  std::string describe() const override { return "the build context"; }
  Result<FileDigest> content_digest(const Node& node) const override;
  const ContextDigests& digests() const { return digests_; }

 private:
  ContextTree() = default;
  // An O_PATH fd of the parent of `rel`, opened without following any symlink.
  Result<UniqueFd> open_beneath(const std::string& rel, int flags) const;

  std::string dir_;
  UniqueFd root_;
  std::map<std::string, ContextEntry> entries_;               // by path relative to the root
  std::map<std::string, std::vector<std::string>> children_;  // dir ("" for root) -> names
  mutable ContextDigests digests_;  // filled in as files are digested, a cache behind a const view
};

// A stage's or image's root file system.
class StackTree : public SourceTree {
 public:
  StackTree(const LayerStack& stack, std::string what) : stack_(stack), what_(std::move(what)) {}

  Result<std::optional<Node>> lookup(const PathParts& path) const override;
  Result<std::vector<std::string>> list(const PathParts& dir) const override;
  Result<UniqueFd> open(const Node& node) const override;
  Result<std::string> read_link(const Node& node) const override;
  std::string describe() const override { return what_; }

 private:
  const LayerStack& stack_;
  std::string what_;
};

struct SourceMatch {
  std::string source;  // as written in the Dockerfile
  std::string name;    // the name it was found under (before a symlink was followed); "" for /
  SourceTree::Node node;
};

// True when a COPY source has wildcards (`*`, `?`, `[`).
bool has_wildcards(std::string_view source);

// Expands sources to what they name. A plain source must exist; a wildcard may match nothing as
// long as something else matches. Errors: "source "x" not found in the build context".
Result<std::vector<SourceMatch>> expand_sources(const SourceTree& tree,
                                                const std::vector<std::string>& sources);

// "sha256:..." over every match and everything below it.
Result<std::string> sources_digest(const SourceTree& tree, const std::vector<SourceMatch>& matches);

}  // namespace slipway::oci
