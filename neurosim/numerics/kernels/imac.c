/* Exact 8-bit MAC array products with AVX-512 VNNI (vpdpbusd); 16-bit
 * weights as two byte planes.
 *
 * The forward unit's products O^{h-1} @ W^T for 8-bit operand codes: every
 * product of an unsigned 8-bit code and a signed 8-bit weight summed in
 * 32-bit integers, exact (the caller checks K * 255 * 128 < 2**31 and that
 * the result lies below 2**24, so its float32 copy is exact too). Signed
 * activation codes are offset into [0, 255] and the offset's share,
 * offset * sum_k w[k, j], subtracted again.
 *
 * Built by `neurosim kernels build` (neurosim/numerics/kernels/imac.py),
 * a CPython extension module; without the library, or on a CPU without
 * AVX512-VNNI, the forward unit uses float32 BLAS for the same sums.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* Per-thread scratch buffers that grow and are kept: a product allocates
 * (and faults in) nothing per call. slot 0: A's bytes; slot 1: the
 * transpose's dwords. NULL when out of memory. */
static void *scratch(int slot, size_t size) {
  static __thread void *buf[2];
  static __thread size_t cap[2];
  if (size > cap[slot]) {
    void *p = realloc(buf[slot], size);
    if (p == NULL) return NULL;
    buf[slot] = p;
    cap[slot] = size;
  }
  return buf[slot];
}

/* wt (K, N) codes (float32) at wt[k * sk + j * sn], times `scale` (a power
 * of two that makes them integers in [-128, 127]), packed for imac_mm:
 * wp[b][q][t][u] = scale * wt[4q + u, 16b + t] as int8 (zero
 * beyond K and N), b < ceil(N / 16), q < ceil(K / 4); colsum[j] = sum_k
 * scale * wt[k, j] for j < 16 * ceil(N / 16) (zero beyond N). */
TARGET static void imac_pack(const float *wt, int64_t K, int64_t N, int64_t sk, int64_t sn,
                             float scale, int8_t *wp, int32_t *colsum) {
  const int64_t nb = (N + 15) / 16, nq = (K + 3) / 4;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int32_t)sn));
  const __m512i byte = _mm512_set1_epi32(0xff);
  const __m512 sc = _mm512_set1_ps(scale);
  if (sk == 1 && sn != 1) {
    /* W row-major (wt = W^T a view): each output's inputs are contiguous,
     * 16 of them are 4 dwords of that output's lane in 4 quads */
    for (int64_t j = 0; j < 16 * nb; j++) colsum[j] = 0;
    for (int64_t j = 0; j < N; j++) {
      const float *row = wt + j * sn;
      int8_t *dst = wp + (j / 16) * nq * 64 + (j % 16) * 4;
      int32_t total = 0;
      for (int64_t k = 0; k < 4 * nq; k += 16) {
        const int64_t left = K - k;
        const __mmask16 m = left >= 16 ? (__mmask16)0xffff
                            : left > 0 ? (__mmask16)((1u << left) - 1u) : (__mmask16)0;
        const __m512i c = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + k), sc));
        total += _mm512_reduce_add_epi32(c);
        const __m128i bytes = _mm512_cvtepi32_epi8(c);
        int32_t words[4];
        _mm_storeu_si128((__m128i *)words, bytes);
        for (int v = 0; v < 4 && k / 4 + v < nq; v++)
          memcpy(dst + (k / 4 + v) * 64, &words[v], 4);
      }
      colsum[j] = total;
    }
    for (int64_t j = N; j < 16 * nb; j++)  /* outputs beyond N: zero weights */
      for (int64_t q = 0; q < nq; q++) memset(wp + ((j / 16) * nq + q) * 64 + (j % 16) * 4, 0, 4);
    return;
  }
  for (int64_t b = 0; b < nb; b++) {
    const int64_t n = N - 16 * b < 16 ? N - 16 * b : 16;
    const __mmask16 m = (__mmask16)((1u << n) - 1u);
    __m512i sum = _mm512_setzero_si512();
    for (int64_t q = 0; q < nq; q++) {
      __m512i word = _mm512_setzero_si512();
      for (int u = 0; u < 4; u++) {
        const int64_t k = 4 * q + u;
        if (k >= K) break;
        const float *row = wt + k * sk + 16 * b * sn;
        __m512 v = sn == 1 ? _mm512_maskz_loadu_ps(m, row)
                           : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, step, row, 4);
        __m512i c = _mm512_cvttps_epi32(_mm512_mul_ps(v, sc));
        sum = _mm512_add_epi32(sum, c);
        word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_and_si512(c, byte), 8 * u));
      }
      _mm512_storeu_si512((void *)(wp + (b * nq + q) * 64), word);
    }
    _mm512_storeu_si512((void *)(colsum + 16 * b), sum);
  }
}

/* A (M, K) with A[i, k] = a[i * s0 + k * s1], times `scale`, plus `offset`,
 * as bytes: bytes[i * ld + k], ld = 4 * ceil(K / 4), K padded with zeros.
 * Rows contiguous (s1 == 1) or columns contiguous (s0 == 1). Returns -1
 * when out of memory. */
TARGET static int to_bytes(const float *a, int64_t M, int64_t K, int64_t s0, int64_t s1,
                           float scale, int32_t offset, int64_t ld, uint8_t *bytes) {
  const __m512i off = _mm512_set1_epi32(offset);
  const __m512 sc = _mm512_set1_ps(scale);
  if (s1 == 1) {
    for (int64_t i = 0; i < M; i++) {
      const float *src = a + i * s0;
      uint8_t *dst = bytes + i * ld;
      int64_t k = 0;
      for (; k + 16 <= K; k += 16) {
        __m512i c = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_loadu_ps(src + k), sc));
        _mm_storeu_si128((__m128i *)(dst + k), _mm512_cvtepi32_epi8(_mm512_add_epi32(c, off)));
      }
      for (; k < K; k++) dst[k] = (uint8_t)((int32_t)(src[k] * scale) + offset);
      for (; k < ld; k++) dst[k] = 0;
    }
    return 0;
  }
  /* columns contiguous: 16 rows by 4 columns at a time, interleaved into
   * one dword per row (a row's quad q), kept for all quads of the 16 rows,
   * then copied row by row (a 16 x nq dword transpose) */
  const __m512i byte = _mm512_set1_epi32(0xff);
  const int64_t nq = ld / 4;
  int32_t *tmp = (int32_t *)scratch(1, (size_t)(nq * 16) * sizeof(int32_t));
  if (tmp == NULL) return -1;
  for (int64_t i = 0; i < M; i += 16) {
    const int64_t n = M - i < 16 ? M - i : 16;
    const __mmask16 m = (__mmask16)((1u << n) - 1u);
    for (int64_t q = 0; q < nq; q++) {
      __m512i word = _mm512_setzero_si512();
      for (int u = 0; u < 4; u++) {
        const int64_t k = 4 * q + u;
        if (k >= K) break;
        __m512 v = _mm512_maskz_loadu_ps(m, a + k * s1 + i);
        __m512i c = _mm512_add_epi32(_mm512_cvttps_epi32(_mm512_mul_ps(v, sc)), off);
        word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_and_si512(c, byte), 8 * u));
      }
      _mm512_storeu_si512((void *)(tmp + q * 16), word);
    }
    for (int64_t t = 0; t < n; t++) {
      int32_t *dst = (int32_t *)(bytes + (i + t) * ld);
      for (int64_t q = 0; q < nq; q++) dst[q] = tmp[q * 16 + t];
    }
  }
  return 0;
}

/* out[i, j] = oscale * (sum_k A[i, k] * W[k, j]) (float32, row stride ldo)
 * for A (M, K) float32 codes at a[i * s0 + k * s1] (rows or columns
 * contiguous) with ascale * A + offset integers in [0, 255], and W packed
 * by imac_pack (its scale applied): A's bytes once, then blocks of 4 rows
 * by 7 x 16 outputs in 28 vpdpbusd accumulators. Returns -1 when out of
 * memory. */
TARGET static int imac_mm(const float *a, int64_t M, int64_t K, int64_t s0, int64_t s1,
                          float ascale, int32_t offset, const int8_t *wp, const int32_t *colsum,
                          int64_t N, float *out, int64_t ldo, float oscale) {
  const int64_t nb = (N + 15) / 16, nq = (K + 3) / 4, ld = 4 * nq, m4 = (M + 3) / 4 * 4;
  uint8_t *bytes = (uint8_t *)scratch(0, (size_t)(m4 * ld));
  if (bytes == NULL) return -1;
  if (to_bytes(a, M, K, s0, s1, ascale, offset, ld, bytes) < 0) return -1;
  memset(bytes + M * ld, 0, (size_t)((m4 - M) * ld));  /* a short last block's rows */
  const __m512 osc = _mm512_set1_ps(oscale);
  for (int64_t i = 0; i < M; i += 4) {
    const int64_t rows = M - i < 4 ? M - i : 4;
    const uint8_t *buf = bytes + i * ld;
    for (int64_t b0 = 0; b0 < nb; b0 += 7) {
      const int64_t bn = nb - b0 < 7 ? nb - b0 : 7;
      __m512i acc[4][7];
      for (int r = 0; r < 4; r++)
        for (int c = 0; c < 7; c++) acc[r][c] = _mm512_setzero_si512();
      for (int64_t q = 0; q < nq; q++) {
        const __m512i x0 = _mm512_set1_epi32(*(const int32_t *)(buf + 0 * ld + 4 * q));
        const __m512i x1 = _mm512_set1_epi32(*(const int32_t *)(buf + 1 * ld + 4 * q));
        const __m512i x2 = _mm512_set1_epi32(*(const int32_t *)(buf + 2 * ld + 4 * q));
        const __m512i x3 = _mm512_set1_epi32(*(const int32_t *)(buf + 3 * ld + 4 * q));
        for (int c = 0; c < 7; c++) {
          if (c >= bn) break;
          const __m512i w = _mm512_loadu_si512((const void *)(wp + ((b0 + c) * nq + q) * 64));
          acc[0][c] = _mm512_dpbusd_epi32(acc[0][c], x0, w);
          acc[1][c] = _mm512_dpbusd_epi32(acc[1][c], x1, w);
          acc[2][c] = _mm512_dpbusd_epi32(acc[2][c], x2, w);
          acc[3][c] = _mm512_dpbusd_epi32(acc[3][c], x3, w);
        }
      }
      for (int c = 0; c < bn; c++) {
        const int64_t j0 = (b0 + c) * 16;
        const int64_t n = N - j0 < 16 ? N - j0 : 16;
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        const __m512i fix = _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(colsum + j0)),
                                               _mm512_set1_epi32(offset));
        for (int64_t r = 0; r < rows; r++)
          _mm512_mask_storeu_ps(
              out + (i + r) * ldo + j0, m,
              _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][c], fix)), osc));
      }
    }
  }
  return 0;
}

/* wt (K, N) 16-bit codes (float32 integers in [-32768, 32767]) packed as two
 * int8 operands: w = 256 * hi + lo + 128 with hi = w >> 8 in [-128, 127]
 * and lo = (w & 255) - 128 in [-128, 127] (the layout of imac_pack), with
 * their column sums. */
TARGET static void imac_pack16(const float *wt, int64_t K, int64_t N, int64_t sk, int64_t sn,
                               int8_t *hp, int8_t *lp, int32_t *hsum, int32_t *lsum) {
  const int64_t nb = (N + 15) / 16, nq = (K + 3) / 4;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int32_t)sn));
  const __m512i byte = _mm512_set1_epi32(0xff), c128 = _mm512_set1_epi32(128);
  for (int64_t b = 0; b < nb; b++) {
    const int64_t n = N - 16 * b < 16 ? N - 16 * b : 16;
    const __mmask16 m = (__mmask16)((1u << n) - 1u);
    __m512i hs = _mm512_setzero_si512(), ls = _mm512_setzero_si512();
    for (int64_t q = 0; q < nq; q++) {
      __m512i hw = _mm512_setzero_si512(), lw = _mm512_setzero_si512();
      for (int u = 0; u < 4; u++) {
        const int64_t k = 4 * q + u;
        if (k >= K) break;
        const float *row = wt + k * sk + 16 * b * sn;
        __m512 v = sn == 1 ? _mm512_maskz_loadu_ps(m, row)
                           : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, step, row, 4);
        const __m512i c = _mm512_cvttps_epi32(v);
        const __m512i hi = _mm512_srai_epi32(c, 8);
        /* zero columns beyond N stay zero in both parts */
        const __m512i lo = _mm512_maskz_sub_epi32(m, _mm512_and_si512(c, byte), c128);
        hs = _mm512_add_epi32(hs, hi);
        ls = _mm512_add_epi32(ls, lo);
        hw = _mm512_or_si512(hw, _mm512_slli_epi32(_mm512_and_si512(hi, byte), 8 * u));
        lw = _mm512_or_si512(lw, _mm512_slli_epi32(_mm512_and_si512(lo, byte), 8 * u));
      }
      _mm512_storeu_si512((void *)(hp + (b * nq + q) * 64), hw);
      _mm512_storeu_si512((void *)(lp + (b * nq + q) * 64), lw);
    }
    _mm512_storeu_si512((void *)(hsum + 16 * b), hs);
    _mm512_storeu_si512((void *)(lsum + 16 * b), ls);
  }
}

/* out[i, j] = sum_k A[i, k] * W[k, j] (float64, row stride ldo) for A as in
 * imac_mm (ascale * A + offset bytes) and 16-bit W packed by imac_pack16:
 * 256 * (A @ hi) + A @ lo + 128 * sum_k A[i, k], each part an exact int32
 * sum, combined exactly in float64. */
TARGET static int imac_mm16(const float *a, int64_t M, int64_t K, int64_t s0, int64_t s1,
                            float ascale, int32_t offset, const int8_t *hp, const int8_t *lp,
                            const int32_t *hsum, const int32_t *lsum, int64_t N, double *out,
                            int64_t ldo) {
  const int64_t nb = (N + 15) / 16, nq = (K + 3) / 4, ld = 4 * nq, m4 = (M + 3) / 4 * 4;
  uint8_t *bytes = (uint8_t *)scratch(0, (size_t)(m4 * ld));
  if (bytes == NULL) return -1;
  if (to_bytes(a, M, K, s0, s1, ascale, offset, ld, bytes) < 0) return -1;
  memset(bytes + M * ld, 0, (size_t)((m4 - M) * ld));  /* a short last block's rows */
  for (int64_t i = 0; i < M; i += 4) {
    const int64_t rows = M - i < 4 ? M - i : 4;
    const uint8_t *buf = bytes + i * ld;
    int32_t rs[4];  /* sum_k A[i, k] = sum of the bytes - offset * K */
    for (int r = 0; r < 4; r++) {
      __m512i t = _mm512_setzero_si512();  /* padding bytes are 0 */
      for (int64_t k = 0; k < ld; k += 64) {
        const __mmask64 m = ld - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (ld - k)) - 1);
        t = _mm512_add_epi64(t, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(m, buf + r * ld + k),
                                                _mm512_setzero_si512()));
      }
      rs[r] = (int32_t)(_mm512_reduce_add_epi64(t) - (int64_t)offset * K);
    }
    for (int64_t b0 = 0; b0 < nb; b0 += 3) {
      const int64_t bn = nb - b0 < 3 ? nb - b0 : 3;
      __m512i ah[4][3], al[4][3];
      for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++) ah[r][c] = al[r][c] = _mm512_setzero_si512();
      for (int64_t q = 0; q < nq; q++) {
        const __m512i x0 = _mm512_set1_epi32(*(const int32_t *)(buf + 0 * ld + 4 * q));
        const __m512i x1 = _mm512_set1_epi32(*(const int32_t *)(buf + 1 * ld + 4 * q));
        const __m512i x2 = _mm512_set1_epi32(*(const int32_t *)(buf + 2 * ld + 4 * q));
        const __m512i x3 = _mm512_set1_epi32(*(const int32_t *)(buf + 3 * ld + 4 * q));
        for (int c = 0; c < 3; c++) {
          if (c >= bn) break;
          const int64_t at = ((b0 + c) * nq + q) * 64;
          const __m512i wh = _mm512_loadu_si512((const void *)(hp + at));
          const __m512i wl = _mm512_loadu_si512((const void *)(lp + at));
          ah[0][c] = _mm512_dpbusd_epi32(ah[0][c], x0, wh);
          ah[1][c] = _mm512_dpbusd_epi32(ah[1][c], x1, wh);
          ah[2][c] = _mm512_dpbusd_epi32(ah[2][c], x2, wh);
          ah[3][c] = _mm512_dpbusd_epi32(ah[3][c], x3, wh);
          al[0][c] = _mm512_dpbusd_epi32(al[0][c], x0, wl);
          al[1][c] = _mm512_dpbusd_epi32(al[1][c], x1, wl);
          al[2][c] = _mm512_dpbusd_epi32(al[2][c], x2, wl);
          al[3][c] = _mm512_dpbusd_epi32(al[3][c], x3, wl);
        }
      }
      const __m512i off = _mm512_set1_epi32(offset);
      for (int c = 0; c < bn; c++) {
        const int64_t j0 = (b0 + c) * 16;
        const int64_t n = N - j0 < 16 ? N - j0 : 16;
        const __m512i fh = _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(hsum + j0)), off);
        const __m512i fl = _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(lsum + j0)), off);
        for (int64_t r = 0; r < rows; r++) {
          const __m512i h = _mm512_sub_epi32(ah[r][c], fh), l = _mm512_sub_epi32(al[r][c], fl);
          const __m512d base = _mm512_set1_pd(128.0 * (double)rs[r]);
          for (int half = 0; half < 2; half++) {
            const int64_t nn = n - 8 * half;
            if (nn <= 0) break;
            const __mmask8 m = (__mmask8)((nn >= 8 ? 0xffu : (1u << nn) - 1u));
            const __m256i h8 = half ? _mm512_extracti64x4_epi64(h, 1) : _mm512_castsi512_si256(h);
            const __m256i l8 = half ? _mm512_extracti64x4_epi64(l, 1) : _mm512_castsi512_si256(l);
            __m512d d = _mm512_fmadd_pd(_mm512_cvtepi32_pd(h8), _mm512_set1_pd(256.0),
                                        _mm512_cvtepi32_pd(l8));
            d = _mm512_add_pd(d, base);
            _mm512_mask_storeu_pd(out + (i + r) * ldo + j0 + 8 * half, m, d);
          }
        }
      }
    }
  }
  return 0;
}

/* out[r] = codes[idx[r]] as float32 (rows of n bytes), with the sum of
 * sat[idx] and the max of rowsum[idx]; then prefetches the rows `next`
 * names (the next minibatch's), so that its gather finds them in cache. */
static void gather_u8(const uint8_t *codes, int64_t n, const int64_t *sat, const double *rowsum,
                      const int64_t *idx, int64_t rows, float *out, const int64_t *next,
                      int64_t nnext, int64_t *nsat, double *best) {
  int64_t s = 0;
  double m = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *src = codes + idx[r] * n;
    float *dst = out + r * n;
    for (int64_t j = 0; j < n; j++) dst[j] = (float)src[j];
    s += sat[idx[r]];
    m = rowsum[idx[r]] > m ? rowsum[idx[r]] : m;
  }
  for (int64_t r = 0; r < nnext; r++) {
    const uint8_t *src = codes + next[r] * n;
    for (int64_t j = 0; j < n; j += 64) __builtin_prefetch(src + j, 0, 1);
    __builtin_prefetch(src + n - 1, 0, 1);
  }
  *nsat = s;
  *best = m;
}

/* The activation unit of a hidden layer on float32 accumulators (rows of
 * N, row stride lda): S = rint(acc * 2**-shift) (exact in float32: a power
 * of two times an integer below 2**24; ties to even), saturated to [qmin,
 * qmax], and one 8-byte gather per entry of the (f, f') pair at S - qmin
 * in fd; what act_deriv_kernel (numba) does, 16 entries at a time. Counts
 * the saturations, the entries outside [klo, khi] (when khi >= klo), and
 * the largest row sum of |f|. */
TARGET static void act_deriv_f32(const float *acc, int64_t B, int64_t N, int64_t lda, int shift,
                                 int32_t qmin, int32_t qmax, const float *fd, float *of,
                                 float *od, int64_t ldo, int64_t klo, int64_t khi,
                                 int64_t *sat, double *best, int64_t *clip) {
  const __m512 scale = _mm512_set1_ps(ldexpf(1.0f, -shift));
  const __m512 lo = _mm512_set1_ps((float)qmin), hi = _mm512_set1_ps((float)qmax);
  const __m512i qlo = _mm512_set1_epi32(qmin);
  const __m512i kl = _mm512_set1_epi32((int32_t)klo), kh = _mm512_set1_epi32((int32_t)khi);
  const int count_clip = khi >= klo;
  int64_t ns = 0, nc = 0;
  double top = 0.0;
  for (int64_t b = 0; b < B; b++) {
    const float *src = acc + b * lda;
    float *f = of + b * ldo, *d = od + b * ldo;
    __m512 t = _mm512_setzero_ps();
    for (int64_t j = 0; j < N; j += 16) {
      const __mmask16 m = N - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (N - j)) - 1u);
      const __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, src + j), scale),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512 c = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
      ns += __builtin_popcount(_mm512_mask_cmp_ps_mask(m, c, v, _CMP_NEQ_UQ));
      const __m512i k = _mm512_sub_epi32(_mm512_cvttps_epi32(c), qlo);
      if (count_clip)
        nc += __builtin_popcount(_mm512_mask_cmplt_epi32_mask(m, k, kl) |
                                 _mm512_mask_cmpgt_epi32_mask(m, k, kh));
      const __m512i p0 = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), (__mmask8)(m & 0xff),
                                                     _mm512_castsi512_si256(k), fd, 8);
      const __m512i p1 = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), (__mmask8)(m >> 8),
                                                     _mm512_extracti64x4_epi64(k, 1), fd, 8);
      const __m512i fv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(p0)),
                                            _mm512_cvtepi64_epi32(p1), 1);
      const __m512i dv = _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_srli_epi64(p0, 32))),
          _mm512_cvtepi64_epi32(_mm512_srli_epi64(p1, 32)), 1);
      _mm512_mask_storeu_ps(f + j, m, _mm512_castsi512_ps(fv));
      _mm512_mask_storeu_ps(d + j, m, _mm512_castsi512_ps(dv));
      t = _mm512_add_ps(t, _mm512_abs_ps(_mm512_castsi512_ps(fv)));  /* masked lanes: 0 */
    }
    /* integer codes: the float32 sum is exact below 2**24 (the caller checks
     * N * max |f| < 2**24) */
    const double row = (double)_mm512_reduce_add_ps(t);
    top = row > top ? row : top;
  }
  *sat = ns;
  *best = top;
  *clip = nc;
}

/* act_deriv_f32 on float64 accumulators (the 16-bit weights' sums, exact
 * integers below 2**53), 8 entries at a time: S = rint(acc * 2**-shift) in
 * float64 (exact: a power of two times an integer; ties to even), saturated
 * to [qmin, qmax] before it becomes an int32 index; the same gathers and
 * counts. */
TARGET static void act_deriv_f64(const double *acc, int64_t B, int64_t N, int64_t lda, int shift,
                                 int32_t qmin, int32_t qmax, const float *fd, float *of,
                                 float *od, int64_t ldo, int64_t klo, int64_t khi,
                                 int64_t *sat, double *best, int64_t *clip) {
  const __m512d scale = _mm512_set1_pd(ldexp(1.0, -shift));
  const __m512d lo = _mm512_set1_pd((double)qmin), hi = _mm512_set1_pd((double)qmax);
  const __m256i qlo = _mm256_set1_epi32(qmin);
  const __m256i kl = _mm256_set1_epi32((int32_t)klo), kh = _mm256_set1_epi32((int32_t)khi);
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const int count_clip = khi >= klo;
  int64_t ns = 0, nc = 0;
  double top = 0.0;
  for (int64_t b = 0; b < B; b++) {
    const double *src = acc + b * lda;
    float *f = of + b * ldo, *d = od + b * ldo;
    __m256 t = _mm256_setzero_ps();
    for (int64_t j = 0; j < N; j += 8) {
      const __mmask8 m = N - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (N - j)) - 1u);
      const __m512d v = _mm512_roundscale_pd(_mm512_mul_pd(_mm512_maskz_loadu_pd(m, src + j), scale),
                                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512d c = _mm512_min_pd(_mm512_max_pd(v, lo), hi);
      ns += __builtin_popcount(_mm512_mask_cmp_pd_mask(m, c, v, _CMP_NEQ_UQ));
      const __m256i k = _mm256_sub_epi32(_mm512_cvttpd_epi32(c), qlo);
      if (count_clip)
        nc += __builtin_popcount(_mm256_mask_cmplt_epi32_mask(m, k, kl) |
                                 _mm256_mask_cmpgt_epi32_mask(m, k, kh));
      const __m512i p = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), m, k, fd, 8);
      const __m256 fv = _mm256_castsi256_ps(_mm512_cvtepi64_epi32(p));
      const __m256 dv = _mm256_castsi256_ps(_mm512_cvtepi64_epi32(_mm512_srli_epi64(p, 32)));
      _mm256_mask_storeu_ps(f + j, m, fv);
      _mm256_mask_storeu_ps(d + j, m, dv);
      t = _mm256_add_ps(t, _mm256_and_ps(fv, magnitude));  /* masked lanes: 0 */
    }
    /* integer codes: the float32 sum is exact below 2**24 (the caller checks
     * N * max |f| < 2**24) */
    float lanes[8];
    _mm256_storeu_ps(lanes, t);
    float row = 0.0f;
    for (int u = 0; u < 8; u++) row += lanes[u];
    top = (double)row > top ? (double)row : top;
  }
  *sat = ns;
  *best = top;
  *clip = nc;
}

/* --- the Python module: arrays through the buffer protocol ------------- */

static int get(PyObject *o, Py_buffer *v, int writable, const char *fmt, int ndim) {
  if (PyObject_GetBuffer(o, v, PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
    return -1;
  if (v->ndim != ndim || strcmp(v->format, fmt) != 0) {
    PyErr_Format(PyExc_TypeError, "expected a %d-D array of format '%s'", ndim, fmt);
    PyBuffer_Release(v);
    return -1;
  }
  return 0;
}

/* An array argument: its position, whether it is written, its format and
 * dimensions. */
typedef struct {
  int arg, writable;
  const char *fmt;
  int ndim;
} arg_t;

/* The buffers of the n array arguments `spec` names, into v; on a failure
 * the ones already taken are released and -1 returned. */
static int get_all(PyObject *const *args, const arg_t *spec, int n, Py_buffer *v) {
  for (int i = 0; i < n; i++)
    if (get(args[spec[i].arg], &v[i], spec[i].writable, spec[i].fmt, spec[i].ndim) < 0) {
      while (i-- > 0) PyBuffer_Release(&v[i]);
      return -1;
    }
  return 0;
}

static void release_all(Py_buffer *v, int n) {
  for (int i = 0; i < n; i++) PyBuffer_Release(&v[i]);
}

/* pack(wt, scale, wp, colsum): wt float32 (K, N), any strides in whole elements */
static PyObject *py_pack(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  static const arg_t spec[] = {{0, 0, "f", 2}, {2, 1, "b", 1}, {3, 1, "i", 1}};
  Py_buffer v[3];
  Py_buffer *wt = &v[0];
  Py_buffer *wp = &v[1];
  Py_buffer *cs = &v[2];
  if (n != 4) return PyErr_Format(PyExc_TypeError, "pack takes 4 arguments");
  const double scale = PyFloat_AsDouble(args[1]);
  if (scale == -1.0 && PyErr_Occurred()) return NULL;
  if (get_all(args, spec, 3, v) < 0) return NULL;
  const int64_t K = wt->shape[0], N = wt->shape[1];
  if (wp->shape[0] < ((N + 15) / 16) * ((K + 3) / 4) * 64 || cs->shape[0] < ((N + 15) / 16) * 16 ||
      wt->strides[0] % 4 || wt->strides[1] % 4) {
    PyErr_SetString(PyExc_ValueError, "pack: buffers too small or strides not whole floats");
  } else {
    imac_pack((const float *)wt->buf, K, N, wt->strides[0] / 4, wt->strides[1] / 4, (float)scale,
              (int8_t *)wp->buf, (int32_t *)cs->buf);
  }
  release_all(v, 3);
  if (PyErr_Occurred()) return NULL;
  Py_RETURN_NONE;
}

/* mm(a, ascale, offset, wp, colsum, out, oscale): a float32 (M, K), rows or
 * columns contiguous; out float32 (M, N) rows contiguous, N from out */
static PyObject *py_mm(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  static const arg_t spec[] = {{0, 0, "f", 2}, {3, 0, "b", 1}, {4, 0, "i", 1}, {5, 1, "f", 2}};
  Py_buffer v[4];
  Py_buffer *a = &v[0];
  Py_buffer *wp = &v[1];
  Py_buffer *cs = &v[2];
  Py_buffer *out = &v[3];
  int rc = 0;
  if (n != 7) return PyErr_Format(PyExc_TypeError, "mm takes 7 arguments");
  const double ascale = PyFloat_AsDouble(args[1]);
  if (ascale == -1.0 && PyErr_Occurred()) return NULL;
  const long offset = PyLong_AsLong(args[2]);
  if (offset == -1 && PyErr_Occurred()) return NULL;
  const double oscale = PyFloat_AsDouble(args[6]);
  if (oscale == -1.0 && PyErr_Occurred()) return NULL;
  if (get_all(args, spec, 4, v) < 0) return NULL;
  const int64_t M = a->shape[0], K = a->shape[1], N = out->shape[1];
  const int64_t s0 = a->strides[0] / 4, s1 = a->strides[1] / 4;
  if (out->shape[0] != M || a->strides[0] % 4 || a->strides[1] % 4 || (s1 != 1 && s0 != 1) ||
      out->strides[1] != 4 || out->strides[0] % 4 || (offset != 0 && offset != 128) ||
      wp->shape[0] < ((N + 15) / 16) * ((K + 3) / 4) * 64 || cs->shape[0] < ((N + 15) / 16) * 16) {
    PyErr_SetString(PyExc_ValueError, "mm: shapes, strides, offset or buffers do not fit");
  } else {
    Py_BEGIN_ALLOW_THREADS
    rc = imac_mm((const float *)a->buf, M, K, s0, s1, (float)ascale, (int32_t)offset,
                 (const int8_t *)wp->buf, (const int32_t *)cs->buf, N, (float *)out->buf,
                 out->strides[0] / 4, (float)oscale);
    Py_END_ALLOW_THREADS
    if (rc < 0) PyErr_NoMemory();
  }
  release_all(v, 4);
  if (PyErr_Occurred()) return NULL;
  Py_RETURN_NONE;
}

/* pack16(wt, hp, lp, hsum, lsum): wt float32 (K, N), any strides */
static PyObject *py_pack16(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  static const arg_t spec[] = {
      {0, 0, "f", 2}, {1, 1, "b", 1}, {2, 1, "b", 1},
      {3, 1, "i", 1}, {4, 1, "i", 1}};
  Py_buffer v[5];
  Py_buffer *wt = &v[0];
  Py_buffer *hp = &v[1];
  Py_buffer *lp = &v[2];
  Py_buffer *hs = &v[3];
  Py_buffer *ls = &v[4];
  if (n != 5) return PyErr_Format(PyExc_TypeError, "pack16 takes 5 arguments");
  if (get_all(args, spec, 5, v) < 0) return NULL;
  const int64_t K = wt->shape[0], N = wt->shape[1], need = ((N + 15) / 16) * ((K + 3) / 4) * 64;
  if (hp->shape[0] < need || lp->shape[0] < need || hs->shape[0] < ((N + 15) / 16) * 16 ||
      ls->shape[0] < ((N + 15) / 16) * 16 || wt->strides[0] % 4 || wt->strides[1] % 4) {
    PyErr_SetString(PyExc_ValueError, "pack16: buffers too small or strides not whole floats");
  } else {
    imac_pack16((const float *)wt->buf, K, N, wt->strides[0] / 4, wt->strides[1] / 4,
                (int8_t *)hp->buf, (int8_t *)lp->buf, (int32_t *)hs->buf, (int32_t *)ls->buf);
  }
  release_all(v, 5);
  if (PyErr_Occurred()) return NULL;
  Py_RETURN_NONE;
}

/* mm16(a, ascale, offset, hp, lp, hsum, lsum, out): out float64 (M, N) */
static PyObject *py_mm16(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  static const arg_t spec[] = {
      {0, 0, "f", 2}, {3, 0, "b", 1}, {4, 0, "b", 1},
      {5, 0, "i", 1}, {6, 0, "i", 1}, {7, 1, "d", 2}};
  Py_buffer v[6];
  Py_buffer *a = &v[0];
  Py_buffer *hp = &v[1];
  Py_buffer *lp = &v[2];
  Py_buffer *hs = &v[3];
  Py_buffer *ls = &v[4];
  Py_buffer *out = &v[5];
  int rc = 0;
  if (n != 8) return PyErr_Format(PyExc_TypeError, "mm16 takes 8 arguments");
  const double ascale = PyFloat_AsDouble(args[1]);
  if (ascale == -1.0 && PyErr_Occurred()) return NULL;
  const long offset = PyLong_AsLong(args[2]);
  if (offset == -1 && PyErr_Occurred()) return NULL;
  if (get_all(args, spec, 6, v) < 0) return NULL;
  const int64_t M = a->shape[0], K = a->shape[1], N = out->shape[1];
  const int64_t s0 = a->strides[0] / 4, s1 = a->strides[1] / 4;
  const int64_t need = ((N + 15) / 16) * ((K + 3) / 4) * 64;
  if (out->shape[0] != M || a->strides[0] % 4 || a->strides[1] % 4 || (s1 != 1 && s0 != 1) ||
      out->strides[1] != 8 || out->strides[0] % 8 || (offset != 0 && offset != 128) ||
      hp->shape[0] < need || lp->shape[0] < need || hs->shape[0] < ((N + 15) / 16) * 16 ||
      ls->shape[0] < ((N + 15) / 16) * 16) {
    PyErr_SetString(PyExc_ValueError, "mm16: shapes, strides, offset or buffers do not fit");
  } else {
    Py_BEGIN_ALLOW_THREADS
    rc = imac_mm16((const float *)a->buf, M, K, s0, s1, (float)ascale, (int32_t)offset,
                   (const int8_t *)hp->buf, (const int8_t *)lp->buf, (const int32_t *)hs->buf,
                   (const int32_t *)ls->buf, N, (double *)out->buf, out->strides[0] / 8);
    Py_END_ALLOW_THREADS
    if (rc < 0) PyErr_NoMemory();
  }
  release_all(v, 6);
  if (PyErr_Occurred()) return NULL;
  Py_RETURN_NONE;
}

/* gather(codes, sat, rowsum, idx, out, next) -> (saturations, largest row sum) */
static PyObject *py_gather(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  static const arg_t spec[] = {
      {0, 0, "B", 2}, {1, 0, "l", 1}, {2, 0, "d", 1},
      {3, 0, "l", 1}, {4, 1, "f", 2}, {5, 0, "l", 1}};
  Py_buffer v[6];
  Py_buffer *c = &v[0];
  Py_buffer *st = &v[1];
  Py_buffer *rs = &v[2];
  Py_buffer *ix = &v[3];
  Py_buffer *out = &v[4];
  Py_buffer *nx = &v[5];
  int64_t nsat = 0;
  double best = 0.0;
  if (n != 6) return PyErr_Format(PyExc_TypeError, "gather takes 6 arguments");
  if (get_all(args, spec, 6, v) < 0) return NULL;
  const int64_t rows = ix->shape[0], width = c->shape[1], total = c->shape[0];
  int ok = c->strides[1] == 1 && c->strides[0] == width && st->strides[0] == 8 &&
           rs->strides[0] == 8 && ix->strides[0] == 8 && nx->strides[0] == 8 &&
           st->shape[0] == total && rs->shape[0] == total && out->shape[0] == rows &&
           out->shape[1] == width && out->strides[1] == 4 && out->strides[0] == 4 * width;
  for (int64_t r = 0; ok && r < rows; r++) ok = ((const int64_t *)ix->buf)[r] >= 0 &&
                                                ((const int64_t *)ix->buf)[r] < total;
  for (int64_t r = 0; ok && r < nx->shape[0]; r++) ok = ((const int64_t *)nx->buf)[r] >= 0 &&
                                                       ((const int64_t *)nx->buf)[r] < total;
  if (!ok) {
    PyErr_SetString(PyExc_ValueError, "gather: shapes, strides or indices do not fit");
  } else {
    gather_u8((const uint8_t *)c->buf, width, (const int64_t *)st->buf, (const double *)rs->buf,
              (const int64_t *)ix->buf, rows, (float *)out->buf, (const int64_t *)nx->buf,
              nx->shape[0], &nsat, &best);
  }
  release_all(v, 6);
  if (PyErr_Occurred()) return NULL;
  return Py_BuildValue("(Ld)", (long long)nsat, best);
}

/* act(acc, shift, qmin, qmax, fd, out_f, out_d, klo, khi) -> (sat, best, clip):
 * acc float32 (wide = 0) or float64 (wide = 1) */
static PyObject *act_call(PyObject *const *args, Py_ssize_t n, int wide) {
  const arg_t spec[] = {{0, 0, wide ? "d" : "f", 2}, {4, 0, "f", 2}, {5, 1, "f", 2},
                        {6, 1, "f", 2}};
  const Py_ssize_t es = wide ? 8 : 4; /* the accumulators' element size */
  Py_buffer v[4];
  Py_buffer *acc = &v[0];
  Py_buffer *fd = &v[1];
  Py_buffer *of = &v[2];
  Py_buffer *od = &v[3];
  int64_t sat = 0, clip = 0;
  double best = 0.0;
  if (n != 9) return PyErr_Format(PyExc_TypeError, "act takes 9 arguments");
  const long shift = PyLong_AsLong(args[1]), qmin = PyLong_AsLong(args[2]);
  const long qmax = PyLong_AsLong(args[3]);
  const long long klo = PyLong_AsLongLong(args[7]), khi = PyLong_AsLongLong(args[8]);
  if (PyErr_Occurred()) return NULL;
  if (get_all(args, spec, 4, v) < 0) return NULL;
  const int64_t B = acc->shape[0], N = acc->shape[1];
  if (acc->strides[1] != es || acc->strides[0] % es || fd->shape[1] != 2 || fd->strides[1] != 4 ||
      fd->strides[0] != 8 || fd->shape[0] < qmax - qmin + 1 || qmin > qmax ||
      qmin < -(1L << 24) || qmax > (1L << 24) || shift < -100 || shift > 100 ||
      of->shape[0] != B || of->shape[1] != N || od->shape[0] != B || od->shape[1] != N ||
      of->strides[1] != 4 || od->strides[1] != 4 || of->strides[0] != od->strides[0] ||
      of->strides[0] % 4) {
    PyErr_SetString(PyExc_ValueError, "act: shapes, strides or formats do not fit");
  } else if (wide) {
    act_deriv_f64((const double *)acc->buf, B, N, acc->strides[0] / 8, (int)shift,
                  (int32_t)qmin, (int32_t)qmax, (const float *)fd->buf, (float *)of->buf,
                  (float *)od->buf, of->strides[0] / 4, klo, khi, &sat, &best, &clip);
  } else {
    act_deriv_f32((const float *)acc->buf, B, N, acc->strides[0] / 4, (int)shift, (int32_t)qmin,
                  (int32_t)qmax, (const float *)fd->buf, (float *)of->buf, (float *)od->buf,
                  of->strides[0] / 4, klo, khi, &sat, &best, &clip);
  }
  release_all(v, 4);
  if (PyErr_Occurred()) return NULL;
  return Py_BuildValue("(LdL)", (long long)sat, best, (long long)clip);
}

static PyObject *py_act(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  return act_call(args, n, 0);
}

static PyObject *py_act64(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  return act_call(args, n, 1);
}

static PyMethodDef methods[] = {
    {"pack", (PyCFunction)(void (*)(void))py_pack, METH_FASTCALL, "pack(wt, scale, wp, colsum)"},
    {"mm", (PyCFunction)(void (*)(void))py_mm, METH_FASTCALL, "mm(a, ascale, offset, wp, colsum, out, oscale)"},
    {"pack16", (PyCFunction)(void (*)(void))py_pack16, METH_FASTCALL, "pack16(wt, hp, lp, hsum, lsum)"},
    {"act", (PyCFunction)(void (*)(void))py_act, METH_FASTCALL,
     "act(acc, shift, qmin, qmax, fd, out_f, out_d, klo, khi) -> (sat, best, clip)"},
    {"act64", (PyCFunction)(void (*)(void))py_act64, METH_FASTCALL,
     "act64(acc, shift, qmin, qmax, fd, out_f, out_d, klo, khi): act on float64 accumulators"},
    {"gather", (PyCFunction)(void (*)(void))py_gather, METH_FASTCALL,
     "gather(codes, sat, rowsum, idx, out, next) -> (saturations, largest row sum)"},
    {"mm16", (PyCFunction)(void (*)(void))py_mm16, METH_FASTCALL,
     "mm16(a, ascale, offset, hp, lp, hsum, lsum, out)"},
    {NULL, NULL, 0, NULL}};

#ifndef MODNAME
#define MODNAME _nsimac
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, STR(MODNAME), NULL, -1, methods};

PyMODINIT_FUNC CAT(PyInit_, MODNAME)(void) { return PyModule_Create(&module); }
