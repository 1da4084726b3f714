// Records keep any byte string the kernel accepts: invalid UTF-8 round-trips through JSON.
#include "base/byte_json.h"

#include <gtest/gtest.h>

namespace slipway {
namespace {

TEST(ByteJson, ValidUtf8IsRecognised) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xb3"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(ByteJson, AnyBytesRoundTripInValuesAndKeys) {
  std::string bytes = "A=\xff\xfe end";
  std::string leading_nul("\0x", 2);
  nlohmann::json doc = {{"args", {"echo", bytes}}, {"labels", {{"k\xff", "v"}}}, {"plain", "ok"},
                        {"nul", leading_nul}, {"n", 3}};
  std::string text = dump_byte_safe(doc);
  nlohmann::json back = nlohmann::json::parse(text);  // valid JSON: parses without complaint
  EXPECT_EQ(back["plain"], "ok");
  decode_byte_strings(back);
  EXPECT_EQ(back["args"][1].get<std::string>(), bytes);
  EXPECT_EQ(back["labels"]["k\xff"].get<std::string>(), "v");
  EXPECT_EQ(back["nul"].get<std::string>(), leading_nul);
  EXPECT_EQ(back["n"], 3);
  EXPECT_EQ(back, doc);
}

TEST(ByteJson, ValidStringsAreStoredAsThemselves) {
  nlohmann::json doc = {{"env", {"PATH=/bin", "LANG=C.UTF-8 \xe2\x82\xac"}}};
  EXPECT_EQ(dump_byte_safe(doc), doc.dump());
}

}  // namespace
}  // namespace slipway
