// An OCI bundle's config.json (and exec's --process and update's --resources documents), as the
// caller of `slipway oci` hands them over.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/oci_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  slipway::engine::OciPlace place{"fuzz", "/bundle", "/run/slipway-runc/fuzz", ""};
  auto bundle = slipway::engine::parse_oci_config(text, place);
  slipway::engine::OciBundle target;
  (void)slipway::engine::apply_oci_process(text, target);
  std::vector<std::string> warnings;
  (void)slipway::engine::parse_oci_resources(text, warnings);
  return 0;
}
