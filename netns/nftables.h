// nftables through libnftables' JSON API (libnftables.so.1, loaded with dlopen on first use like
// libcurl and libgit2: only network set-up needs it, not every container start). Commands are
// JSON documents ({"nftables": [...]}) built with nlohmann::json, so nothing is spliced into a
// rule language by hand, and the kernel applies each document as one transaction.
#pragma once

#include <nlohmann/json.hpp>

#include "base/error.h"

struct nft_ctx;

namespace slipway::netns {

// One libnftables context in the network namespace of the calling thread. Not thread-safe.
class Nftables {
 public:
  // The error names the package to install when libnftables is missing.
  static Result<Nftables> open();

  Nftables(Nftables&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  Nftables& operator=(Nftables&&) = delete;
  ~Nftables();

  // Runs {"nftables": commands} as one transaction; nothing is applied when any command fails,
  // and the error carries nft's own message.
  Status run(const nlohmann::json& commands);
  // The answer of one list command, e.g. {"list": {"ruleset": null}}: the "nftables" array.
  Result<nlohmann::json> list(const nlohmann::json& command);

 private:
  explicit Nftables(nft_ctx* ctx) : ctx_(ctx) {}
  Result<std::string> execute(const nlohmann::json& document);

  nft_ctx* ctx_;
};

}  // namespace slipway::netns
