#pragma once

// api/: the HTTP/WebSocket server (Boost.Beast), JSON codec, auth and idempotency.
// Beast and Boost.JSON stay inside api/src; this header is all others see.

#include <string_view>

namespace baton::api {

// The API version served under /v1.
std::string_view api_version();

}  // namespace baton::api
