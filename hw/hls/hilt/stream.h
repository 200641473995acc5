// hilt HLS kernel library: stream type and the C-simulation runtime behind it.
//
// Under Vitis HLS (__SYNTHESIS__) or when HILT_VENDOR_HEADERS is defined (HILT_VENDOR_STREAM is the old
// name of that switch), hls::stream is the vendor's <hls_stream.h>. Otherwise it is this shim, written
// for hilt (no vendor code):
//
// - default: a FIFO bounded at its declared depth (2 where none is declared, as in Vitis), shared by the
//   concurrent processes of dataflow.h. read() blocks while the FIFO is empty, write() while it is full.
//   When every process is blocked (each waiting on an empty or full FIFO, or on a region whose processes
//   all are), the simulation prints the blocked processes and the full FIFOs by name and exits with
//   code 1: the hang the same design would show in hardware. The test is exact, not a time-out: a
//   process counts as blocked only while the condition it waits for is false.
//   Processes are coroutines on one OS thread (ucontext): a process runs until it blocks, then the next
//   ready one continues; deterministic, and a depth-2 FIFO costs a context switch per value or two.
// - -DHILT_CSIM_THREADS: the same semantics with every process an OS thread, all state under one mutex,
//   blocked processes waiting on condition variables (real parallelism; much slower on a busy machine,
//   where every hand-over waits for the OS scheduler).
// - -DHILT_CSIM_UNBOUNDED: the fast mode for quick runs: unbounded queues, dataflow processes run one
//   after the other in program order, reading an empty stream ends the simulation (exit 1).
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
#include <functional>
#include <set>
#include <vector>
#ifdef HILT_CSIM_THREADS
#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <mutex>
#else
#include <ucontext.h>
#endif
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

/// One simulated process: the testbench's main thread, or one HILT_PROCESS of a dataflow region.
struct process {
  enum state_t { RUNNING, READING, WRITING, JOINING, DONE };
  std::string name;
  long id = 0;                  // start order, for reports in a stable order
  state_t state = RUNNING;
  const channel *on = nullptr;  // the stream a READING / WRITING process waits for
  region *joins = nullptr;      // the region a JOINING process waits for
#ifndef HILT_CSIM_THREADS
  ucontext_t ctx;
  void *stack = nullptr;
  std::function<void()> fn;
  region *reg = nullptr;
  bool queued = false;
#endif
};

struct by_id {
  bool operator()(const process *a, const process *b) const { return a->id < b->id; }
};

/// One dataflow region: the processes it started and how many have not finished.
struct region {
  std::vector<process *> procs;
  int running = 0;
#ifdef HILT_CSIM_THREADS
  std::vector<pthread_t> threads;
  std::condition_variable done;
#else
  process *parent = nullptr;
#endif
};

/// Every process and stream, and the deadlock report.
struct registry {
  std::set<process *, by_id> procs;
  std::set<const channel *> chans;
  long next_id = 0;

  [[noreturn]] void report_deadlock() {
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
    for (const channel *c : chans)
      if (c->count() >= c->depth) full += " '" + c->name + "' (" + std::to_string(c->depth) + ")";
    for (const process *p : procs)
      if (p->state == process::READING) empty += " '" + p->on->name + "'";
    std::fprintf(stderr, "  full streams:%s\n  empty streams read by a blocked process:%s\n",
                 full.empty() ? " none" : full.c_str(), empty.empty() ? " none" : empty.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(1);
  }
};

#ifdef HILT_CSIM_THREADS
// ---- OS threads: every process a thread, all state under one mutex --------------------------------

#ifndef HILT_CSIM_SPIN
#define HILT_CSIM_SPIN 16  // yields before a blocked process sleeps (0: sleep at once)
#endif

struct runtime : registry {
  std::mutex mu;

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
    if (any_blocked) report_deadlock();
  }
};

typedef std::condition_variable waitq;
typedef std::unique_lock<std::mutex> lock_t;
inline lock_t lock() { return lock_t(runtime::get().mu); }
inline void notify(waitq &w) { w.notify_all(); }

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
    p->id = runtime::get().next_id++;
    runtime::get().procs.insert(p);
  }
  return p;
}

/// Block the calling process on `c` until `ready()` holds (lk holds the runtime's mutex).
template <class Ready>
inline void block(lock_t &lk, waitq &cv, const channel *c, process::state_t why, Ready ready) {
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

#else
// ---- Coroutines (default): every process a context of its own on one OS thread --------------------
// A process runs until it blocks; then the next ready one continues. No OS scheduling between values,
// so a depth-2 FIFO costs a context switch (well under a microsecond) rather than a thread wake-up,
// and runs are deterministic. A blocked process is ready again as soon as its FIFO changes.

struct runtime : registry {
  std::deque<process *> ready;
  process *current;
  process main_proc;

  runtime() {
    main_proc.name = "main";
    main_proc.id = next_id++;
    procs.insert(&main_proc);
    current = &main_proc;
  }

  static runtime &get() {
    static runtime *rt = new runtime;
    return *rt;
  }

  void wake(process *p) {
    if (!p->queued) {
      p->queued = true;
      ready.push_back(p);
    }
  }

  /// Leave the current process (blocked, joining or done) for the next ready one; with none, it is a deadlock.
  void schedule() {
    if (ready.empty()) report_deadlock();
    process *next = ready.front();
    ready.pop_front();
    next->queued = false;
    process *prev = current;
    current = next;
    if (next == prev) return;
    if (prev->state == process::DONE)
      setcontext(&next->ctx);  // a finished process never resumes; its stack is freed by its region
    else
      swapcontext(&prev->ctx, &next->ctx);
  }
};

/// The processes waiting on one FIFO (its reader or its writer).
struct waitq {
  std::vector<process *> w;
};
struct lock_t {
  lock_t() {}  // one OS thread: nothing to lock
  ~lock_t() {}
};
inline lock_t lock() { return lock_t(); }
inline void notify(waitq &q) {
  if (q.w.empty()) return;
  for (process *p : q.w) runtime::get().wake(p);
  q.w.clear();
}

template <class Ready>
inline void block(lock_t &, waitq &q, const channel *c, process::state_t why, Ready ready) {
  runtime &rt = runtime::get();
  process *p = rt.current;
  while (!ready()) {
    p->state = why;
    p->on = c;
    q.w.push_back(p);
    rt.schedule();
  }
  p->state = process::RUNNING;
  p->on = nullptr;
}

#endif
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
    hilt::csim::lock_t lk = hilt::csim::lock();
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
    hilt::csim::lock_t lk = hilt::csim::lock();
    if (q_.size() >= depth)
      hilt::csim::block(lk, waiting_, this, hilt::csim::process::WRITING, [this] { return q_.size() < depth; });
    q_.push_back(v);
    hilt::csim::notify(waiting_);
  }
  T read() {
    hilt::csim::lock_t lk = hilt::csim::lock();
    if (q_.empty())
      hilt::csim::block(lk, waiting_, this, hilt::csim::process::READING, [this] { return !q_.empty(); });
    T v = q_.front();
    q_.pop_front();
    hilt::csim::notify(waiting_);
    return v;
  }
  bool empty() const {
    hilt::csim::lock_t lk = hilt::csim::lock();
    return q_.empty();
  }
  bool full() const {
    hilt::csim::lock_t lk = hilt::csim::lock();
    return q_.size() >= depth;
  }
  std::size_t size() const {
    hilt::csim::lock_t lk = hilt::csim::lock();
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
    hilt::csim::lock_t lk = hilt::csim::lock();
    hilt::csim::runtime::get().chans.insert(this);
#endif
  }
  std::deque<T> q_;
#ifndef HILT_CSIM_UNBOUNDED
  hilt::csim::waitq waiting_;  // its reader or writer, while blocked on it
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
