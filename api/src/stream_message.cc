// What a client sends on the stream, read into the request it stands for.

#include "stream_message.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "stream.h"

namespace baton::api {

namespace json = boost::json;

std::variant<StreamCommand, std::string> read_stream_message(std::string_view text,
                                                             const StreamGrant& grant,
                                                             bool loopback) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* type_v = o != nullptr ? o->if_contains("type") : nullptr;
  const json::string* type = type_v != nullptr ? type_v->if_string() : nullptr;
  const json::value* offer_v = o != nullptr ? o->if_contains("offer_id") : nullptr;
  const json::string* offer = offer_v != nullptr ? offer_v->if_string() : nullptr;
  bool known = type != nullptr && (*type == "accept" || *type == "decline");
  bool id_ok = offer != nullptr && !offer->empty() && offer->size() <= 64 &&
               std::all_of(offer->begin(), offer->end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
               });
  if (!known || !id_ok) {
    // What was received goes back cut at 200 bytes, on a character boundary. Text that
    // did not parse may not be UTF-8 at all: its bytes past ASCII go back as '?', so the
    // message is always valid JSON.
    std::size_t cut = std::min<std::size_t>(text.size(), 200);
    while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    std::string received(text.substr(0, cut));
    if (ec) {
      for (char& ch : received) {
        if (static_cast<unsigned char>(ch) >= 0x80) {
          ch = '?';
        }
      }
    }
    json::object err{{"type", "error"},
                     {"data",
                      {{"detail",
                        "a stream message is {\"type\": \"accept\" | "
                        "\"decline\", \"offer_id\": \"off_…\"}"},
                       {"received", received}}}};
    return json::serialize(err);
  }
  StreamCommand c;
  c.what = std::string(type->c_str());
  c.offer_id = std::string(offer->c_str());
  c.request.method = "POST";
  c.request.target = "/v1/offers/" + c.offer_id + "/" + c.what;
  c.request.authorization = grant.authorization;
  c.request.content_type = "application/json";
  c.request.loopback = loopback;
  c.request.peer = grant.peer;
  if (c.what == "decline") {
    if (const json::value* reason = o->if_contains("reason"); reason && reason->is_string()) {
      c.request.body = json::serialize(json::object{{"reason", *reason}});
    }
  }
  return c;
}

std::string stream_reply(const StreamCommand& command, const Response& answer) {
  // `what` and `offer_id` passed read_stream_message's checks: plain names, nothing to
  // escape. The body is the routes' own JSON.
  return R"({"type":"reply","data":{"request":")" + command.what + R"(","offer_id":")" +
         command.offer_id + R"(","status":)" + std::to_string(answer.status) + R"(,"body":)" +
         (answer.body.empty() ? "null" : answer.body) + "}}";
}

}  // namespace baton::api
