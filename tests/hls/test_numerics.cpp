// Drives hw/hls/hilt/numerics.h from stdin: each line "w|s|r|q V A B" prints wrap(V, A), saturate(V, A),
// shift_round(V, A) or requantize(V, A, B), one result per line, for the Python side to compare.
#include <cstdio>

#include "hilt/numerics.h"

int main() {
  char op;
  long long v, a, b;
  while (std::scanf(" %c %lld %lld %lld", &op, &v, &a, &b) == 4) {
    long long out = 0;
    switch (op) {
      case 'w': out = hilt::wrap(v, (int)a); break;
      case 's': out = hilt::saturate(v, (int)a); break;
      case 'r': out = hilt::shift_round(v, (int)a); break;
      case 'q': out = hilt::requantize(v, (int)a, (int)b); break;
      default: return 2;
    }
    std::printf("%lld\n", out);
  }
  return 0;
}
