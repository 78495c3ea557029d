// libFuzzer: what a client sends on the stream. Any input: a command for the routes or an
// error message that is valid JSON, never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "baton/base/assert.h"

#include "stream.h"
#include "stream_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  baton::api::StreamGrant grant;
  grant.authorization = "Bearer btn_x";
  auto read = baton::api::read_stream_message(text, grant, true);
  boost::system::error_code ec;
  if (const auto* error = std::get_if<std::string>(&read)) {
    boost::json::parse(*error, ec);
    BATON_CHECK(!ec, "an error message on the stream is valid JSON");
    return 0;
  }
  const auto& command = std::get<baton::api::StreamCommand>(read);
  BATON_CHECK(command.request.target.starts_with("/v1/offers/"), "a command names an offer");
  BATON_CHECK(command.request.authorization == grant.authorization, "it acts as the stream");
  baton::api::Response answer;
  answer.status = 409;
  answer.body = R"({"title":"x"})";
  boost::json::parse(baton::api::stream_reply(command, answer), ec);
  BATON_CHECK(!ec, "a reply on the stream is valid JSON");
  return 0;
}
