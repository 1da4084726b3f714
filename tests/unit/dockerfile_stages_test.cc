// Stages: global ARGs and FROM substitution, --target, COPY --from resolution, build order, and
// the variable scope inside a stage.
#include "oci/dockerfile/stages.h"

#include <gtest/gtest.h>

#include "oci/dockerfile/expand.h"

namespace slipway::oci {
namespace {

constexpr std::string_view kMultiStage =
    "ARG GO=1.22\n"                                   // 1
    "ARG BASE=debian:${DEBIAN:-bookworm}-slim\n"      // 2
    "FROM golang:${GO} AS build\n"                    // 3
    "ARG GO\n"                                        // 4
    "RUN go build -o /app .\n"                        // 5
    "FROM build AS test\n"                            // 6
    "RUN go test ./...\n"                             // 7
    "FROM ${BASE}\n"                                  // 8
    "COPY --from=build /app /usr/local/bin/app\n"     // 9
    "COPY --from=0 /etc/ssl /etc/ssl\n"               // 10
    "COPY --from=busybox:1.36 /bin/busybox /bin/\n";  // 11

Dockerfile parse(std::string_view text) {
  auto df = parse_dockerfile(text);
  EXPECT_TRUE(df) << df.error().message();
  return df ? std::move(*df) : Dockerfile{};
}

StagePlan plan_ok(std::string_view text, const StageOptions& options = {}) {
  Dockerfile df = parse(text);
  auto plan = plan_stages(df, options);
  EXPECT_TRUE(plan) << plan.error().message();
  return plan ? std::move(*plan) : StagePlan{};
}

std::string plan_error(std::string_view text, const StageOptions& options = {}) {
  Dockerfile df = parse(text);
  auto plan = plan_stages(df, options);
  return plan ? "planned" : plan.error().message();
}

TEST(DockerfileStages, StagesWithBasesFromGlobalArgs) {
  StagePlan plan = plan_ok(kMultiStage);
  ASSERT_EQ(plan.stages.size(), 3u);
  EXPECT_EQ(plan.global_args,
            (std::vector<ArgDecl>{{"GO", "1.22"}, {"BASE", "debian:${DEBIAN:-bookworm}-slim"}}));
  EXPECT_EQ(plan.global_values.at("BASE"), "debian:bookworm-slim");

  const Stage& build = plan.stages[0];
  EXPECT_EQ(build.index, 0u);
  EXPECT_EQ(build.name, "build");
  EXPECT_EQ(build.base, "golang:1.22");
  EXPECT_EQ(build.line, 3);
  EXPECT_EQ(build.used_args, (std::set<std::string>{"GO"}));
  ASSERT_EQ(build.instructions.size(), 2u);
  EXPECT_EQ(build.instructions[1].keyword, "RUN");

  EXPECT_EQ(plan.stages[1].base_stage, std::optional<std::size_t>(0));
  const Stage& final = plan.stages[2];
  EXPECT_EQ(final.name, "");
  EXPECT_EQ(final.base, "debian:bookworm-slim");
  EXPECT_FALSE(final.base_stage);
  ASSERT_EQ(final.copy_from.size(), 3u);
  EXPECT_EQ(final.copy_from[0].instruction, 0u);
  EXPECT_EQ(final.copy_from[0].stage, std::optional<std::size_t>(0));
  EXPECT_EQ(final.copy_from[1].stage, std::optional<std::size_t>(0));
  EXPECT_FALSE(final.copy_from[2].stage);
  EXPECT_EQ(final.copy_from[2].image, "busybox:1.36");

  // The last stage is the default target; the test stage is not needed for it.
  EXPECT_EQ(plan.target, 2u);
  EXPECT_EQ(plan.build_order, (std::vector<std::size_t>{0, 2}));
}

TEST(DockerfileStages, BuildArgsOverrideGlobalDefaults) {
  StageOptions options;
  options.build_args = {{"GO", "1.21"}, {"DEBIAN", "trixie"}, {"UNUSED", "x"}};
  StagePlan plan = plan_ok(kMultiStage, options);
  EXPECT_EQ(plan.stages[0].base, "golang:1.21");
  // A build arg no ARG declares is invisible, even to a global ARG's default; Docker warns.
  EXPECT_EQ(plan.stages[2].base, "debian:bookworm-slim");
  EXPECT_EQ(plan.unused_build_args, (std::vector<std::string>{"DEBIAN", "UNUSED"}));
}

TEST(DockerfileStages, TargetSelectsTheStageAndWhatItNeeds) {
  StageOptions options;
  options.target = "TEST";
  StagePlan plan = plan_ok(kMultiStage, options);
  EXPECT_EQ(plan.target, 1u);
  EXPECT_EQ(plan.build_order, (std::vector<std::size_t>{0, 1}));
  options.target = "tset";
  EXPECT_EQ(plan_error(kMultiStage, options),
            "Dockerfile: target stage \"tset\" could not be found (named stages: build, test)");
}

TEST(DockerfileStages, CopyFromResolution) {
  EXPECT_EQ(plan_error("FROM a AS one\nCOPY --from=one x y\n"),
            "Dockerfile:2: COPY --from=one: a stage cannot copy from itself");
  EXPECT_EQ(plan_error("FROM a\nFROM b\nCOPY --from=5 x y\n"),
            "Dockerfile:3: COPY --from=5: invalid stage index 5: the Dockerfile has 2 stages");
  std::string error = plan_error("FROM a\nCOPY --from=Not_A/Ref! x y\n");
  EXPECT_EQ(error.rfind("Dockerfile:2: COPY --from=Not_A/Ref!: not a stage name, a stage index or "
                        "a valid image reference: ",
                        0),
            0u)
      << error;
  // --from sees global ARGs.
  StagePlan plan = plan_ok("ARG SRC=builder\nFROM a AS builder\nFROM b\nCOPY --from=${SRC} x y\n");
  EXPECT_EQ(plan.stages[1].copy_from[0].stage, std::optional<std::size_t>(0));
}

TEST(DockerfileStages, ForwardCopyFromIsOrderedAndCyclesAreErrors) {
  StagePlan plan = plan_ok(
      "FROM a AS first\nCOPY --from=second x y\nFROM b AS second\nRUN true\n"
      "FROM c\nCOPY --from=first x y\n");
  EXPECT_EQ(plan.build_order, (std::vector<std::size_t>{1, 0, 2}));
  EXPECT_EQ(plan_error("FROM a AS x\nCOPY --from=y a b\nFROM b AS y\nCOPY --from=x a b\n"),
            "Dockerfile:3: circular dependency detected on stage y");
}

TEST(DockerfileStages, FromNamesOnlyEarlierStages) {
  // "app" names a later stage, so this FROM means the image app:latest.
  StagePlan plan = plan_ok("FROM app\nFROM scratch AS app\nFROM app\n");
  EXPECT_FALSE(plan.stages[0].base_stage);
  EXPECT_TRUE(plan.stages[1].scratch);
  EXPECT_EQ(plan.stages[2].base_stage, std::optional<std::size_t>(1));
  EXPECT_EQ(plan.build_order, (std::vector<std::size_t>{1, 2}));
}

TEST(DockerfileStages, BaseErrors) {
  EXPECT_EQ(plan_error("ARG IMG\nFROM $IMG\n"),
            "Dockerfile:2: FROM $IMG: the base image name is empty after substitution");
  EXPECT_EQ(plan_error("FROM a AS x\nFROM b AS X\n"),
            "Dockerfile:2: duplicate stage name \"x\" (first used on line 1)");
  EXPECT_EQ(plan_error("FROM ${X:?needed}\n"),
            "Dockerfile:1: FROM: failed to process \"${X:?needed}\": X: needed");
  EXPECT_EQ(plan_error("ARG A=1\n"),
            "Dockerfile: no FROM instruction: the Dockerfile has no stage to build");
  std::string error = plan_error("FROM UPPER:case\n");
  EXPECT_EQ(error.rfind("Dockerfile:1: FROM UPPER:case: not an earlier stage and not a valid image "
                        "reference: ",
                        0),
            0u)
      << error;
}

TEST(DockerfileStages, PredefinedArgsAreGlobal) {
  StageOptions options;
  options.predefined_args = {{"BUILDPLATFORM", "linux/amd64"}, {"TARGETARCH", "arm64"}};
  StagePlan plan = plan_ok("FROM --platform=$BUILDPLATFORM golang AS b\nARG TARGETARCH\n", options);
  EXPECT_EQ(plan.stages[0].platform, "linux/amd64");
  EXPECT_TRUE(plan.unused_build_args.empty());
}

TEST(DockerfileStages, StageVariablesFollowDockerRules) {
  StagePlan plan = plan_ok("ARG V=global\nARG ONLY_GLOBAL=g\nFROM a\n");
  StageVariables vars({{"B", "from-build-arg"}, {"HTTP_PROXY", "http://p"}}, plan.global_values);
  vars.set_image_env({"PATH=/usr/bin", "HOME=/root", "EMPTY"});
  vars.declare_arg({"V", std::nullopt});  // inherits the global value
  vars.declare_arg({"B", "default"});     // the build arg wins over the default
  vars.declare_arg({"D", "default"});
  vars.declare_arg({"NOTHING", std::nullopt});  // declared, no value anywhere
  EXPECT_EQ(vars.args(), (VarMap{{"B", "from-build-arg"}, {"D", "default"}, {"V", "global"}}));
  VarMap seen = vars.substitution_vars();
  EXPECT_EQ(seen.at("V"), "global");
  EXPECT_FALSE(seen.contains("ONLY_GLOBAL"));  // globals need an ARG inside the stage
  EXPECT_FALSE(seen.contains("NOTHING"));
  EXPECT_EQ(seen.at("EMPTY"), "");
  // ENV beats ARG, whichever came first.
  vars.set_env("D", "env");
  EXPECT_EQ(vars.substitution_vars().at("D"), "env");
  EXPECT_EQ(vars.run_env(),
            (std::vector<std::string>{"D=env", "EMPTY=", "HOME=/root", "PATH=/usr/bin",
                                      "B=from-build-arg", "V=global", "HTTP_PROXY=http://p"}));
}

TEST(DockerfileStages, BuildingAStageThroughExpandAndApply) {
  Dockerfile df = parse("FROM a\nARG DIR=/srv\nENV APP=$DIR/app DIR=/opt\nWORKDIR $DIR\n");
  StagePlan plan = plan_ok("FROM a\n");
  StageVariables vars({}, plan.global_values);
  std::vector<std::string> workdirs;
  for (std::size_t i = 1; i < df.instructions.size(); ++i) {
    auto expanded =
        expand_instruction(df.instructions[i], vars.substitution_vars(), df.escape(), df.file());
    ASSERT_TRUE(expanded) << expanded.error().message();
    vars.apply(expanded->instruction);
    if (const auto* w = expanded->instruction.as<WorkdirInstruction>()) workdirs.push_back(w->path);
  }
  EXPECT_EQ(vars.env(), (VarMap{{"APP", "/srv/app"}, {"DIR", "/opt"}}));
  EXPECT_EQ(workdirs, (std::vector<std::string>{"/opt"}));
}

}  // namespace
}  // namespace slipway::oci
