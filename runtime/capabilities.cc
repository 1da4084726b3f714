#include "runtime/capabilities.h"

#include <fmt/format.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

#include "base/fs.h"
#include "base/scope_exit.h"

namespace slipway::runtime {

namespace {

constexpr int kMaxCapBits = 64;  // the bit mask is 64 bits wide; capset carries two 32-bit words

constexpr uint64_t bit(int cap) {
  return uint64_t{1} << cap;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_all(std::string_view name) {
  return equals_ignore_case(name, "ALL");
}

// Parses a list of --cap-add/--cap-drop names into a mask; "ALL" is reported separately.
struct CapabilityList {
  uint64_t set = 0;
  bool all = false;
};

Result<CapabilityList> parse_capability_list(const std::vector<std::string>& names, int last_cap) {
  CapabilityList out;
  for (const std::string& name : names) {
    if (is_all(name)) {
      out.all = true;
      continue;
    }
    int cap = SLW_TRY(capability_from_name(name));
    if (cap > last_cap)
      return fail("capability \"{}\" is not supported by this kernel (its last capability is {})",
                  name, last_cap);
    out.set |= bit(cap);
  }
  return out;
}

// Fallback for hosts without /proc mounted: PR_CAPBSET_READ fails with EINVAL past the last cap.
Result<int> probe_last_capability() {
  int last = -1;
  for (int cap = 0; cap < kMaxCapBits; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;
    last = cap;
  }
  if (last < 0) return fail_errno("probe the kernel's capabilities with PR_CAPBSET_READ");
  return last;
}

}  // namespace

Result<int> capability_from_name(std::string_view name) {
  std::string_view bare = name;
  if (bare.size() > 4 && equals_ignore_case(bare.substr(0, 4), "CAP_")) bare.remove_prefix(4);
  // libcap also accepts numbers; a capability name must be a name.
  bool valid = !bare.empty() && std::isalpha(static_cast<unsigned char>(bare.front()));
  for (char c : bare) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!valid) return fail("unknown capability \"{}\"", name);

  std::string libcap_name = "cap_";
  for (char c : bare) libcap_name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  cap_value_t value = -1;
  if (::cap_from_name(libcap_name.c_str(), &value) != 0 || value < 0 || value >= kMaxCapBits)
    return fail("unknown capability \"{}\"", name);
  return static_cast<int>(value);
}

std::vector<std::string> capability_names(uint64_t set) {
  std::vector<std::string> names;
  for (int cap = 0; cap < kMaxCapBits; ++cap) {
    if (!(set & bit(cap))) continue;
    char* raw = ::cap_to_name(static_cast<cap_value_t>(cap));
    ScopeExit free_raw([raw] { ::cap_free(raw); });
    std::string_view libcap_name = raw != nullptr ? std::string_view(raw) : std::string_view();
    // libcap spells capabilities it has no name for as the bare number.
    if (libcap_name.size() <= 4 || !equals_ignore_case(libcap_name.substr(0, 4), "cap_")) {
      names.push_back(fmt::format("CAP_{}", cap));
      continue;
    }
    std::string upper;
    for (char c : libcap_name)
      upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    names.push_back(std::move(upper));
  }
  return names;
}

Result<int> kernel_last_capability() {
  auto text = fs::read_file("/proc/sys/kernel/cap_last_cap");
  if (!text) return probe_last_capability();
  std::string_view digits = *text;
  while (!digits.empty() && std::isspace(static_cast<unsigned char>(digits.back())))
    digits.remove_suffix(1);
  int last = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), last);
  if (ec != std::errc() || end != digits.data() + digits.size() || last < 0 || last >= kMaxCapBits)
    return fail("read /proc/sys/kernel/cap_last_cap: unexpected content \"{}\"", digits);
  return last;
}

uint64_t all_capabilities(int last_cap) {
  if (last_cap < 0) return 0;
  if (last_cap >= kMaxCapBits - 1) return ~uint64_t{0};
  return bit(last_cap + 1) - 1;
}

uint64_t docker_default_capabilities() {
  return bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FSETID) | bit(CAP_FOWNER) |
         bit(CAP_MKNOD) | bit(CAP_NET_RAW) | bit(CAP_SETGID) | bit(CAP_SETUID) | bit(CAP_SETFCAP) |
         bit(CAP_SETPCAP) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_CHROOT) | bit(CAP_KILL) |
         bit(CAP_AUDIT_WRITE);
}

uint64_t own_bounding_set(int last_cap) {
  uint64_t set = 0;
  for (int cap = 0; cap <= last_cap && cap < kMaxCapBits; ++cap)
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) set |= bit(cap);
  return set;
}

Result<uint64_t> resolve_capabilities(uint64_t base, const std::vector<std::string>& add,
                                      const std::vector<std::string>& drop) {
  int last_cap = SLW_TRY(kernel_last_capability());
  CapabilityList adds = SLW_TRY(parse_capability_list(add, last_cap));
  CapabilityList drops = SLW_TRY(parse_capability_list(drop, last_cap));
  // Same precedence as moby's TweakCapabilities: add ALL beats drop ALL.
  if (adds.all) return own_bounding_set(last_cap) & ~drops.set;
  if (drops.all) return adds.set;
  return (base & ~drops.set) | adds.set;
}

Result<CapabilityPlan> plan_capabilities(uint64_t set) {
  int last_cap = SLW_TRY(kernel_last_capability());
  uint64_t unknown = set & ~all_capabilities(last_cap);
  if (unknown != 0)
    return fail("capabilities {} are not supported by this kernel (its last capability is {})",
                fmt::join(capability_names(unknown), ","), last_cap);
  if (uint64_t dropped = set & ~own_bounding_set(last_cap))
    return fail("capabilities {} are not in slipway's own bounding set: the host or a parent process dropped them",
                fmt::join(capability_names(dropped), ","));
  return CapabilityPlan{.set = set, .last_cap = last_cap};
}

Result<CapabilityPlan> plan_capability_sets(const CapabilitySets& sets) {
  uint64_t all = sets.bounding | sets.effective | sets.permitted | sets.inheritable | sets.ambient;
  CapabilityPlan plan = SLW_TRY(plan_capabilities(all));
  if (uint64_t lone = sets.ambient & ~(sets.permitted & sets.inheritable))
    return fail("ambient capabilities {} must be permitted and inheritable too",
                fmt::join(capability_names(lone), ","));
  plan.set = 0;
  plan.separate = true;
  plan.sets = sets;
  return plan;
}

int prepare_keep_caps() noexcept {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

int apply_capabilities(const CapabilityPlan& plan) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return errno;

  // After setresuid() to a non-root uid the effective set is empty; CAP_SETPCAP must be effective
  // to shrink the bounding set, and raising effective up to permitted is always allowed.
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  header = {_LINUX_CAPABILITY_VERSION_3, 0};
  if (::syscall(SYS_capset, &header, data) != 0) return errno;

  const CapabilitySets same{plan.set, plan.set, plan.set, plan.set, 0};
  const CapabilitySets& sets = plan.separate ? plan.sets : same;
  for (int cap = 0; cap <= plan.last_cap && cap < kMaxCapBits; ++cap) {
    if (sets.bounding & bit(cap)) continue;
    int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) return errno;
    // Skipping caps already gone lets a plan that only shrinks work without CAP_SETPCAP.
    if (present == 0) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return errno;
  }

  // EINVAL: kernel older than 4.3, which has no ambient set to clear.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return errno;

  auto low = [](uint64_t set) { return static_cast<uint32_t>(set); };
  auto high = [](uint64_t set) { return static_cast<uint32_t>(set >> 32); };
  data[0] = {.effective = low(sets.effective), .permitted = low(sets.permitted), .inheritable = low(sets.inheritable)};
  data[1] = {.effective = high(sets.effective), .permitted = high(sets.permitted), .inheritable = high(sets.inheritable)};
  header = {_LINUX_CAPABILITY_VERSION_3, 0};
  if (::syscall(SYS_capset, &header, data) != 0) return errno;
  for (int cap = 0; cap <= plan.last_cap && cap < kMaxCapBits; ++cap)
    if ((sets.ambient & bit(cap)) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return errno;
  return 0;
}

}  // namespace slipway::runtime
