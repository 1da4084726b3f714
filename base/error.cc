#include "base/error.h"

#include <cstring>

namespace slipway {

std::unexpected<Error> fail_errno(std::string_view what, int code) {
  return std::unexpected<Error>(Error(code, fmt::format("{}: {}", what, std::strerror(code))));
}

}  // namespace slipway
