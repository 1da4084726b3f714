#include "netns/nftables.h"

#include <nftables/libnftables.h>

#include "base/shared_library.h"

namespace slipway::netns {
namespace {

#define SLIPWAY_NFTABLES_FUNCTIONS(X) \
  X(nft_ctx_new) \
  X(nft_ctx_free) \
  X(nft_ctx_output_set_flags) \
  X(nft_ctx_buffer_output) \
  X(nft_ctx_buffer_error) \
  X(nft_ctx_get_output_buffer) \
  X(nft_ctx_get_error_buffer) \
  X(nft_run_cmd_from_buffer)

struct NftLibrary {
#define SLIPWAY_NFT_SLOT(name) decltype(&::name) name = nullptr;
  SLIPWAY_NFTABLES_FUNCTIONS(SLIPWAY_NFT_SLOT)
#undef SLIPWAY_NFT_SLOT
};

LibraryTable<NftLibrary> g_nft;

Status fill(NftLibrary& lib) {
  SharedLibrary nft = SLW_TRY(SharedLibrary::open("libnftables.so.1", "libnftables1"));
#define SLIPWAY_BIND_NFT(name) SLW_TRY(nft.bind(#name, lib.name));
  SLIPWAY_NFTABLES_FUNCTIONS(SLIPWAY_BIND_NFT)
#undef SLIPWAY_BIND_NFT
  return {};
}

// nft's error text without the trailing newline, on one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text.empty() ? "no message" : text;
}

}  // namespace

Result<Nftables> Nftables::open() {
  const NftLibrary& lib = *SLW_TRY_CTX(g_nft.load(fill), "nftables");
  nft_ctx* ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return fail("nftables: cannot make a libnftables context");
  lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  if (lib.nft_ctx_buffer_output(ctx) != 0 || lib.nft_ctx_buffer_error(ctx) != 0) {
    lib.nft_ctx_free(ctx);
    return fail("nftables: cannot buffer libnftables output");
  }
  return Nftables(ctx);
}

Nftables::~Nftables() {
  if (ctx_) g_nft.get().nft_ctx_free(ctx_);
}

Result<std::string> Nftables::execute(const nlohmann::json& document) {
  const NftLibrary& lib = g_nft.get();
  std::string text = document.dump();
  int rc = lib.nft_run_cmd_from_buffer(ctx_, text.c_str());
  // Both buffers are reset by the next command; take copies now.
  std::string output = lib.nft_ctx_get_output_buffer(ctx_);
  std::string error = lib.nft_ctx_get_error_buffer(ctx_);
  if (rc != 0) return fail("nftables: {}", one_line(error));
  return output;
}

Status Nftables::run(const nlohmann::json& commands) {
  if (commands.empty()) return {};
  SLW_TRY(execute(nlohmann::json{{"nftables", commands}}));
  return {};
}

Result<nlohmann::json> Nftables::list(const nlohmann::json& command) {
  std::string output = SLW_TRY(execute(nlohmann::json{{"nftables", nlohmann::json::array({command})}}));
  auto parsed = nlohmann::json::parse(output, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("nftables") || !parsed["nftables"].is_array())
    return fail("nftables: unreadable answer to {}", command.dump());
  return parsed["nftables"];
}

}  // namespace slipway::netns
