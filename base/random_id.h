#pragma once

#include <string>

namespace slipway {

// 64 lowercase hex digits from getrandom(): container and run ids, like Docker's.
std::string random_hex_id();

}  // namespace slipway
