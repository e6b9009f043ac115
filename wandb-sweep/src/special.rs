//! Special functions behind the samplers: the inverse normal CDF and the regularized
//! incomplete beta function with its inverse, accurate to a few ulps / 1e-13 relative.

use libm::{erfc, lgamma};

/// Φ⁻¹(p), the inverse standard normal CDF; −∞ at 0 and +∞ at 1, NaN outside [0, 1].
pub(crate) fn ndtri(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Acklam's rational approximation (relative error < 1.2e-9), then two Halley steps on
    // Φ(x) = erfc(-x/√2)/2, which bring it to full double precision.
    let mut x = acklam(p);
    for _ in 0..2 {
        let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
        let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Φ(z), the standard normal CDF.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// φ(z), the standard normal density.
pub(crate) fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The regularized incomplete beta function I_x(a, b).
pub(crate) fn ibeta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = beta_front(a, b, x);
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// x^a (1 − x)^b / B(a, b). With moderate a + b, through Γ directly: the difference of
/// log-gammas loses about |ln Γ| ulps, which the quantile inherits.
fn beta_front(a: f64, b: f64, x: f64) -> f64 {
    // (1 − x)^b through log1p: 1 − x itself is rounded, an error that ^b multiplies by b.
    let direct = x.powf(a) * (b * libm::log1p(-x)).exp();
    if a + b < 150.0 && direct.is_normal() {
        let (ga, gb, gab) = (libm::tgamma(a), libm::tgamma(b), libm::tgamma(a + b));
        if ga.is_finite() && gb.is_finite() && gab.is_finite() {
            return direct * (gab / ga / gb);
        }
    }
    (lgamma(a + b) - lgamma(a) - lgamma(b) + a * x.ln() + b * libm::log1p(-x)).exp()
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The inverse of I_x(a, b) in x: the beta distribution's quantile. NaN for a or b ≤ 0.
///
/// Closed forms where they exist (within 2 ulps of the correctly rounded quantile for
/// `a = 1`, and exact wherever the true quantile is a double, e.g. `a = 1, b = 0.5` at 0.5 is
/// 0.75, as scipy gives): `I_x(a, 1) = x^a` and `I_x(1, b) = 1 − (1 − x)^b`. Elsewhere a
/// bisection on I_x to the last representable step.
pub(crate) fn ibeta_inv(a: f64, b: f64, p: f64) -> f64 {
    if !(a > 0.0 && b > 0.0) || p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 || p == 1.0 {
        return p;
    }
    if a == 1.0 && b == 1.0 {
        return p;
    }
    if b == 1.0 {
        return p.powf(1.0 / a);
    }
    if a == 1.0 {
        // 1 − (1 − p)^(1/b), without the cancellation of 1 − p for small p.
        return -libm::expm1(libm::log1p(-p) / b);
    }
    // Bisection on a monotone function; each halving gains a bit. Midpoints are taken in
    // log space near 0 so tiny quantiles keep their relative precision.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..2000 {
        let mid = if lo > 0.0 && hi / lo > 4.0 {
            (lo * hi).sqrt()
        } else if lo == 0.0 && hi > 1e-300 {
            hi / 16.0
        } else {
            0.5 * (lo + hi)
        };
        if mid <= lo || mid >= hi {
            break;
        }
        if ibeta(a, b, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // The end of the final bracket whose I_x is nearer p.
    if (ibeta(a, b, lo) - p).abs() < (ibeta(a, b, hi) - p).abs() {
        lo
    } else {
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ndtri_matches_known_quantiles() {
        assert_eq!(ndtri(0.5), 0.0);
        assert!(close(ndtri(0.975), 1.959_963_984_540_054, 1e-15));
        assert!(close(ndtri(0.001), -3.090_232_306_167_813_5, 1e-14));
        assert!(close(ndtri(1e-9), -5.997_807_015_007_686, 1e-13));
        assert_eq!(ndtri(0.0), f64::NEG_INFINITY);
        assert_eq!(ndtri(1.0), f64::INFINITY);
    }

    #[test]
    fn ibeta_and_inverse_agree() {
        assert!(close(ibeta(2.0, 5.0, 0.264_449_983_295_660_05), 0.5, 1e-13));
        for &(a, b) in &[(2.0, 5.0), (0.5, 0.5), (1.0, 1.0), (10.0, 3.0)] {
            for &p in &[1e-9, 0.001, 0.1, 0.5, 0.9, 0.999] {
                let x = ibeta_inv(a, b, p);
                assert!(close(ibeta(a, b, x), p, 1e-12), "a={a} b={b} p={p} x={x}");
            }
        }
        assert!(ibeta_inv(0.0, 1.0, 0.5).is_nan());
    }

    #[test]
    fn closed_form_quantiles_are_exact_where_the_quantile_is_a_double() {
        // I_x(1, 0.5) = 1 − √(1 − x): the median is exactly 0.75 (scipy gives 0.75).
        assert_eq!(ibeta_inv(1.0, 0.5, 0.5), 0.75);
        assert_eq!(ibeta_inv(1.0, 2.0, 0.75), 0.5);
        assert_eq!(ibeta_inv(2.0, 1.0, 0.25), 0.5);
        assert_eq!(ibeta_inv(0.5, 1.0, 0.5), 0.25);
        assert_eq!(ibeta_inv(1.0, 1.0, 0.3), 0.3);
        // Tiny quantiles keep their relative precision.
        assert!(close(ibeta_inv(1.0, 3.0, 1e-300), 1e-300 / 3.0, 1e-15));
    }
}
