// Real cgroups on this host: limits land in the files, processes land in the cgroup, the pids and
// memory limits bite, kill_all and destroy leave nothing behind, gc removes the cgroups of its
// store's dead containers only. Each test uses its own slipway/test-<pid>-<n> cgroups (or
// slipway/<id> with ids made from its pid) and removes them even when it fails.
#include "runtime/cgroups.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "runtime/container_ops.h"
#include "runtime/container_store.h"
#include "tests/support/test_support.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;

// A forked child that waits until start() and then exits with body()'s value. The destructor kills
// and reaps it if the test did not, so a failing test leaves no process behind.
class Child {
 public:
  explicit Child(const std::function<int()>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::close(p[1]);
      char c;
      if (::read(p[0], &c, 1) != 1) ::_exit(100);
      ::_exit(body());
    }
    ::close(p[0]);
    go_ = UniqueFd(p[1]);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (reaped_) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  pid_t pid() const { return pid_; }
  void start() {
    ASSERT_EQ(::write(go_.get(), "x", 1), 1);
    go_.reset();
  }
  // The wait status.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd go_;
  bool reaped_ = false;
};

[[noreturn]] void pause_forever() {
  for (;;) ::pause();
}

std::string read_trimmed(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return "<" + text.error().message() + ">";
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

// Orphans killed in a cgroup are reaped by init, not by us.
bool gone_or_zombie(pid_t pid) {
  auto stat = fs::read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return true;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && stat->compare(paren, 4, ") Z ") == 0;
}

// Polls until pred() holds or 5 s pass.
bool eventually(const std::function<bool()>& pred) {
  for (auto end = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < end;) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

enum class Mode {
  kHost,         // the layout detect_cgroup_layout() finds
  kUnifiedOnly,  // v2 code on the cgroup2 mount of a hybrid host (no controllers there)
};

class CgroupRootTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (!slipway::testing::is_root()) GTEST_SKIP() << "needs root to create cgroups; run as root";
    // Orphans of our children come back to us, so TearDown can reap them and see none is left.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    auto layout = detect_cgroup_layout();
    ASSERT_TRUE(layout) << layout.error().message();
    layout_ = *layout;
    if (GetParam() == Mode::kUnifiedOnly) {
      if (layout_.version != CgroupVersion::kHybrid)
        GTEST_SKIP() << "host is " << to_string(layout_.version)
                     << ", not hybrid: its v2 code runs in the Host tests";
      layout_ =
          CgroupLayout{.version = CgroupVersion::kV2, .v1_mounts = {}, .v2_root = layout_.v2_root};
    }
  }

  void TearDown() override {
    for (const auto& name : names_) {
      std::vector<std::string> left = leftovers(name);
      EXPECT_EQ(left, std::vector<std::string>{}) << "cgroup dirs left behind";
      if (left.empty()) continue;
      if (auto cg = Cgroup::open_existing(layout_, name)) (void)cg->destroy();
    }
    EXPECT_TRUE(reap_children()) << "child processes left running";
  }

  // Reaps every child (killed cgroup members are zombies by now or shortly); false if one lives on.
  static bool reap_children() {
    return eventually([] {
      for (;;) {
        pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
        if (pid < 0) return errno == ECHILD;
        if (pid == 0) return false;
      }
    });
  }

  std::string unique_name() {
    names_.push_back(fmt::format("slipway/test-{}-{}", ::getpid(), ++counter_));
    return names_.back();
  }
  // A container id (64 hex digits) of this process whose cgroup TearDown checks like unique_name's.
  std::string unique_id() {
    std::string id = fmt::format("{:08x}{:056x}", ::getpid(), ++counter_);
    names_.push_back(container_cgroup_name(id));
    return id;
  }

  // Directories of cgroup `name` in any hierarchy, found by walking /sys/fs/cgroup.
  static std::vector<std::string> leftovers(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& p : slipway::testing::cgroups_containing(name))
      if (p.ends_with("/" + name) || p.find("/" + name + "/") != std::string::npos)
        out.push_back(p);
    return out;
  }

  bool has_controller(const std::string& controller) const {
    if (layout_.uses_v1()) return layout_.v1_mounts.contains(controller);
    auto text = fs::read_file(fs::join(layout_.v2_root, "cgroup.controllers"));
    return text && (" " + *text).find(" " + controller) != std::string::npos;
  }

  // The one file named `file` in the cgroup's directories (the dir of the controller it belongs
  // to).
  std::string file_of(const Cgroup& cg, const std::string& file) const {
    for (const auto& dir : cg.paths())
      if (fs::exists(fs::join(dir, file))) return fs::join(dir, file);
    return "<no " + file + " in any dir of " + cg.name() + ">";
  }

  CgroupLayout layout_;
  std::vector<std::string> names_;
  static inline int counter_ = 0;
};

#define SKIP_WITHOUT(controller)                                                   \
  if (!has_controller(controller))                                                 \
  GTEST_SKIP() << "the " controller " controller is not available in this layout " \
               << "(v2 root " << layout_.v2_root << ")"

TEST_P(CgroupRootTest, CreateWritesTheLimitsIntoTheFiles) {
  SKIP_WITHOUT("memory");
  SKIP_WITHOUT("cpu");
  SKIP_WITHOUT("pids");
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {.memory_bytes = 64 << 20, .cpus = 0.5, .pids = 32});
  ASSERT_TRUE(cg) << cg.error().message();
  for (const auto& dir : cg->paths()) {
    EXPECT_TRUE(dir.ends_with("/" + name)) << dir;
    EXPECT_TRUE(fs::is_dir(dir)) << dir;
  }
  if (layout_.uses_v1()) {
    // One dir per hierarchy slipway uses, co-mounted controllers sharing theirs.
    std::set<std::string> want;
    for (std::string c : {"memory", "cpu", "cpuacct", "pids", "freezer", "devices"})
      if (layout_.v1_mounts.contains(c)) want.insert(fs::join(layout_.v1_mounts.at(c), name));
    EXPECT_EQ(cg->paths(), std::vector<std::string>(want.begin(), want.end()));
    EXPECT_EQ(read_trimmed(file_of(*cg, "memory.limit_in_bytes")), "67108864");
    if (layout_.v1_mounts.contains("devices")) {
      // Everything denied but the container's own devices (and mknod).
      std::string list = read_trimmed(file_of(*cg, "devices.list"));
      EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << list;
      EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << list;
    }
    std::string memsw =
        fs::join(fs::join(layout_.v1_mounts.at("memory"), name), "memory.memsw.limit_in_bytes");
    if (fs::exists(memsw)) {
      EXPECT_EQ(read_trimmed(memsw), "67108864");
    }
    EXPECT_EQ(read_trimmed(file_of(*cg, "cpu.cfs_period_us")), "100000");
    EXPECT_EQ(read_trimmed(file_of(*cg, "cpu.cfs_quota_us")), "50000");
    EXPECT_EQ(read_trimmed(file_of(*cg, "pids.max")), "32");
  } else {
    ASSERT_EQ(cg->paths(), std::vector<std::string>{fs::join(layout_.v2_root, name)});
    EXPECT_EQ(read_trimmed(file_of(*cg, "memory.max")), "67108864");
    std::string swap = fs::join(cg->paths()[0], "memory.swap.max");
    if (fs::exists(swap)) {
      EXPECT_EQ(read_trimmed(swap), "0");
    }
    EXPECT_EQ(read_trimmed(file_of(*cg, "cpu.max")), "50000 100000");
    EXPECT_EQ(read_trimmed(file_of(*cg, "pids.max")), "32");
  }
  auto destroyed = cg->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message();
  EXPECT_EQ(leftovers(name), std::vector<std::string>{});
}

TEST_P(CgroupRootTest, AddProcessPlacesItInEveryHierarchy) {
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(cg) << cg.error().message();
  Child child([]() -> int { pause_forever(); });
  auto added = cg->add_process(child.pid());
  ASSERT_TRUE(added) << added.error().message();

  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});

  // /proc/<pid>/cgroup: "id:controllers:path", path relative to the hierarchy's root. Without a
  // CPU limit (or CPU accounting asked for) v1's cpu and cpuacct hierarchies are left alone.
  std::set<std::string> ours = {"memory", "pids", "freezer", "devices"};
  std::string text = read_trimmed(fmt::format("/proc/{}/cgroup", child.pid()));
  size_t placed = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1), path = line.substr(c2 + 1);
    bool relevant = false;
    if (layout_.uses_v1()) {
      std::istringstream cs(controllers);
      for (std::string c; std::getline(cs, c, ',');) relevant |= ours.contains(c);
    } else {
      relevant = controllers.empty();
    }
    if (!relevant) continue;
    EXPECT_TRUE(path.ends_with("/" + name)) << line;
    ++placed;
  }
  EXPECT_EQ(placed, cg->paths().size()) << text;

  auto destroyed = cg->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message();
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(leftovers(name), std::vector<std::string>{});
}

TEST_P(CgroupRootTest, PidsLimitStopsAForkLoop) {
  SKIP_WITHOUT("pids");
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {.pids = 8});
  ASSERT_TRUE(cg) << cg.error().message();
  // Exits with the number of forks that worked before one failed with EAGAIN (200: other error).
  Child child([] {
    for (int made = 0; made < 100; ++made) {
      pid_t p = ::fork();
      if (p == 0) pause_forever();
      if (p < 0) return errno == EAGAIN ? made : 200;
    }
    return 150;
  });
  ASSERT_TRUE(cg->add_process(child.pid()));
  child.start();
  int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  // The child itself counts: it plus 7 children reach pids.max 8.
  EXPECT_EQ(WEXITSTATUS(status), 7);
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(pids->size(), 7u);
  std::string events = file_of(*cg, "pids.events");
  EXPECT_GE(parse_cgroup_key(read_trimmed(events), "max").value_or(0), 1) << events;

  auto destroyed = cg->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message();
  for (pid_t pid : *pids) EXPECT_TRUE(eventually([&] { return gone_or_zombie(pid); })) << pid;
  EXPECT_EQ(leftovers(name), std::vector<std::string>{});
}

TEST_P(CgroupRootTest, MemoryLimitGetsAHogOomKilled) {
  SKIP_WITHOUT("memory");
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {.memory_bytes = 16 << 20});
  ASSERT_TRUE(cg) << cg.error().message();
  auto before = cg->oom_killed();
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_FALSE(*before);
  // Touches 64 MiB of fresh pages; exits 0 only if it survives.
  Child child([] {
    constexpr size_t kSize = 64 << 20;
    void* mem = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 2;
    auto* bytes = static_cast<volatile char*>(mem);
    for (size_t i = 0; i < kSize; i += 4096) bytes[i] = 1;
    return 0;
  });
  ASSERT_TRUE(cg->add_process(child.pid()));
  child.start();
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
  auto after = cg->oom_killed();
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_TRUE(*after);
  ASSERT_TRUE(cg->destroy());
  EXPECT_EQ(leftovers(name), std::vector<std::string>{});
}

TEST_P(CgroupRootTest, KillAllSigkillsEveryMemberAndReturnsWhenEmpty) {
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(cg) << cg.error().message();
  // Five children (outside our reach but inside the cgroup) and the child itself.
  Child child([]() -> int {
    for (int i = 0; i < 5; ++i)
      if (::fork() == 0) pause_forever();
    pause_forever();
  });
  ASSERT_TRUE(cg->add_process(child.pid()));
  child.start();
  ASSERT_TRUE(eventually([&] { return cg->pids().value_or(std::vector<pid_t>{}).size() == 6; }));

  auto killed = cg->kill_all(SIGKILL);
  ASSERT_TRUE(killed) << killed.error().message();
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{});
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  ASSERT_TRUE(cg->destroy());
}

TEST_P(CgroupRootTest, KillAllWorksWithoutAFreezer) {
  if (!layout_.uses_v1()) GTEST_SKIP() << "v2 always has cgroup.kill or cgroup.freeze here";
  // As on a v1 host without the freezer mounted: signal passes repeat until the cgroup is empty.
  layout_.v1_mounts.erase("freezer");
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(cg) << cg.error().message();
  for (const auto& dir : cg->paths()) EXPECT_FALSE(fs::exists(fs::join(dir, "freezer.state")));
  Child child([]() -> int {
    for (int i = 0; i < 3; ++i)
      if (::fork() == 0) pause_forever();
    pause_forever();
  });
  ASSERT_TRUE(cg->add_process(child.pid()));
  child.start();
  ASSERT_TRUE(eventually([&] { return cg->pids().value_or(std::vector<pid_t>{}).size() == 4; }));
  auto killed = cg->kill_all(SIGKILL);
  ASSERT_TRUE(killed) << killed.error().message();
  EXPECT_EQ(cg->pids().value_or(std::vector<pid_t>{-1}), std::vector<pid_t>{});
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  ASSERT_TRUE(cg->destroy());
}

TEST_P(CgroupRootTest, KillAllDeliversOtherSignalsAndThawsAfterwards) {
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(cg) << cg.error().message();
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]), write_end(p[1]);
  // Each of three members reports SIGUSR1 on the pipe: only a thawed process runs its handler.
  static int report_fd;
  report_fd = write_end.get();
  Child child([]() -> int {
    struct sigaction sa = {};
    sa.sa_handler = [](int) { (void)!::write(report_fd, "u", 1); };
    ::sigaction(SIGUSR1, &sa, nullptr);
    for (int i = 0; i < 2; ++i)
      if (::fork() == 0) pause_forever();
    pause_forever();
  });
  write_end.reset();
  ASSERT_TRUE(cg->add_process(child.pid()));
  child.start();
  ASSERT_TRUE(eventually([&] { return cg->pids().value_or(std::vector<pid_t>{}).size() == 3; }));

  auto sent = cg->kill_all(SIGUSR1);
  ASSERT_TRUE(sent) << sent.error().message();
  std::string got;
  ASSERT_TRUE(eventually([&] {
    char buf[8];
    ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n > 0) got.append(buf, n);
    return got.size() >= 3;
  }));
  EXPECT_EQ(got, "uuu");
  EXPECT_EQ(cg->pids().value_or(std::vector<pid_t>{}).size(), 3u);
  if (layout_.uses_v1() && layout_.v1_mounts.contains("freezer")) {
    EXPECT_EQ(read_trimmed(file_of(*cg, "freezer.state")), "THAWED");
  }
  ASSERT_TRUE(cg->destroy());
}

TEST_P(CgroupRootTest, DestroyRemovesNestedCgroupsAndIsIdempotent) {
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(cg) << cg.error().message();
  Child child([]() -> int { pause_forever(); });
  // A container may make cgroups of its own below its cgroup; put the child in one.
  for (const auto& dir : cg->paths()) {
    std::string sub = fs::join(dir, "inner");
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0) << sub;
    ASSERT_TRUE(fs::write_file(fs::join(sub, "cgroup.procs"), std::to_string(child.pid())));
  }
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});

  auto destroyed = cg->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message();
  for (const auto& dir : cg->paths()) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_EQ(leftovers(name), std::vector<std::string>{});
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  auto again = cg->destroy();
  EXPECT_TRUE(again) << again.error().message();
}

TEST_P(CgroupRootTest, DestructorDestroysUnlessReleased) {
  std::string owned = unique_name();
  {
    auto cg = Cgroup::create(layout_, owned, {});
    ASSERT_TRUE(cg) << cg.error().message();
    Cgroup moved = std::move(*cg);  // the moved-from object must not remove it
    EXPECT_FALSE(leftovers(owned).empty());
  }
  EXPECT_EQ(leftovers(owned), std::vector<std::string>{});

  std::string handed_over = unique_name();
  std::vector<std::string> paths;
  {
    auto cg = Cgroup::create(layout_, handed_over, {});
    ASSERT_TRUE(cg) << cg.error().message();
    paths = cg->paths();
    cg->release();
  }
  for (const auto& dir : paths) EXPECT_TRUE(fs::is_dir(dir)) << dir;
  // Another process (here: another object) takes it over and removes it.
  auto reopened = Cgroup::open_existing(layout_, handed_over);
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_EQ(reopened->paths(), paths);
  ASSERT_TRUE(reopened->destroy());
  EXPECT_EQ(leftovers(handed_over), std::vector<std::string>{});
}

TEST_P(CgroupRootTest, OpenExistingFailsForAMissingCgroup) {
  std::string name = unique_name();
  auto cg = Cgroup::open_existing(layout_, name);
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().code(), ENOENT);
  EXPECT_EQ(cg.error().message(), fmt::format("cgroup {} does not exist", name));
}

TEST_P(CgroupRootTest, CreateRefusesAnExistingCgroupAndLeavesItAlone) {
  std::string name = unique_name();
  auto first = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(first) << first.error().message();
  auto second = Cgroup::create(layout_, name, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find(": File exists"), std::string::npos)
      << second.error().message();
  EXPECT_NE(second.error().message().find(name), std::string::npos) << second.error().message();
  for (const auto& dir : first->paths()) EXPECT_TRUE(fs::is_dir(dir)) << dir;
  ASSERT_TRUE(first->destroy());
}

TEST_P(CgroupRootTest, MissingControllerIsNamedAndNothingIsCreated) {
  if (has_controller("memory")) GTEST_SKIP() << "this layout has the memory controller";
  std::string name = unique_name();
  auto cg = Cgroup::create(layout_, name, {.memory_bytes = 16 << 20});
  ASSERT_FALSE(cg);
  EXPECT_TRUE(cg.error().message().starts_with(
      "--memory needs the memory cgroup controller, which this host does not have"))
      << cg.error().message();
  EXPECT_EQ(leftovers(name), std::vector<std::string>{});
  // oom_killed() on a cgroup without the memory controller says why it cannot answer.
  auto plain = Cgroup::create(layout_, name, {});
  ASSERT_TRUE(plain) << plain.error().message();
  auto oom = plain->oom_killed();
  ASSERT_FALSE(oom);
  EXPECT_EQ(
      oom.error().message(),
      fmt::format("cgroup {} has no memory controller, which OOM kill detection needs", name));
}

TEST_P(CgroupRootTest, GcRemovesOnlyTheCgroupsOfItsDeadContainers) {
  if (GetParam() != Mode::kHost)
    GTEST_SKIP() << "gc works on the layout detect_cgroup_layout() finds";
  slipway::testing::TempDir root("slipway-cgroup-gc");
  auto store = ContainerStore::open(root.path());
  ASSERT_TRUE(store) << store.error().message();
  std::string dead_id = unique_id(), alive_id = unique_id(), foreign_id = unique_id();
  for (const auto& [id, name] : {std::pair{dead_id, "dead"}, std::pair{alive_id, "alive"}}) {
    ContainerRecord r;
    r.id = id;
    r.name = name;
    r.spec.id = id;
    ASSERT_TRUE(store->create(r));
  }
  // The dead one's processes are gone (start times that match no process): a killed runtime.
  ContainerState dead;
  dead.status = ContainerStatus::kRunning;
  dead.pid = dead.supervisor_pid = ::getpid();
  dead.pid_start_time = dead.supervisor_start_time = 1;
  ASSERT_TRUE(store->save_state(dead_id, dead));
  ContainerState alive = dead;
  alive.pid_start_time = alive.supervisor_start_time = process_start_time(::getpid());
  ASSERT_TRUE(store->save_state(alive_id, alive));

  auto dead_cg = Cgroup::create(layout_, container_cgroup_name(dead_id), {});
  ASSERT_TRUE(dead_cg) << dead_cg.error().message();
  auto alive_cg = Cgroup::create(layout_, container_cgroup_name(alive_id), {});
  ASSERT_TRUE(alive_cg) << alive_cg.error().message();
  // Another root's container: no record in this store, so gc must leave it alone.
  auto foreign_cg = Cgroup::create(layout_, container_cgroup_name(foreign_id), {});
  ASSERT_TRUE(foreign_cg) << foreign_cg.error().message();
  Child leftover([]() -> int { pause_forever(); });
  ASSERT_TRUE(dead_cg->add_process(leftover.pid()));
  dead_cg->release();  // as if its slipway process had been killed

  auto report = collect_garbage(*store);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->containers, std::vector<std::string>{dead_id});
  EXPECT_EQ(leftovers(container_cgroup_name(dead_id)), std::vector<std::string>{});
  int status = leftover.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(store->load_state(dead_id)->status, ContainerStatus::kExited);
  for (const auto& dir : alive_cg->paths()) EXPECT_TRUE(fs::is_dir(dir)) << dir;
  for (const auto& dir : foreign_cg->paths()) EXPECT_TRUE(fs::is_dir(dir)) << dir;
  ASSERT_TRUE(alive_cg->destroy());
  ASSERT_TRUE(foreign_cg->destroy());
}

INSTANTIATE_TEST_SUITE_P(Cgroups, CgroupRootTest,
                         ::testing::Values(Mode::kHost, Mode::kUnifiedOnly), [](const auto& info) {
                           return info.param == Mode::kHost ? "Host" : "UnifiedOnly";
                         });

}  // namespace
}  // namespace slipway::runtime
