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

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
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
        let (w, h) = self.chip_size();
        if chip.dimensions() != (w, h) {
            return Err(FaceError::Model(format!("chip is {:?}, embedder wants {w}x{h}", chip.dimensions())));
        }
        let shape = crate::image_ops::tensor_shape(&self.input, w as usize, h as usize);
        let (_, out) = self.model.run(&shape, to_tensor(chip, &self.input))?;
        if out.len() != self.dim {
            return Err(FaceError::Model(format!("embedder produced {} values, manifest says {}", out.len(), self.dim)));
        }
        Ok(out)
    }

    /// Unit-length embedding of a chip; with `flip`, of the chip and its mirror averaged.
    pub fn embed(&self, chip: &RgbImage, flip: bool) -> Result<Vec<f32>, FaceError> {
        let mut e = self.raw(chip)?;
        l2_normalize(&mut e);
        if flip {
            let mut m = self.raw(&image::imageops::flip_horizontal(chip))?;
            l2_normalize(&mut m);
            e.iter_mut().zip(&m).for_each(|(a, b)| *a += b);
            l2_normalize(&mut e);
        }
        Ok(e)
    }
}

/// Fuses several unit embeddings of one person into one template, weighted (e.g. by capture quality).
pub fn fuse(embeddings: &[(Vec<f32>, f32)]) -> Option<Vec<f32>> {
    let dim = embeddings.first()?.0.len();
    let mut acc = vec![0f32; dim];
    let mut total = 0f32;
    for (e, w) in embeddings {
        // `> 0.0` is false for NaN weights too, which are skipped with the rest.
        if e.len() != dim || w.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        acc.iter_mut().zip(e).for_each(|(a, x)| *a += w * x);
        total += w;
    }
    if total <= 0.0 {
        return None;
    }
    l2_normalize(&mut acc);
    Some(acc)
}
