// asyncio's subprocess module: SubprocessStreamProtocol (the streams of a
// child, fed by the subprocess transport), Process, and the two functions
// that start one.

#include "aiocpp/subprocess_streams.hpp"

#include <system_error>
#include <utility>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/tasks.hpp"
#include "core/flow_control.hpp"

namespace aiocpp {

namespace detail {

// asyncio's SubprocessStreamProtocol: a StreamReader per piped output, a
// StreamWriter on the stdin pipe (its drain() follows the pipe's flow
// control, forwarded here by the subprocess transport), and the transport
// closed once the child has exited and every output pipe is done.
class SubprocessStreamProtocol final
    : public SubprocessProtocol,
      public FlowControl,
      public std::enable_shared_from_this<SubprocessStreamProtocol> {
 public:
  explicit SubprocessStreamProtocol(long limit)
      : limit_(limit), stdin_closed_(get_running_loop().create_future<void>()) {}

  // Taken by Process: the writer holds this protocol (for drain), so this
  // protocol must not keep holding the writer, or neither would ever die.
  std::shared_ptr<StreamWriter> take_stdin() noexcept { return std::move(stdin_); }
  std::shared_ptr<StreamReader> stdout_;
  std::shared_ptr<StreamReader> stderr_;

  void connection_made(SubprocessTransport& transport) override {
    transport_ = &transport;
    stdout_ = reader_for(transport, 1);
    stderr_ = reader_for(transport, 2);
    if (auto pipe = std::dynamic_pointer_cast<WriteTransport>(transport.get_pipe_transport(0))) {
      stdin_pipe_ = pipe;
      stdin_ = std::make_shared<StreamWriter>(std::move(pipe), shared_from_this(), nullptr);
    }
  }

  void pipe_data_received(int fd, std::string_view data) override {
    if (StreamReader* reader = reader_of(fd)) reader->feed_data(data);
  }

  void pipe_connection_lost(int fd, std::exception_ptr error) override {
    if (fd == 0) {
      if (auto pipe = stdin_pipe_.lock()) pipe->close();
      flow_connection_lost(error);
      if (error) {
        stdin_closed_.set_exception(error);
        (void)stdin_closed_.exception();  // wait_closed() re-raises it; not "never retrieved"
      } else {
        stdin_closed_.set_result();
      }
      return;
    }
    if (StreamReader* reader = reader_of(fd)) {
      if (error) {
        reader->set_exception(error);
      } else {
        reader->feed_eof();
      }
      reader->set_transport(nullptr);
      open_outputs_ &= ~(1u << fd);
    }
    maybe_close_transport();
  }

  void process_exited() override {
    process_exited_ = true;
    maybe_close_transport();
  }

  void connection_lost(std::exception_ptr error) override {
    transport_ = nullptr;
    flow_connection_lost(error);
  }

  void pause_writing() override { flow_pause_writing(); }
  void resume_writing() override { flow_resume_writing(); }
  Future<void> close_waiter() const override { return stdin_closed_; }

 private:
  std::shared_ptr<StreamReader> reader_for(SubprocessTransport& transport, int fd) {
    auto pipe = std::dynamic_pointer_cast<ReadTransport>(transport.get_pipe_transport(fd));
    if (!pipe) return nullptr;
    auto reader = std::make_shared<StreamReader>(limit_);
    // Lifetime: the pipe transport lives at least until its
    // pipe_connection_lost, where the reader forgets it.
    reader->set_transport(pipe.get());
    open_outputs_ |= 1u << fd;
    return reader;
  }

  StreamReader* reader_of(int fd) const {
    if (fd == 1) return stdout_.get();
    if (fd == 2) return stderr_.get();
    return nullptr;
  }

  // asyncio's _maybe_close_transport: release the transport once nothing
  // more can come from it.
  void maybe_close_transport() {
    if (open_outputs_ == 0 && process_exited_ && transport_) {
      SubprocessTransport* transport = std::exchange(transport_, nullptr);
      transport->close();
    }
  }

  long limit_;
  Future<void> stdin_closed_;
  SubprocessTransport* transport_ = nullptr;  // valid until connection_lost
  std::shared_ptr<StreamWriter> stdin_;       // until Process takes it
  std::weak_ptr<WriteTransport> stdin_pipe_;
  unsigned open_outputs_ = 0;  // bit `fd` is set while output pipe fd is open
  bool process_exited_ = false;
};

}  // namespace detail

// --- Process ---------------------------------------------------------------------

Process::Process(std::shared_ptr<SubprocessTransport> transport,
                 std::shared_ptr<detail::SubprocessStreamProtocol> protocol)
    : stdin_(protocol->take_stdin()),
      stdout_(protocol->stdout_),
      stderr_(protocol->stderr_),
      pid(transport->get_pid()),
      transport_(std::move(transport)),
      protocol_(std::move(protocol)) {}

namespace {

// communicate()'s three parts, run concurrently. Each takes what it uses by
// value, so nothing depends on the Process object staying where it is.
Task<void> feed_stdin(std::shared_ptr<StreamWriter> stdin_, std::string input) {
  stdin_->write(input);
  try {
    co_await stdin_->drain();
  } catch (const std::system_error& e) {
    // The child closed its stdin without reading everything: not an error
    // for communicate() (asyncio ignores BrokenPipeError and ConnectionResetError).
    if (e.code() != std::errc::broken_pipe && e.code() != std::errc::connection_reset) throw;
  }
  stdin_->close();
}

Task<std::optional<std::string>> read_stream(std::shared_ptr<SubprocessTransport> transport, int fd,
                                             std::shared_ptr<StreamReader> reader) {
  if (!reader) co_return std::nullopt;
  std::string output = co_await reader->read();
  if (auto pipe = transport->get_pipe_transport(fd)) pipe->close();
  co_return output;
}

Task<void> nothing_to_feed() { co_return; }

Task<Communicated> communicate_impl(Process process, std::shared_ptr<SubprocessTransport> transport,
                                    std::optional<std::string> input) {
  if (input && !process.stdin_) {
    throw ValueError("communicate(input) needs a stdin pipe (stdin_ = subprocess::PIPE)");
  }
  Task<void> writing = input ? feed_stdin(process.stdin_, std::move(*input)) : nothing_to_feed();
  Task<std::optional<std::string>> out = read_stream(transport, 1, process.stdout_);
  Task<std::optional<std::string>> err = read_stream(transport, 2, process.stderr_);
  auto results = co_await gather(std::move(writing), std::move(out), std::move(err));
  co_await process.wait();
  co_return Communicated{std::move(std::get<1>(results)), std::move(std::get<2>(results))};
}

}  // namespace

Task<Communicated> Process::communicate(std::optional<std::string> input) {
  return communicate_impl(*this, transport_, std::move(input));
}

// --- Starting a child ------------------------------------------------------------

namespace {

SubprocessOptions loop_options(ProcessOptions o) {
  SubprocessOptions s;
  s.stdin_ = o.stdin_;
  s.stdout_ = o.stdout_;
  s.stderr_ = o.stderr_;
  s.cwd = std::move(o.cwd);
  s.env = std::move(o.env);
  s.start_new_session = o.start_new_session;
  s.close_fds = o.close_fds;
  s.pass_fds = std::move(o.pass_fds);
  s.user = o.user;
  s.group = o.group;
  s.extra_groups = std::move(o.extra_groups);
  return s;
}

}  // namespace

Task<Process> create_subprocess_exec(std::vector<std::string> argv, ProcessOptions options) {
  if (options.limit <= 0) throw ValueError("Limit cannot be <= 0");
  EventLoop& loop = get_running_loop();
  long limit = options.limit;
  auto factory = [limit] { return std::make_shared<detail::SubprocessStreamProtocol>(limit); };
  SubprocessOptions spawn = loop_options(std::move(options));
  auto started = co_await loop.subprocess_exec(factory, std::move(argv), std::move(spawn));
  co_return Process(std::move(started.transport), std::move(started.protocol));
}

Task<Process> create_subprocess_shell(std::string cmd, ProcessOptions options) {
  if (options.limit <= 0) throw ValueError("Limit cannot be <= 0");
  EventLoop& loop = get_running_loop();
  long limit = options.limit;
  auto factory = [limit] { return std::make_shared<detail::SubprocessStreamProtocol>(limit); };
  SubprocessOptions spawn = loop_options(std::move(options));
  auto started = co_await loop.subprocess_shell(factory, std::move(cmd), std::move(spawn));
  co_return Process(std::move(started.transport), std::move(started.protocol));
}

}  // namespace aiocpp
