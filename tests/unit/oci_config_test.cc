#include "engine/oci_config.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace slipway::engine {
namespace {

using nlohmann::json;

const OciPlace kPlace{"c1", "/bundles/c1", "/run/slipway-runc/c1", "/var/cache/slipway"};

json example() {
  auto text = fs::read_file(SLIPWAY_SOURCE_DIR "/tests/data/oci/config-example.json");
  EXPECT_TRUE(text.has_value());
  return json::parse(text.value_or("{}"));
}

// The example without its user namespace and mappings.
json example_without_userns() {
  json j = example();
  auto& ns = j["linux"]["namespaces"];
  ns.erase(std::remove(ns.begin(), ns.end(), json{{"type", "user"}}), ns.end());
  j["linux"].erase("uidMappings");
  j["linux"].erase("gidMappings");
  return j;
}

Result<OciBundle> parse(const json& j) { return parse_oci_config(j.dump(), kPlace); }

std::string error_of(const json& j) {
  auto b = parse(j);
  return b ? std::string("(parsed)") : b.error().message();
}

uint64_t bit(int cap) { return uint64_t{1} << cap; }

TEST(OciConfig, TheSpecExampleTranslatesFieldByField) {
  auto parsed = parse(example_without_userns());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const OciBundle& b = *parsed;
  const runtime::ContainerSpec& s = b.spec;
  EXPECT_EQ(b.oci_version, "1.0.1");
  EXPECT_TRUE(b.has_process);
  EXPECT_EQ(s.id, "c1");
  EXPECT_EQ(s.state_dir, "/run/slipway-runc/c1");
  EXPECT_EQ(s.cache_dir, "/var/cache/slipway");

  // process
  EXPECT_TRUE(s.process.terminal);
  EXPECT_EQ(s.process.uid, 1u);
  EXPECT_EQ(s.process.gid, 1u);
  EXPECT_EQ(s.process.additional_gids, (std::vector<gid_t>{5, 6}));
  EXPECT_EQ(s.process.args, (std::vector<std::string>{"sh"}));
  EXPECT_EQ(s.process.env.size(), 2u);
  EXPECT_EQ(s.process.env[1], "TERM=xterm");
  EXPECT_EQ(s.process.cwd, "/");
  ASSERT_TRUE(s.security.capability_sets.has_value());
  const runtime::CapabilitySets& caps = *s.security.capability_sets;
  uint64_t three = bit(CAP_AUDIT_WRITE) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE);
  EXPECT_EQ(caps.bounding, three);
  EXPECT_EQ(caps.permitted, three);
  EXPECT_EQ(caps.inheritable, three);
  EXPECT_EQ(caps.effective, bit(CAP_AUDIT_WRITE) | bit(CAP_KILL));
  EXPECT_EQ(caps.ambient, bit(CAP_NET_BIND_SERVICE));
  ASSERT_EQ(s.process.rlimits.size(), 2u);
  EXPECT_EQ(s.process.rlimits[0].resource, RLIMIT_CORE);
  EXPECT_EQ(s.process.rlimits[1].resource, RLIMIT_NOFILE);
  EXPECT_EQ(s.process.rlimits[1].soft, 1024u);
  EXPECT_EQ(s.process.rlimits[1].hard, 1024u);
  EXPECT_EQ(s.process.oom_score_adj, 100);
  EXPECT_TRUE(s.security.no_new_privileges);

  // root, hostname
  EXPECT_EQ(s.rootfs.plain_dir, "/bundles/c1/rootfs");
  EXPECT_TRUE(s.rootfs.read_only);
  EXPECT_TRUE(s.rootfs.lower_dirs.empty());
  EXPECT_EQ(s.hostname, "slartibartfast");

  // mounts, in order, options parsed
  ASSERT_TRUE(s.mounts.has_value());
  ASSERT_EQ(s.mounts->size(), 8u);
  const auto& m = *s.mounts;
  EXPECT_EQ(m[0].target, "/proc");
  EXPECT_EQ(m[0].fstype, "proc");
  EXPECT_EQ(m[0].flags, 0u);
  EXPECT_EQ(m[1].target, "/dev");
  EXPECT_EQ(m[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(m[1].data, "mode=755,size=65536k");
  EXPECT_EQ(m[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(m[3].source, "shm");
  EXPECT_EQ(m[3].flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
  EXPECT_EQ(m[6].flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
  EXPECT_EQ(m[7].source, "/bundles/c1/volumes/data") << "a relative bind source is the bundle's";
  EXPECT_EQ(m[7].fstype, "");
  EXPECT_EQ(m[7].flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(m[7].propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));

  // hooks
  ASSERT_EQ(b.hooks.prestart.size(), 2u);
  EXPECT_EQ(b.hooks.prestart[0].path, "/usr/bin/fix-mounts");
  EXPECT_EQ(b.hooks.prestart[0].args, (std::vector<std::string>{"fix-mounts", "arg1", "arg2"}));
  EXPECT_EQ(b.hooks.prestart[0].env, (std::vector<std::string>{"key1=value1"}));
  EXPECT_EQ(b.hooks.create_runtime.size(), 1u);
  EXPECT_EQ(b.hooks.create_container[0].path, "/usr/bin/mount-hook");
  EXPECT_EQ(b.hooks.start_container[0].path, "/usr/bin/refresh-ldcache");
  EXPECT_EQ(b.hooks.poststart[0].timeout, std::chrono::seconds(5));
  EXPECT_EQ(b.hooks.poststop[0].args, (std::vector<std::string>{"cleanup.sh", "-f"}));

  // linux
  EXPECT_EQ(s.sysctl, (std::vector<std::pair<std::string, std::string>>{{"net.core.somaxconn", "256"},
                                                                        {"net.ipv4.ip_forward", "1"}}));
  EXPECT_EQ(s.cgroup_name, "myRuntime/myContainer");
  EXPECT_EQ(s.resources.pids, 32771);
  EXPECT_EQ(s.resources.memory_bytes, 536870912);
  EXPECT_EQ(s.resources.cpu_quota_us, 1000000);
  EXPECT_EQ(s.resources.cpu_period_us, 500000u);
  EXPECT_EQ(s.resources.cpuset_cpus, "2-3");
  EXPECT_EQ(s.resources.cpuset_mems, "0-7");
  EXPECT_EQ(s.resources.cpu_shares, 1024u);
  EXPECT_EQ(s.resources.device_rules, (std::vector<std::string>{"deny a", "allow c 10:229 rw", "allow b 8:0 r"}));
  EXPECT_EQ(s.rootfs_propagation, static_cast<unsigned long>(MS_SLAVE));
  EXPECT_EQ(s.security.seccomp, runtime::SeccompMode::kProfile);
  EXPECT_EQ(json::parse(s.security.seccomp_profile)["syscalls"][0]["names"][1], "chmod");
  EXPECT_EQ(s.namespaces.create,
            static_cast<uint64_t>(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP));
  EXPECT_TRUE(s.namespaces.join.empty());
  EXPECT_EQ(s.network.mode, runtime::NetworkMode::kNone) << "a new network namespace with only lo";
  EXPECT_EQ(s.masked_paths->size(), 4u);
  EXPECT_EQ(s.readonly_paths->front(), "/proc/asound");
  EXPECT_EQ(b.annotations.at("com.example.key2"), "value2");
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_EQ(s.devices[0].path, "/dev/fuse");
  EXPECT_EQ(s.devices[0].type, 'c');
  EXPECT_EQ(s.devices[0].major, 10u);
  EXPECT_EQ(s.devices[0].minor, 229u);
  EXPECT_EQ(s.devices[0].mode, 0666u);
  EXPECT_EQ(s.devices[1].type, 'b');
  EXPECT_EQ(s.devices[1].mode, 0660u);

  // Every field slipway cannot honour is named, none dropped silently.
  std::string warnings;
  for (const auto& w : b.warnings) warnings += w + "\n";
  for (const char* field :
       {"process.apparmorProfile", "process.selinuxLabel", "linux.mountLabel",
        "linux.resources.memory.reservation", "linux.resources.memory.swappiness",
        "linux.resources.cpu.realtimeRuntime", "linux.resources.hugepageLimits", "linux.resources.blockIO",
        "linux.resources.network"})
    EXPECT_NE(warnings.find(field), std::string::npos) << field << " in:\n" << warnings;
}

TEST(OciConfig, UserNamespacesComeWithTheirMappings) {
  auto b = parse(example());
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_TRUE(b->spec.namespaces.user());
  ASSERT_EQ(b->spec.namespaces.uid_mappings.size(), 1u);
  EXPECT_EQ(b->spec.namespaces.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(b->spec.namespaces.uid_mappings[0].host_id, 1000u);
  EXPECT_EQ(b->spec.namespaces.gid_mappings[0].size, 32000u);
  json j = example_without_userns();
  j["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
  EXPECT_EQ(error_of(j), "config.json: linux: uidMappings and gidMappings need a user namespace (linux.namespaces)");
  j = example();
  j["linux"].erase("gidMappings");
  EXPECT_EQ(error_of(j), "config.json: linux: a user namespace needs uidMappings and gidMappings");
}

TEST(OciConfig, ContainerdsDefaultsNeedNoWarnings) {
  // What `ctr run` sends: the standard device rules, no seccomp, a cgroupsPath of its namespace.
  json j = json::parse(default_oci_config());
  j["linux"]["resources"]["devices"] = json::array(
      {{{"allow", false}, {"access", "rwm"}},
       {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}},
       {{"allow", true}, {"type", "c"}, {"major", 136}, {"access", "rwm"}}});
  j["linux"]["cgroupsPath"] = "/default/c1";
  auto b = parse(j);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_TRUE(b->warnings.empty()) << b->warnings.front();
  EXPECT_EQ(b->spec.cgroup_name, "default/c1");
  EXPECT_EQ(b->spec.security.seccomp, runtime::SeccompMode::kUnconfined);
  EXPECT_EQ(b->spec.process.args, (std::vector<std::string>{"sh"}));
}

TEST(OciConfig, NamespacesAreNewJoinedOrTheHosts) {
  json j = json::parse(default_oci_config());
  j["linux"]["namespaces"] = json::array({{{"type", "mount"}},
                                          {{"type", "pid"}, {"path", "/proc/7/ns/pid"}},
                                          {{"type", "ipc"}, {"path", "/proc/7/ns/ipc"}},
                                          {{"type", "network"}, {"path", "/var/run/netns/n1"}},
                                          {{"type", "uts"}}});
  auto b = parse(j);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->spec.namespaces.create, static_cast<uint64_t>(CLONE_NEWNS | CLONE_NEWUTS));
  ASSERT_EQ(b->spec.namespaces.join.size(), 2u);
  EXPECT_EQ(b->spec.namespaces.join[0].type, CLONE_NEWPID);
  EXPECT_EQ(b->spec.namespaces.join[1].type, CLONE_NEWIPC);
  EXPECT_EQ(b->spec.namespaces.join[1].path, "/proc/7/ns/ipc");
  EXPECT_EQ(b->spec.network.mode, runtime::NetworkMode::kJoin);
  EXPECT_EQ(b->spec.network.join_path, "/var/run/netns/n1");

  j["linux"]["namespaces"] = json::array({{{"type", "mount"}}});
  j.erase("hostname");
  b = parse(j);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->spec.network.mode, runtime::NetworkMode::kHost) << "not listed: the host's";
  EXPECT_EQ(b->spec.namespaces.create, static_cast<uint64_t>(CLONE_NEWNS));
}

TEST(OciConfig, BadInputGetsOneLineNamingTheField) {
  auto with = [](auto edit) {
    json j = json::parse(default_oci_config());
    edit(j);
    return error_of(j);
  };
  EXPECT_EQ(with([](json& j) { j["linux"]["namespaces"][1]["type"] = "nets"; }),
            "config.json: linux.namespaces[1].type: unknown namespace type \"nets\"");
  EXPECT_EQ(with([](json& j) { j["linux"]["namespaces"].push_back({{"type", "pid"}}); }),
            "config.json: linux.namespaces[6].type: the pid namespace is listed twice");
  EXPECT_EQ(with([](json& j) { j["root"]["path"] = "../../etc"; }),
            "config.json: root.path: \"../../etc\" leaves the bundle directory");
  EXPECT_EQ(with([](json& j) { j["root"]["path"] = "rootfs/../../x"; }),
            "config.json: root.path: \"rootfs/../../x\" leaves the bundle directory");
  EXPECT_EQ(with([](json& j) { j["mounts"].push_back({{"destination", "/x"}, {"type", "bind"}, {"source", "../../etc"}}); }),
            "config.json: mounts[7].source: \"../../etc\" leaves the bundle directory");
  EXPECT_EQ(with([](json& j) { j["process"].erase("cwd"); }), "config.json: process.cwd: is required");
  EXPECT_EQ(with([](json& j) { j["process"]["cwd"] = "work"; }), "config.json: process.cwd: must be an absolute path");
  EXPECT_EQ(with([](json& j) { j["process"]["args"] = json::array(); }), "config.json: process.args: must name a command");
  EXPECT_EQ(with([](json& j) { j["process"]["capabilities"]["bounding"][1] = "CAP_FLY"; }),
            "config.json: process.capabilities.bounding[1]: unknown capability \"CAP_FLY\"");
  EXPECT_EQ(with([](json& j) { j["process"]["rlimits"][0]["type"] = "RLIMIT_JOY"; }),
            "config.json: process.rlimits[0].type: unknown resource limit \"RLIMIT_JOY\"");
  EXPECT_EQ(with([](json& j) { j["process"]["rlimits"][0]["soft"] = 2048; }),
            "config.json: process.rlimits[0]: RLIMIT_NOFILE: soft 2048 is above hard 1024");
  EXPECT_EQ(with([](json& j) { j["process"]["oomScoreAdj"] = 2000; }),
            "config.json: process.oomScoreAdj: must be between -1000 and 1000");
  EXPECT_EQ(with([](json& j) { j["process"]["env"] = {"JUSTNAME"}; }), "config.json: process.env[0]: must be NAME=VALUE");
  EXPECT_EQ(with([](json& j) { j["ociVersion"] = "2.0.0"; }), "config.json: ociVersion: \"2.0.0\" is not a 1.x runtime spec");
  EXPECT_EQ(with([](json& j) { j["mounts"][0].erase("type"); }),
            "config.json: mounts[0]: type is required for a mount that is not a bind");
  EXPECT_EQ(with([](json& j) { j["linux"]["sysctl"] = {{"kernel.panic", "1"}}; }),
            "config.json: linux.sysctl.kernel.panic: kernel.panic is not namespaced: setting it would change the host");
  EXPECT_EQ(with([](json& j) { j["linux"]["sysctl"] = {{"net/../../x", "1"}}; }),
            "config.json: linux.sysctl.net/../../x: \"net/../../x\" is not a sysctl name");
  EXPECT_EQ(with([](json& j) {
              j["linux"]["namespaces"] = json::array({{{"type", "mount"}}});
              j.erase("hostname");
              j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
            }),
            "config.json: linux.sysctl.net.ipv4.ip_forward: net.ipv4.ip_forward needs a network namespace of the "
            "container's own");
  EXPECT_EQ(with([](json& j) { j["linux"]["cgroupsPath"] = "/a/../../b"; }),
            "config.json: linux.cgroupsPath: \"/a/../../b\" climbs out of the cgroup root");
  EXPECT_EQ(with([](json& j) { j["linux"]["cgroupsPath"] = "system.slice:slipway:c1"; }),
            "config.json: linux.cgroupsPath: \"system.slice:slipway:c1\" is a systemd slice path: slipway drives "
            "cgroupfs only");
  EXPECT_EQ(with([](json& j) { j["linux"]["rootfsPropagation"] = "sideways"; }),
            "config.json: linux.rootfsPropagation: unknown propagation \"sideways\"");
  EXPECT_EQ(with([](json& j) { j["linux"]["namespaces"].erase(4); }),
            "config.json: linux.namespaces: a mount namespace is required, new or joined: slipway pivots into the rootfs");
  EXPECT_EQ(with([](json& j) { j["linux"]["devices"] = {{{"path", "/dev/x"}, {"type", "q"}}}; }),
            "config.json: linux.devices[0].type: unknown device type (c, u, b or p) \"q\"");
  EXPECT_EQ(with([](json& j) { j["hooks"] = {{"poststop", {{{"path", "cleanup"}}}}}; }),
            "config.json: hooks.poststop[0].path: must be an absolute path");
  EXPECT_EQ(with([](json& j) { j["process"]["user"]["uid"] = -1; }),
            "config.json: process.user.uid: must be a non-negative integer");
  EXPECT_EQ(with([](json& j) { j["process"]["terminal"] = "yes"; }), "config.json: process.terminal: must be true or false");
  EXPECT_NE(error_of(json::parse("[1]")).find("config.json: must be an object"), std::string::npos);
  EXPECT_EQ(parse_oci_config("{", kPlace).error().message().substr(0, 25), "config.json: not JSON: [j");
}

TEST(OciConfig, MountOptionsAsMount8ReadsThem) {
  ParsedMountOptions o = parse_mount_options({"rw", "nosuid", "rbind", "ro", "rshared", "size=1m", "mode=700", "suid"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(o.data, "size=1m,mode=700");
  EXPECT_EQ(parse_mount_options({"defaults"}).flags, 0u);
  EXPECT_EQ(parse_mount_options({"noatime", "atime"}).flags, 0u);
  EXPECT_EQ(rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
  EXPECT_EQ(rlimit_from_name("NOFILE"), std::nullopt);
}

TEST(OciConfig, TheDefaultSpecParsesAndRunsSh) {
  auto b = parse(json::parse(default_oci_config()));
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_TRUE(b->spec.process.terminal);
  EXPECT_TRUE(b->spec.rootfs.read_only);
  EXPECT_EQ(b->spec.mounts->size(), 7u);
}

}  // namespace
}  // namespace slipway::engine
