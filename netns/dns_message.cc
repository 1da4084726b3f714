#include "netns/dns_message.h"

#include <charconv>
#include <unordered_map>

namespace slipway::netns {

namespace {

constexpr size_t kMaxNameWire = 255;
constexpr size_t kMaxLabel = 63;
// Each jump goes strictly backwards, which already bounds the chain; this is a second guard.
constexpr int kMaxPointerHops = 64;

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> wire) : wire_(wire) {}

  size_t pos() const { return pos_; }
  size_t left() const { return wire_.size() - pos_; }

  Result<uint8_t> u8() {
    if (left() < 1) return truncated();
    return wire_[pos_++];
  }
  Result<uint16_t> u16() {
    if (left() < 2) return truncated();
    uint16_t v = static_cast<uint16_t>(wire_[pos_] << 8 | wire_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> u32() {
    uint32_t hi = SLW_TRY(u16());
    uint32_t lo = SLW_TRY(u16());
    return hi << 16 | lo;
  }
  Result<std::span<const uint8_t>> bytes(size_t n) {
    if (left() < n) return truncated();
    auto out = wire_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  // A possibly compressed name at the current position; appends its uncompressed wire form to
  // `wire_out` when given.
  Result<std::string> name(std::vector<uint8_t>* wire_out = nullptr) {
    std::string text;
    size_t at = pos_;
    size_t bound = pos_;  // a pointer must land before this
    bool jumped = false;
    size_t wire_len = 1;
    for (int hops = 0;;) {
      if (at >= wire_.size()) return fail("name runs past the end of the message");
      uint8_t len = wire_[at];
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= wire_.size()) return fail("name runs past the end of the message");
        size_t target = static_cast<size_t>(len & 0x3F) << 8 | wire_[at + 1];
        if (target >= bound) return fail("compression pointer does not point backwards");
        if (++hops > kMaxPointerHops) return fail("too many compression pointers");
        if (!jumped) pos_ = at + 2;
        jumped = true;
        bound = target;
        at = target;
        continue;
      }
      if (len & 0xC0) return fail("unsupported label type 0x{:02x}", len & 0xC0);
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        if (wire_out) wire_out->push_back(0);
        return text;
      }
      if (at + 1 + len > wire_.size()) return fail("label runs past the end of the message");
      wire_len += 1 + len;
      if (wire_len > kMaxNameWire) return fail("name longer than 255 bytes");
      auto label = wire_.subspan(at + 1, len);
      for (uint8_t c : label)
        if (c == '.') return fail("label contains a dot");
      if (wire_len > 2u + len) text.push_back('.');  // not the first label
      text.append(label.begin(), label.end());
      if (wire_out)
        wire_out->insert(wire_out->end(), wire_.begin() + at, wire_.begin() + at + 1 + len);
      at += 1 + len;
    }
  }

 private:
  static std::unexpected<Error> truncated() { return fail("message truncated"); }

  std::span<const uint8_t> wire_;
  size_t pos_ = 0;
};

// Rdata of the types that carry names, with those names expanded.
Result<std::vector<uint8_t>> read_rdata(Reader& r, uint16_t type, uint16_t length) {
  size_t end = r.pos() + length;
  if (r.left() < length) return fail("record data runs past the end of the message");
  std::vector<uint8_t> out;
  switch (type) {
    case dns::kTypeNS:
    case dns::kTypeCNAME:
    case dns::kTypePTR:
      SLW_TRY(r.name(&out));
      break;
    case dns::kTypeMX: {
      auto pref = SLW_TRY(r.bytes(2));
      out.assign(pref.begin(), pref.end());
      SLW_TRY(r.name(&out));
      break;
    }
    case dns::kTypeSOA: {
      SLW_TRY(r.name(&out));
      SLW_TRY(r.name(&out));
      if (r.pos() + 20 > end) return fail("SOA record too short");
      auto rest = SLW_TRY(r.bytes(20));
      out.insert(out.end(), rest.begin(), rest.end());
      break;
    }
    default: {
      auto raw = SLW_TRY(r.bytes(length));
      return std::vector<uint8_t>(raw.begin(), raw.end());
    }
  }
  if (r.pos() != end) return fail("record data length does not match its content");
  return out;
}

Result<DnsRecord> read_record(Reader& r) {
  DnsRecord rec;
  rec.name = SLW_TRY(r.name());
  rec.type = SLW_TRY(r.u16());
  rec.rclass = SLW_TRY(r.u16());
  rec.ttl = SLW_TRY(r.u32());
  uint16_t length = SLW_TRY(r.u16());
  rec.rdata = SLW_TRY(read_rdata(r, rec.type, length));
  return rec;
}

class Writer {
 public:
  size_t size() const { return out_.size(); }
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void put16(size_t at, uint16_t v) {
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }
  void set_bits(size_t at, uint8_t bits) { out_[at] |= bits; }
  void truncate(size_t n) { out_.resize(n); }
  std::vector<uint8_t> take() { return std::move(out_); }

  // Writes `name`, pointing at an earlier copy of its longest known suffix (compared
  // case-insensitively, as RFC 1035 compares names).
  Status name(std::string_view name, bool compress = true) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    size_t wire_len = 1;
    while (!name.empty()) {
      std::string key = dns_canonical_name(name);
      if (compress) {
        auto it = offsets_.find(key);
        if (it != offsets_.end()) {
          u16(static_cast<uint16_t>(0xC000 | it->second));
          return {};
        }
        if (out_.size() < 0x4000) offsets_.emplace(std::move(key), out_.size());
      }
      size_t dot = name.find('.');
      std::string_view label = name.substr(0, dot);
      if (label.empty()) return fail("empty label in name");
      if (label.size() > kMaxLabel) return fail("label longer than 63 bytes: \"{}\"", label);
      wire_len += 1 + label.size();
      if (wire_len > kMaxNameWire) return fail("name longer than 255 bytes");
      u8(static_cast<uint8_t>(label.size()));
      out_.insert(out_.end(), label.begin(), label.end());
      name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    u8(0);
    return {};
  }

  // Forgets compression targets at or beyond `size`, after a truncate().
  void forget_from(size_t size) {
    std::erase_if(offsets_, [size](const auto& kv) { return kv.second >= size; });
  }

 private:
  std::vector<uint8_t> out_;
  std::unordered_map<std::string, size_t> offsets_;
};

Status write_record(Writer& w, const DnsRecord& rec) {
  SLW_TRY(w.name(rec.name));
  w.u16(rec.type);
  w.u16(rec.rclass);
  w.u32(rec.ttl);
  if (rec.rdata.size() > dns::kMaxMessageSize) return fail("record data too large");
  w.u16(static_cast<uint16_t>(rec.rdata.size()));
  w.bytes(rec.rdata);
  return {};
}

size_t opt_size(const std::optional<DnsEdns>& edns) {
  return edns ? 11 + edns->options.size() : 0;
}

}  // namespace

Result<DnsHeader> parse_dns_header(std::span<const uint8_t> wire) {
  if (wire.size() < dns::kHeaderSize) return fail("message shorter than a DNS header");
  DnsHeader h;
  h.id = static_cast<uint16_t>(wire[0] << 8 | wire[1]);
  uint8_t f1 = wire[2], f2 = wire[3];
  h.response = f1 & 0x80;
  h.opcode = (f1 >> 3) & 0x0F;
  h.authoritative = f1 & 0x04;
  h.truncated = f1 & 0x02;
  h.recursion_desired = f1 & 0x01;
  h.recursion_available = f2 & 0x80;
  h.authentic_data = f2 & 0x20;
  h.checking_disabled = f2 & 0x10;
  h.rcode = f2 & 0x0F;
  h.question_count = static_cast<uint16_t>(wire[4] << 8 | wire[5]);
  return h;
}

Result<DnsMessage> parse_dns_message(std::span<const uint8_t> wire) {
  DnsMessage m;
  m.header = SLW_TRY(parse_dns_header(wire));
  Reader r(wire);
  SLW_TRY(r.bytes(4));
  uint16_t qd = SLW_TRY(r.u16());
  uint16_t an = SLW_TRY(r.u16());
  uint16_t ns = SLW_TRY(r.u16());
  uint16_t ar = SLW_TRY(r.u16());
  for (uint16_t i = 0; i < qd; ++i) {
    DnsQuestion q;
    q.name = SLW_TRY_CTX(r.name(), "question {}", i + 1);
    q.type = SLW_TRY_CTX(r.u16(), "question {}", i + 1);
    q.qclass = SLW_TRY_CTX(r.u16(), "question {}", i + 1);
    m.questions.push_back(std::move(q));
  }
  for (uint16_t i = 0; i < an; ++i)
    m.answers.push_back(SLW_TRY_CTX(read_record(r), "answer record {}", i + 1));
  for (uint16_t i = 0; i < ns; ++i)
    m.authority.push_back(SLW_TRY_CTX(read_record(r), "authority record {}", i + 1));
  for (uint16_t i = 0; i < ar; ++i) {
    DnsRecord rec = SLW_TRY_CTX(read_record(r), "additional record {}", i + 1);
    if (rec.type != dns::kTypeOPT) {
      m.additional.push_back(std::move(rec));
      continue;
    }
    if (m.edns) return fail("more than one OPT record");
    if (!rec.name.empty()) return fail("OPT record not owned by the root name");
    DnsEdns e;
    e.udp_size = rec.rclass;
    e.extended_rcode = static_cast<uint8_t>(rec.ttl >> 24);
    e.version = static_cast<uint8_t>(rec.ttl >> 16);
    e.dnssec_ok = rec.ttl & 0x8000;
    e.options = std::move(rec.rdata);
    m.edns = std::move(e);
  }
  return m;
}

Result<std::vector<uint8_t>> build_dns_message(const DnsMessage& m, size_t max_size) {
  max_size = std::min(std::max(max_size, dns::kClassicUdpSize), dns::kMaxMessageSize);
  Writer w;
  const DnsHeader& h = m.header;
  w.u16(h.id);
  w.u8(static_cast<uint8_t>((h.response ? 0x80 : 0) | (h.opcode & 0x0F) << 3 |
                            (h.authoritative ? 0x04 : 0) | (h.truncated ? 0x02 : 0) |
                            (h.recursion_desired ? 0x01 : 0)));
  w.u8(static_cast<uint8_t>((h.recursion_available ? 0x80 : 0) | (h.authentic_data ? 0x20 : 0) |
                            (h.checking_disabled ? 0x10 : 0) | (h.rcode & 0x0F)));
  for (int i = 0; i < 4; ++i) w.u16(0);  // counts, filled in below
  if (m.questions.size() > 0xFFFF) return fail("too many questions");
  for (const DnsQuestion& q : m.questions) {
    SLW_TRY_CTX(w.name(q.name), "question \"{}\"", q.name);
    w.u16(q.type);
    w.u16(q.qclass);
  }
  if (w.size() + opt_size(m.edns) > max_size) return fail("question does not fit in the message");

  const size_t limit = max_size - opt_size(m.edns);
  bool truncated = false;
  uint16_t counts[3] = {0, 0, 0};
  const std::vector<DnsRecord>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3 && !truncated; ++s) {
    for (const DnsRecord& rec : *sections[s]) {
      size_t before = w.size();
      SLW_TRY_CTX(write_record(w, rec), "record \"{}\"", rec.name);
      if (w.size() > limit || counts[s] == 0xFFFF) {
        w.truncate(before);
        w.forget_from(before);
        truncated = true;
        break;
      }
      ++counts[s];
    }
  }
  uint16_t additional = counts[2];
  if (m.edns) {
    const DnsEdns& e = *m.edns;
    w.u8(0);  // root name
    w.u16(dns::kTypeOPT);
    w.u16(e.udp_size);
    w.u32(static_cast<uint32_t>(e.extended_rcode) << 24 | static_cast<uint32_t>(e.version) << 16 |
          (e.dnssec_ok ? 0x8000u : 0u));
    w.u16(static_cast<uint16_t>(e.options.size()));
    w.bytes(e.options);
    ++additional;
  }
  // Dropped additional records are not a truncation that should make the client retry.
  if (counts[0] < m.answers.size() || counts[1] < m.authority.size()) w.set_bits(2, 0x02);
  w.put16(4, static_cast<uint16_t>(m.questions.size()));
  w.put16(6, counts[0]);
  w.put16(8, counts[1]);
  w.put16(10, additional);
  return w.take();
}

DnsMessage make_dns_response(const DnsMessage& query, uint16_t rcode) {
  DnsMessage r;
  r.header.id = query.header.id;
  r.header.response = true;
  r.header.opcode = query.header.opcode;
  r.header.recursion_desired = query.header.recursion_desired;
  r.header.recursion_available = true;
  r.header.checking_disabled = query.header.checking_disabled;
  r.header.rcode = rcode & 0x0F;
  r.questions = query.questions;
  if (query.edns || rcode > 0x0F) {
    DnsEdns e;
    e.udp_size = 1232;  // the DNS flag day 2020 size: never fragmented on common paths
    e.extended_rcode = static_cast<uint8_t>(rcode >> 4);
    e.dnssec_ok = query.edns && query.edns->dnssec_ok;
    r.edns = e;
  }
  return r;
}

DnsRecord dns_a_record(std::string name, Ipv4 address, uint32_t ttl) {
  DnsRecord rec;
  rec.name = std::move(name);
  rec.type = dns::kTypeA;
  rec.ttl = ttl;
  uint32_t v = address.value;
  rec.rdata = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
               static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return rec;
}

Result<DnsRecord> dns_ptr_record(std::string name, std::string_view target, uint32_t ttl) {
  Writer w;
  SLW_TRY_CTX(w.name(target, false), "PTR target \"{}\"", target);
  DnsRecord rec;
  rec.name = std::move(name);
  rec.type = dns::kTypePTR;
  rec.ttl = ttl;
  rec.rdata = w.take();
  return rec;
}

Result<std::string> dns_rdata_name(const DnsRecord& record) {
  Reader r(record.rdata);
  std::string name = SLW_TRY(r.name());
  if (r.left() != 0) return fail("trailing bytes after the name in record data");
  return name;
}

std::string dns_canonical_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<Ipv4> parse_dns_reverse_name(std::string_view name) {
  std::string lower = dns_canonical_name(name);
  constexpr std::string_view kSuffix = ".in-addr.arpa";
  std::string_view rest = lower;
  if (!rest.ends_with(kSuffix)) return std::nullopt;
  rest.remove_suffix(kSuffix.size());
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = rest.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    std::string_view part = rest.substr(0, dot);
    unsigned octet = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), octet);
    if (ec != std::errc() || end != part.data() + part.size() || octet > 255 || part.empty() ||
        (part.size() > 1 && part[0] == '0'))
      return std::nullopt;
    value |= octet << (8 * i);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  return Ipv4{value};
}

std::string dns_reverse_name(Ipv4 a) {
  uint32_t v = a.value;
  return fmt::format("{}.{}.{}.{}.in-addr.arpa", v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24);
}

std::optional<uint16_t> dns_wire_id(std::span<const uint8_t> wire) {
  if (wire.size() < dns::kHeaderSize) return std::nullopt;
  return static_cast<uint16_t>(wire[0] << 8 | wire[1]);
}

void set_dns_wire_id(std::span<uint8_t> wire, uint16_t id) {
  if (wire.size() < 2) return;
  wire[0] = static_cast<uint8_t>(id >> 8);
  wire[1] = static_cast<uint8_t>(id);
}

}  // namespace slipway::netns
