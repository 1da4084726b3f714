#include "engine/container_config.h"

#include <gtest/gtest.h>

#include <map>

#include "runtime/capabilities.h"

namespace slipway::engine {
namespace {

using ::testing::Test;

RootfsReader fake_rootfs(std::map<std::string, std::string> files) {
  return [files = std::move(files)](std::string_view path) -> std::optional<std::string> {
    auto it = files.find(std::string(path));
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const char* kGroup = "root:x:0:\nwheel:x:10:app,other\napp:x:1000:\nstaff:x:50:app\n";

TEST(ResolveArgs, DockerEntrypointAndCmdRules) {
  ImageDefaults image{{"/entry", "-x"}, {"default", "cmd"}, {}, "", ""};
  RunOptions o;
  EXPECT_EQ(resolve_args(image, o), (std::vector<std::string>{"/entry", "-x", "default", "cmd"}));
  o.command = {"mine"};
  EXPECT_EQ(resolve_args(image, o), (std::vector<std::string>{"/entry", "-x", "mine"}));
  o.entrypoint = "/other";
  EXPECT_EQ(resolve_args(image, o), (std::vector<std::string>{"/other", "mine"}));
  o.command.clear();
  EXPECT_EQ(resolve_args(image, o), (std::vector<std::string>{"/other"})) << "--entrypoint drops Cmd";
}

TEST(MergeEnv, FlagsOverrideImageAndCopyFromHost) {
  auto env = merge_env({"PATH=/bin", "A=1"}, {"A=2", "B=3", "HOSTVAR", "MISSING"},
                       {{"HOSTVAR", "h"}});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "A=2", "B=3", "HOSTVAR=h"}));
}

TEST(ParseVolume, Forms) {
  auto v = parse_volume("/src:/dst:ro");
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->source, "/src");
  EXPECT_EQ(v->target, "/dst");
  EXPECT_TRUE(v->read_only);
  EXPECT_FALSE(parse_volume("/src:/dst")->read_only);
  EXPECT_FALSE(parse_volume("relative:/dst"));
  EXPECT_FALSE(parse_volume("/src:dst"));
  EXPECT_FALSE(parse_volume("/src"));
  EXPECT_FALSE(parse_volume("/src:/"));
  auto bad = parse_volume("/a:/b:rx");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("rx"), std::string::npos);
}

TEST(ParseVolume, CopyOnWriteOverlay) {
  auto v = parse_volume("/snap/redis:/data:O");
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_TRUE(v->copy_on_write);
  EXPECT_FALSE(v->read_only);
  EXPECT_EQ(v->source, "/snap/redis");
  EXPECT_EQ(v->target, "/data");
  EXPECT_TRUE(parse_volume("/s:/d:rw,O")->copy_on_write);
  EXPECT_FALSE(parse_volume("/s:/d")->copy_on_write);
  EXPECT_FALSE(parse_volume("/s:/d:ro")->copy_on_write);
  for (auto spec : {"/s:/d:ro,O", "/s:/d:O,ro"}) {
    auto bad = parse_volume(spec);
    ASSERT_FALSE(bad) << spec;
    EXPECT_NE(bad.error().message().find("read-only"), std::string::npos) << bad.error().message();
  }
  EXPECT_FALSE(parse_volume("/s:/d:ro,rw"));
  EXPECT_FALSE(parse_volume("/s:/d:o")) << "Podman's letter is upper-case";
  EXPECT_FALSE(parse_volume("/s:/d:"));
  auto comma = parse_volume("/a,b:/d:O");
  ASSERT_FALSE(comma);
  EXPECT_NE(comma.error().message().find("','"), std::string::npos);
  EXPECT_TRUE(parse_volume("/a,b:/d")) << "only overlay options care about commas";
}

TEST(ParseMemory, UnitsAndErrors) {
  EXPECT_EQ(*parse_memory("16m"), 16 << 20);
  EXPECT_EQ(*parse_memory("1g"), int64_t{1} << 30);
  EXPECT_EQ(*parse_memory("8388608"), 8388608);
  EXPECT_FALSE(parse_memory("abc"));
  EXPECT_FALSE(parse_memory("10x"));
  EXPECT_FALSE(parse_memory("1k")) << "below Docker's 6m minimum";
  EXPECT_FALSE(parse_memory("-5m"));
}

TEST(ResolveUser, NamesNumbersAndGroups) {
  auto rootfs = fake_rootfs({{"/etc/passwd", kPasswd}, {"/etc/group", kGroup}});
  auto root = resolve_user("", rootfs);
  EXPECT_EQ(root->uid, 0u);
  auto app = resolve_user("app", rootfs);
  ASSERT_TRUE(app);
  EXPECT_EQ(app->uid, 1000u);
  EXPECT_EQ(app->gid, 1000u);
  EXPECT_EQ(app->home, "/home/app");
  EXPECT_EQ(app->additional_gids, (std::vector<gid_t>{10, 50}));
  auto numeric = resolve_user("4242:4343", rootfs);
  EXPECT_EQ(numeric->uid, 4242u);
  EXPECT_EQ(numeric->gid, 4343u);
  EXPECT_EQ(resolve_user("app:staff", rootfs)->gid, 50u);
  EXPECT_EQ(resolve_user("1000", rootfs)->gid, 1000u) << "a uid in passwd takes its gid";
  auto unknown = resolve_user("ghost", rootfs);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("ghost"), std::string::npos);
  EXPECT_FALSE(resolve_user("app:nogroup", rootfs));
  EXPECT_EQ(resolve_user("7", fake_rootfs({}))->uid, 7u) << "numeric users need no passwd";
}

TEST(ParseNetOption, Forms) {
  EXPECT_EQ(parse_net_option("none")->kind, NetworkChoice::Kind::kNone);
  EXPECT_EQ(parse_net_option("host")->kind, NetworkChoice::Kind::kHost);
  auto c = parse_net_option("container:holder");
  EXPECT_EQ(c->kind, NetworkChoice::Kind::kContainer);
  EXPECT_EQ(c->name, "holder");
  auto n = parse_net_option("ci-net");
  EXPECT_EQ(n->kind, NetworkChoice::Kind::kNetwork);
  EXPECT_EQ(n->name, "ci-net");
  EXPECT_EQ(parse_net_option("bridge")->name, kDefaultNetwork);
  EXPECT_FALSE(parse_net_option(""));
  EXPECT_FALSE(parse_net_option("container:"));
}

ContainerInputs inputs() {
  ContainerInputs in;
  in.id = "0123456789abcdef" + std::string(48, '0');
  in.state_dir = "/state/c";
  in.layer_dirs = {"/l/1", "/l/2"};
  in.image = {{}, {"sh"}, {"PATH=/usr/bin:/bin", "LANG=C"}, "/srv", "app"};
  return in;
}

TEST(BuildContainerSpec, FromImageDefaults) {
  RunOptions o;
  auto rootfs = fake_rootfs({{"/etc/passwd", kPasswd}, {"/etc/group", kGroup}});
  auto s = build_container_spec(o, inputs(), rootfs);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->hostname, "0123456789ab");
  EXPECT_EQ(s->process.args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s->process.cwd, "/srv");
  EXPECT_EQ(s->process.uid, 1000u);
  EXPECT_EQ(s->rootfs.upper_dir, "/state/c/upper");
  EXPECT_EQ(s->rootfs.lower_dirs, (std::vector<std::string>{"/l/1", "/l/2"}));
  EXPECT_EQ(s->security.capabilities, runtime::docker_default_capabilities());
  EXPECT_EQ(s->network.mode, runtime::NetworkMode::kNone);
  auto has = [&](std::string_view kv) {
    return std::find(s->process.env.begin(), s->process.env.end(), kv) != s->process.env.end();
  };
  EXPECT_TRUE(has("PATH=/usr/bin:/bin"));
  EXPECT_TRUE(has("HOSTNAME=0123456789ab"));
  EXPECT_TRUE(has("HOME=/home/app"));
}

TEST(BuildContainerSpec, FlagsAndErrors) {
  auto rootfs = fake_rootfs({{"/etc/passwd", kPasswd}});
  RunOptions o;
  o.user = "0";
  o.workdir = "/w";
  o.memory = "32m";
  o.cpus = 0.5;
  o.pids_limit = 20;
  o.cap_drop = {"ALL"};
  o.cap_add = {"NET_ADMIN"};
  o.seccomp = "unconfined";
  o.net = "host";
  o.read_only = true;
  auto s = build_container_spec(o, inputs(), rootfs);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->process.uid, 0u);
  EXPECT_EQ(s->process.cwd, "/w");
  EXPECT_EQ(*s->resources.memory_bytes, 32 << 20);
  EXPECT_EQ(*s->resources.cpus, 0.5);
  EXPECT_EQ(*s->resources.pids, 20);
  EXPECT_EQ(s->security.capabilities, uint64_t{1} << 12);  // CAP_NET_ADMIN only
  EXPECT_EQ(s->security.seccomp, runtime::SeccompMode::kUnconfined);
  EXPECT_EQ(s->network.mode, runtime::NetworkMode::kHost);
  EXPECT_TRUE(s->rootfs.read_only);

  RunOptions bad;
  bad.net = "container:";
  EXPECT_FALSE(build_container_spec(bad, inputs(), rootfs));
  bad = {};
  bad.workdir = "relative";
  EXPECT_FALSE(build_container_spec(bad, inputs(), rootfs));
  bad = {};
  bad.cap_add = {"NOT_A_CAP"};
  EXPECT_FALSE(build_container_spec(bad, inputs(), rootfs));
  EXPECT_EQ(parse_log_opts({})->max_bytes, 20u << 20);
  auto logs = parse_log_opts({"max-size=64k", "max-file=2"});
  ASSERT_TRUE(logs) << logs.error().message();
  EXPECT_EQ(logs->max_bytes, 64u << 10);
  EXPECT_EQ(logs->max_files, 2);
  EXPECT_FALSE(parse_log_opts({"max-file=0"}));
  EXPECT_FALSE(parse_log_opts({"max-size=lots"}));
  EXPECT_FALSE(parse_log_opts({"compress=true"}));
  bad = {};
  bad.env = {"=x"};
  EXPECT_FALSE(build_container_spec(bad, inputs(), rootfs));
  bad = {};
  bad.pids_limit = 0;
  EXPECT_FALSE(build_container_spec(bad, inputs(), rootfs));
  // Without --pids-limit a container still has one; -1 lifts it.
  EXPECT_EQ(build_container_spec(RunOptions{}, inputs(), rootfs)->resources.pids, kDefaultPidsLimit);
  RunOptions unlimited;
  unlimited.pids_limit = -1;
  EXPECT_FALSE(build_container_spec(unlimited, inputs(), rootfs)->resources.pids.has_value());
  bad = {};
  bad.volumes = {"/snap:/data:ro,O"};
  EXPECT_FALSE(build_container_spec(bad, inputs(), rootfs));
  ContainerInputs no_cmd = inputs();
  no_cmd.image.cmd.clear();
  auto e = build_container_spec(RunOptions{}, no_cmd, rootfs);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("no command"), std::string::npos);
}

TEST(BuildContainerSpec, BulkDataGoesToTheDataDir) {
  ContainerInputs in = inputs();
  in.data_dir = "/root/containers/k/c";
  RunOptions o;
  o.volumes = {"/snap/a:/a:O"};
  auto s = build_container_spec(o, in, fake_rootfs({{"/etc/passwd", kPasswd}}));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->state_dir, "/state/c");
  EXPECT_EQ(s->rootfs.upper_dir, "/root/containers/k/c/upper");
  EXPECT_EQ(s->rootfs.work_dir, "/root/containers/k/c/work");
  EXPECT_EQ(s->rootfs.writable_size, 0u);
  EXPECT_EQ(s->binds[0].upper_dir, "/root/containers/k/c/volumes/0/upper");
}

TEST(BuildContainerSpec, StorageSizePutsTheWritableLayerOnItsOwnDir) {
  ContainerInputs in = inputs();
  in.data_dir = "/d/c";
  RunOptions o;
  o.storage_opts = {"size=64m"};
  auto s = build_container_spec(o, in, fake_rootfs({{"/etc/passwd", kPasswd}}));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->rootfs.writable_size, 64u << 20);
  EXPECT_EQ(s->rootfs.writable_dir, "/d/c/layer");
  EXPECT_EQ(s->rootfs.upper_dir, "/d/c/layer/upper");
  EXPECT_EQ(s->rootfs.work_dir, "/d/c/layer/work");
  for (auto [opt, message] : std::vector<std::pair<std::string, std::string>>{
           {"size=1k", "invalid --storage-opt size \"1k\": the minimum is 1m"},
           {"size=", "invalid --storage-opt size \"\""},
           {"size", "unknown --storage-opt \"size\" (known: size=SIZE)"},
           {"quota=1g", "unknown --storage-opt \"quota=1g\" (known: size=SIZE)"}}) {
    o.storage_opts = {opt};
    auto bad = build_container_spec(o, in, fake_rootfs({}));
    ASSERT_FALSE(bad) << opt;
    EXPECT_EQ(bad.error().message(), message);
  }
  o.storage_opts = {"size=8m"};
  o.rootfs = "/srv/tree";
  auto plain = build_container_spec(o, in, fake_rootfs({}));
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().message(), "--storage-opt size limits an image's writable layer; --rootfs /srv/tree has none");
}

TEST(BuildContainerSpec, CopyOnWriteVolumesGetPrivateDirsInTheStateDir) {
  RunOptions o;
  o.volumes = {"/host/plain:/plain", "/snap/a:/a:O", "/snap/b:/b:O"};
  auto s = build_container_spec(o, inputs(), fake_rootfs({{"/etc/passwd", kPasswd}}));
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(s->binds.size(), 3u);
  EXPECT_FALSE(s->binds[0].copy_on_write);
  EXPECT_EQ(s->binds[0].upper_dir, "");
  EXPECT_TRUE(s->binds[1].copy_on_write);
  EXPECT_EQ(s->binds[1].upper_dir, "/state/c/volumes/1/upper");
  EXPECT_EQ(s->binds[1].work_dir, "/state/c/volumes/1/work");
  EXPECT_EQ(s->binds[2].upper_dir, "/state/c/volumes/2/upper");
  EXPECT_EQ(s->binds[2].source, "/snap/b");
}

TEST(EnvFile, DockersFormat) {
  auto env = parse_env_file("# comment\n\n  A=1\nB=x=y\r\nC\nD=\n", "--env-file f");
  ASSERT_TRUE(env) << env.error().message();
  EXPECT_EQ(*env, (std::vector<std::string>{"A=1", "B=x=y", "C", "D="}));
  auto error_of = [](std::string_view text) {
    auto r = parse_env_file(text, "--env-file f");
    EXPECT_FALSE(r) << text;
    return r ? "" : r.error().message();
  };
  EXPECT_EQ(error_of("A=1\n=2\n"), "--env-file f:2: the variable has no name");
  EXPECT_EQ(error_of("MY VAR=1\n"), "--env-file f:1: variable name \"MY VAR\" contains whitespace");
  EXPECT_EQ(error_of(std::string_view("A=1\0x\n", 6)), "--env-file f:1: the line holds a NUL byte");
}

TEST(AddHost, HostAndAnAddressOfEitherFamily) {
  EXPECT_EQ(parse_add_host("db:10.0.0.5").value_or("?"), "10.0.0.5\tdb\n");
  EXPECT_EQ(parse_add_host("db=10.0.0.5").value_or("?"), "10.0.0.5\tdb\n");
  EXPECT_EQ(parse_add_host("v6:fd00::1").value_or("?"), "fd00::1\tv6\n");
  EXPECT_EQ(parse_add_host("v6:[fd00::1]").value_or("?"), "fd00::1\tv6\n");
  EXPECT_FALSE(parse_add_host("db"));
  EXPECT_FALSE(parse_add_host(":10.0.0.5"));
  EXPECT_FALSE(parse_add_host("db:example.com"));
  EXPECT_FALSE(parse_add_host("a b:10.0.0.5"));
}

}  // namespace
}  // namespace slipway::engine
