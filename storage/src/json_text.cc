#include "json_text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace baton::storage {

namespace {

void put_int(std::string& out, long long v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_value(std::string& out, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    out += "null";
  } else if (auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  } else if (auto* d = std::get_if<double>(&v)) {
    append_json_number(out, *d);
  } else {
    append_json_quoted(out, std::get<std::string>(v));
  }
}

// `{"k":v,…}` of any map or list of pairs, with `put(out, value)` writing each value.
template <class Pairs, class Put>
void append_object(std::string& out, const Pairs& kv, Put put) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : kv) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    append_json_quoted(out, k);
    out.push_back(':');
    put(out, v);
  }
  out.push_back('}');
}

// A reader for the subset above. Values are kept as Value; arrays only of strings.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  Error fail(const std::string& what) const {
    return Error(ErrorCode::Internal,
                 "stored JSON is damaged at byte " + std::to_string(i_) + ": " + what);
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) {
      ++i_;
    }
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool at_end() {
    ws();
    return i_ == s_.size();
  }

  Result<std::string> string() {
    if (!eat('"')) {
      return fail("expected a string");
    }
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) {
        return fail("bad escape");
      }
      char e = s_[i_++];
      switch (e) {
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) {
            return fail("bad \\u escape");
          }
          unsigned v = 0;
          auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, v, 16);
          if (ec != std::errc() || p != s_.data() + i_ + 4 || v >= 0x80) {
            return fail("unsupported \\u escape");
          }
          out.push_back(static_cast<char>(v));
          i_ += 4;
          break;
        }
        default:
          out.push_back(e);
      }
    }
    if (i_ >= s_.size()) {
      return fail("unterminated string");
    }
    ++i_;
    return out;
  }

  Result<Value> value() {
    ws();
    if (i_ >= s_.size()) {
      return fail("expected a value");
    }
    char c = s_[i_];
    if (c == '"') {
      auto str = string();
      if (!str) {
        return str.error();
      }
      return Value(std::move(str).value());
    }
    for (auto [word, v] : {std::pair<std::string_view, Value>{"null", std::monostate{}},
                           {"true", true},
                           {"false", false}}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return v;
      }
    }
    std::size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
    }
    double d = 0;
    auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + i_, d);
    if (start == i_ || ec != std::errc() || p != s_.data() + i_) {
      return fail("expected a value");
    }
    return Value(d);
  }

  template <class F>
  Status object(F&& each) {
    if (!eat('{')) {
      return fail("expected an object");
    }
    if (eat('}')) {
      return {};
    }
    do {
      auto k = string();
      if (!k) {
        return k.error();
      }
      if (!eat(':')) {
        return fail("expected ':'");
      }
      auto v = value();
      if (!v) {
        return v.error();
      }
      BATON_RETURN_IF_ERROR(each(std::move(k).value(), std::move(v).value()));
    } while (eat(','));
    if (!eat('}')) {
      return fail("expected '}'");
    }
    return {};
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

void append_json_strings(std::string& out, const std::vector<std::string>& v) {
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    append_json_quoted(out, v[i]);
  }
  out.push_back(']');
}

void append_json_levels(std::string& out, const SkillLevels& m) {
  append_object(out, m, [](std::string& o, int level) { put_int(o, level); });
}

void append_json_values(std::string& out, const std::vector<std::pair<std::string, Value>>& kv) {
  append_object(out, kv, append_value);
}

void append_json_attributes(std::string& out, const Attributes& a) {
  append_object(out, a, append_value);
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out;
  append_json_strings(out, v);
  return out;
}

std::string json_levels(const SkillLevels& m) {
  std::string out;
  append_json_levels(out, m);
  return out;
}

std::string json_counts(const ChannelCounts& c) {
  std::string out = "{";
  for (Channel ch : kAllChannels) {
    if (ch != Channel::Chat) {
      out.push_back(',');
    }
    append_json_quoted(out, to_string(ch));
    out.push_back(':');
    put_int(out, c[index_of(ch)]);
  }
  return out + "}";
}

std::string json_values(const std::vector<std::pair<std::string, Value>>& kv) {
  std::string out;
  append_json_values(out, kv);
  return out;
}

std::string json_attributes(const Attributes& a) {
  std::string out;
  append_json_attributes(out, a);
  return out;
}

Result<std::vector<std::string>> parse_json_strings(std::string_view text) {
  Reader r(text);
  std::vector<std::string> out;
  if (!r.eat('[')) {
    return r.fail("expected an array");
  }
  if (!r.eat(']')) {
    do {
      auto s = r.string();
      if (!s) {
        return s.error();
      }
      out.push_back(std::move(s).value());
    } while (r.eat(','));
    if (!r.eat(']')) {
      return r.fail("expected ']'");
    }
  }
  if (!r.at_end()) {
    return r.fail("trailing text");
  }
  return out;
}

Result<std::vector<std::pair<std::string, Value>>> parse_json_values(std::string_view text) {
  Reader r(text);
  std::vector<std::pair<std::string, Value>> out;
  BATON_RETURN_IF_ERROR(r.object([&](std::string k, Value v) -> Status {
    out.emplace_back(std::move(k), std::move(v));
    return {};
  }));
  if (!r.at_end()) {
    return r.fail("trailing text");
  }
  return out;
}

Result<Attributes> parse_json_attributes(std::string_view text) {
  auto kv = parse_json_values(text);
  if (!kv) {
    return kv.error();
  }
  Attributes out;
  for (auto& [k, v] : kv.value()) {
    out[k] = std::move(v);
  }
  return out;
}

Result<SkillLevels> parse_json_levels(std::string_view text) {
  auto kv = parse_json_values(text);
  if (!kv) {
    return kv.error();
  }
  SkillLevels out;
  for (auto& [k, v] : kv.value()) {
    const double* d = std::get_if<double>(&v);
    if (d == nullptr) {
      return Error(ErrorCode::Internal, "stored skill level is not a number");
    }
    out[k] = static_cast<int>(*d);
  }
  return out;
}

Result<ChannelCounts> parse_json_counts(std::string_view text) {
  auto kv = parse_json_values(text);
  if (!kv) {
    return kv.error();
  }
  ChannelCounts out{};
  for (auto& [k, v] : kv.value()) {
    auto ch = parse_channel(k);
    const double* d = std::get_if<double>(&v);
    if (!ch || d == nullptr) {
      return Error(ErrorCode::Internal, "stored capacity names an unknown channel");
    }
    out[index_of(*ch)] = static_cast<int>(*d);
  }
  return out;
}

}  // namespace baton::storage
