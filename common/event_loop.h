// EventLoop: one Asio io_context behind a small interface, so that only
// common/*.cc pays for Asio's headers.
//
// Design
//   A daemon creates one EventLoop in main() (after Daemon::Start(), which
//   may fork) and runs it on its main thread; sessions, listeners, timers
//   and the unixctl server all run their callbacks there.  Run() keeps
//   going while idle until Stop().  RunUntil() runs callbacks until a
//   predicate holds or a deadline passes: the blocking client uses it.
//   Destroy Timers, Listeners and the owners of Sessions before their
//   EventLoop; callbacks still pending when the loop is destroyed are
//   dropped, not run.  Create the loop after Daemon::Start() (fork).
//
// Thread-safety
//   Post() and Stop() may be called from any thread.  Everything else,
//   Timer included, belongs to the thread that runs the loop.
#ifndef SPATE_COMMON_EVENT_LOOP_H
#define SPATE_COMMON_EVENT_LOOP_H

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>

namespace spate::common {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs callbacks until Stop().  Returns at once if already stopped.
  void Run();
  // Runs callbacks until `done()` is true (checked after each callback),
  // Stop(), or `timeout` elapses.  Returns done().
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout);
  // Runs ready callbacks without waiting; returns how many ran.
  size_t Poll();
  // Makes Run()/RunUntil() return.  Thread-safe.  Later Run() calls return
  // at once until Restart().
  void Stop();
  // Clears a Stop() so the loop can run again.
  void Restart();
  bool stopped() const;

  // Queues `fn` to run on the loop thread.  Thread-safe.
  void Post(std::function<void()> fn);

  // Calls `fn` on the loop thread when one of `signals` (SIGTERM, SIGINT,
  // SIGHUP, ...) arrives; repeats until the loop is destroyed.
  void OnSignals(std::initializer_list<int> signals, std::function<void(int)> fn);

  // Opaque access for common/'s own .cc files (the Asio io_context).
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;  // io_context, work guard, signal sets.
};

// A one-shot timer on an EventLoop.  Destroying it cancels it.
class Timer {
 public:
  explicit Timer(EventLoop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer: `fn` runs on the loop thread after `delay`, unless
  // Cancel()ed, re-armed or destroyed first.
  void Start(std::chrono::milliseconds delay, std::function<void()> fn);
  // Disarms the timer; its callback will not run.
  void Cancel();
  // True while armed.
  bool armed() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // Shared with the pending wait's handler.
};

}  // namespace spate::common

#endif  // SPATE_COMMON_EVENT_LOOP_H
