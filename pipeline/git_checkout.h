// Pipeline step 1, checkout: keeps one bare mirror per repository URL in a cache, fetches into it,
// and checks the exact commit out into a fresh worktree (libgit2, no git binary needed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace slipway::pipeline {

struct CheckoutRequest {
  std::string repo;       // local path (bare or not), file://, https:// or ssh:// (or scp-like
                          // user@host:path) URL
  std::string rev;        // commit id (full or abbreviated), tag or any revspec; empty: use branch
  std::string branch;     // branch name; empty with empty rev: the remote HEAD's branch
  std::string cache_dir;  // where mirrors live: one bare mirror per repo URL at
                          // cache_dir/<sha256(url) first 16 hex>.git
  std::string
      worktree;  // directory to check the commit out into (created; must not exist or be empty)
};

struct CheckoutResult {
  std::string commit;       // full 40-hex id
  int64_t commit_time = 0;  // committer time, seconds since epoch (used as SOURCE_DATE_EPOCH)
  std::string summary;      // first line of the commit message
  std::string message;      // the whole message, without the newline that ends it
  std::string tag;          // the revision asked for, when it names a tag
  std::string branch;       // branch that was resolved, if any
  std::string worktree;
};

// The worktree is a small git repository (HEAD detached at the commit, index written) that borrows
// its objects from the mirror through objects/info/alternates: `git rev-parse HEAD` and `git
// status` work inside it on the host, without copying any object. Submodules are not checked out
// (their directories stay empty); external filters such as git-lfs are not run.
Result<CheckoutResult> checkout(const CheckoutRequest& request);

// Resolves what `branch` (or the remote HEAD) points to now, fetching into the mirror; for
// `pipeline watch` polling.
Result<std::string> resolve_branch_head(const std::string& repo, const std::string& branch,
                                        const std::string& cache_dir);

// The mirror directory that `repo` uses under cache_dir (normalised like checkout() does).
Result<std::string> mirror_path(const std::string& repo, const std::string& cache_dir);

// For gc: what fetches and clones killed half-way left under cache_dir, in every mirror whose lock
// is free: libgit2's lock files (a stale refs/heads/x.lock fails every later fetch of that ref;
// the fetch itself removes them too, under the lock), its temporary packs, and first clones
// (KEY.git.tmp). Returns them as paths relative to cache_dir.
Result<std::vector<std::string>> remove_partial_mirror_files(const std::string& cache_dir);

}  // namespace slipway::pipeline
