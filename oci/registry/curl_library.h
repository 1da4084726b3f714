// libcurl, loaded with dlopen on first use (base/shared_library.h) rather than linked: only push
// and pull talk HTTP, and linking libcurl would load some 40 shared libraries (TLS, Kerberos,
// LDAP, IDN...) into every `slipway run`, costing milliseconds of start-up on each container.
#pragma once

#include <curl/curl.h>

#include "base/error.h"

namespace slipway::oci {

struct CurlLibrary {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL* curl, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* curl);
  CURLcode (*easy_getinfo)(CURL* curl, CURLINFO info, ...);
  void (*easy_cleanup)(CURL* curl);
  void (*easy_reset)(CURL* curl);
  const char* (*easy_strerror)(CURLcode code);
  void (*free)(void* p);
  curl_slist* (*slist_append)(curl_slist* list, const char* s);
  void (*slist_free_all)(curl_slist* list);
  CURLU* (*url)();
  void (*url_cleanup)(CURLU* url);
  CURLUcode (*url_set)(CURLU* url, CURLUPart part, const char* content, unsigned int flags);
  CURLUcode (*url_get)(const CURLU* url, CURLUPart part, char** out, unsigned int flags);
};

// Loads libcurl.so.4 once (thread-safe) and curl_global_init()s it; an error says what is missing.
Result<const CurlLibrary*> load_curl();

// The loaded library; only valid after load_curl() succeeded.
const CurlLibrary& curl_lib();

}  // namespace slipway::oci
