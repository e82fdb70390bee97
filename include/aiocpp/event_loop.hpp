#pragma once
// EventLoop: asyncio's event loop (AbstractEventLoop / BaseEventLoop).
// One loop per thread; every method runs on the loop's thread except
// call_soon_threadsafe.

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aiocpp/detail/loop_reply.hpp"
#include "aiocpp/exception_context.hpp"
#include "aiocpp/executor.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/handle.hpp"
#include "aiocpp/server.hpp"
#include "aiocpp/subprocess.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/transports.hpp"

namespace aiocpp {

namespace detail {
class LoopImpl;
}
class SSLContext;  // aiocpp/ssl.hpp

// Which I/O backend a loop uses; chosen per loop at run time.
enum class Backend {
  selector,  // epoll, readiness-based (asyncio's SelectorEventLoop)
  // io_uring, completion-based (asyncio's ProactorEventLoop). Creating a
  // loop on it throws RuntimeError, saying why, where the kernel refuses
  // io_uring (ENOSYS, EPERM under seccomp or kernel.io_uring_disabled).
  io_uring,
  // io_uring where this process can have it, else the selector.
  automatic,
};

// "selector", "io_uring", "automatic": the names AIOCPP_BACKEND and the
// examples' --backend take.
std::string_view backend_name(Backend backend) noexcept;
// The backend of that name; ValueError, listing the valid names, otherwise.
Backend backend_from_name(std::string_view name);

struct LoopOptions {
  // Unset: the environment variable AIOCPP_BACKEND (a name as above) when it
  // is set and not empty, else Backend::selector. A name it does not know
  // makes creating the loop throw ValueError.
  std::optional<Backend> backend{};
  // io_uring only: whether a connection's multishot receives take their
  // bytes from one pool of buffers the loop shares (a provided-buffer ring,
  // where the kernel has incremental ones: Linux 6.12) rather than from a
  // buffer of the connection's own. Unset: true, unless the environment
  // variable AIOCPP_URING_BUFFER_RING is "0" (for benchmarks that compare).
  std::optional<bool> io_uring_buffer_ring{};
  // io_uring only. The promise: this loop is run, and closed, on one thread
  // only (the first that runs it; it may be created on another). In return
  // the ring is made IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN:
  // the kernel finishes completions only when the loop asks for them, 2-5%
  // less CPU per request at a fixed rate (bench/README.md). Running it on
  // another thread later, or closing it there with operations in flight
  // (once it has run, its wake-up read always is), raises RuntimeError
  // naming this option; a loop that never ran closes anywhere. Where the
  // kernel refuses the flags (before Linux 6.1), Backend::io_uring raises
  // RuntimeError saying so and Backend::automatic takes the selector.
  bool io_uring_single_thread = false;
};

// What a task factory sees: the task create_task is about to schedule.
using TaskFactory = std::function<void(EventLoop&, Task<void>&)>;

// A protocol factory: each call returns a new protocol (asyncio's protocol_factory).
using ProtocolFactory = std::function<std::shared_ptr<BaseProtocol>()>;

// Keyword arguments of create_server.
struct ServerOptions {
  int family = 0;      // AF_UNSPEC: both IPv4 and IPv6 where the host has them
  int flags = 0x0001;  // AI_PASSIVE
  int sock = -1;       // an existing listening socket to serve instead of host/port
  int backlog = 100;
  std::optional<bool> reuse_address{};  // default: true on POSIX
  std::optional<bool> reuse_port{};
  bool start_serving = true;
  // TLS (aiocpp/ssl.hpp): a server context wraps each connection; the
  // protocol's connection_made comes after the handshake. Timeouts in
  // seconds (asyncio's defaults: 60 and 30); only meaningful with ssl.
  std::shared_ptr<SSLContext> ssl{};
  std::optional<double> ssl_handshake_timeout{};
  std::optional<double> ssl_shutdown_timeout{};
};

// Keyword arguments of create_connection.
struct ConnectionOptions {
  int family = 0;
  int proto = 0;
  int flags = 0;
  int sock = -1;  // an already connected socket to wrap instead of host/port
  std::optional<std::pair<std::string, int>> local_addr{};
  // Happy Eyeballs (RFC 8305): start the next address's attempt this many
  // seconds after the previous one unless it finished first (0.25 is the
  // RFC's suggestion). Unset: one address after another.
  std::optional<double> happy_eyeballs_delay{};
  // Alternate address families, this many of the first family first
  // (0: keep the resolver's order). Unset: 1 with happy eyeballs, else 0.
  std::optional<int> interleave{};
  // TLS: create_connection completes after the handshake. server_hostname
  // (SNI and the name checked) defaults to `host`; "" checks no name.
  std::shared_ptr<SSLContext> ssl{};
  std::optional<std::string> server_hostname{};
  std::optional<double> ssl_handshake_timeout{};
  std::optional<double> ssl_shutdown_timeout{};
};

// Keyword arguments of create_unix_server.
struct UnixServerOptions {
  int sock = -1;  // an existing listening AF_UNIX socket to serve instead of a path
  int backlog = 100;
  bool start_serving = true;
  bool cleanup_socket = true;  // remove the socket file when the server closes
  // TLS, as ServerOptions.
  std::shared_ptr<SSLContext> ssl{};
  std::optional<double> ssl_handshake_timeout{};
  std::optional<double> ssl_shutdown_timeout{};
};

// --- TLS (aiocpp/ssl.hpp) ------------------------------------------------------------
// Keyword arguments of create_unix_connection: with ssl, server_hostname is
// required (a path names no host), as in asyncio.
struct UnixConnectionOptions {
  std::shared_ptr<SSLContext> ssl{};
  std::optional<std::string> server_hostname{};
  std::optional<double> ssl_handshake_timeout{};
  std::optional<double> ssl_shutdown_timeout{};
};
// Keyword arguments of connect_accepted_socket: ssl is a server context.
struct AcceptedSocketOptions {
  std::shared_ptr<SSLContext> ssl{};
  std::optional<double> ssl_handshake_timeout{};
  std::optional<double> ssl_shutdown_timeout{};
};
// Keyword arguments of start_tls.
struct StartTLSOptions {
  bool server_side = false;
  std::optional<std::string> server_hostname{};
  std::optional<double> ssl_handshake_timeout{};
  std::optional<double> ssl_shutdown_timeout{};
};

// What create_connection, create_datagram_endpoint, connect_read_pipe,
// connect_write_pipe and subprocess_* return: `auto [transport, protocol] =
// co_await ...`, with the protocol typed as the factory made it.
template <class T, class P>
struct TransportAndProtocol {
  std::shared_ptr<T> transport;
  std::shared_ptr<P> protocol;
};

// create_connection, create_unix_connection, connect_accepted_socket.
template <class P = BaseProtocol>
using Connection = TransportAndProtocol<Transport, P>;

// --- UDP -------------------------------------------------------------------------
// Keyword arguments of create_datagram_endpoint. Internet endpoints take
// (host, port) pairs; AF_UNIX endpoints take paths instead (local_path /
// remote_path, which imply family AF_UNIX; a path starting with '\0' is in
// the abstract namespace). Build it in a variable before the co_await (see
// the README's note on GCC 12).
struct DatagramEndpointOptions {
  std::optional<std::pair<std::string, int>> local_addr{};   // bind here
  std::optional<std::pair<std::string, int>> remote_addr{};  // connect here
  std::optional<std::string> local_path{};   // AF_UNIX: bind here (a stale socket file is replaced)
  std::optional<std::string> remote_path{};  // AF_UNIX: connect here
  int family = 0;                            // required when no address is given
  int proto = 0;
  int flags = 0;  // getaddrinfo flags
  // Rejected when true, as asyncio has since 3.8.1 (SO_REUSEADDR on UDP lets
  // another process steal the port); kept only so that passing it is an error.
  std::optional<bool> reuse_address{};
  std::optional<bool> reuse_port{};
  // SO_BROADCAST; with remote_addr the socket is then not connected and
  // sendto() without an address sends to remote_addr.
  std::optional<bool> allow_broadcast{};
  int sock = -1;  // an existing SOCK_DGRAM socket to wrap; excludes every other option
};

// create_datagram_endpoint.
template <class P = DatagramProtocol>
using DatagramConnection = TransportAndProtocol<DatagramTransport, P>;

namespace detail {

// Compile-time checks of a protocol factory, so that the usual mistakes
// stop at one static_assert naming them instead of pages of template errors
// from inside the loop. Each assertion holds when an earlier one failed, so
// that only the first mistake is reported, and `ok` lets the caller skip
// the code that would fail next.
enum class FactoryFor { stream, read_pipe, write_pipe, datagram, subprocess };

template <class R>
struct SharedPtrTarget {
  using type = void;
};
template <class P>
struct SharedPtrTarget<std::shared_ptr<P>> {
  using type = P;
};

template <class F>
struct FactoryResult {
  using type = void;
};
template <class F>
requires std::invocable<F&>
struct FactoryResult<F> {
  using type = std::remove_cvref_t<std::invoke_result_t<F&>>;
};

template <FactoryFor kind, class F>
struct CheckedFactory {
  using R = typename FactoryResult<F>::type;
  using P = typename SharedPtrTarget<R>::type;

  static constexpr bool callable = std::invocable<F&>;
  static constexpr bool raw_pointer = std::is_pointer_v<R>;
  static constexpr bool shared = !std::is_void_v<P>;
  static constexpr bool protocol = std::is_base_of_v<BaseProtocol, P>;
  // A factory typed as returning BaseProtocol (ProtocolFactory) may make any
  // kind: that one is checked when the loop calls it (TypeError).
  static constexpr bool erased = std::is_same_v<P, BaseProtocol>;
  static constexpr bool right_kind = [] {
    switch (kind) {
      case FactoryFor::stream:
        return erased || std::is_base_of_v<Protocol, P> || std::is_base_of_v<BufferedProtocol, P>;
      case FactoryFor::read_pipe:
        return erased || std::is_base_of_v<Protocol, P>;
      case FactoryFor::write_pipe:
        return true;
      case FactoryFor::datagram:
        return std::is_base_of_v<DatagramProtocol, P>;
      case FactoryFor::subprocess:
        return erased || std::is_base_of_v<SubprocessProtocol, P>;
    }
    return false;
  }();

  static constexpr bool ok = callable && shared && protocol && right_kind;
  // What the call returns; the kind's base class after a failed check, so
  // that nothing further fails to compile.
  using protocol_type = std::conditional_t<
      ok, P, std::conditional_t<kind == FactoryFor::datagram, DatagramProtocol, BaseProtocol>>;

  // The factory type-erased (an empty one after a failed check). The
  // checks are here, in a function, not in the class: Clang marks a class
  // whose static_assert failed invalid and reports every later use of it.
  template <class Erased>
  static Erased erase(F factory) {
    static_assert(callable,
                  "aiocpp: a protocol factory must be callable with no arguments, "
                  "e.g. [] { return std::make_shared<MyProtocol>(); }");
    static_assert(!callable || !raw_pointer,
                  "aiocpp: a protocol factory must return std::shared_ptr<P>, not a raw pointer: "
                  "return std::make_shared<P>(...)");
    static_assert(!callable || raw_pointer || shared,
                  "aiocpp: a protocol factory must return std::shared_ptr<P>");
    static_assert(!shared || protocol,
                  "aiocpp: the protocol factory's P must derive from an aiocpp protocol class");
    static_assert(!protocol || right_kind || kind != FactoryFor::stream,
                  "aiocpp: create_connection, create_unix_connection and connect_accepted_socket "
                  "need a factory of a Protocol or a BufferedProtocol (a DatagramProtocol goes to "
                  "create_datagram_endpoint)");
    static_assert(!protocol || right_kind || kind != FactoryFor::read_pipe,
                  "aiocpp: connect_read_pipe needs a factory of a Protocol");
    static_assert(!protocol || right_kind || kind != FactoryFor::datagram,
                  "aiocpp: create_datagram_endpoint needs a factory of a DatagramProtocol");
    static_assert(!protocol || right_kind || kind != FactoryFor::subprocess,
                  "aiocpp: subprocess_exec and subprocess_shell need a factory of a "
                  "SubprocessProtocol");

    if constexpr (ok) {
      return Erased(std::move(factory));
    } else {
      return Erased();
    }
  }
};

// What a factory becomes once checked: create_datagram_endpoint's makes only
// datagram protocols; the others may make any kind, checked when called.
using DatagramProtocolFactory = std::function<std::shared_ptr<DatagramProtocol>()>;
template <FactoryFor kind>
using ErasedFactory =
    std::conditional_t<kind == FactoryFor::datagram, DatagramProtocolFactory, ProtocolFactory>;

template <class T>
inline constexpr bool is_task = false;
template <class T>
inline constexpr bool is_task<Task<T>> = true;
// An awaitable that is not a Task but converts to one (its task_type).
template <class A>
concept ConvertsToTask = !std::is_lvalue_reference_v<A> && requires(A && a) {
  typename std::remove_cvref_t<A>::task_type;
  { std::move(a).task() } -> std::same_as<typename std::remove_cvref_t<A>::task_type>;
};

}  // namespace detail

class EventLoop {
 public:
  explicit EventLoop(LoopOptions options = {});
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // --- Running and stopping -------------------------------------------------
  void run_forever();
  // Runs until `future` is done and returns its result (or throws its exception).
  template <class T>
  T run_until_complete(Future<T> future);
  template <class T>
  T run_until_complete(Task<T> task);
  // Stops after the current iteration.
  void stop();
  bool is_running() const;
  bool is_closed() const;
  // Drops pending callbacks and releases the backend. RuntimeError while running.
  void close();
  // The backend this loop runs on: selector or io_uring (what automatic chose).
  Backend backend() const noexcept;

  // --- Scheduling callbacks ----------------------------------------------------
  double time() const;  // monotonic seconds
  template <class F, class... Args>
  Handle call_soon(F&& callback, Args&&... args);
  // The one method safe to call from another thread: wakes a sleeping loop.
  template <class F, class... Args>
  Handle call_soon_threadsafe(F&& callback, Args&&... args);
  template <class F, class... Args>
  TimerHandle call_later(double delay, F&& callback, Args&&... args);
  template <class F, class... Args>
  TimerHandle call_at(double when, F&& callback, Args&&... args);

  // --- Futures and tasks ---------------------------------------------------------
  template <class T = void>
  Future<T> create_future() {
    return Future<T>(*this);
  }
  // Schedules a coroutine as a task of its own (asyncio.create_task).
  // The task is returned for awaiting or cancelling; dropping the returned
  // handle does not cancel or destroy the task: the loop keeps it until it
  // is done (unlike asyncio, which keeps only a weak reference).
  template <class T>
  Task<T> create_task(Task<T> task, std::string name = {});
  // An awaitable that names the Task it becomes (a StreamReader read, say).
  template <detail::ConvertsToTask A>
  typename std::remove_cvref_t<A>::task_type create_task(A&& awaitable, std::string name = {}) {
    return create_task(std::move(awaitable).task(), std::move(name));
  }
  // Anything else is a mistake, reported in one line.
  template <class A>
  requires(!detail::is_task<std::remove_cvref_t<A>> &&
           !detail::ConvertsToTask<A>) void create_task(A&&, std::string = {}) {
    static_assert(detail::is_task<std::remove_cvref_t<A>>,
                  "aiocpp: create_task takes the Task<T> that calling a coroutine function "
                  "returns: create_task(f()), not create_task(f)");
  }
  void set_task_factory(TaskFactory factory);
  const TaskFactory& get_task_factory() const;
  // The tasks of this loop that are not done yet (asyncio.all_tasks).
  std::vector<Task<void>> all_tasks() const;

  // --- Errors -----------------------------------------------------------------
  void set_exception_handler(ExceptionHandler handler);
  const ExceptionHandler& get_exception_handler() const;
  void default_exception_handler(const ExceptionContext& context);
  void call_exception_handler(const ExceptionContext& context) noexcept;

  // --- Debug mode ----------------------------------------------------------------
  void set_debug(bool enabled);
  bool get_debug() const;
  // In debug mode a callback that runs longer than this is logged (seconds).
  double slow_callback_duration() const;
  void set_slow_callback_duration(double seconds);

  // --- Watching file descriptors (selector backend) ---------------------------------
  // `callback(args...)` runs each time `fd` is readable, until remove_reader.
  // A second add_reader for the same fd replaces the first.
  template <class F, class... Args>
  void add_reader(int fd, F&& callback, Args&&... args);
  // Whether a reader was registered.
  bool remove_reader(int fd);
  template <class F, class... Args>
  void add_writer(int fd, F&& callback, Args&&... args);
  bool remove_writer(int fd);

  // --- Signals (POSIX) --------------------------------------------------------------
  // `callback(args...)` runs on the loop's thread each time `sig` arrives, even
  // if it arrived while the loop was not running. Replaces this loop's earlier
  // handler for `sig`; the process's previous action comes back on removal or
  // when the loop closes. ValueError for a number out of range, RuntimeError
  // for SIGKILL and SIGSTOP ("sig 9 cannot be caught"). A signal belongs to
  // one loop at a time: the loop that added a handler last receives it.
  template <class F, class... Args>
  void add_signal_handler(int sig, F&& callback, Args&&... args);
  // Whether a handler was registered.
  bool remove_signal_handler(int sig);

  // --- Executors ----------------------------------------------------------------------
  // Runs `fn()` on `executor` (the default one when null) and completes the
  // returned future with its result or exception, on the loop's thread.
  template <class F>
  auto run_in_executor(Executor* executor, F fn) -> Future<std::invoke_result_t<F&>>;
  void set_default_executor(std::shared_ptr<Executor> executor);
  // Waits, without blocking the loop, for the default executor's jobs and
  // threads to finish; run_in_executor(nullptr, ...) is an error afterwards.
  Task<void> shutdown_default_executor();
  // asyncio closes the asynchronous generators it tracks here; aiocpp tracks
  // none (C++ has no async generators of the loop's), so this completes at
  // once. Kept so that code written against asyncio's API reads the same.
  Task<void> shutdown_asyncgens();

  // --- Name resolution ------------------------------------------------------------------
  // socket.getaddrinfo on the default executor. Failures throw std::system_error
  // in gai_category() (asyncio's socket.gaierror).
  Task<std::vector<AddrInfo>> getaddrinfo(std::optional<std::string> host, int port,
                                          AddrInfoOptions options = {});
  // socket.getnameinfo: (host, service).
  Task<std::pair<std::string, std::string>> getnameinfo(SocketAddress address, int flags = 0);

  // --- TCP --------------------------------------------------------------------------
  // `host`: one host name or address; "" listens on all interfaces.
  Task<std::shared_ptr<Server>> create_server(ProtocolFactory factory, std::string host, int port,
                                              ServerOptions options = {});
  Task<std::shared_ptr<Server>> create_server(ProtocolFactory factory,
                                              std::vector<std::string> hosts, int port,
                                              ServerOptions options = {});
  // Serves `options.sock`, an existing listening socket.
  Task<std::shared_ptr<Server>> create_server(ProtocolFactory factory, ServerOptions options);
  // A factory of the wrong shape or kind (not a stream protocol's, a raw
  // pointer, ...): one static_assert saying so instead of "no matching
  // function" and its list of candidates.
  template <class F, class... Rest>
  requires(!detail::CheckedFactory<detail::FactoryFor::stream, F>::ok)
      Task<std::shared_ptr<Server>> create_server(F factory, Rest&&...) {
    (void)detail::CheckedFactory<detail::FactoryFor::stream, F>::template erase<ProtocolFactory>(
        std::move(factory));
    return {};
  }

  template <class F>
  auto create_connection(F factory, std::string host, int port, ConnectionOptions options = {});
  // Wraps `options.sock`, an already connected socket.
  template <class F>
  auto create_connection(F factory, ConnectionOptions options);

  // --- Unix sockets -------------------------------------------------------------------
  // Listens on `path`, replacing a stale socket file; the file is removed
  // again when the server closes (if it is still ours).
  Task<std::shared_ptr<Server>> create_unix_server(ProtocolFactory factory, std::string path,
                                                   UnixServerOptions options = {});
  // Serves `options.sock`, an existing AF_UNIX stream socket.
  Task<std::shared_ptr<Server>> create_unix_server(ProtocolFactory factory,
                                                   UnixServerOptions options);
  template <class F, class... Rest>
  requires(!detail::CheckedFactory<detail::FactoryFor::stream, F>::ok)
      Task<std::shared_ptr<Server>> create_unix_server(F factory, Rest&&...) {
    (void)detail::CheckedFactory<detail::FactoryFor::stream, F>::template erase<ProtocolFactory>(
        std::move(factory));
    return {};
  }
  template <class F>
  auto create_unix_connection(F factory, std::string path, UnixConnectionOptions options = {});
  // Wraps a connected AF_UNIX stream socket.
  template <class F>
  auto create_unix_connection(F factory, int sock, UnixConnectionOptions options = {});
  // Wraps a socket accepted elsewhere (TCP or unix) in a transport.
  template <class F>
  auto connect_accepted_socket(F factory, int sock, AcceptedSocketOptions options = {});

  // --- TLS ---------------------------------------------------------------------------
  // Upgrades a live connection to TLS (asyncio's start_tls): `protocol` (the
  // transport's, already connected) then talks through the returned
  // transport, once the handshake is done; `transport` must not be used
  // any more. On failure the transport is closed and the error thrown.
  Task<std::shared_ptr<Transport>> start_tls(std::shared_ptr<Transport> transport,
                                             std::shared_ptr<BaseProtocol> protocol,
                                             std::shared_ptr<SSLContext> sslcontext,
                                             StartTLSOptions options = {});

  // --- Low-level socket operations (asyncio's sock_* methods) -----------------------
  // Each takes a non-blocking socket (ValueError otherwise) that the caller
  // keeps owning, tries the call at once, and waits for readiness only when the
  // kernel says it would block. Cancelling one stops watching the socket and
  // leaves it usable. Buffers passed by span must outlive the operation.
  Task<std::string> sock_recv(int sock, std::size_t nbytes);
  Task<std::size_t> sock_recv_into(int sock, std::span<char> buffer);
  Task<std::pair<std::string, SocketAddress>> sock_recvfrom(int sock, std::size_t bufsize);
  // Receives at most `nbytes` (all of `buffer` when 0).
  Task<std::pair<std::size_t, SocketAddress>> sock_recvfrom_into(int sock, std::span<char> buffer,
                                                                 std::size_t nbytes = 0);
  // Sends all of `data`; on failure, how much was sent is unknown (as in asyncio).
  Task<void> sock_sendall(int sock, std::string data);
  Task<std::size_t> sock_sendto(int sock, std::string data, SocketAddress address);
  Task<void> sock_connect(int sock, SocketAddress address);
  // Resolves `host` (for the socket's family and type) on the executor first
  // unless it is a numeric address.
  Task<void> sock_connect(int sock, std::string host, int port);
  // Returns the accepted connection, non-blocking and close-on-exec, owned by
  // the caller, and the peer's address.
  Task<std::pair<int, SocketAddress>> sock_accept(int sock);
  // Sends `count` bytes (to end of file when unset) of `file` from `offset`
  // with the kernel's sendfile, else (when `fallback`) by reading and sending.
  // Returns the bytes sent; the file's position ends after them.
  Task<std::size_t> sock_sendfile(int sock, int file, std::int64_t offset = 0,
                                  std::optional<std::size_t> count = std::nullopt,
                                  bool fallback = true);

  // Sends a file over a stream transport: sendfile(2) once the transport's
  // buffer has drained, with reading paused and write() refused meanwhile;
  // else (when `fallback`) by reading chunks and writing them. Returns the
  // bytes sent; the file's position ends after them. RuntimeError for a
  // closing transport or one that cannot carry a file (datagram, pipe).
  Task<std::size_t> sendfile(std::shared_ptr<Transport> transport, int file,
                             std::int64_t offset = 0,
                             std::optional<std::size_t> count = std::nullopt, bool fallback = true);

  // --- UDP ---------------------------------------------------------------------------
  // A datagram endpoint (asyncio's create_datagram_endpoint): `factory`
  // returns std::shared_ptr<P> with P a DatagramProtocol. Returns
  // DatagramConnection<P>.
  template <class F>
  auto create_datagram_endpoint(F factory, DatagramEndpointOptions options);

  // --- Pipes and subprocesses ----------------------------------------------------------
  // Wraps `fd`, the read end of a pipe, FIFO, socket or character device (a
  // pty); the factory's protocol must be a Protocol. A regular file is a
  // ValueError. The descriptor is made non-blocking, and the transport owns
  // it (closes it at connection_lost) once the call has got that far.
  template <class F>
  auto connect_read_pipe(F factory, int fd);
  // Wraps `fd`, a write end; the protocol gets connection_made(WriteTransport&).
  template <class F>
  auto connect_write_pipe(F factory, int fd);
  // Runs argv[0] (looked up in PATH unless it contains '/') with `argv`. The
  // factory's protocol must be a SubprocessProtocol. A program that cannot be
  // run (or a bad cwd) throws std::system_error with the child's errno (ENOENT, ...).
  template <class F>
  auto subprocess_exec(F factory, std::vector<std::string> argv, SubprocessOptions options = {});
  // Runs `cmd` with /bin/sh -c. The command is one string; a list of
  // arguments does not compile (use subprocess_exec), an empty one is a ValueError.
  template <class F>
  auto subprocess_shell(F factory, std::string cmd, SubprocessOptions options = {});
  template <class F>
  void subprocess_shell(F factory, std::vector<std::string> argv,
                        SubprocessOptions options = {}) = delete;
  template <class F>
  void subprocess_shell(F factory, std::initializer_list<const char*> argv,
                        SubprocessOptions options = {}) = delete;

 private:
  friend struct detail::Access;

  // The one adapter behind every method that takes a protocol factory:
  // checks `factory` (a mistake stops at one static_assert naming it),
  // erases its type, passes it to `connect` (which starts the untyped *_impl
  // coroutine) and gives the result back with the factory's protocol type.
  template <detail::FactoryFor kind, class F, class Connect>
  static auto with_factory(F factory, Connect connect) {
    using Check = detail::CheckedFactory<kind, F>;
    return narrowed<typename Check::protocol_type>(
        connect(Check::template erase<detail::ErasedFactory<kind>>(std::move(factory))));
  }
  template <class P, class T, class B>
  static Task<TransportAndProtocol<T, P>> narrowed(Task<TransportAndProtocol<T, B>> connecting) {
    auto c = co_await connecting;
    co_return TransportAndProtocol<T, P>{std::move(c.transport),
                                         std::static_pointer_cast<P>(c.protocol)};
  }

  // Pipes and subprocesses.
  Task<TransportAndProtocol<ReadTransport, BaseProtocol>> connect_read_pipe_impl(
      ProtocolFactory factory, int fd);
  Task<TransportAndProtocol<WriteTransport, BaseProtocol>> connect_write_pipe_impl(
      ProtocolFactory factory, int fd);
  Task<TransportAndProtocol<SubprocessTransport, BaseProtocol>> subprocess_impl(
      ProtocolFactory factory, std::vector<std::string> argv, SubprocessOptions options,
      bool shell);
  // Datagram endpoints.
  Task<DatagramConnection<DatagramProtocol>> create_datagram_endpoint_impl(
      detail::DatagramProtocolFactory factory, DatagramEndpointOptions options);
  // Takes ownership of the connected socket `fd`; with `ssl`, the
  // connection is TLS (`tls.server_side` and the rest) and completes after
  // the handshake.
  Task<Connection<BaseProtocol>> wrap_connected_socket(ProtocolFactory factory, int fd,
                                                       std::shared_ptr<SSLContext> ssl = {},
                                                       StartTLSOptions tls = {});
  Task<Connection<BaseProtocol>> create_unix_connection_impl(ProtocolFactory factory,
                                                             std::optional<std::string> path,
                                                             int sock,
                                                             UnixConnectionOptions options);
  Task<Connection<BaseProtocol>> connect_accepted_socket_impl(ProtocolFactory factory, int sock,
                                                              AcceptedSocketOptions options);
  Task<Connection<BaseProtocol>> create_connection_impl(ProtocolFactory factory,
                                                        std::optional<std::string> host, int port,
                                                        ConnectionOptions options);
  Handle schedule_soon(detail::HandleState* state);
  Handle unscheduled(detail::HandleState* state);
  void watch_fd(int fd, Handle callback, bool writer);
  void set_signal_handler(int sig, Handle callback);
  Executor& executor_for(Executor* executor);
  Handle schedule_soon_threadsafe(detail::HandleState* state);
  // A callback that another thread will send back to this loop (LoopReply).
  template <class F>
  std::shared_ptr<detail::LoopReply> reply_on_loop(F&& callback);
  std::shared_ptr<detail::LoopReply> reserve_reply(detail::HandleState* state);
  TimerHandle schedule_at(detail::HandleState* state, double when);
  detail::HandleState* new_handle();
  void schedule_task(detail::TaskBase& task, std::string name);
  void run_until_done(detail::FutureBase& future);

  template <class F, class... Args>
  static auto bind(F&& f, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return std::forward<F>(f);
    } else {
      return
          [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable { f(args...); };
    }
  }

  std::unique_ptr<detail::LoopImpl> impl_;
};

// --- The loop of the current thread (asyncio.get_running_loop and friends) ----------
std::shared_ptr<EventLoop> new_event_loop(LoopOptions options = {});
// The loop running on this thread; RuntimeError("no running event loop") otherwise.
EventLoop& get_running_loop();
// The running loop, else the one set for this thread, else a new one set for
// it, only while set_event_loop was never called on this thread (asyncio
// 3.11): after set_event_loop(nullptr), as aiocpp::run ends, RuntimeError.
EventLoop& get_event_loop();
void set_event_loop(std::shared_ptr<EventLoop> loop);

// --- Inline definitions ---------------------------------------------------------------

inline detail::LoopImpl& detail::Access::impl(EventLoop& loop) noexcept { return *loop.impl_; }
template <class F>
auto detail::Access::reply_on_loop(EventLoop& loop, F&& callback) {
  return loop.reply_on_loop(std::forward<F>(callback));
}

template <class F, class... Args>
Handle EventLoop::call_soon(F&& callback, Args&&... args) {
  detail::HandleState* state = new_handle();
  state->callback.emplace(bind(std::forward<F>(callback), std::forward<Args>(args)...));
  return schedule_soon(state);
}

template <class F, class... Args>
Handle EventLoop::call_soon_threadsafe(F&& callback, Args&&... args) {
  detail::HandleState* state = detail::HandleState::make();
  state->callback.emplace(bind(std::forward<F>(callback), std::forward<Args>(args)...));
  return schedule_soon_threadsafe(state);
}

template <class F, class... Args>
TimerHandle EventLoop::call_later(double delay, F&& callback, Args&&... args) {
  return call_at(time() + delay, std::forward<F>(callback), std::forward<Args>(args)...);
}

template <class F, class... Args>
TimerHandle EventLoop::call_at(double when, F&& callback, Args&&... args) {
  detail::HandleState* state = new_handle();
  state->callback.emplace(bind(std::forward<F>(callback), std::forward<Args>(args)...));
  return schedule_at(state, when);
}

template <class F, class... Args>
void EventLoop::add_reader(int fd, F&& callback, Args&&... args) {
  detail::HandleState* state = new_handle();
  state->callback.emplace(bind(std::forward<F>(callback), std::forward<Args>(args)...));
  watch_fd(fd, unscheduled(state), false);
}

template <class F, class... Args>
void EventLoop::add_writer(int fd, F&& callback, Args&&... args) {
  detail::HandleState* state = new_handle();
  state->callback.emplace(bind(std::forward<F>(callback), std::forward<Args>(args)...));
  watch_fd(fd, unscheduled(state), true);
}

template <class F, class... Args>
void EventLoop::add_signal_handler(int sig, F&& callback, Args&&... args) {
  detail::HandleState* state = new_handle();
  state->callback.emplace(bind(std::forward<F>(callback), std::forward<Args>(args)...));
  set_signal_handler(sig, unscheduled(state));
}

template <class F>
auto EventLoop::run_in_executor(Executor* executor, F fn) -> Future<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  Executor& target = executor_for(executor);
  Future<R> result = create_future<R>();
  // What the job produced: written by the worker, read on the loop's thread
  // after the reply has crossed the loop's thread-safe queue.
  struct Outcome {
    std::optional<detail::Stored<R>> value;
    std::exception_ptr error;
  };
  auto outcome = std::make_shared<Outcome>();
  // Lifetime: the future stays in the reply's callback, on the loop's thread;
  // the job holds only the reply and the outcome (see LoopReply).
  std::shared_ptr<detail::LoopReply> reply = reply_on_loop([result, outcome]() mutable {
    if (result.done()) return;  // cancelled meanwhile
    if (outcome->error) {
      result.set_exception(outcome->error);
    } else if (!outcome->value) {
      result.cancel();  // the executor dropped the job without running it
    } else if constexpr (std::is_void_v<R>) {
      result.set_result();
    } else {
      result.set_result(std::move(*outcome->value));
    }
  });
  target.submit([reply, outcome, fn = std::move(fn)]() mutable {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
        outcome->value.emplace();
      } else {
        outcome->value.emplace(fn());
      }
    } catch (...) {
      outcome->error = std::current_exception();
    }
    reply->send();
  });
  return result;
}

template <class F>
std::shared_ptr<detail::LoopReply> EventLoop::reply_on_loop(F&& callback) {
  detail::HandleState* state = new_handle();
  state->callback.emplace(std::forward<F>(callback));
  return reserve_reply(state);
}

template <class T>
Task<T> EventLoop::create_task(Task<T> task, std::string name) {
  schedule_task(*detail::Access::task(task), std::move(name));
  return task;
}

template <class T>
T EventLoop::run_until_complete(Future<T> future) {
  run_until_done(*detail::Access::state(future));
  if constexpr (std::is_void_v<T>) {
    future.result();
  } else {
    return std::move(future.result());
  }
}

template <class T>
T EventLoop::run_until_complete(Task<T> task) {
  if (!detail::Access::task(task)->scheduled()) (void)create_task(task);
  return run_until_complete(static_cast<Future<T>&>(task));
}

// Each factory-taking method: `with_factory` checks and erases the factory
// here, outside any co_await expression (see the README's note on GCC 12);
// the lambda runs at once, so its captures by reference are safe.
template <class F>
auto EventLoop::create_connection(F factory, std::string host, int port,
                                  ConnectionOptions options) {
  return with_factory<detail::FactoryFor::stream>(std::move(factory), [&](ProtocolFactory f) {
    return create_connection_impl(std::move(f), std::move(host), port, std::move(options));
  });
}

template <class F>
auto EventLoop::create_connection(F factory, ConnectionOptions options) {
  return with_factory<detail::FactoryFor::stream>(std::move(factory), [&](ProtocolFactory f) {
    return create_connection_impl(std::move(f), std::nullopt, 0, std::move(options));
  });
}

template <class F>
auto EventLoop::create_unix_connection(F factory, std::string path, UnixConnectionOptions options) {
  return with_factory<detail::FactoryFor::stream>(std::move(factory), [&](ProtocolFactory f) {
    return create_unix_connection_impl(std::move(f), std::move(path), -1, std::move(options));
  });
}

template <class F>
auto EventLoop::create_unix_connection(F factory, int sock, UnixConnectionOptions options) {
  return with_factory<detail::FactoryFor::stream>(std::move(factory), [&](ProtocolFactory f) {
    return create_unix_connection_impl(std::move(f), std::nullopt, sock, std::move(options));
  });
}

template <class F>
auto EventLoop::connect_accepted_socket(F factory, int sock, AcceptedSocketOptions options) {
  return with_factory<detail::FactoryFor::stream>(std::move(factory), [&](ProtocolFactory f) {
    return connect_accepted_socket_impl(std::move(f), sock, std::move(options));
  });
}

template <class F>
auto EventLoop::create_datagram_endpoint(F factory, DatagramEndpointOptions options) {
  return with_factory<detail::FactoryFor::datagram>(
      std::move(factory), [&](detail::DatagramProtocolFactory f) {
        return create_datagram_endpoint_impl(std::move(f), std::move(options));
      });
}

template <class F>
auto EventLoop::connect_read_pipe(F factory, int fd) {
  return with_factory<detail::FactoryFor::read_pipe>(std::move(factory), [&](ProtocolFactory f) {
    return connect_read_pipe_impl(std::move(f), fd);
  });
}

template <class F>
auto EventLoop::connect_write_pipe(F factory, int fd) {
  return with_factory<detail::FactoryFor::write_pipe>(std::move(factory), [&](ProtocolFactory f) {
    return connect_write_pipe_impl(std::move(f), fd);
  });
}

template <class F>
auto EventLoop::subprocess_exec(F factory, std::vector<std::string> argv,
                                SubprocessOptions options) {
  return with_factory<detail::FactoryFor::subprocess>(std::move(factory), [&](ProtocolFactory f) {
    return subprocess_impl(std::move(f), std::move(argv), std::move(options), false);
  });
}

template <class F>
auto EventLoop::subprocess_shell(F factory, std::string cmd, SubprocessOptions options) {
  std::vector<std::string> argv{"/bin/sh", "-c", std::move(cmd)};
  return with_factory<detail::FactoryFor::subprocess>(std::move(factory), [&](ProtocolFactory f) {
    return subprocess_impl(std::move(f), std::move(argv), std::move(options), true);
  });
}

}  // namespace aiocpp
