#pragma once
// aiocpp: Python asyncio's event loop, transports and protocols in C++20.

#include "aiocpp/errors.hpp"
#include "aiocpp/event_loop.hpp"
#include "aiocpp/exception_context.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/handle.hpp"
#include "aiocpp/locks.hpp"
#include "aiocpp/protocols.hpp"
#include "aiocpp/queues.hpp"
#include "aiocpp/runners.hpp"
#include "aiocpp/server.hpp"
#include "aiocpp/socket_address.hpp"
#include "aiocpp/ssl.hpp"  // TLS: SSLContext, SSLError
#include "aiocpp/streams.hpp"
#include "aiocpp/subprocess.hpp"          // pipes and subprocesses
#include "aiocpp/subprocess_streams.hpp"  // create_subprocess_exec / _shell, Process
#include "aiocpp/task.hpp"
#include "aiocpp/task_wait.hpp"  // wait, as_completed
#include "aiocpp/taskgroups.hpp"
#include "aiocpp/tasks.hpp"
#include "aiocpp/threads.hpp"  // to_thread, run_coroutine_threadsafe, ConcurrentFuture
#include "aiocpp/timeouts.hpp"
#include "aiocpp/transports.hpp"
