// The service DNS's own answers, without sockets: which names are ours, what each query type
// gets, NXDOMAIN, forwarding decisions, FORMERR/NOTIMP/BADVERS, and response size limits.
#include "netns/dns_responder.h"

#include <gtest/gtest.h>

#include <map>

#include "netns/dns_message.h"

namespace slipway::netns {
namespace {

class DnsResponderTest : public ::testing::Test {
 protected:
  DnsResponderTest() {
    zone_.domain = "test.slipway";
    zone_.resolve = [this](std::string_view fqdn) -> std::optional<std::vector<Ipv4>> {
      asked_.emplace_back(fqdn);
      auto it = names_.find(std::string(fqdn));
      if (it == names_.end()) return std::nullopt;
      return it->second;
    };
    names_["web.test.slipway"] = {Ipv4{0x0a000005}};
    names_["db.test.slipway"] = {Ipv4{0x0a000006}, Ipv4{0x0a000007}};
    names_["db.internal.test.slipway"] = {Ipv4{0x0a000008}};  // an alias with a dot
  }

  static std::vector<uint8_t> query(const std::string& name, uint16_t type = dns::kTypeA,
                                    bool with_edns = false, uint16_t edns_size = 4096) {
    DnsMessage q;
    q.header.id = 0x4242;
    q.header.recursion_desired = true;
    q.questions.push_back({name, type, dns::kClassIN});
    if (with_edns) {
      q.edns.emplace();
      q.edns->udp_size = edns_size;
    }
    return *build_dns_message(q);
  }

  DnsMessage answered(std::span<const uint8_t> wire, bool over_tcp = false) {
    DnsDecision d = answer_dns_query(wire, zone_, over_tcp);
    EXPECT_EQ(d.kind, DnsDecision::Kind::kAnswer);
    auto m = parse_dns_message(d.answer);
    EXPECT_TRUE(m) << (m ? "" : m.error().message());
    return m ? *m : DnsMessage{};
  }

  static std::vector<std::string> addresses(const DnsMessage& m) {
    std::vector<std::string> out;
    for (auto& rr : m.answers)
      if (rr.type == dns::kTypeA && rr.rdata.size() == 4)
        out.push_back(
            fmt::format("{}.{}.{}.{}", rr.rdata[0], rr.rdata[1], rr.rdata[2], rr.rdata[3]));
    return out;
  }

  DnsZone zone_;
  std::map<std::string, std::vector<Ipv4>> names_;
  std::vector<std::string> asked_;
};

TEST_F(DnsResponderTest, ShortNameAndFullNameResolveAlike) {
  DnsMessage a = answered(query("web"));
  EXPECT_EQ(a.header.id, 0x4242);
  EXPECT_TRUE(a.header.response);
  EXPECT_TRUE(a.header.authoritative);
  EXPECT_EQ(a.rcode(), dns::kNoError);
  EXPECT_EQ(addresses(a), std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(a.answers[0].name, "web");  // owner is the name as asked
  EXPECT_EQ(a.answers[0].ttl, 10u);

  DnsMessage b = answered(query("web.test.slipway"));
  EXPECT_EQ(addresses(b), std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(asked_, (std::vector<std::string>{"web.test.slipway", "web.test.slipway"}));
}

TEST_F(DnsResponderTest, NamesAreCaseInsensitive) {
  DnsMessage a = answered(query("WeB.Test.SLIPWAY."));
  EXPECT_EQ(addresses(a), std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(a.questions[0].name, "WeB.Test.SLIPWAY");
  EXPECT_EQ(asked_.back(), "web.test.slipway");
}

TEST_F(DnsResponderTest, SeveralAddressesAndAnAliasWithADot) {
  EXPECT_EQ(addresses(answered(query("db"))), (std::vector<std::string>{"10.0.0.6", "10.0.0.7"}));
  // Not inside the domain and not a single label: tried as a local alias first.
  EXPECT_EQ(addresses(answered(query("db.internal"))), std::vector<std::string>{"10.0.0.8"});
}

TEST_F(DnsResponderTest, AaaaAndOtherTypesOfALocalNameGetAnEmptyAnswer) {
  for (uint16_t type : {dns::kTypeAAAA, dns::kTypeMX, dns::kTypeTXT}) {
    DnsMessage a = answered(query("web", type));
    EXPECT_EQ(a.rcode(), dns::kNoError) << type;
    EXPECT_TRUE(a.answers.empty()) << type;
    EXPECT_TRUE(a.header.authoritative);
  }
  EXPECT_EQ(addresses(answered(query("web", dns::kTypeANY))), std::vector<std::string>{"10.0.0.5"});
}

TEST_F(DnsResponderTest, UnknownLocalNamesAreNxdomain) {
  for (std::string name : {"nope", "nope.test.slipway", "a.b.test.slipway", "NOPE"}) {
    DnsMessage a = answered(query(name));
    EXPECT_EQ(a.rcode(), dns::kNxDomain) << name;
    EXPECT_TRUE(a.answers.empty()) << name;
    EXPECT_TRUE(a.header.authoritative) << name;
  }
  DnsMessage aaaa = answered(query("nope", dns::kTypeAAAA));
  EXPECT_EQ(aaaa.rcode(), dns::kNxDomain);
  // The domain itself exists, without addresses.
  DnsMessage apex = answered(query("test.slipway"));
  EXPECT_EQ(apex.rcode(), dns::kNoError);
  EXPECT_TRUE(apex.answers.empty());
}

TEST_F(DnsResponderTest, OutsideNamesAreForwardedAfterALocalTry) {
  DnsDecision d = answer_dns_query(query("deb.debian.org"), zone_, false);
  EXPECT_EQ(d.kind, DnsDecision::Kind::kForward);
  EXPECT_EQ(asked_.back(), "deb.debian.org.test.slipway");
  EXPECT_EQ(answer_dns_query(query("example.com", dns::kTypeAAAA), zone_, false).kind,
            DnsDecision::Kind::kForward);
  EXPECT_EQ(answer_dns_query(query("", dns::kTypeNS), zone_, false).kind,
            DnsDecision::Kind::kForward);
  // A "domain" ending that is not on a label boundary is not ours.
  EXPECT_EQ(answer_dns_query(query("x.othertest.slipway"), zone_, false).kind,
            DnsDecision::Kind::kForward);
}

TEST_F(DnsResponderTest, PtrUsesTheReverseCallbackOrForwards) {
  EXPECT_EQ(answer_dns_query(query("5.0.0.10.in-addr.arpa", dns::kTypePTR), zone_, false).kind,
            DnsDecision::Kind::kForward);
  zone_.reverse = [](Ipv4 a) -> std::optional<std::string> {
    if (a == Ipv4{0x0a000005}) return "web.test.slipway";
    return std::nullopt;
  };
  DnsMessage a = answered(query("5.0.0.10.in-addr.arpa", dns::kTypePTR));
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].type, dns::kTypePTR);
  EXPECT_EQ(*dns_rdata_name(a.answers[0]), "web.test.slipway");
  EXPECT_EQ(answer_dns_query(query("9.0.0.10.in-addr.arpa", dns::kTypePTR), zone_, false).kind,
            DnsDecision::Kind::kForward);
}

TEST_F(DnsResponderTest, MalformedAndUnsupportedQueries) {
  // Not even a header: dropped.
  EXPECT_EQ(answer_dns_query(std::vector<uint8_t>{1, 2, 3}, zone_, false).kind,
            DnsDecision::Kind::kDrop);
  // A response sent to us: never answered (no loops, no reflection).
  auto resp = query("web");
  resp[2] |= 0x80;
  EXPECT_EQ(answer_dns_query(resp, zone_, false).kind, DnsDecision::Kind::kDrop);
  // A header and a broken question: FORMERR with the id.
  auto broken = query("web");
  broken.resize(broken.size() - 2);
  DnsMessage f = answered(broken);
  EXPECT_EQ(f.header.id, 0x4242);
  EXPECT_EQ(f.rcode(), dns::kFormErr);
  EXPECT_TRUE(f.questions.empty());
  // Two questions: FORMERR.
  DnsMessage two;
  two.header.id = 9;
  two.questions = {{"web", dns::kTypeA, dns::kClassIN}, {"db", dns::kTypeA, dns::kClassIN}};
  EXPECT_EQ(answered(*build_dns_message(two)).rcode(), dns::kFormErr);
  // Opcode STATUS (2): NOTIMP.
  auto status = query("web");
  status[2] = static_cast<uint8_t>((status[2] & 0x87) | (2 << 3));
  EXPECT_EQ(answered(status).rcode(), dns::kNotImp);
  // EDNS version 1: BADVERS.
  DnsMessage v1 = *parse_dns_message(query("web", dns::kTypeA, true));
  v1.edns->version = 1;
  EXPECT_EQ(answered(*build_dns_message(v1)).rcode(), dns::kBadVers);
  // CHAOS class for a local name: REFUSED.
  DnsMessage chaos = *parse_dns_message(query("version"));
  chaos.questions[0].qclass = 3;
  EXPECT_EQ(answered(*build_dns_message(chaos)).rcode(), dns::kRefused);
}

TEST_F(DnsResponderTest, ResponsesFitTheClientsLimit) {
  std::vector<Ipv4> many;
  for (uint32_t i = 1; i <= 100; ++i) many.push_back(Ipv4{0x0a010000 + i});
  names_["big.test.slipway"] = many;

  DnsDecision udp = answer_dns_query(query("big"), zone_, false);
  EXPECT_LE(udp.answer.size(), 512u);
  auto u = parse_dns_message(udp.answer);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->header.truncated);

  DnsDecision edns = answer_dns_query(query("big", dns::kTypeA, true, 4096), zone_, false);
  EXPECT_GT(edns.answer.size(), 512u);
  EXPECT_LE(edns.answer.size(), 1232u);
  auto e = parse_dns_message(edns.answer);
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->edns);
  EXPECT_TRUE(e->header.truncated);

  DnsDecision tcp = answer_dns_query(query("big"), zone_, true);
  auto t = parse_dns_message(tcp.answer);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->header.truncated);
  EXPECT_EQ(t->answers.size(), 100u);

  EXPECT_EQ(dns_response_limit(std::nullopt, false), 512u);
  EXPECT_EQ(dns_response_limit(100, false), 512u);
  EXPECT_EQ(dns_response_limit(1400, false), 1232u);
  EXPECT_EQ(dns_response_limit(std::nullopt, true), 65535u);
}

}  // namespace
}  // namespace slipway::netns
