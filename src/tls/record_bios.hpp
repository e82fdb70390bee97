#pragma once
// The BIOs SSLProtocol runs OpenSSL over, each a window on a buffer of its
// own rather than a memory BIO (BIO_s_mem) holding a copy:
//
// - incoming records: OpenSSL reads straight out of the bytes data_received
//   was handed; only what it leaves unread (a record's first part, or what
//   waits while the application has paused reading) is copied aside, to be
//   read first next time. A memory BIO copied every byte in, then out.
// - outgoing records: OpenSSL appends to a string the protocol hands to
//   transport.write() and clears. A memory BIO's reset cleared (memset) its
//   whole capacity after every flush: 128 KiB for a 100 KiB echo.

#include <string>
#include <string_view>

struct bio_st;

namespace aiocpp::detail {

// What the peer sent and OpenSSL has not read yet.
class RecordSource {
 public:
  // `data` is read (before anything kept) until keep_rest().
  void offer(std::string_view data) { fresh_ = data; }
  // Copies what offer()'s bytes still hold aside, as they are about to go.
  void keep_rest();
  // The peer's EOF: once the bytes run out, OpenSSL sees the end (and not
  // "more to come").
  void set_eof() { eof_ = true; }
  bool eof() const { return eof_; }
  std::size_t size() const { return kept_.size() - kept_at_ + fresh_.size(); }
  // Moves up to `size` bytes to `out`; returns how many.
  std::size_t take(char* out, std::size_t size);

 private:
  std::string kept_;  // capacity kept: no allocation once grown
  std::size_t kept_at_ = 0;
  std::string_view fresh_;
  bool eof_ = false;
};

// BIOs over `source` and `sink`, which must outlive them (SSL_free frees
// the BIOs). `sink` receives every record OpenSSL writes.
bio_st* make_source_bio(RecordSource& source);
bio_st* make_sink_bio(std::string& sink);

}  // namespace aiocpp::detail
