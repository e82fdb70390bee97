#pragma once
// TLS: Python's ssl.SSLContext (a small RAII face over OpenSSL's SSL_CTX),
// its exceptions, and what get_extra_info("ssl_object") gives. The loop
// takes an SSLContext as `ssl=` on create_connection / create_server /
// create_unix_* / connect_accepted_socket and in start_tls; the TLS itself
// is a protocol layered over the transport (src/tls/), as asyncio's sslproto.
//
// No OpenSSL header is included here: native_handle() returns OpenSSL's own
// SSL_CTX* (struct ssl_ctx_st), for anything these names do not cover.

#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace aiocpp {

// --- Errors ----------------------------------------------------------------------
// Python's ssl.SSLError is an OSError; here it is a std::system_error (what
// aiocpp throws for OSError), so a `catch (const std::system_error&)` around a
// connection sees TLS failures too. The code is OpenSSL's SSL_get_error()
// value in ssl_category() (Python's SSLError.errno); what() is Python's text,
// "[SSL: WRONG_VERSION_NUMBER] wrong version number".
const std::error_category& ssl_category() noexcept;

class SSLError : public std::system_error {
 public:
  // `library` / `reason` as OpenSSL names them ("SSL", "WRONG_VERSION_NUMBER");
  // `message` is OpenSSL's reason string.
  SSLError(int code, std::string library, std::string reason, const std::string& message);
  const char* what() const noexcept override { return what_.c_str(); }
  const std::string& library() const noexcept { return library_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string library_;
  std::string reason_;
  std::string what_;
};

// The peer's certificate failed verification (untrusted, expired, wrong host
// name): Python's ssl.SSLCertVerificationError.
class SSLCertVerificationError : public SSLError {
 public:
  SSLCertVerificationError(int code, std::string library, std::string reason,
                           const std::string& message, long verify_code,
                           std::string verify_message);
  long verify_code() const noexcept { return verify_code_; }  // X509_V_ERR_*
  const std::string& verify_message() const noexcept { return verify_message_; }

 private:
  long verify_code_;
  std::string verify_message_;
};

// --- SSLContext ------------------------------------------------------------------
// Python's ssl.Purpose: SERVER_AUTH makes a client's context (it
// authenticates servers), CLIENT_AUTH a server's.
enum class Purpose { SERVER_AUTH, CLIENT_AUTH };
enum class VerifyMode { CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED };
enum class TLSVersion { MINIMUM_SUPPORTED, TLSv1_2, TLSv1_3, MAXIMUM_SUPPORTED };

class SSLContext {
 public:
  // Python's PROTOCOL_TLS_CLIENT / PROTOCOL_TLS_SERVER.
  enum class Protocol { TLS_CLIENT, TLS_SERVER };

  // As Python's SSLContext(protocol): a client verifies the server's
  // certificate and host name (CERT_REQUIRED, check_hostname) but trusts no
  // CA yet; a server asks nothing of its clients. TLS 1.2 at least.
  explicit SSLContext(Protocol protocol);
  ~SSLContext();
  SSLContext(const SSLContext&) = delete;
  SSLContext& operator=(const SSLContext&) = delete;

  // ssl.create_default_context: as above, and a client context trusts the
  // system's CAs (or `cafile` when given).
  static std::shared_ptr<SSLContext> create_default_context(
      Purpose purpose = Purpose::SERVER_AUTH, const std::optional<std::string>& cafile = {});

  // PEM files; `keyfile` empty: the key is in `certfile`. SSLError naming
  // OpenSSL's reason when a file is missing or the key does not match.
  void load_cert_chain(const std::string& certfile, const std::string& keyfile = {});
  void load_verify_locations(const std::string& cafile);
  void set_default_verify_paths();

  VerifyMode verify_mode() const noexcept { return verify_mode_; }
  // ValueError for CERT_NONE while check_hostname is on (Python's rule).
  void set_verify_mode(VerifyMode mode);
  bool check_hostname() const noexcept { return check_hostname_; }
  // Turning it on makes CERT_NONE CERT_REQUIRED, as in Python.
  void set_check_hostname(bool enabled);

  // ALPN, in order of preference ("h2", "http/1.1"): a client offers them,
  // a server picks the first of its own that the client offered.
  void set_alpn_protocols(const std::vector<std::string>& protocols);
  const std::vector<std::string>& alpn_protocols() const noexcept { return alpn_protocols_; }
  // OpenSSL's cipher-list syntax (TLS 1.2 and below); SSLError if none matches.
  void set_ciphers(const std::string& ciphers);

  TLSVersion minimum_version() const;
  void set_minimum_version(TLSVersion version);
  TLSVersion maximum_version() const;
  void set_maximum_version(TLSVersion version);

  // PROTOCOL_TLS_SERVER.
  bool server_side() const noexcept { return protocol_ == Protocol::TLS_SERVER; }
  ssl_ctx_st* native_handle() const noexcept { return ctx_; }

 private:
  Protocol protocol_;
  ssl_ctx_st* ctx_;
  VerifyMode verify_mode_ = VerifyMode::CERT_NONE;
  bool check_hostname_ = false;
  std::vector<std::string> alpn_protocols_;
  std::string alpn_wire_;  // the list as ALPN sends it: length-prefixed names
};

// --- What a TLS transport tells ---------------------------------------------------
// get_extra_info("ssl_object"): a non-owning view of the connection's SSL,
// valid while the transport is open (Python's ssl.SSLObject, the parts
// asked of it most).
class SSLObject {
 public:
  explicit SSLObject(ssl_st* ssl = nullptr) noexcept : ssl_(ssl) {}
  // "TLSv1.3", "TLSv1.2"; empty before the handshake.
  std::string version() const;
  // The protocol ALPN chose; nullopt when none was (Python's None).
  std::optional<std::string> selected_alpn_protocol() const;
  // The peer's certificate, DER-encoded (getpeercert(binary_form=True));
  // empty when the peer sent none.
  std::string getpeercert_der() const;
  // (name, protocol, secret bits), as Python's cipher().
  std::optional<std::tuple<std::string, std::string, int>> cipher() const;
  ssl_st* native_handle() const noexcept { return ssl_; }

 private:
  ssl_st* ssl_;
};

}  // namespace aiocpp
