#include "pipeline/git_library.h"

#include "base/shared_library.h"

#define SLIPWAY_STRINGIFY_(x) #x
#define SLIPWAY_STRINGIFY(x) SLIPWAY_STRINGIFY_(x)
#define SLIPWAY_LIBGIT2_VERSION SLIPWAY_STRINGIFY(LIBGIT2_VER_MAJOR) "." SLIPWAY_STRINGIFY(LIBGIT2_VER_MINOR)

namespace slipway::pipeline {

// libgit2 changes its ABI (struct layouts such as git_fetch_options) with every minor release and
// says so in its soname, so the library loaded is the one whose headers this file was compiled
// with: a build on Debian 12 loads libgit2.so.1.5, one on Debian 13 libgit2.so.1.9.
const char* const kLibgit2Soname = "libgit2.so." SLIPWAY_LIBGIT2_VERSION;
const char* const kLibgit2Package = "libgit2-" SLIPWAY_LIBGIT2_VERSION;

namespace {

LibraryTable<GitLibrary> g_git;

Status fill(GitLibrary& lib) {
  SharedLibrary git = SLW_TRY(SharedLibrary::open(kLibgit2Soname, kLibgit2Package));
  SharedLibrary ssh = SLW_TRY(SharedLibrary::open("libssh2.so.1", "libssh2-1"));
#define SLIPWAY_BIND_GIT(name) SLW_TRY(git.bind(#name, lib.name));
#define SLIPWAY_BIND_SSH(name) SLW_TRY(ssh.bind(#name, lib.name));
  SLIPWAY_LIBGIT2_FUNCTIONS(SLIPWAY_BIND_GIT)
  SLIPWAY_LIBSSH2_FUNCTIONS(SLIPWAY_BIND_SSH)
#undef SLIPWAY_BIND_GIT
#undef SLIPWAY_BIND_SSH
  int major = 0, minor = 0, revision = 0;
  lib.git_libgit2_version(&major, &minor, &revision);
  if (major != LIBGIT2_VER_MAJOR || minor != LIBGIT2_VER_MINOR)
    return fail("{} is libgit2 {}.{}, but slipway was built against {}.{} (rebuild slipway)", kLibgit2Soname,
                major, minor, LIBGIT2_VER_MAJOR, LIBGIT2_VER_MINOR);
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
