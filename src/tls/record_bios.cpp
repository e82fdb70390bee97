#include "tls/record_bios.hpp"

#include <openssl/bio.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

namespace aiocpp::detail {

void RecordSource::keep_rest() {
  if (fresh_.empty()) return;
  kept_.erase(0, kept_at_);  // what was read goes; what was not moves up
  kept_at_ = 0;
  kept_.append(fresh_);
  fresh_ = {};
}

std::size_t RecordSource::take(char* out, std::size_t size) {
  std::size_t taken = 0;
  if (kept_at_ < kept_.size()) {
    taken = std::min(size, kept_.size() - kept_at_);
    std::memcpy(out, kept_.data() + kept_at_, taken);
    kept_at_ += taken;
    if (kept_at_ == kept_.size()) {
      kept_.clear();
      kept_at_ = 0;
    }
  }
  std::size_t more = std::min(size - taken, fresh_.size());
  if (more == 0) return taken;  // (an empty view's data() may be null: no memcpy)
  std::memcpy(out + taken, fresh_.data(), more);
  fresh_.remove_prefix(more);
  return taken + more;
}

namespace {

int source_read(BIO* bio, char* out, int size) {
  auto* source = static_cast<RecordSource*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  std::size_t n = source->take(out, static_cast<std::size_t>(std::max(size, 0)));
  if (n > 0) return static_cast<int>(n);
  if (source->eof()) return 0;  // the end: OpenSSL reports a truncation if mid-record
  BIO_set_retry_read(bio);      // more to come: SSL_ERROR_WANT_READ
  return -1;
}

long source_ctrl(BIO* bio, int command, long, void*) {
  auto* source = static_cast<RecordSource*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(std::min<std::size_t>(source->size(), LONG_MAX));
    case BIO_CTRL_EOF:
      return source->eof() && source->size() == 0;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int sink_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  if (size <= 0) return 0;
  static_cast<std::string*>(BIO_get_data(bio))->append(data, static_cast<std::size_t>(size));
  return size;
}

long sink_ctrl(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<std::string*>(BIO_get_data(bio))->size());
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

// The two methods, made once for the process (OpenSSL keeps no reference
// to free at exit).
const BIO_METHOD* source_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aiocpp records in");
    if (m) {
      BIO_meth_set_read(m, source_read);
      BIO_meth_set_ctrl(m, source_ctrl);
    }
    return m;
  }();
  return method;
}

const BIO_METHOD* sink_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aiocpp records out");
    if (m) {
      BIO_meth_set_write(m, sink_write);
      BIO_meth_set_ctrl(m, sink_ctrl);
    }
    return m;
  }();
  return method;
}

BIO* make_bio(const BIO_METHOD* method, void* data) {
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) throw std::bad_alloc();
  BIO_set_data(bio, data);
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace

bio_st* make_source_bio(RecordSource& source) { return make_bio(source_method(), &source); }
bio_st* make_sink_bio(std::string& sink) { return make_bio(sink_method(), &sink); }

}  // namespace aiocpp::detail
