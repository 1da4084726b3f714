#include "base/shared_library.h"

#include <dlfcn.h>

namespace slipway {

Result<SharedLibrary> SharedLibrary::open(const char* soname, std::string_view package) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return fail("cannot load {} (install Debian's {}): {}", soname, package, ::dlerror());
  return SharedLibrary(handle, soname);
}

Result<void*> SharedLibrary::symbol(const char* name) const {
  void* sym = ::dlsym(handle_, name);
  if (!sym) return fail("{} has no symbol {}", soname_, name);
  return sym;
}

}  // namespace slipway
