#include "baton/storage/history.h"

#include <charconv>
#include <condition_variable>
#include <limits>
#include <mutex>

#include "json_text.h"
#include "sqlite.h"

namespace baton::storage {

namespace {

struct Conn {
  Db db;
  Stmt by_case;
  Stmt by_customer;
};

Error bad_cursor() {
  return Error(ErrorCode::InvalidArgument, "cursor was not made by this server",
               {FieldError{"cursor", "was not made by this server"}});
}

// Cursors are "<at>.<id>" or "<id>", checked on the way back in.
std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

constexpr const char* kColumns = "id, case_id, customer_id, type, at, actor, data";

}  // namespace

struct History::Impl {
  std::string workspace;
  std::mutex mu;
  std::condition_variable freed;
  std::vector<std::unique_ptr<Conn>> idle;  // GUARDED_BY(mu)

  // Borrows a connection for the duration of `f`.
  template <class F>
  auto with_conn(F&& f) -> decltype(f(std::declval<Conn&>())) {
    std::unique_ptr<Conn> c;
    {
      std::unique_lock lock(mu);
      freed.wait(lock, [&] { return !idle.empty(); });
      c = std::move(idle.back());
      idle.pop_back();
    }
    auto result = f(*c);
    {
      std::lock_guard lock(mu);
      idle.push_back(std::move(c));
    }
    freed.notify_one();
    return result;
  }

  static Result<EventPage> read(Stmt& s, std::size_t limit, bool timeline) {
    EventPage page;
    for (;;) {
      auto row = s.step();
      if (!row) {
        return row.error();
      }
      if (!row.value()) {
        break;
      }
      if (page.events.size() == limit) {
        // One more row exists: the page is full and the cursor points past its end.
        const auto& last = page.events.back();
        page.next_cursor = timeline ? std::to_string(last.at.time_since_epoch().count()) + "." +
                                          std::to_string(last.id.value())
                                    : std::to_string(last.id.value());
        s.reset();
        break;
      }
      engine::CaseEvent e;
      e.id = engine::EventId(static_cast<std::uint64_t>(s.int64(0)));
      e.case_id = engine::CaseId(static_cast<std::uint64_t>(s.int64(1)));
      e.customer = engine::CustomerId(static_cast<std::uint64_t>(s.int64(2)));
      auto type = s.text(3);
      e.at = TimePoint{Duration{s.int64(4)}};
      e.actor = s.text(5);
      auto data = parse_json_values(s.text(6));
      if (!data) {
        s.reset();
        return data.error();
      }
      e.data = std::move(data).value();
      bool known = false;
      for (int t = 0; t <= static_cast<int>(engine::EventType::HandoffCompleted); ++t) {
        if (engine::to_string(static_cast<engine::EventType>(t)) == type) {
          e.type = static_cast<engine::EventType>(t);
          known = true;
          break;
        }
      }
      if (!known) {
        s.reset();
        return Error(ErrorCode::Internal, "stored event has an unknown type '" + type + "'");
      }
      page.events.push_back(std::move(e));
    }
    return page;
  }
};

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::~History() = default;

Result<std::unique_ptr<History>> History::open(const std::string& path, std::string workspace,
                                               std::size_t connections) {
  auto impl = std::make_unique<Impl>();
  impl->workspace = std::move(workspace);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, connections); ++i) {
    auto db = Db::open(path, false, "NORMAL", 5000, /*read_only=*/true);
    if (!db) {
      return db.error();
    }
    auto by_case = Stmt::prepare(db->get(), std::string("SELECT ") + kColumns +
                                                " FROM case_events WHERE workspace_id = ?1 AND "
                                                "case_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4");
    if (!by_case) {
      return by_case.error();
    }
    auto by_customer = Stmt::prepare(
        db->get(), std::string("SELECT ") + kColumns +
                       " FROM case_events WHERE workspace_id = ?1 AND customer_id = ?2 AND "
                       "(at < ?3 OR (at = ?3 AND id < ?4)) ORDER BY at DESC, id DESC LIMIT ?5");
    if (!by_customer) {
      return by_customer.error();
    }
    impl->idle.push_back(std::make_unique<Conn>(
        Conn{std::move(db).value(), std::move(by_case).value(), std::move(by_customer).value()}));
  }
  return std::unique_ptr<History>(new History(std::move(impl)));
}

Result<EventPage> History::case_events(engine::CaseId id, const std::string& cursor,
                                       std::size_t limit) {
  std::int64_t after = 0;
  if (!cursor.empty()) {
    auto v = parse_int(cursor);
    if (!v) {
      return bad_cursor();
    }
    after = *v;
  }
  return impl_->with_conn([&](Conn& c) {
    c.by_case.bind(1, impl_->workspace)
        .bind(2, static_cast<std::int64_t>(id.value()))
        .bind(3, after)
        .bind(4, static_cast<std::int64_t>(limit + 1));
    return Impl::read(c.by_case, limit, false);
  });
}

Result<EventPage> History::customer_timeline(engine::CustomerId id, const std::string& cursor,
                                             std::size_t limit) {
  std::int64_t at = std::numeric_limits<std::int64_t>::max();
  std::int64_t before_id = std::numeric_limits<std::int64_t>::max();
  if (!cursor.empty()) {
    auto dot = cursor.find('.');
    if (dot == std::string::npos) {
      return bad_cursor();
    }
    auto a = parse_int(std::string_view(cursor).substr(0, dot));
    auto b = parse_int(std::string_view(cursor).substr(dot + 1));
    if (!a || !b) {
      return bad_cursor();
    }
    at = *a;
    before_id = *b;
  }
  return impl_->with_conn([&](Conn& c) {
    c.by_customer.bind(1, impl_->workspace)
        .bind(2, static_cast<std::int64_t>(id.value()))
        .bind(3, at)
        .bind(4, before_id)
        .bind(5, static_cast<std::int64_t>(limit + 1));
    return Impl::read(c.by_customer, limit, true);
  });
}

}  // namespace baton::storage
