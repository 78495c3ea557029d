// libFuzzer: a webhook URL through parse_webhook_url and, when it parses to a literal
// address, the address policy. Any input: a WebhookUrl or an InvalidArgument, never a
// crash; a parsed URL's host is never empty and its port is 1–65535.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "webhook_url.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string url(reinterpret_cast<const char*>(data), size);
  auto parsed = baton::api::parse_webhook_url(url);
  if (!parsed) {
    if (parsed.error().code != baton::ErrorCode::InvalidArgument) {
      std::abort();
    }
    return 0;
  }
  const auto& u = parsed.value();
  int port = std::atoi(u.port.c_str());
  if (u.host.empty() || port < 1 || port > 65535 || u.target.empty()) {
    std::abort();
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(u.host, ec);
  if (!ec) {
    baton::api::AddressPolicy policy;
    (void)policy.refuse(u.host, address);
    (void)baton::api::private_address(address);
  }
  return 0;
}
