// Container records: any bytes round-trip, a failed or killed create never wedges a name, and gc
// reclaims records whose creator died before the container started.
#include "runtime/container_store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "runtime/container_ops.h"
#include "tests/support/test_support.h"

namespace slipway::runtime {
namespace {

ContainerRecord sample(const std::string& id_char, const std::string& name) {
  ContainerRecord r;
  r.id = std::string(64, id_char[0]);
  r.name = name;
  r.spec.id = r.id;
  r.spec.process.args = {"echo", "\xff\xfe"};
  r.spec.process.env = {"A=\xfe", "PATH=/bin"};
  r.spec.process.cwd = "/w\xff";
  return r;
}

class ContainerStoreTest : public ::testing::Test {
 protected:
  ContainerStore store() { return *ContainerStore::open(dir_.path()); }
  slipway::testing::TempDir dir_;
};

TEST_F(ContainerStoreTest, NonUtf8BytesRoundTrip) {
  auto created = store().create(sample("a", "keepme"));
  ASSERT_TRUE(created) << created.error().message();
  auto back = store().find("keepme");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->spec.process.args, sample("a", "keepme").spec.process.args);
  EXPECT_EQ(back->spec.process.env, sample("a", "keepme").spec.process.env);
  EXPECT_EQ(back->spec.process.cwd, "/w\xff");
  ContainerState s;
  s.error = "exec /bin/\xff: not found";
  ASSERT_TRUE(store().save_state(back->id, s));
  EXPECT_EQ(store().load_state(back->id)->error, s.error);
}

TEST_F(ContainerStoreTest, NameInUseUntilRemovedThenFree) {
  ASSERT_TRUE(store().create(sample("a", "web")));
  auto second = store().create(sample("b", "web"));
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("already in use by container aaaaaaaaaaaa"), std::string::npos)
      << second.error().message();
  EXPECT_FALSE(fs::exists(store().dir(std::string(64, 'b')))) << "a refused create leaves nothing";
  ASSERT_TRUE(store().remove(*store().find("web")));
  EXPECT_TRUE(store().create(sample("b", "web")));
}

TEST_F(ContainerStoreTest, LeftoverNameLinkIsTakenOver) {
  // What a create or remove killed half-way leaves: a name pointing at no record.
  ContainerStore s = store();
  std::string link = dir_.path() + "/containers/names/keepme";
  ASSERT_EQ(::symlink(std::string(64, 'c').c_str(), link.c_str()), 0);
  auto r = s.create(sample("a", "keepme"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(s.find("keepme")->id, std::string(64, 'a'));
}

TEST_F(ContainerStoreTest, GcReclaimsRecordsWhoseCreatorDiedBeforeStart) {
  // A child creates two records and dies without starting them (a killed `run`).
  pid_t pid = ::fork();
  if (pid == 0) {
    ContainerRecord rm = sample("a", "rm-me");
    rm.auto_remove = true;
    bool ok = store().create(rm) && store().create(sample("b", "keep-me"));
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_EQ(status, 0);
  // One created by this live process stays alone.
  ASSERT_TRUE(store().create(sample("c", "mine")));
  // A record whose creator died before it linked the name.
  pid = ::fork();
  if (pid == 0) {
    bool ok = store().create(sample("d", "nameless")).has_value();
    ::unlink((dir_.path() + "/containers/names/nameless").c_str());
    ::_exit(ok ? 0 : 1);
  }
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_EQ(status, 0);

  auto report = collect_garbage(store());
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->containers.size(), 3u);
  EXPECT_FALSE(store().find("rm-me")) << "--rm record removed";
  EXPECT_FALSE(fs::exists(store().dir(std::string(64, 'd')))) << "a record nobody can name is removed";
  auto kept = store().find("keep-me");
  ASSERT_TRUE(kept);
  ContainerState s = *store().load_state(kept->id);
  EXPECT_EQ(s.status, ContainerStatus::kExited);
  EXPECT_NE(s.error.find("killed"), std::string::npos) << s.error;
  EXPECT_EQ(store().load_state(std::string(64, 'c'))->status, ContainerStatus::kCreated);
  // A second gc finds nothing more.
  EXPECT_TRUE(collect_garbage(store())->containers.empty());
}

// A record dir under its id is always complete: creates and removes work under .<id>.<pid>, and
// what a killed one leaves there gc removes once that pid is gone.
TEST_F(ContainerStoreTest, KilledCreatesAndRemovesLeaveOnlyHiddenDirsThatGcRemoves) {
  std::string containers = dir_.path() + "/containers";
  ASSERT_TRUE(store().create(sample("a", "whole")));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Killed right after its mkdir, as a create would be.
    bool ok = fs::make_dirs(fmt::format("{}/.{}.{}", containers, std::string(64, 'b'), ::getpid()))
                  .has_value();
    ::_exit(ok ? 0 : 1);
  }
  int status = -1;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_EQ(status, 0);
  std::string dead = fmt::format(".{}.{}", std::string(64, 'b'), pid);
  std::string live = fmt::format(".{}.{}", std::string(64, 'c'), ::getpid());
  ASSERT_TRUE(fs::make_dirs(containers + "/" + live));

  auto all = store().list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().name, "whole");
  EXPECT_FALSE(store().find("b")) << "a hidden dir is no container";
  auto removed = store().remove_partial_records();
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed, std::vector<std::string>{dead});
  ASSERT_TRUE(store().remove(*store().find("whole")));
  EXPECT_EQ(*fs::list_dir(containers), (std::vector<std::string>{live, "names"}));
  EXPECT_TRUE(store().remove(all->front()).has_value()) << "removing it again is no error";
}

}  // namespace
}  // namespace slipway::runtime
