#pragma once

// List cursors the server made, and only those: a cursor goes out sealed (the position a
// list stopped at, and an HMAC-SHA256 of it under a key this process drew at random), and
// a cursor that comes back is opened only when its seal holds. A made-up or altered cursor
// is a 422 before any list is read. Cursors last as long as the process: after a restart
// a client starts its list again.

#include <optional>
#include <string>
#include <string_view>

namespace baton::api {

// `position` (a list's own cursor: an id, a time and id) as the client sees it.
std::string seal_cursor(std::string_view position);
// The position inside `cursor`, or nothing when the server did not make it.
std::optional<std::string> open_cursor(std::string_view cursor);

}  // namespace baton::api
