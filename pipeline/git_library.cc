#include "pipeline/git_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace slipway::pipeline {
namespace {

GitLibrary g_lib;
std::string g_error;

template <class F>
bool bind(void* handle, const char* library, const char* name, F& slot) {
  void* sym = ::dlsym(handle, name);
  if (!sym) {
    g_error = fmt::format("{} has no symbol {}", library, name);
    return false;
  }
  slot = reinterpret_cast<F>(sym);
  return true;
}

bool load() {
  constexpr const char* kGit = "libgit2.so.1.5";
  constexpr const char* kSsh = "libssh2.so.1";
  void* git = ::dlopen(kGit, RTLD_NOW | RTLD_LOCAL);
  if (!git) {
    g_error = fmt::format("cannot load {} (install Debian's libgit2-1.5): {}", kGit, ::dlerror());
    return false;
  }
  void* ssh = ::dlopen(kSsh, RTLD_NOW | RTLD_LOCAL);
  if (!ssh) {
    g_error = fmt::format("cannot load {} (install Debian's libssh2-1): {}", kSsh, ::dlerror());
    return false;
  }
  bool ok = true;
#define SLIPWAY_BIND_GIT(name) ok = ok && bind(git, kGit, #name, g_lib.name);
#define SLIPWAY_BIND_SSH(name) ok = ok && bind(ssh, kSsh, #name, g_lib.name);
  SLIPWAY_LIBGIT2_FUNCTIONS(SLIPWAY_BIND_GIT)
  SLIPWAY_LIBSSH2_FUNCTIONS(SLIPWAY_BIND_SSH)
#undef SLIPWAY_BIND_GIT
#undef SLIPWAY_BIND_SSH
  if (!ok) return false;
  // Both libraries stay loaded for the life of the process.
  if (int rc = g_lib.git_libgit2_init(); rc < 0) {
    g_error = fmt::format("libgit2 init failed ({})", rc);
    return false;
  }
  return true;
}

}  // namespace

Result<const GitLibrary*> load_git() {
  static std::once_flag once;
  static bool loaded = false;
  std::call_once(once, [] { loaded = load(); });
  if (!loaded) return fail("{}", g_error);
  return &g_lib;
}

const GitLibrary& git_lib() { return g_lib; }

}  // namespace slipway::pipeline
