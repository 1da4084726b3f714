#include "oci/registry/curl_library.h"

#include "base/shared_library.h"

namespace slipway::oci {
namespace {

LibraryTable<CurlLibrary> g_curl;

Status fill(CurlLibrary& lib) {
  SharedLibrary h = SLW_TRY(SharedLibrary::open("libcurl.so.4", "libcurl4"));
  SLW_TRY(h.bind("curl_global_init", lib.global_init));
  SLW_TRY(h.bind("curl_easy_init", lib.easy_init));
  SLW_TRY(h.bind("curl_easy_setopt", lib.easy_setopt));
  SLW_TRY(h.bind("curl_easy_perform", lib.easy_perform));
  SLW_TRY(h.bind("curl_easy_getinfo", lib.easy_getinfo));
  SLW_TRY(h.bind("curl_easy_cleanup", lib.easy_cleanup));
  SLW_TRY(h.bind("curl_easy_reset", lib.easy_reset));
  SLW_TRY(h.bind("curl_easy_strerror", lib.easy_strerror));
  SLW_TRY(h.bind("curl_free", lib.free));
  SLW_TRY(h.bind("curl_slist_append", lib.slist_append));
  SLW_TRY(h.bind("curl_slist_free_all", lib.slist_free_all));
  SLW_TRY(h.bind("curl_url", lib.url));
  SLW_TRY(h.bind("curl_url_cleanup", lib.url_cleanup));
  SLW_TRY(h.bind("curl_url_set", lib.url_set));
  SLW_TRY(h.bind("curl_url_get", lib.url_get));
  if (CURLcode code = lib.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK)
    return fail("libcurl init: {}", lib.easy_strerror(code));
  return {};
}

}  // namespace

Result<const CurlLibrary*> load_curl() {
  return g_curl.load(fill);
}

const CurlLibrary& curl_lib() {
  return g_curl.get();
}

}  // namespace slipway::oci
