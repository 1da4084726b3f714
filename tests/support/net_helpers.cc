#include "tests/support/net_helpers.h"

#include <fmt/core.h>
#include <netlink/route/link.h>

#include <memory>

namespace slipway::testing {
namespace {

Status create_link(netns::Netlink& nl, const std::string& name, const std::string& kind) {
  std::string what = fmt::format("create {} link {}", kind, name);
  std::unique_ptr<rtnl_link, decltype(&rtnl_link_put)> link(rtnl_link_alloc(), rtnl_link_put);
  if (!link) return fail("{}: out of memory", what);
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_set_type(link.get(), kind.c_str()); err < 0)
    return fail("{}: {}", what, nl_geterror(err));
  return nl.add_link(link.get(), NLM_F_CREATE | NLM_F_EXCL, what);
}

}  // namespace

Result<std::string> create_plain_link(netns::Netlink& nl, const std::string& name) {
  auto made = create_link(nl, name, "dummy");
  if (made) return std::string("dummy");
  if (made.error().code() != EOPNOTSUPP) return std::unexpected(std::move(made).error());
  SLW_TRY(create_link(nl, name, "ifb"));
  return std::string("ifb");
}

}  // namespace slipway::testing
