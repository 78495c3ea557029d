#pragma once

// What a client sends on the stream (GET /v1/stream), read into the request it stands for:
// {"type": "accept" | "decline", "offer_id": "off_…", "reason": "…"}. Beast-free and
// socket-free, so every byte a client can send is tested and fuzzed in-process.

#include <string>
#include <string_view>
#include <variant>

#include "http.h"

namespace baton::api {

struct StreamGrant;

// An accept or decline as the routes take it (POST /v1/offers/{id}/accept|decline).
struct StreamCommand {
  Request request;
  std::string what;      // "accept" or "decline"
  std::string offer_id;  // as sent
};

// The command `text` stands for, or the JSON error message to send back.
std::variant<StreamCommand, std::string> read_stream_message(std::string_view text,
                                                             const StreamGrant& grant,
                                                             bool loopback);

// The reply to a command, once the routes answered it.
std::string stream_reply(const StreamCommand& command, const Response& answer);

}  // namespace baton::api
