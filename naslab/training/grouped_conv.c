/* Direct grouped convolutions on channels-last float32 maps, one thread, AVX2 + FMA.
 *
 * naslab/training/grouped_conv.py compiles this file once per layer shape, with the shape as
 * compile-time constants (-DCI=... etc.), so every loop bound is known and the accumulators
 * live in registers. Layouts (row-major, "G" = groups = replicas):
 *   x   [B][H][W][G][CI]     the input
 *   w   [G][K][K][CI][CO]    the weights, output channels innermost
 *   y   [B][HO][WO][G][CO]   the output (a channels-last [B, G*CO, HO, WO] tensor)
 * Constants: CI, CO (a multiple of 8), K, S (stride), P (zero padding), H, W, HO, WO, and the
 * register blocks OXB (output pixels of a row) x COB (8-channel vectors) for conv_forward,
 * CIB (input channels) x COB for conv_weight_grad and W x CIV for conv_input_grad; BT, the
 * images per cache tile of conv_weight_grad. Taps that fall on the zero padding are skipped
 * (they would add 0), so no padded copy of a map is ever made.
 *
 * Why: oneDNN runs NB201's grouped convs (8-16 channels per group, 8x8 and 4x4 maps) at a
 * quarter of a matmul's FLOP rate; these loops keep OXB*COB (or CIB*COB) independent FMA
 * chains in registers and reach 2-3x its speed at those shapes (perf/trainer_speed.py
 * --kernels). Each output is a sum in a fixed order, so results are deterministic.
 */
#include <immintrin.h>
#include <string.h>

/* xr = relu(x): a ReLU-Conv's ReLU as the copy the weight gradient needs anyway; x [B][H][W][G*CI].
 * Written as torch's: a NaN stays NaN (a diverged training must still be seen as one). */
void conv_relu_copy(const float *restrict x, float *restrict xr, int B, int G) {
  const long n = (long)B * H * W * G * CI;
  for (long i = 0; i < n; i++) xr[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/* ReLU's backward on the input gradient, as torch's threshold_backward: gx = 0 where the ReLU'd
 * input xr is <= 0 (a NaN passes the gradient through) */
void conv_relu_mask(const float *restrict xr, float *restrict gx, int B, int G) {
  const long n = (long)B * H * W * G * CI;
  for (long i = 0; i < n; i++) gx[i] = xr[i] <= 0.0f ? 0.0f : gx[i];
}

/* y = conv(x, w), times scale plus shift per output channel (G*CO each) unless they are NULL:
 * an evaluation-mode BatchNorm after the conv costs no pass of its own */
void conv_forward(const float *restrict x, const float *restrict w, float *restrict y,
                  const float *restrict scale, const float *restrict shift, int B, int G) {
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < HO; oy++)
      for (int g = 0; g < G; g++)
        for (int ox0 = 0; ox0 < WO; ox0 += OXB)
          for (int co0 = 0; co0 < CO; co0 += 8 * COB) {
            __m256 acc[OXB][COB];
#pragma GCC unroll 16
            for (int t = 0; t < OXB; t++)
#pragma GCC unroll 4
              for (int j = 0; j < COB; j++) acc[t][j] = _mm256_setzero_ps();
            for (int ky = 0; ky < K; ky++) {
              const int iy = oy * S + ky - P;
              if (iy < 0 || iy >= H) continue;  /* a tap on the zero padding adds nothing */
              const float *xrow = x + ((long)(b * H + iy) * W) * G * CI + g * CI;
#pragma GCC unroll 3
              for (int kx = 0; kx < K; kx++) {
                const float *wk = w + (((long)(g * K + ky) * K + kx) * CI) * CO + co0;
                for (int ci = 0; ci < CI; ci++) {
                  __m256 wv[COB];
#pragma GCC unroll 4
                  for (int j = 0; j < COB; j++) wv[j] = _mm256_loadu_ps(wk + ci * CO + 8 * j);
#pragma GCC unroll 16
                  for (int t = 0; t < OXB; t++) {
                    const int ix = (ox0 + t) * S + kx - P;
                    if (ix < 0 || ix >= W) continue;  /* known at compile time where a block is a whole row */
                    __m256 xb = _mm256_broadcast_ss(xrow + (long)ix * G * CI + ci);
#pragma GCC unroll 4
                    for (int j = 0; j < COB; j++) acc[t][j] = _mm256_fmadd_ps(xb, wv[j], acc[t][j]);
                  }
                }
              }
            }
            float *yo = y + (((long)(b * HO + oy) * WO + ox0) * G + g) * CO + co0;
            if (scale) {
#pragma GCC unroll 4
              for (int j = 0; j < COB; j++) {
                const __m256 a = _mm256_loadu_ps(scale + g * CO + co0 + 8 * j);
                const __m256 c = _mm256_loadu_ps(shift + g * CO + co0 + 8 * j);
#pragma GCC unroll 16
                for (int t = 0; t < OXB; t++) acc[t][j] = _mm256_add_ps(_mm256_mul_ps(acc[t][j], a), c);
              }
            }
#pragma GCC unroll 16
            for (int t = 0; t < OXB; t++)
#pragma GCC unroll 4
              for (int j = 0; j < COB; j++) _mm256_storeu_ps(yo + (long)t * G * CO + 8 * j, acc[t][j]);
          }
}

/* gw[g][ky][kx][ci][co] = sum over b, oy, ox of x[b][oy*S+ky-P][ox*S+kx-P][g][ci] * gy[b][oy][ox][g][co]
 * (taps on the padding left out). The images go in tiles of BT (whose x and gy stay in the L2 cache across the passes over
 * (g, ky, kx, channel block)); each pass resumes its sums from gw, so the order of every sum is
 * still b, oy, ox, as without tiles (2x faster than streaming all images per pass from L3). */
void conv_weight_grad(const float *restrict x, const float *restrict gy, float *restrict gw, int B, int G) {
  for (int b0 = 0; b0 < B; b0 += BT) {
    const int b1 = b0 + BT < B ? b0 + BT : B;
    for (int g = 0; g < G; g++)
      for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++)
          for (int ci0 = 0; ci0 < CI; ci0 += CIB)
            for (int co0 = 0; co0 < CO; co0 += 8 * COB) {
              float *out = gw + (((long)(g * K + ky) * K + kx) * CI + ci0) * CO + co0;
              __m256 acc[CIB][COB];
#pragma GCC unroll 16
              for (int t = 0; t < CIB; t++)
#pragma GCC unroll 4
                for (int j = 0; j < COB; j++)
                  acc[t][j] = b0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(out + (long)t * CO + 8 * j);
              /* the outputs whose tap (ky, kx) falls inside the map (the zero border adds nothing) */
              const int oy0 = ky >= P ? 0 : (P - ky + S - 1) / S, ox0 = kx >= P ? 0 : (P - kx + S - 1) / S;
              int oy1 = (P + H - 1 - ky) / S + 1, ox1 = (P + W - 1 - kx) / S + 1;
              oy1 = oy1 < HO ? oy1 : HO;
              ox1 = ox1 < WO ? ox1 : WO;
              for (int b = b0; b < b1; b++)
                for (int oy = oy0; oy < oy1; oy++) {
                  const long xrow = (long)(b * H + oy * S + ky - P) * W;
                  const float *grow = gy + ((long)(b * HO + oy) * WO * G + g) * CO + co0;
                  for (int ox = ox0; ox < ox1; ox++) {
                    const float *xv = x + ((xrow + ox * S + kx - P) * G + g) * CI + ci0;
                    __m256 gv[COB];
#pragma GCC unroll 4
                    for (int j = 0; j < COB; j++) gv[j] = _mm256_loadu_ps(grow + (long)ox * G * CO + 8 * j);
#pragma GCC unroll 16
                    for (int t = 0; t < CIB; t++) {
                      __m256 xb = _mm256_broadcast_ss(xv + t);
#pragma GCC unroll 4
                      for (int j = 0; j < COB; j++) acc[t][j] = _mm256_fmadd_ps(xb, gv[j], acc[t][j]);
                    }
                  }
                }
#pragma GCC unroll 16
              for (int t = 0; t < CIB; t++)
#pragma GCC unroll 4
                for (int j = 0; j < COB; j++) _mm256_storeu_ps(out + (long)t * CO + 8 * j, acc[t][j]);
            }
  }
}

/* gx = the input's gradient for any stride, gathered directly: gx[b][iy][ix][g][ci] = sum over the
 * (ky, kx, co) with iy = oy*S + ky - P (likewise x) of gy[b][oy][ox][g][co] * wt[g][ky][kx][co][ci].
 * One register block covers a whole row of W pixels x CIV 8-channel vectors, so that after
 * unrolling every tap's validity is a compile-time constant (stride 1 uses conv_forward instead). */
void conv_input_grad(const float *restrict gy, const float *restrict wt, float *restrict gx, int B, int G) {
  for (int b = 0; b < B; b++)
    for (int iy = 0; iy < H; iy++)
      for (int g = 0; g < G; g++)
        for (int ci0 = 0; ci0 < CI; ci0 += 8 * CIV) {
          __m256 acc[W][CIV];
#pragma GCC unroll 16
          for (int t = 0; t < W; t++)
#pragma GCC unroll 4
            for (int j = 0; j < CIV; j++) acc[t][j] = _mm256_setzero_ps();
          for (int ky = 0; ky < K; ky++) {
            const int ry = iy + P - ky;
            if (ry < 0 || ry % S != 0 || ry / S >= HO) continue;
            const float *grow = gy + ((long)(b * HO + ry / S) * WO * G + g) * CO;
#pragma GCC unroll 3
            for (int kx = 0; kx < K; kx++) {
              const float *wk = wt + (((long)(g * K + ky) * K + kx) * CO) * CI + ci0;
              for (int co = 0; co < CO; co++) {
                __m256 wv[CIV];
#pragma GCC unroll 4
                for (int j = 0; j < CIV; j++) wv[j] = _mm256_loadu_ps(wk + co * CI + 8 * j);
#pragma GCC unroll 16
                for (int t = 0; t < W; t++) {
                  const int rx = t + P - kx;
                  if (rx < 0 || rx % S != 0 || rx / S >= WO) continue;
                  __m256 gb = _mm256_broadcast_ss(grow + (long)(rx / S) * G * CO + co);
#pragma GCC unroll 4
                  for (int j = 0; j < CIV; j++) acc[t][j] = _mm256_fmadd_ps(gb, wv[j], acc[t][j]);
                }
              }
            }
          }
          float *out = gx + (((long)(b * H + iy) * W) * G + g) * CI + ci0;
#pragma GCC unroll 16
          for (int t = 0; t < W; t++)
#pragma GCC unroll 4
            for (int j = 0; j < CIV; j++) _mm256_storeu_ps(out + (long)t * G * CI + 8 * j, acc[t][j]);
        }
}
