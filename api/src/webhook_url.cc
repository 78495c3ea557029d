#include "webhook_url.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/url/parse.hpp>

namespace baton::api {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Error bad_url(const std::string& why) { return Error(ErrorCode::InvalidArgument, why); }

// `a` within `net`/`bits` (IPv4).
bool in(const boost::asio::ip::address_v4& a, std::array<unsigned char, 4> net, int bits) {
  auto mask = bits == 0 ? 0u : ~0u << (32 - bits);
  auto n = (static_cast<unsigned>(net[0]) << 24) | (static_cast<unsigned>(net[1]) << 16) |
           (static_cast<unsigned>(net[2]) << 8) | net[3];
  return (a.to_uint() & mask) == (n & mask);
}

std::optional<std::string> private_v4(const boost::asio::ip::address_v4& a) {
  if (in(a, {169, 254, 169, 254}, 32)) {
    return "cloud metadata";
  }
  if (in(a, {127, 0, 0, 0}, 8)) {
    return "loopback";
  }
  if (in(a, {0, 0, 0, 0}, 8)) {
    return "unspecified";
  }
  if (in(a, {10, 0, 0, 0}, 8) || in(a, {172, 16, 0, 0}, 12) || in(a, {192, 168, 0, 0}, 16)) {
    return "private";
  }
  if (in(a, {100, 64, 0, 0}, 10)) {
    return "shared (carrier-grade NAT)";
  }
  if (in(a, {169, 254, 0, 0}, 16)) {
    return "link-local";
  }
  if (in(a, {192, 0, 0, 0}, 24) || in(a, {198, 18, 0, 0}, 15)) {
    return "reserved";
  }
  if (in(a, {224, 0, 0, 0}, 4) || in(a, {240, 0, 0, 0}, 4)) {
    return "multicast or reserved";
  }
  return std::nullopt;
}

}  // namespace

Result<WebhookUrl> parse_webhook_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return bad_url("is not an absolute URL");
  }
  WebhookUrl w;
  std::string scheme = lower(std::string(parsed->scheme()));
  if (scheme != "http" && scheme != "https") {
    return bad_url("must be an http:// or https:// URL");
  }
  w.tls = scheme == "https";
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return bad_url("has no host");
  }
  if (parsed->has_userinfo()) {
    return bad_url("must not carry a user or password");
  }
  if (parsed->has_fragment()) {
    return bad_url("must not have a #fragment");
  }
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv6:
      w.host = parsed->host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::ipvfuture:
      return bad_url("has a host of an unknown kind");
    default:
      w.host = lower(parsed->host());
  }
  if (parsed->has_port()) {
    // As written: port_number() is 16 bits and takes 97877 for 32341.
    std::string port(parsed->port());
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
        std::stoi(port) > 65535) {
      return bad_url("has a port that is not 1–65535");
    }
    w.port = port;
  } else {
    w.port = w.tls ? "443" : "80";
  }
  w.target = parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
  return w;
}

std::optional<std::string> private_address(const boost::asio::ip::address& a) {
  if (a.is_v4()) {
    return private_v4(a.to_v4());
  }
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) {
    return private_v4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
  }
  if (v6.is_loopback()) {
    return "loopback";
  }
  if (v6.is_unspecified()) {
    return "unspecified";
  }
  auto b = v6.to_bytes();
  if ((b[0] & 0xfe) == 0xfc) {
    return "private";  // fc00::/7, unique local
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
    return "link-local";
  }
  if (b[0] == 0xff) {
    return "multicast or reserved";
  }
  return std::nullopt;  // the IPv6 metadata address (fd00:ec2::254) is unique local above
}

std::optional<std::string> AddressPolicy::refuse(const std::string& host,
                                                 const boost::asio::ip::address& address) const {
  if (allow_private ||
      std::find(allow_hosts.begin(), allow_hosts.end(), lower(host)) != allow_hosts.end()) {
    return std::nullopt;
  }
  auto why = private_address(address);
  if (!why) {
    return std::nullopt;
  }
  return address.to_string() + " is a " + *why +
         " address (allow it with [webhooks] allow_private or allow_hosts)";
}

}  // namespace baton::api
