// The --flags an instruction accepts (buildkit's BFlags): each instruction declares its flags,
// then the flags written in the Dockerfile are checked against them.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

class FlagSet {
 public:
  explicit FlagSet(std::string instruction) : instruction_(std::move(instruction)) {}

  void add_bool(std::string name) { add(std::move(name), Type::kBool); }
  void add_string(std::string name) { add(std::move(name), Type::kString); }
  // May be given several times: --mount=a --mount=b.
  void add_strings(std::string name) { add(std::move(name), Type::kStrings); }

  // "--name=value", "--bool" (true), "--bool=false"; a bare "--" ends the flags.
  Status parse(const std::vector<std::string>& written);

  bool used(std::string_view name) const;
  bool boolean(std::string_view name) const;
  const std::string& string(std::string_view name) const;
  const std::vector<std::string>& strings(std::string_view name) const;

 private:
  enum class Type { kBool, kString, kStrings };
  struct Flag {
    Type type = Type::kString;
    bool used = false;
    std::vector<std::string> values;  // one value unless kStrings
  };
  void add(std::string name, Type type) { flags_[std::move(name)].type = type; }
  const Flag& get(std::string_view name) const;

  std::string instruction_;
  std::map<std::string, Flag, std::less<>> flags_;
};

}  // namespace slipway::oci
