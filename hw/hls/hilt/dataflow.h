// hilt HLS kernel library: dataflow regions and declared-depth streams.
//
//   HILT_DATAFLOW_BEGIN()             opens a dataflow region (#pragma HLS DATAFLOW under synthesis)
//   HILT_PROCESS(call);               one process of the region: under synthesis the plain call; in the
//                                     bounded C-sim a thread of its own, started at once
//   HILT_DATAFLOW_END()               waits for the region's processes (C-sim: a deadlock is reported and
//                                     the simulation exits with code 1)
//   HILT_STREAM(type, name, depth);   hls::stream<type> name("name") holding `depth` elements:
//                                     #pragma HLS STREAM under synthesis, the FIFO's bound in the C-sim
//
// A region lives in the scope it is opened in (one per scope, as DATAFLOW applies to one function or
// loop body); its processes may use anything declared in that scope. Under vendor headers and in the
// fast unbounded C-sim (HILT_CSIM_UNBOUNDED) the processes run one after the other in program order,
// as Vitis C simulation runs them, so they must be written in producer-before-consumer order.
#ifndef HILT_DATAFLOW_H
#define HILT_DATAFLOW_H

#include "stream.h"

#if HILT_SHIM_STREAM && !defined(HILT_CSIM_UNBOUNDED)
#include <cstring>
#ifndef HILT_CSIM_THREADS
#include <sys/mman.h>
#endif

#ifndef HILT_CSIM_STACK_MB
#define HILT_CSIM_STACK_MB 64  // line buffers and whole-map arrays live on the processes' stacks
#endif

namespace hilt {
namespace csim {

#ifdef HILT_CSIM_THREADS
/// The C-sim side of a dataflow region: one thread per process, joined at the end.
class dataflow {
 public:
  dataflow() {}
  ~dataflow() { join(); }

  void spawn(const char *name, std::function<void()> fn) {
    runtime &rt = runtime::get();
    task *t = new task;
    t->fn = fn;
    t->reg = &reg_;
    t->proc = new process;
    t->proc->name = name;
    {
      std::lock_guard<std::mutex> lk(rt.mu);
      self_locked();  // the spawning thread is a process too, from now on visible to the deadlock check
      t->proc->id = rt.next_id++;
      rt.procs.insert(t->proc);
      reg_.procs.push_back(t->proc);
      reg_.running++;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (std::size_t)HILT_CSIM_STACK_MB << 20);
    pthread_t th;
    const int err = pthread_create(&th, &attr, &dataflow::entry, t);
    pthread_attr_destroy(&attr);
    if (err != 0) {
      std::fprintf(stderr, "hilt C-sim: cannot start process %s: %s\n", name, std::strerror(err));
      std::_Exit(1);
    }
    reg_.threads.push_back(th);
  }

  void join() {
    if (reg_.threads.empty()) return;
    runtime &rt = runtime::get();
    {
      std::unique_lock<std::mutex> lk(rt.mu);
      process *me = self_locked();
      me->state = process::JOINING;
      me->joins = &reg_;
      while (reg_.running > 0) {
        rt.check();
        reg_.done.wait(lk);
      }
      me->state = process::RUNNING;
      me->joins = nullptr;
    }
    for (pthread_t th : reg_.threads) pthread_join(th, nullptr);
    std::lock_guard<std::mutex> lk(rt.mu);
    for (process *p : reg_.procs) {
      rt.procs.erase(p);
      delete p;
    }
    reg_.procs.clear();
    reg_.threads.clear();
  }

 private:
  struct task {
    std::function<void()> fn;
    region *reg;
    process *proc;
  };

  static void *entry(void *arg) {
    task *t = static_cast<task *>(arg);
    current_slot() = t->proc;
    t->fn();
    {
      runtime &rt = runtime::get();
      std::lock_guard<std::mutex> lk(rt.mu);
      t->proc->state = process::DONE;
      if (--t->reg->running == 0) t->reg->done.notify_all();
      rt.check();  // the processes left may all be waiting for this one
    }
    delete t;
    return nullptr;
  }

  dataflow(const dataflow &);
  dataflow &operator=(const dataflow &);
  region reg_;
};

#else
/// The C-sim side of a dataflow region: one coroutine per process, ready at once, joined at the end.
class dataflow {
 public:
  dataflow() {}
  ~dataflow() { join(); }

  void spawn(const char *name, std::function<void()> fn) {
    runtime &rt = runtime::get();
    process *p = new process;
    p->name = name;
    p->id = rt.next_id++;
    p->fn = fn;
    p->reg = &reg_;
    p->stack = take_stack();
    getcontext(&p->ctx);
    p->ctx.uc_stack.ss_sp = p->stack;
    p->ctx.uc_stack.ss_size = stack_bytes();
    p->ctx.uc_link = nullptr;
    makecontext(&p->ctx, &dataflow::entry, 0);
    rt.procs.insert(p);
    reg_.procs.push_back(p);
    reg_.running++;
    rt.wake(p);
  }

  void join() {
    if (reg_.procs.empty()) return;
    runtime &rt = runtime::get();
    process *me = rt.current;
    if (reg_.running > 0) {
      me->state = process::JOINING;
      me->joins = &reg_;
      reg_.parent = me;
      rt.schedule();  // back here once the last process of the region has finished
      me->state = process::RUNNING;
      me->joins = nullptr;
    }
    for (process *p : reg_.procs) {
      rt.procs.erase(p);
      give_stack(p->stack);
      delete p;
    }
    reg_.procs.clear();
  }

 private:
  static std::size_t stack_bytes() { return (std::size_t)HILT_CSIM_STACK_MB << 20; }

  // stacks are reused: a batch of samples opens the same regions again and again
  static std::vector<void *> &free_stacks() {
    static std::vector<void *> *s = new std::vector<void *>;
    return *s;
  }
  static void *take_stack() {
    if (!free_stacks().empty()) {
      void *s = free_stacks().back();
      free_stacks().pop_back();
      return s;
    }
    void *s = mmap(nullptr, stack_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (s == MAP_FAILED) {
      std::fprintf(stderr, "hilt C-sim: cannot map a %d MB process stack\n", HILT_CSIM_STACK_MB);
      std::_Exit(1);
    }
    return s;
  }
  static void give_stack(void *s) { free_stacks().push_back(s); }

  static void entry() {
    runtime &rt = runtime::get();
    process *p = rt.current;
    p->fn();
    p->fn = nullptr;
    p->state = process::DONE;
    if (--p->reg->running == 0 && p->reg->parent) rt.wake(p->reg->parent);
    rt.schedule();  // never returns
  }

  dataflow(const dataflow &);
  dataflow &operator=(const dataflow &);
  region reg_;
};
#endif

}  // namespace csim
}  // namespace hilt

#define HILT_DATAFLOW_BEGIN() ::hilt::csim::dataflow hilt_dataflow_region_;
#define HILT_PROCESS(...) hilt_dataflow_region_.spawn(#__VA_ARGS__, [&]() { __VA_ARGS__; })
#define HILT_DATAFLOW_END() hilt_dataflow_region_.join();
#else
#define HILT_DATAFLOW_BEGIN() HILT_HLS(DATAFLOW)
#define HILT_PROCESS(...) __VA_ARGS__
#define HILT_DATAFLOW_END()
#endif

#if HILT_SHIM_STREAM
#define HILT_SET_DEPTH(NAME_, DEPTH_) NAME_.set_depth(DEPTH_);
#else
#define HILT_SET_DEPTH(NAME_, DEPTH_)
#endif

#define HILT_STREAM(T_, NAME_, DEPTH_) \
  hls::stream<T_> NAME_(#NAME_);       \
  HILT_HLS(STREAM variable = NAME_ depth = DEPTH_)     \
  HILT_SET_DEPTH(NAME_, DEPTH_)                        \
  static_assert((DEPTH_) >= 1, "stream depth must be positive")

#endif  // HILT_DATAFLOW_H
