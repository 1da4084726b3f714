#include "netns/forward_rule.h"

#include <charconv>
#include <vector>

namespace slipway::netns {

std::string ForwardRule::to_string() const {
  return fmt::format("{}:{} -> {}:{}", listen_address.to_string(), listen_port,
                     target_address.to_string(), target_port);
}

std::string ForwardRule::listen_label() const {
  return fmt::format("{} {}:{}", direction == Direction::kForward ? "forward" : "publish",
                     listen_address.to_string(), listen_port);
}

std::string_view ForwardRule::listen_place() const {
  return direction == Direction::kForward ? "in the container's network namespace" : "on the host";
}

Result<uint16_t> parse_port(std::string_view text) {
  if (text.empty()) return fail("missing port");
  if (text.find('-') != std::string_view::npos)
    return fail("port ranges are not supported (\"{}\")", text);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && end == text.end() && value > 65535))
    return fail("port {} out of range 1-65535", text);
  if (ec != std::errc() || end != text.end()) return fail("invalid port \"{}\"", text);
  if (value == 0) return fail("port 0 out of range 1-65535");
  return static_cast<uint16_t>(value);
}

namespace {

Result<Ipv4> parse_address(std::string_view text) {
  if (text.empty()) return fail("missing address");
  if (text.front() == '[' || text.find(':') != std::string_view::npos)
    return fail("IPv6 address \"{}\" is not supported", text);
  if (text == "localhost") return kLoopback;
  return parse_ipv4(text);
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

Result<ForwardRule> parse_forward_parts(std::string_view spec) {
  auto eq = spec.find('=');
  if (eq == std::string_view::npos || spec.find('=', eq + 1) != std::string_view::npos)
    return fail("want [ADDR:]PORT=HOST:PORT");
  ForwardRule rule;
  rule.direction = ForwardRule::Direction::kForward;
  auto listen = split(spec.substr(0, eq), ':');
  if (listen.size() > 2) return fail("want [ADDR:]PORT=HOST:PORT");
  if (listen.size() == 2)
    rule.listen_address = SLW_TRY_CTX(parse_address(listen[0]), "listen address");
  rule.listen_port = SLW_TRY_CTX(parse_port(listen.back()), "listen port");
  auto target = split(spec.substr(eq + 1), ':');
  if (target.size() != 2) return fail("target must be HOST:PORT");
  rule.target_address = SLW_TRY_CTX(parse_address(target[0]), "target address");
  rule.target_port = SLW_TRY_CTX(parse_port(target[1]), "target port");
  return rule;
}

Result<ForwardRule> parse_publish_parts(std::string_view spec) {
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    std::string_view proto = spec.substr(slash + 1);
    if (proto != "tcp") return fail("protocol \"{}\" is not supported (only tcp)", proto);
    spec = spec.substr(0, slash);
  }
  if (!spec.empty() && spec.front() == '[') return fail("IPv6 addresses are not supported");
  ForwardRule rule;
  rule.direction = ForwardRule::Direction::kPublish;
  rule.listen_address = kAnyAddress;
  rule.target_address = kLoopback;
  auto parts = split(spec, ':');
  if (parts.size() > 3) return fail("want [HOSTADDR:][HOSTPORT:]PORT");
  if (parts.size() == 3) rule.listen_address = SLW_TRY_CTX(parse_address(parts[0]), "host address");
  if (parts.size() >= 2 && !parts[parts.size() - 2].empty())
    rule.listen_port = SLW_TRY_CTX(parse_port(parts[parts.size() - 2]), "host port");
  rule.target_port = SLW_TRY_CTX(parse_port(parts.back()), "container port");
  return rule;
}

}  // namespace

Result<ForwardRule> parse_forward_spec(std::string_view spec) {
  return with_context(parse_forward_parts(spec), fmt::format("invalid --forward \"{}\"", spec));
}

Result<ForwardRule> parse_publish_spec(std::string_view spec) {
  return with_context(parse_publish_parts(spec), fmt::format("invalid -p \"{}\"", spec));
}

}  // namespace slipway::netns
