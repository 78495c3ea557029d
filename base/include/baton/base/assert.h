#pragma once

// BATON_CHECK aborts on the unrecoverable in every build. BATON_ASSERT guards invariants
// (an agent never exceeds capacity, a case has at most one owner); it is on in every
// build the tests use and can be compiled out of release benchmarks. Never assert on
// input: input errors are Results.

namespace baton::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg);
}

#define BATON_CHECK(cond, msg)                                       \
  do {                                                               \
    if (!(cond)) [[unlikely]] {                                      \
      ::baton::detail::check_failed(#cond, __FILE__, __LINE__, msg); \
    }                                                                \
  } while (false)

#if defined(BATON_ENABLE_ASSERTS)
#define BATON_ASSERT(cond, msg) BATON_CHECK(cond, msg)
#else
#define BATON_ASSERT(cond, msg) \
  do {                          \
    (void)sizeof(cond);         \
  } while (false)
#endif
