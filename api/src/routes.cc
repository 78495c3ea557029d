// The routes of API v1 (API.md): who may call what, what a body must hold, and how a
// command reaches the engine strand and its answer leaves after the commit.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <pthread.h>

#include "baton/api/tokens.h"
#include "baton/routing/assert.h"
#include "baton/web/assets.h"

#include "codec.h"
#include "http.h"
#include "stream.h"

namespace baton::api {

using namespace engine;

namespace {

enum RoleBit : unsigned { kGateway = 1, kAgent = 2, kSupervisor = 4, kAdmin = 8 };
constexpr unsigned kStaff = kSupervisor | kAdmin;
constexpr unsigned kAnyRole = kGateway | kAgent | kSupervisor | kAdmin;
constexpr unsigned kNoToken = 0;  // routes open to all (health)
// How many of a source case's last messages a handoff carries to its linked case.
constexpr std::size_t kHandoffContextMessages = 3;

// Each role by its name in tokens and in GET /v1/me.
constexpr std::pair<std::string_view, unsigned> kRoles[] = {
    {"gateway", kGateway}, {"agent", kAgent}, {"supervisor", kSupervisor}, {"admin", kAdmin}};

std::optional<unsigned> role_bit(std::string_view role) {
  for (const auto& [name, bit] : kRoles) {
    if (name == role) {
      return bit;
    }
  }
  return std::nullopt;
}

std::string_view role_name(unsigned bit) {
  for (const auto& [name, b] : kRoles) {
    if (b == bit) {
      return name;
    }
  }
  BATON_ASSERT(false, "a principal has one known role");
  return "";
}

struct Principal {
  std::string token_id;  // a prefix of the token's hash: names it in logs and keys
  unsigned role = 0;
  std::optional<AgentId> agent;
  std::string actor;  // as case events record it

  bool staff() const { return (role & kStaff) != 0; }
};

const char* title_of(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

Response problem_of(int status, std::string_view detail,
                    const std::vector<FieldError>& errors = {}) {
  return problem(status, title_of(status), detail, errors);
}

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return 422;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::AlreadyExists:
    case ErrorCode::FailedPrecondition:
    case ErrorCode::Conflict:
      return 409;
    case ErrorCode::PermissionDenied:
      return 403;
    case ErrorCode::Unauthenticated:
      return 401;
    case ErrorCode::Unavailable:
      return 503;
    case ErrorCode::Internal:
      return 500;
  }
  return 500;
}

Response from_error(const Error& e) {
  Response r = problem_of(status_of(e.code), e.message, e.field_errors);
  if (e.code == ErrorCode::Unavailable) {
    // The journal is full for a moment: a retry soon is the right move.
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

Response json_response(int status, const json::value& v) {
  Response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A page of cases, written directly (case_text) like every case answer.
Response cases_response(const Page<Case>& page) {
  std::string body = "{\"data\":[";
  for (std::size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) {
      body += ',';
    }
    body += case_text(page.items[i]);
  }
  body += "],\"next_cursor\":";
  body += page.next_cursor ? json::serialize(json::value(*page.next_cursor)) : "null";
  body += '}';
  return text_response(200, std::move(body));
}

template <class T>
json::object page_json(const Page<T>& page) {
  json::array data;
  for (const auto& item : page.items) {
    data.push_back(to_json(item));
  }
  return {{"data", std::move(data)},
          {"next_cursor", page.next_cursor ? json::value(*page.next_cursor) : nullptr}};
}

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
                                  std::size_t max_bytes = 10'000) {
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

  std::optional<std::int64_t> integer(std::string_view name, bool required, std::int64_t lo,
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
    } else if (v->is_double() && std::floor(v->get_double()) == v->get_double() &&
               std::abs(v->get_double()) < 1e15) {
      n = static_cast<std::int64_t>(v->get_double());
    }
    if (!n || *n < lo || *n > hi) {
      fail(name, range);
      return std::nullopt;
    }
    return n;
  }

  std::optional<bool> boolean(std::string_view name) {
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

  const json::object* object(std::string_view name, bool required) {
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

  std::optional<std::vector<std::string>> strings(std::string_view name, bool required) {
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

  std::optional<SkillLevels> skills(std::string_view name) {
    const json::object* o = object(name, false);
    if (o == nullptr) {
      return std::nullopt;
    }
    SkillLevels out;
    bool ok = true;
    for (const auto& kv : *o) {
      std::string key(kv.key());
      const auto& v = kv.value();
      if (key.empty() || !v.is_int64() || v.get_int64() < kMinSkillLevel ||
          v.get_int64() > kMaxSkillLevel) {
        fail(std::string(name) + "." + key, "must be an integer 1–10");
        ok = false;
        continue;
      }
      out[key] = static_cast<int>(v.get_int64());
    }
    return ok ? std::optional(out) : std::nullopt;
  }

  std::optional<ChannelCounts> capacity(std::string_view name) {
    const json::object* o = object(name, false);
    if (o == nullptr) {
      return std::nullopt;
    }
    ChannelCounts out{};
    bool ok = true;
    for (const auto& kv : *o) {
      std::string key(kv.key());
      auto ch = parse_channel(key);
      const auto& v = kv.value();
      if (!ch) {
        fail(std::string(name) + "." + key, "is not a channel (chat, email, voice, social, web)");
        ok = false;
      } else if (!v.is_int64() || v.get_int64() < 0 || v.get_int64() > 100) {
        fail(std::string(name) + "." + key, "must be an integer 0–100");
        ok = false;
      } else {
        out[index_of(*ch)] = static_cast<int>(v.get_int64());
      }
    }
    return ok ? std::optional(out) : std::nullopt;
  }

  std::optional<AgentId> agent(std::string_view name, bool required) {
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

  void fail(std::string_view name, std::string message) {
    errors_.push_back(FieldError{prefix_ + std::string(name), std::move(message)});
  }

 private:
  const json::value* get(std::string_view name, bool required) {
    auto it = o_.find(name);
    if (it == o_.end() || it->value().is_null()) {
      if (required) {
        fail(name, "is required");
      }
      return nullptr;
    }
    return &it->value();
  }

  const json::object& o_;
  std::vector<FieldError>& errors_;
  std::string prefix_;
};

std::optional<Channel> channel_of(std::string_view s) { return parse_channel(s); }

}  // namespace

Response problem(int status, std::string_view title, std::string_view detail,
                 const std::vector<FieldError>& errors) {
  json::object o{{"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}};
  if (!errors.empty()) {
    json::array a;
    for (const auto& e : errors) {
      json::object item{{"field", e.field}, {"message", e.message}};
      if (e.line > 0) {
        item["line"] = e.line;
        item["column"] = e.column;
      }
      a.push_back(std::move(item));
    }
    o["errors"] = std::move(a);
  }
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(o);
  return r;
}

// One request in flight.
struct Call {
  Request req;
  Reply reply;
  Principal who;
  std::string path;
  std::vector<std::string> params;  // the {…} parts of the route, in order
  std::map<std::string, std::string, std::less<>> query;
  std::string idem_key;  // scoped to the token; empty without an Idempotency-Key
  std::string request_hash;
};
using CallPtr = std::shared_ptr<Call>;

// Long reads (reports) off the io threads and off the engine strand: one thread, a short
// queue. A report asked for while the queue is full is refused (503), never queued
// without bound.
class ReportWorker {
 public:
  static constexpr std::size_t kQueue = 8;
  ReportWorker()
      : thread_([this] {
          pthread_setname_np(pthread_self(), "baton-reports");
          run();
        }) {}
  ~ReportWorker() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  ReportWorker(const ReportWorker&) = delete;
  ReportWorker& operator=(const ReportWorker&) = delete;

  bool submit(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (tasks_.size() >= kQueue || stopping_) {
        return false;
      }
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) {
          return;  // stopping, and nothing left
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread thread_;
};

struct Routes::Impl {
  using Handler = void (Impl::*)(const CallPtr&);
  struct Route {
    const char* method;
    const char* pattern;
    unsigned roles;
    Handler fn;
  };

  ServerOptions options;
  ServerDeps deps;
  EnginePost post;
  static const std::vector<Route>& table();
  // Each route's pattern split into segments, once (table()'s order).
  static const std::vector<std::vector<std::string_view>>& patterns() {
    static const auto kPatterns = [] {
      std::vector<std::vector<std::string_view>> out;
      for (const auto& r : table()) {
        out.push_back(split(r.pattern));
      }
      return out;
    }();
    return kPatterns;
  }
  std::unique_ptr<ReportWorker> reports = std::make_unique<ReportWorker>();

  // Tokens seen: token -> principal. Tokens are not revoked while the server runs.
  static constexpr std::size_t kTokenCache = 100'000;
  std::mutex tokens_mu;
  std::unordered_map<std::string, Principal> tokens;  // GUARDED_BY(tokens_mu)

  struct Bucket {
    double tokens = 0;
    TimePoint at{};
  };
  std::mutex rate_mu;
  std::unordered_map<std::string, Bucket> buckets;  // GUARDED_BY(rate_mu)

  struct Stored {
    std::string request_hash;
    bool done = false;
    int status = 0;
    std::string body;
    TimePoint at{};
  };
  TimePoint last_forget{};  // on the engine strand: when old answers were last forgotten
  std::mutex idem_mu;
  std::unordered_map<std::string, Stored> idem;        // GUARDED_BY(idem_mu)
  std::deque<std::pair<TimePoint, std::string>> aged;  // GUARDED_BY(idem_mu), oldest first

  // The routing decisions of recent cases, newest last.
  static constexpr std::size_t kDecisionCases = 100'000;
  static constexpr std::size_t kDecisionsPerCase = 20;
  std::mutex decisions_mu;
  // A vector a case: most cases are routed once or twice, and a deque's first block
  // (512 bytes) per case made this the largest allocation of a case creation.
  std::map<std::uint64_t, std::vector<RoutingRecord>> decisions;  // GUARDED_BY(decisions_mu)

  std::atomic<std::uint64_t> answered[6] = {};
  std::atomic<std::uint64_t> agent_serial{
      0};  // server-made agent ids within one ms  // by status class 1xx..5xx (index 1..5)

  Impl(const ServerOptions& o, ServerDeps d, EnginePost p)
      : options(o), deps(std::move(d)), post(std::move(p)) {
    deps.engine.set_decision_sink([this](RoutingRecord&& r) { keep_decision(std::move(r)); });
  }

  // ---- framing

  void dispatch(const CallPtr& call) {
    auto parsed = boost::urls::parse_origin_form(call->req.target);
    if (!parsed) {
      finish(call, problem_of(400, "the request target is not a valid path"));
      return;
    }
    call->path = std::string(parsed->encoded_path());
    for (auto p : parsed->params()) {
      if (call->query.count(p.key) > 0) {
        finish(call, problem_of(422, "query parameter " + p.key + " is repeated",
                                {FieldError{p.key, "must appear once"}}));
        return;
      }
      call->query[p.key] = p.value;
    }
    if (call->path == "/v1/stream" && call->req.authorization.empty()) {
      // Browsers cannot set headers on a WebSocket: the stream alone takes the token in
      // the query.
      if (auto t = call->query.find("access_token"); t != call->query.end()) {
        call->req.authorization = "Bearer " + t->second;
      }
    }
    std::vector<std::string_view> parts = split(call->path);
    bool path_matched = false;
    const auto& routes = table();
    const auto& pats = patterns();
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const auto& route = routes[i];
      if (!match(pats[i], parts)) {
        continue;
      }
      path_matched = true;
      if (call->req.method != route.method) {
        continue;
      }
      call->params.clear();
      for (std::size_t k = 0; k < parts.size(); ++k) {
        if (pats[i][k].starts_with('{')) {
          call->params.emplace_back(parts[k]);
        }
      }
      if (route.roles != kNoToken) {
        if (auto refused = authenticate(call, route.roles)) {
          finish(call, std::move(*refused));
          return;
        }
      }
      (this->*route.fn)(call);
      return;
    }
    if (!path_matched && call->req.method == "GET" && !call->path.starts_with("/v1/")) {
      if (const web::Asset* a = web::find_asset(call->path == "/" ? "/index.html" : call->path)) {
        finish(call, console_file(*a, call->req.if_none_match));
        return;
      }
    }
    finish(call, path_matched ? problem_of(405, "method not allowed on " + call->path)
                              : problem_of(404, "no such endpoint: " + call->path));
  }

  // A file of the web console. The console's own policy forbids every origin but this one
  // (no inline script, no CDN, no frame), so customer text that slipped past its escaping
  // could still not run. Revalidated on every load: an upgrade of the binary shows at once.
  static Response console_file(const web::Asset& a, std::string_view if_none_match) {
    Response r;
    r.headers = {
        {"ETag", std::string(a.etag)},
        {"Cache-Control", "no-cache"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'"},
    };
    r.content_type = std::string(a.content_type);
    if (if_none_match == a.etag) {
      r.status = 304;
    } else {
      r.body = std::string(a.body);
    }
    return r;
  }

  static std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    out.reserve(8);  // every route has fewer segments: one allocation
    std::size_t i = 0;
    while (i < path.size()) {
      if (path[i] == '/') {
        ++i;
        continue;
      }
      auto j = path.find('/', i);
      if (j == std::string_view::npos) {
        j = path.size();
      }
      out.push_back(path.substr(i, j - i));
      i = j;
    }
    return out;
  }

  // Whether the path's segments fit the pattern's ({name} takes any one segment).
  static bool match(const std::vector<std::string_view>& pat,
                    const std::vector<std::string_view>& parts) {
    if (pat.size() != parts.size()) {
      return false;
    }
    for (std::size_t i = 0; i < pat.size(); ++i) {
      if (!pat[i].starts_with('{') && pat[i] != parts[i]) {
        return false;
      }
    }
    return true;
  }

  void finish(const CallPtr& call, Response r) {
    answered[std::clamp(r.status / 100, 1, 5)].fetch_add(1, std::memory_order_relaxed);
    call->reply(std::move(r));
  }

  // ---- auth and rate

  std::optional<Response> authenticate(const CallPtr& call, unsigned roles) {
    std::string_view h = call->req.authorization;
    if (!h.starts_with("Bearer ") || h.size() <= 7) {
      return with_challenge(problem_of(401, "an Authorization: Bearer <token> header is required"));
    }
    std::string secret(h.substr(7));
    std::optional<Principal> who;
    {
      std::lock_guard lock(tokens_mu);
      if (auto it = tokens.find(secret); it != tokens.end()) {
        who = it->second;
      }
    }
    if (!who) {
      // Only the hash is stored; a token seen once is known by its text (in memory only).
      std::string hash = sha256_hex(secret);
      auto rec = deps.reads.find_token(hash);
      if (!rec) {
        return problem_of(503, "tokens cannot be read now: " + rec.error().message);
      }
      auto role = rec.value() ? role_bit(rec.value()->role) : std::nullopt;
      if (!rec.value() || rec.value()->revoked_at || rec.value()->workspace != options.workspace ||
          !role) {
        return with_challenge(problem_of(401, "the token is not valid"));
      }
      Principal p;
      p.token_id = hash.substr(0, 12);
      p.role = *role;
      p.agent = rec.value()->agent;
      p.actor = p.agent ? p.agent->value() : rec.value()->role + ":" + p.token_id;
      std::lock_guard lock(tokens_mu);
      if (tokens.size() >= kTokenCache) {
        tokens.clear();  // bounded: a flood of distinct valid tokens costs lookups, not memory
      }
      who = tokens.emplace(std::move(secret), p).first->second;
    }
    if ((who->role & roles) == 0) {
      return problem_of(403, "this token's role may not " + call->req.method + " " + call->path);
    }
    if (who->role == kAgent && !who->agent) {
      return problem_of(403, "an agent token must name its agent (token create --agent)");
    }
    if (auto wait = take_rate(who->token_id)) {
      Response r = problem_of(
          429, "rate limit of this token reached; retry after " + std::to_string(*wait) + " s");
      r.headers.emplace_back("Retry-After", std::to_string(*wait));
      return r;
    }
    call->who = std::move(*who);
    return std::nullopt;
  }

  static Response with_challenge(Response r) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }

  // Seconds to wait when the token's bucket is empty; nullopt when the request may go.
  std::optional<long> take_rate(const std::string& token_id) {
    const auto& l = options.limits;
    if (l.rate_per_second <= 0) {
      return std::nullopt;
    }
    TimePoint now = deps.clock.now();
    std::lock_guard lock(rate_mu);
    auto [it, fresh] = buckets.try_emplace(token_id, Bucket{l.rate_burst, now});
    Bucket& b = it->second;
    if (!fresh) {
      double secs = static_cast<double>((now - b.at).count()) / 1000.0;
      b.tokens = std::min(l.rate_burst, b.tokens + std::max(0.0, secs) * l.rate_per_second);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return std::nullopt;
    }
    return std::max(1L, static_cast<long>(std::ceil((1 - b.tokens) / l.rate_per_second)));
  }

  // ---- bodies and query

  // The body as a JSON object; an empty body reads as {}. nullopt after answering.
  std::optional<json::object> body_of(const CallPtr& call) {
    const auto& req = call->req;
    if (req.body.empty()) {
      return json::object{};
    }
    std::string_view ct = req.content_type;
    if (!ct.starts_with("application/json")) {
      finish(call, problem_of(415, "the body must be application/json"));
      return std::nullopt;
    }
    boost::system::error_code ec;
    // One arena for the whole document (it lives as long as the object does) instead of an
    // allocation for every key, string and table of it.
    json::value v =
        json::parse(req.body, ec, json::make_shared_resource<json::monotonic_resource>());
    if (ec) {
      finish(call, problem_of(400, "the body is not valid JSON: " + ec.message()));
      return std::nullopt;
    }
    if (!v.is_object()) {
      finish(call, problem_of(422, "the body must be a JSON object",
                              {FieldError{"", "must be an object"}}));
      return std::nullopt;
    }
    return std::move(v.get_object());
  }

  bool refuse_if(const CallPtr& call, const std::vector<FieldError>& errors) {
    if (errors.empty()) {
      return false;
    }
    std::string detail = errors.size() == 1 ? errors[0].field + " " + errors[0].message
                                            : std::to_string(errors.size()) + " fields are invalid";
    finish(call, problem_of(422, detail, errors));
    return true;
  }

  std::string query(const CallPtr& call, const char* name) const {
    auto it = call->query.find(name);
    return it == call->query.end() ? "" : it->second;
  }

  // A query parameter read by `parse` into `into`; an unreadable one adds a field error.
  template <class T, class Parse>
  void query_param(const CallPtr& call, const char* name, std::optional<T>& into, Parse parse,
                   const char* expected, std::vector<FieldError>& errors) const {
    if (auto s = query(call, name); !s.empty()) {
      into = parse(s);
      if (!into) {
        errors.push_back({name, std::string("must be ") + expected});
      }
    }
  }

  // ?limit= (1–500, default 50); nullopt after answering 422.
  std::optional<std::size_t> limit_of(const CallPtr& call) {
    auto it = call->query.find("limit");
    if (it == call->query.end()) {
      return 50;
    }
    int n = 0;
    const auto& s = it->second;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || n < 1 || n > 500) {
      finish(call, problem_of(422, "limit must be 1–500", {FieldError{"limit", "must be 1–500"}}));
      return std::nullopt;
    }
    return static_cast<std::size_t>(n);
  }

  // ---- idempotency

  // Before a command: answers a retry (stored answer, 409 in flight, 422 other body) or
  // marks the key in flight. True when the call was answered.
  bool replayed(const CallPtr& call) {
    if (call->req.idempotency_key.empty()) {
      return false;
    }
    if (call->req.idempotency_key.size() > 255) {
      finish(call, problem_of(422, "Idempotency-Key must be at most 255 bytes",
                              {FieldError{"Idempotency-Key", "must be at most 255 bytes"}}));
      return true;
    }
    call->idem_key = call->who.token_id + ":" + call->req.idempotency_key;
    call->request_hash =
        sha256_hex(call->req.method + " " + call->req.target + "\n" + call->req.body);
    TimePoint now = deps.clock.now();
    std::lock_guard lock(idem_mu);
    while (!aged.empty() && now - aged.front().first > options.idempotency_ttl) {
      idem.erase(aged.front().second);
      aged.pop_front();
    }
    auto it = idem.find(call->idem_key);
    if (it == idem.end()) {
      idem.emplace(call->idem_key, Stored{call->request_hash, false, 0, {}, now});
      return false;
    }
    const Stored& s = it->second;
    if (s.request_hash != call->request_hash) {
      finish(call,
             problem_of(422, "this Idempotency-Key was used with a different request",
                        {FieldError{"Idempotency-Key", "was used with a different request"}}));
    } else if (!s.done) {
      finish(call, problem_of(409, "a request with this Idempotency-Key is still in flight"));
    } else {
      Response r;
      r.status = s.status;
      r.body = s.body;
      if (s.status >= 400) {
        r.content_type = "application/problem+json";
      }
      r.headers.emplace_back("Idempotent-Replayed", "true");
      finish(call, std::move(r));
    }
    return true;
  }

  void settle_key(const CallPtr& call, const Response& r, bool stored) {
    if (call->idem_key.empty()) {
      return;
    }
    std::lock_guard lock(idem_mu);
    auto it = idem.find(call->idem_key);
    if (it == idem.end()) {
      return;
    }
    if (!stored) {
      idem.erase(it);  // nothing durable: a retry runs the command again
      return;
    }
    it->second.done = true;
    it->second.status = r.status;
    it->second.body = r.body;
    aged.emplace_back(it->second.at, call->idem_key);
  }

  // Runs `fn` on the engine strand with its changes held; the answer it returns is stored
  // with them (for an Idempotency-Key) and sent once they are committed.
  void command(const CallPtr& call, std::function<Response()> fn) {
    if (replayed(call)) {
      return;
    }
    post([this, call, fn = std::move(fn)] {
      Engine& eng = deps.engine;
      eng.hold_commit();
      Response r = fn();
      bool keep = !call->idem_key.empty() && r.status < 500;
      std::optional<StoredResponse> stored;
      if (keep) {
        TimePoint now = deps.clock.now();
        stored = StoredResponse{call->idem_key, call->request_hash, r.status, r.body, now};
        // At most once a minute, answers past their time go with this one's commit.
        if (now - last_forget >= Duration{60'000}) {
          last_forget = now;
          stored->forget_before = now - options.idempotency_ttl;
        }
      }
      eng.release_commit(
          std::move(stored), [this, call, r = std::move(r), keep](Status st) mutable {
            if (!st.has_value()) {
              r = problem_of(503, "the change could not be made durable: " + st.error().message);
              keep = false;
            }
            settle_key(call, r, keep);
            finish(call, std::move(r));
          });
    });
  }

  // ---- visibility

  // Staff see every case, a gateway what it posted, an agent what it holds or is offered.
  // `offer_agent(id)` names the agent of the case's pending offer (or nullopt).
  template <class OfferAgent>
  static bool may_see(const Principal& who, const Case& c, OfferAgent offer_agent) {
    if (who.staff()) {
      return true;
    }
    if (who.role == kGateway) {
      return c.created_by == who.actor;
    }
    if (c.assignee == who.agent) {
      return true;
    }
    if (!c.offer) {
      return false;
    }
    std::optional<AgentId> offered_to = offer_agent(*c.offer);
    return offered_to.has_value() && offered_to == who.agent;
  }

  // On the engine strand, from the engine's state.
  bool sees(const Principal& who, const Case& c, const Engine& eng) const {
    return may_see(who, c, [&](OfferId id) -> std::optional<AgentId> {
      const Offer* o = eng.find_offer(id);
      return o != nullptr ? std::optional(o->agent) : std::nullopt;
    });
  }

  // Off the strand, from the read model.
  bool sees_stored(const Principal& who, const Case& c) {
    return may_see(who, c, [&](OfferId id) -> std::optional<AgentId> {
      auto o = deps.reads.find_offer(id);
      return o && o.value() ? std::optional(o.value()->agent) : std::nullopt;
    });
  }

  static Response not_found(std::string_view what, std::string_view id) {
    return problem_of(404, std::string(what) + " " + std::string(id) + " not found");
  }

  // Runs a case command on the strand once the case is found and visible.
  void case_command(const CallPtr& call, int ok_status, std::function<Result<Case>(CaseId)> fn) {
    auto n = parse_id("case_", call->params[0]);
    if (!n) {
      finish(call, not_found("case", call->params[0]));
      return;
    }
    CaseId id(*n);
    command(call, [this, call, id, ok_status, fn = std::move(fn)]() -> Response {
      const Case* c = deps.engine.find_case(id);
      if (c == nullptr) {
        // Closed cases leave memory; the history still knows them.
        auto stored = deps.reads.find_case(id);
        if (stored && stored.value() && sees_stored(call->who, *stored.value())) {
          return problem_of(
              409, "case " + case_id(id) + " is " + std::string(to_string(stored.value()->status)));
        }
        return not_found("case", call->params[0]);
      }
      if (!sees(call->who, *c, deps.engine)) {
        return not_found("case", call->params[0]);
      }
      auto r = fn(id);
      if (!r) {
        return from_error(r.error());
      }
      return text_response(ok_status, case_text(r.value()));
    });
  }

  // ---- decisions

  // On the engine strand, for every decision: kept as data (the record, moved in); put
  // into words only when someone asks.
  void keep_decision(RoutingRecord&& r) {
    std::lock_guard lock(decisions_mu);
    auto& list = decisions[r.case_id.value()];
    if (list.size() == kDecisionsPerCase) {
      list.erase(list.begin());  // the case's oldest decision goes
    }
    list.push_back(std::move(r));
    while (decisions.size() > kDecisionCases) {
      decisions.erase(decisions.begin());  // the oldest cases' decisions go first
    }
  }

  // REQUIRES: on the engine strand (the words name agents and queue rules).
  json::object explained(const RoutingRecord& r) const {
    json::array candidates;
    for (const auto& c : deps.engine.explain(r)) {
      candidates.push_back(json::object{
          {"agent", agent_id(c.agent)}, {"eligible", c.eligible}, {"reason", c.reason}});
    }
    json::object skills;
    for (const auto& [k, v] : r.required_skills) {
      skills[k] = v;
    }
    return {{"at", format_time(r.at)},
            {"rule", r.rule.empty() ? json::value(nullptr) : json::value(r.rule)},
            {"queue", r.queue},
            {"required_skills", std::move(skills)},
            {"candidates", std::move(candidates)},
            {"chosen", r.chosen ? json::value(agent_id(*r.chosen)) : nullptr},
            {"why", r.why}};
  }

  // ---- operations

  void healthz(const CallPtr& call) {
    finish(call, json_response(200, json::object{{"status", "ok"}}));
  }

  // Who the token is: the console asks once to know which views to show.
  void me(const CallPtr& call) {
    const Principal& who = call->who;
    finish(call,
           json_response(200, json::object{{"role", role_name(who.role)},
                                           {"agent", who.agent ? json::value(agent_id(*who.agent))
                                                               : json::value(nullptr)},
                                           {"workspace", options.workspace}}));
  }

  void readyz(const CallPtr& call) {
    auto st = deps.ready();
    if (!st) {
      finish(call, problem_of(503, st.error().message));
      return;
    }
    finish(call, json_response(200, json::object{{"status", "ready"}}));
  }

  void metrics(const CallPtr& call) {
    if (!(options.metrics_open_on_loopback && call->req.loopback)) {
      if (auto refused = authenticate(call, kStaff)) {
        finish(call, std::move(*refused));
        return;
      }
    }
    post([this, call] {
      const auto& c = deps.engine.counters();
      std::string text;
      auto line = [&](const char* name, const char* help, std::uint64_t v) {
        text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" +
                name + " " + std::to_string(v) + "\n";
      };
      line("baton_cases_created_total", "Cases created.", c.cases_created);
      line("baton_offers_total", "Offers made.", c.offers_made);
      line("baton_offers_accepted_total", "Offers accepted.", c.offers_accepted);
      line("baton_offers_declined_total", "Offers declined.", c.offers_declined);
      line("baton_offers_timed_out_total", "Offers that lapsed.", c.offers_timed_out);
      line("baton_offers_revoked_total", "Offers revoked.", c.offers_revoked);
      text += "# HELP baton_cases_open Open cases in memory.\n# TYPE baton_cases_open gauge\n";
      text += "baton_cases_open " + std::to_string(deps.engine.open_case_count()) + "\n";
      text +=
          "# HELP baton_cases_capacity Open cases the engine holds before its tables grow "
          "(engine.expected_open_cases).\n# TYPE baton_cases_capacity gauge\n";
      text += "baton_cases_capacity " + std::to_string(deps.engine.case_capacity()) + "\n";
      text +=
          "# HELP baton_cases_waiting Cases waiting for an agent.\n# TYPE baton_cases_waiting "
          "gauge\n";
      text += "baton_cases_waiting " + std::to_string(deps.engine.waiting_count()) + "\n";
      text += metrics_text();
      if (deps.metrics) {
        text += deps.metrics();
      }
      Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = std::move(text);
      finish(call, std::move(r));
    });
  }

  std::string metrics_text() const {
    std::string text =
        "# HELP baton_http_responses_total HTTP answers by status class.\n"
        "# TYPE baton_http_responses_total counter\n";
    for (int k = 1; k <= 5; ++k) {
      text += "baton_http_responses_total{class=\"" + std::to_string(k) + "xx\"} " +
              std::to_string(answered[k].load(std::memory_order_relaxed)) + "\n";
    }
    return text;
  }

  // ---- agents

  std::optional<AgentId> path_agent(const CallPtr& call) {
    auto id = parse_agent_id(call->params[0]);
    if (!id) {
      finish(call, not_found("agent", call->params[0]));
    }
    return id;
  }

  void create_agent(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    NewAgent a;
    if (f.has("id")) {
      if (auto id = f.agent("id", true)) {
        a.id = *id;
      }
    } else {
      a.id = AgentId(id_text("", next_agent_serial()));
    }
    a.name = f.text("name", true, 200).value_or("");
    a.role = f.one_of<Role>("role", false, parse_role, "agent, sales or supervisor")
                 .value_or(Role::Agent);
    a.teams = f.strings("teams", false).value_or(std::vector<std::string>{});
    a.skills = f.skills("skills").value_or(SkillLevels{});
    a.languages = f.strings("languages", false).value_or(std::vector<std::string>{});
    a.capacity = f.capacity("capacity").value_or(ChannelCounts{});
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, a = std::move(a)]() mutable -> Response {
      auto r = deps.engine.create_agent(std::move(a));
      if (!r) {
        return from_error(r.error());
      }
      return json_response(201, to_json(r.value()));
    });
  }

  std::uint64_t next_agent_serial() {
    // Server-made agent ids sort by creation: the time in ms, then a counter.
    auto ms = static_cast<std::uint64_t>(deps.clock.now().time_since_epoch().count());
    return ms * 1024 + (agent_serial.fetch_add(1) % 1024);
  }

  void list_agents(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    std::string cursor = query(call, "cursor");
    post([this, call, limit = *limit, cursor] {
      auto all = deps.engine.agents();
      std::sort(all.begin(), all.end(),
                [](const Agent* a, const Agent* b) { return a->id < b->id; });
      Page<Agent> page;
      for (const Agent* a : all) {
        if (!cursor.empty() && a->id.value() <= cursor) {
          continue;
        }
        if (page.items.size() == limit) {
          page.next_cursor = page.items.back().id.value();
          break;
        }
        page.items.push_back(*a);
      }
      finish(call, json_response(200, page_json(page)));
    });
  }

  void get_agent(const CallPtr& call) {
    auto id = path_agent(call);
    if (!id) {
      return;
    }
    if (!call->who.staff() && call->who.agent != *id) {
      finish(call, not_found("agent", call->params[0]));
      return;
    }
    post([this, call, id = *id] {
      const Agent* a = deps.engine.find_agent(id);
      finish(call,
             a == nullptr ? not_found("agent", call->params[0]) : json_response(200, to_json(*a)));
    });
  }

  void patch_agent(const CallPtr& call) {
    auto id = path_agent(call);
    if (!id) {
      return;
    }
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    AgentPatch p;
    p.name = f.text("name", false, 200);
    p.role = f.one_of<Role>("role", false, parse_role, "agent, sales or supervisor");
    p.teams = f.strings("teams", false);
    p.skills = f.skills("skills");
    p.languages = f.strings("languages", false);
    p.capacity = f.capacity("capacity");
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, call, id = *id, p = std::move(p)]() mutable -> Response {
      if (deps.engine.find_agent(id) == nullptr) {
        return not_found("agent", call->params[0]);
      }
      auto r = deps.engine.update_agent(id, std::move(p));
      return r ? json_response(200, to_json(r.value())) : from_error(r.error());
    });
  }

  void put_presence(const CallPtr& call) {
    auto id = path_agent(call);
    if (!id) {
      return;
    }
    if (!call->who.staff() && call->who.agent != *id) {
      finish(call, not_found("agent", call->params[0]));
      return;
    }
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    auto p = f.one_of<Presence>("presence", true, parse_presence, "available, away or offline");
    if (p == Presence::WrapUp) {
      f.fail("presence", "must be available, away or offline (wrap_up is set by Baton)");
    }
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, call, id = *id, p = *p]() -> Response {
      if (deps.engine.find_agent(id) == nullptr) {
        return not_found("agent", call->params[0]);
      }
      auto r = deps.engine.set_presence(id, p);
      return r ? json_response(200, to_json(r.value())) : from_error(r.error());
    });
  }

  // ---- accounts and customers

  void create_account(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    NewAccount a;
    a.name = f.text("name", true, 200).value_or("");
    a.tier = f.text("tier", false, 100).value_or("");
    a.segment = f.text("segment", false, 100).value_or("");
    if (f.has("sales_owner")) {
      a.sales_owner = f.agent("sales_owner", true);
    }
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, a = std::move(a)]() mutable -> Response {
      auto r = deps.engine.create_account(std::move(a));
      return r ? json_response(201, to_json(r.value())) : from_error(r.error());
    });
  }

  // GET of an object the engine holds in memory: parse the id, read it on the strand.
  template <class IdT, class Find>
  void get_held(const CallPtr& call, std::string_view prefix, const char* what, Find find) {
    auto n = parse_id(prefix, call->params[0]);
    if (!n) {
      finish(call, not_found(what, call->params[0]));
      return;
    }
    post([this, call, id = IdT(*n), what, find] {
      const auto* found = find(deps.engine, id);
      finish(call, found == nullptr ? not_found(what, call->params[0])
                                    : json_response(200, to_json(*found)));
    });
  }

  void get_account(const CallPtr& call) {
    get_held<AccountId>(call, "acc_", "account",
                        [](const Engine& e, AccountId id) { return e.find_account(id); });
  }

  std::optional<Identity> identity_of(Fields& f) {
    auto ch = f.one_of<Channel>("channel", true, channel_of, "chat, email, voice, social or web");
    auto address = f.text("address", true, 320);
    if (!ch || !address) {
      return std::nullopt;
    }
    if (address->empty()) {
      f.fail("address", "must not be empty");
      return std::nullopt;
    }
    return Identity{*ch, *address};
  }

  void create_customer(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    NewCustomer c;
    c.name = f.text("name", false, 200).value_or("");
    if (auto acc = f.text("account_id", false, 100)) {
      if (auto n = parse_id("acc_", *acc)) {
        c.account = AccountId(*n);
      } else {
        f.fail("account_id", "must be an account id (acc_…)");
      }
    }
    if (body->contains("identities")) {
      const json::value& ids = body->at("identities");
      if (!ids.is_array()) {
        f.fail("identities", "must be an array of {channel, address}");
      } else {
        for (std::size_t i = 0; i < ids.get_array().size(); ++i) {
          const auto& item = ids.get_array()[i];
          std::string prefix = "identities[" + std::to_string(i) + "].";
          if (!item.is_object()) {
            f.fail(prefix.substr(0, prefix.size() - 1), "must be {channel, address}");
            continue;
          }
          Fields g(item.get_object(), errors, prefix);
          if (auto id = identity_of(g)) {
            c.identities.push_back(*id);
          }
        }
      }
    }
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, c = std::move(c)]() mutable -> Response {
      auto r = deps.engine.create_customer(std::move(c));
      return r ? json_response(201, to_json(r.value())) : from_error(r.error());
    });
  }

  void get_customer(const CallPtr& call) {
    get_held<CustomerId>(call, "cus_", "customer",
                         [](const Engine& e, CustomerId id) { return e.find_customer(id); });
  }

  void customer_timeline(const CallPtr& call) {
    auto n = parse_id("cus_", call->params[0]);
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    if (!n) {
      finish(call, not_found("customer", call->params[0]));
      return;
    }
    auto page = deps.reads.customer_timeline(CustomerId(*n), query(call, "cursor"), *limit);
    if (!page) {
      finish(call, from_error(page.error()));
      return;
    }
    // Each item names its case's type and channel: one timeline across teams and channels;
    // a handoff's events carry the handoff itself (reason, target, status, outcome).
    std::map<std::uint64_t, std::optional<Case>> cases;
    std::map<std::uint64_t, std::optional<Handoff>> handoffs;
    json::array data;
    for (const auto& e : page->items) {
      auto [it, fresh] = cases.try_emplace(e.case_id.value());
      if (fresh && e.case_id.value() != 0) {
        auto c = deps.reads.find_case(e.case_id);
        if (!c) {
          finish(call, from_error(c.error()));
          return;
        }
        it->second = std::move(c).value();
      }
      json::object o = to_json(e);
      o["case_type"] = it->second ? json::value(it->second->type) : nullptr;
      o["channel"] = it->second ? json::value(to_string(it->second->channel)) : nullptr;
      if (const auto* hid = e.find("handoff_id");
          hid != nullptr && std::holds_alternative<double>(*hid)) {
        auto key = static_cast<std::uint64_t>(std::get<double>(*hid));
        auto [h, first] = handoffs.try_emplace(key);
        if (first) {
          auto found = deps.reads.find_handoff(HandoffId(key));
          if (!found) {
            finish(call, from_error(found.error()));
            return;
          }
          h->second = std::move(found).value();
        }
        if (h->second) {
          o["handoff"] = to_json(*h->second);
        }
      }
      data.push_back(std::move(o));
    }
    finish(call,
           json_response(
               200, json::object{{"data", std::move(data)},
                                 {"next_cursor",
                                  page->next_cursor ? json::value(*page->next_cursor) : nullptr}}));
  }

  void merge_customer(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    std::optional<CustomerId> from;
    if (auto text = f.text("from", true, 100)) {
      if (auto n = parse_id("cus_", *text)) {
        from = CustomerId(*n);
      } else {
        f.fail("from", "must be a customer id (cus_…)");
      }
    }
    if (refuse_if(call, errors)) {
      return;
    }
    auto n = parse_id("cus_", call->params[0]);
    if (!n) {
      finish(call, not_found("customer", call->params[0]));
      return;
    }
    command(call, [this, call, into = CustomerId(*n), from = *from]() -> Response {
      auto r = deps.engine.merge_customers(into, from, call->who.actor);
      return r ? json_response(200, to_json(r.value())) : from_error(r.error());
    });
  }

  // ---- cases

  void create_case(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    NewCase c;
    c.channel = f.one_of<Channel>("channel", true, channel_of, "chat, email, voice, social or web")
                    .value_or(Channel::Chat);
    c.type = f.text("type", false, 100).value_or("support");
    c.subject = f.text("subject", false, 1000).value_or("");
    c.body = f.text("body", false, 100'000).value_or("");
    c.priority = static_cast<int>(f.integer("priority", false, 1, 5, "must be 1–5").value_or(0));
    c.required_skills = f.skills("required_skills").value_or(SkillLevels{});
    c.external_ref = f.text("external_ref", false, 200).value_or("");
    c.actor = call->who.actor;
    if (const json::object* attrs = f.object("attributes", false)) {
      for (const auto& kv : *attrs) {
        const auto& v = kv.value();
        std::string key(kv.key());
        if (v.is_string()) {
          c.attributes[key] = std::string(v.get_string());
        } else if (v.is_bool()) {
          c.attributes[key] = v.get_bool();
        } else if (v.is_number()) {
          c.attributes[key] = v.to_number<double>();
        } else {
          f.fail("attributes." + key, "must be a string, number or boolean");
        }
      }
    }
    if (const json::object* cust = f.object("customer", true)) {
      Fields g(*cust, errors, "customer.");
      if (g.has("id")) {
        auto id = g.text("id", true, 100);
        if (auto n = id ? parse_id("cus_", *id) : std::nullopt) {
          c.customer.id = CustomerId(*n);
        } else if (id) {
          g.fail("id", "unknown customer");
        }
      } else {
        c.customer.identity = identity_of(g);
        c.customer.name = g.text("name", false, 200).value_or("");
      }
    }
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, c = std::move(c)]() mutable -> Response {
      auto r = deps.engine.create_case(std::move(c));
      return r ? text_response(201, case_text(r.value())) : from_error(r.error());
    });
  }

  void list_cases(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    std::vector<FieldError> errors;
    CaseFilter f;
    query_param(call, "status", f.status, parse_case_status,
                "a case status (queued, offered, assigned, …)", errors);
    f.queue = query(call, "queue");
    query_param(call, "assignee", f.assignee, parse_agent_id, "an agent id (agt_…)", errors);
    query_param(
        call, "customer_id", f.customer,
        [](std::string_view s) -> std::optional<CustomerId> {
          auto n = parse_id("cus_", s);
          return n ? std::optional(CustomerId(*n)) : std::nullopt;
        },
        "a customer id (cus_…)", errors);
    if (refuse_if(call, errors)) {
      return;
    }
    // What a token may see: a gateway its own posts, an agent its own work.
    if (call->who.role == kGateway) {
      f.created_by = call->who.actor;
    } else if (call->who.role == kAgent) {
      if (f.assignee && f.assignee != call->who.agent) {
        finish(call,
               json_response(200, json::object{{"data", json::array()}, {"next_cursor", nullptr}}));
        return;
      }
      f.assignee = call->who.agent;
    }
    auto page = deps.reads.cases(f, query(call, "cursor"), *limit);
    finish(call, page ? cases_response(page.value()) : from_error(page.error()));
  }

  // The case, when the token may see it; answers 404 otherwise.
  std::optional<Case> visible_case(const CallPtr& call) {
    auto n = parse_id("case_", call->params[0]);
    if (!n) {
      finish(call, not_found("case", call->params[0]));
      return std::nullopt;
    }
    auto c = deps.reads.find_case(CaseId(*n));
    if (!c) {
      finish(call, from_error(c.error()));
      return std::nullopt;
    }
    if (!c.value() || !sees_stored(call->who, *c.value())) {
      finish(call, not_found("case", call->params[0]));
      return std::nullopt;
    }
    return std::move(c.value());
  }

  void get_case(const CallPtr& call) {
    if (auto c = visible_case(call)) {
      finish(call, text_response(200, case_text(*c)));
    }
  }

  void case_events(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    auto c = visible_case(call);
    if (!c) {
      return;
    }
    auto page = deps.reads.case_events(c->id, query(call, "cursor"), *limit);
    finish(call, page ? json_response(200, page_json(page.value())) : from_error(page.error()));
  }

  void case_routing(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    auto c = visible_case(call);
    if (!c) {
      return;
    }
    std::size_t from = 0;
    if (auto cur = query(call, "cursor"); !cur.empty()) {
      auto [p, ec] = std::from_chars(cur.data(), cur.data() + cur.size(), from);
      if (ec != std::errc() || p != cur.data() + cur.size()) {
        finish(call, problem_of(422, "cursor was not made by this server",
                                {FieldError{"cursor", "was not made by this server"}}));
        return;
      }
    }
    std::vector<RoutingRecord> shown;
    std::optional<std::size_t> next;
    {
      std::lock_guard lock(decisions_mu);
      auto it = decisions.find(c->id.value());
      if (it != decisions.end()) {
        const auto& list = it->second;
        // Newest first.
        for (std::size_t i = from; i < list.size(); ++i) {
          if (shown.size() == *limit) {
            next = i;
            break;
          }
          shown.push_back(list[list.size() - 1 - i]);
        }
      }
    }
    post([this, call, shown = std::move(shown), next] {
      json::array data;
      for (const auto& r : shown) {
        data.push_back(explained(r));
      }
      finish(call, json_response(
                       200, json::object{{"data", std::move(data)},
                                         {"next_cursor",
                                          next ? json::value(std::to_string(*next)) : nullptr}}));
    });
  }

  void add_message(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    auto dir = f.text("direction", true, 10);
    if (dir && *dir != "in" && *dir != "out") {
      f.fail("direction", "must be in or out");
    }
    auto text = f.text("body", true, 100'000);
    if (refuse_if(call, errors)) {
      return;
    }
    bool inbound = *dir == "in";
    case_command(call, 201, [this, call, inbound, text = *text](CaseId id) {
      return deps.engine.add_message(id, inbound, text, call->who.actor);
    });
  }

  void add_note(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    auto text = f.text("body", true, 100'000);
    if (refuse_if(call, errors)) {
      return;
    }
    case_command(call, 201, [this, call, text = *text](CaseId id) {
      return deps.engine.add_note(id, text, call->who.actor);
    });
  }

  void transfer(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    std::optional<AgentId> to_agent;
    std::optional<std::string> to_queue;
    if (f.has("to_agent")) {
      to_agent = f.agent("to_agent", true);
    }
    if (f.has("to_queue")) {
      to_queue = f.text("to_queue", true, 100);
    }
    if (f.has("to_agent") == f.has("to_queue")) {
      f.fail("to_agent", "send exactly one of to_agent and to_queue");
    }
    std::string note = f.text("note", false, 10'000).value_or("");
    if (refuse_if(call, errors)) {
      return;
    }
    case_command(call, 200, [this, call, to_agent, to_queue, note](CaseId id) {
      return to_agent ? deps.engine.transfer_to_agent(id, *to_agent, call->who.actor, note)
                      : deps.engine.transfer_to_queue(id, *to_queue, call->who.actor, note);
    });
  }

  void resolve(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    std::string resolution = f.text("resolution", false, 10'000).value_or("");
    if (refuse_if(call, errors)) {
      return;
    }
    case_command(call, 200, [this, call, resolution](CaseId id) {
      return deps.engine.resolve(id, call->who.actor, resolution);
    });
  }

  void reopen(const CallPtr& call) {
    if (!body_of(call)) {
      return;
    }
    case_command(call, 200,
                 [this, call](CaseId id) { return deps.engine.reopen(id, call->who.actor); });
  }

  void close(const CallPtr& call) {
    if (!body_of(call)) {
      return;
    }
    case_command(call, 200, [this, call](CaseId id) {
      return deps.engine.close(id, call->who.actor, call->who.staff());
    });
  }

  void csat(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    auto score = f.integer("score", true, 1, 5, "must be 1–5");
    std::string comment = f.text("comment", false, 10'000).value_or("");
    if (refuse_if(call, errors)) {
      return;
    }
    auto n = parse_id("case_", call->params[0]);
    if (!n) {
      finish(call, not_found("case", call->params[0]));
      return;
    }
    CaseId id(*n);
    command(call, [this, call, id, score = static_cast<int>(*score), comment]() -> Response {
      const Case* c = deps.engine.find_case(id);
      std::optional<Case> stored;
      if (c == nullptr) {
        // A rating after the case closed: the history has it.
        auto found = deps.reads.find_case(id);
        if (found && found.value()) {
          stored = std::move(found.value());
          c = &*stored;
        }
      }
      if (c == nullptr || !sees(call->who, *c, deps.engine)) {
        return not_found("case", call->params[0]);
      }
      auto r =
          deps.engine.record_csat(id, score, comment, call->who.actor, stored ? &*stored : nullptr);
      return r ? text_response(201, case_text(r.value())) : from_error(r.error());
    });
  }

  void create_handoff(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    NewHandoff h;
    h.to = f.text("to", true, 200).value_or("");
    if (h.to.starts_with("agt_")) {
      h.to = h.to.substr(4);  // the engine names agents without the prefix
    }
    h.reason = f.one_of<HandoffReason>("reason", true, parse_handoff_reason,
                                       "upsell, renewal, technical, billing, onboarding, "
                                       "escalation or other")
                   .value_or(HandoffReason::Other);
    h.note = f.text("note", false, 10'000).value_or("");
    h.transfer = f.boolean("transfer").value_or(false);
    h.actor = call->who.actor;
    if (refuse_if(call, errors)) {
      return;
    }
    auto n = parse_id("case_", call->params[0]);
    if (!n) {
      finish(call, not_found("case", call->params[0]));
      return;
    }
    CaseId id(*n);
    // The source's last messages travel with the handoff (read before the command: what
    // is committed by now).
    auto recent = deps.reads.recent_messages(id, kHandoffContextMessages);
    if (!recent) {
      finish(call, from_error(recent.error()));
      return;
    }
    for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
      const Value* body = it->find("body");
      const auto* text = body != nullptr ? std::get_if<std::string>(body) : nullptr;
      if (text != nullptr) {
        h.recent_messages.emplace_back(it->type == EventType::MessageIn ? "in" : "out", *text);
      }
    }
    command(call, [this, call, id, h = std::move(h)]() mutable -> Response {
      const Case* c = deps.engine.find_case(id);
      if (c == nullptr || !sees(call->who, *c, deps.engine)) {
        return not_found("case", call->params[0]);
      }
      if (!call->who.staff() && c->assignee != call->who.agent) {
        return problem_of(403, "only the case's assignee or a supervisor may hand it off");
      }
      auto r = deps.engine.create_handoff(id, std::move(h));
      return r ? json_response(201, to_json(r.value())) : from_error(r.error());
    });
  }

  // ---- offers

  void list_offers(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    std::vector<FieldError> errors;
    OfferFilter f;
    query_param(call, "agent", f.agent, parse_agent_id, "an agent id (agt_…)", errors);
    query_param(call, "status", f.status, parse_offer_status,
                "pending, accepted, declined, timed_out or revoked", errors);
    if (refuse_if(call, errors)) {
      return;
    }
    if (call->who.role == kAgent) {
      if (f.agent && f.agent != call->who.agent) {
        finish(call,
               json_response(200, json::object{{"data", json::array()}, {"next_cursor", nullptr}}));
        return;
      }
      f.agent = call->who.agent;
    }
    auto page = deps.reads.offers(f, query(call, "cursor"), *limit);
    finish(call, page ? json_response(200, page_json(page.value())) : from_error(page.error()));
  }

  void get_offer(const CallPtr& call) {
    auto n = parse_id("off_", call->params[0]);
    auto o = n ? deps.reads.find_offer(OfferId(*n)) : Result<std::optional<Offer>>(std::nullopt);
    if (!o) {
      finish(call, from_error(o.error()));
      return;
    }
    if (!o.value() || (!call->who.staff() && o.value()->agent != call->who.agent)) {
      finish(call, not_found("offer", call->params[0]));
      return;
    }
    finish(call, json_response(200, to_json(*o.value())));
  }

  void decide_offer(const CallPtr& call, bool accept) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    std::string reason = f.text("reason", false, 1000).value_or("");
    if (refuse_if(call, errors)) {
      return;
    }
    auto n = parse_id("off_", call->params[0]);
    if (!n) {
      finish(call, not_found("offer", call->params[0]));
      return;
    }
    command(call, [this, call, id = OfferId(*n), accept, reason]() -> Response {
      const Offer* o = deps.engine.find_offer(id);
      if (o == nullptr) {
        auto stored = deps.reads.find_offer(id);
        if (stored && stored.value() &&
            (call->who.staff() || stored.value()->agent == call->who.agent)) {
          return problem_of(409, "offer " + offer_id(id) + " is " +
                                     std::string(to_string(stored.value()->status)));
        }
        return not_found("offer", call->params[0]);
      }
      if (!call->who.staff() && o->agent != call->who.agent) {
        return not_found("offer", call->params[0]);
      }
      if (o->status != OfferStatus::Pending) {
        return problem_of(409,
                          "offer " + offer_id(id) + " is " + std::string(to_string(o->status)));
      }
      AgentId by = o->agent;  // a supervisor acts for the offer's agent
      if (accept) {
        auto r = deps.engine.accept_offer(id, by);
        if (!r) {
          return from_error(r.error());
        }
        return json_response(
            200, json::object{{"offer", to_json(r->offer)}, {"case", to_json(r->case_)}});
      }
      auto r = deps.engine.decline_offer(id, by, reason);
      return r ? json_response(200, to_json(r.value())) : from_error(r.error());
    });
  }

  void accept_offer(const CallPtr& call) { decide_offer(call, true); }
  void decline_offer(const CallPtr& call) { decide_offer(call, false); }

  // ---- handoffs

  void list_handoffs(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    std::vector<FieldError> errors;
    HandoffFilter f;
    query_param(call, "status", f.status, parse_handoff_status, "open, accepted or completed",
                errors);
    query_param(call, "reason", f.reason, parse_handoff_reason, "a handoff reason", errors);
    query_param(call, "from_agent", f.from_agent, parse_agent_id, "an agent id (agt_…)", errors);
    query_param(call, "to_agent", f.to_agent, parse_agent_id, "an agent id (agt_…)", errors);
    if (refuse_if(call, errors)) {
      return;
    }
    if (call->who.role == kAgent && f.from_agent != call->who.agent &&
        f.to_agent != call->who.agent) {
      f.to_agent = call->who.agent;  // an agent sees the handoffs it sent or received
    }
    auto page = deps.reads.handoffs(f, query(call, "cursor"), *limit);
    finish(call, page ? json_response(200, page_json(page.value())) : from_error(page.error()));
  }

  bool sees(const Principal& who, const Handoff& h) const {
    return who.staff() || h.from_agent == who.agent || h.to_agent == who.agent;
  }

  void get_handoff(const CallPtr& call) {
    auto n = parse_id("hof_", call->params[0]);
    auto h =
        n ? deps.reads.find_handoff(HandoffId(*n)) : Result<std::optional<Handoff>>(std::nullopt);
    if (!h) {
      finish(call, from_error(h.error()));
      return;
    }
    if (!h.value() || !sees(call->who, *h.value())) {
      finish(call, not_found("handoff", call->params[0]));
      return;
    }
    finish(call, json_response(200, to_json(*h.value())));
  }

  void complete_handoff(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    auto outcome = f.one_of<HandoffOutcome>("outcome", true, parse_handoff_outcome,
                                            "won, lost, resolved or no_action");
    if (refuse_if(call, errors)) {
      return;
    }
    auto n = parse_id("hof_", call->params[0]);
    if (!n) {
      finish(call, not_found("handoff", call->params[0]));
      return;
    }
    command(call, [this, call, id = HandoffId(*n), outcome = *outcome]() -> Response {
      const Handoff* h = deps.engine.find_handoff(id);
      if (h == nullptr || !sees(call->who, *h)) {
        return not_found("handoff", call->params[0]);
      }
      auto r = deps.engine.complete_handoff(id, outcome, call->who.actor);
      return r ? json_response(200, to_json(r.value())) : from_error(r.error());
    });
  }

  // ---- routing rules

  static std::string etag(int version) { return "\"v" + std::to_string(version) + "\""; }

  static Response rules_response(int version, const std::string& source,
                                 const routing::RuleSet& rules) {
    json::array queues, names;
    for (const auto& [name, q] : rules.queues()) {
      queues.emplace_back(name);
    }
    for (const auto& r : rules.rules()) {
      names.emplace_back(r.name);
    }
    Response resp = json_response(200, json::object{{"version", version},
                                                    {"source", source},
                                                    {"queues", std::move(queues)},
                                                    {"rules", std::move(names)}});
    resp.headers.emplace_back("ETag", etag(version));
    return resp;
  }

  void get_routing(const CallPtr& call) {
    post([this, call] {
      const auto& rules = deps.engine.rules();
      finish(call, rules_response(deps.engine.rules_version(), rules.source(), rules));
    });
  }

  // The source of a rule set from the body, parsed; nullopt after answering.
  std::optional<routing::RuleSet> parsed_rules(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return std::nullopt;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    auto source = f.text("source", true, 1 << 20);
    if (refuse_if(call, errors)) {
      return std::nullopt;
    }
    auto rules = routing::RuleSet::parse(*source);
    if (!rules) {
      finish(call, problem_of(422, "the rule set does not parse: " + rules.error().message,
                              rules.error().field_errors));
      return std::nullopt;
    }
    return std::move(rules).value();
  }

  void put_routing(const CallPtr& call) {
    if (call->req.if_match.empty()) {
      finish(call,
             problem_of(428, "PUT /v1/routing needs If-Match with the ETag of GET /v1/routing"));
      return;
    }
    auto rules = parsed_rules(call);
    if (!rules) {
      return;
    }
    command(call, [this, call, rules = std::move(*rules)]() mutable -> Response {
      Engine& eng = deps.engine;
      if (call->req.if_match != etag(eng.rules_version()) && call->req.if_match != "*") {
        return problem_of(412, "the rules changed since " + call->req.if_match + "; now " +
                                   etag(eng.rules_version()));
      }
      auto v = eng.set_rules(std::move(rules));
      if (!v) {
        return from_error(v.error());
      }
      return rules_response(v->version, v->source, eng.rules());
    });
  }

  void validate_routing(const CallPtr& call) {
    if (auto rules = parsed_rules(call)) {
      finish(call, json_response(200, json::object{{"valid", true},
                                                   {"queues", rules->queues().size()},
                                                   {"rules", rules->rules().size()}}));
    }
  }

  // ---- stream

  void stream(const CallPtr& call) {
    if (!call->req.websocket) {
      Response r = problem_of(426, "GET /v1/stream is a WebSocket: send Upgrade: websocket");
      r.headers.emplace_back("Upgrade", "websocket");
      finish(call, std::move(r));
      return;
    }
    auto grant = std::make_shared<StreamGrant>();
    grant->agent = call->who.agent;
    grant->staff = call->who.staff();
    grant->authorization = call->req.authorization;
    grant->token_id = call->who.token_id;
    Response r;
    r.status = 101;
    r.stream = std::move(grant);
    finish(call, std::move(r));
  }

  // ---- queues

  // ---- webhooks (admin)

  void create_webhook(const CallPtr& call) {
    auto body = body_of(call);
    if (!body) {
      return;
    }
    std::vector<FieldError> errors;
    Fields f(*body, errors);
    Webhook w;
    w.url = f.text("url", true, 2000).value_or("");
    w.events = f.strings("events", true).value_or(std::vector<std::string>{});
    w.secret = f.text("secret", true, 500).value_or("");
    if (!w.url.empty() && !w.url.starts_with("http://")) {
      f.fail("url", "must be an http:// URL (deliver to https through a TLS-terminating proxy)");
    }
    if (refuse_if(call, errors)) {
      return;
    }
    command(call, [this, w = std::move(w)]() mutable -> Response {
      auto r = deps.engine.create_webhook(std::move(w));
      return r ? json_response(201, to_json(r.value())) : from_error(r.error());
    });
  }

  void list_webhooks(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    std::string cursor = query(call, "cursor");
    std::optional<std::uint64_t> after;
    if (!cursor.empty()) {
      after = parse_id("whk_", cursor);
      if (!after) {
        refuse_if(call, {{"cursor", "was not made by this server"}});
        return;
      }
    }
    post([this, call, limit = *limit, after] {
      Page<Webhook> page;
      for (const Webhook* w : deps.engine.webhooks()) {
        if (after && w->id.value() <= *after) {
          continue;
        }
        if (page.items.size() == limit) {
          page.next_cursor = webhook_id(page.items.back().id);
          break;
        }
        page.items.push_back(*w);
      }
      finish(call, json_response(200, page_json(page)));
    });
  }

  void get_webhook(const CallPtr& call) {
    get_held<WebhookId>(call, "whk_", "webhook",
                        [](const Engine& e, WebhookId id) { return e.find_webhook(id); });
  }

  void delete_webhook(const CallPtr& call) {
    auto n = parse_id("whk_", call->params[0]);
    if (!n) {
      finish(call, not_found("webhook", call->params[0]));
      return;
    }
    command(call, [this, id = WebhookId(*n)]() -> Response {
      auto r = deps.engine.remove_webhook(id);
      return r ? json_response(200, to_json(r.value())) : from_error(r.error());
    });
  }

  void webhook_deliveries(const CallPtr& call) {
    auto limit = limit_of(call);
    if (!limit) {
      return;
    }
    auto n = parse_id("whk_", call->params[0]);
    if (!n) {
      finish(call, not_found("webhook", call->params[0]));
      return;
    }
    // The history is read here (never on the strand); the strand only says whether the
    // webhook exists.
    auto page = deps.reads.deliveries(WebhookId(*n), query(call, "cursor"), *limit);
    if (!page) {
      finish(call, from_error(page.error()));
      return;
    }
    post([this, call, id = WebhookId(*n), body = page_json(page.value())]() mutable {
      finish(call, deps.engine.find_webhook(id) == nullptr ? not_found("webhook", call->params[0])
                                                           : json_response(200, std::move(body)));
    });
  }

  // ---- reports

  // Runs `read` on the report worker; the answer goes out from there.
  void on_report_worker(const CallPtr& call, std::function<Response()> read) {
    if (!reports->submit([this, call, read = std::move(read)] { finish(call, read()); })) {
      Response r = problem_of(503, "reports are busy; retry shortly");
      r.headers.emplace_back("Retry-After", "1");
      finish(call, std::move(r));
    }
  }

  void report_summary(const CallPtr& call) {
    TimePoint now = deps.clock.now();
    std::vector<FieldError> errors;
    auto time_param = [&](const char* name, TimePoint fallback) {
      std::string v = query(call, name);
      if (v.empty()) {
        return fallback;
      }
      auto t = parse_time(v);
      if (!t) {
        errors.push_back({name, "must be an RFC 3339 time (2026-11-23T00:00:00Z)"});
        return fallback;
      }
      return *t;
    };
    // Default: today (UTC) so far.
    auto day = std::chrono::floor<std::chrono::days>(now.time_since_epoch());
    TimePoint from = time_param("from", TimePoint{std::chrono::duration_cast<Duration>(day)});
    TimePoint to = time_param("to", now);
    if (errors.empty() && to <= from) {
      errors.push_back({"to", "must be after from"});
    }
    if (errors.empty() &&
        to - from > std::chrono::duration_cast<Duration>(std::chrono::days(366))) {
      errors.push_back({"to", "a report covers at most 366 days"});
    }
    if (refuse_if(call, errors)) {
      return;
    }
    // The thresholds are the rules' (read on the strand); the figures, the history's.
    post([this, call, from, to] {
      engine::ReportRequest req;
      req.from = from;
      req.to = to;
      for (const auto& [name, q] : deps.engine.rules().queues()) {
        req.answer_within[name] = q.sla.answer_within;
      }
      on_report_worker(call, [this, req = std::move(req)]() -> Response {
        auto s = deps.reads.summary(req);
        return s ? json_response(200, to_json(s.value())) : from_error(s.error());
      });
    });
  }

  void account_summary(const CallPtr& call) {
    auto n = parse_id("acc_", call->params[0]);
    if (!n) {
      finish(call, not_found("account", call->params[0]));
      return;
    }
    post([this, call, id = AccountId(*n)] {
      if (deps.engine.find_account(id) == nullptr) {
        finish(call, not_found("account", call->params[0]));
        return;
      }
      TimePoint since =
          deps.clock.now() - std::chrono::duration_cast<Duration>(std::chrono::days(90));
      on_report_worker(call, [this, id, since]() -> Response {
        auto f = deps.reads.account_figures(id, since);
        return f ? json_response(200, to_json(f.value())) : from_error(f.error());
      });
    });
  }

  void queues(const CallPtr& call) {
    post([this, call] {
      TimePoint now = deps.clock.now();
      std::vector<std::string> teams;
      if (call->who.role == kAgent) {
        if (const Agent* a = deps.engine.find_agent(*call->who.agent)) {
          teams = a->teams;
        }
      }
      json::array data;
      for (const auto& q : deps.engine.queue_stats()) {
        if (call->who.role == kAgent) {
          const auto* cfg = deps.engine.rules().find_queue(q.queue);
          bool serves = cfg != nullptr &&
                        std::any_of(cfg->teams.begin(), cfg->teams.end(), [&](const auto& t) {
                          return std::find(teams.begin(), teams.end(), t) != teams.end();
                        });
          if (!serves) {
            continue;
          }
        }
        data.push_back(to_json(q, now));
      }
      finish(call,
             json_response(200, json::object{{"data", std::move(data)}, {"next_cursor", nullptr}}));
    });
  }
};

const std::vector<Routes::Impl::Route>& Routes::Impl::table() {
  using I = Impl;
  static const std::vector<Route> kTable = {
      {"GET", "/healthz", kNoToken, &I::healthz},
      {"GET", "/readyz", kNoToken, &I::readyz},
      {"GET", "/metrics", kNoToken, &I::metrics},
      {"GET", "/v1/me", kAnyRole, &I::me},
      {"POST", "/v1/agents", kStaff, &I::create_agent},
      {"GET", "/v1/agents", kStaff, &I::list_agents},
      {"GET", "/v1/agents/{id}", kStaff | kAgent, &I::get_agent},
      {"PATCH", "/v1/agents/{id}", kStaff, &I::patch_agent},
      {"PUT", "/v1/agents/{id}/presence", kStaff | kAgent, &I::put_presence},
      {"POST", "/v1/accounts", kStaff, &I::create_account},
      {"GET", "/v1/accounts/{id}", kStaff | kAgent, &I::get_account},
      {"POST", "/v1/customers", kStaff | kGateway, &I::create_customer},
      {"GET", "/v1/customers/{id}", kAnyRole, &I::get_customer},
      {"GET", "/v1/customers/{id}/timeline", kStaff | kAgent, &I::customer_timeline},
      {"POST", "/v1/customers/{id}/merge", kStaff, &I::merge_customer},
      {"POST", "/v1/cases", kStaff | kGateway, &I::create_case},
      {"GET", "/v1/cases", kAnyRole, &I::list_cases},
      {"GET", "/v1/cases/{id}", kAnyRole, &I::get_case},
      {"GET", "/v1/cases/{id}/events", kAnyRole, &I::case_events},
      {"GET", "/v1/cases/{id}/routing", kStaff | kAgent, &I::case_routing},
      {"POST", "/v1/cases/{id}/messages", kAnyRole, &I::add_message},
      {"POST", "/v1/cases/{id}/notes", kStaff | kAgent, &I::add_note},
      {"POST", "/v1/cases/{id}/transfer", kStaff | kAgent, &I::transfer},
      {"POST", "/v1/cases/{id}/resolve", kStaff | kAgent, &I::resolve},
      {"POST", "/v1/cases/{id}/reopen", kAnyRole, &I::reopen},
      {"POST", "/v1/cases/{id}/close", kStaff | kAgent, &I::close},
      {"POST", "/v1/cases/{id}/csat", kStaff | kGateway, &I::csat},
      {"POST", "/v1/cases/{id}/handoffs", kStaff | kAgent, &I::create_handoff},
      {"GET", "/v1/offers", kStaff | kAgent, &I::list_offers},
      {"GET", "/v1/offers/{id}", kStaff | kAgent, &I::get_offer},
      {"POST", "/v1/offers/{id}/accept", kStaff | kAgent, &I::accept_offer},
      {"POST", "/v1/offers/{id}/decline", kStaff | kAgent, &I::decline_offer},
      {"GET", "/v1/handoffs", kStaff | kAgent, &I::list_handoffs},
      {"GET", "/v1/handoffs/{id}", kStaff | kAgent, &I::get_handoff},
      {"POST", "/v1/handoffs/{id}/complete", kStaff | kAgent, &I::complete_handoff},
      {"GET", "/v1/routing", kStaff, &I::get_routing},
      {"PUT", "/v1/routing", kStaff, &I::put_routing},
      {"POST", "/v1/routing/validate", kStaff, &I::validate_routing},
      {"GET", "/v1/queues", kStaff | kAgent, &I::queues},
      {"GET", "/v1/reports/summary", kStaff, &I::report_summary},
      {"POST", "/v1/webhooks", kAdmin, &I::create_webhook},
      {"GET", "/v1/webhooks", kAdmin, &I::list_webhooks},
      {"GET", "/v1/webhooks/{id}", kAdmin, &I::get_webhook},
      {"DELETE", "/v1/webhooks/{id}", kAdmin, &I::delete_webhook},
      {"GET", "/v1/webhooks/{id}/deliveries", kAdmin, &I::webhook_deliveries},
      {"GET", "/v1/accounts/{id}/summary", kStaff | kAgent, &I::account_summary},
      {"GET", "/v1/stream", kStaff | kAgent, &I::stream},
  };
  return kTable;
}

Routes::Routes(const ServerOptions& options, ServerDeps deps, EnginePost post)
    : impl_(std::make_unique<Impl>(options, std::move(deps), std::move(post))) {}

Routes::~Routes() = default;

Status Routes::load_idempotency() {
  auto since = impl_->deps.clock.now() - impl_->options.idempotency_ttl;
  auto stored = impl_->deps.reads.responses_since(since);
  if (!stored) {
    return stored.error();
  }
  std::sort(stored->begin(), stored->end(), [](const StoredResponse& a, const StoredResponse& b) {
    return a.created_at < b.created_at;
  });
  std::lock_guard lock(impl_->idem_mu);
  for (auto& r : stored.value()) {
    impl_->aged.emplace_back(r.created_at, r.key);
    impl_->idem[r.key] =
        Impl::Stored{r.request_hash, true, r.status, std::move(r.body), r.created_at};
  }
  return {};
}

void Routes::handle(Request req, Reply reply) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->reply = std::move(reply);
  impl_->dispatch(call);
}

std::vector<std::string> Routes::list() {
  std::vector<std::string> out;
  for (const auto& r : Impl::table()) {
    out.push_back(std::string(r.method) + " " + r.pattern);
  }
  return out;
}

std::string Routes::metrics_text() const { return impl_->metrics_text(); }

}  // namespace baton::api
