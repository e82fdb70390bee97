// Differential test (issue 14, item 7): StreamReader scripts
// (tests/stream_reader_script.hpp) replayed through aiocpp's StreamReader
// and through Python's asyncio.StreamReader (/usr/bin/python3,
// tests/peers/stream_reader_replay.py); every read's result or exception
// must agree. The scripts: hand-written ones for the cases that matter
// (separators split across chunks, limits, EOF inside a read, an error set
// while a read waits) and 2000 generated from a fixed seed, decoded as the
// fuzzer decodes its inputs.

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "stream_reader_script.hpp"
#include "test_support.hpp"

namespace {

using stream_script::Script;
using stream_script::Step;

// n bytes of a pattern that starts with c.
std::string big(std::size_t n, char c) {
  std::string s(n, c);
  for (std::size_t i = 1; i < n; i += 7) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

std::vector<Script> written_scripts() {
  auto feed = [](std::string bytes) { return Step{Step::feed, std::move(bytes), 0}; };
  auto until = [](std::string sep) { return Step{Step::readuntil, std::move(sep), 0}; };
  const Step line{Step::readline, {}, 0};
  const Step eof{Step::eof, {}, 0};
  const Step boom{Step::exception, {}, 0};
  auto exactly = [](long n) { return Step{Step::readexactly, {}, n}; };
  auto read = [](long n) { return Step{Step::read, {}, n}; };
  return {
      // A two-byte separator split across chunks, then found at once.
      {10, {until("\r\n"), feed("ab\r"), feed("\ncd\r\n"), until("\r\n")}},
      // Past the limit without a separator; then with it, too far.
      {4, {until("\n"), feed("abcdef"), read(-1)}},
      {4, {feed("abcdef\n"), until("\n"), line, read(3)}},
      // readline over the limit drops the line, through its newline.
      {3, {line, feed("ab"), feed("cdef"), feed("gh\nij\n"), line}},
      // EOF inside readexactly and readuntil.
      {100, {exactly(5), feed("abc"), eof, exactly(1), until("x")}},
      // An error while a read waits, and for every read after it.
      {100, {feed("ab"), exactly(4), boom, read(1), line}},
      // read(n) returns what one chunk brought; read(-1) waits for EOF.
      {100, {read(10), feed("abc"), feed("de"), read(-1), feed("fg"), eof}},
      // Bad arguments.
      {100, {exactly(-1), until(""), feed("a\n"), line}},
      // An echo's reads of 64 KiB at a time, of 100 KiB messages arriving
      // as 64 + 36 KiB, and of whole messages: the reader trades strings
      // with the reused string of the reads into one, lends it while they
      // wait (growing it from 36 KiB to a 64 KiB offer), and gets it back
      // from one that an error ends.
      {100, {read(65536), feed(big(65536, 'a')),
             read(65536), feed(big(65536, 'b')),
             read(65536), feed(big(36864, 'c')),
             read(65536), feed(big(36864, 'd')),
             read(65536), feed(big(65536, 'e')),
             read(65536), feed(big(65536, 'f')),
             read(65536), feed(big(36864, 'g')),
             read(65536), feed(big(36864, 'h')),
             read(65536), feed("z"),
             read(65536), boom}},
      {100,
       {exactly(102400), feed(big(65536, 'a')), feed(big(36864, 'b')), exactly(102400),
        feed(big(65536, 'c')), feed(big(36864, 'd')), exactly(102400), feed(big(102400, 'e')),
        exactly(102400), feed(big(65536, 'f')), feed(big(36864, 'g')), exactly(102400), eof}},
  };
}

std::vector<Script> generated_scripts(int count) {
  std::mt19937 random(20261126);
  std::vector<Script> scripts;
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint8_t> bytes(8 + random() % 120);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    scripts.push_back(stream_script::decode(bytes.data(), bytes.size()));
  }
  return scripts;
}

// Each script's transcript from asyncio, in one Python run.
std::vector<std::vector<std::string>> asyncio_transcripts(const std::vector<Script>& scripts) {
  std::string input;
  for (const Script& s : scripts) input += stream_script::to_text(s) + "end\n";
  aiocpp::detail::UniqueFd in = aiocpp::testing::temp_file_with(input);
  std::string command = "timeout 60 /usr/bin/python3 " AIOCPP_TEST_DIR
                        "/peers/stream_reader_replay.py < /dev/fd/" +
                        std::to_string(in.get());
  FILE* out = ::popen(command.c_str(), "r");
  EXPECT_NE(out, nullptr);
  std::vector<std::vector<std::string>> transcripts(1);
  char* line = nullptr;  // lines of any length: a large read's hex is 200 KB
  std::size_t capacity = 0;
  ssize_t length;
  while (out && (length = ::getline(&line, &capacity, out)) >= 0) {
    std::string text(line, static_cast<std::size_t>(length));
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (text == "end") {
      transcripts.emplace_back();
    } else {
      transcripts.back().push_back(text);
    }
  }
  std::free(line);
  EXPECT_EQ(out ? ::pclose(out) : -1, 0) << "the Python replay failed";
  transcripts.pop_back();  // the empty one after the last "end"
  return transcripts;
}

void expect_same_as_asyncio(const std::vector<Script>& scripts) {
  std::vector<std::vector<std::string>> expected = asyncio_transcripts(scripts);
  ASSERT_EQ(expected.size(), scripts.size());
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    std::vector<std::string> got =
        aiocpp::testing::run_bounded(stream_script::run_script(scripts[i]), 10.0);
    EXPECT_EQ(got, expected[i]) << "script " << i << ":\n" << stream_script::to_text(scripts[i]);
    if (got != expected[i]) return;  // one script's diff is enough to read
  }
}

TEST(StreamsDifferential, WrittenScriptsReadAsAsyncioReadsThem) {
  expect_same_as_asyncio(written_scripts());
}

TEST(StreamsDifferential, GeneratedScriptsReadAsAsyncioReadsThem) {
  expect_same_as_asyncio(generated_scripts(2000));
}

}  // namespace
