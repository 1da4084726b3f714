// Registry documents: manifests, indexes (with platform selection), image configs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/image_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slipway::oci;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  (void)detect_document(json, "");
  (void)parse_manifest(json);
  (void)parse_config(json);
  if (auto index = parse_index(json)) (void)select_manifest(*index, Platform{"linux", "amd64", ""});
  return 0;
}
