#pragma once

// One customer across channels: an identity's address is stored in one canonical form, so
// the same person writing from "Minji@Example.com" and "minji@example.com", or calling from
// "010-1234-5678" and "+82 10 1234 5678", is one timeline.

#include <string>
#include <string_view>

#include "baton/base/result.h"
#include "baton/base/types.h"

namespace baton::engine {

// The canonical address of an identity on `channel`, or InvalidArgument (no field) saying
// why the address is not one:
// - email: trimmed, case-folded, exactly one '@' with text on both sides;
// - voice: E.164 ("+" and 8–15 digits). Spaces, dashes, dots, parentheses and a "tel:"
//   prefix are dropped; "00" starts an international number; otherwise the number is
//   national, its trunk "0" dropped and `default_country` (calling code digits, e.g. "82")
//   put in front; a national number with no default country is refused;
// - social: trimmed, case-folded, without a leading '@';
// - chat, web: trimmed (handles there are the gateway's, kept as given).
Result<std::string> normalize_address(Channel channel, std::string_view address,
                                      std::string_view default_country);

}  // namespace baton::engine
