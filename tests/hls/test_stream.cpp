// The C-sim stream shim and dataflow regions: bounded FIFOs, concurrent processes, deadlock reports.
// usage: test_stream CASE   (prints "ok" and exits 0 when the case holds; deadlock cases exit 1 with a report)
// -DTAP_DEPTH=N sets the depth of the `tap` stream in the "taps" case (N values per call go through it).
#include <cstdio>
#include <cstring>

#include "hilt/dataflow.h"

#ifndef TAP_DEPTH
#define TAP_DEPTH 64
#endif

static const int N = 64;

static void source(hls::stream<int> &out, int n) {
  for (int i = 0; i < n; i++) out.write(i);
}

static void square(hls::stream<int> &in, hls::stream<int> &out, int n) {
  for (int i = 0; i < n; i++) {
    const int v = in.read();
    out.write(v * v);
  }
}

// A tee whose copy `tap` bypasses a stage to a final emitter that writes the stage's results first: the
// structure needs the bypass FIFO to hold a whole call's values (N), as it would in hardware.
static void tee(hls::stream<int> &in, hls::stream<int> &main, hls::stream<int> &tap) {
  for (int i = 0; i < N; i++) {
    const int v = in.read();
    tap.write(v);
    main.write(v);
  }
}

static void emit(hls::stream<int> &tap, hls::stream<int> &main, hls::stream<int> &out) {
  for (int i = 0; i < N; i++) out.write(main.read());
  for (int i = 0; i < N; i++) out.write(tap.read());
}

static int check_squares(hls::stream<int> &s, int n) {
  for (int i = 0; i < n; i++)
    if (s.read() != i * i) return 1;
  return 0;
}

// A FIFO never holds more than its depth: the consumer sees at most `depth` elements ahead.
static int case_bounded() {
  HILT_STREAM(int, fifo, 3);
  int worst = 0;
  HILT_DATAFLOW_BEGIN()
  HILT_PROCESS(source(fifo, 20000));
  HILT_PROCESS(for (int i = 0; i < 20000; i++) {
    const int held = (int)fifo.size();
    worst = held > worst ? held : worst;
    if (fifo.read() != i) worst = 1000;
  });
  HILT_DATAFLOW_END()
  std::printf("most held %d\n", worst);
  return worst <= 3 ? 0 : 1;
}

// A three-stage pipeline through depth-2 FIFOs (the default), then a second region reusing the streams.
static int case_pipeline() {
  hls::stream<int> a("a"), b("b");
  int bad = 0;
  for (int call = 0; call < 3; call++) {
    HILT_DATAFLOW_BEGIN()
    HILT_PROCESS(source(a, 5000));
    HILT_PROCESS(square(a, b, 5000));
    HILT_PROCESS(bad |= check_squares(b, 5000));
    HILT_DATAFLOW_END()
  }
  return bad || !a.empty() || !b.empty();
}

static void inner(hls::stream<int> &in, hls::stream<int> &out, int n) {
  HILT_STREAM(int, mid, 2);
  HILT_DATAFLOW_BEGIN()
  HILT_PROCESS(square(in, mid, n));
  HILT_PROCESS(for (int i = 0; i < n; i++) out.write(mid.read() + 1));
  HILT_DATAFLOW_END()
}

// A region inside a process of another region.
static int case_nested() {
  hls::stream<int> a("a"), b("b");
  int bad = 0;
  HILT_DATAFLOW_BEGIN()
  HILT_PROCESS(source(a, 3000));
  HILT_PROCESS(inner(a, b, 3000));
  HILT_PROCESS(for (int i = 0; i < 3000; i++) bad |= b.read() != i * i + 1);
  HILT_DATAFLOW_END()
  return bad;
}

// The bypass structure: passes with TAP_DEPTH >= N, deadlocks (exit 1, naming `tap`) below.
static int case_taps() {
  HILT_STREAM(int, in, 2);
  HILT_STREAM(int, main_path, 2);
  HILT_STREAM(int, squared, 2);
  HILT_STREAM(int, tap, TAP_DEPTH);
  HILT_STREAM(int, out, 2);
  int bad = 0;
  HILT_DATAFLOW_BEGIN()
  HILT_PROCESS(source(in, N));
  HILT_PROCESS(tee(in, main_path, tap));
  HILT_PROCESS(square(main_path, squared, N));
  HILT_PROCESS(emit(tap, squared, out));
  HILT_PROCESS(for (int i = 0; i < 2 * N; i++) bad |= out.read() != (i < N ? i * i : i - N));
  HILT_DATAFLOW_END()
  return bad;
}

// A producer that writes fewer values than its consumer reads: reported once the producer has finished.
static int case_short() {
  hls::stream<int> s("short_stream");
  HILT_DATAFLOW_BEGIN()
  HILT_PROCESS(source(s, 10));
  HILT_PROCESS(for (int i = 0; i < 11; i++) s.read());
  HILT_DATAFLOW_END()
  return 0;
}

// Outside any region the testbench is a process too: writing more than a FIFO holds with no reader
// running is a deadlock.
static int case_sequential() {
  hls::stream<int> s("lonely");
  s.write(1);
  s.write(2);
  s.write(3);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *c = argv[1];
  int rc = 2;
  if (!std::strcmp(c, "bounded")) rc = case_bounded();
  if (!std::strcmp(c, "pipeline")) rc = case_pipeline();
  if (!std::strcmp(c, "nested")) rc = case_nested();
  if (!std::strcmp(c, "taps")) rc = case_taps();
  if (!std::strcmp(c, "short")) rc = case_short();
  if (!std::strcmp(c, "sequential")) rc = case_sequential();
  if (rc == 0) std::printf("ok\n");
  return rc;
}
