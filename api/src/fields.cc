#include "fields.h"

#include <algorithm>
#include <cmath>

#include "codec.h"

namespace baton::api {

using namespace engine;

std::optional<std::string> Fields::text(std::string_view name, bool required,
                                        std::size_t max_bytes) {
  const json::value* v = get(name, required);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    fail(name, "must be a string");
    return std::nullopt;
  }
  std::string s(v->get_string());
  if (s.size() > max_bytes) {
    fail(name, "must be at most " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> Fields::integer(std::string_view name, bool required, std::int64_t lo,
                                            std::int64_t hi, const char* range) {
  const json::value* v = get(name, required);
  if (v == nullptr) {
    return std::nullopt;
  }
  std::optional<std::int64_t> n;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= INT64_MAX) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else if (auto whole = v->is_double() ? exact_integer(v->get_double()) : std::nullopt;
             whole && std::abs(*whole) < 1'000'000'000'000'000) {
    n = *whole;
  }
  if (!n || *n < lo || *n > hi) {
    fail(name, range);
    return std::nullopt;
  }
  return n;
}

std::optional<bool> Fields::boolean(std::string_view name) {
  const json::value* v = get(name, false);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_bool()) {
    fail(name, "must be true or false");
    return std::nullopt;
  }
  return v->get_bool();
}

const json::object* Fields::object(std::string_view name, bool required) {
  const json::value* v = get(name, required);
  if (v == nullptr) {
    return nullptr;
  }
  if (!v->is_object()) {
    fail(name, "must be an object");
    return nullptr;
  }
  return &v->get_object();
}

const json::array* Fields::array(std::string_view name, bool required, std::size_t max_items) {
  const json::value* v = get(name, required);
  if (v == nullptr) {
    return nullptr;
  }
  if (!v->is_array() || v->get_array().size() > max_items) {
    fail(name, "must be an array of at most " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return &v->get_array();
}

std::optional<std::vector<std::string>> Fields::strings(std::string_view name, bool required) {
  const json::value* v = get(name, required);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_array()) {
    fail(name, "must be an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& x : v->get_array()) {
    if (!x.is_string() || x.get_string().empty() || x.get_string().size() > 200) {
      fail(name, "must be an array of non-empty strings (at most 200 bytes each)");
      return std::nullopt;
    }
    out.emplace_back(x.get_string());
  }
  return out;
}

template <class Map, class Take>
std::optional<Map> Fields::entries(std::string_view name, bool plain_keys, Take take) {
  const json::object* o = object(name, false);
  if (o == nullptr) {
    return std::nullopt;
  }
  Map out{};
  bool ok = true;
  for (const auto& kv : *o) {
    std::string key(kv.key());
    if (plain_keys && !valid_key(key)) {
      fail(name, kKeyRule);
      ok = false;
    } else if (auto wrong = take(out, key, kv.value())) {
      fail(std::string(name) + "." + key, wrong);
      ok = false;
    }
  }
  return ok ? std::optional(std::move(out)) : std::nullopt;
}

std::optional<SkillLevels> Fields::skills(std::string_view name) {
  return entries<SkillLevels>(
      name, true,
      [](SkillLevels& out, const std::string& key, const json::value& v) -> const char* {
        if (!v.is_int64() || v.get_int64() < kMinSkillLevel || v.get_int64() > kMaxSkillLevel) {
          return "must be an integer 1–10";
        }
        out[key] = static_cast<int>(v.get_int64());
        return nullptr;
      });
}

std::optional<ChannelCounts> Fields::capacity(std::string_view name) {
  return entries<ChannelCounts>(
      name, false,
      [](ChannelCounts& out, const std::string& key, const json::value& v) -> const char* {
        auto ch = parse_channel(key);
        if (!ch) {
          return "is not a channel (chat, email, voice, social, web)";
        }
        if (!v.is_int64() || v.get_int64() < 0 || v.get_int64() > 100) {
          return "must be an integer 0–100";
        }
        out[index_of(*ch)] = static_cast<int>(v.get_int64());
        return nullptr;
      });
}

std::optional<Attributes> Fields::attributes(std::string_view name, std::size_t max_entries,
                                             std::size_t max_text_bytes) {
  if (const json::value* v = get(name, false);
      v != nullptr && v->is_object() && v->get_object().size() > max_entries) {
    fail(name, "must have at most " + std::to_string(max_entries) + " entries");
    return std::nullopt;
  }
  std::string too_long;  // made only when a value is too long: case creation's hot path
  return entries<Attributes>(
      name, true,
      [&](Attributes& out, const std::string& key, const json::value& v) -> const char* {
        if (v.is_string()) {
          if (v.get_string().size() > max_text_bytes) {
            too_long = "must be at most " + std::to_string(max_text_bytes) + " bytes";
            return too_long.c_str();
          }
          out[key] = std::string(v.get_string());
        } else if (v.is_bool()) {
          out[key] = v.get_bool();
        } else if (v.is_number()) {
          double d = v.to_number<double>();
          if (!std::isfinite(d)) {
            return "must be a finite number";
          }
          out[key] = d;
        } else {
          return "must be a string, number or boolean";
        }
        return nullptr;
      });
}

std::optional<AgentId> Fields::agent(std::string_view name, bool required) {
  auto s = text(name, required, 100);
  if (!s) {
    return std::nullopt;
  }
  auto id = parse_agent_id(*s);
  if (!id) {
    fail(name, "must be an agent id (agt_…)");
  }
  return id;
}

void Fields::fail(std::string_view name, std::string message) {
  errors_.push_back(FieldError{prefix_ + std::string(name), std::move(message)});
}

const json::value* Fields::get(std::string_view name, bool required) {
  auto it = o_.find(name);
  if (it == o_.end() || it->value().is_null()) {
    if (required) {
      fail(name, "is required");
    }
    return nullptr;
  }
  return &it->value();
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 64) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

std::optional<Channel> channel_of(std::string_view s) { return parse_channel(s); }

}  // namespace baton::api
