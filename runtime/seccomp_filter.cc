#include "runtime/seccomp_filter.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>

#include "base/log.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"

namespace slipway::runtime {

namespace {

uint32_t libseccomp_action(SeccompAction action, uint32_t data) {
  switch (action) {
    case SeccompAction::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompAction::kErrno:
      return SCMP_ACT_ERRNO(data);
    case SeccompAction::kTrace:
      return SCMP_ACT_TRACE(data);
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kLog:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare libseccomp_op(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNotEqual:
      return SCMP_CMP_NE;
    case SeccompOp::kLessThan:
      return SCMP_CMP_LT;
    case SeccompOp::kLessOrEqual:
      return SCMP_CMP_LE;
    case SeccompOp::kEqual:
      return SCMP_CMP_EQ;
    case SeccompOp::kGreaterOrEqual:
      return SCMP_CMP_GE;
    case SeccompOp::kGreaterThan:
      return SCMP_CMP_GT;
    case SeccompOp::kMaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;  // invalid: libseccomp rejects it
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 when libseccomp does not know it.
uint32_t libseccomp_arch(std::string_view name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (!name.starts_with(kPrefix)) return 0;
  std::string lower;
  for (char c : name.substr(kPrefix.size()))
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ::seccomp_arch_resolve_name(lower.c_str());
}

Status add_rule(scmp_filter_ctx ctx, uint32_t action, const std::string& name,
                const std::vector<scmp_arg_cmp>& conditions, bool split) {
  int nr = ::seccomp_syscall_resolve_name(name.c_str());
  if (nr == __NR_SCMP_ERROR) {
    log::debug("seccomp: skipping {}: unknown to libseccomp {}.{}.{}", name,
               ::seccomp_version()->major, ::seccomp_version()->minor, ::seccomp_version()->micro);
    return {};
  }
  auto add = [&](unsigned count, const scmp_arg_cmp* array) -> Status {
    int rc = ::seccomp_rule_add_array(ctx, action, nr, count, array);
    if (rc < 0) return fail_errno(fmt::format("seccomp: add the rule for {}", name), -rc);
    return {};
  };
  if (!split) return add(static_cast<unsigned>(conditions.size()), conditions.data());
  for (const scmp_arg_cmp& condition : conditions) SLW_TRY(add(1, &condition));
  return {};
}

// Reads the whole exported program back from the memfd libseccomp wrote it to.
Result<std::vector<sock_filter>> read_program(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail_errno("seccomp: stat the exported filter");
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0)
    return fail("seccomp: exported filter has {} bytes, not a whole number of instructions", size);
  std::vector<sock_filter> filter(size / sizeof(sock_filter));
  auto* out = reinterpret_cast<char*>(filter.data());
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("seccomp: read the exported filter");
    if (n == 0) return fail("seccomp: exported filter ended after {} of {} bytes", done, size);
    done += static_cast<size_t>(n);
  }
  return filter;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const SeccompProfile& profile) {
  const uint32_t default_action = libseccomp_action(profile.default_action, profile.default_errno);
  scmp_filter_ctx ctx = ::seccomp_init(default_action);
  if (ctx == nullptr)
    return fail("seccomp: libseccomp rejected the default action {}",
                seccomp_action_name(profile.default_action));
  ScopeExit release([ctx] { ::seccomp_release(ctx); });

  // The launcher sets no_new_privs itself, at the point in the child it chooses.
  if (int rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return fail_errno("seccomp: turn off libseccomp's no_new_privs", -rc);

  // A binary tree of syscall numbers instead of one long if-chain: a call is checked in ~10
  // instructions instead of up to ~500, and loading the filter costs a fraction (the kernel
  // evaluates it for every syscall of every architecture to build its allow cache).
  if (int rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
    return fail_errno("seccomp: ask libseccomp for a binary-tree filter", -rc);

  for (const std::string& name : profile.architectures) {
    uint32_t arch = libseccomp_arch(name);
    if (arch == 0) return fail("seccomp: architecture {} is not supported by libseccomp", name);
    // -EEXIST: the native architecture, which seccomp_init() already added.
    if (int rc = ::seccomp_arch_add(ctx, arch); rc < 0 && rc != -EEXIST)
      return fail_errno(fmt::format("seccomp: add architecture {}", name), -rc);
  }

  for (const SeccompRule& rule : profile.rules) {
    const uint32_t action = libseccomp_action(rule.action, rule.errno_ret);
    // libseccomp refuses rules that repeat the default action (EACCES); they change nothing.
    if (action == default_action) continue;
    std::vector<scmp_arg_cmp> conditions;
    std::array<int, 6> per_index{};
    bool split = false;
    for (const SeccompArg& arg : rule.args) {
      conditions.push_back({.arg = arg.index,
                            .op = libseccomp_op(arg.op),
                            .datum_a = arg.value,
                            .datum_b = arg.value_two});
      if (arg.index < per_index.size() && ++per_index[arg.index] > 1) split = true;
    }
    // Two comparisons on one argument: runc adds each as its own rule (OR), and profiles
    // written for Docker rely on that.
    for (const std::string& name : rule.names)
      SLW_TRY(add_rule(ctx, action, name, conditions, split));
  }

  UniqueFd memfd(::memfd_create("slipway-seccomp-bpf", MFD_CLOEXEC));
  if (!memfd) return fail_errno("seccomp: memfd_create for the exported filter");
  if (int rc = ::seccomp_export_bpf(ctx, memfd.get()); rc < 0)
    return fail_errno("seccomp: export the filter as BPF", -rc);
  SeccompProgram program{.filter = SLW_TRY(read_program(memfd.get()))};
  if (program.filter.size() > BPF_MAXINSNS)
    return fail("seccomp: the filter has {} instructions, more than the kernel's limit of {}",
                program.filter.size(), BPF_MAXINSNS);
  return program;
}

int load_seccomp(const SeccompProgram& program) noexcept {
  if (program.filter.empty() || program.filter.size() > BPF_MAXINSNS) return EINVAL;
  sock_fprog fprog{.len = static_cast<unsigned short>(program.filter.size()),
                   .filter = const_cast<sock_filter*>(program.filter.data())};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0) return 0;
  if (errno != ENOSYS) return errno;
  // Kernels before 3.17 have no seccomp(2), only the prctl interface.
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0) return 0;
  return errno;
}

}  // namespace slipway::runtime
