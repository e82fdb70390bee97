#pragma once
// A StreamReader script: a limit and a sequence of events (bytes arriving,
// EOF, an error set by the transport) and reads (read(n), readline,
// readuntil, readexactly), in the order they happen. Used by the libFuzzer
// target (tests/fuzz/stream_reader_fuzz.cpp), which checks aiocpp's reader
// against a reference model, and by the differential test
// (tests/streams_differential.cpp), which checks it against Python's
// asyncio.StreamReader (tests/peers/stream_reader_replay.py).
//
// How a script runs, on either side: one task performs the reads in order;
// a driver applies the events in order and, after each event or read
// request, yields to the loop twice, so that the reader has done all it can
// before the next event. At the end the driver feeds EOF (unless it came),
// so every read finishes. Each read gives one line of the transcript:
//   ok <hex>                          the bytes returned
//   IncompleteReadError <hex> <n|None>
//   LimitOverrunError <consumed> <message>
//   ValueError <message>
//   RuntimeError <message>
//   boom                              the error the script set
// The text form of a script (for the Python side), one item per line:
//   limit N | feed HEX | eof | exception | read N | readline | readuntil HEX | readexactly N

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aiocpp/aiocpp.hpp"

namespace stream_script {

struct Step {
  enum Kind : std::uint8_t { feed, eof, exception, read, readline, readuntil, readexactly };
  Kind kind;
  std::string bytes;  // feed: the data; readuntil: the separator
  long n = 0;         // read, readexactly
  bool is_read() const { return kind >= read; }
};

struct Script {
  long limit = aiocpp::stream_default_limit;
  std::vector<Step> steps;
};

inline std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out.empty() ? "-" : out;  // "-": no bytes, so that every field is a word
}

inline std::string to_text(const Script& script) {
  std::string out = "limit " + std::to_string(script.limit) + "\n";
  for (const Step& s : script.steps) {
    switch (s.kind) {
      case Step::feed:
        out += "feed " + hex(s.bytes);
        break;
      case Step::eof:
        out += "eof";
        break;
      case Step::exception:
        out += "exception";
        break;
      case Step::read:
        out += "read " + std::to_string(s.n);
        break;
      case Step::readline:
        out += "readline";
        break;
      case Step::readuntil:
        out += "readuntil " + hex(s.bytes);
        break;
      case Step::readexactly:
        out += "readexactly " + std::to_string(s.n);
        break;
    }
    out += "\n";
  }
  return out;
}

// Bytes to a script. Data and separators come mostly from a small alphabet
// ('a', 'b', '\n', '\r') so that separators and partial separators occur.
class Decoder {
 public:
  Decoder(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool more() const { return pos_ < size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  char symbol() {
    std::uint8_t b = byte();
    static const char alphabet[] = {'a', 'b', '\n', '\r'};
    return b < 224 ? alphabet[b & 3] : static_cast<char>(b);
  }
  std::string symbols(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n && more(); ++i) s += symbol();
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

inline Script decode(const std::uint8_t* data, std::size_t size) {
  static const long limits[] = {1, 2, 3, 4, 5, 8, 13, 32, 100, aiocpp::stream_default_limit};
  Decoder in(data, size);
  Script script;
  script.limit = limits[in.byte() % 10];
  bool eof = false;
  while (in.more() && script.steps.size() < 64) {
    std::uint8_t op = in.byte();
    Step step{Step::feed, {}, 0};
    switch (op % 12) {
      case 0:
      case 1:
      case 2: {
        if (eof) continue;  // asyncio asserts that no data follows EOF
        const std::uint8_t length = in.byte();
        if (op % 3 == 2 && length >= 250) {
          // Rarely, a pattern repeated to 4-96 KiB: large enough for the
          // reader to trade or lend strings (from 4 KiB on).
          const std::string pattern = in.symbols(1 + in.byte() % 8);
          const std::size_t size = 1024 * (4 + in.byte() % 93);
          while (!pattern.empty() && step.bytes.size() < size) step.bytes += pattern;
        } else {
          step.bytes = in.symbols(1 + length % (op % 3 == 2 ? 64 : 8));
        }
        if (step.bytes.empty()) continue;
        break;
      }
      case 3:
        if (eof || in.byte() % 4 != 0) continue;  // rare: it ends most scripts' reads
        step.kind = Step::eof;
        eof = true;
        break;
      case 4:
        if (in.byte() % 8 != 0) continue;  // rarer still: every later read raises it
        step.kind = Step::exception;
        break;
      case 5:
        step.kind = Step::readline;
        break;
      case 6:
        step.kind = Step::readuntil;
        step.bytes = in.symbols(1);
        break;
      case 7:
        step.kind = Step::readuntil;
        step.bytes = in.symbols(in.byte() % 8 == 0 ? 0 : 2 + in.byte() % 3);  // "" is a ValueError
        break;
      case 8:
      case 9: {
        step.kind = Step::readexactly;
        const std::uint8_t n = in.byte();
        step.n = n >= 250 ? 1024 * (4 + in.byte() % 93)     // rarely, a large message
                          : static_cast<long>(n % 40) - 1;  // -1 is a ValueError
        break;
      }
      case 10: {
        step.kind = Step::read;
        const std::uint8_t n = in.byte();
        step.n = n >= 250 ? 65536 : static_cast<long>(n % 40);  // 65536: an echo's read
        break;
      }
      case 11:
        step.kind = Step::read;
        step.n = -1;
        break;
    }
    script.steps.push_back(std::move(step));
  }
  return script;
}

// The error a script's "exception" step sets.
struct Boom : std::exception {
  const char* what() const noexcept override { return "boom"; }
};

// --- Running a script through aiocpp's StreamReader ----------------------------

// With `into`, the form that stores into the caller's string: one string
// reused by every such read, as an echo loop reuses one, so that the reader
// trades and lends it once it is large. It holds the last such result
// first, so a read that forgets to replace it shows.
inline aiocpp::Task<std::string> perform(aiocpp::StreamReader& reader, const Step& step,
                                         std::string* into) {
  using namespace aiocpp;
  try {
    std::string own;
    std::string& got = into ? *into : own;
    if (into) {
      switch (step.kind) {
        case Step::read:
          co_await reader.read(step.n, got);
          break;
        case Step::readline:
          co_await reader.readline(got);
          break;
        case Step::readuntil:
          co_await reader.readuntil(step.bytes, got);
          break;
        case Step::readexactly:
          co_await reader.readexactly(step.n, got);
          break;
        default:
          break;
      }
    } else {
      switch (step.kind) {
        case Step::read:
          got = co_await reader.read(step.n);
          break;
        case Step::readline:
          got = co_await reader.readline();
          break;
        case Step::readuntil:
          got = co_await reader.readuntil(step.bytes);
          break;
        case Step::readexactly:
          got = co_await reader.readexactly(step.n);
          break;
        default:
          break;
      }
    }
    co_return "ok " + hex(got);
  } catch (const IncompleteReadError& e) {
    co_return "IncompleteReadError " + hex(e.partial()) + " " +
        (e.expected() == IncompleteReadError::undefined ? std::string("None")
                                                        : std::to_string(e.expected()));
  } catch (const LimitOverrunError& e) {
    co_return "LimitOverrunError " + std::to_string(e.consumed()) + " " + e.what();
  } catch (const ValueError& e) {
    co_return std::string("ValueError ") + e.what();
  } catch (const Boom&) {
    co_return "boom";
  } catch (const std::runtime_error& e) {
    co_return std::string("RuntimeError ") + e.what();
  }
}

struct Run {
  aiocpp::StreamReader reader;
  std::string into = "stale";  // what reads into a string reuse
  std::deque<const Step*> reads;
  std::vector<std::string> transcript;
  aiocpp::Future<void> more;  // set when a read is queued or the script ends
  bool ended = false;
  explicit Run(long limit) : reader(limit) {}
};

inline aiocpp::Task<void> reads_in_order(Run& run) {
  for (;;) {
    while (run.reads.empty()) {
      if (run.ended) co_return;
      run.more = aiocpp::get_running_loop().create_future<void>();
      co_await run.more;
    }
    const Step* step = run.reads.front();
    run.reads.pop_front();
    std::string* into = run.transcript.size() % 2 == 1 ? &run.into : nullptr;
    run.transcript.push_back(co_await perform(run.reader, *step, into));
  }
}

inline aiocpp::Task<void> settle() {
  co_await aiocpp::yield_now();
  co_await aiocpp::yield_now();
}

// Bytes arrive by feed_data (a subprocess pipe's way) or, as a socket's do,
// through get_buffer / buffer_updated: lent free space filled in pieces,
// some smaller than the space lent. Which, by the step's index, so that both
// paths meet every kind of script and a transcript stays deterministic.
inline void feed(aiocpp::StreamReader& reader, std::string_view bytes, std::size_t index) {
  if (index % 3 == 0) {
    reader.feed_data(bytes);
    return;
  }
  const std::size_t piece = index % 3 == 1 ? bytes.size() : 1 + index % 5;
  while (!bytes.empty()) {
    std::span<char> space = reader.get_buffer(index % 3 == 1 ? 0 : piece);
    const std::size_t n = std::min({space.size(), piece, bytes.size()});
    std::memcpy(space.data(), bytes.data(), n);
    reader.buffer_updated(n);
    bytes.remove_prefix(n);
  }
}

inline void notify(Run& run) {
  if (run.more.valid() && !run.more.done()) run.more.set_result();
}

inline aiocpp::Task<std::vector<std::string>> run_script(const Script& script) {
  Run run(script.limit);
  aiocpp::Task<void> reader = aiocpp::get_running_loop().create_task(reads_in_order(run));
  bool eof = false;
  for (std::size_t i = 0; i < script.steps.size(); ++i) {
    const Step& step = script.steps[i];
    if (step.is_read()) {
      run.reads.push_back(&step);
      notify(run);
    } else if (step.kind == Step::feed) {
      feed(run.reader, step.bytes, i);
    } else if (step.kind == Step::eof) {
      run.reader.feed_eof();
      eof = true;
    } else {
      run.reader.set_exception(std::make_exception_ptr(Boom()));
    }
    co_await settle();
  }
  if (!eof) run.reader.feed_eof();
  run.ended = true;
  notify(run);
  co_await reader;
  co_return std::move(run.transcript);
}

}  // namespace stream_script
