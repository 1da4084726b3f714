#include "oci/registry/curl_library.h"

#include <dlfcn.h>

#include <mutex>

namespace slipway::oci {
namespace {

CurlLibrary g_lib;
std::string g_error;

template <class F>
bool bind(void* handle, const char* name, F& slot) {
  void* sym = ::dlsym(handle, name);
  if (!sym) {
    g_error = fmt::format("libcurl.so.4 has no symbol {}", name);
    return false;
  }
  slot = reinterpret_cast<F>(sym);
  return true;
}

bool load() {
  void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    g_error = fmt::format("cannot load libcurl (install Debian's libcurl4): {}", ::dlerror());
    return false;
  }
  bool ok = bind(h, "curl_global_init", g_lib.global_init) &&
            bind(h, "curl_easy_init", g_lib.easy_init) &&
            bind(h, "curl_easy_setopt", g_lib.easy_setopt) &&
            bind(h, "curl_easy_perform", g_lib.easy_perform) &&
            bind(h, "curl_easy_getinfo", g_lib.easy_getinfo) &&
            bind(h, "curl_easy_cleanup", g_lib.easy_cleanup) &&
            bind(h, "curl_easy_reset", g_lib.easy_reset) &&
            bind(h, "curl_easy_strerror", g_lib.easy_strerror) && bind(h, "curl_free", g_lib.free) &&
            bind(h, "curl_slist_append", g_lib.slist_append) &&
            bind(h, "curl_slist_free_all", g_lib.slist_free_all) && bind(h, "curl_url", g_lib.url) &&
            bind(h, "curl_url_cleanup", g_lib.url_cleanup) &&
            bind(h, "curl_url_set", g_lib.url_set) && bind(h, "curl_url_get", g_lib.url_get);
  if (!ok) return false;
  // The library stays loaded for the life of the process.
  if (CURLcode code = g_lib.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    g_error = fmt::format("libcurl init: {}", g_lib.easy_strerror(code));
    return false;
  }
  return true;
}

}  // namespace

Result<const CurlLibrary*> load_curl() {
  static std::once_flag once;
  static bool loaded = false;
  std::call_once(once, [] { loaded = load(); });
  if (!loaded) return fail("{}", g_error);
  return &g_lib;
}

const CurlLibrary& curl_lib() { return g_lib; }

}  // namespace slipway::oci
