// HTTP/1.1 and WebSocket on Boost.Beast: the listener, the sessions, the engine strand and
// its timers. Sessions follow Beast's advanced server: each owns its stream on its own
// strand, reads with a body and header limit under a deadline, and keeps a bounded queue
// of answers (pipelining) that leave in request order. GET /v1/stream upgrades the
// connection to a StreamSession, a subscriber of the StreamHub.

#include "baton/api/server.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "codec.h"
#include "connections.h"
#include "http.h"
#include "open_files.h"
#include "request_reader.h"
#include "stream.h"
#include "stream_message.h"
#include "webhooks.h"

namespace baton::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

std::chrono::milliseconds to_steady(Duration d) { return std::chrono::milliseconds(d.count()); }

// The answer as bytes on the wire. Answers are rendered here rather than by Beast's
// serializer so that every answer ready at once leaves in one gather write.
std::string to_wire(Response r, unsigned version, bool keep_alive) {
  auto status = static_cast<http::status>(r.status);
  std::string out;
  out.reserve(160 + r.body.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += http::obsolete_reason(status);
  out += "\r\nServer: baton\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\n";
  if (r.status != 304) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace

// The server's state; Server::Impl is this, named so the sessions can see it.
struct ServerState {
  ServerOptions options;
  ServerDeps deps;
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> engine_strand;
  asio::steady_timer engine_timer;
  asio::steady_timer stats_timer;  // queue_stats to staff streams, on the engine strand
  std::optional<TimePoint> armed;  // on the engine strand
  tcp::acceptor acceptor;
  std::unique_ptr<Routes> routes;
  std::unique_ptr<StreamHub> hub;
  std::unique_ptr<WebhookSender> sender;
  // Committed changes go to the streams, and wake the webhook sender when they owe
  // deliveries.
  struct Fanout final : engine::Publisher {
    ServerState& impl;
    explicit Fanout(ServerState& i) : impl(i) {}
    void publish(const engine::Mutation& m) override {
      impl.hub->publish(m);
      if (!m.deliveries.empty() && impl.sender) {
        impl.sender->wake();
      }
    }
  };
  Fanout fanout{*this};
  std::vector<std::thread> threads;
  // Shared with the sessions, which may outlive the server by a moment (a commit's
  // completion can hold the last reference to a session).
  struct Counters {
    std::atomic<std::size_t> in_flight{0};  // requests read and not yet answered
  };
  std::shared_ptr<Counters> counters = std::make_shared<Counters>();
  std::shared_ptr<ConnectionTable> connections;
  asio::steady_timer accept_timer;  // the back-off after a failed accept
  std::atomic<std::uint64_t> accept_failures{0};
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  bool stopped = false;  // GUARDED_BY(stop_mu)
  std::string bound;

  ServerState(ServerOptions o, ServerDeps d)
      : options(std::move(o)),
        deps(std::move(d)),
        ioc(std::max(1, options.io_threads)),
        engine_strand(asio::make_strand(ioc)),
        engine_timer(engine_strand),
        stats_timer(engine_strand),
        acceptor(ioc),
        connections(ConnectionTable::make({options.limits.max_connections,
                                           options.limits.connections_per_address,
                                           to_steady(options.limits.slow_request)})),
        accept_timer(ioc) {
    deps.engine.set_owner_check([this] { return engine_strand.running_in_this_thread(); });
  }

  // Runs `task` on the engine strand, then re-arms the engine's timer.
  void on_engine(std::function<void()> task) {
    asio::post(engine_strand, [this, task = std::move(task)] {
      task();
      rearm();
    });
  }

  // REQUIRES: on the engine strand.
  void rearm() {
    auto due = deps.engine.next_timer_due();
    if (!due) {
      return;  // a wait already armed fires, finds nothing due, and stops
    }
    if (armed && *armed <= *due) {
      return;
    }
    armed = due;
    auto wait = std::max(Duration{0}, *due - deps.clock.now());
    engine_timer.expires_after(to_steady(wait));
    engine_timer.async_wait([this](beast::error_code ec) {
      if (ec == asio::error::operation_aborted) {
        return;  // re-armed for an earlier time
      }
      armed.reset();
      deps.engine.fire_due_timers();
      rearm();
    });
  }

  // Every queue_stats_interval, while a supervisor watches: the queues, to staff streams.
  void send_queue_stats() {
    stats_timer.expires_after(to_steady(options.stream.queue_stats_interval));
    stats_timer.async_wait([this](beast::error_code ec) {
      if (ec || stopping.load()) {
        return;
      }
      if (hub->has_staff()) {
        TimePoint now = deps.clock.now();
        json::array queues;
        for (const auto& q : deps.engine.queue_stats()) {
          queues.push_back(to_json(q, now));
        }
        json::object msg{{"type", "queue_stats"}, {"data", {{"queues", std::move(queues)}}}};
        hub->to_staff(std::make_shared<const std::string>(json::serialize(msg)));
      }
      send_queue_stats();
    });
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || stopping.load()) {
        return;
      }
      if (ec) {
        return accept_failed(ec);
      }
      beast::error_code remote_ec;
      auto remote = socket.remote_endpoint(remote_ec);
      std::string address = remote_ec ? std::string() : remote.address().to_string();
      auto ticket = connections->admit(address);
      if (!ticket) {
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
      } else {
        start_session(std::move(socket), std::move(ticket),
                      !remote_ec && remote.address().is_loopback(), std::move(address));
      }
      accept();
    });
  }

  // Out of descriptors (or any other failure to accept): the connection idle longest makes
  // room, and accepting waits for the back-off instead of failing again at once, which
  // would spin an io thread while the pending connection stays queued.
  void accept_failed(beast::error_code ec) {
    ++accept_failures;
    spdlog::warn(R"("msg":"accept failed","error":"{}","backoff_ms":{})", ec.message(),
                 options.limits.accept_backoff.count());
    connections->evict_oldest_idle();
    accept_timer.expires_after(to_steady(options.limits.accept_backoff));
    accept_timer.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping.load()) {
        accept();
      }
    });
  }

  void start_session(tcp::socket socket, ConnectionTable::Ticket ticket, bool loopback,
                     std::string peer);
};

namespace {

// One client of GET /v1/stream: pushes what the hub sends, in order, through a bounded
// queue; takes accept/decline commands, which run as the same requests over HTTP would
// (same token, same checks, answered after the commit).
class StreamSession : public Subscriber, public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(tcp::socket socket, ServerState& server, std::shared_ptr<const StreamGrant> grant,
                bool loopback, ConnectionTable::Ticket ticket)
      : ws_(std::move(socket)),
        server_(server),
        ticket_(std::move(ticket)),
        grant_(std::move(grant)),
        loopback_(loopback) {
    ticket_.pin();  // a stream is never idle in the table's sense: it is not evicted
  }

  // REQUIRES: on the socket's strand.
  void start(const http::request<http::string_body>& upgrade) {
    const auto& l = server_.options.stream;
    beast::error_code ec;
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.socket().set_option(
        asio::socket_base::send_buffer_size(static_cast<int>(l.socket_buffer)), ec);
    tcp_layer.expires_never();  // the WebSocket's own time-outs take over
    websocket::stream_base::timeout t;
    t.handshake_timeout = to_steady(server_.options.limits.request_timeout);
    t.idle_timeout = to_steady(l.idle_timeout);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "baton"); }));
    ws_.read_message_max(l.message_bytes);
    ws_.text(true);
    ws_.async_accept(upgrade,
                     [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  void push(Message m) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(m)]() mutable {
      self->enqueue(std::move(m));
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug(R"("msg":"stream handshake failed","error":"{}")", ec.message());
      return;
    }
    subscribed_ = true;
    server_.hub->subscribe(shared_from_this(), *grant_);
    read();
  }

  void read() {
    ws_.async_read(
        in_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        spdlog::info(R"("msg":"stream closed: message too big","token":"{}")", grant_->token_id);
      }
      return end();
    }
    std::string text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    command(text);
    read();
  }

  // {"type": "accept" | "decline", "offer_id": "off_…", "reason": "…"}
  void command(const std::string& text) {
    auto read = read_stream_message(text, *grant_, loopback_);
    if (auto* error = std::get_if<std::string>(&read)) {
      enqueue(std::make_shared<const std::string>(std::move(*error)));
      return;
    }
    auto c = std::make_shared<StreamCommand>(std::move(std::get<StreamCommand>(read)));
    Request r = c->request;
    server_.routes->handle(std::move(r), [self = shared_from_this(), c](Response res) {
      self->push(std::make_shared<const std::string>(stream_reply(*c, res)));
    });
  }

  void enqueue(Message m) {
    if (ended_) {
      return;
    }
    const auto& l = server_.options.stream;
    if (queue_.size() >= l.send_queue || queued_bytes_ + m->size() > l.send_queue_bytes) {
      spdlog::warn(
          R"("msg":"stream client dropped: it reads too slowly","token":"{}","agent":"{}","queued":{},"queued_bytes":{})",
          grant_->token_id, grant_->agent ? grant_->agent->value() : "", queue_.size(),
          queued_bytes_);
      server_.hub->count_dropped();
      return end();
    }
    queued_bytes_ += m->size();
    queue_.push_back(std::move(m));
    write();
  }

  void write() {
    if (writing_ || queue_.empty() || ended_) {
      return;
    }
    writing_ = true;
    ws_.async_write(
        asio::buffer(*queue_.front()),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (ec) {
      return end();
    }
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    write();
  }

  // Leaves the hub and closes the connection; pending reads and writes end with errors.
  void end() {
    if (ended_) {
      return;
    }
    ended_ = true;
    if (!writing_) {
      queue_.clear();  // else the write in flight still reads the front message
      queued_bytes_ = 0;
    }
    if (subscribed_) {
      server_.hub->unsubscribe(this);
    }
    beast::error_code ignored;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
  }

  websocket::stream<beast::tcp_stream> ws_;
  ServerState& server_;
  ConnectionTable::Ticket ticket_;  // its place among the server's connections, pinned
  std::shared_ptr<const StreamGrant> grant_;
  bool loopback_ = false;
  beast::flat_buffer in_;
  std::deque<Message> queue_;
  std::size_t queued_bytes_ = 0;  // of the messages in queue_
  bool writing_ = false;
  bool subscribed_ = false;
  bool ended_ = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerState& server, ConnectionTable::Ticket ticket, bool loopback,
          std::string peer)
      : stream_(std::move(socket)),
        server_(server),
        counters_(server.counters),
        ticket_(std::move(ticket)),
        loopback_(loopback),
        peer_(std::move(peer)) {}

  void start() {
    // Chosen to make room: the connection closes from its own strand, if it still exists.
    ticket_.on_evict([weak = weak_from_this(), ex = stream_.get_executor()] {
      asio::post(ex, [weak] {
        if (auto self = weak.lock()) {
          self->evicted();
        }
      });
    });
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  struct Slot {
    bool ready = false;
    bool keep_alive = true;
    unsigned version = 11;
    std::string wire;  // the rendered answer
  };
  static constexpr std::size_t kReadBytes = 16 << 10;  // room asked for a read

  // Requests are taken from what the connection has sent, as many as the buffer holds (a
  // client that pipelines sends several in one segment), and the socket is read only when
  // it holds no whole request: one read and one timer for many requests, where composed
  // reads cost two operations, a timer and a hop through the scheduler each. Then the
  // table learns what the connection is doing.
  void read() {
    read_more();
    note_state();
  }

  void read_more() {
    if (reading_ || closing_ || upgrading_ ||
        slots_.size() >= server_.options.limits.pipeline_depth) {
      return;
    }
    if (server_.stopping.load()) {
      if (slots_.empty()) {
        close();
      }
      return;
    }
    if (!take_buffered()) {
      return;
    }
    reading_ = true;
    const auto& l = server_.options.limits;
    if (reader_.in_request()) {
      stream_.expires_at(request_deadline_);  // a request begun has its whole time, no more
    } else {
      // A new connection must send its first request in time; a kept-alive one may idle.
      stream_.expires_after(to_steady(served_ == 0 ? l.request_timeout : l.idle_timeout));
    }
    stream_.async_read_some(buffer_.prepare(kReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_read_some(ec, n);
                            });
  }

  void on_read_some(beast::error_code ec, std::size_t n) {
    reading_ = false;
    if (ec == asio::error::eof) {
      // Between requests the client is done; within one, the request was cut short.
      ec = reader_.in_request() ? beast::error_code(http::error::partial_message)
                                : beast::error_code(http::error::end_of_stream);
    }
    if (ec) {
      return on_read_error(ec);
    }
    buffer_.commit(n);
    read();
  }

  // What the connection is doing, for the table to choose whom to evict for room: idle
  // (waiting for a request, nothing owed), receiving (a request begun, not whole), or
  // busy (answers owed).
  void note_state() {
    using State = ConnectionTable::State;
    State s = State::Busy;
    if (!closing_ && !upgrading_ && slots_.empty() && !writing_) {
      if (reader_.in_request()) {
        s = State::Receiving;
      } else if (reading_) {
        s = State::Idle;
      }
    }
    if (s != state_) {
      state_ = s;
      ticket_.set(s);
    }
  }

  // The table took this connection's place for a new one: the read in progress ends, and
  // whatever is still owed is answered before the close.
  void evicted() {
    closing_ = true;
    stream_.cancel();
  }

  // Takes each whole request in the buffer, while the pipeline has room. Returns whether
  // the socket is to be read for more: not after a closing answer or an upgrade, nor with
  // the pipeline full, also when the request just taken made it so.
  bool take_buffered() {
    const auto& l = server_.options.limits;
    while (true) {
      if (closing_ || upgrading_ || slots_.size() >= l.pipeline_depth) {
        return false;
      }
      if (buffer_.size() == 0) {
        return true;
      }
      if (!reader_.in_request()) {
        request_deadline_ = std::chrono::steady_clock::now() + to_steady(l.request_timeout);
      }
      switch (reader_.take(buffer_)) {
        case RequestReader::Step::NeedMore:
          return true;
        case RequestReader::Step::Error:
          on_read_error(reader_.error());
          return false;
        case RequestReader::Step::Request:
          take_request();
          break;
      }
    }
  }

  void on_read_error(beast::error_code ec) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      // The client left or idled out: answer what is in flight, then close.
      closing_ = true;
      if (slots_.empty()) {
        close();
      }
      return;
    }
    int status = 400;
    std::string detail = "the request is not valid HTTP/1.1: " + ec.message();
    if (ec == http::error::body_limit) {
      status = 413;
      detail =
          "the body is larger than " + std::to_string(server_.options.limits.body_bytes) + " bytes";
    } else if (ec == http::error::header_limit) {
      status = 431;
      detail = "the headers are larger than " +
               std::to_string(server_.options.limits.header_bytes) + " bytes";
    }
    const char* title = status == 413   ? "Content Too Large"
                        : status == 431 ? "Request Header Fields Too Large"
                                        : "Bad Request";
    slots_.emplace_back();
    Slot& s = slots_.back();
    s.ready = true;
    s.keep_alive = false;
    s.wire = to_wire(problem(status, title, detail), 11, false);
    closing_ = true;
    write();
  }

  void take_request() {
    ++served_;
    auto req = reader_.release();
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = std::move(req.body());
    r.authorization = std::string(req[http::field::authorization]);
    r.idempotency_key = std::string(req["Idempotency-Key"]);
    r.if_match = std::string(req[http::field::if_match]);
    r.if_none_match = std::string(req[http::field::if_none_match]);
    r.content_type = std::string(req[http::field::content_type]);
    r.loopback = loopback_;
    r.peer = peer_;
    if (websocket::is_upgrade(req)) {
      return upgrade(std::move(r), std::move(req));
    }
    slots_.emplace_back();
    Slot* slot = &slots_.back();
    slot->keep_alive = req.keep_alive();
    slot->version = req.version();
    if (!slot->keep_alive) {
      closing_ = true;
    }
    ++counters_->in_flight;
    // The next request is read while this one waits for its commit.
    server_.routes->handle(std::move(r), [self = shared_from_this(), slot](Response res) {
      self->answered(slot, std::move(res));
    });
  }

  // Any thread: `slot`'s answer is ready. Answers finished together (a commit's batch, on
  // the journal's completion thread) cost one hop to the session's strand, not one each.
  void answered(Slot* slot, Response res) {
    {
      std::lock_guard lock(done_mu_);
      done_.emplace_back(slot, std::move(res));
      if (done_posted_) {
        return;  // the hop on its way takes this one too
      }
      done_posted_ = true;
    }
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->take_answers(); });
  }

  void take_answers() {
    std::vector<std::pair<Slot*, Response>> ready;
    {
      std::lock_guard lock(done_mu_);
      ready.swap(done_);
      done_posted_ = false;
    }
    for (auto& [slot, res] : ready) {
      slot->wire = to_wire(std::move(res), slot->version, slot->keep_alive);
      slot->ready = true;
      --counters_->in_flight;
    }
    write();
  }

  // GET /v1/stream: the routes check the token; on a grant the socket becomes a stream.
  void upgrade(Request r, http::request<http::string_body> req) {
    upgrading_ = true;
    if (!slots_.empty()) {
      // Answers owed on this connection would interleave with the WebSocket's frames.
      slots_.emplace_back();
      Slot& s = slots_.back();
      s.ready = true;
      s.keep_alive = false;
      s.wire = to_wire(
          problem(400, "Bad Request", "a WebSocket upgrade must not follow pipelined requests"), 11,
          false);
      closing_ = true;
      write();
      return;
    }
    r.websocket = true;
    auto upgrade = std::make_shared<http::request<http::string_body>>(std::move(req));
    server_.routes->handle(std::move(r), [self = shared_from_this(), upgrade](Response res) {
      asio::post(self->stream_.get_executor(), [self, upgrade, res = std::move(res)]() mutable {
        if (res.status == 101 && res.stream && !self->server_.stopping.load()) {
          self->closed_ = true;  // the socket is the stream session's now
          std::make_shared<StreamSession>(self->stream_.release_socket(), self->server_,
                                          std::move(res.stream), self->loopback_,
                                          std::move(self->ticket_))
              ->start(*upgrade);
          return;
        }
        self->slots_.emplace_back();
        Slot& s = self->slots_.back();
        s.ready = true;
        s.keep_alive = false;
        s.wire = to_wire(std::move(res), upgrade->version(), false);
        self->closing_ = true;
        self->write();
      });
    });
  }

  // Writes every answer that is ready, in request order, in one gather write.
  void write() {
    if (writing_ || slots_.empty() || !slots_.front().ready) {
      return;
    }
    writing_ = true;
    out_.clear();
    for (const auto& slot : slots_) {
      if (!slot.ready) {
        break;
      }
      out_.emplace_back(slot.wire.data(), slot.wire.size());
      if (!slot.keep_alive) {
        break;  // nothing after a closing answer
      }
    }
    stream_.expires_after(to_steady(server_.options.limits.request_timeout));
    asio::async_write(
        stream_, out_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    bool keep = true;
    for (std::size_t i = 0; i < out_.size(); ++i) {
      keep = slots_.front().keep_alive;
      slots_.pop_front();
    }
    out_.clear();
    if (ec || !keep) {
      closing_ = true;
      // Answers still owed are dropped with the connection.
      close();
      return;
    }
    if (closing_ && slots_.empty()) {
      close();
      return;
    }
    write();
    read();
  }

  void close() {
    if (closed_) {
      return;
    }
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  ServerState& server_;  // REQUIRES: used only in handlers, which run while the server does
  std::shared_ptr<ServerState::Counters> counters_;
  ConnectionTable::Ticket ticket_;  // its place among the server's connections
  beast::flat_buffer buffer_;
  // The request being parsed, from its first byte on; its deadline.
  RequestReader reader_{server_.options.limits};
  std::chrono::steady_clock::time_point request_deadline_{};
  // Answers in request order. A deque keeps each slot's address while others come and go.
  std::deque<Slot> slots_;
  std::vector<asio::const_buffer> out_;  // the write in flight
  std::mutex done_mu_;
  std::vector<std::pair<Slot*, Response>> done_;  // GUARDED_BY(done_mu_): answers to take
  bool done_posted_ = false;                      // GUARDED_BY(done_mu_): take_answers posted
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool upgrading_ = false;
  ConnectionTable::State state_ = ConnectionTable::State::Busy;  // as last told to the table
  bool loopback_ = false;
  std::string peer_;  // the client's address
  std::uint64_t served_ = 0;
};

}  // namespace

struct Server::Impl : ServerState {
  using ServerState::ServerState;
};

void ServerState::start_session(tcp::socket socket, ConnectionTable::Ticket ticket, bool loopback,
                                std::string peer) {
  // Answers and stream messages leave whole, in one write each: Nagle's delay would only
  // hold a message back until the previous one is acknowledged.
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<Session>(std::move(socket), *this, std::move(ticket), loopback, std::move(peer))
      ->start();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, ServerDeps deps) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(deps));
  Impl* raw = impl.get();
  raw->hub = std::make_unique<StreamHub>(
      [raw](std::function<void()> t) { raw->on_engine(std::move(t)); }, raw->deps.engine);
  raw->hub->seed(raw->deps.engine);
  if (raw->deps.outbox != nullptr) {
    raw->sender =
        std::make_unique<WebhookSender>(raw->options.webhooks, *raw->deps.outbox, raw->deps.clock);
    if (!raw->sender->error().empty()) {
      return Error(ErrorCode::InvalidArgument, raw->sender->error());
    }
  }
  raw->deps.metrics = [raw, more = raw->deps.metrics] {
    return raw->connections->metrics_text() +
           "# HELP baton_accept_failures_total Accepts that failed (out of descriptors), each "
           "followed by the back-off.\n# TYPE baton_accept_failures_total counter\n"
           "baton_accept_failures_total " +
           std::to_string(raw->accept_failures.load()) + "\n" + raw->hub->metrics_text() +
           (raw->sender ? raw->sender->metrics_text() : "") + (more ? more() : "");
  };
  BATON_RETURN_IF_ERROR(
      fit_open_files(raw->options.limits.max_connections, raw->options.limits.reserved_files));
  raw->routes = std::make_unique<Routes>(
      raw->options, raw->deps, [raw](std::function<void()> t) { raw->on_engine(std::move(t)); });
  BATON_RETURN_IF_ERROR(raw->routes->load_idempotency());
  beast::error_code ec;
  auto addr = asio::ip::make_address(raw->options.host, ec);
  if (ec) {
    return Error(ErrorCode::InvalidArgument,
                 "listen address '" + raw->options.host + "' is not an IP address");
  }
  tcp::endpoint ep(addr, raw->options.port);
  raw->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    raw->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    raw->acceptor.bind(ep, ec);
  }
  if (!ec) {
    raw->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Error(ErrorCode::Unavailable, "cannot listen on " + raw->options.host + ":" +
                                             std::to_string(raw->options.port) + ": " +
                                             ec.message());
  }
  auto local = raw->acceptor.local_endpoint();
  raw->bound = local.address().to_string() + ":" + std::to_string(local.port());
  raw->accept();
  // The first timers (recovered offers) arm at once.
  raw->on_engine([raw] { raw->send_queue_stats(); });
  raw->deps.engine.set_publisher(&raw->fanout);
  for (int i = 0; i < std::max(1, raw->options.io_threads); ++i) {
    raw->threads.emplace_back([raw] {
      pthread_setname_np(pthread_self(), "baton-io");
      raw->ioc.run();
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::string Server::address() const { return impl_->bound; }

void Server::stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopped) {
    return;
  }
  impl_->stopped = true;
  impl_->stopping = true;
  asio::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->accept_timer.cancel();
  });
  // Drain: requests already read get their answers, bounded by the request timeout.
  auto deadline =
      std::chrono::steady_clock::now() + to_steady(impl_->options.limits.request_timeout);
  while (impl_->counters->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    t.join();
  }
  impl_->threads.clear();
  // Commits still in flight publish to the hub, which lives as long as the server; the
  // engine's later commands (none while the threads are stopped) publish nothing.
  impl_->deps.engine.set_publisher(nullptr);
  if (impl_->sender) {
    impl_->sender->stop();  // an attempt in flight finishes (bounded by its timeout)
  }
}

std::vector<std::string> Server::routes() { return Routes::list(); }

}  // namespace baton::api
