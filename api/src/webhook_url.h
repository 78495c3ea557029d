#pragma once

// A webhook's URL, checked once: where deliveries go, and whether the address they reach
// may be reached (SSRF: a webhook must not be a way into the server's own network).

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "baton/base/result.h"

namespace baton::api {

struct WebhookUrl {
  bool tls = false;    // https://
  std::string host;    // a name, or an address (IPv6 without brackets)
  std::string port;    // "443", "80" or as written
  std::string target;  // path and query, "/" when empty
};

// http:// or https://, a host, no user or password; anything else is an InvalidArgument
// naming what is wrong.
Result<WebhookUrl> parse_webhook_url(const std::string& url);

// Why `a` may not receive webhooks without `[webhooks] allow_private` or the host in
// `allow_hosts` ("loopback", "private", "link-local", "cloud metadata", …), or nullopt for
// a public address. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
std::optional<std::string> private_address(const boost::asio::ip::address& a);

// Who may be reached ([webhooks] allow_private, allow_hosts).
struct AddressPolicy {
  bool allow_private = false;
  std::vector<std::string> allow_hosts;  // host names or addresses as written in URLs

  // The reason `address` (resolved from `host`) is refused, or nullopt.
  std::optional<std::string> refuse(const std::string& host,
                                    const boost::asio::ip::address& address) const;
};

}  // namespace baton::api
