#include "pipeline/secret_mask.h"

#include <algorithm>
#include <set>

namespace slipway::pipeline {
namespace {

// Shorter base64 fragments would mask ordinary words.
constexpr size_t kMinFragment = 6;

std::string base64(std::string_view data, bool url) {
  const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : data) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += alphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += alphabet[(bits << (6 - count)) & 63];
  return out;
}

}  // namespace

std::vector<std::string> masked_forms(std::string_view secret) {
  std::vector<std::string> forms = {std::string(secret)};
  if (secret.empty()) return {};
  for (bool url : {false, true}) {
    for (size_t shift = 0; shift < 3; ++shift) {
      // Behind `shift` bytes of something else, the characters that only the secret's bits decide:
      // from bit 8*shift (rounded up to a character) to the last whole character inside it.
      std::string encoded = base64(std::string(shift, '\0') + std::string(secret), url);
      size_t first = (8 * shift + 5) / 6;
      size_t end = (8 * (shift + secret.size())) / 6;
      if (end > first && end - first >= kMinFragment) forms.push_back(encoded.substr(first, end - first));
    }
  }
  std::set<std::string> seen;
  std::erase_if(forms, [&](const std::string& f) { return !seen.insert(f).second; });
  return forms;
}

SecretMask::SecretMask(const std::vector<std::string>& secrets) {
  for (const auto& s : secrets)
    for (auto& form : masked_forms(s)) patterns_.push_back(std::move(form));
  std::sort(patterns_.begin(), patterns_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  patterns_.erase(std::unique(patterns_.begin(), patterns_.end()), patterns_.end());
  for (const auto& p : patterns_) longest_ = std::max(longest_, p.size());
}

std::string SecretMask::scan(const std::string& buf, size_t& pos, bool hold) const {
  std::string out;
  size_t stop = hold && buf.size() >= longest_ ? buf.size() - (longest_ - 1) : hold ? 0 : buf.size();
  while (pos < buf.size()) {
    // The earliest match; at one position the longest pattern (patterns_ is sorted so).
    size_t best = std::string::npos, best_len = 0;
    for (const auto& p : patterns_) {
      size_t at = buf.find(p, pos);
      if (at != std::string::npos && (at < best || (at == best && p.size() > best_len))) {
        best = at;
        best_len = p.size();
      }
    }
    if (best == std::string::npos || (hold && best >= stop)) break;
    out.append(buf, pos, best - pos);
    out += kMasked;
    pos = best + best_len;
  }
  size_t end = std::max(pos, stop);
  if (end > pos) out.append(buf, pos, end - pos);
  pos = end;
  return out;
}

std::string SecretMask::feed(std::string_view chunk) {
  if (patterns_.empty()) return std::string(chunk);
  held_.append(chunk);
  size_t pos = 0;
  std::string out = scan(held_, pos, true);
  held_.erase(0, pos);
  return out;
}

std::string SecretMask::finish() {
  size_t pos = 0;
  std::string out = scan(held_, pos, false);
  held_.clear();
  return out;
}

std::string SecretMask::mask(std::string_view text) const {
  if (patterns_.empty()) return std::string(text);
  std::string buf(text);
  size_t pos = 0;
  return scan(buf, pos, false);
}

}  // namespace slipway::pipeline
