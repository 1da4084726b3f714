// The --forward and -p parsers: defaults, every accepted form, and one-line errors for the rest.
#include "netns/forward_rule.h"

#include <gtest/gtest.h>

namespace slipway::netns {
namespace {

Ipv4 ip(const char* text) {
  return *parse_ipv4(text);
}

std::string error_of(const Result<ForwardRule>& r) {
  return r ? std::string("<no error>") : r.error().message();
}

TEST(ForwardRuleTest, ForwardWithPortOnlyListensOnContainerLoopback) {
  auto r = parse_forward_spec("6379=127.0.0.1:6379");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->direction, ForwardRule::Direction::kForward);
  EXPECT_EQ(r->listen_address, kLoopback);
  EXPECT_EQ(r->listen_port, 6379);
  EXPECT_EQ(r->target_address, kLoopback);
  EXPECT_EQ(r->target_port, 6379);
  EXPECT_EQ(r->listen_netns_fd, -1);
  EXPECT_EQ(r->connect_netns_fd, -1);
  EXPECT_EQ(r->to_string(), "127.0.0.1:6379 -> 127.0.0.1:6379");
  EXPECT_EQ(r->listen_label(), "forward 127.0.0.1:6379");
}

TEST(ForwardRuleTest, ForwardWithAddressAndLocalhostTarget) {
  auto r = parse_forward_spec("0.0.0.0:8080=localhost:80");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->listen_address, kAnyAddress);
  EXPECT_EQ(r->listen_port, 8080);
  EXPECT_EQ(r->target_address, kLoopback);
  EXPECT_EQ(r->target_port, 80);

  r = parse_forward_spec("10.0.0.2:27017=192.168.1.5:27018");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->listen_address, ip("10.0.0.2"));
  EXPECT_EQ(r->target_address, ip("192.168.1.5"));
  EXPECT_EQ(r->target_port, 27018);
}

TEST(ForwardRuleTest, ForwardErrorsNameTheSpecAndThePart) {
  EXPECT_EQ(error_of(parse_forward_spec("6379")),
            "invalid --forward \"6379\": want [ADDR:]PORT=HOST:PORT");
  EXPECT_EQ(error_of(parse_forward_spec("6379=6379")),
            "invalid --forward \"6379=6379\": target must be HOST:PORT");
  EXPECT_EQ(error_of(parse_forward_spec("0=127.0.0.1:1")),
            "invalid --forward \"0=127.0.0.1:1\": listen port: port 0 out of range 1-65535");
  EXPECT_EQ(
      error_of(parse_forward_spec("70000=127.0.0.1:1")),
      "invalid --forward \"70000=127.0.0.1:1\": listen port: port 70000 out of range 1-65535");
  EXPECT_EQ(error_of(parse_forward_spec("1=127.0.0.1:x")),
            "invalid --forward \"1=127.0.0.1:x\": target port: invalid port \"x\"");
  EXPECT_EQ(error_of(parse_forward_spec("1=127.0.0.1:")),
            "invalid --forward \"1=127.0.0.1:\": target port: missing port");
  EXPECT_EQ(
      error_of(parse_forward_spec("1.2.3:1=127.0.0.1:2")),
      "invalid --forward \"1.2.3:1=127.0.0.1:2\": listen address: invalid IPv4 address \"1.2.3\"");
  EXPECT_EQ(error_of(parse_forward_spec("1=redis.example:6379")),
            "invalid --forward \"1=redis.example:6379\": target address: invalid IPv4 address "
            "\"redis.example\"");
  EXPECT_EQ(error_of(parse_forward_spec("1=2=3")),
            "invalid --forward \"1=2=3\": want [ADDR:]PORT=HOST:PORT");
  EXPECT_EQ(error_of(parse_forward_spec("a:b:1=127.0.0.1:2")),
            "invalid --forward \"a:b:1=127.0.0.1:2\": want [ADDR:]PORT=HOST:PORT");
  EXPECT_FALSE(parse_forward_spec("+1=127.0.0.1:2"));
  EXPECT_FALSE(parse_forward_spec(" 1=127.0.0.1:2"));
  EXPECT_FALSE(parse_forward_spec("=127.0.0.1:2"));
  EXPECT_FALSE(parse_forward_spec(""));
}

TEST(ForwardRuleTest, PublishFormsFollowDocker) {
  auto r = parse_publish_spec("8080:80");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->direction, ForwardRule::Direction::kPublish);
  EXPECT_EQ(r->listen_address, kAnyAddress);
  EXPECT_EQ(r->listen_port, 8080);
  EXPECT_EQ(r->target_address, kLoopback);
  EXPECT_EQ(r->target_port, 80);
  EXPECT_EQ(r->listen_label(), "publish 0.0.0.0:8080");
  EXPECT_EQ(r->listen_place(), "on the host");

  r = parse_publish_spec("127.0.0.1:8080:80/tcp");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->listen_address, kLoopback);
  EXPECT_EQ(r->listen_port, 8080);
  EXPECT_EQ(r->target_port, 80);

  r = parse_publish_spec("127.0.0.1::80");  // any free host port
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->listen_port, 0);
  EXPECT_EQ(r->target_port, 80);

  r = parse_publish_spec("80");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->listen_address, kAnyAddress);
  EXPECT_EQ(r->listen_port, 0);
  EXPECT_EQ(r->target_port, 80);
}

TEST(ForwardRuleTest, PublishErrors) {
  EXPECT_EQ(error_of(parse_publish_spec("8080:80/udp")),
            "invalid -p \"8080:80/udp\": protocol \"udp\" is not supported (only tcp)");
  EXPECT_EQ(error_of(parse_publish_spec("[::1]:8080:80")),
            "invalid -p \"[::1]:8080:80\": IPv6 addresses are not supported");
  EXPECT_EQ(error_of(parse_publish_spec("8000-8010:8000-8010")),
            "invalid -p \"8000-8010:8000-8010\": host port: port ranges are not supported "
            "(\"8000-8010\")");
  EXPECT_EQ(error_of(parse_publish_spec("8080:0")),
            "invalid -p \"8080:0\": container port: port 0 out of range 1-65535");
  EXPECT_EQ(error_of(parse_publish_spec("1.2.3.4.5:1:2")),
            "invalid -p \"1.2.3.4.5:1:2\": host address: invalid IPv4 address \"1.2.3.4.5\"");
  EXPECT_EQ(error_of(parse_publish_spec("a:b:c:d")),
            "invalid -p \"a:b:c:d\": want [HOSTADDR:][HOSTPORT:]PORT");
  EXPECT_EQ(error_of(parse_publish_spec("8080:")),
            "invalid -p \"8080:\": container port: missing port");
}

TEST(ForwardRuleTest, PortParsing) {
  EXPECT_EQ(*parse_port("1"), 1);
  EXPECT_EQ(*parse_port("65535"), 65535);
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port("99999999999999999999"));
  EXPECT_FALSE(parse_port("-1"));
  EXPECT_FALSE(parse_port("0x50"));
  EXPECT_FALSE(parse_port("80 "));
  EXPECT_FALSE(parse_port(""));
}

}  // namespace
}  // namespace slipway::netns
