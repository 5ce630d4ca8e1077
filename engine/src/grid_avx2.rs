//! The AVX2 block scan of [`crate::grid`]: cells, range and infinities of eight values per step.
//!
//! The portable loop compiled to two-wide blends and packs with spills; here each four values cost
//! a subtract, a multiply, a clamp of two `vmaxpd`/`vminpd` whose operand order lets NaN through, an
//! add, one `vcvttpd2dq` (NaN becomes 0x8000_0000, cell 0 once masked) and a 128-bit store, beside
//! the range and the two infinity counts. Two accumulators each way so no chain limits the step.

use crate::grid::Scan;
use crate::kernel::BLOCK;
use std::arch::x86_64::{
    __m128i, __m256d, __m256i, _mm256_add_pd, _mm256_castpd_si256, _mm256_cmp_pd, _mm256_cvttpd_epi32, _mm256_loadu_pd,
    _mm256_max_pd, _mm256_min_pd, _mm256_mul_pd, _mm256_set1_pd, _mm256_setzero_si256, _mm256_storeu_pd,
    _mm256_storeu_si256, _mm256_sub_epi64, _mm256_sub_pd, _mm_and_si128, _mm_set1_epi32, _mm_storeu_si128, _CMP_EQ_OQ,
};

/// The cells of the leading multiple of eight values of `xs` (at most a block) into `out`, and their
/// range and infinities folded into `lo`/`hi`; returns how many values it scanned.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn scan(
    g0: f64,
    scale: f64,
    inner: f64,
    xs: &[f64],
    out: &mut [u32; BLOCK],
    lo: f64,
    hi: f64,
) -> (usize, Scan) {
    let (vg0, vs, vm1, vin, v2) = (
        _mm256_set1_pd(g0),
        _mm256_set1_pd(scale),
        _mm256_set1_pd(-1.0),
        _mm256_set1_pd(inner),
        _mm256_set1_pd(2.0),
    );
    let (ninf, pinf) = (_mm256_set1_pd(f64::NEG_INFINITY), _mm256_set1_pd(f64::INFINITY));
    let mask = _mm_set1_epi32(crate::grid::CELLS as i32 - 1);
    let (mut l, mut h) = ([_mm256_set1_pd(lo); 2], [_mm256_set1_pd(hi); 2]);
    let (mut cn, mut cp) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let n = xs.len().min(BLOCK) / 8 * 8;
    let cell = |x: __m256d| -> __m128i {
        let t = _mm256_mul_pd(_mm256_sub_pd(x, vg0), vs);
        // vmaxpd/vminpd return their second operand when either is NaN: t, so NaN passes through.
        let t = _mm256_min_pd(vin, _mm256_max_pd(vm1, t));
        _mm_and_si128(_mm256_cvttpd_epi32(_mm256_add_pd(t, v2)), mask)
    };
    for i in (0..n).step_by(8) {
        for k in 0..2 {
            // SAFETY: i + 4k + 4 <= n <= xs.len() and <= BLOCK, so the four loads and the four
            // stores are in bounds of `xs` and `out`.
            let x = unsafe { _mm256_loadu_pd(xs.as_ptr().add(i + 4 * k)) };
            // vminpd(x, acc) returns acc when x is NaN: NaN never enters the range.
            l[k] = _mm256_min_pd(x, l[k]);
            h[k] = _mm256_max_pd(x, h[k]);
            cn = _mm256_sub_epi64(cn, _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_EQ_OQ>(x, ninf)));
            cp = _mm256_sub_epi64(cp, _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_EQ_OQ>(x, pinf)));
            unsafe { _mm_storeu_si128(out.as_mut_ptr().add(i + 4 * k).cast::<__m128i>(), cell(x)) };
        }
    }
    let lanes = |v: __m256d| -> [f64; 4] {
        let mut a = [0f64; 4];
        // SAFETY: `a` holds four f64, what the unaligned 256-bit store writes.
        unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) };
        a
    };
    let ints = |v: __m256i| -> u64 {
        let mut a = [0u64; 4];
        // SAFETY: `a` holds four u64, what the unaligned 256-bit store writes.
        unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast::<__m256i>(), v) };
        a.iter().sum()
    };
    let lo = l
        .iter()
        .flat_map(|&v| lanes(v))
        .fold(lo, |a, x| if x < a { x } else { a });
    let hi = h
        .iter()
        .flat_map(|&v| lanes(v))
        .fold(hi, |a, x| if x > a { x } else { a });
    let scan = Scan {
        lo,
        hi,
        neg_inf: ints(cn),
        pos_inf: ints(cp),
    };
    (n, scan)
}
