// The current time as text.
#pragma once

#include <string>

namespace slipway {

// "2026-12-05T02:30:00.123456789Z": UTC, nanoseconds, as container records and logs write it.
std::string now_rfc3339();

}  // namespace slipway
