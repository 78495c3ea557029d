// http_load: durable case creations over HTTP against the real `baton serve`, beside the
// same load against two bare Beast servers that answer "hello": Beast's own pattern (a
// read, then a write, a request; the goal's reference) and Baton's HTTP technique (every
// buffered request parsed, ready answers gathered into one write). Keep-alive connections,
// optional pipelining, fixed request count, bounded time. Prints one JSON object.
//
//   http_load [--connections 8] [--depth 16] [--requests 100000] [--seconds 20]
//             [--io-threads 2] [--synchronous FULL] [--only baton|bare|bare_batched]
//             [--quick]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "baton_process.h"
#include "http_client.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using baton::bench::BatonProcess;
using baton::bench::pct;
using baton::testing::HttpClient;

namespace {

// ---- the bare servers: the ceilings

// Beast's own pattern, as in its examples: read a request, write its answer, read again.
// The goal's reference.
class BareSession : public std::enable_shared_from_this<BareSession> {
 public:
  explicit BareSession(tcp::socket s) : stream_(std::move(s)) {}
  void start() { read(); }

 private:
  void read() {
    req_ = {};
    http::async_read(
        stream_, buf_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) {
            return;
          }
          self->res_ = {http::status::created, self->req_.version()};
          self->res_.set(http::field::content_type, "application/json");
          self->res_.keep_alive(self->req_.keep_alive());
          self->res_.body() = R"({"hello":"world"})";
          self->res_.prepare_payload();
          http::async_write(self->stream_, self->res_, [self](beast::error_code ec, std::size_t) {
            if (!ec) {
              self->read();
            }
          });
        });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

// A second, stricter ceiling: Baton's own HTTP technique with nothing behind it. Every
// request the buffer holds is parsed before the socket is read again, and the answers
// ready go out in one write while reading goes on (one fixed answer, rendered once).
class BatchedBareSession : public std::enable_shared_from_this<BatchedBareSession> {
 public:
  explicit BatchedBareSession(tcp::socket s) : stream_(std::move(s)) {}
  void start() { read(); }

 private:
  static constexpr std::string_view kAnswer =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
      R"({"hello":"world"})";

  void read() {
    stream_.async_read_some(buf_.prepare(16 << 10),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                return;
                              }
                              self->buf_.commit(n);
                              if (self->take_buffered()) {
                                self->write();
                                self->read();
                              }
                            });
  }

  bool take_buffered() {
    while (buf_.size() > 0) {
      if (!parser_) {
        parser_.emplace();
        parser_->eager(true);
      }
      beast::error_code ec;
      std::size_t used = parser_->put(buf_.data(), ec);
      buf_.consume(used);
      if (ec == http::error::need_more) {
        return true;
      }
      if (ec) {
        return false;
      }
      if (parser_->is_done()) {
        parser_.reset();
        pending_ += kAnswer;
      } else if (used == 0) {
        return true;
      }
    }
    return true;
  }

  void write() {
    if (writing_ || pending_.empty()) {
      return;
    }
    writing_ = true;
    out_.swap(pending_);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->out_.clear();
                        if (!ec) {
                          self->write();
                        }
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string pending_;  // answers not yet handed to a write
  std::string out_;      // the write in flight
  bool writing_ = false;
};

template <class Session>
struct BareServer {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::string address;

  explicit BareServer(int io_threads) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(ep.protocol());
    acceptor.bind(ep);
    acceptor.listen();
    address = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    accept();
    for (int i = 0; i < io_threads; ++i) {
      threads.emplace_back([this] { ioc.run(); });
    }
  }
  ~BareServer() {
    ioc.stop();
    for (auto& t : threads) {
      t.join();
    }
  }
  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        std::make_shared<Session>(std::move(s))->start();
        accept();
      }
    });
  }
};

// ---- the load

struct Options {
  int connections = 8;
  int depth = 16;
  long requests = 100'000;
  double seconds = 20;
  int io_threads = 2;
  std::string synchronous = "FULL";
  std::string only;
};

struct Result {
  long sent = 0, ok = 0, errors = 0;
  double wall_s = 0;
  std::vector<double> latencies_ms;
  double client_cpu_s = 0;   // this process (the load, and the bare server when it runs here)
  double server_cpu_s = -1;  // baton's process, when it is a process of its own
  std::string journal;       // baton's journal figures over the run, as JSON fields
};

// A counter from Prometheus text ("name value" on a line of its own), or -1.
double metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

// The journal's counters from baton's /metrics: transactions, commands, checkpoints.
struct JournalCounts {
  double commits = -1, mutations = -1, checkpoints = -1;
};
JournalCounts journal_counts(const std::string& address) {
  HttpClient http(address, 5'000);
  JournalCounts c;
  if (!http.connect()) {
    return c;
  }
  auto r = http.request("GET", "/metrics");
  if (!r || r->status != 200) {
    return c;
  }
  c.commits = metric(r->body, "baton_journal_commits_total");
  c.mutations = metric(r->body, "baton_journal_mutations_total");
  c.checkpoints = metric(r->body, "baton_journal_checkpoints_total{thread=\"checkpointer\"}");
  return c;
}

// How the run's commands were grouped into transactions, from counts before and after.
std::string journal_json(const JournalCounts& a, const JournalCounts& b) {
  if (a.commits < 0 || b.commits < 0) {
    return "";
  }
  double commits = b.commits - a.commits, mutations = b.mutations - a.mutations;
  char buf[240];
  std::snprintf(buf, sizeof buf,
                ", \"commits\": %.0f, \"commands_per_commit\": %.1f, \"checkpoint_passes\": %.0f",
                commits, commits > 0 ? mutations / commits : 0.0, b.checkpoints - a.checkpoints);
  return buf;
}

// CPU seconds (user + system) used so far by this process.
double own_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

// CPU seconds used so far by process `pid` (fields 14 and 15 of /proc/PID/stat).
double process_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) {
      ticks += std::stod(field);
    }
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Result load(const std::string& address, const std::string& token, const Options& o, int expect) {
  std::atomic<long> next{0};
  auto deadline = Clock::now() + std::chrono::duration<double>(o.seconds);
  std::vector<Result> per(static_cast<std::size_t>(o.connections));
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      Result& r = per[static_cast<std::size_t>(c)];
      HttpClient http(address, 30'000);
      if (!http.connect()) {
        ++r.errors;
        return;
      }
      std::vector<std::pair<std::string, std::string>> headers = {
          {"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
      std::deque<Clock::time_point> in_flight;
      auto send_one = [&]() -> bool {
        long n = next.fetch_add(1);
        if (n >= o.requests || Clock::now() > deadline) {
          return false;
        }
        std::string body =
            R"({"channel": "chat", "subject": "load )" + std::to_string(n) +
            R"(", "body": "hello", "customer": {"channel": "chat", "address": "load:)" +
            std::to_string(n % 5000) + R"("}})";
        in_flight.push_back(Clock::now());
        ++r.sent;
        return http.send_raw(HttpClient::format("POST", "/v1/cases", body, headers));
      };
      for (int i = 0; i < o.depth && send_one();) {
        ++i;
      }
      while (!in_flight.empty()) {
        auto resp = http.read_response();
        if (!resp) {
          r.errors += static_cast<long>(in_flight.size());
          return;
        }
        auto t0 = in_flight.front();
        in_flight.pop_front();
        r.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (resp->status == expect) {
          ++r.ok;
        } else {
          ++r.errors;
        }
        send_one();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  Result all;
  all.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& r : per) {
    all.sent += r.sent;
    all.ok += r.ok;
    all.errors += r.errors;
    all.latencies_ms.insert(all.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  return all;
}

std::string report(const char* name, Result r) {
  double rate = static_cast<double>(r.ok) / r.wall_s;
  double p50 = pct(r.latencies_ms, 0.50), p90 = pct(r.latencies_ms, 0.90),
         p99 = pct(r.latencies_ms, 0.99);
  double mx =
      r.latencies_ms.empty() ? 0 : *std::max_element(r.latencies_ms.begin(), r.latencies_ms.end());
  // CPU per request: the load client's own, and the server's (for the bare server, which
  // runs in this process, both are in the first figure).
  double per = r.ok > 0 ? 1e6 / static_cast<double>(r.ok) : 0;
  char cpu[160];
  if (r.server_cpu_s >= 0) {
    std::snprintf(cpu, sizeof cpu,
                  "\"client_cpu_us_per_request\": %.1f, \"server_cpu_us_per_request\": %.1f",
                  r.client_cpu_s * per, r.server_cpu_s * per);
  } else {
    std::snprintf(cpu, sizeof cpu, "\"client_and_server_cpu_us_per_request\": %.1f",
                  r.client_cpu_s * per);
  }
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"name\": \"%s\", \"requests\": %ld, \"ok\": %ld, \"errors\": %ld, \"wall_s\": %.3f, "
      "\"per_s\": %.0f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
      "%s%s}",
      name, r.sent, r.ok, r.errors, r.wall_s, rate, p50, p90, p99, mx, cpu, r.journal.c_str());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--connections") {
      o.connections = std::stoi(val());
    } else if (a == "--depth") {
      o.depth = std::stoi(val());
    } else if (a == "--requests") {
      o.requests = std::stol(val());
    } else if (a == "--seconds") {
      o.seconds = std::stod(val());
    } else if (a == "--io-threads") {
      o.io_threads = std::stoi(val());
    } else if (a == "--synchronous") {
      o.synchronous = val();
    } else if (a == "--only") {
      o.only = val();
    } else if (a == "--quick") {
      o.requests = 2000;
      o.seconds = 5;
    } else {
      std::fprintf(stderr, "http_load: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (o.connections < 1 || o.connections > 1000 || o.depth < 1 || o.depth > 256 || o.requests < 1 ||
      o.seconds <= 0 || o.seconds > 600) {
    std::fprintf(stderr, "http_load: out of range\n");
    return 2;
  }
  std::string baton_json = "null", bare_json = "null", batched_json = "null";
  double baton_rate = 0, bare_rate = 0, batched_rate = 0;
  auto run_bare = [&](auto& server, const char* name, double& rate, std::string& json) {
    double cpu0 = own_cpu_s();
    auto r = load(server.address, "x", o, 201);
    r.client_cpu_s = own_cpu_s() - cpu0;
    rate = static_cast<double>(r.ok) / r.wall_s;
    json = report(name, std::move(r));
  };
  if (o.only.empty() || o.only == "bare") {
    BareServer<BareSession> bare(o.io_threads);
    run_bare(bare, "bare_beast", bare_rate, bare_json);
  }
  if (o.only.empty() || o.only == "bare_batched") {
    BareServer<BatchedBareSession> bare(o.io_threads);
    run_bare(bare, "bare_beast_batched", batched_rate, batched_json);
  }
  if (o.only.empty() || o.only == "baton") {
    BatonProcess server(o.io_threads, o.synchronous);
    if (server.address.empty()) {
      std::fprintf(stderr, "http_load: baton serve did not start\n");
      return 1;
    }
    JournalCounts before = journal_counts(server.address);
    double cpu0 = own_cpu_s(), server0 = process_cpu_s(server.pid);
    auto r = load(server.address, server.token(), o, 201);
    r.client_cpu_s = own_cpu_s() - cpu0;
    r.server_cpu_s = process_cpu_s(server.pid) - server0;
    r.journal = journal_json(before, journal_counts(server.address));
    baton_rate = static_cast<double>(r.ok) / r.wall_s;
    baton_json = report("baton_create_case", std::move(r));
  }
  std::printf(
      "{\"bench\": \"http_load\", \"connections\": %d, \"depth\": %d, \"io_threads\": %d, "
      "\"synchronous\": \"%s\", \"cores\": %u,\n \"baton\": %s,\n \"bare\": %s,\n "
      "\"bare_batched\": %s,\n \"ratio_to_bare\": %.3f, \"ratio_to_bare_batched\": %.3f}\n",
      o.connections, o.depth, o.io_threads, o.synchronous.c_str(),
      std::thread::hardware_concurrency(), baton_json.c_str(), bare_json.c_str(),
      batched_json.c_str(), bare_rate > 0 ? baton_rate / bare_rate : 0.0,
      batched_rate > 0 ? baton_rate / batched_rate : 0.0);
  return 0;
}
