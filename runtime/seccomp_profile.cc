#include "runtime/seccomp_profile.h"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "base/fs.h"
#include "base/log.h"
#include "runtime/capabilities.h"

namespace slipway::runtime {

namespace {

using nlohmann::json;

constexpr unsigned kMaxSyscallArgs = 6;
// SECCOMP_RET_DATA is 16 bits wide; libseccomp silently masks anything larger.
constexpr uint64_t kMaxActionData = 0xffff;

constexpr std::array<std::pair<std::string_view, SeccompAction>, 8> kActions = {{
    {"SCMP_ACT_KILL", SeccompAction::kKillThread},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess},
    {"SCMP_ACT_TRAP", SeccompAction::kTrap},
    {"SCMP_ACT_ERRNO", SeccompAction::kErrno},
    {"SCMP_ACT_TRACE", SeccompAction::kTrace},
    {"SCMP_ACT_ALLOW", SeccompAction::kAllow},
    {"SCMP_ACT_LOG", SeccompAction::kLog},
}};

constexpr std::array<std::pair<std::string_view, SeccompOp>, 7> kOps = {{
    {"SCMP_CMP_NE", SeccompOp::kNotEqual},
    {"SCMP_CMP_LT", SeccompOp::kLessThan},
    {"SCMP_CMP_LE", SeccompOp::kLessOrEqual},
    {"SCMP_CMP_EQ", SeccompOp::kEqual},
    {"SCMP_CMP_GE", SeccompOp::kGreaterOrEqual},
    {"SCMP_CMP_GT", SeccompOp::kGreaterThan},
    {"SCMP_CMP_MASKED_EQ", SeccompOp::kMaskedEqual},
}};

// The architectures libseccomp 2.5 can build filters for.
constexpr std::array<std::string_view, 19> kArchNames = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

// This build's architecture, as SCMP_ARCH_* and with the compat ones moby's archMap lists for it.
std::vector<std::string> native_arch_family() {
#if defined(__x86_64__) && defined(__ILP32__)
  return {"SCMP_ARCH_X32", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
#elif defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__i386__)
  return {"SCMP_ARCH_X86"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__arm__)
  return {"SCMP_ARCH_ARM"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"SCMP_ARCH_PPC64LE"};
#elif defined(__powerpc64__)
  return {"SCMP_ARCH_PPC64"};
#elif defined(__powerpc__)
  return {"SCMP_ARCH_PPC"};
#elif defined(__s390x__)
  return {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__s390__)
  return {"SCMP_ARCH_S390"};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"SCMP_ARCH_RISCV64"};
#elif defined(__mips__) && _MIPS_SIM == _ABI64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"};
#elif defined(__mips__) && _MIPS_SIM == _ABI64
  return {"SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"};
#elif defined(__mips__) && _MIPS_SIM == _ABIN32 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"};
#elif defined(__mips__) && _MIPS_SIM == _ABIN32
  return {"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"};
#elif defined(__mips__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"SCMP_ARCH_MIPSEL"};
#elif defined(__mips__)
  return {"SCMP_ARCH_MIPS"};
#else
#error "slipway: unsupported architecture for seccomp"
#endif
}

// --- JSON field readers: every error names the field's path in the document. ---

// A member, or nullptr when absent or null (Docker writes "subArchitectures": null).
const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> read_string(const json& value, const std::string& path) {
  if (!value.is_string()) return fail("{}: expected a string, got {}", path, value.type_name());
  return value.get<std::string>();
}

Result<uint64_t> read_uint(const json& value, const std::string& path) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer())
    return fail("{}: expected a non-negative integer, got {}", path, value.get<int64_t>());
  return fail("{}: expected a non-negative integer, got {}", path, value.type_name());
}

Result<const json*> read_array(const json& value, const std::string& path) {
  if (!value.is_array()) return fail("{}: expected an array, got {}", path, value.type_name());
  return &value;
}

Result<std::vector<std::string>> read_string_array(const json& value, const std::string& path) {
  const json& array = *SLW_TRY(read_array(value, path));
  std::vector<std::string> out;
  for (size_t i = 0; i < array.size(); ++i)
    out.push_back(SLW_TRY(read_string(array[i], fmt::format("{}[{}]", path, i))));
  return out;
}

Result<uint32_t> read_action_data(const json& value, const std::string& path) {
  uint64_t data = SLW_TRY(read_uint(value, path));
  if (data > kMaxActionData) return fail("{}: {} is larger than {}", path, data, kMaxActionData);
  return static_cast<uint32_t>(data);
}

Result<SeccompAction> read_action(const json& value, const std::string& path) {
  std::string name = SLW_TRY(read_string(value, path));
  for (const auto& [known, action] : kActions)
    if (name == known) return action;
  if (name == "SCMP_ACT_NOTIFY")
    return fail("{}: SCMP_ACT_NOTIFY is not supported (slipway runs no seccomp agent)", path);
  return fail("{}: unknown action \"{}\"", path, name);
}

Result<SeccompOp> read_op(const json& value, const std::string& path) {
  std::string name = SLW_TRY(read_string(value, path));
  for (const auto& [known, op] : kOps)
    if (name == known) return op;
  return fail("{}: unknown operator \"{}\"", path, name);
}

Result<std::string> read_arch(const json& value, const std::string& path) {
  std::string name = SLW_TRY(read_string(value, path));
  if (!is_seccomp_arch_name(name)) return fail("{}: unknown architecture \"{}\"", path, name);
  return name;
}

Result<SeccompArg> read_arg(const json& value, const std::string& path) {
  if (!value.is_object()) return fail("{}: expected an object, got {}", path, value.type_name());
  SeccompArg arg;
  const json* index = member(value, "index");
  if (index == nullptr) return fail("{}.index: missing", path);
  uint64_t i = SLW_TRY(read_uint(*index, path + ".index"));
  if (i >= kMaxSyscallArgs) return fail("{}.index: {} is out of range 0-5", path, i);
  arg.index = static_cast<unsigned>(i);
  if (const json* v = member(value, "value")) arg.value = SLW_TRY(read_uint(*v, path + ".value"));
  if (const json* v = member(value, "valueTwo"))
    arg.value_two = SLW_TRY(read_uint(*v, path + ".valueTwo"));
  const json* op = member(value, "op");
  if (op == nullptr) return fail("{}.op: missing", path);
  arg.op = SLW_TRY(read_op(*op, path + ".op"));
  return arg;
}

Result<SeccompRuleCondition> read_condition(const json& value, const std::string& path) {
  if (!value.is_object()) return fail("{}: expected an object, got {}", path, value.type_name());
  SeccompRuleCondition condition;
  if (const json* caps = member(value, "caps")) {
    std::vector<std::string> names = SLW_TRY(read_string_array(*caps, path + ".caps"));
    for (size_t i = 0; i < names.size(); ++i) {
      int cap = SLW_TRY_CTX(capability_from_name(names[i]), "{}.caps[{}]", path, i);
      condition.caps |= uint64_t{1} << cap;
    }
  }
  if (const json* arches = member(value, "arches"))
    condition.arches = SLW_TRY(read_string_array(*arches, path + ".arches"));
  if (const json* min_kernel = member(value, "minKernel")) {
    std::string text = SLW_TRY(read_string(*min_kernel, path + ".minKernel"));
    condition.min_kernel = SLW_TRY_CTX(parse_kernel_version(text), "{}.minKernel", path);
  }
  return condition;
}

// The running kernel, asked only when a rule has a minKernel condition.
class LazyKernelVersion {
 public:
  Result<KernelVersion> get() {
    if (!version_) version_ = SLW_TRY(running_kernel_version());
    return *version_;
  }

 private:
  std::optional<KernelVersion> version_;
};

// One entry of "syscalls"; nullopt when its includes/excludes leave it out for this container.
Result<std::optional<SeccompRule>> read_rule(const json& value, const std::string& path,
                                             uint64_t capabilities, LazyKernelVersion& kernel) {
  if (!value.is_object()) return fail("{}: expected an object, got {}", path, value.type_name());

  SeccompRuleCondition includes, excludes;
  if (const json* v = member(value, "includes"))
    includes = SLW_TRY(read_condition(*v, path + ".includes"));
  if (const json* v = member(value, "excludes"))
    excludes = SLW_TRY(read_condition(*v, path + ".excludes"));

  SeccompRule rule;
  const json* name = member(value, "name");
  const json* names = member(value, "names");
  if (name != nullptr && names != nullptr) return fail("{}: both name and names are set", path);
  if (name != nullptr) {
    rule.names.push_back(SLW_TRY(read_string(*name, path + ".name")));
  } else if (names != nullptr) {
    rule.names = SLW_TRY(read_string_array(*names, path + ".names"));
    if (rule.names.empty()) return fail("{}.names: empty", path);
  } else {
    return fail("{}: no name or names", path);
  }

  const json* action = member(value, "action");
  if (action == nullptr) return fail("{}.action: missing", path);
  rule.action = SLW_TRY(read_action(*action, path + ".action"));
  if (const json* errno_ret = member(value, "errnoRet")) {
    if (rule.action != SeccompAction::kErrno && rule.action != SeccompAction::kTrace)
      return fail("{}.errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one", path);
    rule.errno_ret = SLW_TRY(read_action_data(*errno_ret, path + ".errnoRet"));
  }

  if (const json* args = member(value, "args")) {
    const json& array = *SLW_TRY(read_array(*args, path + ".args"));
    for (size_t i = 0; i < array.size(); ++i)
      rule.args.push_back(SLW_TRY(read_arg(array[i], fmt::format("{}.args[{}]", path, i))));
  }

  KernelVersion running{};
  if (includes.min_kernel != KernelVersion{} || excludes.min_kernel != KernelVersion{})
    running = SLW_TRY_CTX(kernel.get(), "{}", path);
  if (!seccomp_rule_applies(includes, excludes, capabilities, running)) return std::nullopt;
  return rule;
}

Result<SeccompProfile> read_profile(const json& doc, uint64_t capabilities) {
  if (!doc.is_object()) return fail("expected a JSON object, got {}", doc.type_name());
  SeccompProfile profile;

  const json* default_action = member(doc, "defaultAction");
  if (default_action == nullptr) return fail("defaultAction: missing");
  profile.default_action = SLW_TRY(read_action(*default_action, "defaultAction"));
  if (const json* v = member(doc, "defaultErrnoRet")) {
    if (profile.default_action != SeccompAction::kErrno &&
        profile.default_action != SeccompAction::kTrace)
      return fail("defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one");
    profile.default_errno = SLW_TRY(read_action_data(*v, "defaultErrnoRet"));
  }

  const json* architectures = member(doc, "architectures");
  const json* arch_map = member(doc, "archMap");
  if (architectures != nullptr && !architectures->empty() && arch_map != nullptr &&
      !arch_map->empty())
    return fail("architectures and archMap are both set; use one");
  if (architectures != nullptr) {
    const json& array = *SLW_TRY(read_array(*architectures, "architectures"));
    for (size_t i = 0; i < array.size(); ++i)
      profile.architectures.push_back(
          SLW_TRY(read_arch(array[i], fmt::format("architectures[{}]", i))));
  }
  if (arch_map != nullptr) {
    // Like dockerd: keep only the entry for the architecture we run on, with its sub-architectures.
    const std::string native = native_arch_family().front();
    const json& array = *SLW_TRY(read_array(*arch_map, "archMap"));
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string path = fmt::format("archMap[{}]", i);
      if (!array[i].is_object())
        return fail("{}: expected an object, got {}", path, array[i].type_name());
      const json* arch = member(array[i], "architecture");
      if (arch == nullptr) return fail("{}.architecture: missing", path);
      std::string name = SLW_TRY(read_arch(*arch, path + ".architecture"));
      std::vector<std::string> subs;
      if (const json* sub = member(array[i], "subArchitectures")) {
        const json& sub_array = *SLW_TRY(read_array(*sub, path + ".subArchitectures"));
        for (size_t j = 0; j < sub_array.size(); ++j)
          subs.push_back(
              SLW_TRY(read_arch(sub_array[j], fmt::format("{}.subArchitectures[{}]", path, j))));
      }
      if (name != native || !profile.architectures.empty()) continue;
      profile.architectures.push_back(std::move(name));
      for (std::string& sub : subs) profile.architectures.push_back(std::move(sub));
    }
  }

  if (const json* flags = member(doc, "flags"); flags != nullptr && !flags->empty())
    log::warn("seccomp profile: ignoring flags {}", flags->dump());

  if (const json* syscalls = member(doc, "syscalls")) {
    const json& array = *SLW_TRY(read_array(*syscalls, "syscalls"));
    LazyKernelVersion kernel;
    for (size_t i = 0; i < array.size(); ++i) {
      auto rule =
          SLW_TRY(read_rule(array[i], fmt::format("syscalls[{}]", i), capabilities, kernel));
      if (rule) profile.rules.push_back(std::move(*rule));
    }
  }
  return profile;
}

}  // namespace

Result<SeccompProfile> parse_seccomp_profile_json(std::string_view text, uint64_t capabilities) {
  // Readers check types before every get(), so only parsing should throw; the catch-all keeps
  // any nlohmann exception from escaping as one anyway.
  try {
    json doc = json::parse(text);
    return read_profile(doc, capabilities);
  } catch (const json::parse_error& e) {
    return fail("invalid JSON: {}", e.what());
  } catch (const json::exception& e) {
    return fail("{}", e.what());
  }
}

Result<SeccompProfile> load_seccomp_profile_file(const std::string& path, uint64_t capabilities) {
  std::string text = SLW_TRY_CTX(fs::read_file(path), "seccomp profile");
  return with_context(parse_seccomp_profile_json(text, capabilities),
                      fmt::format("seccomp profile {}", path));
}

std::string_view seccomp_action_name(SeccompAction action) {
  switch (action) {
    case SeccompAction::kKillThread:
      return "SCMP_ACT_KILL_THREAD";
    case SeccompAction::kKillProcess:
      return "SCMP_ACT_KILL_PROCESS";
    case SeccompAction::kTrap:
      return "SCMP_ACT_TRAP";
    case SeccompAction::kErrno:
      return "SCMP_ACT_ERRNO";
    case SeccompAction::kTrace:
      return "SCMP_ACT_TRACE";
    case SeccompAction::kAllow:
      return "SCMP_ACT_ALLOW";
    case SeccompAction::kLog:
      return "SCMP_ACT_LOG";
  }
  return "SCMP_ACT_UNKNOWN";
}

bool is_seccomp_arch_name(std::string_view name) {
  return std::find(kArchNames.begin(), kArchNames.end(), name) != kArchNames.end();
}

std::string_view seccomp_native_arch() {
#if defined(__x86_64__) && defined(__ILP32__)
  return "x32";
#elif defined(__x86_64__)
  return "amd64";
#elif defined(__i386__)
  return "x86";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__powerpc64__)
  return "ppc64";
#elif defined(__powerpc__)
  return "ppc";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__s390__)
  return "s390";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#elif defined(__mips__) && _MIPS_SIM == _ABI64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "mipsel64";
#elif defined(__mips__) && _MIPS_SIM == _ABI64
  return "mips64";
#elif defined(__mips__) && _MIPS_SIM == _ABIN32 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "mipsel64n32";
#elif defined(__mips__) && _MIPS_SIM == _ABIN32
  return "mips64n32";
#elif defined(__mips__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "mipsel";
#elif defined(__mips__)
  return "mips";
#endif
}

std::vector<std::string> seccomp_default_architectures() {
  return native_arch_family();
}

Result<KernelVersion> parse_kernel_version(std::string_view text) {
  KernelVersion version;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [after_major, ec1] = std::from_chars(begin, end, version.major);
  if (ec1 != std::errc() || after_major == end || *after_major != '.')
    return fail("invalid kernel version \"{}\"", text);
  auto [after_minor, ec2] = std::from_chars(after_major + 1, end, version.minor);
  if (ec2 != std::errc() || version.major < 0 || version.minor < 0)
    return fail("invalid kernel version \"{}\"", text);
  // Anything after major.minor (".0-rc1", "-generic") does not matter for minKernel.
  if (after_minor != end && *after_minor != '.' && *after_minor != '-' && *after_minor != '+')
    return fail("invalid kernel version \"{}\"", text);
  return version;
}

Result<KernelVersion> running_kernel_version() {
  struct utsname uts {};
  if (::uname(&uts) != 0) return fail_errno("uname");
  return with_context(parse_kernel_version(uts.release), "running kernel");
}

bool seccomp_rule_applies(const SeccompRuleCondition& includes,
                          const SeccompRuleCondition& excludes, uint64_t capabilities,
                          KernelVersion kernel) {
  const std::string_view native = seccomp_native_arch();
  auto lists_native = [native](const std::vector<std::string>& arches) {
    return std::find(arches.begin(), arches.end(), native) != arches.end();
  };
  const KernelVersion none{};

  if (lists_native(excludes.arches)) return false;
  if ((excludes.caps & capabilities) != 0) return false;
  if (excludes.min_kernel != none && kernel >= excludes.min_kernel) return false;

  if (!includes.arches.empty() && !lists_native(includes.arches)) return false;
  if ((includes.caps & capabilities) != includes.caps) return false;
  if (includes.min_kernel != none && kernel < includes.min_kernel) return false;
  return true;
}

}  // namespace slipway::runtime
