//! Analysis of images to the depth a step needs: a document photo (faces, embedding, quality), a
//! frame for framing feedback (no embedding, no liveness), or a live capture (every frame, or an
//! active challenge's tracked sequence and its key frames, with passive liveness).

use image::RgbImage;
use simkyc_face::challenge::{verify, ChallengeFailure, DetectorLimits};
use simkyc_face::liveness::LivenessScores;
use simkyc_face::mesh::{sequence_signals, track, MeshSignals, Square};
use simkyc_face::quality::{measure, QualityMeasures};
use simkyc_face::{FaceAnalysis, FaceError};
use simkyc_workflow::{Action, CaptureMode};

use crate::live_flip::{LiveFlip, PendingMirrors};
use crate::Verifier;

/// How much of the pipeline an image goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Document photos: faces, embedding and quality.
    Document,
    /// Framing feedback on a live frame: faces, quality and eye openness, no embedding and no
    /// liveness score (the verdict is given once, on the capture).
    Framing,
    /// Live capture frames: everything, passive liveness included.
    Live,
}

/// One analysed image: faces and subject, and the subject's quality and liveness.
#[derive(Debug, Clone)]
pub struct Analysed {
    /// Detection, landmarks, embedding.
    pub analysis: FaceAnalysis,
    /// Quality of the subject's face.
    pub quality: Option<QualityMeasures>,
    /// Passive liveness of the subject's face.
    pub liveness: Option<LivenessScores>,
    /// Eye aspect ratio from the face mesh (closed eyes below about 0.15).
    pub eyes: Option<f32>,
}

impl Analysed {
    /// The subject's embedding, when a face was found and embedded.
    pub fn embedding(&self) -> Option<&[f32]> {
        self.analysis.subject.as_ref().map(|s| s.embedding.as_slice())
    }

    /// The subject's inter-eye distance in pixels (0 without a face).
    pub fn inter_eye_px(&self) -> f64 {
        self.analysis.subject.as_ref().map(|s| s.inter_eye_px).unwrap_or(0.0)
    }
}

/// An image of a capture that could not be analysed, with its position in the upload.
#[derive(Debug, thiserror::Error)]
#[error("frame {index}: {error}")]
pub struct FrameError {
    /// Position of the frame in the upload (0-based).
    pub index: usize,
    /// Why it failed (unreadable, too large, or a model error).
    pub error: FaceError,
}

/// What an active challenge showed.
#[derive(Debug, Clone)]
pub struct ChallengeSummary {
    /// The actions asked for, in order.
    pub actions: Vec<Action>,
    /// Frames in the sequence.
    pub frames: usize,
    /// Frames in which the face mesh tracked the face.
    pub tracked: usize,
    /// Mesh signals per frame (None where the face was lost).
    pub signals: Vec<Option<MeshSignals>>,
    /// Frames at which the actions were seen, or why not.
    pub verdict: Result<Vec<usize>, ChallengeFailure>,
}

impl ChallengeSummary {
    /// Whether the face was lost in more than half the frames (then the actions cannot be judged).
    pub fn face_lost(&self) -> bool {
        self.tracked * 2 < self.frames
    }
}

/// A live capture as analysed: the frames it is judged on and what the challenge showed.
#[derive(Debug, Clone)]
pub struct LiveCapture {
    /// How the capture is checked.
    pub mode: CaptureMode,
    /// The frames compared with the document and each other: every frame in passive mode, the
    /// most frontal frame of each third of the sequence in active mode.
    pub frames: Vec<Analysed>,
    /// Their positions in the upload.
    pub frame_indices: Vec<usize>,
    /// Active mode: the challenge's result.
    pub challenge: Option<ChallengeSummary>,
    /// Whether the frames' embeddings include their mirrors (flip averaging).
    pub mirrored: bool,
    /// The decoded frames, kept until the decision knows whether their mirrors are needed
    /// (`live_flip = near-threshold`; `Verifier::settle_live_flip`).
    pub pending_mirrors: PendingMirrors,
}

impl LiveCapture {
    /// The embeddings of the frames that have a face.
    pub fn embeddings(&self) -> Vec<&[f32]> {
        self.frames.iter().filter_map(Analysed::embedding).collect()
    }

    /// Position in the upload of the frame with the largest face (kept for review).
    pub fn best_frame(&self) -> Option<usize> {
        (0..self.frames.len())
            .max_by(|&a, &b| self.frames[a].inter_eye_px().total_cmp(&self.frames[b].inter_eye_px()))
            .map(|i| self.frame_indices[i])
    }
}

impl Verifier {
    /// Decodes and analyses one image to `depth`.
    pub fn analyse(&self, bytes: &[u8], depth: Depth) -> Result<Analysed, FaceError> {
        let img = simkyc_face::decode::decode_rgb(bytes, &self.engine.options.limits)?;
        self.analyse_image(&img, depth)
    }

    /// Analyses one decoded image to `depth`.
    pub fn analyse_image(&self, img: &RgbImage, depth: Depth) -> Result<Analysed, FaceError> {
        self.analyse_image_tracked(img, depth, None)
    }

    /// Analyses one decoded image to `depth`, taking the eye openness from `tracked` (the
    /// challenge's mesh of this very frame) instead of running the face mesh again.
    fn analyse_image_tracked(&self, img: &RgbImage, depth: Depth, tracked: Option<&MeshSignals>) -> Result<Analysed, FaceError> {
        let analysis = match depth {
            Depth::Framing => self.engine.locate(img)?,
            Depth::Document => self.engine.analyze(img)?,
            Depth::Live => self.engine.analyze_flip(img, self.live_flip.mirrors_first())?,
        };
        let quality = analysis.subject.as_ref().map(|s| measure(img, s));
        let (mut liveness, mut eyes) = (None, None);
        if let Some(s) = analysis.subject.as_ref().filter(|_| depth != Depth::Document) {
            if depth == Depth::Live {
                liveness = Some(self.liveness.score(img, &s.face)?);
            }
            eyes = match tracked {
                Some(t) => Some(t.ear),
                None => {
                    let m = self.mesh.run(img, Square::around(&s.face))?;
                    (m.face >= 0.5).then(|| m.signals().ear)
                }
            };
        }
        Ok(Analysed { analysis, quality, liveness, eyes })
    }

    /// Analyses a live capture: in passive (and off) mode every frame; in active mode the face
    /// is tracked through the sequence, the actions are checked in order, and the key frames are
    /// analysed like passive frames.
    pub fn analyse_capture(&self, mode: CaptureMode, images: &[Vec<u8>], actions: &[Action]) -> Result<LiveCapture, FrameError> {
        let decoded = images
            .iter()
            .enumerate()
            .map(|(index, b)| simkyc_face::decode::decode_rgb(b, &self.engine.options.limits).map_err(|error| FrameError { index, error }))
            .collect::<Result<Vec<_>, _>>()?;
        if mode != CaptureMode::Active {
            let frames = decoded
                .iter()
                .enumerate()
                .map(|(index, img)| self.analyse_image(img, Depth::Live).map_err(|error| FrameError { index, error }))
                .collect::<Result<Vec<_>, _>>()?;
            let pending = self.pending_mirrors(|| decoded);
            return Ok(LiveCapture {
                mode,
                frame_indices: (0..frames.len()).collect(),
                frames,
                challenge: None,
                mirrored: self.live_flip.mirrors_first(),
                pending_mirrors: pending,
            });
        }
        let model = |error| FrameError { index: 0, error };
        let meshes = track(&self.engine, &self.mesh, &decoded).map_err(model)?;
        let signals = sequence_signals(&self.mesh, &decoded, &meshes, actions.contains(&Action::Blink)).map_err(model)?;
        let seen: Vec<MeshSignals> = signals.iter().flatten().copied().collect();
        let verdict = verify(&seen, actions, &DetectorLimits::default());
        let keys = key_frames_of(&signals);
        let frames = keys
            .iter()
            .map(|&index| {
                self.analyse_image_tracked(&decoded[index], Depth::Live, signals[index].as_ref())
                    .map_err(|error| FrameError { index, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let challenge = ChallengeSummary { actions: actions.to_vec(), frames: decoded.len(), tracked: seen.len(), signals, verdict };
        let pending = self.pending_mirrors(|| keys.iter().map(|&i| decoded[i].clone()).collect());
        Ok(LiveCapture {
            mode,
            frames,
            frame_indices: keys,
            challenge: Some(challenge),
            mirrored: self.live_flip.mirrors_first(),
            pending_mirrors: pending,
        })
    }

    /// Keeps the decoded frames (one per analysed frame, in order) for a later mirror pass where
    /// the setting may need one; under any other setting nothing is kept or built.
    fn pending_mirrors(&self, frames: impl FnOnce() -> Vec<RgbImage>) -> PendingMirrors {
        if self.live_flip == LiveFlip::NearThreshold {
            PendingMirrors(frames().into_iter().map(std::sync::Arc::new).collect())
        } else {
            PendingMirrors::default()
        }
    }
}

/// The most frontal tracked frame of each third of a challenge (the frames compared with the
/// document and with each other); the first frames of each third when nothing was tracked.
pub fn key_frames_of(signals: &[Option<MeshSignals>]) -> Vec<usize> {
    let n = signals.len();
    let med = |f: fn(&MeshSignals) -> f32| simkyc_face::stats::median(signals.iter().flatten().map(f).collect()).unwrap_or(0.0);
    let (yaw, pitch) = (med(|s| s.yaw), med(|s| s.pitch));
    let mut keys: Vec<usize> = (0..3)
        .filter_map(|k| {
            let range = (k * n / 3)..((k + 1) * n / 3).max(k * n / 3 + 1).min(n);
            let start = range.start;
            range
                .filter_map(|i| {
                    signals[i].map(|s| (i, (s.yaw - yaw).abs() + (s.pitch - pitch).abs() + if s.ear < 0.15 { 1.0 } else { 0.0 }))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
                .or((start < n).then_some(start))
        })
        .collect();
    keys.dedup();
    keys
}
