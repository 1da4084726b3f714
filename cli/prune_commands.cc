// Prune sub-commands, as Docker's: image prune, builder prune, system prune (engine/prune.h).
#include <unistd.h>

#include <iostream>

#include "cli/cli.h"
#include "engine/prune.h"
#include "oci/registry/progress.h"
#include "runtime/container_store.h"

namespace slipway::cli {
namespace {

enum class PruneKind { kImages, kBuildCache, kSystem };

struct PruneArgs {
  bool all = false, force = false;
};

std::string_view warning_for(PruneKind kind, bool all) {
  switch (kind) {
    case PruneKind::kImages:
      return all ? "This will remove all images without at least one container associated to them."
                 : "This will remove all dangling images.";
    case PruneKind::kBuildCache:
      return all ? "This will remove all build cache." : "This will remove all dangling build cache.";
    case PruneKind::kSystem:
      return all ? "This will remove all stopped containers, all networks not used by at least one container "
                   "(but the default one), all images without at least one container associated to them, "
                   "and all build cache."
                 : "This will remove all stopped containers, all networks not used by at least one container "
                   "(but the default one), all dangling images, and all dangling build cache.";
  }
  return "";
}

// Docker's question; anything but y or yes is a no.
bool confirmed(PruneKind kind, bool all) {
  std::cerr << "WARNING! " << warning_for(kind, all) << "\nAre you sure you want to continue? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

void print_section(std::string_view title, const std::vector<std::string>& lines, std::string_view prefix = "") {
  if (lines.empty()) return;
  fmt::print("{}:\n", title);
  for (const auto& l : lines) fmt::print("{}{}\n", prefix, l);
  fmt::print("\n");
}

Result<int> do_prune(const GlobalOptions& g, PruneKind kind, const PruneArgs& a) {
  if (!a.force && !confirmed(kind, a.all)) return 0;
  engine::PruneReport report;
  if (kind == PruneKind::kBuildCache) {
    report = SLW_TRY(engine::prune_build_cache(g.root, a.all));
  } else {
    runtime::ContainerStore containers = SLW_TRY(runtime::ContainerStore::open(SLW_TRY(run_root(g))));
    report = kind == PruneKind::kImages ? SLW_TRY(engine::prune_images(g.root, containers, a.all))
                                        : SLW_TRY(engine::prune_system(g.root, containers, a.all));
  }
  print_section("Deleted Containers", report.containers);
  print_section("Deleted Networks", report.networks);
  if (!report.untagged.empty() || !report.deleted.empty()) {
    fmt::print("Deleted Images:\n");
    for (const auto& n : report.untagged) fmt::print("untagged: {}\n", n);
    for (const auto& id : report.deleted) fmt::print("deleted: {}\n", id);
    fmt::print("\n");
  }
  print_section("Deleted build cache objects", report.cache_entries);
  fmt::print("Total reclaimed space: {}\n", oci::human_bytes(report.reclaimed_bytes));
  return 0;
}

void add_prune(CLI::App& parent, PruneKind kind, const char* help, const GlobalOptions& g, Outcome& outcome) {
  auto prune = parent.add_subcommand("prune", help);
  auto args = std::make_shared<PruneArgs>();
  prune->add_flag("-a,--all", args->all,
                  kind == PruneKind::kBuildCache ? "all build cache, not only what no image uses"
                                                 : "every image no container uses, not only those without a name");
  prune->add_flag("-f,--force", args->force, "do not ask for confirmation");
  prune->callback([&g, &outcome, kind, args] { run_command(outcome, [&] { return do_prune(g, kind, *args); }); });
}

}  // namespace

void register_prune_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  CLI::App* image = app.get_subcommand("image");
  add_prune(*image, PruneKind::kImages, "remove images without a name (-a: every image no container uses)", g,
            outcome);
  auto builder = app.add_subcommand("builder", "manage the build cache");
  builder->require_subcommand(1);
  add_prune(*builder, PruneKind::kBuildCache, "remove build cache no image uses (-a: all of it)", g, outcome);
  auto system = app.add_subcommand("system", "manage slipway's data");
  system->require_subcommand(1);
  add_prune(*system, PruneKind::kSystem,
            "remove stopped containers, unused networks, images without a name and dangling build cache", g,
            outcome);
}

}  // namespace slipway::cli
