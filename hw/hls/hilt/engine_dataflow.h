// hilt HLS kernel library: the dataflow-region macros the layer-sequential engine is written with.
//
// HILT_DATAFLOW_BEGIN() / HILT_PROCESS(call); / HILT_DATAFLOW_END() / HILT_STREAM(type, name, depth);
// come from dataflow.h where the library has it (concurrent processes over FIFOs bounded at their
// declared depth in C simulation). Without it, this fallback runs the processes one after the other in
// the order they are written, over unbounded streams: the engine lists producers before consumers, so
// both give the same integers.
#ifndef HILT_ENGINE_DATAFLOW_H
#define HILT_ENGINE_DATAFLOW_H

#include "stream.h"

#if __has_include("dataflow.h")
#include "dataflow.h"
#endif

#ifndef HILT_DATAFLOW_H
#ifdef __SYNTHESIS__
#define HILT_DATAFLOW_BEGIN() _Pragma("HLS DATAFLOW")
#define HILT_STREAM(type, name, n) \
  hls::stream<type> name;          \
  HILT_HLS(STREAM variable = name depth = n)
#else
#define HILT_DATAFLOW_BEGIN()
#define HILT_STREAM(type, name, n) hls::stream<type> name
#endif
#define HILT_PROCESS(call) call
#define HILT_DATAFLOW_END()
#endif

#endif  // HILT_ENGINE_DATAFLOW_H
