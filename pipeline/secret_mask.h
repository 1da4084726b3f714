// Masks secret values in a stream of step output: each value, and its base64 forms (standard and
// URL-safe, at each of the three alignments a value can have inside a longer base64 text), become
// "***". Output is held back by at most the longest pattern's length minus one, so a value split
// across writes is still caught; finish() releases the rest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace slipway::pipeline {

inline constexpr std::string_view kMasked = "***";

class SecretMask {
 public:
  explicit SecretMask(const std::vector<std::string>& secrets);

  bool empty() const { return patterns_.empty(); }
  // Masked text that is safe to write now.
  std::string feed(std::string_view chunk);
  // The held-back rest, masked; the mask is ready for a new stream afterwards.
  std::string finish();
  // A whole text at once (messages, reports).
  std::string mask(std::string_view text) const;

 private:
  // Replaces every pattern in buf from `from` on; returns the masked text and where the scan
  // ended. With `hold`, the last longest-1 bytes stay unscanned unless a match covers them.
  std::string scan(const std::string& buf, size_t& pos, bool hold) const;

  std::vector<std::string> patterns_;  // longest first
  size_t longest_ = 0;
  std::string held_;
};

// The forms of a secret that are masked (the value, then its base64 forms); for tests.
std::vector<std::string> masked_forms(std::string_view secret);

}  // namespace slipway::pipeline
