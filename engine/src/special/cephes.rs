//! The Cephes helpers the incomplete gamma needs (polynomial evaluation, Lanczos sum, `lgam`,
//! `log1p`/`expm1`/`log1pmx`, `lgam1p`, Hurwitz zeta, `erf`/`erfc`), ported from SciPy's `xsf/cephes`.
#![allow(clippy::excessive_precision)]

use super::*;

// ------------------------------------------------- polevl.h, lanczos.h

/// Horner evaluation, coefficients from the highest degree down (Cephes `polevl`).
pub(super) fn polevl(x: f64, coef: &[f64]) -> f64 {
    match coef.split_first() {
        Some((&c0, rest)) => rest.iter().fold(c0, |ans, &c| ans * x + c),
        None => 0.0,
    }
}

/// As `polevl` with an implicit leading coefficient 1 (Cephes `p1evl`).
pub(super) fn p1evl(x: f64, coef: &[f64]) -> f64 {
    coef.iter().fold(1.0, |ans, &c| ans * x + c)
}

/// Rational function num(x)/denom(x) of equal degree, evaluated in 1/x when |x| > 1
/// (Cephes `ratevl`; the x^(M-N) factor is 1 because M == N for every caller).
pub(super) fn ratevl(x: f64, num: &[f64], denom: &[f64]) -> f64 {
    if x.abs() > 1.0 {
        let y = 1.0 / x;
        let rev = |c: &[f64]| {
            let mut it = c.iter().rev();
            let first = it.next().copied().unwrap_or(0.0);
            it.fold(first, |ans, &c| ans * y + c)
        };
        rev(num) / rev(denom)
    } else {
        polevl(x, num) / polevl(x, denom)
    }
}

/// Lanczos sum scaled by exp(-g) (Boost `lanczos13m53::lanczos_sum_expg_scaled`).
pub(super) fn lanczos_sum_expg_scaled(x: f64) -> f64 {
    ratevl(x, &LANCZOS_SUM_EXPG_SCALED_NUM, &LANCZOS_SUM_EXPG_SCALED_DENOM)
}

#[rustfmt::skip]
const LANCZOS_SUM_EXPG_SCALED_NUM: [f64; 13] = [
    0.006061842346248906525783753964555936883222, 0.5098416655656676188125178644804694509993, 19.51992788247617482847860966235652136208,
    449.9445569063168119446858607650988409623, 6955.999602515376140356310115515198987526, 75999.29304014542649875303443598909137092,
    601859.6171681098786670226533699352302507, 3481712.15498064590882071018964774556468, 14605578.08768506808414169982791359218571,
    43338889.32467613834773723740590533316085, 86363131.28813859145546927288977868422342, 103794043.1163445451906271053616070238554,
    56906521.91347156388090791033559122686859,
];

#[rustfmt::skip]
const LANCZOS_SUM_EXPG_SCALED_DENOM: [f64; 13] = [
    1.0, 66.0, 1925.0, 32670.0, 357423.0, 2637558.0, 13339535.0,
    45995730.0, 105258076.0, 150917976.0, 120543840.0, 39916800.0, 0.0,
];

// ---------------------------------------------------------------- gamma.h

#[rustfmt::skip]
const GAMMA_A: [f64; 5] = [
    8.11614167470508450300E-4, -5.95061904284301438324E-4, 7.93650340457716943945E-4,
    -2.77777777730099687205E-3, 8.33333333333331927722E-2,
];
#[rustfmt::skip]
const GAMMA_B: [f64; 6] = [
    -1.37825152569120859100E3, -3.88016315134637840924E4, -3.31612992738871184744E5,
    -1.16237097492762307383E6, -1.72173700820839662146E6, -8.53555664245765465627E5,
];
#[rustfmt::skip]
const GAMMA_C: [f64; 6] = [
    -3.51815701436523470549E2, -1.70642106651881159223E4, -2.20528590553854454839E5,
    -1.13933444367982507207E6, -2.53252307177582951285E6, -2.01889141433532773231E6,
];

/// Cephes `lgam` restricted to x > 0 (the reflection branch for x < -34 is not needed).
pub(super) fn lgam(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if x <= 0.0 {
        return f64::NAN;
    }
    if x < 13.0 {
        let mut z = 1.0;
        let mut p = 0.0;
        let mut u = x;
        while u >= 3.0 {
            p -= 1.0;
            u = x + p;
            z *= u;
        }
        while u < 2.0 {
            if u == 0.0 {
                return f64::INFINITY;
            }
            z /= u;
            p += 1.0;
            u = x + p;
        }
        if z < 0.0 {
            z = -z;
        }
        if u == 2.0 {
            return z.ln();
        }
        p -= 2.0;
        let xr = x + p;
        let r = xr * polevl(xr, &GAMMA_B) / p1evl(xr, &GAMMA_C);
        return z.ln() + r;
    }
    if x > MAXLGM {
        return f64::INFINITY;
    }
    let q = (x - 0.5) * x.ln() - x + LS2PI;
    if x >= 1000.0 {
        // lgam_large_x
        if x > 1.0e8 {
            return q;
        }
        let p = 1.0 / (x * x);
        let p = ((7.9365079365079365079365e-4 * p - 2.7777777777777777777778e-3) * p + 0.0833333333333333333333) / x;
        return q + p;
    }
    let p = 1.0 / (x * x);
    q + polevl(p, &GAMMA_A) / x
}

// ---------------------------------------------------------------- unity.h

#[rustfmt::skip]
const UNITY_LP: [f64; 7] = [
    4.5270000862445199635215E-5, 4.9854102823193375972212E-1, 6.5787325942061044846969E0,
    2.9911919328553073277375E1, 6.0949667980987787057556E1, 5.7112963590585538103336E1,
    2.0039553499201281259648E1,
];
#[rustfmt::skip]
const UNITY_LQ: [f64; 6] = [
    1.5062909083469192043167E1, 8.3047565967967209469434E1, 2.2176239823732856465394E2,
    3.0909872225312059774938E2, 2.1642788614495947685003E2, 6.0118660497603843919306E1,
];
#[rustfmt::skip]
const UNITY_EP: [f64; 3] = [
    1.2617719307481059087798E-4, 3.0299440770744196129956E-2, 9.9999999999999999991025E-1,
];
#[rustfmt::skip]
const UNITY_EQ: [f64; 4] = [
    3.0019850513866445504159E-6, 2.5244834034968410419224E-3, 2.2726554820815502876593E-1,
    2.0000000000000000000897E0,
];

/// Cephes `log1p`: ln(1 + x).
pub(super) fn log1p(x: f64) -> f64 {
    let z = 1.0 + x;
    if !(FRAC_1_SQRT_2..=SQRT_2).contains(&z) {
        return z.ln();
    }
    let z = x * x;
    let z = -0.5 * z + x * (z * polevl(x, &UNITY_LP) / p1evl(x, &UNITY_LQ));
    x + z
}

/// ln(1 + x) - x, by its Taylor series for |x| < 1/2.
pub(super) fn log1pmx(x: f64) -> f64 {
    if x.abs() < 0.5 {
        let mut xfac = x;
        let mut res = 0.0;
        for n in 2..UNITY_MAXITER {
            xfac *= -x;
            let term = xfac / f64::from(n);
            res += term;
            if term.abs() < MACHEP * res.abs() {
                break;
            }
        }
        res
    } else {
        log1p(x) - x
    }
}

/// Cephes `expm1`: exp(x) - 1.
pub(super) fn expm1(x: f64) -> f64 {
    if !x.is_finite() {
        return if x.is_nan() || x > 0.0 { x } else { -1.0 };
    }
    if !(-0.5..=0.5).contains(&x) {
        return x.exp() - 1.0;
    }
    let xx = x * x;
    let r = x * polevl(xx, &UNITY_EP);
    let r = r / (polevl(xx, &UNITY_EQ) - r);
    r + r
}

/// ln Gamma(1 + x) near x = 0 from its Taylor series -gamma x + sum zeta(n) (-x)^n / n.
pub(super) fn lgam1p_taylor(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let mut res = -EULER_GAMMA * x;
    let mut xfac = -x;
    for n in 2..42_u32 {
        let nf = f64::from(n);
        xfac *= -x;
        let coeff = zeta(nf, 1.0) * xfac / nf;
        res += coeff;
        if coeff.abs() < MACHEP * res.abs() {
            break;
        }
    }
    res
}

/// Cephes `lgam1p`: ln Gamma(1 + x), accurate near x = 0 and x = 1.
pub(super) fn lgam1p(x: f64) -> f64 {
    if x.abs() <= 0.5 {
        lgam1p_taylor(x)
    } else if (x - 1.0).abs() < 0.5 {
        x.ln() + lgam1p_taylor(x - 1.0)
    } else {
        lgam(x + 1.0)
    }
}

// ----------------------------------------------------------------- zeta.h

/// (2k)! / B_2k, for the Euler-Maclaurin tail of `zeta`.
#[rustfmt::skip]
const ZETA_A: [f64; 12] = [
    12.0, -720.0, 30240.0,
    -1209600.0, 47900160.0, -1.8924375803183791606e9,
    7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
    -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18,
];

/// Cephes Hurwitz `zeta(x, q)` = sum_k (k + q)^-x for x > 1, q > 0 (Euler-Maclaurin).
pub(super) fn zeta(x: f64, q: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    if x < 1.0 || q <= 0.0 {
        return f64::NAN;
    }
    if q > 1e8 {
        return (1.0 / (x - 1.0) + 1.0 / (2.0 * q)) * q.powf(1.0 - x);
    }
    let mut s = q.powf(-x);
    let mut a = q;
    let mut i = 0;
    let mut b = 0.0;
    while i < 9 || a <= 9.0 {
        i += 1;
        a += 1.0;
        b = a.powf(-x);
        s += b;
        if (b / s).abs() < MACHEP {
            return s;
        }
    }
    let w = a;
    s += b * w / (x - 1.0);
    s -= 0.5 * b;
    let mut a = 1.0;
    let mut k = 0.0;
    for &ai in ZETA_A.iter() {
        a *= x + k;
        b /= w;
        let t = a * b / ai;
        s += t;
        if (t / s).abs() < MACHEP {
            return s;
        }
        k += 1.0;
        a *= x + k;
        b /= w;
        k += 1.0;
    }
    s
}

// ------------------------------------------------------------------ ndtr.h

#[rustfmt::skip]
const NDTR_P: [f64; 9] = [
    2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0,
    4.86371970985681366614E1, 1.96520832956077098242E2, 5.26445194995477358631E2,
    9.34528527171957607540E2, 1.02755188689515710272E3, 5.57535335369399327526E2,
];
#[rustfmt::skip]
const NDTR_Q: [f64; 8] = [
    1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
    9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3,
    1.65666309194161350182E3, 5.57535340817727675546E2,
];
#[rustfmt::skip]
const NDTR_R: [f64; 6] = [
    5.64189583547755073984E-1, 1.27536670759978104416E0, 5.01905042251180477414E0,
    6.16021097993053585195E0, 7.40974269950448939160E0, 2.97886665372100240670E0,
];
#[rustfmt::skip]
const NDTR_S: [f64; 6] = [
    2.26052863220117276590E0, 9.39603524938001434673E0, 1.20489539808096656605E1,
    1.70814450747565897222E1, 9.60896809063285878198E0, 3.36907645100081516050E0,
];
#[rustfmt::skip]
const NDTR_T: [f64; 5] = [
    9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3,
    7.00332514112805075473E3, 5.55923013010394962768E4,
];
#[rustfmt::skip]
const NDTR_U: [f64; 5] = [
    3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3,
    2.26290000613890934246E4, 4.92673942608635921086E4,
];

/// Cephes `erfc`: 1 - erf(x) with rational approximations for |x| >= 1.
pub(super) fn erfc(a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let x = a.abs();
    if x < 1.0 {
        return 1.0 - erf(a);
    }
    let underflow = if a < 0.0 { 2.0 } else { 0.0 };
    let z = -a * a;
    if z < -MAXLOG {
        return underflow;
    }
    let z = z.exp();
    let (p, q) = if x < 8.0 {
        (polevl(x, &NDTR_P), p1evl(x, &NDTR_Q))
    } else {
        (polevl(x, &NDTR_R), p1evl(x, &NDTR_S))
    };
    let mut y = (z * p) / q;
    if a < 0.0 {
        y = 2.0 - y;
    }
    if y != 0.0 {
        y
    } else {
        underflow
    }
}

/// Cephes `erf`: x P4(x^2) / Q5(x^2) for |x| <= 1, else 1 - erfc(x).
pub(super) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return -erf(-x);
    }
    if x > 1.0 {
        return 1.0 - erfc(x);
    }
    let z = x * x;
    x * polevl(z, &NDTR_T) / p1evl(z, &NDTR_U)
}
