// Layer entry path cleaning and whiteout classification.
#include <gtest/gtest.h>

#include "oci/layer/path.h"

namespace slipway::oci {
namespace {

using Comps = std::vector<std::string>;

TEST(LayerPath, CleansLikeDocker) {
  EXPECT_EQ(*clean_entry_path("a/b/c"), (Comps{"a", "b", "c"}));
  EXPECT_EQ(*clean_entry_path("./a//b/./c/"), (Comps{"a", "b", "c"}));
  EXPECT_EQ(*clean_entry_path("/etc/passwd"), (Comps{"etc", "passwd"}));
  EXPECT_EQ(*clean_entry_path("a/../b"), (Comps{"b"}));
  EXPECT_EQ(*clean_entry_path("./"), Comps{});
  EXPECT_EQ(*clean_entry_path("/"), Comps{});
}

TEST(LayerPath, RejectsEscapesNamingTheEntry) {
  for (const char* raw : {"..", "../x", "a/../../x", "/../etc/passwd", "./a/b/../../../x"}) {
    auto r = clean_entry_path(raw);
    ASSERT_FALSE(r) << raw;
    EXPECT_EQ(r.error().message(),
              fmt::format("entry '{}': path escapes the layer directory", raw));
  }
  auto long_name = clean_entry_path(std::string(256, 'x'));
  ASSERT_FALSE(long_name);
  EXPECT_NE(long_name.error().message().find("too long"), std::string::npos);
}

TEST(LayerPath, ClassifiesPlainEntries) {
  auto e = classify_entry_path("usr/bin/env");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->action, EntryAction::kCreate);
  EXPECT_EQ(e->parents, (Comps{"usr", "bin"}));
  EXPECT_EQ(e->name, "env");
  auto root = classify_entry_path("./");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->action, EntryAction::kCreate);
  EXPECT_TRUE(root->name.empty());
  EXPECT_TRUE(root->parents.empty());
}

TEST(LayerPath, ClassifiesWhiteouts) {
  auto w = classify_entry_path("etc/.wh.passwd");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->action, EntryAction::kWhiteout);
  EXPECT_EQ(w->parents, Comps{"etc"});
  EXPECT_EQ(w->name, "passwd");
  auto dotted = classify_entry_path(".wh..hidden");
  ASSERT_TRUE(dotted);
  EXPECT_EQ(dotted->action, EntryAction::kWhiteout);
  EXPECT_EQ(dotted->name, ".hidden");
  auto opq = classify_entry_path("var/cache/.wh..wh..opq");
  ASSERT_TRUE(opq);
  EXPECT_EQ(opq->action, EntryAction::kOpaque);
  EXPECT_EQ(opq->parents, (Comps{"var", "cache"}));
  auto root_opq = classify_entry_path(".wh..wh..opq");
  ASSERT_TRUE(root_opq);
  EXPECT_EQ(root_opq->action, EntryAction::kOpaque);
  EXPECT_TRUE(root_opq->parents.empty());
}

TEST(LayerPath, SkipsAufsMetadata) {
  EXPECT_EQ(classify_entry_path(".wh..wh.plnk")->action, EntryAction::kSkip);
  EXPECT_EQ(classify_entry_path(".wh..wh.plnk/123.4")->action, EntryAction::kSkip);
  EXPECT_EQ(classify_entry_path("a/.wh..wh.aufs")->action, EntryAction::kSkip);
}

TEST(LayerPath, RejectsWhiteoutsPointingOutside) {
  for (const char* raw : {".wh.", ".wh..", ".wh...", "a/.wh..", "a/b/.wh..."}) {
    auto r = classify_entry_path(raw);
    ASSERT_FALSE(r) << raw;
    EXPECT_NE(r.error().message().find(std::string("'") + raw + "'"), std::string::npos)
        << r.error().message();
  }
  EXPECT_FALSE(classify_entry_path("../.wh.x"));
  EXPECT_FALSE(classify_entry_path("../.wh..wh..opq"));
}

TEST(LayerPath, JoinComponents) {
  EXPECT_EQ(join_components({}), ".");
  EXPECT_EQ(join_components({"a", "b"}), "a/b");
}

}  // namespace
}  // namespace slipway::oci
