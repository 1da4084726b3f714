// The build context digest cache as read back from disk: a damaged or hostile file is an empty
// cache or a valid one, never a crash, and what is kept serializes back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oci/build/context_digests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = slipway::oci::ContextDigests::parse(text);
  std::string once = d.serialize();
  if (slipway::oci::ContextDigests::parse(once).serialize() != once) std::abort();
  return 0;
}
