#include "pipeline/git_library.h"

#include "base/shared_library.h"

namespace slipway::pipeline {
namespace {

LibraryTable<GitLibrary> g_git;

Status fill(GitLibrary& lib) {
  SharedLibrary git = SLW_TRY(SharedLibrary::open("libgit2.so.1.5", "libgit2-1.5"));
  SharedLibrary ssh = SLW_TRY(SharedLibrary::open("libssh2.so.1", "libssh2-1"));
#define SLIPWAY_BIND_GIT(name) SLW_TRY(git.bind(#name, lib.name));
#define SLIPWAY_BIND_SSH(name) SLW_TRY(ssh.bind(#name, lib.name));
  SLIPWAY_LIBGIT2_FUNCTIONS(SLIPWAY_BIND_GIT)
  SLIPWAY_LIBSSH2_FUNCTIONS(SLIPWAY_BIND_SSH)
#undef SLIPWAY_BIND_GIT
#undef SLIPWAY_BIND_SSH
  if (int rc = lib.git_libgit2_init(); rc < 0) return fail("libgit2 init failed ({})", rc);
  return {};
}

}  // namespace

Result<const GitLibrary*> load_git() {
  return g_git.load(fill);
}

const GitLibrary& git_lib() {
  return g_git.get();
}

}  // namespace slipway::pipeline
