// hilt HLS kernel library: stream type.
//
// Under Vitis HLS (__SYNTHESIS__) or when HILT_VENDOR_STREAM is defined, hls::stream is the vendor's.
// For g++ C simulation it is this small FIFO, written for hilt (no vendor code), with the subset of the
// interface the kernels use: write, read, empty, size and the << / >> operators.
#ifndef HILT_STREAM_H
#define HILT_STREAM_H

#if defined(__SYNTHESIS__) || defined(HILT_VENDOR_STREAM)
#include <hls_stream.h>
#else
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace hls {

/// An unbounded FIFO; reading an empty stream is a C-simulation error (a real design would deadlock).
template <typename T>
class stream {
 public:
  stream() {}
  explicit stream(const char *name) { (void)name; }
  void write(const T &v) { q_.push_back(v); }
  T read() {
    if (q_.empty()) {
      std::fprintf(stderr, "hilt C-sim: read from an empty stream\n");
      std::abort();
    }
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  bool empty() const { return q_.empty(); }
  std::size_t size() const { return q_.size(); }
  void operator<<(const T &v) { write(v); }
  void operator>>(T &v) { v = read(); }

 private:
  stream(const stream &);
  stream &operator=(const stream &);
  std::deque<T> q_;
};

}  // namespace hls
#endif

// HLS pragmas through _Pragma, so g++ -Wall -Werror sees no unknown pragmas in C simulation.
#define HILT_STR(x) #x
#ifdef __SYNTHESIS__
#define HILT_HLS(x) _Pragma(HILT_STR(HLS x))
#else
#define HILT_HLS(x)
#endif

#endif  // HILT_STREAM_H
