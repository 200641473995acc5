// Test-only hls::stream for checking the engine under hardware FIFO semantics: bounded at the declared
// depth, blocking on full and empty, shared by concurrently running processes (threads). A stream that
// stays blocked for WAIT_S seconds is reported as a deadlock (exit 1). Used with -DHILT_VENDOR_STREAM.
#ifndef HILT_TEST_BOUNDED_STREAM_H
#define HILT_TEST_BOUNDED_STREAM_H

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>

namespace hls {

template <typename T>
class stream {
 public:
  explicit stream(std::size_t depth = 2) : depth_(depth ? depth : 1) {}
  void write(const T &v) {
    std::unique_lock<std::mutex> lock(m_);
    wait(lock, [this] { return q_.size() < depth_; }, "full");
    q_.push_back(v);
    if (q_.size() > high_) high_ = q_.size();
    cv_.notify_all();
  }
  T read() {
    std::unique_lock<std::mutex> lock(m_);
    wait(lock, [this] { return !q_.empty(); }, "empty");
    T v = q_.front();
    q_.pop_front();
    cv_.notify_all();
    return v;
  }
  bool empty() {
    std::lock_guard<std::mutex> lock(m_);
    return q_.empty();
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(m_);
    return q_.size();
  }
  std::size_t high_water() const { return high_; }

 private:
  template <class Pred>
  void wait(std::unique_lock<std::mutex> &lock, Pred ready, const char *what) {
    if (!cv_.wait_for(lock, std::chrono::seconds(10), ready)) {
      std::fprintf(stderr, "deadlock: a stream of depth %zu stayed %s for 10 s\n", depth_, what);
      std::exit(1);
    }
  }
  std::size_t depth_, high_ = 0;
  std::deque<T> q_;
  std::mutex m_;
  std::condition_variable cv_;
};

}  // namespace hls

#endif
