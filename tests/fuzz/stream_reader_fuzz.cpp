// StreamReader under libFuzzer (issue 14, item 7): each input decodes to a
// script (tests/stream_reader_script.hpp): a limit, bytes arriving in
// arbitrary chunks, EOF, an error, and reads (readline, readuntil with one-
// and multi-byte separators, readexactly, read(n), read(-1)) in between. The
// script runs through aiocpp's StreamReader on a loop, and through the
// reference model below; the two transcripts must agree line for line, and
// a disagreement aborts with both printed.
//
// The model is asyncio's reader written as plainly as possible: the buffer
// is a string erased from the front, every search starts again from the
// start of the buffer, and a waiting read runs one pass of its loop at each
// event that would wake it (asyncio wakes the waiter on every feed_data,
// feed_eof and set_exception), which is the behaviour aiocpp's awaiters
// reproduce while waking only when a read can finish.
//
//   build-asan/tests/stream_reader_fuzz -max_total_time=600 [CORPUS_DIR]

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stream_reader_script.hpp"

namespace {

using stream_script::hex;
using stream_script::Script;
using stream_script::Step;

class Model {
 public:
  explicit Model(long limit) : limit_(static_cast<std::size_t>(limit)) {}

  std::vector<std::string> run(const Script& script) {
    bool eof_fed = false;
    for (const Step& step : script.steps) {
      if (step.is_read()) {
        pending_.push_back(Pending{&step});
        start_reads();
      } else {
        if (step.kind == Step::feed) {
          buffer_ += step.bytes;
        } else if (step.kind == Step::eof) {
          eof_ = eof_fed = true;
        } else {
          error_ = true;
        }
        wake();
      }
    }
    if (!eof_fed) {
      eof_ = true;
      wake();
    }
    return transcript_;
  }

 private:
  struct Pending {
    const Step* step;
    bool waiting = false;    // it ran its first pass and waits
    std::size_t offset = 0;  // readuntil's search offset (asyncio's)
  };

  // The front read, waiting, runs one more pass; then the reads behind it start.
  void wake() {
    if (!pending_.empty() && pending_.front().waiting) {
      if (error_) {
        finish("boom");  // set_exception fails the waiter itself
      } else if (std::optional<std::string> done = pass(pending_.front())) {
        finish(*done);
      }
    }
    start_reads();
  }

  void start_reads() {
    while (!pending_.empty() && !pending_.front().waiting) {
      Pending& p = pending_.front();
      if (std::optional<std::string> done = first_pass(p)) {
        finish(*done);
      } else {
        p.waiting = true;
        return;
      }
    }
  }

  void finish(std::string line) {
    transcript_.push_back(std::move(line));
    pending_.pop_front();
  }

  std::string take(std::size_t n) {
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  // What a read does when called: argument and error checks, then its loop.
  std::optional<std::string> first_pass(Pending& p) {
    const Step& s = *p.step;
    if (s.kind == Step::readexactly && s.n < 0) {
      return "ValueError readexactly size can not be less than zero";
    }
    if ((s.kind == Step::readuntil || s.kind == Step::readline) && separator(s).empty()) {
      return "ValueError Separator should be at least one-byte string";
    }
    if (error_) return "boom";
    if (s.kind == Step::read && s.n == 0) return "ok -";
    if (s.kind == Step::readexactly && s.n == 0) return "ok -";
    return pass(p);
  }

  static std::string separator(const Step& s) {
    return s.kind == Step::readline ? std::string("\n") : s.bytes;
  }

  // One pass of the read's loop: its result, or nothing if it waits again.
  std::optional<std::string> pass(Pending& p) {
    const Step& s = *p.step;
    switch (s.kind) {
      case Step::read:
        if (s.n < 0) {
          if (!eof_) return std::nullopt;
          return "ok " + hex(take(buffer_.size()));
        }
        if (buffer_.empty() && !eof_ && !p.waiting) return std::nullopt;  // waits once
        return "ok " + hex(take(static_cast<std::size_t>(s.n)));
      case Step::readexactly:
        if (buffer_.size() >= static_cast<std::size_t>(s.n)) {
          return "ok " + hex(take(static_cast<std::size_t>(s.n)));
        }
        if (eof_) {
          return "IncompleteReadError " + hex(take(buffer_.size())) + " " + std::to_string(s.n);
        }
        return std::nullopt;
      case Step::readuntil:
      case Step::readline: {
        std::optional<std::string> result = readuntil_pass(p);
        if (!result || s.kind == Step::readuntil) return result;
        return as_readline(*result);
      }
      default:
        return std::nullopt;
    }
  }

  // Where readuntil's pass ends: kept as a transcript line, plus what
  // readline needs to turn it into its own result.
  std::optional<std::string> readuntil_pass(Pending& p) {
    const std::string sep = separator(*p.step);
    overrun_consumed_ = 0;
    std::size_t found = std::string::npos;
    if (buffer_.size() >= p.offset + sep.size()) {
      found = buffer_.find(sep);  // from the start: the model's plain search
      if (found == std::string::npos) {
        p.offset = buffer_.size() + 1 - sep.size();
        if (p.offset > limit_) {
          overrun_consumed_ = p.offset;
          return "LimitOverrunError " + std::to_string(p.offset) +
                 " Separator is not found, and chunk exceed the limit";
        }
      }
    }
    if (found == std::string::npos) {
      if (!eof_) return std::nullopt;
      return "IncompleteReadError " + hex(take(buffer_.size())) + " None";
    }
    if (found > limit_) {
      overrun_consumed_ = found;
      return "LimitOverrunError " + std::to_string(found) +
             " Separator is found, but chunk is longer than limit";
    }
    return "ok " + hex(take(found + sep.size()));
  }

  std::string as_readline(const std::string& line) {
    if (line.starts_with("IncompleteReadError ")) {
      std::string partial = line.substr(20, line.find(' ', 20) - 20);
      return "ok " + partial;
    }
    if (line.starts_with("LimitOverrunError ")) {
      if (overrun_consumed_ < buffer_.size() && buffer_[overrun_consumed_] == '\n') {
        buffer_.erase(0, overrun_consumed_ + 1);
      } else {
        buffer_.clear();
      }
      return "ValueError " + line.substr(line.find(' ', 18) + 1);
    }
    return line;
  }

  std::size_t limit_;
  std::string buffer_;
  bool eof_ = false;
  bool error_ = false;
  std::size_t overrun_consumed_ = 0;
  std::deque<Pending> pending_;
  std::vector<std::string> transcript_;
};

aiocpp::EventLoop& fuzz_loop() {
  static std::shared_ptr<aiocpp::EventLoop> loop = [] {
    auto l = aiocpp::new_event_loop();
    aiocpp::set_event_loop(l);
    return l;
  }();
  return *loop;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Script script = stream_script::decode(data, size);
  std::vector<std::string> expected = Model(script.limit).run(script);
  std::vector<std::string> got = fuzz_loop().run_until_complete(stream_script::run_script(script));
  if (got != expected) {
    std::fprintf(stderr, "script:\n%s\n", stream_script::to_text(script).c_str());
    for (std::size_t i = 0; i < std::max(got.size(), expected.size()); ++i) {
      std::fprintf(stderr, "%s read %zu\n  aiocpp: %s\n  model:  %s\n",
                   i < got.size() && i < expected.size() && got[i] == expected[i] ? " " : "*", i,
                   i < got.size() ? got[i].c_str() : "(none)",
                   i < expected.size() ? expected[i].c_str() : "(none)");
    }
    std::abort();
  }
  return 0;
}
