// Test-only dataflow macros: every process of a region on its own thread, joined at the region's end;
// streams bounded at their declared depth (hls_stream.h beside this file).
#ifndef HILT_DATAFLOW_H
#define HILT_DATAFLOW_H

#include <thread>
#include <vector>

#include "hls_stream.h"

#define HILT_DATAFLOW_BEGIN() std::vector<std::thread> hilt_processes_
#define HILT_PROCESS(call) hilt_processes_.emplace_back([&] { call; })
#define HILT_DATAFLOW_END() \
  for (auto &t : hilt_processes_) t.join()
#define HILT_STREAM(type, name, n) hls::stream<type> name(n)

#endif
