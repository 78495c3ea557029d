// offer_latency: agents connected over WebSocket, cases posted over HTTP at a fixed
// rate; the time from a case's POST leaving the client to its offer arriving on an
// agent's stream (which then accepts it on the socket). Beside it, the same load against a
// bare Beast relay that answers each POST and forwards it to one of the same number of
// WebSocket clients: this machine's ceiling for "HTTP in, WebSocket out" on loopback.
// Prints one JSON object.
//
// The disk's own appending write + fdatasync latency is measured in the same run: under
// synchronous = FULL every offer waits for one.
//
//   offer_latency [--agents 1000] [--rate 500] [--cases 5000] [--only baton|bare] [--quick]
//   (BATON_DATABASE_SYNCHRONOUS=NORMAL and other BATON_* settings pass to the server)

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fcntl.h>

#include "baton_process.h"
#include "http_client.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using baton::bench::BatonProcess;
using baton::bench::pct;
using baton::testing::HttpClient;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// The text after `key` up to the next quote, searched from `from`.
std::string_view field(std::string_view msg, std::string_view key, std::size_t from = 0) {
  auto at = msg.find(key, from);
  if (at == std::string_view::npos) {
    return {};
  }
  at += key.size();
  auto end = msg.find('"', at);
  return end == std::string_view::npos ? std::string_view{} : msg.substr(at, end - at);
}

// ---- the agents: every stream on one io thread

struct Recorder {
  std::vector<std::atomic<std::int64_t>> sent_ns;  // by case number, set before the POST
  std::vector<double> latency_ms;                  // on the agents' thread
  std::atomic<long> offers{0};
  explicit Recorder(std::size_t cases) : sent_ns(cases) {}
};

class AgentStream : public std::enable_shared_from_this<AgentStream> {
 public:
  AgentStream(asio::io_context& ioc, Recorder& rec, std::atomic<int>& ready)
      : ws_(asio::make_strand(ioc)), rec_(rec), ready_(ready) {}

  void start(const tcp::endpoint& ep, std::string auth) {
    auth_ = std::move(auth);
    beast::get_lowest_layer(ws_).async_connect(
        ep, [self = shared_from_this()](beast::error_code ec) {
          if (ec) {
            std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
            return;
          }
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ignored);
          self->ws_.set_option(
              websocket::stream_base::decorator([auth = self->auth_](websocket::request_type& r) {
                r.set(http::field::authorization, auth);
              }));
          self->ws_.async_handshake("127.0.0.1", "/v1/stream", [self](beast::error_code ec) {
            if (ec) {
              std::fprintf(stderr, "handshake: %s\n", ec.message().c_str());
              return;
            }
            ++self->ready_;
            self->read();
          });
        });
  }

 private:
  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        return;
      }
      auto msg = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      self->on_message(msg);
      self->read();
    });
  }

  void on_message(std::string_view msg) {
    if (!msg.starts_with(R"({"type":"offer")")) {
      return;
    }
    auto subject = field(msg, R"("subject":"b)");
    if (subject.empty()) {
      return;
    }
    std::size_t n = std::stoul(std::string(subject));
    if (n < rec_.sent_ns.size()) {
      double ms = static_cast<double>(now_ns() - rec_.sent_ns[n].load()) / 1e6;
      rec_.latency_ms.push_back(ms);
      ++rec_.offers;
    }
    auto offer = field(msg, R"("id":")");
    out_.push_back(R"({"type":"accept","offer_id":")" + std::string(offer) + "\"}");
    write();
  }

  void write() {
    if (writing_ || out_.empty()) {
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(out_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) {
                        return;
                      }
                      self->out_.pop_front();
                      self->write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  Recorder& rec_;
  std::atomic<int>& ready_;
  std::string auth_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  bool writing_ = false;
};

// ---- the bare relay: the ceiling

class RelayStream : public std::enable_shared_from_this<RelayStream> {
 public:
  explicit RelayStream(tcp::socket s) : ws_(std::move(s)) {}
  void start(http::request<http::string_body> req) {
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->read();
      }
    });
  }
  void push(std::string m) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(m)]() mutable {
      self->out_.push_back(std::move(m));
      self->write();
    });
  }

 private:
  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) {
        self->buf_.consume(self->buf_.size());
        self->read();
      }
    });
  }
  void write() {
    if (writing_ || out_.empty()) {
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(out_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (!ec) {
                        self->out_.pop_front();
                        self->write();
                      }
                    });
  }
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  bool writing_ = false;
};

struct Relay;

class RelayHttp : public std::enable_shared_from_this<RelayHttp> {
 public:
  RelayHttp(tcp::socket s, Relay& relay) : stream_(std::move(s)), relay_(relay) {}
  void read() {
    req_ = {};
    http::async_read(stream_, buf_, req_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) {
                         self->on_request();
                       }
                     });
  }

 private:
  void on_request();
  beast::tcp_stream stream_;
  Relay& relay_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

struct Relay {
  asio::io_context ioc{2};
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::mutex mu;
  std::vector<std::shared_ptr<RelayStream>> streams;  // GUARDED_BY(mu)
  std::atomic<std::size_t> next{0};
  std::atomic<long> offer_serial{0};
  std::vector<std::thread> threads;

  Relay() {
    accept();
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([this] { ioc.run(); });
    }
  }
  ~Relay() {
    ioc.stop();
    for (auto& t : threads) {
      t.join();
    }
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  }
  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        beast::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        std::make_shared<RelayHttp>(std::move(s), *this)->read();
        accept();
      }
    });
  }
  void forward(std::string_view subject) {
    std::shared_ptr<RelayStream> to;
    {
      std::lock_guard lock(mu);
      if (streams.empty()) {
        return;
      }
      to = streams[next++ % streams.size()];
    }
    to->push(R"({"type":"offer","data":{"id":"off_)" + std::to_string(offer_serial++) +
             R"(","case":{"subject":")" + std::string(subject) + "\"}}}");
  }
};

void RelayHttp::on_request() {
  if (websocket::is_upgrade(req_)) {
    auto ws = std::make_shared<RelayStream>(stream_.release_socket());
    {
      std::lock_guard lock(relay_.mu);
      relay_.streams.push_back(ws);
    }
    ws->start(std::move(req_));
    return;
  }
  res_ = {http::status::created, req_.version()};
  res_.set(http::field::content_type, "application/json");
  res_.keep_alive(true);
  res_.body() = R"({"status":"offered"})";
  res_.prepare_payload();
  relay_.forward(field(req_.body(), R"("subject": ")"));
  http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (!ec) {
      self->read();
    }
  });
}

// ---- the disk: a durable commit cannot be faster than one appending write + fdatasync

std::string disk_probe(const std::filesystem::path& dir, int n) {
  std::filesystem::create_directories(dir);
  auto path = (dir / "fsync.probe").string();
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  std::vector<double> ms;
  std::string page(4096, 'x');
  for (int i = 0; i < n && fd >= 0; ++i) {
    auto t0 = Clock::now();
    if (::pwrite(fd, page.data(), page.size(), static_cast<off_t>(i) * 4096) < 0 ||
        ::fdatasync(fd) != 0) {
      break;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  if (fd >= 0) {
    ::close(fd);
  }
  std::filesystem::remove(path);
  char buf[200];
  std::snprintf(buf, sizeof buf, "{\"appends\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f}",
                ms.size(), pct(ms, 0.5), pct(ms, 0.99));
  return buf;
}

// ---- the load

struct Options {
  int agents = 1000;
  double rate = 500;
  long cases = 5000;
  std::string only;
};

struct Result {
  long posted = 0, created = 0, offers = 0;
  double post_wall_s = 0;
  std::vector<double> latency_ms;
  std::vector<double> answer_ms;  // POST sent to its 201 read
};

// Connects one stream per entry of `auth` (an agent's Authorization), posts the cases at
// the fixed rate with `post_auth`, and waits for their offers.
Result run(const std::string& address, const std::vector<std::string>& auth,
           const std::string& post_auth, const Options& o, int created_status) {
  Recorder rec(static_cast<std::size_t>(o.cases));
  asio::io_context ioc;
  auto colon = address.rfind(':');
  tcp::endpoint ep(asio::ip::make_address(address.substr(0, colon)),
                   static_cast<unsigned short>(std::stoi(address.substr(colon + 1))));
  std::atomic<int> ready{0};
  std::vector<std::shared_ptr<AgentStream>> agents;
  for (const auto& a : auth) {
    agents.push_back(std::make_shared<AgentStream>(ioc, rec, ready));
    agents.back()->start(ep, a);
  }
  auto work = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (ready.load() < static_cast<int>(auth.size()) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Result r;
  if (ready.load() < static_cast<int>(auth.size())) {
    std::fprintf(stderr, "only %d of %zu streams connected\n", ready.load(), auth.size());
  }

  HttpClient http(address, 30'000);
  http.connect();
  std::atomic<long> created{0};
  std::thread reader([&] {
    for (long i = 0; i < o.cases; ++i) {
      auto resp = http.read_response();
      if (!resp) {
        break;
      }
      if (resp->status == created_status) {
        ++created;
      }
      r.answer_ms.push_back(static_cast<double>(now_ns() - rec.sent_ns[i].load()) / 1e6);
    }
  });
  std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", post_auth},
                                                              {"Content-Type", "application/json"}};
  auto period = std::chrono::duration<double>(1.0 / o.rate);
  auto t0 = Clock::now();
  for (long i = 0; i < o.cases; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(period * i));
    std::string body = R"({"channel": "chat", "subject": "b)" + std::to_string(i) +
                       R"(", "customer": {"channel": "chat", "address": "lat:)" +
                       std::to_string(i) + R"("}})";
    std::string req = HttpClient::format("POST", "/v1/cases", body, headers);
    rec.sent_ns[static_cast<std::size_t>(i)].store(now_ns());
    if (!http.send_raw(req)) {
      break;
    }
    ++r.posted;
  }
  r.post_wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  reader.join();
  auto wait_until = Clock::now() + std::chrono::seconds(10);
  while (rec.offers.load() < r.posted && Clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  work.reset();
  ioc.stop();
  io.join();
  r.created = created.load();
  r.offers = rec.offers.load();
  r.latency_ms = std::move(rec.latency_ms);
  return r;
}

std::string report(Result r) {
  double p50 = pct(r.latency_ms, 0.50), p90 = pct(r.latency_ms, 0.90),
         p99 = pct(r.latency_ms, 0.99);
  double mx =
      r.latency_ms.empty() ? 0 : *std::max_element(r.latency_ms.begin(), r.latency_ms.end());
  double a50 = pct(r.answer_ms, 0.50), a99 = pct(r.answer_ms, 0.99);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"posted\": %ld, \"created\": %ld, \"offers\": %ld, \"post_rate\": %.0f, "
                "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
                "\"answer_p50_ms\": %.3f, \"answer_p99_ms\": %.3f}",
                r.posted, r.created, r.offers, static_cast<double>(r.posted) / r.post_wall_s, p50,
                p90, p99, mx, a50, a99);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--agents") {
      o.agents = std::stoi(val());
    } else if (a == "--rate") {
      o.rate = std::stod(val());
    } else if (a == "--cases") {
      o.cases = std::stol(val());
    } else if (a == "--only") {
      o.only = val();
    } else if (a == "--quick") {
      o.agents = 50;
      o.rate = 100;
      o.cases = 300;
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::string out = "{\"name\": \"offer_latency\", \"agents\": " + std::to_string(o.agents) +
                    ", \"rate\": " + std::to_string(static_cast<long>(o.rate)) +
                    ", \"cases\": " + std::to_string(o.cases);
  if (o.only != "bare") {
    // Enough chat slots that no case waits for capacity: every offer is made at once.
    BatonProcess server("baton-offer-latency", "[stream]\nqueue_stats_interval = \"60s\"\n");
    std::vector<std::string> auth;
    for (int i = 0; i < o.agents; ++i) {
      auth.push_back("Bearer " + server.token("agent", "agt_b" + std::to_string(i)));
    }
    std::string sup = "Bearer " + server.token("supervisor");
    std::string gw = "Bearer " + server.token("gateway");
    server.start();
    HttpClient admin(server.address, 30'000);
    std::vector<std::pair<std::string, std::string>> h = {{"Authorization", sup},
                                                          {"Content-Type", "application/json"}};
    int slots = static_cast<int>(o.cases / o.agents) + 2;
    for (int i = 0; i < o.agents; ++i) {
      std::string id = "agt_b" + std::to_string(i);
      auto made = admin.request("POST", "/v1/agents",
                                R"({"id": ")" + id + R"(", "name": ")" + id +
                                    R"(", "teams": ["support"], "capacity": {"chat": )" +
                                    std::to_string(slots) + R"(, "email": 0, "voice": 0}})",
                                h);
      if (!made || made->status != 201) {
        std::fprintf(stderr, "cannot create %s\n", id.c_str());
        return 1;
      }
    }
    // Available agents; run() connects every stream before the first case is posted.
    for (int i = 0; i < o.agents; ++i) {
      auto r = admin.request("PUT", "/v1/agents/agt_b" + std::to_string(i) + "/presence",
                             R"({"presence": "available"})", h);
      if (!r || r->status != 200) {
        std::fprintf(stderr, "cannot set presence\n");
        return 1;
      }
    }
    out += ", \"baton\": " + report(run(server.address, auth, gw, o, 201));
  }
  out +=
      ", \"disk_append_fdatasync\": " +
      disk_probe(std::filesystem::temp_directory_path() / "baton-offer-latency-disk", o.cases / 2);
  if (o.only != "baton") {
    Relay relay;
    std::vector<std::string> auth(static_cast<std::size_t>(o.agents), "Bearer bare");
    out += ", \"bare_relay\": " + report(run(relay.address(), auth, "Bearer bare", o, 201));
  }
  out += "}";
  std::printf("%s\n", out.c_str());
  return 0;
}
