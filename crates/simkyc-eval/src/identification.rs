//! Open-set identification (1:N) rates by gallery size, for the duplicate check.
//!
//! A development set has a few hundred identities; an operator's gallery has millions. The
//! gallery is therefore made of the set's real enrolled templates plus synthetic *filler*
//! templates drawn from a [`FillerModel`]: a Gaussian with the mean and covariance of real
//! templates, each draw normalised, its spread scaled so that probe-to-filler scores match the
//! upper tail of the real impostor scores. Each probe is searched at every gallery size with
//! rank-1 logic:
//! - a *non-mated* search (the probe's identity is not enrolled) is a false positive at
//!   threshold `t` when its best score is at least `t`: FPIR(N, t);
//! - a *mated* search misses when the rank-1 candidate is not the probe's own enrolment or
//!   scores below `t`: FNIR(N, t).

use nalgebra::DMatrix;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use simkyc_gallery::{Gallery, Precision};

use crate::metrics::{threshold_for_fmr, Scored};
use crate::EvalError;

/// Weight of the isotropic part mixed into the covariance (shrinkage), so that a set with fewer
/// templates than dimensions still gives a full-rank Gaussian.
const SHRINKAGE: f64 = 0.05;

/// The spreads a match may choose from; a match at either end means the fillers could not be
/// made to follow that set's tail (reported as such).
pub const SPREAD_RANGE: (f32, f32) = (0.3, 3.0);

/// One identity of a development set and its templates.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Identity name (unique within its set).
    pub name: String,
    /// Its templates, one per image that gave a face.
    pub templates: Vec<Vec<f32>>,
}

/// A Gaussian generator of normalised filler templates.
#[derive(Debug, Clone)]
pub struct FillerModel {
    dim: usize,
    mean: Vec<f32>,
    /// Lower-triangular Cholesky factor of the (shrunk) covariance, row-major.
    factor: Vec<f32>,
    /// Multiplier of the deviations from the mean (1 = the fitted covariance).
    spread: f32,
}

fn unit(t: &[f32]) -> Option<Vec<f32>> {
    let n = t.iter().map(|x| x * x).sum::<f32>().sqrt();
    (n.is_finite() && n > 0.0).then(|| t.iter().map(|x| x / n).collect())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl FillerModel {
    /// Fits the mean and covariance of the normalised `templates`.
    pub fn fit(templates: &[&[f32]]) -> Result<FillerModel, EvalError> {
        let units: Vec<Vec<f32>> = templates.iter().filter_map(|t| unit(t)).collect();
        let dim = units.first().map(Vec::len).ok_or_else(|| EvalError::Thresholds("no templates to fit fillers on".into()))?;
        if units.len() < 10 || units.iter().any(|u| u.len() != dim) {
            return Err(EvalError::Thresholds(format!("{} templates of mixed or too few dimensions to fit fillers on", units.len())));
        }
        let n = units.len() as f64;
        let mut mean = vec![0.0f64; dim];
        for u in &units {
            mean.iter_mut().zip(u).for_each(|(m, &x)| *m += f64::from(x) / n);
        }
        let mut cov = DMatrix::<f64>::zeros(dim, dim);
        for u in &units {
            let d = DMatrix::from_iterator(dim, 1, u.iter().zip(&mean).map(|(&x, m)| f64::from(x) - m));
            cov += &d * d.transpose() / (n - 1.0);
        }
        let iso = cov.trace() / dim as f64;
        let shrunk = cov * (1.0 - SHRINKAGE) + DMatrix::<f64>::identity(dim, dim) * (SHRINKAGE * iso);
        let chol = shrunk.cholesky().ok_or_else(|| EvalError::Thresholds("filler covariance is not positive definite".into()))?;
        let l = chol.l();
        let mut factor = vec![0.0f32; dim * dim];
        for r in 0..dim {
            for c in 0..=r {
                factor[r * dim + c] = l[(r, c)] as f32;
            }
        }
        Ok(FillerModel { dim, mean: mean.iter().map(|&m| m as f32).collect(), factor, spread: 1.0 })
    }

    /// The template dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The multiplier of the deviations from the mean.
    pub fn spread(&self) -> f32 {
        self.spread
    }

    /// The same model with the deviations from the mean multiplied by `spread`.
    pub fn with_spread(&self, spread: f32) -> FillerModel {
        FillerModel { spread, ..self.clone() }
    }

    /// Calls `each` with `n` normalised fillers drawn with `seed` (the same seed, the same
    /// fillers).
    pub fn draw(&self, n: usize, seed: u64, mut each: impl FnMut(&[f32])) {
        let mut rng = StdRng::seed_from_u64(seed);
        let d = self.dim;
        let mut z = vec![0.0f32; d];
        let mut x = vec![0.0f32; d];
        for _ in 0..n {
            z.iter_mut().for_each(|v| *v = StandardNormal.sample(&mut rng));
            for (r, xr) in x.iter_mut().enumerate() {
                *xr = self.mean[r] + self.spread * dot(&self.factor[r * d..r * d + r + 1], &z[..=r]);
            }
            match unit(&x) {
                Some(u) => each(&u),
                None => each(&self.mean),
            }
        }
    }

    /// Chooses the spread at which probe-to-filler scores of `probes` put the same share above
    /// `score` as the real impostor scores do (`real_rate`), by bisection over `fillers` draws.
    /// This matches the fillers to the real impostor distribution where it matters: its tail.
    /// (Because each draw is normalised, a wider spread weakens the shared mean direction and
    /// so gives *fewer* high scores; the bisection takes the direction from the ends.)
    pub fn matched_to(&self, probes: &[&[f32]], score: f32, real_rate: f64, fillers: usize, seed: u64) -> FillerModel {
        let rate_at = |spread: f32| share_above(&filler_scores(probes, &self.with_spread(spread), fillers, seed), score);
        let (mut lo, mut hi) = (SPREAD_RANGE.0, SPREAD_RANGE.1);
        let falling = rate_at(lo) >= rate_at(hi);
        for _ in 0..12 {
            let mid = 0.5 * (lo + hi);
            // Move towards the side whose rate is on the other side of the target.
            if (rate_at(mid) > real_rate) == falling {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.with_spread(0.5 * (lo + hi))
    }
}

/// The rank-1 outcome of one mated search.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MatedSearch {
    /// Whether the rank-1 candidate is the probe's own enrolment.
    pub mate_first: bool,
    /// The rank-1 score.
    pub score: f32,
}

/// The searches of one set at one gallery size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SizeOutcome {
    /// Templates in the gallery (real enrolments plus fillers).
    pub size: usize,
    /// Best score of every non-mated search.
    pub non_mated: Vec<f32>,
    /// Every mated search.
    pub mated: Vec<MatedSearch>,
}

impl SizeOutcome {
    /// Share of non-mated searches with a candidate at or above `t`.
    pub fn fpir(&self, t: f32) -> f64 {
        share_above(&self.non_mated, t)
    }

    /// Share of mated searches whose rank-1 candidate is not the mate or scores below `t`
    /// (None without mated searches).
    pub fn fnir(&self, t: f32) -> Option<f64> {
        if self.mated.is_empty() {
            return None;
        }
        Some(self.mated.iter().filter(|m| !(m.mate_first && m.score >= t)).count() as f64 / self.mated.len() as f64)
    }

    /// The lowest threshold whose FPIR is at most `target`.
    pub fn threshold_for_fpir(&self, target: f64) -> Option<f32> {
        let s: Vec<Scored> = self.non_mated.iter().map(|&score| Scored { score, genuine: false, fold: None }).collect();
        threshold_for_fmr(&s, target)
    }
}

/// How the subjects of a set are used in a search experiment.
#[derive(Debug, Clone)]
pub struct Design {
    /// Identities enrolled (their first template), whose other templates are mated probes.
    pub enrolled: Vec<usize>,
    /// Identities never enrolled: every template is a non-mated probe.
    pub unenrolled: Vec<usize>,
}

impl Design {
    /// Every other identity with at least two templates is enrolled; the rest are not.
    pub fn alternate(subjects: &[Subject]) -> Design {
        let mut d = Design { enrolled: Vec::new(), unenrolled: Vec::new() };
        let mut multi = 0usize;
        for (i, s) in subjects.iter().enumerate() {
            if s.templates.len() >= 2 {
                multi += 1;
                if multi % 2 == 1 {
                    d.enrolled.push(i);
                    continue;
                }
            }
            d.unenrolled.push(i);
        }
        d
    }
}

/// Searches every probe of `subjects` (as `design` says) in galleries of the real enrolments
/// plus fillers from `fillers`, at each of `sizes` (ascending; a size smaller than the real
/// enrolments is skipped), held at `precision`. Probes are searched in parallel.
pub fn search_by_size(
    subjects: &[Subject],
    design: &Design,
    fillers: &FillerModel,
    sizes: &[usize],
    precision: Precision,
    seed: u64,
) -> Result<Vec<SizeOutcome>, EvalError> {
    use rayon::prelude::*;
    let mut g = Gallery::new(fillers.dim(), precision);
    for &i in design.enrolled.iter() {
        let s = &subjects[i];
        g.upsert(&format!("s{i}"), &s.name, &s.templates[0]).map_err(|e| EvalError::Thresholds(format!("{}: {e}", s.name)))?;
    }
    let mated: Vec<(usize, &[f32])> =
        design.enrolled.iter().flat_map(|&i| subjects[i].templates[1..].iter().map(move |t| (i, t.as_slice()))).collect();
    let non_mated: Vec<&[f32]> = design.unenrolled.iter().flat_map(|&i| subjects[i].templates.iter().map(Vec::as_slice)).collect();
    let mut out = Vec::new();
    let mut drawn = 0usize;
    let mut sizes: Vec<usize> = sizes.to_vec();
    sizes.sort_unstable();
    for size in sizes {
        let Some(more) = size.checked_sub(g.len()) else { continue };
        let mut err = None;
        // Fillers continue one stream: the gallery of size N is a prefix of the one of size M > N.
        let start = drawn;
        let mut k = 0usize;
        fillers.draw(start + more, seed, |f| {
            if k >= start && err.is_none() {
                err = g.upsert(&format!("f{k}"), "filler", f).err();
            }
            k += 1;
        });
        if let Some(e) = err {
            return Err(EvalError::Thresholds(format!("filler: {e}")));
        }
        drawn += more;
        let nm: Vec<f32> = non_mated.par_iter().map(|p| g.top(&[p], "", 1).first().map_or(f32::NEG_INFINITY, |h| h.score)).collect();
        let m: Vec<MatedSearch> = mated
            .par_iter()
            .map(|(i, p)| match g.top(&[p], "", 1).first() {
                Some(h) => MatedSearch { mate_first: h.registration_id == format!("s{i}"), score: h.score },
                None => MatedSearch { mate_first: false, score: f32::NEG_INFINITY },
            })
            .collect();
        out.push(SizeOutcome { size, non_mated: nm, mated: m });
    }
    Ok(out)
}

/// Every impostor score between templates of different subjects (each unordered pair once).
pub fn impostor_scores(subjects: &[Subject]) -> Vec<f32> {
    let units: Vec<(usize, Vec<f32>)> =
        subjects.iter().enumerate().flat_map(|(i, s)| s.templates.iter().filter_map(move |t| unit(t).map(|u| (i, u)))).collect();
    let mut out = Vec::new();
    for a in 0..units.len() {
        for b in a + 1..units.len() {
            if units[a].0 != units[b].0 {
                out.push(dot(&units[a].1, &units[b].1));
            }
        }
    }
    out
}

/// Scores of `probes` against `n` fillers of `model` (for comparing with real impostor scores).
pub fn filler_scores(probes: &[&[f32]], model: &FillerModel, n: usize, seed: u64) -> Vec<f32> {
    let mut fs = Vec::with_capacity(n * model.dim());
    model.draw(n, seed, |f| fs.extend_from_slice(f));
    probes.iter().filter_map(|p| unit(p)).flat_map(|p| fs.chunks_exact(model.dim()).map(|f| dot(&p, f)).collect::<Vec<_>>()).collect()
}

/// The share of `scores` at or above `t`.
pub fn share_above(scores: &[f32], t: f32) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s >= t).count() as f64 / scores.len() as f64
}

/// The score above which a share `rate` of `scores` lies (the upper quantile).
pub fn upper_quantile(scores: &[f32], rate: f64) -> Option<f32> {
    let mut s = scores.to_vec();
    if s.is_empty() {
        return None;
    }
    s.sort_unstable_by(|a, b| b.total_cmp(a));
    let k = ((rate * s.len() as f64).floor() as usize).min(s.len() - 1);
    Some(s[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subjects whose templates cluster around one random direction each.
    fn subjects(n: usize, per: usize, dim: usize, noise: f32, seed: u64) -> Vec<Subject> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut g = |s: f32| -> Vec<f32> {
            (0..dim)
                .map(|_| {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    s * z
                })
                .collect::<Vec<f32>>()
        };
        (0..n)
            .map(|i| {
                let centre = g(1.0);
                let templates = (0..per).map(|_| centre.iter().zip(g(noise)).map(|(c, e)| c + e).collect()).collect();
                Subject { name: format!("p{i}"), templates }
            })
            .collect()
    }

    #[test]
    fn fillers_follow_the_fitted_distribution_and_the_seed() {
        let s = subjects(300, 2, 16, 0.3, 1);
        let all: Vec<&[f32]> = s.iter().flat_map(|x| x.templates.iter().map(Vec::as_slice)).collect();
        let m = FillerModel::fit(&all).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        m.draw(50, 7, |f| a.push(f.to_vec()));
        m.draw(50, 7, |f| b.push(f.to_vec()));
        assert_eq!(a, b, "same seed, same fillers");
        assert!(a.iter().all(|f| (dot(f, f) - 1.0).abs() < 1e-4), "fillers are normalised");
        // Probe-to-filler scores spread like the real impostor scores (isotropic data: both
        // centred on 0 with a standard deviation near 1/sqrt(dim)).
        let real = impostor_scores(&s);
        let fake = filler_scores(&all[..100], &m, 2000, 3);
        let sd = |v: &[f32]| {
            let mu = v.iter().sum::<f32>() / v.len() as f32;
            (v.iter().map(|x| (x - mu) * (x - mu)).sum::<f32>() / v.len() as f32).sqrt()
        };
        assert!((sd(&real) - sd(&fake)).abs() < 0.03, "sd real {} fillers {}", sd(&real), sd(&fake));
        // With a shared mean direction (as real templates have), a narrower spread gives more
        // high scores; matching to data drawn at spread 1 recovers a spread near 1.
        let shifted: Vec<Subject> = s
            .iter()
            .map(|x| Subject { name: x.name.clone(), templates: x.templates.iter().map(|t| t.iter().map(|v| v + 0.5).collect()).collect() })
            .collect();
        let sh: Vec<&[f32]> = shifted.iter().flat_map(|x| x.templates.iter().map(Vec::as_slice)).collect();
        let m = FillerModel::fit(&sh).unwrap();
        let real = impostor_scores(&shifted);
        let t = upper_quantile(&real, 1e-3).unwrap();
        let narrow = share_above(&filler_scores(&sh[..50], &m.with_spread(0.6), 2000, 3), t);
        let wide = share_above(&filler_scores(&sh[..50], &m.with_spread(1.6), 2000, 3), t);
        assert!(narrow > wide, "{narrow} vs {wide}");
        let matched = m.matched_to(&sh[..50], t, share_above(&real, t), 4000, 5);
        assert!((0.75..1.35).contains(&matched.spread()), "spread {}", matched.spread());
    }

    #[test]
    fn false_positives_grow_with_the_gallery_and_mates_are_found() {
        let s = subjects(200, 3, 32, 0.25, 2);
        let all: Vec<&[f32]> = s.iter().flat_map(|x| x.templates.iter().map(Vec::as_slice)).collect();
        let m = FillerModel::fit(&all).unwrap();
        let d = Design::alternate(&s);
        assert_eq!((d.enrolled.len(), d.unenrolled.len()), (100, 100));
        let out = search_by_size(&s, &d, &m, &[50, 1000, 20000], Precision::F32, 9).unwrap();
        assert_eq!(out.iter().map(|o| o.size).collect::<Vec<_>>(), vec![1000, 20000], "a size below the enrolments is skipped");
        assert_eq!(out[0].non_mated.len(), 300);
        assert_eq!(out[0].mated.len(), 200);
        let t = 0.62;
        assert!(out[1].fpir(t) > out[0].fpir(t), "{} vs {}", out[1].fpir(t), out[0].fpir(t));
        // Well-separated mates are found at rank 1 above a moderate threshold.
        assert!(out[0].fnir(0.6).unwrap() < 0.05);
        let t1 = out[1].threshold_for_fpir(0.01).unwrap();
        assert!(out[1].fpir(t1) <= 0.01);
        assert!(t1 > out[0].threshold_for_fpir(0.01).unwrap());
    }
}
