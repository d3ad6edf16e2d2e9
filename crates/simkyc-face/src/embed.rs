//! Face embedding: an aligned chip through the embedder network, L2-normalised; optionally the
//! mean with the embedding of its mirror image (flip averaging).

use image::RgbImage;
use simkyc_models::manifest::InputSpec;

use crate::align::Template;
use crate::image_ops::to_tensor;
use crate::onnx::OnnxModel;
use crate::FaceError;

/// A face embedder and the chip it expects.
pub struct Embedder {
    model: OnnxModel,
    /// Input convention, including the chip size.
    pub input: InputSpec,
    /// Alignment template.
    pub template: Template,
    /// Embedding length.
    pub dim: usize,
}

/// Scales a vector to unit length (left as is when it is zero).
pub fn l2_normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// The dot product of two vectors and their lengths.
fn dot_and_norms(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    (dot, na, nb)
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (dot, na, nb) = dot_and_norms(a, b);
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

impl Embedder {
    /// Wraps a loaded embedder.
    pub fn new(model: OnnxModel, input: InputSpec, template: Template, dim: usize) -> Self {
        Embedder { model, input, template, dim }
    }

    /// Chip size (width, height) in pixels.
    pub fn chip_size(&self) -> (u32, u32) {
        (self.input.width, self.input.height)
    }

    /// Raw network output for one chip (not normalised).
    pub fn raw(&self, chip: &RgbImage) -> Result<Vec<f32>, FaceError> {
        self.raw_many(&[chip], 1)?.pop().ok_or_else(|| FaceError::Model("embedder returned nothing".into()))
    }

    /// Unit-length embedding of a chip; with `flip`, of the chip and its mirror averaged.
    pub fn embed(&self, chip: &RgbImage, flip: bool) -> Result<Vec<f32>, FaceError> {
        self.embed_many(&[chip], flip, 1)?.pop().ok_or_else(|| FaceError::Model("embedder returned nothing".into()))
    }

    /// Raw network outputs for several chips, run `max_batch` at a time (1: one by one). When
    /// the caller lends spare threads ([`crate::spare`]) and there are several batches, they
    /// are split between this thread and the spare ones and run at once, in the same order.
    pub fn raw_many(&self, chips: &[&RgbImage], max_batch: usize) -> Result<Vec<Vec<f32>>, FaceError> {
        let batch = max_batch.max(1);
        let batches = chips.len().div_ceil(batch);
        let threads = (crate::spare::spare_threads() + 1).min(batches);
        if threads < 2 {
            return self.raw_sequential(chips, batch);
        }
        // Whole batches per thread, so each thread runs exactly what it would have in turn.
        let per = batches.div_ceil(threads) * batch;
        let parts: Vec<Result<Vec<Vec<f32>>, FaceError>> = std::thread::scope(|s| {
            let mut groups = chips.chunks(per);
            let first = groups.next().unwrap_or(&[]);
            let handles: Vec<_> = groups.map(|g| s.spawn(move || self.raw_sequential(g, batch))).collect();
            let mut parts = vec![self.raw_sequential(first, batch)];
            parts.extend(
                handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(FaceError::Model("embedding thread panicked".into())))),
            );
            parts
        });
        let mut out = Vec::with_capacity(chips.len());
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    fn raw_sequential(&self, chips: &[&RgbImage], max_batch: usize) -> Result<Vec<Vec<f32>>, FaceError> {
        let (w, h) = self.chip_size();
        let mut out = Vec::with_capacity(chips.len());
        for group in chips.chunks(max_batch.max(1)) {
            let mut data = Vec::with_capacity(group.len() * 3 * (w * h) as usize);
            for chip in group {
                if chip.dimensions() != (w, h) {
                    return Err(FaceError::Model(format!("chip is {:?}, embedder wants {w}x{h}", chip.dimensions())));
                }
                data.extend(to_tensor(chip, &self.input));
            }
            let mut shape = crate::image_ops::tensor_shape(&self.input, w as usize, h as usize);
            shape[0] = group.len();
            let (_, values) = self.model.run(&shape, data)?;
            if values.len() != group.len() * self.dim {
                return Err(FaceError::Model(format!(
                    "embedder produced {} values for {} chip(s), manifest says {} each",
                    values.len(),
                    group.len(),
                    self.dim
                )));
            }
            out.extend(values.chunks_exact(self.dim).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// Unit-length embeddings of several chips; with `flip`, each averaged with its mirror's.
    /// Chips and mirrors go through the network `max_batch` at a time: on a CPU one at a time is
    /// as fast or faster (tools/bench/runtimes.sh), on a GPU larger batches pay.
    pub fn embed_many(&self, chips: &[&RgbImage], flip: bool, max_batch: usize) -> Result<Vec<Vec<f32>>, FaceError> {
        let mirrors: Vec<RgbImage> = if flip { chips.iter().map(|c| image::imageops::flip_horizontal(*c)).collect() } else { Vec::new() };
        // Each chip followed by its mirror, so a batch of 2 is a chip and its mirror.
        let mut inputs: Vec<&RgbImage> = Vec::with_capacity(chips.len() * 2);
        for (i, c) in chips.iter().enumerate() {
            inputs.push(c);
            if let Some(m) = mirrors.get(i) {
                inputs.push(m);
            }
        }
        let mut raw = self.raw_many(&inputs, max_batch)?;
        raw.iter_mut().for_each(|e| l2_normalize(e));
        let per = if flip { 2 } else { 1 };
        Ok(raw
            .chunks_mut(per)
            .map(|pair| {
                let (first, rest) = pair.split_at_mut(1);
                let e = &mut first[0];
                if let Some(m) = rest.first() {
                    average_with_mirror(e, m);
                }
                std::mem::take(e)
            })
            .collect())
    }
}

/// Flip averaging: adds a mirror's unit embedding to its chip's and scales the sum back to unit
/// length (the one place this arithmetic lives, so a mirror added later gives the same bits).
pub fn average_with_mirror(chip: &mut [f32], mirror: &[f32]) {
    chip.iter_mut().zip(mirror).for_each(|(a, b)| *a += b);
    l2_normalize(chip);
}

/// The template of several embeddings of one person: their weighted mean (weights e.g. by
/// capture quality) of the unit embeddings, deliberately **not** scaled back to unit length. Its
/// dot product with a unit embedding is the weighted mean of that embedding's cosines to the
/// frames, the scale the thresholds were calibrated on. Re-normalising would inflate every score
/// by 1/‖mean‖ (5–14 % for two to eight webcam frames of one session) and with it the
/// false-match rate (1.2–2× the target for two to four photos; docs/accuracy.md).
pub fn mean_template(embeddings: &[(Vec<f32>, f32)]) -> Option<Vec<f32>> {
    let dim = embeddings.first()?.0.len();
    let mut acc = vec![0f32; dim];
    let mut total = 0f32;
    for (e, w) in embeddings {
        let n = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        // `> 0.0` is false for NaN weights and norms too, which are skipped with the rest.
        if e.len() != dim
            || w.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            || n.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            continue;
        }
        acc.iter_mut().zip(e).for_each(|(a, x)| *a += w * x / n);
        total += w;
    }
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    acc.iter_mut().for_each(|a| *a /= total);
    acc.iter().all(|a| a.is_finite()).then_some(acc)
}

/// Similarity of one embedding to a template: the cosine when the template is one embedding,
/// and for a [`mean_template`] the mean of the embedding's cosines to the frames it was made
/// from. A template longer than unit length is read as an unnormalised embedding.
pub fn template_similarity(embedding: &[f32], template: &[f32]) -> f32 {
    let (dot, ne, nt) = dot_and_norms(embedding, template);
    if ne == 0.0 || nt == 0.0 {
        0.0
    } else {
        dot / (ne * nt.max(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        l2_normalize(&mut v);
        v
    }

    #[test]
    fn a_mean_template_scores_the_mean_of_the_frames_cosines() {
        let frames = [unit(&[1.0, 0.2, 0.0]), unit(&[0.6, 0.8, 0.1]), unit(&[0.9, -0.3, 0.4])];
        let probe = unit(&[0.7, 0.1, 0.7]);
        let t = mean_template(&frames.iter().map(|f| (f.clone(), 1.0)).collect::<Vec<_>>()).unwrap();
        let mean = frames.iter().map(|f| cosine(&probe, f)).sum::<f32>() / 3.0;
        assert!((template_similarity(&probe, &t) - mean).abs() < 1e-6);
        // Re-normalising would have inflated it.
        assert!(cosine(&probe, &t) > mean + 0.01);
        // Weights weigh the cosines; frames need not arrive normalised.
        let w = mean_template(&[(vec![2.0, 0.0, 0.0], 3.0), (vec![0.0, 5.0, 0.0], 1.0)]).unwrap();
        assert!((template_similarity(&[1.0, 0.0, 0.0], &w) - 0.75).abs() < 1e-6);
        // One embedding is its own template; a long vector is read as an embedding.
        assert!((template_similarity(&probe, &frames[0]) - cosine(&probe, &frames[0])).abs() < 1e-6);
        assert!((template_similarity(&probe, &[3.0, 0.6, 0.0]) - cosine(&probe, &frames[0])).abs() < 1e-6);
    }

    #[test]
    fn unusable_frames_are_skipped() {
        assert_eq!(mean_template(&[]), None);
        assert_eq!(mean_template(&[(vec![1.0, 0.0], 0.0), (vec![0.0, 0.0], 1.0), (vec![1.0, 0.0], f32::NAN)]), None);
        assert_eq!(mean_template(&[(vec![1.0, 0.0], 1.0), (vec![1.0], 1.0)]), Some(vec![1.0, 0.0]));
        assert_eq!(template_similarity(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
