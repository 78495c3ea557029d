#pragma once

// The small JSON texts Baton keeps in SQLite columns (skills, teams, capacity, event data):
// a writer, and a reader for what the writer makes (objects, arrays, strings, numbers,
// true, false, null). Readable with SQLite's json functions too.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/base/result.h"
#include "baton/base/types.h"

namespace baton::storage {

using baton::json_quote;
std::string json_strings(const std::vector<std::string>& v);
std::string json_levels(const SkillLevels& m);
std::string json_counts(const ChannelCounts& c);
std::string json_values(const std::vector<std::pair<std::string, Value>>& kv);
std::string json_attributes(const Attributes& a);
// The same, appended to `out` (the journal reuses one buffer per column).
void append_json_strings(std::string& out, const std::vector<std::string>& v);
void append_json_levels(std::string& out, const SkillLevels& m);
void append_json_values(std::string& out, const std::vector<std::pair<std::string, Value>>& kv);
void append_json_attributes(std::string& out, const Attributes& a);

Result<std::vector<std::string>> parse_json_strings(std::string_view text);
Result<SkillLevels> parse_json_levels(std::string_view text);
Result<ChannelCounts> parse_json_counts(std::string_view text);
Result<std::vector<std::pair<std::string, Value>>> parse_json_values(std::string_view text);
Result<Attributes> parse_json_attributes(std::string_view text);

}  // namespace baton::storage
