#pragma once

// The field validator: reads a JSON object body field by field and collects every fault,
// so that one 422 names them all.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "baton/base/result.h"
#include "baton/engine/model.h"

namespace baton::api {

namespace json = boost::json;

// Reads the fields of a JSON object body, collecting every fault (the 422 names them all).
class Fields {
 public:
  Fields(const json::object& o, std::vector<FieldError>& errors, std::string prefix = "")
      : o_(o), errors_(errors), prefix_(std::move(prefix)) {}

  bool has(std::string_view name) const {
    auto it = o_.find(name);
    return it != o_.end() && !it->value().is_null();
  }

  std::optional<std::string> text(std::string_view name, bool required,
                                  std::size_t max_bytes = 10'000);

  std::optional<std::int64_t> integer(std::string_view name, bool required, std::int64_t lo,
                                      std::int64_t hi, const char* range);

  std::optional<bool> boolean(std::string_view name);

  const json::object* object(std::string_view name, bool required);

  const json::array* array(std::string_view name, bool required, std::size_t max_items);

  std::optional<std::vector<std::string>> strings(std::string_view name, bool required);

  std::optional<SkillLevels> skills(std::string_view name);

  std::optional<ChannelCounts> capacity(std::string_view name);

  // A case's attributes: at most `max_entries`, keys valid_key(), values strings of at most
  // `max_text_bytes`, finite numbers or booleans.
  std::optional<Attributes> attributes(std::string_view name, std::size_t max_entries,
                                       std::size_t max_text_bytes);

  std::optional<engine::AgentId> agent(std::string_view name, bool required);

  template <class T>
  std::optional<T> one_of(std::string_view name, bool required,
                          std::optional<T> (*parse)(std::string_view), const char* allowed) {
    auto s = text(name, required, 100);
    if (!s) {
      return std::nullopt;
    }
    auto v = parse(*s);
    if (!v) {
      fail(name, std::string("must be ") + allowed);
    }
    return v;
  }

  void fail(std::string_view name, std::string message);

 private:
  const json::value* get(std::string_view name, bool required);
  // The entries of the object `name` into a Map: `take(map, key, value)` stores one or
  // returns why it cannot. `plain_keys`: every key must be valid_key(). nullopt when the
  // object is absent or any entry was refused (each refusal is a field error).
  template <class Map, class Take>
  std::optional<Map> entries(std::string_view name, bool plain_keys, Take take);

  const json::object& o_;
  std::vector<FieldError>& errors_;
  std::string prefix_;
};

// Whether a key the client chooses (an attribute, a skill) is 1–64 of A-Z, a-z, 0-9, _, .
// and -: such keys are written into every answer, push and page of their case, and read in
// rules as `attributes.NAME`.
bool valid_key(std::string_view key);
inline constexpr const char* kKeyRule = "keys must be 1–64 of A-Z, a-z, 0-9, _, . and -";

// A channel by its name ("chat", "email", …).
std::optional<Channel> channel_of(std::string_view s);

}  // namespace baton::api
