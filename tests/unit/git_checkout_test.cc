// Checkout through a cached bare mirror, against real repositories made with the git CLI.
#include "pipeline/git_checkout.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "base/file_lock.h"
#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

constexpr int64_t kFirstTime = 1700000000;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class GitCheckoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = fs::join(dir_.path(), "src");
    cache_ = fs::join(dir_.path(), "cache");
    git_in(dir_.path(), {"init", "-q", "-b", "main", src_});
    write("hello.txt", "hello\n");
    write("dir/nested.txt", "nested\n");
    write("run.sh", "#!/bin/sh\necho run\n");
    ::chmod(fs::join(src_, "run.sh").c_str(), 0755);
    std::filesystem::create_symlink("hello.txt", fs::join(src_, "link"));
    first_ = commit("first commit\n\nwith a body", kFirstTime);
    git({"tag", "-a", "v1", "-m", "release 1"}, kFirstTime);
    git({"tag", "light"});
    write("hello.txt", "hello again\n");
    second_ = commit("second commit", kFirstTime + 100);
    git({"checkout", "-q", "-b", "feature", first_});
    write("feature.txt", "feature\n");
    feature_ = commit("feature commit", kFirstTime + 200);
    git({"checkout", "-q", "main"});
  }

  std::vector<std::string> env(int64_t time) const {
    std::string date = fmt::format("@{} +0000", time);
    return {"GIT_AUTHOR_NAME=Test",
            "GIT_AUTHOR_EMAIL=test@example.com",
            "GIT_AUTHOR_DATE=" + date,
            "GIT_COMMITTER_NAME=Test",
            "GIT_COMMITTER_EMAIL=test@example.com",
            "GIT_COMMITTER_DATE=" + date,
            "GIT_CONFIG_NOSYSTEM=1",
            "GIT_CONFIG_GLOBAL=/dev/null"};
  }
  std::string git_in(const std::string& dir, std::vector<std::string> args,
                     int64_t time = kFirstTime) {
    args.insert(args.begin(),
                {"git", "-C", dir, "-c", "user.name=Test", "-c", "user.email=test@example.com"});
    auto r = testing::run_command(args, "", env(time));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return trim(r.out);
  }
  std::string git(std::vector<std::string> args, int64_t time = kFirstTime) {
    return git_in(src_, std::move(args), time);
  }
  void write(const std::string& name, const std::string& data) {
    std::string path = fs::join(src_, name);
    ASSERT_TRUE(fs::make_dirs(std::filesystem::path(path).parent_path().string()));
    ASSERT_TRUE(fs::write_file(path, data));
  }
  std::string commit(const std::string& message, int64_t time) {
    git({"add", "-A"}, time);
    git({"commit", "-q", "-m", message}, time);
    return git({"rev-parse", "HEAD"});
  }
  std::string worktree(const std::string& name) { return fs::join(dir_.path(), name); }
  Result<CheckoutResult> run(const std::string& rev, const std::string& branch,
                             const std::string& wt, const std::string& repo = "") {
    return checkout({repo.empty() ? src_ : repo, rev, branch, cache_, worktree(wt)});
  }
  std::string read(const std::string& wt, const std::string& name) {
    auto data = fs::read_file(fs::join(worktree(wt), name));
    return data ? *data : "<missing>";
  }

  testing::TempDir dir_{"slipway-git"};
  std::string src_, cache_, first_, second_, feature_;
};

TEST_F(GitCheckoutTest, DefaultBranchIsTheRemoteHead) {
  auto r = run("", "", "wt");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->commit, second_);
  EXPECT_EQ(r->branch, "main");
  EXPECT_EQ(r->summary, "second commit");
  EXPECT_EQ(r->commit_time, kFirstTime + 100);
  EXPECT_EQ(r->worktree, worktree("wt"));
  EXPECT_EQ(read("wt", "hello.txt"), "hello again\n");
  EXPECT_EQ(read("wt", "dir/nested.txt"), "nested\n");
  EXPECT_FALSE(fs::exists(fs::join(worktree("wt"), "feature.txt")));
  // The worktree is a git repository detached at the commit, clean, and borrowing the mirror's
  // objects.
  EXPECT_EQ(git_in(worktree("wt"), {"rev-parse", "HEAD"}), second_);
  EXPECT_EQ(git_in(worktree("wt"), {"status", "--porcelain"}), "");
  EXPECT_EQ(git_in(worktree("wt"), {"log", "-1", "--format=%ct"}),
            std::to_string(kFirstTime + 100));
}

TEST_F(GitCheckoutTest, ByBranchName) {
  auto r = run("", "feature", "wt");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->commit, feature_);
  EXPECT_EQ(r->branch, "feature");
  EXPECT_EQ(read("wt", "feature.txt"), "feature\n");
  EXPECT_EQ(read("wt", "hello.txt"), "hello\n");
}

TEST_F(GitCheckoutTest, ByFullAndShortCommitId) {
  auto full = run(first_, "", "full");
  ASSERT_TRUE(full) << full.error().message();
  EXPECT_EQ(full->commit, first_);
  EXPECT_EQ(full->summary, "first commit");
  EXPECT_EQ(full->branch, "");
  EXPECT_EQ(read("full", "hello.txt"), "hello\n");
  auto short_id = run(first_.substr(0, 7), "", "short");
  ASSERT_TRUE(short_id) << short_id.error().message();
  EXPECT_EQ(short_id->commit, first_);
}

TEST_F(GitCheckoutTest, ByAnnotatedAndLightweightTag) {
  auto annotated = run("v1", "", "annotated");
  ASSERT_TRUE(annotated) << annotated.error().message();
  EXPECT_EQ(annotated->commit, first_);
  auto light = run("light", "", "light");
  ASSERT_TRUE(light) << light.error().message();
  EXPECT_EQ(light->commit, first_);
}

TEST_F(GitCheckoutTest, SecondCheckoutReusesTheMirrorAndFetches) {
  auto r1 = run("", "main", "wt1");
  ASSERT_TRUE(r1) << r1.error().message();
  auto mirror = mirror_path(src_, cache_);
  ASSERT_TRUE(mirror);
  ASSERT_TRUE(fs::is_dir(*mirror));
  struct stat before {};
  ASSERT_EQ(::stat(mirror->c_str(), &before), 0);

  write("new.txt", "new\n");
  std::string third = commit("third commit", kFirstTime + 300);
  auto r2 = run("", "main", "wt2");
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->commit, third);
  EXPECT_EQ(read("wt2", "new.txt"), "new\n");
  struct stat after {};
  ASSERT_EQ(::stat(mirror->c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // the same mirror, fetched into, not cloned again
  std::string hash = std::filesystem::path(*mirror).stem().string();
  EXPECT_EQ(hash.size(), 16u);
  EXPECT_EQ(*fs::list_dir(cache_), (std::vector<std::string>{hash + ".git", hash + ".lock"}));
  // The mirror holds every branch and tag under its own name.
  EXPECT_EQ(git_in(*mirror, {"rev-parse", "refs/heads/feature", "refs/tags/light"}),
            feature_ + "\n" + first_);
}

// A fetch or clone killed half-way leaves lock files and temp packs; a stale ref lock used to fail
// every later fetch. The next fetch removes them under the mirror's lock, and so does gc.
TEST_F(GitCheckoutTest, WhatAKilledFetchLeftIsRemoved) {
  ASSERT_TRUE(run("", "main", "wt1"));
  std::string mirror = *mirror_path(src_, cache_);
  std::string key = std::filesystem::path(mirror).stem().string();
  auto plant = [&] {
    for (const char* f :
         {"refs/heads/main.lock", "packed-refs.lock", "objects/pack/pack_git2_5f3a"})
      ASSERT_TRUE(fs::write_file(fs::join(mirror, f), ""));
  };
  plant();
  write("new.txt", "new\n");
  std::string third = commit("third commit", kFirstTime + 300);
  auto r2 = run("", "main", "wt2");
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->commit, third);
  EXPECT_FALSE(fs::exists(fs::join(mirror, "refs/heads/main.lock")));

  plant();
  // A first clone killed before its rename, and one that is running (its lock is held).
  ASSERT_TRUE(fs::make_dirs(fs::join(cache_, "aaaa.git.tmp/objects")));
  ASSERT_TRUE(fs::write_file(fs::join(cache_, "aaaa.lock"), ""));
  ASSERT_TRUE(fs::make_dirs(fs::join(cache_, "bbbb.git.tmp/objects")));
  auto busy = FileLock::acquire(fs::join(cache_, "bbbb.lock"), FileLock::Mode::kExclusive);
  ASSERT_TRUE(busy);
  auto removed = remove_partial_mirror_files(cache_);
  ASSERT_TRUE(removed) << removed.error().message();
  std::sort(removed->begin(), removed->end());
  std::vector<std::string> want = {"aaaa.git.tmp", key + ".git/objects/pack/pack_git2_5f3a",
                                   key + ".git/packed-refs.lock",
                                   key + ".git/refs/heads/main.lock"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*removed, want);
  EXPECT_TRUE(fs::is_dir(fs::join(cache_, "bbbb.git.tmp")));
  EXPECT_TRUE(fs::exists(fs::join(mirror, "HEAD")));
  auto r3 = run("", "main", "wt3");
  ASSERT_TRUE(r3) << r3.error().message();
}

TEST_F(GitCheckoutTest, FileUrlAndPathShareTheMirror) {
  auto by_path = run("", "", "path");
  ASSERT_TRUE(by_path) << by_path.error().message();
  auto by_url = run("", "", "url", "file://" + src_);
  ASSERT_TRUE(by_url) << by_url.error().message();
  EXPECT_EQ(by_url->commit, by_path->commit);
  EXPECT_EQ(*mirror_path("file://" + src_, cache_), *mirror_path(src_, cache_));
  EXPECT_EQ(*mirror_path(src_ + "/", cache_), *mirror_path(src_, cache_));
  std::string relative = std::filesystem::relative(src_).string();
  EXPECT_EQ(*mirror_path(relative, cache_), *mirror_path(src_, cache_));
}

TEST_F(GitCheckoutTest, BareSourceRepository) {
  std::string bare = fs::join(dir_.path(), "bare.git");
  git_in(dir_.path(), {"clone", "-q", "--bare", src_, bare});
  auto r = run("", "feature", "wt", bare);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->commit, feature_);
}

TEST_F(GitCheckoutTest, ExecutableBitAndSymlinkSurvive) {
  auto r = run("", "", "wt");
  ASSERT_TRUE(r) << r.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(fs::join(worktree("wt"), "run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0111u);
  ASSERT_EQ(::stat(fs::join(worktree("wt"), "hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0u);
  std::string link = fs::join(worktree("wt"), "link");
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(link).string(), "hello.txt");
}

TEST_F(GitCheckoutTest, CommitTimeIsTheCommitterTime) {
  // Author and committer dates differ: SOURCE_DATE_EPOCH follows the committer, like git log %ct.
  write("late.txt", "late\n");
  git({"add", "-A"});
  std::vector<std::string> e = env(kFirstTime + 5000);
  e[2] = fmt::format("GIT_AUTHOR_DATE=@{} +0000", kFirstTime + 1);
  auto made = testing::run_command({"git", "-C", src_, "commit", "-q", "-m", "late"}, "", e);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto r = run("", "", "wt");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->commit_time, kFirstTime + 5000);
  EXPECT_EQ(std::to_string(r->commit_time), git({"log", "-1", "--format=%ct"}));
}

TEST_F(GitCheckoutTest, ClearErrors) {
  auto unknown = run("no-such-rev", "", "wt1");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "unknown revision \"no-such-rev\" in " + src_);
  EXPECT_FALSE(fs::exists(worktree("wt1")));

  auto no_branch = run("", "nope", "wt2");
  ASSERT_FALSE(no_branch);
  EXPECT_EQ(no_branch.error().message(), "unknown branch \"nope\" in " + src_);

  std::string missing = fs::join(dir_.path(), "missing");
  auto gone = run("", "", "wt3", missing);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message(), "repository " + missing + " does not exist");
  auto gone_url = run("", "", "wt3", "file://" + missing);
  ASSERT_FALSE(gone_url);
  EXPECT_EQ(gone_url.error().message(), "repository " + missing + " does not exist");

  std::string not_git = fs::join(dir_.path(), "plain");
  ASSERT_TRUE(fs::make_dirs(not_git));
  auto plain = run("", "", "wt4", not_git);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message().find("clone " + not_git + ": "), std::string::npos)
      << plain.error().message();
  EXPECT_EQ(plain.error().message().find('\n'), std::string::npos);
  // A failed first clone leaves no mirror behind, not even a half one.
  EXPECT_FALSE(fs::exists(*mirror_path(not_git, cache_)));
  EXPECT_FALSE(fs::exists(*mirror_path(not_git, cache_) + ".tmp"));

  ASSERT_TRUE(fs::make_dirs(worktree("full")));
  ASSERT_TRUE(fs::write_file(fs::join(worktree("full"), "file"), "x"));
  auto busy = run("", "", "full");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().message(), "worktree " + worktree("full") + " exists and is not empty");
}

TEST_F(GitCheckoutTest, ExistingEmptyWorktreeIsUsed) {
  ASSERT_TRUE(fs::make_dirs(worktree("wt")));
  auto r = run("", "", "wt");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(read("wt", "hello.txt"), "hello again\n");
}

TEST_F(GitCheckoutTest, ResolveBranchHeadFollowsTheBranch) {
  auto head = resolve_branch_head(src_, "", cache_);
  ASSERT_TRUE(head) << head.error().message();
  EXPECT_EQ(*head, second_);
  EXPECT_EQ(*resolve_branch_head(src_, "feature", cache_), feature_);

  write("more.txt", "more\n");
  std::string third = commit("third", kFirstTime + 300);
  EXPECT_EQ(*resolve_branch_head(src_, "main", cache_), third);
  EXPECT_EQ(*resolve_branch_head("file://" + src_, "", cache_), third);

  // A deleted branch is pruned from the mirror.
  git({"branch", "-q", "-D", "feature"});
  auto gone = resolve_branch_head(src_, "feature", cache_);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message(), "unknown branch \"feature\" in " + src_);
}

TEST_F(GitCheckoutTest, ConcurrentCheckoutsShareOneMirror) {
  constexpr int kThreads = 4;
  std::vector<Result<CheckoutResult>> results(kThreads, fail("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = run("", "main", "wt" + std::to_string(i)); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().message();
    EXPECT_EQ(results[i]->commit, second_);
    EXPECT_EQ(read("wt" + std::to_string(i), "hello.txt"), "hello again\n");
  }
  EXPECT_EQ(fs::list_dir(cache_)->size(), 2u);  // one mirror and its lock
}

TEST_F(GitCheckoutTest, ColdAndWarmTiming) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  auto t0 = Clock::now();
  auto cold = run("", "", "cold");
  auto t1 = Clock::now();
  ASSERT_TRUE(cold) << cold.error().message();
  auto warm = run("", "", "warm");
  auto t2 = Clock::now();
  ASSERT_TRUE(warm) << warm.error().message();
  auto pinned = run(second_, "", "pinned");  // full id already in the mirror: no fetch
  auto t3 = Clock::now();
  ASSERT_TRUE(pinned) << pinned.error().message();
  std::printf("checkout of a 5-file repo in %s: cold %.2f ms, warm %.2f ms, warm pinned %.2f ms\n",
              dir_.path().c_str(), ms(t1 - t0), ms(t2 - t1), ms(t3 - t2));
}

}  // namespace
}  // namespace slipway::pipeline
