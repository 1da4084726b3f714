// Masking secrets in step output: the value, its base64 forms at every alignment, values split
// across writes, and text around them kept as it was.
#include "pipeline/secret_mask.h"

#include <gtest/gtest.h>

#include <string>

namespace slipway::pipeline {
namespace {

std::string b64(const std::string& s) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i + 1 == s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == s.size()) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    for (int k = 18; k >= 6; k -= 6) out += kAlphabet[(v >> k) & 63];
    out += "=";
  }
  return out;
}

constexpr const char* kSecret = "hunter2-s3cret-value";

TEST(SecretMaskTest, TheValueIsMaskedAndTheRestKept) {
  SecretMask mask({kSecret});
  EXPECT_EQ(mask.mask(std::string("token=") + kSecret + "; done\n"), "token=***; done\n");
  EXPECT_EQ(mask.mask("nothing secret here"), "nothing secret here");
  EXPECT_EQ(mask.mask(std::string(kSecret) + kSecret), "******");
}

TEST(SecretMaskTest, Base64FormsAreMaskedAtEveryOffset) {
  SecretMask mask({kSecret});
  for (std::string prefix : {"", "a", "ab", "abc", "user:"}) {
    std::string encoded = b64(prefix + kSecret + "\n");
    std::string masked = mask.mask("auth " + encoded);
    EXPECT_NE(masked.find("***"), std::string::npos) << prefix << ": " << masked;
    // Nothing long enough to decode back to the secret stays.
    EXPECT_EQ(masked.find(b64(kSecret).substr(0, 8)), std::string::npos) << masked;
  }
}

TEST(SecretMaskTest, AValueSplitAcrossWritesIsStillMasked) {
  SecretMask mask({kSecret});
  std::string text = std::string("start ") + kSecret + " middle " + kSecret + " end\n";
  for (size_t chunk = 1; chunk <= text.size(); ++chunk) {
    SecretMask stream = mask;
    std::string out;
    for (size_t i = 0; i < text.size(); i += chunk) out += stream.feed(text.substr(i, chunk));
    out += stream.finish();
    EXPECT_EQ(out, "start *** middle *** end\n") << "chunk " << chunk;
  }
}

TEST(SecretMaskTest, NoSecretsMeansNothingIsHeldBack) {
  SecretMask mask({});
  EXPECT_TRUE(mask.empty());
  EXPECT_EQ(mask.feed("abc"), "abc");
}

TEST(SecretMaskTest, ShortBase64FragmentsAreNotMasked) {
  // A secret of 8 bytes has base64 fragments of at least 6 characters; none shorter is a pattern.
  for (const auto& form : masked_forms("12345678")) EXPECT_GE(form.size(), 6u) << form;
}

}  // namespace
}  // namespace slipway::pipeline
