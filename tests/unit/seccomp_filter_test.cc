// Seccomp filters: compiling profiles to BPF (checked by running the program in a small classic-BPF
// interpreter) and loading the filter in a forked child.
#include "runtime/seccomp_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/capabilities.h"
#include "runtime/seccomp_profile.h"
#include "tests/unit/seccomp_test_helpers.h"

namespace slipway::runtime {
namespace {

// --- compiling: a small classic-BPF interpreter runs the exported program on seccomp_data ---

uint32_t run_bpf(const std::vector<sock_filter>& prog, const seccomp_data& data) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  auto load_word = [&data](uint32_t offset) {
    uint32_t word = 0;
    if (offset + sizeof word <= sizeof data)
      std::memcpy(&word, reinterpret_cast<const char*>(&data) + offset, sizeof word);
    return word;
  };
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& ins = prog[pc];
    const uint32_t src = BPF_SRC(ins.code) == BPF_X ? x : ins.k;
    switch (BPF_CLASS(ins.code)) {
      case BPF_LD:
        if (BPF_MODE(ins.code) == BPF_ABS)
          a = load_word(ins.k);
        else if (BPF_MODE(ins.code) == BPF_IMM)
          a = ins.k;
        else if (BPF_MODE(ins.code) == BPF_MEM)
          a = mem[ins.k];
        else if (BPF_MODE(ins.code) == BPF_LEN)
          a = sizeof data;
        else
          ADD_FAILURE() << "unsupported ld mode at " << pc;
        break;
      case BPF_LDX:
        if (BPF_MODE(ins.code) == BPF_IMM)
          x = ins.k;
        else if (BPF_MODE(ins.code) == BPF_MEM)
          x = mem[ins.k];
        else if (BPF_MODE(ins.code) == BPF_LEN)
          x = sizeof data;
        else
          ADD_FAILURE() << "unsupported ldx mode at " << pc;
        break;
      case BPF_ST:
        mem[ins.k] = a;
        break;
      case BPF_STX:
        mem[ins.k] = x;
        break;
      case BPF_ALU:
        switch (BPF_OP(ins.code)) {
          case BPF_ADD:
            a += src;
            break;
          case BPF_SUB:
            a -= src;
            break;
          case BPF_MUL:
            a *= src;
            break;
          case BPF_DIV:
            a = src ? a / src : 0;
            break;
          case BPF_MOD:
            a = src ? a % src : 0;
            break;
          case BPF_OR:
            a |= src;
            break;
          case BPF_AND:
            a &= src;
            break;
          case BPF_XOR:
            a ^= src;
            break;
          case BPF_LSH:
            a <<= src;
            break;
          case BPF_RSH:
            a >>= src;
            break;
          case BPF_NEG:
            a = -a;
            break;
        }
        break;
      case BPF_JMP: {
        bool taken = false;
        switch (BPF_OP(ins.code)) {
          case BPF_JA:
            pc += ins.k;
            continue;
          case BPF_JEQ:
            taken = a == src;
            break;
          case BPF_JGT:
            taken = a > src;
            break;
          case BPF_JGE:
            taken = a >= src;
            break;
          case BPF_JSET:
            taken = (a & src) != 0;
            break;
        }
        pc += taken ? ins.jt : ins.jf;
        break;
      }
      case BPF_RET:
        return BPF_RVAL(ins.code) == BPF_A ? a : ins.k;
      case BPF_MISC:
        if (BPF_MISCOP(ins.code) == BPF_TAX)
          x = a;
        else
          a = x;
        break;
    }
  }
  ADD_FAILURE() << "program ran off its end";
  return 0;
}

seccomp_data call(uint32_t arch, int nr, std::vector<uint64_t> args = {}) {
  seccomp_data data{};
  data.arch = arch;
  data.nr = nr;
  for (size_t i = 0; i < args.size() && i < 6; ++i) data.args[i] = args[i];
  return data;
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t errno_ret(int e) {
  return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e);
}

SeccompProgram compiled(const SeccompProfile& profile) {
  auto program = compile_seccomp(profile);
  EXPECT_TRUE(program.has_value()) << program.error().message();
  return program.value_or(SeccompProgram{});
}

TEST(CompileSeccomp, DefaultProfileGivesAKernelSizedProgram) {
  SeccompProgram program = compiled(default_profile());
  ASSERT_FALSE(program.filter.empty());
  EXPECT_LE(program.filter.size(), static_cast<size_t>(BPF_MAXINSNS));
  // A seccomp filter starts by checking the architecture: load seccomp_data.arch.
  EXPECT_EQ(program.filter[0].code, BPF_LD | BPF_W | BPF_ABS);
  EXPECT_EQ(program.filter[0].k, offsetof(seccomp_data, arch));
  EXPECT_EQ(BPF_CLASS(program.filter.back().code), static_cast<uint16_t>(BPF_RET));
}

#if defined(__x86_64__) && !defined(__ILP32__)
constexpr int kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT

TEST(CompileSeccomp, DefaultProgramDecidesLikeDockerOnEveryX86Abi) {
  SeccompProgram program = compiled(default_profile());
  ASSERT_FALSE(program.filter.empty());
  auto verdict = [&](uint32_t arch, int nr, std::vector<uint64_t> args = {}) {
    return run_bpf(program.filter, call(arch, nr, std::move(args)));
  };
  const uint32_t x86_64 = AUDIT_ARCH_X86_64, i386 = AUDIT_ARCH_I386;
  EXPECT_EQ(verdict(x86_64, SYS_getpid), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_read), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_execve), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_kexec_load), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_mount), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_unshare, {CLONE_NEWUTS}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_clone3), errno_ret(ENOSYS));
  EXPECT_EQ(verdict(x86_64, SYS_clone, {SIGCHLD}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_clone, {CLONE_VM | CLONE_THREAD | CLONE_SIGHAND}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_clone, {CLONE_NEWNET | SIGCHLD}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_clone, {CLONE_NEWUSER}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_socket, {AF_INET, SOCK_STREAM}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_socket, {AF_VSOCK, SOCK_STREAM}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_personality, {PER_LINUX32}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_personality, {0xffffffff}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_personality, {ADDR_NO_RANDOMIZE}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_arch_prctl), kAllow);

  // 32-bit x86 (int 0x80) numbers: getpid 20, socketcall 102, kexec_load 283, mount 21.
  EXPECT_EQ(verdict(i386, 20), kAllow);
  EXPECT_EQ(verdict(i386, 102), kAllow);
  EXPECT_EQ(verdict(i386, 283), errno_ret(EPERM));
  EXPECT_EQ(verdict(i386, 21), errno_ret(EPERM));
  // x32 uses the x86_64 table with bit 30 set.
  EXPECT_EQ(verdict(x86_64, kX32Bit | SYS_getpid), kAllow);
  EXPECT_EQ(verdict(x86_64, kX32Bit | SYS_kexec_load), errno_ret(EPERM));

  // Any other architecture is killed outright.
  const uint32_t other = verdict(AUDIT_ARCH_AARCH64, 172);
  EXPECT_TRUE((other & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_THREAD ||
              (other & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_PROCESS)
      << std::hex << other;
}

TEST(CompileSeccomp, SysAdminProgramAllowsNamespaces) {
  SeccompProgram program =
      compiled(docker_default_profile(docker_default_capabilities() | bit(CAP_SYS_ADMIN)));
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_unshare, {CLONE_NEWUTS})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_clone, {CLONE_NEWNET | SIGCHLD})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_clone3)), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_mount)), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_kexec_load)), errno_ret(EPERM));
}

TEST(CompileSeccomp, EveryCapabilityAtOnceCompilesDespiteOverlappingGroups) {
  // --cap-add ALL: bpf, syslog, ptrace ... then sit in more than one group.
  auto last = kernel_last_capability();
  ASSERT_TRUE(last.has_value()) << last.error().message();
  SeccompProgram program = compiled(docker_default_profile(all_capabilities(*last)));
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  for (int nr : {SYS_bpf, SYS_syslog, SYS_ptrace, SYS_init_module, SYS_reboot, SYS_iopl,
                 SYS_perf_event_open, SYS_open_by_handle_at, SYS_settimeofday, SYS_acct})
    EXPECT_EQ(run_bpf(program.filter, call(x86_64, nr)), kAllow) << "syscall " << nr;
  // Docker allows these to no one: not even CAP_SYS_ADMIN or CAP_SYS_BOOT unlock them.
  for (int nr : {SYS_kexec_load, SYS_kexec_file_load, SYS_pivot_root, SYS_swapon, SYS_userfaultfd,
                 SYS_nfsservctl, SYS_create_module})
    EXPECT_EQ(run_bpf(program.filter, call(x86_64, nr)), errno_ret(EPERM)) << "syscall " << nr;
}

TEST(CompileSeccomp, ComparisonsOnOneArgumentAreOredLikeRunc) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::kErrno;
  profile.default_errno = EACCES;
  SeccompRule rule;
  rule.names = {"personality"};
  rule.args = {{0, 0, 0, SeccompOp::kEqual}, {0, 8, 0, SeccompOp::kEqual}};
  profile.rules.push_back(rule);
  SeccompProgram program = compiled(profile);
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_personality, {0})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_personality, {8})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_personality, {4})), errno_ret(EACCES));
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_getpid)), errno_ret(EACCES));
}

TEST(CompileSeccomp, ComparisonsOnDifferentArgumentsAreAnded) {
  SeccompProfile profile;  // kErrno / EPERM
  SeccompRule rule;
  rule.names = {"socket"};
  rule.args = {{0, AF_INET, 0, SeccompOp::kEqual}, {1, 0xf, SOCK_DGRAM, SeccompOp::kMaskedEqual}};
  profile.rules.push_back(rule);
  SeccompProgram program = compiled(profile);
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_socket, {AF_INET, SOCK_DGRAM | SOCK_CLOEXEC})),
            kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_socket, {AF_INET, SOCK_STREAM})),
            errno_ret(EPERM));
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_socket, {AF_INET6, SOCK_DGRAM})),
            errno_ret(EPERM));
}
#endif

TEST(CompileSeccomp, SkipsUnknownNamesAndRulesThatRepeatTheDefault) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::kAllow;
  SeccompRule unknown;
  unknown.names = {"not_a_syscall_at_all", "getpid"};
  unknown.action = SeccompAction::kErrno;
  SeccompRule same_as_default;
  same_as_default.names = {"read"};
  profile.rules = {unknown, same_as_default};
  auto program = compile_seccomp(profile);
  ASSERT_TRUE(program.has_value()) << program.error().message();
#if defined(__x86_64__) && !defined(__ILP32__)
  EXPECT_EQ(run_bpf(program->filter, call(AUDIT_ARCH_X86_64, SYS_getpid)), errno_ret(EPERM));
  EXPECT_EQ(run_bpf(program->filter, call(AUDIT_ARCH_X86_64, SYS_read)), kAllow);
#endif
}

TEST(CompileSeccomp, UnknownArchitectureIsAnError) {
  SeccompProfile profile;
  profile.architectures = {"SCMP_ARCH_VAX"};
  auto program = compile_seccomp(profile);
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().message(),
            "seccomp: architecture SCMP_ARCH_VAX is not supported by libseccomp");
}

TEST(CompileSeccomp, ParsedFileCompiles) {
  auto parsed = parse_seccomp_profile_json(small_profile(), docker_default_capabilities());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  SeccompProgram program = compiled(*parsed);
  EXPECT_FALSE(program.filter.empty());
}

// --- loading the default filter in a forked child (no root needed with no_new_privs) ---

// Runs `checks` in a forked child after loading `program`; returns what the child reported:
// "" when every check held, else one line per failed check.
std::string run_filtered_child(const SeccompProgram& program, std::string (*checks)()) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      report = "PR_SET_NO_NEW_PRIVS failed";
    } else if (int e = load_seccomp(program); e != 0) {
      report = std::string("load_seccomp: ") + std::strerror(e);
    } else {
      report = checks();
    }
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(report.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "waitpid failed";
  if (!WIFEXITED(status)) return "child died with signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0 && out.empty()) return "child failed without a report";
  return out;
}

// One check: the raw result of a syscall and the errno it left.
std::string expect_errno(const char* what, long rc, int expected) {
  int e = errno;
  if (rc == -1 && e == expected) return "";
  return std::string(what) + ": rc " + std::to_string(rc) + " errno " + std::strerror(e) +
         ", want " + std::strerror(expected) + "\n";
}

std::string expect_ok(const char* what, long rc) {
  int e = errno;
  if (rc >= 0) return "";
  return std::string(what) + ": failed with " + std::strerror(e) + "\n";
}

std::string default_filter_checks() {
  std::string report;
  report += expect_ok("getpid", ::syscall(SYS_getpid));
  report += expect_errno("unshare(CLONE_NEWUTS)", ::unshare(CLONE_NEWUTS), EPERM);
  clone_args args{};
  args.exit_signal = SIGCHLD;
  report += expect_errno("clone3", ::syscall(SYS_clone3, &args, sizeof args), ENOSYS);
  // Arguments the kernel would refuse anyway (ENOENT, EINVAL), so an unfiltered root does no harm.
  report += expect_errno("mount", ::mount("none", "/proc/slipway-no-such-dir", "tmpfs", 0, nullptr),
                         EPERM);
  report += expect_errno("kexec_load", ::syscall(SYS_kexec_load, 0, 1000, nullptr, 0), EPERM);
  report += expect_errno("socket(AF_VSOCK)", ::socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
  report += expect_errno("personality(ADDR_NO_RANDOMIZE)", ::personality(ADDR_NO_RANDOMIZE), EPERM);
  report += expect_ok("personality(query)", ::personality(0xffffffff));
  int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  report += expect_ok("socket(AF_UNIX)", sock);
  if (sock >= 0) ::close(sock);
  // fork() is clone(SIGCHLD|...) without namespace flags: allowed.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  report += expect_ok("fork", child);
  if (child > 0) {
    int status = 0;
    report += expect_ok("waitpid", ::waitpid(child, &status, 0));
  }
  return report;
}

TEST(LoadSeccomp, DefaultFilterHoldsInAForkedChild) {
  SeccompProgram program = compiled(default_profile());
  ASSERT_FALSE(program.filter.empty());
  EXPECT_EQ(run_filtered_child(program, default_filter_checks), "");
}

TEST(LoadSeccomp, TheChecksFailUnderAnAllowAllFilter) {
  // Control for the test above: the same checks must notice when nothing is filtered.
  SeccompProfile allow_all;
  allow_all.default_action = SeccompAction::kAllow;
  SeccompProgram program = compiled(allow_all);
  ASSERT_FALSE(program.filter.empty());
  std::string report = run_filtered_child(program, default_filter_checks);
  EXPECT_NE(report.find("clone3"), std::string::npos) << report;
  if (::geteuid() == 0) {
    EXPECT_NE(report.find("unshare"), std::string::npos) << report;
  }
}

std::string admin_filter_checks() {
  std::string report;
  report += expect_ok("getpid", ::syscall(SYS_getpid));
  report += expect_errno("kexec_load", ::syscall(SYS_kexec_load, 0, 1000, nullptr, 0), EPERM);
  // Allowed by the filter; the kernel then refuses for lack of CAP_SYS_ADMIN (EPERM) or, as root,
  // it succeeds. Either way clone3 no longer answers ENOSYS.
  clone_args args{};
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::_exit(0);
  if (pid > 0) {
    int status = 0;
    ::waitpid(static_cast<pid_t>(pid), &status, 0);
  } else if (errno == ENOSYS) {
    report += "clone3: still ENOSYS with CAP_SYS_ADMIN\n";
  }
  return report;
}

TEST(LoadSeccomp, SysAdminFilterLetsClone3Through) {
  SeccompProgram program =
      compiled(docker_default_profile(docker_default_capabilities() | bit(CAP_SYS_ADMIN)));
  ASSERT_FALSE(program.filter.empty());
  EXPECT_EQ(run_filtered_child(program, admin_filter_checks), "");
}

TEST(LoadSeccomp, EmptyProgramIsEinval) {
  EXPECT_EQ(load_seccomp(SeccompProgram{}), EINVAL);
}

}  // namespace
}  // namespace slipway::runtime
