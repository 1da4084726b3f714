// Linux interface names: validity and short stable hashes for names that would not fit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace slipway::netns {

// IFNAMSIZ - 1: the kernel refuses longer names.
inline constexpr size_t kMaxIfnameLength = 15;

// 1-15 characters, none of '/', ':', whitespace or NUL, and not "." or "..".
bool is_valid_ifname(std::string_view name);

// `digits` (at most 16) lowercase hex digits of the 64-bit FNV-1a hash of text. Stable across
// builds and hosts: names derived from it are found again by later runs and by gc.
std::string hash_hex(std::string_view text, size_t digits);

// A locally administered unicast MAC address derived from `name`. Bridges get one at creation: a
// bridge without an address of its own takes the lowest of its ports' and changes it as containers
// come and go, leaving the containers' ARP entries for the gateway (and its DNS) pointing nowhere.
std::array<uint8_t, 6> stable_mac(std::string_view name);

}  // namespace slipway::netns
