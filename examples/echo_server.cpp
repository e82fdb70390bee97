// TCP echo server: seed 004 ("传输和协议", the asyncio documentation's
// EchoServerProtocol). For each connection it prints the peer, echoes the
// first data it receives and closes the connection.
//
//   $ echo_server                      $ echo_client
//   Connection from ('127.0.0.1', 54321)
//   Data received: 'Hello World!'
//   Send: 'Hello World!'
//   Close the client socket
//
// With --port 0 the kernel picks the port, which is then printed to stderr as
// "Serving on ('127.0.0.1', PORT)" (the seed has a fixed port and prints nothing).
// SIGINT / SIGTERM cancel serve_forever(), as Ctrl+C does under asyncio.run.
//
// --workers N (not in the seed): one loop per core. N threads each run a
// loop of their own with a server on the same port (reuse_port: the kernel
// spreads the connections over them); a signal stops them all, and each
// then prints to stderr how many connections it served.

#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

// One line to stdout in one piece: with --workers, several loops print at once.
void say(const std::string& line) { std::cout << line + "\n" << std::flush; }

class EchoServerProtocol : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override {
    aiocpp::SocketAddress peername = transport.peername();
    say("Connection from " + peername.to_string());
    transport_ = &transport;
  }

  void data_received(std::string_view data) override {
    std::string message = examples::py_repr(data);  // data.decode(), then {!r}
    say("Data received: " + message);

    say("Send: " + message);
    transport_->write(data);

    say("Close the client socket");
    transport_->close();
  }

 private:
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
};

// --- One loop per core (--workers) ------------------------------------------------------

// The loops of --workers N, each on a thread of its own (the first on the
// main thread), and how a signal reaches them all.
class Workers {
 public:
  explicit Workers(std::size_t count) : workers_(count) {}
  // Stops and joins the threads, also when starting them failed half way.
  ~Workers() {
    stop();
    join_others();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Listens on `host`:`port` for worker `index`, on the running loop.
  aiocpp::Task<std::shared_ptr<aiocpp::Server>> listen(std::size_t index, std::string host,
                                                       int port) {
    Worker& self = workers_[index];
    auto factory = [&self] {
      ++self.connections;  // only ever on this worker's loop
      return std::make_shared<EchoServerProtocol>();
    };
    aiocpp::ServerOptions options{.reuse_port = true};
    co_return co_await aiocpp::get_running_loop().create_server(factory, host, port, options);
  }

  // Serves with worker `index`'s server until stop().
  aiocpp::Task<> serve(std::size_t index, std::shared_ptr<aiocpp::Server> server) {
    aiocpp::EventLoop& loop = aiocpp::get_running_loop();
    Worker& self = workers_[index];
    aiocpp::Task<> serving = loop.create_task(
        aiocpp::async_with(server, [server]() { return server->serve_forever(); }));
    attach(self, loop, serving);
    try {
      co_await serving;
    } catch (const aiocpp::CancelledError&) {
      // Stopped: the server is closed, its clients too.
    }
    detach(self);
  }

  // Starts workers 1..N-1 on threads of their own, serving `port` beside
  // worker 0; returns once every one listens, or throws why one could not.
  void start_others(const std::string& host, int port, const aiocpp::LoopOptions& loop) {
    std::vector<std::future<void>> listening;
    for (std::size_t i = 1; i < workers_.size(); ++i) {
      auto ready = std::make_shared<std::promise<void>>();
      listening.push_back(ready->get_future());
      workers_[i].thread = std::thread([this, i, host, port, loop, ready] {
        try {
          aiocpp::run(listen_then_serve(i, host, port, ready), {.loop = loop});
        } catch (...) {
          // The loop could not be made, or the server: tell start_others
          // (which has its answer already if this worker got to listen).
          try {
            ready->set_exception(std::current_exception());
          } catch (const std::future_error&) {
          }
        }
      });
    }
    for (std::future<void>& f : listening) f.get();
  }

  // From any thread: cancels every worker's serve_forever, on its own loop.
  void stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (Worker& worker : workers_) {
      if (worker.loop) worker.loop->call_soon_threadsafe([&worker] { cancel(worker); });
    }
  }

  // After the threads ended: "worker 0 served 5 connections" lines on stderr.
  void report() const {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      std::cerr << "worker " << i << " served " << workers_[i].connections << " connections"
                << std::endl;
    }
  }

  void join_others() {
    for (Worker& worker : workers_) {
      if (worker.thread.joinable()) worker.thread.join();
    }
  }

 private:
  struct Worker {
    std::thread thread;  // none for worker 0, which runs on the main thread
    std::size_t connections = 0;
    // While serving (under mutex_): where stop() sends the cancellation.
    aiocpp::EventLoop* loop = nullptr;
    aiocpp::Task<>* serving = nullptr;  // read and written on the worker's loop only
  };

  void attach(Worker& worker, aiocpp::EventLoop& loop, aiocpp::Task<>& serving) {
    std::lock_guard<std::mutex> lock(mutex_);
    worker.serving = &serving;
    worker.loop = &loop;
    if (stopping_) serving.cancel();  // the signal came while this one started
  }
  // Before the loop closes: stop() must not reach a closed loop.
  void detach(Worker& worker) {
    std::lock_guard<std::mutex> lock(mutex_);
    worker.loop = nullptr;
    worker.serving = nullptr;
  }
  static void cancel(Worker& worker) {
    if (worker.serving) worker.serving->cancel();
  }
  aiocpp::Task<> listen_then_serve(std::size_t index, std::string host, int port,
                                   std::shared_ptr<std::promise<void>> ready) {
    std::shared_ptr<aiocpp::Server> server = co_await listen(index, host, port);
    ready->set_value();
    co_await serve(index, server);
  }

  std::mutex mutex_;
  bool stopping_ = false;
  std::vector<Worker> workers_;
};

// Worker 0, on the main thread: listens first (so that with --port 0 the
// others learn the port the kernel picked), starts the others, then serves
// until a signal stops them all.
aiocpp::Task<> serve_on_workers(examples::Args args, Workers& workers, std::size_t count) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  std::shared_ptr<aiocpp::Server> server = co_await workers.listen(0, args.host, args.port);
  aiocpp::SocketAddress address = server->sockets().at(0).getsockname();
  int port = address.port();
  auto start_others = [&workers, &args, port] {
    workers.start_others(args.host, port, args.loop_options());
  };
  co_await aiocpp::to_thread(start_others);
  examples::StopSignals stop(loop, [&workers] { workers.stop(); });
  if (args.port == 0) {
    std::cerr << "Serving on " << address.to_string() << " with " << count << " workers"
              << std::endl;
  }
  co_await workers.serve(0, server);
}

aiocpp::Task<> amain(examples::Args args) {
  // Get a reference to the event loop as we plan to use low-level APIs.
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();

  std::shared_ptr<aiocpp::Server> server = co_await loop.create_server(
      [] { return std::make_shared<EchoServerProtocol>(); }, args.host, args.port);
  if (args.port == 0) {
    std::cerr << "Serving on " << server->sockets().at(0).getsockname().to_string() << std::endl;
  }

  // async with server: await server.serve_forever()
  aiocpp::Task<> serving =
      loop.create_task(aiocpp::async_with(server, [server]() { return server->serve_forever(); }));
  examples::StopSignals stop(loop, [serving]() mutable { serving.cancel(); });
  try {
    co_await serving;
  } catch (const aiocpp::CancelledError&) {
    // Stopped by a signal: the server is closed, exit cleanly.
  }
}

}  // namespace

int main(int argc, char** argv) {
  examples::block_stop_signals();
  std::string workers_text = "1";
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "TCP echo server from seed 004 (asyncio docs' EchoServerProtocol, via\n"
      "\"传输和协议\"): prints each connection's peer, echoes the first data it\n"
      "receives, then closes the connection. Serves until SIGINT or SIGTERM.\n"
      "With --port 0 the chosen port is printed to stderr.",
      {{"--workers", "N",
        "serve with N loops, one per thread, on one port (reuse_port); on exit each\n"
        "                 says how many connections it served (default: 1)",
        &workers_text}});
  std::size_t workers = 0;
  try {
    std::size_t used = 0;
    workers = std::stoul(workers_text, &used);
    if (used != workers_text.size() || workers == 0 || workers > 1024) workers = 0;
  } catch (const std::exception&) {
  }
  if (workers == 0) {
    std::cerr << argv[0] << ": error: argument --workers: expected a number from 1 to 1024, got '"
              << workers_text << "'" << std::endl;
    return 2;
  }
  try {
    if (workers == 1) {
      aiocpp::run(amain(args), args.run_options());
    } else {
      Workers pool(workers);  // on an exception, its destructor stops and joins the others
      aiocpp::run(serve_on_workers(args, pool, workers), args.run_options());
      pool.join_others();
      pool.report();
    }
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
