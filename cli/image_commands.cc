// Image sub-commands: image load, import, ls (also `images`), inspect, rm, save.
#include <time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/format_output.h"
#include "engine/container_view.h"
#include "oci/digest.h"
#include "oci/build/output.h"
#include "oci/store/image_store.h"

namespace slipway::cli {
namespace {

// Docker's HumanSizeWithPrecision(size, 3): decimal units, three significant digits.
std::string human_size(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1000 && unit + 1 < std::size(kUnits)) {
    v /= 1000;
    ++unit;
  }
  return fmt::format("{:.3g}{}", v, kUnits[unit]);
}

// "3 days ago" from an RFC 3339 time, as `docker images` shows it; "N/A" when unknown.
std::string human_age(const std::string& created) {
  std::time_t then = engine::parse_rfc3339(created);
  if (then < 0) return "N/A";
  return engine::human_duration(::time(nullptr) - then) + " ago";
}

std::string short_image_id(const std::string& id) {
  std::string_view hex = id;
  if (hex.starts_with(oci::kSha256Prefix)) hex.remove_prefix(oci::kSha256Prefix.size());
  return std::string(hex.substr(0, 12));
}

struct ListOptions {
  bool quiet = false;
  bool no_trunc = false;
};

Result<int> list_images(const GlobalOptions& g, const ListOptions& o) {
  auto store = SLW_TRY(oci::ImageStore::open(g.root));
  auto images = SLW_TRY(store.list());
  if (o.quiet) {
    for (const auto& img : images) fmt::print("{}\n", o.no_trunc ? img.id : short_image_id(img.id));
    return 0;
  }
  std::vector<std::array<std::string, 5>> rows;
  rows.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  for (const auto& img : images) {
    std::string id = o.no_trunc ? img.id : short_image_id(img.id);
    std::string age = human_age(img.created);
    std::string size = human_size(img.size);
    if (img.names.empty()) rows.push_back({"<none>", "<none>", id, age, size});
    for (const auto& name : img.names) {
      auto colon = name.rfind(':');
      rows.push_back({name.substr(0, colon), name.substr(colon + 1), id, age, size});
    }
  }
  std::array<size_t, 5> width{};
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += i + 1 == r.size() ? r[i] : fmt::format("{:<{}}   ", r[i], width[i]);
    fmt::print("{}\n", line);
  }
  return 0;
}

void add_list_options(CLI::App* cmd, ListOptions& o) {
  cmd->add_flag("-q,--quiet", o.quiet, "print image ids only");
  cmd->add_flag("--no-trunc", o.no_trunc, "print full image ids");
}

}  // namespace

void register_image_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto image = app.add_subcommand("image", "manage images: load, import, ls, inspect, tag, rm, save, prune");
  image->require_subcommand(1);

  auto load = image->add_subcommand(
      "load", "load images from an OCI layout dir, an oci-archive or a docker-archive tar");
  auto load_path = std::make_shared<std::string>();
  auto load_name = std::make_shared<std::string>();
  load->add_option("SOURCE", *load_path, "layout directory, archive file, or - for stdin")
      ->required();
  load->add_option("--name", *load_name, "NAME[:TAG] for the image (the source must hold one)");
  load->callback([&g, &outcome, load_path, load_name] {
    run_command(outcome, [&]() -> Result<int> {
      auto store = SLW_TRY(oci::ImageStore::open(g.root));
      auto loaded = SLW_TRY(store.load(*load_path, {*load_name}));
      for (const auto& img : loaded) {
        if (img.names.empty()) fmt::print("Loaded image ID: {}\n", img.id);
        for (const auto& n : img.names) fmt::print("Loaded image: {}\n", n);
      }
      return 0;
    });
  });

  auto import = image->add_subcommand(
      "import", "make a one-layer image from a rootfs directory or a (compressed) tar");
  auto import_path = std::make_shared<std::string>();
  auto import_name = std::make_shared<std::string>();
  import->add_option("SOURCE", *import_path, "rootfs directory, tar file, or - for stdin")
      ->required();
  import->add_option("NAME", *import_name, "NAME[:TAG] for the new image")->required();
  import->callback([&g, &outcome, import_path, import_name] {
    run_command(outcome, [&]() -> Result<int> {
      auto store = SLW_TRY(oci::ImageStore::open(g.root));
      auto img = SLW_TRY(store.import(*import_path, *import_name));
      fmt::print("{}\n", img.id);
      return 0;
    });
  });

  auto list_opts = std::make_shared<ListOptions>();
  auto ls = image->add_subcommand("ls", "list images");
  ls->alias("list");
  add_list_options(ls, *list_opts);
  ls->callback([&g, &outcome, list_opts] {
    run_command(outcome, [&]() -> Result<int> { return list_images(g, *list_opts); });
  });
  auto images = app.add_subcommand("images", "list images (same as image ls)");
  add_list_options(images, *list_opts);
  images->callback([&g, &outcome, list_opts] {
    run_command(outcome, [&]() -> Result<int> { return list_images(g, *list_opts); });
  });

  auto inspect = image->add_subcommand("inspect", "print images as JSON");
  auto inspect_refs = std::make_shared<std::vector<std::string>>();
  auto inspect_format = std::make_shared<std::string>();
  inspect->add_option("-f,--format", *inspect_format, "a Go template, e.g. '{{.Id}}' or '{{json .Config.Env}}'");
  inspect->add_option("IMAGE", *inspect_refs, "name[:tag], id or digest")->required();
  inspect->callback([&g, &outcome, inspect_refs, inspect_format] {
    run_command(outcome, [&]() -> Result<int> {
      auto store = SLW_TRY(oci::ImageStore::open(g.root));
      std::string text = SLW_TRY(store.inspect(*inspect_refs));
      if (inspect_format->empty()) {
        fmt::print("{}", text);
        return 0;
      }
      auto images = nlohmann::json::parse(text);
      fmt::print("{}", SLW_TRY(format_items(std::vector<nlohmann::json>(images.begin(), images.end()), *inspect_format)));
      return 0;
    });
  });

  auto rm = image->add_subcommand("rm", "remove images (a name untags; the last name deletes)");
  rm->alias("remove");
  auto rm_refs = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  rm->add_option("IMAGE", *rm_refs, "name[:tag], id or digest")->required();
  rm->add_flag("-f,--force", *rm_force, "delete an image by id even if it has several names");
  rm->callback([&g, &outcome, rm_refs, rm_force] {
    run_command(outcome, [&]() -> Result<int> {
      auto store = SLW_TRY(oci::ImageStore::open(g.root));
      for (const auto& e : SLW_TRY(store.remove(*rm_refs, *rm_force)))
        fmt::print("{}: {}\n", e.kind == oci::RemovalEvent::Kind::kUntagged ? "Untagged" : "Deleted",
                   e.what);
      return 0;
    });
  });

  auto save = image->add_subcommand(
      "save", "write an image as an OCI layout directory, an oci-archive or a docker-archive");
  auto save_ref = std::make_shared<std::string>();
  auto save_dir = std::make_shared<std::string>();
  save->add_option("IMAGE", *save_ref, "name[:tag], id or digest")->required();
  save->add_option("DEST", *save_dir,
                   "DIR (a layout, created or added to), oci:DIR, oci-archive:FILE or docker-archive:FILE "
                   "(deterministic tars, as build --output writes them)")
      ->required();
  save->callback([&g, &outcome, save_ref, save_dir] {
    run_command(outcome, [&]() -> Result<int> {
      auto store = SLW_TRY(oci::ImageStore::open(g.root));
      const std::string& dest = *save_dir;
      if (!dest.starts_with("oci:") && !dest.starts_with("oci-archive:") && !dest.starts_with("docker-archive:")) {
        SLW_TRY(store.save(*save_ref, dest));
        return 0;
      }
      oci::BuildOutput output = SLW_TRY(oci::parse_build_output(dest));
      oci::Image image = SLW_TRY(store.resolve(*save_ref));
      SLW_TRY(oci::write_build_output(store, image, output, 0));
      return 0;
    });
  });

  // Docker's `tag SOURCE TARGET`, also as `image tag`.
  auto tag_args = std::make_shared<std::pair<std::string, std::string>>();
  auto tag_callback = [&g, &outcome, tag_args] {
    run_command(outcome, [&]() -> Result<int> {
      auto store = SLW_TRY(oci::ImageStore::open(g.root));
      SLW_TRY(store.tag(tag_args->first, tag_args->second));
      return 0;
    });
  };
  for (CLI::App* parent : {&app, image}) {
    auto tag = parent->add_subcommand("tag", "give an image another name: SOURCE[:TAG] TARGET[:TAG]");
    tag->add_option("SOURCE", tag_args->first, "name[:tag], id or digest")->required();
    tag->add_option("TARGET", tag_args->second, "name[:tag]")->required();
    tag->callback(tag_callback);
  }
}

}  // namespace slipway::cli
