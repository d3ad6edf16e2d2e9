//! A learned adaptation of the embedding space for the population simkyc serves.
//!
//! Registry embedders trained mostly on Western faces crowd East-Asian faces into a small region,
//! so impostor pairs score high. The adaptation whitens embeddings with the mean and covariance of
//! East-Asian development faces (unsupervised: no identity labels are used) and fuses the cosine
//! in that space with the raw cosine: `score = w·cos(raw) + (1−w)·cos(whitened)`. It is carried as
//! one unit vector `[√w·raw, √(1−w)·whitened]`, so plain dot products (and 1:N search) give the
//! fused score. It is applied to every face alike; no one's ethnicity is ever inferred.

use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::embed::l2_normalize;
use crate::FaceError;

/// Parameters of the adaptation, as stored in `config/adaptation.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Adaptation {
    /// Embedder whose (flip-averaged, unit) embeddings this adapts.
    pub embedder: String,
    /// How it was made.
    pub note: String,
    /// Weight `w` of the raw cosine in the fused score.
    pub raw_weight: f32,
    /// Whitening strength: the covariance is raised to the power −beta/2.
    pub beta: f64,
    /// Embedding length.
    pub dim: usize,
    /// Mean of the training embeddings.
    pub mean: Vec<f32>,
    /// Symmetric `dim × dim` whitening matrix, row-major.
    pub matrix: Vec<f32>,
}

/// The adaptation shipped with simkyc (see docs/accuracy.md for how it was trained and measured).
pub const BUILTIN: &str = include_str!("../../../config/adaptation.json");

impl Adaptation {
    /// Parses and checks an adaptation file.
    pub fn parse(text: &str) -> Result<Adaptation, FaceError> {
        let a: Adaptation = serde_json::from_str(text).map_err(|e| FaceError::Model(format!("adaptation file: {e}")))?;
        if a.mean.len() != a.dim || a.matrix.len() != a.dim * a.dim || !(0.0..=1.0).contains(&a.raw_weight) {
            return Err(FaceError::Model("adaptation file: sizes or weight out of range".into()));
        }
        Ok(a)
    }

    /// Fits the whitening on training embeddings (unit vectors of one embedder).
    pub fn fit(embeddings: &[Vec<f32>], beta: f64, raw_weight: f32, embedder: &str, note: &str) -> Result<Adaptation, FaceError> {
        let n = embeddings.len();
        let dim = embeddings.first().map(|e| e.len()).ok_or_else(|| FaceError::Model("no training embeddings".into()))?;
        if n <= dim {
            return Err(FaceError::Model(format!("need more than {dim} training embeddings, got {n}")));
        }
        let mut mean = vec![0f64; dim];
        for e in embeddings {
            for (m, v) in mean.iter_mut().zip(e) {
                *m += *v as f64 / n as f64;
            }
        }
        let mut cov = DMatrix::<f64>::zeros(dim, dim);
        for e in embeddings {
            let d = DMatrix::from_iterator(dim, 1, e.iter().zip(&mean).map(|(v, m)| *v as f64 - m));
            cov += &d * d.transpose();
        }
        cov /= (n - 1) as f64;
        let eig = SymmetricEigen::new(cov);
        let scale = DMatrix::from_diagonal(&eig.eigenvalues.map(|l| (l + 1e-6).powf(-beta / 2.0)));
        let a = &eig.eigenvectors * scale * eig.eigenvectors.transpose();
        let matrix = (0..dim * dim).map(|i| a[(i / dim, i % dim)] as f32).collect();
        Ok(Adaptation {
            embedder: embedder.into(),
            note: note.into(),
            raw_weight,
            beta,
            dim,
            mean: mean.iter().map(|&m| m as f32).collect(),
            matrix,
        })
    }

    /// A short fingerprint, recorded with thresholds calibrated on adapted scores.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.raw_weight.to_le_bytes());
        for v in self.mean.iter().chain(&self.matrix) {
            h.update(v.to_le_bytes());
        }
        hex::encode(&h.finalize()[..6])
    }

    /// Maps a unit embedding to the fused unit vector `[√w·e, √(1−w)·whiten(e)]`.
    pub fn apply(&self, e: &[f32]) -> Result<Vec<f32>, FaceError> {
        if e.len() != self.dim {
            return Err(FaceError::Model(format!("adaptation expects {} values, got {}", self.dim, e.len())));
        }
        let centred: Vec<f32> = e.iter().zip(&self.mean).map(|(v, m)| v - m).collect();
        let mut w: Vec<f32> =
            (0..self.dim).map(|i| self.matrix[i * self.dim..(i + 1) * self.dim].iter().zip(&centred).map(|(a, b)| a * b).sum()).collect();
        l2_normalize(&mut w);
        let mut raw = e.to_vec();
        l2_normalize(&mut raw);
        let (a, b) = (self.raw_weight.sqrt(), (1.0 - self.raw_weight).sqrt());
        Ok(raw.iter().map(|v| v * a).chain(w.iter().map(|v| v * b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let mut v = v;
        l2_normalize(&mut v);
        v
    }

    #[test]
    fn fused_dot_product_is_the_weighted_sum_of_cosines() {
        // Deterministic pseudo-random training set in 4-d.
        let mut s = 1u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let train: Vec<Vec<f32>> = (0..50).map(|_| unit(vec![1.0 + rnd(), 0.2 * rnd(), rnd(), 0.5 * rnd()])).collect();
        let a = Adaptation::fit(&train, 1.0, 0.7, "test", "").unwrap();
        let (x, y) = (unit(vec![1.0, 0.1, 0.3, -0.2]), unit(vec![0.9, -0.1, 0.2, 0.1]));
        let (fx, fy) = (a.apply(&x).unwrap(), a.apply(&y).unwrap());
        let norm: f32 = fx.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let dot: f32 = fx.iter().zip(&fy).map(|(p, q)| p * q).sum();
        let raw = crate::embed::cosine(&x, &y);
        let white = crate::embed::cosine(&fx[4..], &fy[4..]);
        assert!((dot - (0.7 * raw + 0.3 * white)).abs() < 1e-5);
        // Whitening decorrelates the training set: its covariance becomes close to identity.
        let parsed = Adaptation::parse(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(parsed.id(), a.id());
        assert!(a.apply(&[1.0, 0.0]).is_err());
    }
}
