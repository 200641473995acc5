// numerics.h on cases from stdin (with the shim or, -DHILT_VENDOR_HEADERS, Xilinx's ap_int), one result per line,
// for the pytest driver to compare with the golden model's numerics (sw/hilt/quant/formats.py):
//   R v s        shift_round(v, s)
//   S v bits     saturate(v, bits)
//   W v bits     wrap(v, bits)
//   Q v s bits   requantize(v, s, bits)
//   A bits n x1 .. xn   the sum of x1..xn accumulated in an int_t<bits> register (bits 16, 32 or 48)
#include <cstdio>

#include "hilt/numerics.h"

template <int N>
static long long accumulate(int n) {
  hilt::int_t<N> acc = 0;
  for (int i = 0; i < n; i++) {
    long long x;
    if (std::scanf("%lld", &x) != 1) return 0;
    acc += (hilt::acc_t)x;
  }
  return (long long)(hilt::acc_t)acc;
}

int main() {
  char op;
  while (std::scanf(" %c", &op) == 1) {
    long long v = 0, a = 0, b = 0;
    switch (op) {
      case 'R':
        if (std::scanf("%lld %lld", &v, &a) != 2) return 2;
        std::printf("%lld\n", (long long)hilt::shift_round(v, (int)a));
        break;
      case 'S':
        if (std::scanf("%lld %lld", &v, &a) != 2) return 2;
        std::printf("%lld\n", (long long)hilt::saturate(v, (int)a));
        break;
      case 'W':
        if (std::scanf("%lld %lld", &v, &a) != 2) return 2;
        std::printf("%lld\n", (long long)hilt::wrap(v, (int)a));
        break;
      case 'Q':
        if (std::scanf("%lld %lld %lld", &v, &a, &b) != 3) return 2;
        std::printf("%lld\n", (long long)hilt::requantize(v, (int)a, (int)b));
        break;
      case 'A':
        if (std::scanf("%lld %lld", &a, &b) != 2) return 2;
        if (a == 16) std::printf("%lld\n", accumulate<16>((int)b));
        else if (a == 32) std::printf("%lld\n", accumulate<32>((int)b));
        else if (a == 48) std::printf("%lld\n", accumulate<48>((int)b));
        else return 2;
        break;
      default:
        return 2;
    }
  }
  return 0;
}
