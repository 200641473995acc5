// hilt HLS kernel library: stream type and the C-simulation runtime behind it.
//
// Under Vitis HLS (__SYNTHESIS__) or when HILT_VENDOR_HEADERS is defined (HILT_VENDOR_STREAM is the old
// name of that switch), hls::stream is the vendor's <hls_stream.h>. Otherwise it is this shim, written
// for hilt (no vendor code), in one of two modes:
//
// - default: a FIFO bounded at its declared depth (2 where none is declared, as in Vitis), safe for the
//   concurrent processes of dataflow.h. read() blocks while the FIFO is empty, write() while it is full.
//   When every process is blocked (each waiting on an empty or full FIFO that nobody running can change,
//   or on a region whose processes are all so blocked), the simulation prints the blocked processes and
//   the full FIFOs by name and exits with code 1: the hang the same design would show in hardware.
// - -DHILT_CSIM_UNBOUNDED: the fast mode for quick runs: unbounded queues, dataflow processes run one
//   after the other in program order, reading an empty stream ends the simulation (exit 1).
//
// Every process state change happens under one mutex, so the deadlock test is exact: a process counts
// as blocked only while the condition it waits for is false, evaluated under that mutex.
#ifndef HILT_STREAM_H
#define HILT_STREAM_H

#if defined(HILT_VENDOR_STREAM) && !defined(HILT_VENDOR_HEADERS)
#define HILT_VENDOR_HEADERS
#endif

#if defined(__SYNTHESIS__) || defined(HILT_VENDOR_HEADERS)
#include <hls_stream.h>
#define HILT_SHIM_STREAM 0
#else
#define HILT_SHIM_STREAM 1
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

#ifndef HILT_CSIM_UNBOUNDED
#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <vector>
#endif

namespace hilt {
namespace csim {

/// What the deadlock report needs to know of a stream, whatever its element type.
struct channel {
  std::string name;
  std::size_t depth;
  virtual std::size_t count() const = 0;  // elements held (called under the runtime's mutex)
  virtual ~channel() {}
};

inline std::string auto_name() {
  static std::atomic<int> n(0);  // only for streams declared without a name
  return "stream#" + std::to_string(n++);
}

#ifndef HILT_CSIM_UNBOUNDED

struct region;

#ifndef HILT_CSIM_SPIN
#define HILT_CSIM_SPIN 16  // yields before a blocked process sleeps (0: sleep at once)
#endif

/// One simulated process: the testbench's main thread, or one HILT_PROCESS of a dataflow region.
struct process {
  enum state_t { RUNNING, READING, WRITING, JOINING, DONE };
  std::string name;
  state_t state = RUNNING;
  const channel *on = nullptr;  // the stream a READING / WRITING process waits for
  region *joins = nullptr;      // the region a JOINING process waits for
};

/// One dataflow region: the processes it started and how many have not finished.
struct region {
  std::vector<process *> procs;
  std::vector<pthread_t> threads;
  int running = 0;
  std::condition_variable done;
};

/// The runtime: every process and stream, under one mutex.
struct runtime {
  std::mutex mu;
  std::set<process *> procs;
  std::set<const channel *> chans;

  static runtime &get() {
    static runtime *rt = new runtime;  // never destroyed: threads may outlive static destruction order
    return *rt;
  }

  /// Can `p` make progress now? (under mu)
  static bool runnable(const process *p) {
    switch (p->state) {
      case process::RUNNING: return true;
      case process::READING: return p->on->count() > 0;
      case process::WRITING: return p->on->count() < p->on->depth;
      case process::JOINING: return p->joins->running == 0;
      default: return false;
    }
  }

  /// Called under mu whenever a process blocks, joins or finishes: if no process can move, report and exit.
  void check() {
    bool any_blocked = false;
    for (const process *p : procs) {
      if (p->state == process::DONE) continue;
      if (runnable(p)) return;
      if (p->state == process::READING || p->state == process::WRITING) any_blocked = true;
    }
    if (!any_blocked) return;
    std::fprintf(stderr, "hilt C-sim: deadlock: every process is blocked\n");
    for (const process *p : procs) {
      if (p->state == process::READING)
        std::fprintf(stderr, "  process %s: blocked reading empty stream '%s' (depth %zu)\n", p->name.c_str(),
                     p->on->name.c_str(), p->on->depth);
      else if (p->state == process::WRITING)
        std::fprintf(stderr, "  process %s: blocked writing full stream '%s' (depth %zu)\n", p->name.c_str(),
                     p->on->name.c_str(), p->on->depth);
      else if (p->state == process::JOINING)
        std::fprintf(stderr, "  process %s: waiting for its dataflow region\n", p->name.c_str());
    }
    std::string full, empty;
    for (const channel *c : chans) {
      if (c->count() >= c->depth) full += " '" + c->name + "' (" + std::to_string(c->depth) + ")";
    }
    for (const process *p : procs)
      if (p->state == process::READING) empty += " '" + p->on->name + "'";
    std::fprintf(stderr, "  full streams:%s\n  empty streams read by a blocked process:%s\n",
                 full.empty() ? " none" : full.c_str(), empty.empty() ? " none" : empty.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(1);
  }
};

inline process *&current_slot() {
  static thread_local process *p = nullptr;
  return p;
}

/// The calling thread's process, under the runtime's mutex (the main thread registers itself on first use:
/// before it starts a region's processes, or when it blocks).
inline process *self_locked() {
  process *&p = current_slot();
  if (!p) {
    p = new process;
    p->name = "main";
    runtime::get().procs.insert(p);
  }
  return p;
}

/// Block the calling process on `c` until `ready()` holds (lk holds the runtime's mutex).
template <class Ready>
inline void block(std::unique_lock<std::mutex> &lk, std::condition_variable &cv, const channel *c,
                  process::state_t why, Ready ready) {
  // A FIFO at depth 2 empties and fills at every value: hand the processor to the other side a few times
  // before sleeping, which is far cheaper than a futex sleep and wake-up for each value.
  for (int spin = 0; spin < HILT_CSIM_SPIN && !ready(); spin++) {
    lk.unlock();
    sched_yield();
    lk.lock();
  }
  if (ready()) return;
  process *p = self_locked();
  p->state = why;
  p->on = c;
  while (!ready()) {
    runtime::get().check();
    cv.wait(lk);
  }
  p->state = process::RUNNING;
  p->on = nullptr;
}

#endif  // !HILT_CSIM_UNBOUNDED

}  // namespace csim
}  // namespace hilt

namespace hls {

/// A FIFO of T: bounded at its depth (default) or unbounded (HILT_CSIM_UNBOUNDED); see the file comment.
template <typename T>
class stream : public hilt::csim::channel {
 public:
  stream() { init(hilt::csim::auto_name()); }
  explicit stream(const char *name) { init(name); }
  ~stream() {
#ifndef HILT_CSIM_UNBOUNDED
    std::lock_guard<std::mutex> lk(hilt::csim::runtime::get().mu);
    hilt::csim::runtime::get().chans.erase(this);
#endif
  }

  /// The FIFO's capacity: what `#pragma HLS STREAM depth=` declares (HILT_STREAM calls this).
  void set_depth(std::size_t d) { depth = d > 0 ? d : 1; }

#ifdef HILT_CSIM_UNBOUNDED
  void write(const T &v) { q_.push_back(v); }
  T read() {
    if (q_.empty()) {
      std::fprintf(stderr, "hilt C-sim: read from empty stream '%s' (unbounded mode runs processes in order)\n",
                   name.c_str());
      std::fflush(stderr);
      std::_Exit(1);
    }
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  bool empty() const { return q_.empty(); }
  bool full() const { return false; }
  std::size_t size() const { return q_.size(); }
#else
  void write(const T &v) {
    std::unique_lock<std::mutex> lk(hilt::csim::runtime::get().mu);
    if (q_.size() >= depth)
      hilt::csim::block(lk, cv_, this, hilt::csim::process::WRITING, [this] { return q_.size() < depth; });
    q_.push_back(v);
    cv_.notify_all();
  }
  T read() {
    std::unique_lock<std::mutex> lk(hilt::csim::runtime::get().mu);
    if (q_.empty()) hilt::csim::block(lk, cv_, this, hilt::csim::process::READING, [this] { return !q_.empty(); });
    T v = q_.front();
    q_.pop_front();
    cv_.notify_all();
    return v;
  }
  bool empty() const {
    std::lock_guard<std::mutex> lk(hilt::csim::runtime::get().mu);
    return q_.empty();
  }
  bool full() const {
    std::lock_guard<std::mutex> lk(hilt::csim::runtime::get().mu);
    return q_.size() >= depth;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lk(hilt::csim::runtime::get().mu);
    return q_.size();
  }
#endif
  bool read_nb(T &v) {
    if (empty()) return false;
    v = read();
    return true;
  }
  bool write_nb(const T &v) {
    if (full()) return false;
    write(v);
    return true;
  }
  void operator<<(const T &v) { write(v); }
  void operator>>(T &v) { v = read(); }
  std::size_t count() const override { return q_.size(); }

 private:
  stream(const stream &);
  stream &operator=(const stream &);
  void init(const std::string &n) {
    name = n;
    depth = 2;
#ifndef HILT_CSIM_UNBOUNDED
    std::lock_guard<std::mutex> lk(hilt::csim::runtime::get().mu);
    hilt::csim::runtime::get().chans.insert(this);
#endif
  }
  std::deque<T> q_;
#ifndef HILT_CSIM_UNBOUNDED
  std::condition_variable cv_;
#endif
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
