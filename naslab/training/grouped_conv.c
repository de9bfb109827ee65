/* Direct grouped convolutions on channels-last float32 maps, one thread, AVX2 + FMA.
 *
 * naslab/training/grouped_conv.py compiles this file once per layer shape, with the shape as
 * compile-time constants (-DCI=... etc.), so every loop bound is known and the accumulators
 * live in registers. Layouts (row-major, "G" = groups = replicas):
 *   x   [B][HP][WP][G][CI]   the input, already zero-padded by P on each side (HP = H + 2P)
 *   w   [G][K][K][CI][CO]    the weights, output channels innermost
 *   y   [B][HO][WO][G][CO]   the output (a channels-last [B, G*CO, HO, WO] tensor)
 * Constants: CI, CO (a multiple of 8), K, S (stride), P, H, W, HP, WP, HO, WO, and the
 * register blocks OXB (output pixels of a row) x COB (8-channel vectors) for conv_forward,
 * CIB (input channels) x COB for conv_weight_grad and W x CIV for conv_input_grad; BT, the
 * images per cache tile of conv_weight_grad.
 *
 * Why: oneDNN runs NB201's grouped convs (8-16 channels per group, 8x8 and 4x4 maps) at a
 * quarter of a matmul's FLOP rate; these loops keep OXB*COB (or CIB*COB) independent FMA
 * chains in registers and reach 2-3x its speed at those shapes (perf/trainer_speed.py
 * --kernels). Each output is a sum in a fixed order, so results are deterministic.
 */
#include <immintrin.h>
#include <string.h>

/* xp = x zero-padded by P rows and columns, ReLU'd on the way if relu (a ReLU-Conv's ReLU costs no
 * pass of its own); x [B][H][W][G*CI] */
void conv_pad(const float *restrict x, float *restrict xp, int B, int G, int relu) {
  const long row = (long)W * G * CI, prow = (long)WP * G * CI;
  for (int b = 0; b < B; b++) {
    float *out = xp + (long)b * HP * prow;
    memset(out, 0, sizeof(float) * P * prow);
    for (int iy = 0; iy < H; iy++) {
      float *dst = out + (long)(iy + P) * prow;
      const float *src = x + ((long)b * H + iy) * row;
      memset(dst, 0, sizeof(float) * P * G * CI);
      if (relu) {
        for (long i = 0; i < row; i++) dst[(long)P * G * CI + i] = src[i] > 0.0f ? src[i] : 0.0f;
      } else {
        memcpy(dst + (long)P * G * CI, src, sizeof(float) * row);
      }
      memset(dst + (long)(P + W) * G * CI, 0, sizeof(float) * P * G * CI);
    }
    memset(out + (long)(P + H) * prow, 0, sizeof(float) * P * prow);
  }
}

/* ReLU's backward on the input gradient: gx = 0 where the ReLU'd padded input xp is not positive */
void conv_relu_mask(const float *restrict xp, float *restrict gx, int B, int G) {
  const long row = (long)W * G * CI, prow = (long)WP * G * CI;
  for (int b = 0; b < B; b++)
    for (int iy = 0; iy < H; iy++) {
      const float *a = xp + ((long)b * HP + iy + P) * prow + (long)P * G * CI;
      float *g = gx + ((long)b * H + iy) * row;
      for (long i = 0; i < row; i++) g[i] = a[i] > 0.0f ? g[i] : 0.0f;
    }
}

/* y = conv(xp, w), times scale plus shift per output channel (G*CO each) unless they are NULL:
 * an evaluation-mode BatchNorm after the conv costs no pass of its own */
void conv_forward(const float *restrict xp, const float *restrict w, float *restrict y,
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
              const int iy = oy * S + ky;  /* padded coordinates: taps on the zero border add nothing */
              if (iy < P || iy >= P + H) continue;
              const float *xrow = xp + ((long)(b * HP + iy) * WP) * G * CI + g * CI;
#pragma GCC unroll 3
              for (int kx = 0; kx < K; kx++) {
                const float *wk = w + (((long)(g * K + ky) * K + kx) * CI) * CO + co0;
                for (int ci = 0; ci < CI; ci++) {
                  __m256 wv[COB];
#pragma GCC unroll 4
                  for (int j = 0; j < COB; j++) wv[j] = _mm256_loadu_ps(wk + ci * CO + 8 * j);
#pragma GCC unroll 16
                  for (int t = 0; t < OXB; t++) {
                    const int ix = (ox0 + t) * S + kx;
                    if (ix < P || ix >= P + W) continue;  /* known at compile time where a block is a whole row */
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

/* gw[g][ky][kx][ci][co] = sum over b, oy, ox of xp[b][oy*S+ky][ox*S+kx][g][ci] * gy[b][oy][ox][g][co].
 * The images go in tiles of BT (whose xp and gy stay in the L2 cache across the passes over
 * (g, ky, kx, channel block)); each pass resumes its sums from gw, so the order of every sum is
 * still b, oy, ox, as without tiles (2x faster than streaming all images per pass from L3). */
void conv_weight_grad(const float *restrict xp, const float *restrict gy, float *restrict gw, int B, int G) {
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
                  const float *xrow = xp + ((long)(b * HP + oy * S + ky) * WP + kx) * G * CI + g * CI + ci0;
                  const float *grow = gy + ((long)(b * HO + oy) * WO * G + g) * CO + co0;
                  for (int ox = ox0; ox < ox1; ox++) {
                    const float *xv = xrow + (long)ox * S * G * CI;
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
