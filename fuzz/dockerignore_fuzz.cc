// .dockerignore patterns: the first line of the input is a path to match, the rest the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/dockerfile/dockerignore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view path = input.substr(0, newline);
  std::string_view text = newline == std::string_view::npos ? "" : input.substr(newline + 1);
  auto ignore = slipway::oci::Dockerignore::parse(text);
  if (!ignore) return 0;
  (void)ignore->excluded(path);
  (void)ignore->may_reinclude_below(path);
  return 0;
}
