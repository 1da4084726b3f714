#include "oci/digest.h"

#include <utility>

namespace slipway::oci {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

std::string to_hex(const unsigned char* bytes, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHexDigits[bytes[i] >> 4]);
    out.push_back(kHexDigits[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace

Sha256::Sha256() { ::nettle_sha256_init(&ctx_); }

void Sha256::update(const void* data, size_t size) {
  ::nettle_sha256_update(&ctx_, size, static_cast<const uint8_t*>(data));
  size_ += size;
}

std::string Sha256::finish() {
  uint8_t md[SHA256_DIGEST_SIZE];
  ::nettle_sha256_digest(&ctx_, SHA256_DIGEST_SIZE, md);  // also resets the context
  size_ = 0;
  return std::string(kSha256Prefix) + to_hex(md, SHA256_DIGEST_SIZE);
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

bool is_hex(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string short_digest(std::string_view digest) {
  if (digest.starts_with(kSha256Prefix)) digest.remove_prefix(kSha256Prefix.size());
  return std::string(digest.substr(0, 12));
}

bool is_sha256_digest(std::string_view digest) {
  if (!digest.starts_with(kSha256Prefix)) return false;
  std::string_view hex = digest.substr(kSha256Prefix.size());
  return hex.size() == 64 && is_hex(hex);
}

Result<std::string_view> digest_hex(std::string_view digest) {
  if (is_sha256_digest(digest)) return digest.substr(kSha256Prefix.size());
  auto colon = digest.find(':');
  if (colon != std::string_view::npos && colon > 0 && digest.substr(0, colon) != "sha256")
    return fail("unsupported digest algorithm '{}' in '{}' (only sha256 is supported)",
                digest.substr(0, colon), digest);
  return fail("invalid digest '{}': want sha256:<64 lowercase hex digits>", digest);
}

Status check_blob(std::string_view expected_digest, int64_t expected_size,
                  std::string_view actual_digest, int64_t actual_size) {
  if (expected_size >= 0 && expected_size != actual_size)
    return fail("blob {}: size is {} bytes but its descriptor says {}", expected_digest,
                actual_size, expected_size);
  if (expected_digest != actual_digest)
    return fail("blob {}: content does not match its digest (content is {})", expected_digest,
                actual_digest);
  return {};
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  for (const auto& diff : diff_ids) {
    if (out.empty())
      out.push_back(diff);
    else
      out.push_back(sha256_digest(out.back() + " " + diff));
  }
  return out;
}

}  // namespace slipway::oci
