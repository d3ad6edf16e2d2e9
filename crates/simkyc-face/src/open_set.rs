//! Duplicate-check (1:N) thresholds by gallery size: the table `simkyc calibrate` writes from its
//! open-set identification runs, and the lookup that turns an operator's gallery size and target
//! false-positive identification rate (FPIR) into the threshold the search uses, with what the
//! model is expected to give there.

use serde::{Deserialize, Serialize};

/// The calibrated thresholds at one gallery size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SizeThresholds {
    /// Templates in the gallery.
    pub size: u64,
    /// For each FPIR level (see [`OpenSet::fpir_levels`]), the lowest threshold that held it on
    /// every development group (the strictest kept).
    pub thresholds: Vec<f32>,
    /// The group that set each threshold.
    pub set_by: Vec<String>,
    /// The worst group's rank-1 false-negative identification rate at each threshold.
    pub fnir: Vec<f64>,
}

/// The open-set table of a thresholds file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenSet {
    /// How the table was made (sets, fillers, searches).
    pub note: String,
    /// FPIR levels, ascending.
    pub fpir_levels: Vec<f64>,
    /// One row per gallery size, ascending.
    pub sizes: Vec<SizeThresholds>,
}

/// The duplicate-check threshold at one gallery size, and what the model gives there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DuplicatePoint {
    /// Similarity at or above which a template of another identity is a possible duplicate.
    pub threshold: f32,
    /// The FPIR expected at this threshold and gallery size (share of registrations of a new
    /// face sent to review as possible duplicates).
    pub expected_fpir: f64,
    /// The rank-1 FNIR expected (share of true duplicates missed), when measured.
    pub expected_fnir: Option<f64>,
    /// Whether the target FPIR is held: false when the gallery is beyond what the model can
    /// keep at the target (the threshold is then the strictest measured and the FPIR above it).
    pub target_held: bool,
}

/// Linear interpolation of `ys` over `xs` (ascending) at `x`, clamped to the ends.
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len().min(ys.len());
    if n == 0 {
        return f64::NAN;
    }
    if x <= xs[0] || n == 1 {
        return ys[0];
    }
    for i in 1..n {
        if x <= xs[i] {
            let w = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
            return ys[i - 1] + w * (ys[i] - ys[i - 1]);
        }
    }
    ys[n - 1]
}

impl OpenSet {
    /// Checks the table is usable: levels and sizes ascending, one threshold per level.
    pub fn validate(&self) -> Result<(), String> {
        let ascending = |v: &[f64]| v.windows(2).all(|w| w[0] < w[1]);
        if self.fpir_levels.is_empty() || !ascending(&self.fpir_levels) || self.fpir_levels.iter().any(|&l| !(l > 0.0 && l < 1.0)) {
            return Err("open_set.fpir_levels must be ascending rates in (0, 1)".into());
        }
        let sizes: Vec<f64> = self.sizes.iter().map(|s| s.size as f64).collect();
        if sizes.is_empty() || !ascending(&sizes) || sizes[0] < 1.0 {
            return Err("open_set.sizes must be ascending gallery sizes".into());
        }
        for s in &self.sizes {
            if s.thresholds.len() != self.fpir_levels.len() || s.fnir.len() != self.fpir_levels.len() {
                return Err(format!("open_set size {}: one threshold and one FNIR per FPIR level", s.size));
            }
            if s.thresholds.iter().any(|t| !t.is_finite()) {
                return Err(format!("open_set size {}: thresholds must be finite", s.size));
            }
        }
        Ok(())
    }

    /// The threshold and expected rates at a gallery of `size` templates for `target_fpir`.
    ///
    /// Between calibrated sizes and levels the threshold is interpolated in log(size) and
    /// log(FPIR). Below the smallest size the smallest size's row is used (stricter than needed).
    /// Beyond the largest size `S`, rank-1 searches of `size` are taken as `size / S` independent
    /// searches of `S`: the level needed at `S` is `1 − (1 − target)^(S/size)`, which is
    /// conservative (independence overstates how often one of the blocks fires). When the level
    /// needed is below the smallest calibrated level, the model cannot hold the target: the
    /// strictest measured threshold is used and the FPIR expected there is reported.
    pub fn duplicate_point(&self, size: u64, target_fpir: f64) -> DuplicatePoint {
        let levels: Vec<f64> = self.fpir_levels.iter().map(|l| l.ln()).collect();
        let largest = self.sizes.last().map_or(1, |s| s.size).max(1);
        let (row_size, level) = if size > largest {
            let blocks = size as f64 / largest as f64;
            (largest as f64, 1.0 - (1.0 - target_fpir).powf(1.0 / blocks))
        } else {
            ((size.max(1)) as f64, target_fpir)
        };
        let min_level = self.fpir_levels.first().copied().unwrap_or(target_fpir);
        let target_held = level >= min_level;
        let used_level = level.max(min_level);
        let log_sizes: Vec<f64> = self.sizes.iter().map(|s| (s.size as f64).ln()).collect();
        // Per calibrated size, the threshold and FNIR at the level; then across sizes.
        let at_level = |ys: &dyn Fn(&SizeThresholds) -> Vec<f64>| -> Vec<f64> {
            self.sizes.iter().map(|s| interpolate(&levels, &ys(s), used_level.ln())).collect()
        };
        let thresholds = at_level(&|s| s.thresholds.iter().map(|&t| f64::from(t)).collect());
        let fnirs = at_level(&|s| s.fnir.clone());
        let threshold = interpolate(&log_sizes, &thresholds, row_size.ln()) as f32;
        let fnir = interpolate(&log_sizes, &fnirs, row_size.ln());
        let expected_fpir = if target_held {
            target_fpir
        } else if size > largest {
            1.0 - (1.0 - used_level).powf(size as f64 / largest as f64)
        } else {
            used_level
        };
        DuplicatePoint { threshold, expected_fpir, expected_fnir: fnir.is_finite().then_some(fnir), target_held }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> OpenSet {
        OpenSet {
            note: "test".into(),
            fpir_levels: vec![0.001, 0.01, 0.1],
            sizes: vec![
                SizeThresholds {
                    size: 1000,
                    thresholds: vec![0.60, 0.50, 0.40],
                    set_by: vec!["a".into(); 3],
                    fnir: vec![0.05, 0.03, 0.02],
                },
                SizeThresholds {
                    size: 1_000_000,
                    thresholds: vec![0.80, 0.70, 0.60],
                    set_by: vec!["a".into(); 3],
                    fnir: vec![0.20, 0.10, 0.05],
                },
            ],
        }
    }

    #[test]
    fn calibrated_points_are_returned_as_measured() {
        let t = table();
        assert!(t.validate().is_ok());
        let p = t.duplicate_point(1000, 0.01);
        assert!((p.threshold - 0.50).abs() < 1e-6 && p.target_held && (p.expected_fpir - 0.01).abs() < 1e-12);
        assert_eq!(p.expected_fnir, Some(0.03));
        let p = t.duplicate_point(1_000_000, 0.001);
        assert!((p.threshold - 0.80).abs() < 1e-6 && p.target_held);
    }

    #[test]
    fn thresholds_rise_with_the_gallery_and_fall_with_the_target() {
        let t = table();
        let mut last = 0.0f32;
        for n in [0u64, 10, 1000, 5000, 31_623, 200_000, 1_000_000, 3_000_000] {
            let p = t.duplicate_point(n, 0.01);
            assert!(p.threshold >= last, "size {n}: {} after {last}", p.threshold);
            last = p.threshold;
        }
        // Half-way in log size, half-way in threshold.
        assert!((t.duplicate_point(31_623, 0.01).threshold - 0.60).abs() < 1e-3);
        assert!(t.duplicate_point(1000, 0.05).threshold < t.duplicate_point(1000, 0.01).threshold);
        // Small galleries use the smallest calibrated size.
        assert_eq!(t.duplicate_point(5, 0.01), t.duplicate_point(1000, 0.01));
    }

    #[test]
    fn beyond_the_table_the_level_is_split_across_blocks_until_it_cannot_be_held() {
        let t = table();
        // 10M at 1 %: each 1M block at 1 − 0.99^(1/10) ≈ 0.1005 %: just above the smallest level.
        let p = t.duplicate_point(10_000_000, 0.01);
        assert!(p.target_held && p.threshold > 0.79 && p.threshold < 0.80, "{p:?}");
        // 100M at 1 % needs 0.01 % per block: not calibrated, so the strictest threshold is used
        // and the FPIR expected there (1 − 0.999^100 ≈ 9.5 %) is reported.
        let p = t.duplicate_point(100_000_000, 0.01);
        assert!(!p.target_held);
        assert!((p.threshold - 0.80).abs() < 1e-6);
        assert!((p.expected_fpir - 0.0952).abs() < 1e-3, "{p:?}");
        // A target below the smallest level cannot be held at any calibrated size.
        let p = t.duplicate_point(1000, 0.0001);
        assert!(!p.target_held && (p.expected_fpir - 0.001).abs() < 1e-12);
    }

    #[test]
    fn malformed_tables_are_refused() {
        let mut t = table();
        t.fpir_levels = vec![0.1, 0.01, 0.001];
        assert!(t.validate().is_err());
        let mut t = table();
        t.sizes[0].thresholds.pop();
        assert!(t.validate().is_err());
        let mut t = table();
        t.sizes.swap(0, 1);
        assert!(t.validate().is_err());
    }
}
