// SHA-256 digests in OCI form ("sha256:<64 lowercase hex>"), a streaming hasher and chain ids.
#pragma once

#include <nettle/sha2.h>
// nettle names its functions through macros; this one would rename slipway::oci::sha256_digest.
#undef sha256_digest

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

inline constexpr std::string_view kSha256Prefix = "sha256:";

// Incremental SHA-256 (nettle: no global initialisation, unlike OpenSSL's EVP, whose first use
// costs ~1.5 ms, paid on every `slipway run`); feed it any number of chunks, then finish once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Bytes fed so far.
  uint64_t size() const { return size_; }
  // "sha256:<hex>" of everything fed; the hasher starts over afterwards.
  std::string finish();

 private:
  sha256_ctx ctx_;
  uint64_t size_ = 0;
};

// "sha256:<hex>" of data.
std::string sha256_digest(std::string_view data);

// The first 12 hex digits, as Docker shows a digest in progress lines ("sha256:" dropped).
std::string short_digest(std::string_view digest);

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_sha256_digest(std::string_view digest);

// The hex part of a valid sha256 digest; the error says what is wrong with it.
Result<std::string_view> digest_hex(std::string_view digest);

// Compares what a blob turned out to be with what its descriptor promised. A negative expected_size
// means the size is unknown and only the digest is checked.
Status check_blob(std::string_view expected_digest, int64_t expected_size,
                  std::string_view actual_digest, int64_t actual_size);

// OCI chain ids: chain(L0) = diff(L0), chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// True when text is a non-empty run of lowercase hex digits (an image id prefix).
bool is_hex(std::string_view text);

}  // namespace slipway::oci
