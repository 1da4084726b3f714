// Cache keys (`cache: [{key: TEMPLATE, paths: [...]}]`): a template whose `{{ checksum "FILE" }}`
// is the SHA-256 of a workspace file (so a lock file picks its own cache) and whose `${NAME}`s are
// CI variables, e.g. `pip-{{ checksum "requirements.txt" }}` or `go-${CI_COMMIT_BRANCH}`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::pipeline {

// The first 16 hex digits of a file's SHA-256; the error names the file as the key wrote it.
using FileChecksum = std::function<Result<std::string>(const std::string& file)>;

// Expands the template. The result is a directory name: characters other than [A-Za-z0-9._-]
// become '_', and a key longer than 100 characters (or "." / "..") is replaced by its SHA-256.
Result<std::string> expand_cache_key(std::string_view key, const std::map<std::string, std::string>& vars,
                                     const FileChecksum& checksum);

// The template's syntax and variable names, without reading any file (for `pipeline lint`).
Status check_cache_key(std::string_view key);

// FileChecksum over files resolved inside `root` (openat2 RESOLVE_IN_ROOT): a step may have put a
// symlink there, and it must not make the runner read a host file.
FileChecksum workspace_checksum(const std::string& root);

}  // namespace slipway::pipeline
