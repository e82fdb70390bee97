#include "options.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace loadgen {
namespace {

constexpr std::size_t kMaxSize = 64u << 20;       // one message
constexpr std::size_t kMaxInFlight = 256u << 20;  // depth * size, one connection
constexpr int kMaxConnections = 10000;
constexpr int kMaxDepth = 4096;

const char* g_prog = "loadgen";

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: %s --port PORT [options]\n\n"
               "Echo load generator on raw epoll: opens N connections to an echo server,\n"
               "keeps DEPTH messages of SIZE bytes in flight on each, checks every echoed\n"
               "byte, and prints one JSON object (requests/s, MiB/s, latency percentiles,\n"
               "errors) on stdout.\n\n"
               "options:\n"
               "  --host HOST        server address (default 127.0.0.1)\n"
               "  --port PORT        server port (required)\n"
               "  --connections N    connections (default 10)\n"
               "  --size BYTES       message size; suffixes K/KiB, M/MiB (default 1024)\n"
               "  --depth D          messages in flight per connection; 1 is ping-pong\n"
               "                     (default 1)\n"
               "  --duration S       seconds measured after the warm-up (default 5)\n"
               "  --warmup S         seconds run before measuring (default 1)\n"
               "  --requests N       instead of a duration: exactly N requests in all,\n"
               "                     no warm-up (for instruction and system-call counts)\n"
               "  --timeout S        give up after S seconds in all (default 120)\n"
               "  --rate R           open loop: offer R messages per second in all, on a\n"
               "                     fixed schedule (message k is due at k/R s, on\n"
               "                     connection k mod N), whatever the server's pace; a\n"
               "                     due message waits while DEPTH are in flight on its\n"
               "                     connection, and its latency counts from when it was\n"
               "                     due. Without it, each connection sends as soon as an\n"
               "                     echo frees a slot (closed loop)\n"
               "  --tls              speak TLS 1.3 (TLS_AES_128_GCM_SHA256) to the server,\n"
               "                     without checking its certificate\n"
               "  -h, --help         show this help\n",
               g_prog);
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "%s: error: %s (try --help)\n", g_prog, message.c_str());
  std::exit(2);
}

long long parse_int(std::string_view name, const std::string& value, long long lo, long long hi) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0) {
    fail(std::string(name) + ": not an integer: '" + value + "'");
  }
  if (v < lo || v > hi) {
    fail(std::string(name) + " must be between " + std::to_string(lo) + " and " +
         std::to_string(hi) + ", got " + value);
  }
  return v;
}

double parse_seconds(std::string_view name, const std::string& value, double lo) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno != 0 || !std::isfinite(v)) {
    fail(std::string(name) + ": not a number of seconds: '" + value + "'");
  }
  if (v < lo || v > 86400) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", lo);
    fail(std::string(name) + " must be at least " + bound + " and at most a day, got " + value);
  }
  return v;
}

std::size_t parse_size(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  std::string_view unit = end;
  unsigned long long scale = 1;
  if (unit == "K" || unit == "KiB" || unit == "k") {
    scale = 1024;
  } else if (unit == "M" || unit == "MiB") {
    scale = 1024 * 1024;
  } else if (!unit.empty()) {
    fail("--size: unknown unit in '" + value + "' (use a byte count, K/KiB or M/MiB)");
  }
  if (value.empty() || value[0] == '-' || errno != 0 || end == value.c_str()) {
    fail("--size: not a size: '" + value + "'");
  }
  if (v == 0) fail("--size must be at least 1 byte");
  if (v > kMaxSize / scale) fail("--size must be at most 64 MiB, got " + value);
  return static_cast<std::size_t>(v * scale);
}

double parse_rate(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno != 0 || !std::isfinite(v)) {
    fail("--rate: not a number of messages per second: '" + value + "'");
  }
  if (v < 1 || v > 1e8) fail("--rate must be between 1 and 100000000 per second, got " + value);
  return v;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  if (argc > 0) g_prog = argv[0];
  Options o;
  bool have_port = false, have_duration = false, have_warmup = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (arg == "--tls") {
      o.tls = true;
      continue;
    }
    std::string_view name = arg;
    std::string value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    } else {
      if (!arg.starts_with("--")) fail("unexpected argument '" + std::string(arg) + "'");
      if (i + 1 >= argc) fail(std::string(arg) + " needs a value");
      value = argv[++i];
    }
    if (name == "--host") {
      o.host = value;
    } else if (name == "--port") {
      o.port = static_cast<int>(parse_int(name, value, 1, 65535));
      have_port = true;
    } else if (name == "--connections") {
      o.connections = static_cast<int>(parse_int(name, value, 1, kMaxConnections));
    } else if (name == "--size") {
      o.size = parse_size(value);
    } else if (name == "--depth") {
      o.depth = static_cast<int>(parse_int(name, value, 1, kMaxDepth));
    } else if (name == "--duration") {
      o.duration = parse_seconds(name, value, 0.001);
      have_duration = true;
    } else if (name == "--warmup") {
      o.warmup = parse_seconds(name, value, 0);
      have_warmup = true;
    } else if (name == "--requests") {
      o.requests = static_cast<std::uint64_t>(parse_int(name, value, 1, 1LL << 40));
    } else if (name == "--timeout") {
      o.timeout = parse_seconds(name, value, 0.001);
    } else if (name == "--rate") {
      o.rate = parse_rate(value);
    } else {
      fail("unknown option '" + std::string(name) + "'");
    }
  }
  if (!have_port) fail("--port is required");
  if (o.requests > 0 && (have_duration || have_warmup)) {
    fail("--requests replaces --duration and --warmup; give one or the other");
  }
  if (o.rate > 0 && o.requests > 0) {
    fail("--rate runs for --duration; --requests counts a closed-loop run: give one or the other");
  }
  if (static_cast<std::size_t>(o.depth) * o.size > kMaxInFlight) {
    fail("--depth x --size is " + std::to_string(o.depth * o.size) +
         " bytes in flight per connection; the limit is 256 MiB");
  }
  if (o.requests == 0 && o.warmup + o.duration >= o.timeout) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", o.timeout);
    fail(std::string("--warmup + --duration must end before --timeout (") + limit + " s)");
  }
  // Every connection needs a descriptor, plus stdio and the epoll instance.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      static_cast<rlim_t>(o.connections) + 8 > limit.rlim_cur) {
    fail("--connections " + std::to_string(o.connections) + " exceeds the open-file limit (" +
         std::to_string(limit.rlim_cur) + "; see ulimit -n)");
  }
  return o;
}

}  // namespace loadgen
