#pragma once

// Errors as RFC 9457 problem+json: one table from the engine's error codes to HTTP.

#include <string_view>
#include <vector>

#include "baton/base/result.h"

#include "http.h"

namespace baton::api {

// The reason phrase of an HTTP status the API answers with.
const char* title_of(int status);
// A problem+json answer with the status's own title.
Response problem_of(int status, std::string_view detail,
                    const std::vector<FieldError>& errors = {});
// The HTTP status of an engine error.
int status_of(ErrorCode code);
// The problem+json answer to an engine error (503s say when to retry).
Response from_error(const Error& e);

}  // namespace baton::api
