#pragma once
// What every example shares, header-only:
//  - parse_args: the tiny command line (--host, --port, --backend, --help),
//    and the loop it asks for (Args::loop_options, examples::event_loop);
//  - Python's formatting, so the programs print what the seeds print:
//    py_decode (bytes.decode()), py_repr (repr of a str), py_bytes_repr
//    (repr of a bytes), py_error_str (str() of an exception);
//  - StopSignals: SIGINT / SIGTERM stop a server cleanly through
//    call_soon_threadsafe;
//  - Log: seed 002's logging, '%(name)s: %(message)s' on stderr.

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "aiocpp/aiocpp.hpp"

namespace examples {

// --- Command line -------------------------------------------------------------------

struct Args {
  std::string host;
  int port = 0;
  // --backend: unset leaves the choice to AIOCPP_BACKEND (else the selector).
  std::optional<aiocpp::Backend> backend{};

  aiocpp::LoopOptions loop_options() const { return {.backend = backend}; }
  aiocpp::RunOptions run_options() const { return {.loop = loop_options()}; }
};

// asyncio.get_event_loop() for the examples that run the loop themselves: a
// new loop on the backend `args` asks for, set as this thread's. Where that
// backend cannot be had, says why and exits with status 1.
inline aiocpp::EventLoop& event_loop(const Args& args) {
  try {
    aiocpp::set_event_loop(aiocpp::new_event_loop(args.loop_options()));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    std::exit(1);
  }
  return aiocpp::get_event_loop();
}

// What asyncio logs at DEBUG level when it makes a loop: the selector's or
// the proactor's name (here, which backend the loop got).
inline const char* loop_debug_line(const aiocpp::EventLoop& loop) {
  return loop.backend() == aiocpp::Backend::io_uring ? "Using proactor: IoUringProactor"
                                                     : "Using selector: EpollSelector";
}

// A further --NAME VALUE option of one program (the TLS examples' --cert,
// --key, --cafile): parse_args stores its value in `value`, which holds the
// default until then.
struct StringOption {
  std::string name;  // "--cert"
  std::string metavar;
  std::string help;
  std::string* value;
};

// Parses --host HOST, --port PORT, --backend NAME (also --host=HOST, ...) and --help.
// `about` is the help text: what the program does and which seed it comes from.
// Exits with 0 after --help, with 2 (argparse's status) on a bad argument.
inline Args parse_args(int argc, char** argv, std::string default_host, int default_port,
                       std::string_view about, const std::vector<StringOption>& extra = {}) {
  Args args{std::move(default_host), default_port};
  const char* prog = argc > 0 ? argv[0] : "example";
  auto usage = [&](std::FILE* out) {
    std::string synopsis;
    for (const StringOption& option : extra)
      synopsis += " [" + option.name + " " + option.metavar + "]";
    std::fprintf(out,
                 "usage: %s [--host HOST] [--port PORT] [--backend BACKEND]%s [--help]\n\n%.*s\n\n",
                 prog, synopsis.c_str(), static_cast<int>(about.size()), about.data());
    std::fprintf(out,
                 "options:\n"
                 "  --host HOST  host name or address (default: %s)\n"
                 "  --port PORT  TCP port (default: %d)\n"
                 "  --backend {selector,io_uring,automatic}\n"
                 "               the event loop's I/O backend (default: $AIOCPP_BACKEND, else "
                 "selector)\n",
                 args.host.c_str(), args.port);
    for (const StringOption& option : extra) {
      std::fprintf(out, "  %s %s  %s\n", option.name.c_str(), option.metavar.c_str(),
                   option.help.c_str());
    }
    std::fprintf(out, "  -h, --help   show this help and exit\n");
  };
  auto find_extra = [&](std::string_view name) -> const StringOption* {
    for (const StringOption& option : extra) {
      if (option.name == name) return &option;
    }
    return nullptr;
  };
  auto fail = [&](const std::string& message) {
    usage(stderr);
    std::fprintf(stderr, "%s: error: %s\n", prog, message.c_str());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    std::string_view name = arg;
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    }
    const StringOption* option = find_extra(name);
    if (name != "--host" && name != "--port" && name != "--backend" && !option) {
      fail("unrecognized argument: " + std::string(arg));
    }
    if (!has_value) {
      if (i + 1 >= argc) fail("argument " + std::string(name) + ": expected one argument");
      value = argv[++i];
    }
    if (option) {
      *option->value = value;
    } else if (name == "--host") {
      args.host = value;
    } else if (name == "--backend") {
      try {
        args.backend = aiocpp::backend_from_name(value);
      } catch (const aiocpp::ValueError&) {
        fail("argument --backend: invalid choice: '" + value +
             "' (choose from 'selector', 'io_uring', 'automatic')");
      }
    } else {
      char* end = nullptr;
      errno = 0;
      long port = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
        fail("argument --port: invalid port: '" + value + "'");
      }
      args.port = static_cast<int>(port);
    }
  }
  return args;
}

// --- Python's formatting --------------------------------------------------------------

// bytes.decode(): strict UTF-8 to code points. Throws ValueError with the message
// of Python's UnicodeDecodeError (a ValueError subclass) on invalid input.
inline std::u32string py_decode(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  // Python names the bytes from `pos` up to the first one that breaks the sequence.
  auto error = [&](std::size_t pos, std::size_t end, const char* reason) {
    std::string what = "'utf-8' codec can't decode ";
    if (end - pos == 1) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", byte(pos));
      what += "byte " + std::string(hex) + " in position " + std::to_string(pos);
    } else {
      what += "bytes in position " + std::to_string(pos) + "-" + std::to_string(end - 1);
    }
    throw aiocpp::ValueError(what + ": " + reason);
  };
  for (std::size_t i = 0; i < bytes.size();) {
    unsigned char b = byte(i);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int extra = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the valid range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      extra = 1, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      extra = 2, cp = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;  // overlong
      if (b == 0xED) hi = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      extra = 3, cp = b & 0x07;
      if (b == 0xF0) lo = 0x90;  // overlong
      if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      error(i, i + 1, "invalid start byte");
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= bytes.size()) error(i, bytes.size(), "unexpected end of data");
      unsigned char c = byte(i + k);
      if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) {
        error(i, i + k, "invalid continuation byte");
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

namespace detail {

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// str.isprintable() for one non-ASCII code point. Python consults the Unicode
// database (categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than ' ' are not
// printable); this covers the control, format, separator, private-use and
// non-character ranges exactly (as of Unicode 14, Python 3.11), but not the unassigned code points
// (Cn): those print as themselves where Python escapes them (\U000e0080 and the like). Checked
// against Python 3.11 on every assigned code point.
inline bool printable(char32_t cp) {
  if (cp <= 0xA0 || cp == 0xAD) return false;
  if (cp >= 0x600 && cp <= 0x605) return false;
  if (cp == 0x61C || cp == 0x6DD || cp == 0x70F || cp == 0x890 || cp == 0x891 || cp == 0x8E2 ||
      cp == 0x1680 || cp == 0x180E || cp == 0x110BD || cp == 0x110CD)
    return false;
  if (cp >= 0x2000 && cp <= 0x200F) return false;
  if (cp >= 0x2028 && cp <= 0x202F) return false;
  if (cp >= 0x205F && cp <= 0x206F) return false;
  if (cp == 0x3000 || cp == 0xFEFF) return false;
  if (cp >= 0xD800 && cp <= 0xF8FF) return false;  // surrogates and private use
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return false;
  if (cp >= 0xFFF9 && cp <= 0xFFFB) return false;
  if ((cp & 0xFFFE) == 0xFFFE) return false;  // U+xFFFE, U+xFFFF
  if (cp >= 0x13430 && cp <= 0x13438) return false;
  if (cp >= 0x1BCA0 && cp <= 0x1BCA3) return false;
  if (cp >= 0x1D173 && cp <= 0x1D17A) return false;
  if (cp >= 0xE0000) return cp >= 0xE0100 && cp <= 0xE01EF;  // tags, private use planes
  return true;
}

inline void append_hex(std::string& out, const char* prefix, unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, value);
  out += buf;
}

}  // namespace detail

// repr() of a str given as code points: '...' with Python's escapes and quote choice.
inline std::string py_repr(const std::u32string& text) {
  bool has_single = text.find(U'\'') != std::u32string::npos;
  bool has_double = text.find(U'"') != std::u32string::npos;
  char32_t quote = (has_single && !has_double) ? U'"' : U'\'';
  std::string out(1, static_cast<char>(quote));
  for (char32_t c : text) {
    if (c == quote || c == U'\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      detail::append_hex(out, "\\x", c, 2);
    } else if (c < 0x7F || detail::printable(c)) {
      detail::append_utf8(out, c);
    } else if (c <= 0xFF) {
      detail::append_hex(out, "\\x", c, 2);
    } else if (c <= 0xFFFF) {
      detail::append_hex(out, "\\u", c, 4);
    } else {
      detail::append_hex(out, "\\U", c, 8);
    }
  }
  out += static_cast<char>(quote);
  return out;
}

// repr(data.decode()): what the seeds print with '{!r}'.format(data.decode()).
inline std::string py_repr(std::string_view utf8) { return py_repr(py_decode(utf8)); }

// repr() of a bytes: b'...' with Python's escapes and quote choice.
inline std::string py_bytes_repr(std::string_view data) {
  bool has_single = data.find('\'') != std::string_view::npos;
  bool has_double = data.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out = "b";
  out += quote;
  for (char ch : data) {
    auto c = static_cast<unsigned char>(ch);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7F) {
      detail::append_hex(out, "\\x", c, 2);
    } else {
      out += ch;
    }
  }
  out += quote;
  return out;
}

// str() of an exception, as Python prints an OSError: "[Errno 104] Connection reset by peer".
inline std::string py_error_str(std::exception_ptr error) {
  if (!error) return "None";
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    if (e.code().category() == std::system_category() ||
        e.code().category() == std::generic_category()) {
      return "[Errno " + std::to_string(e.code().value()) + "] " + std::strerror(e.code().value());
    }
    return e.what();
  } catch (const aiocpp::CancelledError& e) {
    return e.message();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// --- Stopping on SIGINT / SIGTERM -------------------------------------------------------

// Blocks SIGINT and SIGTERM in the calling thread. Call it first thing in main,
// before any thread exists, so that every thread inherits the mask and the
// signals reach only StopSignals' thread.
inline void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// While alive, the first SIGINT or SIGTERM runs `on_signal` on the loop's thread
// (through call_soon_threadsafe, the one loop method safe from another thread);
// another one a second or more later exits at once, for a stop that hangs (one
// sooner is taken for a duplicate). Needs block_stop_signals().
class StopSignals {
 public:
  StopSignals(aiocpp::EventLoop& loop, std::function<void()> on_signal)
      : loop_(&loop), on_signal_(std::move(on_signal)) {
    thread_ = std::thread([this] { watch(); });
  }
  ~StopSignals() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      loop_ = nullptr;
    }
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait; ignored now
    thread_.join();
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void watch() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    std::optional<std::chrono::steady_clock::time_point> first;
    for (;;) {
      int signal_number = 0;
      if (sigwait(&set, &signal_number) != 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      if (!loop_) return;
      auto now = std::chrono::steady_clock::now();
      if (!first) {
        first = now;
        loop_->call_soon_threadsafe(on_signal_);
      } else if (now - *first >= std::chrono::seconds(1)) {
        std::_Exit(128 + signal_number);
      }
      // Else a duplicate: `timeout` and process-group kills often deliver two.
    }
  }

  std::mutex mutex_;
  aiocpp::EventLoop* loop_;  // null once the owner stops watching
  std::function<void()> on_signal_;
  std::thread thread_;
};

// input(prompt): prints the prompt, reads one line (without its newline).
// Nothing at the end of stdin (where Python raises EOFError).
inline std::optional<std::string> input(std::string_view prompt) {
  std::cout << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  py_decode(line);  // stdin is UTF-8 text: throws on anything else, as input() does
  return line;
}

// logging.getLogger(name) with seed 002's format '%(name)s: %(message)s' on
// stderr, at DEBUG level (every level prints the same way).
struct Log {
  std::string name;
  void debug(const std::string& message) const {
    std::cerr << name << ": " << message << std::endl;
  }
  void error(const std::string& message) const { debug(message); }
};

}  // namespace examples
