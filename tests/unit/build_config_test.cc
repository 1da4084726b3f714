// The builder's image config: parse and canonical JSON, what each instruction does to it, and the
// history lines it leaves.
#include "oci/build/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/build/config_edit.h"
#include "oci/dockerfile/expand.h"
#include "oci/dockerfile/instructions.h"

namespace slipway::oci {
namespace {

// The instructions of "FROM scratch\n<text>", substituted with no variables set (which removes
// quotes, as the planner's substitution does).
std::vector<Instruction> parse(const std::string& text) {
  auto df = parse_dockerfile("FROM scratch\n" + text);
  EXPECT_TRUE(df) << df.error().message();
  if (!df) return {};
  std::vector<Instruction> out;
  for (auto it = df->instructions.begin() + 1; it != df->instructions.end(); ++it) {
    auto e = expand_instruction(*it, {}, '\\', "Dockerfile");
    EXPECT_TRUE(e) << e.error().message();
    if (e) out.push_back(e->instruction);
  }
  return out;
}

StageConfig apply_all(const std::string& text, StageConfig stage = {}) {
  for (const auto& ins : parse(text)) {
    auto st = apply_to_config(stage, ins, "Dockerfile");
    EXPECT_TRUE(st) << st.error().message();
  }
  return stage;
}

Error apply_error(const std::string& text) {
  StageConfig stage;
  for (const auto& ins : parse(text)) {
    auto st = apply_to_config(stage, ins, "Dockerfile");
    if (!st) return st.error();
  }
  ADD_FAILURE() << "no error for " << text;
  return Error();
}

TEST(BuildConfigTest, ParsesDockerConfigsAndDropsHostFields) {
  auto c = parse_build_config(R"({
    "architecture": "amd64", "os": "linux", "created": "2020-01-01T00:00:00Z",
    "container": "abc123", "docker_version": "20.10",
    "config": {"Hostname": "abc123", "User": "app", "Env": ["PATH=/bin", "A=1"],
               "Cmd": ["sh"], "ExposedPorts": {"80/tcp": {}}, "Labels": {"x": "y"},
               "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000, "Retries": 3},
               "OnBuild": ["RUN make"], "Volumes": null, "Entrypoint": null},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
    "history": [{"created_by": "base", "empty_layer": true}]})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->config.user, "app");
  EXPECT_EQ(c->config.env_value("A"), "1");
  EXPECT_EQ(c->config.exposed_ports, std::set<std::string>{"80/tcp"});
  ASSERT_TRUE(c->config.healthcheck);
  EXPECT_EQ(c->config.healthcheck->retries, 3);
  EXPECT_EQ(c->config.on_build, std::vector<std::string>{"RUN make"});
  EXPECT_TRUE(c->history[0].empty_layer);
  std::string out = to_canonical_json(*c);
  EXPECT_EQ(out.find("Hostname"), std::string::npos);
  EXPECT_EQ(out.find("abc123"), std::string::npos);
  EXPECT_EQ(out.find("docker_version"), std::string::npos);
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
  EXPECT_EQ(out.find("\": "), std::string::npos) << "no insignificant whitespace: " << out;
  EXPECT_EQ(out.find(", "), std::string::npos) << "no insignificant whitespace: " << out;
  // Round trip: parsing the canonical form gives the same config and the same bytes.
  auto again = parse_build_config(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *c);
  EXPECT_EQ(to_canonical_json(*again), out);

  EXPECT_FALSE(parse_build_config(R"({"config": {"Env": "PATH=/bin"}})"));
  auto bad = parse_build_config("not json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message().starts_with("image config: ")) << bad.error().message();
}

TEST(BuildConfigTest, CanonicalJsonHasSortedKeys) {
  BuildConfig c;
  c.platform = {"linux", "amd64", ""};
  c.created = rfc3339_utc(0);
  c.config.labels = {{"z", "1"}, {"a", "2"}};
  c.config.env = {"Z=1", "A=2"};  // order of ENV is kept: it is a list
  c.diff_ids = {"sha256:1"};
  c.history = {{"1970-01-01T00:00:00Z", "RUN x", "", "", false}};
  EXPECT_EQ(to_canonical_json(c),
            R"({"architecture":"amd64","config":{"Env":["Z=1","A=2"],"Labels":{"a":"2","z":"1"}},)"
            R"("created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z",)"
            R"("created_by":"RUN x"}],"os":"linux","rootfs":{"diff_ids":["sha256:1"],)"
            R"("type":"layers"}})");
  EXPECT_EQ(rfc3339_utc(1700000000), "2023-11-14T22:13:20Z");
}

TEST(BuildConfigEditTest, EnvLabelUserVolumeStopSignalMaintainer) {
  StageConfig s = apply_all(
      "ENV A=1 B=2\nENV A=3\nLABEL version=1.0 \"two words\"=x\nUSER app:app\n"
      "VOLUME /data /logs\nSTOPSIGNAL SIGTERM\nMAINTAINER someone@example.com\n");
  EXPECT_EQ(s.image.config.env, (std::vector<std::string>{"A=3", "B=2"}));
  EXPECT_EQ(s.image.config.labels.at("version"), "1.0");
  EXPECT_EQ(s.image.config.labels.at("two words"), "x");
  EXPECT_EQ(s.image.config.user, "app:app");
  EXPECT_EQ(s.image.config.volumes, (std::set<std::string>{"/data", "/logs"}));
  EXPECT_EQ(s.image.config.stop_signal, "SIGTERM");
  EXPECT_EQ(s.image.author, "someone@example.com");
  EXPECT_EQ(apply_error("STOPSIGNAL SIGNOPE\n").message(),
            "Dockerfile:2: STOPSIGNAL: invalid signal \"SIGNOPE\"");
  EXPECT_EQ(apply_all("STOPSIGNAL 9\n").image.config.stop_signal, "9");
}

TEST(BuildConfigEditTest, ExposeNormalizesPorts) {
  StageConfig s = apply_all("EXPOSE 80 53/UDP 8000-8002/tcp\n");
  EXPECT_EQ(s.image.config.exposed_ports,
            (std::set<std::string>{"80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"}));
  EXPECT_EQ(apply_error("EXPOSE 80/http\n").message(),
            "Dockerfile:2: EXPOSE: invalid protocol \"http\" in port \"80/http\"");
  EXPECT_EQ(apply_error("EXPOSE 70000\n").message(),
            "Dockerfile:2: EXPOSE: invalid port \"70000\"");
}

TEST(BuildConfigEditTest, WorkdirIsRelativeToThePreviousOne) {
  StageConfig s = apply_all("WORKDIR /a\nWORKDIR b\nWORKDIR ../c/./d\n");
  EXPECT_EQ(s.image.config.working_dir, "/a/c/d");
  EXPECT_EQ(apply_all("WORKDIR rel\n").image.config.working_dir, "/rel");
  EXPECT_EQ(resolve_workdir("/x", "/abs//y/"), "/abs/y");
}

TEST(BuildConfigEditTest, CmdEntrypointAndShellFollowDockersRules) {
  StageConfig s = apply_all("CMD echo hi\n");
  EXPECT_EQ(s.image.config.cmd, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  s = apply_all("SHELL [\"/bin/bash\", \"-euc\"]\nCMD echo hi\nENTRYPOINT [\"/init\"]\n");
  EXPECT_EQ(s.image.config.cmd, (std::vector<std::string>{"/bin/bash", "-euc", "echo hi"}))
      << "a CMD of this stage survives a later ENTRYPOINT";
  EXPECT_EQ(s.image.config.entrypoint, std::vector<std::string>{"/init"});
  EXPECT_EQ(s.image.config.shell, (std::vector<std::string>{"/bin/bash", "-euc"}));

  // The base image's CMD does not survive an ENTRYPOINT of the new stage.
  StageConfig base;
  base.image.config.cmd = {"sh"};
  base.image.config.on_build = {"RUN base-trigger"};
  base.image.created = "2020-01-01T00:00:00Z";
  StageConfig derived = stage_config_from_base(base.image);
  EXPECT_TRUE(derived.image.config.on_build.empty()) << "triggers run, they are not inherited";
  EXPECT_TRUE(derived.image.created.empty());
  derived = apply_all("ENTRYPOINT [\"top\"]\n", derived);
  EXPECT_TRUE(derived.image.config.cmd.empty());
}

TEST(BuildConfigEditTest, HealthcheckAndOnbuild) {
  StageConfig s =
      apply_all("HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost\nONBUILD RUN make\n");
  ASSERT_TRUE(s.image.config.healthcheck);
  EXPECT_EQ(s.image.config.healthcheck->test,
            (std::vector<std::string>{"CMD-SHELL", "wget -q localhost"}));
  EXPECT_EQ(s.image.config.healthcheck->interval_ns, 5000000000);
  EXPECT_EQ(s.image.config.healthcheck->retries, 2);
  EXPECT_EQ(s.image.config.on_build, std::vector<std::string>{"RUN make"});
  s = apply_all("HEALTHCHECK NONE\n", s);
  EXPECT_EQ(s.image.config.healthcheck->test, std::vector<std::string>{"NONE"});
}

TEST(BuildConfigEditTest, RunCopyAndArgLeaveTheConfigAlone) {
  StageConfig before;
  before.image.config.env = {"A=1"};
  StageConfig after = apply_all("ARG X=1\nRUN echo\nCOPY a /b\nADD c /d\n", before);
  EXPECT_EQ(after.image, before.image);
  for (const auto& ins : parse("ARG X\nENV A=1\nLABEL a=b\nCMD x\n"))
    EXPECT_TRUE(is_metadata_instruction(ins)) << ins.keyword;
  for (const auto& ins : parse("RUN x\nCOPY a b\nADD a b\nWORKDIR /x\n"))
    EXPECT_FALSE(is_metadata_instruction(ins)) << ins.keyword;
}

TEST(BuildConfigEditTest, HistoryLines) {
  auto ins = parse(
      "RUN echo $A\nCOPY --from=build --chown=1:2 --chmod=600 a b /dst/\nADD x.tgz /opt\n"
      "ENV A=1 B=2\nLABEL k=v\nEXPOSE 80\nUSER nobody\nWORKDIR /w\nVOLUME /v\n"
      "HEALTHCHECK NONE\nSHELL [\"/bin/bash\", \"-c\"]\nONBUILD RUN x\nARG V=1\n");
  ASSERT_EQ(ins.size(), 13u);
  EXPECT_EQ(history_created_by(ins[0], {"/bin/sh", "-c", "echo $A"}, {{"A", "x"}, {"B", "y"}}),
            "RUN |2 A=x B=y /bin/sh -c echo $A");
  EXPECT_EQ(history_created_by(ins[0], {"/bin/sh", "-c", "echo $A"}), "RUN /bin/sh -c echo $A");
  EXPECT_EQ(history_created_by(ins[1]), "COPY --from=build --chown=1:2 --chmod=600 a b /dst/");
  EXPECT_EQ(history_created_by(ins[2]), "ADD x.tgz /opt");
  EXPECT_EQ(history_created_by(ins[3]), "ENV A=1 B=2");
  EXPECT_EQ(history_created_by(ins[4]), "LABEL k=v");
  EXPECT_EQ(history_created_by(ins[5]), "EXPOSE 80");
  EXPECT_EQ(history_created_by(ins[6]), "USER nobody");
  EXPECT_EQ(history_created_by(ins[7]), "WORKDIR /w");
  EXPECT_EQ(history_created_by(ins[8]), "VOLUME [\"/v\"]");
  EXPECT_EQ(history_created_by(ins[9]), "HEALTHCHECK [\"NONE\"]");
  EXPECT_EQ(history_created_by(ins[10]), "SHELL [\"/bin/bash\",\"-c\"]");
  EXPECT_EQ(history_created_by(ins[11]), "ONBUILD RUN x");
  EXPECT_EQ(history_created_by(ins[12]), "ARG V=1");
}

}  // namespace
}  // namespace slipway::oci
