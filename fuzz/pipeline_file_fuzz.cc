// The pipeline file (.slipway.yml), as a pushed branch could write it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipeline/pipeline_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)slipway::pipeline::parse_pipeline_file(text, ".slipway.yml");
  return 0;
}
