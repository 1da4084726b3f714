// Docker's default seccomp profile (moby profiles/seccomp/default.json), kept as our own table with
// the same coverage: the allow-list, the arch groups and the groups a capability unlocks. Syscalls
// moby added for kernels up to 6.13 are listed too; ones the installed libseccomp cannot resolve
// are skipped when the filter is compiled, as runc does.
#include <linux/capability.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>

#include <string_view>
#include <utility>

#include "runtime/seccomp_profile.h"

namespace slipway::runtime {

namespace {

// One group of the profile and the includes/excludes that select it.
struct Group {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  uint32_t errno_ret = EPERM;
  std::vector<SeccompArg> args;
  SeccompRuleCondition includes;
  SeccompRuleCondition excludes;
};

constexpr uint64_t cap(int number) {
  return uint64_t{1} << number;
}

// Flags that make clone() create namespaces; without CAP_SYS_ADMIN they must all be clear.
constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

SeccompArg compare(unsigned index, SeccompOp op, uint64_t value, uint64_t value_two = 0) {
  SeccompArg arg;
  arg.index = index;
  arg.op = op;
  arg.value = value;
  arg.value_two = value_two;
  return arg;
}

// Builders for the table below, so each group reads as one line of what it allows and when.
Group allow(std::vector<std::string> names) {
  Group group;
  group.names = std::move(names);
  return group;
}

Group allow_with_cap(std::vector<std::string> names, int capability) {
  Group group = allow(std::move(names));
  group.includes.caps = cap(capability);
  return group;
}

Group allow_on_arches(std::vector<std::string> names, std::vector<std::string> arches) {
  Group group = allow(std::move(names));
  group.includes.arches = std::move(arches);
  return group;
}

Group allow_if_arg(std::vector<std::string> names, SeccompArg arg) {
  Group group = allow(std::move(names));
  group.args.push_back(arg);
  return group;
}

// Allowed whatever the caps: the calls ordinary programs make, split on spaces below.
constexpr std::string_view kAllowedForEveryone =
    "accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown "
    "chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
    "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
    "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
    "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod "
    "fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr "
    "flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate "
    "ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat "
    "getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 "
    "getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority "
    "getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage "
    "getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr "
    "getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl "
    "io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup "
    "io_submit ipc kill landlock_add_rule "
    "landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen "
    "listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat "
    "lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat "
    "mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open "
    "mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap "
    "mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at "
    "nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe "
    "pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv "
    "preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read "
    "readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg "
    "remap_file_pages removexattr removexattrat rename renameat renameat2 restart_syscall rmdir "
    "rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend "
    "rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr "
    "sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler "
    "sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr "
    "sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
    "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 "
    "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority "
    "setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 "
    "setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 "
    "setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 "
    "sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statmount "
    "statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create "
    "timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 "
    "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times "
    "tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat uretprobe utime utimensat "
    "utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev";

std::vector<std::string> allowed_for_everyone() {
  std::vector<std::string> names;
  std::string_view rest = kAllowedForEveryone;
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    names.emplace_back(rest.substr(0, space));
    rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
  }
  return names;
}

std::vector<Group> default_groups() {
  std::vector<Group> groups;
  groups.push_back(allow(allowed_for_everyone()));

  // ptrace of one's own children became safe to allow with the 4.8 seccomp/ptrace ordering fix.
  Group ptrace = allow({"process_vm_readv", "process_vm_writev", "ptrace"});
  ptrace.includes.min_kernel = {4, 8};
  groups.push_back(std::move(ptrace));

  // Any address family but AF_VSOCK, which reaches the host's vsock services across namespaces.
  groups.push_back(allow_if_arg({"socket"}, compare(0, SeccompOp::kNotEqual, AF_VSOCK)));

  // personality() only with the harmless personas and the query value.
  for (uint64_t persona : {uint64_t{PER_LINUX}, uint64_t{PER_LINUX32}, uint64_t{UNAME26},
                           uint64_t{PER_LINUX32} | uint64_t{UNAME26}, uint64_t{0xffffffff}})
    groups.push_back(allow_if_arg({"personality"}, compare(0, SeccompOp::kEqual, persona)));

  // Architecture-specific calls, selected by the architecture we run on.
  groups.push_back(allow_on_arches({"sync_file_range2", "swapcontext"}, {"ppc64le"}));
  groups.push_back(allow_on_arches({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
                                    "breakpoint", "cacheflush", "set_tls"},
                                   {"arm", "arm64"}));
  groups.push_back(allow_on_arches({"arch_prctl"}, {"amd64", "x32"}));
  groups.push_back(allow_on_arches({"modify_ldt"}, {"amd64", "x32", "x86"}));
  groups.push_back(allow_on_arches(
      {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}, {"s390", "s390x"}));
  groups.push_back(allow_on_arches({"riscv_flush_icache", "riscv_hwprobe"}, {"riscv64"}));

  // Capability-gated groups: the call is allowed only when the container holds the capability
  // the kernel checks for it anyway, so a container without the cap meets a smaller kernel surface.
  groups.push_back(allow_with_cap({"open_by_handle_at"}, CAP_DAC_READ_SEARCH));
  groups.push_back(allow_with_cap({"bpf",
                                   "clone",
                                   "clone3",
                                   "fanotify_init",
                                   "fsconfig",
                                   "fsmount",
                                   "fsopen",
                                   "fspick",
                                   "lookup_dcookie",
                                   "lsm_get_self_attr",
                                   "lsm_list_modules",
                                   "lsm_set_self_attr",
                                   "mount",
                                   "mount_setattr",
                                   "move_mount",
                                   "open_tree",
                                   "perf_event_open",
                                   "quotactl",
                                   "quotactl_fd",
                                   "setdomainname",
                                   "sethostname",
                                   "setns",
                                   "syslog",
                                   "umount",
                                   "umount2",
                                   "unshare"},
                                  CAP_SYS_ADMIN));

  // Without CAP_SYS_ADMIN: clone without namespace flags (s390 swaps clone's first two args).
  Group clone = allow_if_arg({"clone"}, compare(0, SeccompOp::kMaskedEqual, kNamespaceFlags, 0));
  clone.excludes.caps = cap(CAP_SYS_ADMIN);
  clone.excludes.arches = {"s390", "s390x"};
  groups.push_back(std::move(clone));
  Group clone_s390 =
      allow_if_arg({"clone"}, compare(1, SeccompOp::kMaskedEqual, kNamespaceFlags, 0));
  clone_s390.includes.arches = {"s390", "s390x"};
  clone_s390.excludes.caps = cap(CAP_SYS_ADMIN);
  groups.push_back(std::move(clone_s390));

  // clone3 passes its flags in memory a filter cannot read; ENOSYS makes glibc fall back to clone.
  Group clone3 = allow({"clone3"});
  clone3.action = SeccompAction::kErrno;
  clone3.errno_ret = ENOSYS;
  clone3.excludes.caps = cap(CAP_SYS_ADMIN);
  groups.push_back(std::move(clone3));

  groups.push_back(allow_with_cap({"reboot"}, CAP_SYS_BOOT));
  groups.push_back(allow_with_cap({"chroot"}, CAP_SYS_CHROOT));
  groups.push_back(
      allow_with_cap({"delete_module", "init_module", "finit_module"}, CAP_SYS_MODULE));
  groups.push_back(allow_with_cap({"acct"}, CAP_SYS_PACCT));
  groups.push_back(allow_with_cap(
      {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
      CAP_SYS_PTRACE));
  groups.push_back(allow_with_cap({"iopl", "ioperm"}, CAP_SYS_RAWIO));
  groups.push_back(
      allow_with_cap({"settimeofday", "stime", "clock_settime", "clock_settime64"}, CAP_SYS_TIME));
  groups.push_back(allow_with_cap({"vhangup"}, CAP_SYS_TTY_CONFIG));
  groups.push_back(allow_with_cap(
      {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}, CAP_SYS_NICE));
  groups.push_back(allow_with_cap({"syslog"}, CAP_SYSLOG));
  groups.push_back(allow_with_cap({"bpf"}, CAP_BPF));
  groups.push_back(allow_with_cap({"perf_event_open"}, CAP_PERFMON));
  return groups;
}

}  // namespace

SeccompProfile docker_default_profile(uint64_t capabilities) {
  // Only the ptrace group has a minKernel; if uname fails, leaving it out is the safe side.
  KernelVersion kernel = running_kernel_version().value_or(KernelVersion{});

  SeccompProfile profile;
  profile.default_action = SeccompAction::kErrno;
  profile.default_errno = EPERM;
  profile.architectures = seccomp_default_architectures();
  for (Group& group : default_groups()) {
    if (!seccomp_rule_applies(group.includes, group.excludes, capabilities, kernel)) continue;
    SeccompRule rule;
    rule.names = std::move(group.names);
    rule.action = group.action;
    rule.errno_ret = group.errno_ret;
    rule.args = std::move(group.args);
    profile.rules.push_back(std::move(rule));
  }
  return profile;
}

}  // namespace slipway::runtime
