// Dockerfile text: the parse tree, typed instructions, stages, and variable substitution of every
// word a build would expand.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/stages.h"
#include "oci/dockerfile/substitution.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto dockerfile = slipway::oci::parse_dockerfile(text);
  if (dockerfile) (void)slipway::oci::plan_stages(*dockerfile);
  slipway::oci::VarMap vars{{"A", "a"}, {"EMPTY", ""}, {"PATH", "/usr/bin:/bin"}};
  (void)slipway::oci::substitute_word(text, vars);
  (void)slipway::oci::substitute_word(text, vars, '`');
  return 0;
}
