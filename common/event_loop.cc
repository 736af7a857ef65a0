// EventLoop and Timer over Asio: see event_loop.h.
#include "common/event_loop.h"

#include "common/internal/asio_glue.h"

namespace spate::common {

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}

EventLoop::~EventLoop() {
  // Pending handlers (which may point at watchers and sessions) are
  // destroyed, not run, when the io_context goes away.
  impl_->io.stop();
}

void EventLoop::Run() { impl_->io.run(); }

bool EventLoop::RunUntil(const std::function<bool()>& done,
                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (impl_->io.stopped()) return done();
    if (std::chrono::steady_clock::now() >= deadline) return false;
    impl_->io.run_one_until(deadline);
  }
  return true;
}

size_t EventLoop::Poll() { return impl_->io.poll(); }

void EventLoop::Stop() { impl_->io.stop(); }

void EventLoop::Restart() { impl_->io.restart(); }

bool EventLoop::stopped() const { return impl_->io.stopped(); }

void EventLoop::Post(std::function<void()> fn) {
  asio::post(impl_->io, std::move(fn));
}

void EventLoop::OnSignals(std::initializer_list<int> signals,
                          std::function<void(int)> fn) {
  auto watcher = std::make_unique<SignalWatcher>(impl_->io, std::move(fn));
  for (int s : signals) watcher->set.add(s);
  watcher->Arm();
  impl_->signals.push_back(std::move(watcher));
}

// ------------------------------------------------------------ Timer

struct Timer::Impl {
  explicit Impl(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;       // The Asio timer.
  std::function<void()> fn;       // Callback of the current arming.
  uint64_t generation = 0;        // Bumped by Start/Cancel.
  bool armed = false;             // Waiting to fire.
};

Timer::Timer(EventLoop& loop)
    : impl_(std::make_shared<Impl>(IoContext(loop))) {}

Timer::~Timer() { Cancel(); }

void Timer::Start(std::chrono::milliseconds delay, std::function<void()> fn) {
  Impl& t = *impl_;
  uint64_t gen = ++t.generation;
  t.fn = std::move(fn);
  t.armed = true;
  t.timer.expires_after(delay);
  t.timer.async_wait([impl = impl_, gen](const std::error_code& ec) {
    if (ec || impl->generation != gen || !impl->armed) return;
    impl->armed = false;
    std::function<void()> fn = std::move(impl->fn);
    fn();
  });
}

void Timer::Cancel() {
  Impl& t = *impl_;
  t.generation++;
  t.armed = false;
  t.fn = nullptr;
  t.timer.cancel();
}

bool Timer::armed() const { return impl_->armed; }

}  // namespace spate::common
