/* NB201's avg_pool_3x3 (3x3 window, stride 1, padding 1, padding not counted) on channels-last
 * float32 maps, one thread, AVX2. Compiled by naslab/training/native.py with H, W and C (all
 * channels, a multiple of 8) as constants. x, y, gx, gy: [B][H][W][C].
 * Each output sums its window row by row and divides by the window's size, as torch's CPU
 * kernel does (the same numbers); the backward scatters each output's share the same way. */
#include <immintrin.h>
#include <string.h>

void avg_pool_forward(const float *restrict x, float *restrict y, int B) {
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < H; oy++) {
      const int y0 = oy > 0 ? oy - 1 : 0, y1 = oy < H - 1 ? oy + 1 : H - 1;
      for (int ox = 0; ox < W; ox++) {
        const int x0 = ox > 0 ? ox - 1 : 0, x1 = ox < W - 1 ? ox + 1 : W - 1;
        const __m256 count = _mm256_set1_ps((float)((y1 - y0 + 1) * (x1 - x0 + 1)));
        float *out = y + (((long)b * H + oy) * W + ox) * C;
        for (int c = 0; c < C; c += 8) {
          __m256 acc = _mm256_setzero_ps();
          for (int iy = y0; iy <= y1; iy++)
            for (int ix = x0; ix <= x1; ix++)
              acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + (((long)b * H + iy) * W + ix) * C + c));
          _mm256_storeu_ps(out + c, _mm256_div_ps(acc, count));
        }
      }
    }
}

void avg_pool_backward(const float *restrict gy, float *restrict gx, int B) {
  memset(gx, 0, sizeof(float) * (long)B * H * W * C);
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < H; oy++) {
      const int y0 = oy > 0 ? oy - 1 : 0, y1 = oy < H - 1 ? oy + 1 : H - 1;
      for (int ox = 0; ox < W; ox++) {
        const int x0 = ox > 0 ? ox - 1 : 0, x1 = ox < W - 1 ? ox + 1 : W - 1;
        const __m256 count = _mm256_set1_ps((float)((y1 - y0 + 1) * (x1 - x0 + 1)));
        const float *g = gy + (((long)b * H + oy) * W + ox) * C;
        for (int c = 0; c < C; c += 8) {
          const __m256 share = _mm256_div_ps(_mm256_loadu_ps(g + c), count);
          for (int iy = y0; iy <= y1; iy++)
            for (int ix = x0; ix <= x1; ix++) {
              float *dst = gx + (((long)b * H + iy) * W + ix) * C + c;
              _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), share));
            }
        }
      }
    }
}
