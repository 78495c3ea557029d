// Black-box tests: the real `baton` binary, run as a user would.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history_file.h"
#include "sqlite_peek.h"
#include "temp_dir.h"

namespace {

struct Run {
  int status = -1;
  std::string out;  // stdout and stderr together
};

Run run(const std::string& args) {
  std::string cmd = std::string(BATON_BINARY) + " " + args + " 2>&1";
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    r.out.append(buf, n);
  }
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The number after "key": in a flat JSON text, starting the search at `from`.
double number(const std::string& json, const std::string& key, std::size_t from = 0) {
  std::string needle = "\"" + key + "\": ";
  auto at = json.find(needle, from);
  REQUIRE(at != std::string::npos);
  return std::stod(json.substr(at + needle.size()));
}

std::string temp_file(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() / ("baton-cli-test-" + name);
  std::ofstream(path) << content;
  return path.string();
}

}  // namespace

TEST_CASE("baton version names the build, the API and SQLite", "[cli]") {
  auto r = run("version");
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::StartsWith("baton 0.1.0 (api v1, sqlite 3."));
}

TEST_CASE("baton check-config accepts the shipped rules and points at faults", "[cli][rules]") {
  auto ok = run("check-config --rules " + std::string(BATON_SOURCE_DIR) + "/config/routing.toml");
  CHECK(ok.status == 0);
  CHECK_THAT(ok.out, Catch::Contains("ok (2 queues, 3 rules)"));

  auto path = temp_file("bad.toml",
                        "[queues.support]\n[[rules]]\nwhen = 'channel = \"chat\"'\n"
                        "queue = \"nowhere\"\n");
  auto bad = run("check-config --rules " + path);
  CHECK(bad.status == 1);
  CHECK_THAT(bad.out, Catch::Contains(path + ":3:17: rules[0].when: unexpected character '='"));
  CHECK_THAT(bad.out, Catch::Contains(path + ":4:9: rules[0].queue: unknown queue 'nowhere'"));
  std::filesystem::remove(path);

  auto missing = run("check-config --rules /nonexistent/routing.toml");
  CHECK(missing.status == 1);
  CHECK_THAT(missing.out, Catch::Contains("cannot read"));
}

TEST_CASE("baton simulate --synthetic agrees with Erlang C for an M/M/c system",
          "[cli][simulate]") {
  // 12 agents, 200 calls an hour, 3-minute calls: 10 Erlangs, a busy center.
  auto r =
      run("simulate --synthetic --agents 12 --arrivals-per-hour 200 --mean-handle 3m "
          "--duration 500h --warmup 5h --answer-within 20s --seed 11");
  REQUIRE(r.status == 0);
  INFO(r.out);
  double sl = number(r.out, "service_level");
  auto erlang = r.out.find("\"erlang_c\": {");
  REQUIRE(erlang != std::string::npos);
  double predicted = number(r.out, "service_level", erlang);
  CHECK(predicted > 0.3);
  CHECK(predicted < 0.95);
  CHECK(std::abs(sl - predicted) <= 0.02);  // within 2 points
  CHECK(number(r.out, "offered_erlangs") == Approx(10.0));
  CHECK(number(r.out, "occupancy") == Approx(10.0 / 12).margin(0.02));
  CHECK(number(r.out, "cases") > 90'000);
}

TEST_CASE("baton refuses unknown commands and bad options with usage", "[cli]") {
  auto unknown = run("frobnicate");
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.out, Catch::Contains("unknown command 'frobnicate'"));
  CHECK(run("simulate").status == 2);  // needs --synthetic
  auto bad = run("simulate --synthetic --agents lots");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.out, Catch::Contains("--agents has a bad value 'lots'"));
  CHECK(run("simulate --synthetic --mean-handle soon").status == 2);
  CHECK(run("simulate --synthetic --agents 0").status == 2);
  CHECK(run("simulate --synthetic --colour blue").status == 2);
  CHECK(run("").status == 2);
}

TEST_CASE("baton simulate --db replays a window of the file under the saved rules and a candidate",
          "[cli][simulate]") {
  namespace hf = baton::testing::history_file;
  auto dir =
      std::filesystem::temp_directory_path() / ("baton-cli-replay-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string db = (dir / "h.db").string();
  REQUIRE(run("migrate --db " + db).status == 0);
  hf::generate(db, 5'600);  // four weeks, 200 a day
  std::string helped = hf::kRules;
  helped.replace(helped.find("teams = [\"billing\"]"), 19, "teams = [\"billing\", \"support\"]");
  std::string rules = temp_file("candidate.toml", helped);
  // A week, named.
  auto r = run("simulate --db " + db + " --rules " + rules +
               " --from 2026-01-08T00:00:00Z --to 2026-01-15T00:00:00Z");
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("\"cases\":1400,") != std::string::npos);
  CHECK(r.out.find("\"active\":{\"version\":1,") != std::string::npos);
  CHECK(r.out.find("\"candidate\":{\"version\":null,") != std::string::npos);
  CHECK(r.out.find("\"moved_total\":0") != std::string::npos);
  CHECK(r.out.find("\"recorded\":{\"queues\":{\"billing\"") != std::string::npos);
  // By default: the last 7 days of the file.
  auto week = run("simulate --db " + db + " --rules " + rules);
  REQUIRE(week.status == 0);
  CHECK(week.out.find("\"cases\":1400,") != std::string::npos);
  // The last case came at 23:52:48 on the 28th: the window is the 7 days before it.
  CHECK(week.out.find("\"from\":\"2026-01-21T23:52:48.001Z\"") != std::string::npos);
  // Refusals say why.
  auto broken = run("simulate --db " + db + " --rules " + temp_file("broken.toml", "x = ["));
  CHECK(broken.status == 1);
  CHECK(broken.out.find("does not parse") != std::string::npos);
  CHECK(run("simulate --db " + db).status == 2);
  CHECK(run("simulate --db " + db + " --rules " + rules +
            " --from 2026-01-01T00:00:00Z --to 2026-03-01T00:00:00Z")
            .status == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("baton migrate and backup work on a database file", "[cli][storage]") {
  auto dir =
      std::filesystem::temp_directory_path() / ("baton-cli-db-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string db = (dir / "b.db").string();
  auto m = run("migrate --db " + db);
  CHECK(m.status == 0);
  // It says the version it brought the file to, and the file agrees.
  auto at = m.out.find("schema version ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoi(m.out.substr(at + 15)) == baton::testing::Peek(db).count("PRAGMA user_version"));
  CHECK(std::stoi(m.out.substr(at + 15)) >= 3);
  auto d = run("drill --db " + db + " --cases 200");
  CHECK(d.status == 0);
  CHECK_THAT(d.out, Catch::Contains("ack 200"));
  std::string copy = (dir / "copy.db").string();
  auto b = run("backup --db " + db + " --to " + copy);
  CHECK(b.status == 0);
  // The copy is a working database: the drill recovers from it.
  auto again = run("drill --db " + copy + " --cases 1");
  CHECK(again.status == 0);
  CHECK_THAT(again.out, Catch::Contains("ack 201"));
  CHECK(run("migrate --config " + (dir / "missing.toml").string()).status == 2);
  CHECK(run("drill --db " + db + " --cases many").status == 2);
  CHECK(run("drill --cases 5").status == 2);
  CHECK(run("backup --db " + db).status == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("[regress] the database and its backup are created private to their owner",
          "[cli][storage][regress]") {
  auto dir =
      std::filesystem::temp_directory_path() / ("baton-cli-umask-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // Whatever the caller's umask (a shared host's 022 lets everyone read new files).
  mode_t before = ::umask(022);
  std::string db = (dir / "private.db").string();
  REQUIRE(run("drill --db " + db + " --cases 3").status == 0);
  std::string copy = (dir / "copy.db").string();
  REQUIRE(run("backup --db " + db + " --to " + copy).status == 0);
  ::umask(before);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto perms = std::filesystem::status(e.path()).permissions();
    INFO(e.path().string());
    CHECK((perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
          std::filesystem::perms::none);
    ++files;
  }
  CHECK(files >= 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("check-config checks baton.toml and the rules, env vars override the file",
          "[cli][config]") {
  auto dir =
      std::filesystem::temp_directory_path() / ("baton-cli-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string rules = std::string(" --rules ") + BATON_SOURCE_DIR + "/config/routing.toml";
  auto shipped =
      run(std::string("check-config --config ") + BATON_SOURCE_DIR + "/config/baton.toml" + rules);
  CHECK(shipped.status == 0);
  CHECK_THAT(shipped.out, Catch::Contains("ok"));

  std::string bad = (dir / "bad.toml").string();
  {
    std::FILE* f = std::fopen(bad.c_str(), "w");
    std::fputs(
        "[limits]\nbody_bytes = 12\ncolour = \"blue\"\n[server]\nlisten = \"nowhere\"\n"
        "[engine]\nexpected_open_cases = -1\n",
        f);
    std::fclose(f);
  }
  auto r = run("check-config --config " + bad + rules);
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Catch::Contains("limits.body_bytes"));
  CHECK_THAT(r.out, Catch::Contains("limits.colour is not a setting"));
  CHECK_THAT(r.out, Catch::Contains("server.listen"));
  CHECK_THAT(r.out, Catch::Contains("engine.expected_open_cases must be an integer"));

  // The environment wins over the file, and is checked the same way.
  ::setenv("BATON_LIMITS_RATE_BURST", "0", 1);
  auto env =
      run(std::string("check-config --config ") + BATON_SOURCE_DIR + "/config/baton.toml" + rules);
  ::unsetenv("BATON_LIMITS_RATE_BURST");
  CHECK(env.status != 0);
  CHECK_THAT(env.out, Catch::Contains("BATON_LIMITS_RATE_BURST"));
  std::filesystem::remove_all(dir);
}

namespace {

// Starts `bin serve ARGS` with `cwd` as its working directory and waits for the line that
// says where it listens. Returns its pid and that address; the log goes to `log`.
std::pair<pid_t, std::string> serve_in(const std::filesystem::path& cwd, const std::string& bin,
                                       std::vector<std::string> args,
                                       const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) {
      _exit(126);
    }
    FILE* f = fopen(log.c_str(), "w");
    dup2(fileno(f), STDERR_FILENO);
    dup2(fileno(f), STDOUT_FILENO);
    args.insert(args.begin(), {bin, "serve", "--listen", "127.0.0.1:0"});
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto at = text.find("\"address\":\""); at != std::string::npos) {
      auto from = at + 11;
      return {pid, text.substr(from, text.find('"', from) - from)};
    }
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      FAIL("baton serve exited at start: " << text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  FAIL("baton serve did not say where it listens");
  return {pid, ""};
}

void stop(pid_t pid) {
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {(std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("[regress] the binary alone, started anywhere, runs on its built-in defaults",
          "[cli][regress]") {
  baton::testing::TempDir d;
  auto bin = d.dir / "baton";
  std::filesystem::copy_file(BATON_BINARY, bin);
  std::filesystem::permissions(bin, std::filesystem::perms::owner_all);

  SECTION("no config file at all: the default database under var/ and the shipped rules") {
    auto [pid, address] = serve_in(d.dir, bin.string(), {}, d.dir / "serve.log");
    CHECK_FALSE(address.empty());
    stop(pid);
    CHECK(std::filesystem::exists(d.dir / "var" / "baton.db"));
    CHECK_THAT(slurp(d.dir / "serve.log"), Catch::Contains("built-in default rules"));
    // The database holds the shipped rules as its first version.
    baton::testing::Peek db((d.dir / "var" / "baton.db").string());
    CHECK(db.text("SELECT source FROM routing_rules WHERE version = 1").find("[queues.support]") !=
          std::string::npos);
  }
  SECTION("paths in a config file are relative to the file, not to where it was started") {
    std::filesystem::create_directories(d.dir / "conf");
    std::filesystem::create_directories(d.dir / "elsewhere");
    std::ofstream(d.dir / "conf" / "baton.toml")
        << "[database]\npath = \"data/b.db\"\n[routing]\nrules = \"rules.toml\"\n";
    std::ofstream(d.dir / "conf" / "rules.toml")
        << "default_queue = \"front_desk\"\n[queues.front_desk]\nteams = [\"front\"]\n";
    auto [pid, address] =
        serve_in(d.dir / "elsewhere", bin.string(),
                 {"--config", (d.dir / "conf" / "baton.toml").string()}, d.dir / "serve.log");
    CHECK_FALSE(address.empty());
    stop(pid);
    auto db = d.dir / "conf" / "data" / "b.db";
    REQUIRE(std::filesystem::exists(db));
    baton::testing::Peek peek(db.string());
    CHECK(peek.text("SELECT source FROM routing_rules WHERE version = 1").find("front_desk") !=
          std::string::npos);
  }
}
