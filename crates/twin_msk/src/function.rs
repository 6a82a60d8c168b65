//! The scalar functions OpenSim models use for coupled joint motion and
//! moving path points: constant, linear, piecewise linear, polynomial,
//! splines (SIMM's and natural cubic) and a scaled function.
//!
//! `SimmSpline` is the Forsythe–Malcolm–Moler cubic spline (end third
//! derivatives matched to cubics through the first and last four points),
//! as SIMM and OpenSim compute it — OpenSim's `NaturalCubicSpline` too,
//! whatever its name says. The natural spline (zero second derivatives at
//! the ends) serves the motion filter. Outside their knots both continue
//! linearly with the end slope, as OpenSim's do.

/// A function of one coordinate.
#[derive(Debug, Clone, PartialEq)]
pub enum Function {
    Constant(f64),
    Linear {
        slope: f64,
        intercept: f64,
    },
    /// Cubic pieces `y_i + b_i dx + c_i dx² + d_i dx³` on `[x_i, x_{i+1})`.
    Spline(Spline),
    /// Straight lines between the points, constant beyond them.
    PiecewiseLinear {
        x: Vec<f64>,
        y: Vec<f64>,
    },
    /// `c_0 xⁿ + … + c_n` (OpenSim's order: highest power first).
    Polynomial(Vec<f64>),
    Multiplier {
        function: Box<Function>,
        scale: f64,
    },
}

/// A cubic spline with its coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct Spline {
    x: Vec<f64>,
    y: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    d: Vec<f64>,
}

/// End conditions of a cubic spline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplineEnds {
    /// Forsythe–Malcolm–Moler (OpenSim's `SimmSpline`).
    Fmm,
    /// Zero second derivative at the ends.
    Natural,
}

impl Spline {
    /// Fits a spline through the points; `None` unless there are at least
    /// two points with strictly increasing `x`.
    #[must_use]
    pub fn new(x: Vec<f64>, y: Vec<f64>, ends: SplineEnds) -> Option<Self> {
        let n = x.len();
        if n < 2 || y.len() != n || x.windows(2).any(|w| w[1] <= w[0] || !w[1].is_finite()) {
            return None;
        }
        let mut b = vec![0.0; n];
        let mut c = vec![0.0; n];
        let mut d = vec![0.0; n];
        if n == 2 {
            let s = (y[1] - y[0]) / (x[1] - x[0]);
            return Some(Self {
                x,
                y,
                b: vec![s, s],
                c,
                d,
            });
        }
        if ends == SplineEnds::Natural {
            natural(&x, &y, &mut b, &mut c, &mut d);
            return Some(Self { x, y, b, c, d });
        }
        // Tridiagonal system for σ_i (b = diagonal, d = off-diagonal,
        // c = right-hand side), as in FMM's `spline`.
        d[0] = x[1] - x[0];
        c[1] = (y[1] - y[0]) / d[0];
        for i in 1..n - 1 {
            d[i] = x[i + 1] - x[i];
            b[i] = 2.0 * (d[i - 1] + d[i]);
            c[i + 1] = (y[i + 1] - y[i]) / d[i];
            c[i] = c[i + 1] - c[i];
        }
        // End conditions: third derivatives from divided differences.
        b[0] = -d[0];
        b[n - 1] = -d[n - 2];
        c[0] = 0.0;
        c[n - 1] = 0.0;
        if n > 3 {
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0]);
            c[n - 1] = c[n - 2] / (x[n - 1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4]);
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0]);
            c[n - 1] = -c[n - 1] * d[n - 2] * d[n - 2] / (x[n - 1] - x[n - 4]);
        }
        for i in 1..n {
            let t = d[i - 1] / b[i - 1];
            b[i] -= t * d[i - 1];
            c[i] -= t * c[i - 1];
        }
        c[n - 1] /= b[n - 1];
        for i in (0..n - 1).rev() {
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i];
        }
        b[n - 1] = (y[n - 1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[n - 1]);
        for i in 0..n - 1 {
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i]);
            d[i] = (c[i + 1] - c[i]) / d[i];
            c[i] *= 3.0;
        }
        c[n - 1] *= 3.0;
        d[n - 1] = d[n - 2];
        Some(Self { x, y, b, c, d })
    }

    fn value(&self, v: f64) -> f64 {
        let n = self.x.len();
        if v < self.x[0] {
            return self.y[0] + (v - self.x[0]) * self.b[0];
        }
        if v > self.x[n - 1] {
            return self.y[n - 1] + (v - self.x[n - 1]) * self.b[n - 1];
        }
        let i = self.segment(v);
        let dx = v - self.x[i];
        self.y[i] + dx * (self.b[i] + dx * (self.c[i] + dx * self.d[i]))
    }

    fn derivative(&self, v: f64) -> f64 {
        let n = self.x.len();
        if v < self.x[0] {
            return self.b[0];
        }
        if v > self.x[n - 1] {
            return self.b[n - 1];
        }
        let i = self.segment(v);
        let dx = v - self.x[i];
        self.b[i] + dx * (2.0 * self.c[i] + 3.0 * dx * self.d[i])
    }

    /// Value at `v`.
    #[must_use]
    pub fn value_at(&self, v: f64) -> f64 {
        self.value(v)
    }

    /// First derivative at `v`.
    #[must_use]
    pub fn derivative_at(&self, v: f64) -> f64 {
        self.derivative(v)
    }

    /// Second derivative at `v` (zero on the linear continuations).
    #[must_use]
    pub fn second_derivative_at(&self, v: f64) -> f64 {
        let n = self.x.len();
        if v < self.x[0] || v > self.x[n - 1] {
            return 0.0;
        }
        let i = self.segment(v);
        2.0 * self.c[i] + 6.0 * self.d[i] * (v - self.x[i])
    }

    fn segment(&self, v: f64) -> usize {
        let n = self.x.len();
        self.x.partition_point(|&k| k <= v).clamp(1, n - 1) - 1
    }
}

/// Natural cubic spline coefficients (second derivatives `m` from the
/// tridiagonal system with `m_0 = m_{n−1} = 0`).
fn natural(x: &[f64], y: &[f64], b: &mut [f64], c: &mut [f64], d: &mut [f64]) {
    let n = x.len();
    let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let mut m = vec![0.0; n];
    // Thomas algorithm on rows 1..n−1.
    let mut diag = vec![0.0; n];
    let mut rhs = vec![0.0; n];
    for i in 1..n - 1 {
        diag[i] = 2.0 * (h[i - 1] + h[i]);
        rhs[i] = 6.0 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
    }
    for i in 2..n - 1 {
        let t = h[i - 1] / diag[i - 1];
        diag[i] -= t * h[i - 1];
        rhs[i] -= t * rhs[i - 1];
    }
    for i in (1..n - 1).rev() {
        m[i] = (rhs[i] - h[i] * m[i + 1]) / diag[i];
    }
    for i in 0..n - 1 {
        b[i] = (y[i + 1] - y[i]) / h[i] - h[i] * (2.0 * m[i] + m[i + 1]) / 6.0;
        c[i] = m[i] / 2.0;
        d[i] = (m[i + 1] - m[i]) / (6.0 * h[i]);
    }
    b[n - 1] = (y[n - 1] - y[n - 2]) / h[n - 2] + h[n - 2] * (m[n - 2] + 2.0 * m[n - 1]) / 6.0;
    c[n - 1] = 0.0;
    d[n - 1] = d[n - 2];
}

impl Function {
    #[must_use]
    pub fn value(&self, x: f64) -> f64 {
        match self {
            Self::Constant(v) => *v,
            Self::Linear { slope, intercept } => slope * x + intercept,
            Self::Spline(s) => s.value(x),
            Self::PiecewiseLinear { x: xs, y } => {
                let n = xs.len();
                if x <= xs[0] {
                    return y[0];
                }
                if x >= xs[n - 1] {
                    return y[n - 1];
                }
                let i = xs.partition_point(|&k| k <= x) - 1;
                y[i] + (y[i + 1] - y[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])
            }
            Self::Polynomial(c) => c.iter().fold(0.0, |acc, k| acc * x + k),
            Self::Multiplier { function, scale } => scale * function.value(x),
        }
    }

    #[must_use]
    pub fn derivative(&self, x: f64) -> f64 {
        match self {
            Self::Constant(_) => 0.0,
            Self::Linear { slope, .. } => *slope,
            Self::Spline(s) => s.derivative(x),
            Self::PiecewiseLinear { x: xs, y } => {
                let n = xs.len();
                if x <= xs[0] || x >= xs[n - 1] {
                    return 0.0;
                }
                let i = xs.partition_point(|&k| k <= x) - 1;
                (y[i + 1] - y[i]) / (xs[i + 1] - xs[i])
            }
            Self::Polynomial(c) => {
                let n = c.len();
                c.iter()
                    .take(n.saturating_sub(1))
                    .enumerate()
                    .fold(0.0, |acc, (i, k)| acc * x + k * (n - 1 - i) as f64)
            }
            Self::Multiplier { function, scale } => scale * function.derivative(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splines_interpolate_and_reproduce_cubics() {
        let x: Vec<f64> = vec![-2.0, -1.1, 0.0, 0.4, 1.5, 2.2, 3.0];
        let cubic = |v: f64| 0.3 * v * v * v - v * v + 2.0 * v - 1.0;
        let y: Vec<f64> = x.iter().map(|&v| cubic(v)).collect();
        // FMM end conditions are exact for cubics.
        let s = Function::Spline(Spline::new(x.clone(), y.clone(), SplineEnds::Fmm).unwrap());
        for v in [-1.7, -0.3, 0.2, 1.0, 2.9] {
            assert!((s.value(v) - cubic(v)).abs() < 1e-10, "{v}");
            let dc = 0.9 * v * v - 2.0 * v + 2.0;
            assert!((s.derivative(v) - dc).abs() < 1e-9, "{v}");
        }
        // A natural spline passes through its knots with zero end curvature.
        let n = Spline::new(x.clone(), y.clone(), SplineEnds::Natural).unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            assert!((n.value(*xi) - yi).abs() < 1e-12);
        }
        assert!(n.c[0].abs() < 1e-12 && n.c[x.len() - 1].abs() < 1e-12);
        // Linear continuation outside.
        assert!((n.value(4.0) - (n.value(3.0) + n.derivative(3.0))).abs() < 1e-12);
        assert!(Spline::new(vec![0.0, 0.0], vec![1.0, 2.0], SplineEnds::Fmm).is_none());
    }

    #[test]
    fn other_functions_and_their_derivatives() {
        let p = Function::Polynomial(vec![2.0, -1.0, 3.0]); // 2x² − x + 3
        assert!((p.value(2.0) - 9.0).abs() < 1e-12 && (p.derivative(2.0) - 7.0).abs() < 1e-12);
        let m = Function::Multiplier {
            function: Box::new(Function::Linear {
                slope: 2.0,
                intercept: 1.0,
            }),
            scale: 1.5,
        };
        assert!((m.value(1.0) - 4.5).abs() < 1e-12 && (m.derivative(0.0) - 3.0).abs() < 1e-12);
        let l = Function::PiecewiseLinear {
            x: vec![0.0, 1.0, 3.0],
            y: vec![0.0, 2.0, 3.0],
        };
        assert!((l.value(2.0) - 2.5).abs() < 1e-12 && (l.derivative(0.5) - 2.0).abs() < 1e-12);
        assert!((l.value(-1.0)).abs() < 1e-12 && (l.value(5.0) - 3.0).abs() < 1e-12);
    }
}
