// base/shared_library.h: the dlopen loader and function tables behind load_curl() and load_git().
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "base/shared_library.h"

namespace slipway {
namespace {

TEST(SharedLibraryTest, BindsFunctionsOfALoadedLibrary) {
  auto libc = SharedLibrary::open("libc.so.6", "libc6");
  ASSERT_TRUE(libc) << libc.error().message();
  pid_t (*get_pid)() = nullptr;
  ASSERT_TRUE(libc->bind("getpid", get_pid));
  ASSERT_NE(get_pid, nullptr);
  EXPECT_EQ(get_pid(), ::getpid());
}

TEST(SharedLibraryTest, ErrorsNameTheLibraryThePackageAndTheSymbol) {
  auto missing = SharedLibrary::open("libslipway-nothing.so.0", "slipway-nothing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message().find(
                "cannot load libslipway-nothing.so.0 (install Debian's slipway-nothing): "),
            0u)
      << missing.error().message();

  auto libc = SharedLibrary::open("libc.so.6", "libc6");
  ASSERT_TRUE(libc);
  void (*nothing)() = nullptr;
  auto bound = libc->bind("slipway_no_such_function", nothing);
  ASSERT_FALSE(bound);
  EXPECT_EQ(bound.error().message(), "libc.so.6 has no symbol slipway_no_such_function");
  EXPECT_EQ(nothing, nullptr);
}

struct Table {
  int (*answer)() = nullptr;
};

int forty_two() {
  return 42;
}

TEST(SharedLibraryTest, ATableIsFilledOnceAcrossThreads) {
  LibraryTable<Table> table;
  std::atomic<int> runs = 0;
  auto fill = [&](Table& t) -> Status {
    ++runs;
    t.answer = forty_two;
    return {};
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      auto t = table.load(fill);
      ASSERT_TRUE(t);
      EXPECT_EQ((*t)->answer(), 42);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(table.get().answer(), 42);
}

TEST(SharedLibraryTest, AFailedLoadIsReportedAgainWithoutRetrying) {
  LibraryTable<Table> table;
  int runs = 0;
  auto fill = [&](Table&) -> Status {
    ++runs;
    return fail("no such library");
  };
  for (int i = 0; i < 2; ++i) {
    auto t = table.load(fill);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().message(), "no such library");
  }
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace slipway
