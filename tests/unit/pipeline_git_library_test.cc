// pipeline/git_library.h: the dlopen'ed libgit2 is the release whose headers slipway was built with.
#include "pipeline/git_library.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace slipway::pipeline {
namespace {

TEST(GitLibrary, SonameAndPackageFollowTheHeadersVersion) {
  EXPECT_EQ(std::string(kLibgit2Soname), fmt::format("libgit2.so.{}.{}", LIBGIT2_VER_MAJOR, LIBGIT2_VER_MINOR));
  EXPECT_EQ(std::string(kLibgit2Package), fmt::format("libgit2-{}.{}", LIBGIT2_VER_MAJOR, LIBGIT2_VER_MINOR));
}

TEST(GitLibrary, LoadsTheReleaseItWasBuiltAgainst) {
  auto lib = load_git();
  ASSERT_TRUE(lib) << lib.error().message();
  int major = -1, minor = -1, revision = -1;
  (*lib)->git_libgit2_version(&major, &minor, &revision);
  EXPECT_EQ(major, LIBGIT2_VER_MAJOR);
  EXPECT_EQ(minor, LIBGIT2_VER_MINOR);
  // The same table on every call.
  EXPECT_EQ(*load_git(), *lib);
}

}  // namespace
}  // namespace slipway::pipeline
