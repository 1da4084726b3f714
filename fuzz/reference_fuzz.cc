// Image references as users, Dockerfiles (FROM) and pipeline files write them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/reference.h"
#include "oci/registry/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)slipway::oci::parse_reference(text);
  (void)slipway::oci::parse_registry_reference(text);
  return 0;
}
