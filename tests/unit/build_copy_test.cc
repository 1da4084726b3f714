// COPY/ADD without a container: the merged view of layer dirs, the build context after
// .dockerignore, source digests, and what run_copy writes into a new layer directory. Runs
// unprivileged (owners are not set then); whiteout cases need root and skip without it.
#include "oci/build/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "oci/build/sources.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

void write(const std::string& path, const std::string& data, mode_t mode = 0644) {
  auto slash = path.rfind('/');
  ASSERT_TRUE(fs::make_dirs(path.substr(0, slash)));
  ASSERT_TRUE(fs::write_file(path, data, mode)) << path;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::string targz(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_add_filter_gzip(a.get());
  archive_write_open(
      a.get(), &out, nullptr,
      [](struct archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& [name, data] : files) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, name.ends_with('/') ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, name.ends_with('/') ? 0750 : 0600);
    archive_entry_set_uid(e, 42);
    archive_entry_set_mtime(e, 1234, 0);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a.get(), e);
    if (!data.empty()) archive_write_data(a.get(), data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a.get());
  return out;
}

class BuildCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The image: /etc, /tmp (1777), /var/run -> /run, /lib -> usr/lib, passwd and group.
    write(low("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
    write(low("etc/group"), "root:x:0:\nstaff:x:50:app\n");
    ASSERT_TRUE(fs::make_dirs(low("tmp")));
    ASSERT_EQ(::chmod(low("tmp").c_str(), 01777), 0);
    ASSERT_TRUE(fs::make_dirs(low("run")));
    ASSERT_TRUE(fs::make_dirs(low("var")));
    ASSERT_EQ(::symlink("/run", low("var/run").c_str()), 0);
    ASSERT_TRUE(fs::make_dirs(low("usr/lib")));
    ASSERT_EQ(::symlink("usr/lib", low("lib").c_str()), 0);
    write(upper("etc/extra"), "second layer");
    // The context.
    write(ctx("a.txt"), "a\n");
    write(ctx("sub/b.txt"), "b\n");
    write(ctx("sub/deeper/c.txt"), "c\n", 0600);
    write(ctx("secret.txt"), "keep out\n");
    write(ctx(".dockerignore"), "secret.txt\n");
    ASSERT_TRUE(fs::make_dirs(out_.path()));
  }

  std::string low(const std::string& rel) const { return fs::join(lower_.path(), rel); }
  std::string upper(const std::string& rel) const { return fs::join(upper_.path(), rel); }
  std::string ctx(const std::string& rel) const { return fs::join(context_.path(), rel); }
  std::string out(const std::string& rel) const { return fs::join(out_.path(), rel); }

  ContextTree context() {
    auto ignore = load_dockerignore(context_.path());
    EXPECT_TRUE(ignore) << ignore.error().message();
    auto tree = ContextTree::open(context_.path(), *ignore);
    EXPECT_TRUE(tree) << tree.error().message();
    return std::move(*tree);
  }

  CopyOptions options() const {
    CopyOptions o;
    o.mtime = 777;
    o.set_owners = testing::is_root();
    return o;
  }

  Status copy(const CopyRequest& request, CopyOptions o) {
    ContextTree tree = context();
    return run_copy(request, tree, stack_, out_.path(), o);
  }
  Status copy(const CopyRequest& request) { return copy(request, options()); }

  TempDir lower_{"copy-lower"}, upper_{"copy-upper"}, context_{"copy-context"}, out_{"copy-out"};
  LayerStack stack_{{lower_.path(), upper_.path()}};
};

TEST_F(BuildCopyTest, LayerStackMergesLayersAndResolvesSymlinksInsideTheRoot) {
  auto etc = stack_.list({"etc"});
  ASSERT_TRUE(etc) << etc.error().message();
  EXPECT_EQ(*etc, (std::vector<std::string>{"extra", "group", "passwd"}));
  auto extra = stack_.lookup({"etc", "extra"});
  ASSERT_TRUE(extra && *extra);
  EXPECT_EQ((*extra)->layer, 1u);
  EXPECT_EQ(*stack_.resolve("/var/run/x", true), (PathParts{"run", "x"}));
  EXPECT_EQ(*stack_.resolve("/lib/../etc", true), (PathParts{"usr", "etc"}))
      << "\"..\" applies after the symlink, as the kernel does it";
  EXPECT_EQ(*stack_.resolve("/../../etc/passwd", true), (PathParts{"etc", "passwd"}));
  EXPECT_EQ(*stack_.resolve("/var/run", false), (PathParts{"var", "run"}));
  auto passwd = stack_.read_file("/etc/passwd");
  ASSERT_TRUE(passwd && *passwd);
  EXPECT_TRUE((*passwd)->starts_with("root:"));
  EXPECT_FALSE(*stack_.read_file("/etc/missing"));
}

TEST_F(BuildCopyTest, WhiteoutsAndOpaqueDirsHideLowerLayers) {
  if (!testing::is_root()) GTEST_SKIP() << "whiteouts (0/0 devices) and trusted xattrs need root";
  ASSERT_EQ(::mknod(upper("etc/group").c_str(), S_IFCHR, makedev(0, 0)), 0);
  write(low("opt/old"), "old");
  write(upper("opt/new"), "new");
  ASSERT_EQ(::lsetxattr(upper("opt").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  EXPECT_EQ(*stack_.list({"etc"}), (std::vector<std::string>{"extra", "passwd"}));
  EXPECT_FALSE(*stack_.lookup({"etc", "group"}));
  EXPECT_EQ(*stack_.list({"opt"}), std::vector<std::string>{"new"});
  EXPECT_FALSE(*stack_.lookup({"opt", "old"}));
}

TEST_F(BuildCopyTest, ResolvesChownLikeBuildKit) {
  auto o = resolve_owner("app", stack_);
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->uid, 1000u);
  EXPECT_EQ(o->gid, 1001u) << "a user name brings its primary group";
  o = resolve_owner("app:staff", stack_);
  EXPECT_EQ(o->gid, 50u);
  o = resolve_owner("7", stack_);
  EXPECT_EQ(o->uid, 7u);
  EXPECT_EQ(o->gid, 7u) << "a numeric user is also the group";
  o = resolve_owner("7:8", stack_);
  EXPECT_EQ(o->gid, 8u);
  EXPECT_EQ(resolve_owner("ghost", stack_).error().message(),
            "unable to find user ghost: no matching entries in the stage's /etc/passwd");
  EXPECT_EQ(resolve_owner("app:ghosts", stack_).error().message(),
            "unable to find group ghosts: no matching entries in the stage's /etc/group");
}

TEST_F(BuildCopyTest, ContextHidesIgnoredFilesAndExpandsWildcards) {
  ContextTree tree = context();
  auto all = expand_sources(tree, {"*.txt"});
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().name, "a.txt");
  EXPECT_EQ(expand_sources(tree, {"secret.txt"}).error().message(),
            "source \"secret.txt\" not found in the build context");
  EXPECT_EQ(expand_sources(tree, {"*.nope"}).error().message(),
            "no files in the build context match \"*.nope\"");
  auto nested = expand_sources(tree, {"sub/*/c.txt"});
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->front().node.path, (PathParts{"sub", "deeper", "c.txt"}));
}

TEST_F(BuildCopyTest, SourceDigestSeesContentAndModesNotTimes) {
  auto digest = [&] {
    ContextTree tree = context();
    auto m = expand_sources(tree, {"."});
    EXPECT_TRUE(m);
    return *sources_digest(tree, *m);
  };
  std::string d0 = digest();
  struct timespec times[2] = {{1, 0}, {1, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, ctx("a.txt").c_str(), times, 0), 0);
  EXPECT_EQ(digest(), d0) << "mtimes are not part of the key";
  write(ctx("secret.txt"), "changed but ignored\n");
  EXPECT_EQ(digest(), d0) << "ignored files are not part of the key";
  ASSERT_EQ(::chmod(ctx("a.txt").c_str(), 0755), 0);
  std::string d1 = digest();
  EXPECT_NE(d1, d0);
  write(ctx("sub/b.txt"), "B\n", 0644);
  EXPECT_NE(digest(), d1);
}

TEST_F(BuildCopyTest, ParentsTakeTheImagesMetadataAndFilesTheEpoch) {
  ASSERT_TRUE(copy({{"a.txt"}, {}, "/tmp/a", "/"}));
  struct stat tmp = stat_of(out("tmp"));
  EXPECT_EQ(tmp.st_mode & 07777, 01777u) << "a COPY into /tmp keeps /tmp's mode";
  struct stat a = stat_of(out("tmp/a"));
  EXPECT_EQ(a.st_mode & 07777, 0644u);
  EXPECT_EQ(a.st_mtim.tv_sec, 777);
  EXPECT_EQ(*fs::read_file(out("tmp/a")), "a\n");
}

TEST_F(BuildCopyTest, DestinationRulesOfDocker) {
  // A directory's contents go into the destination, which is created.
  ASSERT_TRUE(copy({{"sub"}, {}, "dest", "/app"}));
  EXPECT_EQ(*fs::read_file(out("app/dest/b.txt")), "b\n");
  EXPECT_EQ(stat_of(out("app/dest/deeper/c.txt")).st_mode & 07777, 0600u);
  EXPECT_EQ(stat_of(out("app/dest/deeper")).st_mtim.tv_sec, 777);
  // An existing directory in the image receives a single file.
  ASSERT_TRUE(copy({{"a.txt"}, {}, "/etc", "/"}));
  EXPECT_TRUE(fs::exists(out("etc/a.txt")));
  // A symlink in the image's path is followed: /var/run -> /run.
  ASSERT_TRUE(copy({{"a.txt"}, {}, "/var/run/x", "/"}));
  EXPECT_TRUE(fs::exists(out("run/x")));
  EXPECT_FALSE(fs::exists(out("var"))) << "the image's /var/run symlink is not shadowed";
  // Several sources need a directory destination ending in "/".
  auto many = copy({{"a.txt", "sub/b.txt"}, {}, "/many", "/"});
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message(),
            "copying more than one source to /many: the destination must be a directory and end "
            "with a /");
  ASSERT_TRUE(copy({{"a.txt", "sub/b.txt"}, {}, "/many/", "/"}));
  EXPECT_TRUE(fs::exists(out("many/b.txt")));
}

TEST_F(BuildCopyTest, ChmodChownAndHeredocs) {
  CopyOptions o = options();
  o.chmod = *parse_chmod("0600");
  o.chown = Owner{1000, 1001};
  ASSERT_TRUE(copy({{"a.txt"}, {}, "/home/app/", "/"}, o));
  struct stat st = stat_of(out("home/app/a.txt"));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  if (testing::is_root()) {
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(stat_of(out("home")).st_uid, 1000u) << "new parents belong to the --chown owner";
  }
  ASSERT_TRUE(copy({{}, {{"EOF", "inline text\n", true}}, "/etc/motd", "/"}));
  EXPECT_EQ(*fs::read_file(out("etc/motd")), "inline text\n");
  EXPECT_FALSE(parse_chmod("u+x"));
  EXPECT_FALSE(parse_chmod("99999"));
}

TEST_F(BuildCopyTest, CopyFromAStageKeepsOwnersAndContextFilesBecomeRoots) {
  if (!testing::is_root()) GTEST_SKIP() << "owners other than our own need root";
  TempDir stage{"copy-stage"};
  ASSERT_TRUE(fs::make_dirs(stage.path() + "/app/data"));
  ASSERT_TRUE(fs::write_file(stage.path() + "/app/data/f", "x"));
  ASSERT_EQ(::chown((stage.path() + "/app/data").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chown((stage.path() + "/app/data/f").c_str(), 1235, 5679), 0);
  LayerStack from{{stage.path()}};
  StackTree tree(from, "stage build");
  CopyOptions o = options();
  o.keep_source_owners = true;
  ASSERT_TRUE(run_copy({{"/app/data"}, {}, "/srv/", "/"}, tree, stack_, out_.path(), o));
  EXPECT_EQ(stat_of(out("srv/f")).st_uid, 1235u);
  EXPECT_EQ(stat_of(out("srv/f")).st_gid, 5679u);
  // --chown still wins over the source's owner.
  o.chown = Owner{7, 8};
  ASSERT_TRUE(run_copy({{"/app/data/f"}, {}, "/g", "/"}, tree, stack_, out_.path(), o));
  EXPECT_EQ(stat_of(out("g")).st_uid, 7u);
  // A context file owned by someone else becomes root's, as with Docker.
  ASSERT_EQ(::chown((context_.path() + "/a.txt").c_str(), 1234, 5678), 0);
  ASSERT_TRUE(copy({{"a.txt"}, {}, "/ctx.txt", "/"}));
  EXPECT_EQ(stat_of(out("ctx.txt")).st_uid, 0u);
}

TEST_F(BuildCopyTest, AddUnpacksLocalArchivesAndCopiesOtherFiles) {
  write(ctx("site.tgz"), targz({{"www/", ""}, {"www/index.html", "<h1>hi</h1>"}}));
  CopyOptions o = options();
  o.add = true;
  ASSERT_TRUE(copy({{"site.tgz", "a.txt"}, {}, "/srv/", "/"}, o));
  EXPECT_EQ(*fs::read_file(out("srv/www/index.html")), "<h1>hi</h1>");
  struct stat st = stat_of(out("srv/www/index.html"));
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "archive modes are kept";
  EXPECT_EQ(st.st_mtim.tv_sec, 1234) << "archive times are kept (the layer clamps them)";
  EXPECT_EQ(stat_of(out("srv/www")).st_mode & 07777, 0750u);
  if (testing::is_root()) {
    EXPECT_EQ(st.st_uid, 42u) << "archive owners are kept";
  }
  EXPECT_EQ(*fs::read_file(out("srv/a.txt")), "a\n") << "a plain file is copied";
  EXPECT_FALSE(fs::exists(out("srv/site.tgz")));

  write(ctx("evil.tgz"), targz({{"../../escape", "x"}}));
  auto evil = copy({{"evil.tgz"}, {}, "/srv/", "/"}, o);
  ASSERT_FALSE(evil);
  EXPECT_NE(evil.error().message().find("ADD evil.tgz:"), std::string::npos)
      << evil.error().message();
  EXPECT_FALSE(fs::exists(fs::join(out_.path(), "../escape")));
}

TEST_F(BuildCopyTest, NothingIsWrittenThroughASymlinkOfTheNewLayer) {
  // The first source leaves x/link -> /; the second has a directory of that name: the symlink
  // is replaced, never followed.
  ASSERT_EQ(::symlink("/", ctx("sub/link").c_str()), 0);
  write(ctx("over/link/pwned"), "x");
  ASSERT_TRUE(copy({{"sub", "over"}, {}, "/x/", "/"}));
  EXPECT_FALSE(fs::exists("/pwned"));
  EXPECT_TRUE(S_ISDIR(stat_of(out("x/link")).st_mode));
  EXPECT_EQ(*fs::read_file(out("x/link/pwned")), "x");
  // A destination below a file of the layer is refused.
  ASSERT_TRUE(copy({{"a.txt"}, {}, "/file", "/"}));
  auto r = copy({{"a.txt"}, {}, "/file/below", "/"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "/file: not a directory");
}

}  // namespace
}  // namespace slipway::oci
