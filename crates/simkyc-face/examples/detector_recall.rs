//! Benchmark: detector recall and speed on the input sizes simkyc meets — ID-card chip photos
//! (102×126), and camera frames of 640×480 and 1920×1080 — at several detection scales.
//! Each development photo (one face each) is resized to cover the target size and centre-cropped;
//! a photo counts as found when the detector returns at least one face.
//! Usage: detector_recall DETECTOR MAX_IMAGES IMAGE...   (DETECTOR: a manifest name, e.g.
//! yunet-2023mar or dlib-mmod)

use std::time::Instant;

use simkyc_face::{EngineOptions, FaceEngine};

fn fit(img: &image::RgbImage, w: u32, h: u32) -> image::RgbImage {
    let s = (w as f64 / img.width() as f64).max(h as f64 / img.height() as f64);
    let (sw, sh) = ((img.width() as f64 * s).ceil() as u32, (img.height() as f64 * s).ceil() as u32);
    let big = image::imageops::resize(img, sw, sh, image::imageops::FilterType::Triangle);
    image::imageops::crop_imm(&big, (sw - w) / 2, (sh - h) / 2, w, h).to_image()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: detector_recall DETECTOR MAX_IMAGES IMAGE...";
    let detector = args.get(1).ok_or(usage)?.clone();
    let max: usize = args.get(2).ok_or(usage)?.parse()?;
    let imgs: Vec<image::RgbImage> = args[3..]
        .iter()
        .take(max)
        .filter_map(|p| simkyc_face::decode::decode_rgb(&std::fs::read(p).ok()?, &Default::default()).ok())
        .collect();
    let dir = simkyc_models::cache::default_models_dir();
    let manifest = simkyc_models::manifest::Manifest::load(&dir)?;
    let selection = simkyc_models::manifest::Defaults { detector, ..manifest.defaults.clone() };
    for (label, w, h) in [("ID chip 102x126", 102u32, 126u32), ("frame 640x480", 640, 480), ("frame 1920x1080", 1920, 1080)] {
        let inputs: Vec<image::RgbImage> = imgs.iter().map(|i| fit(i, w, h)).collect();
        for max_side in [240u32, 320, 480] {
            let e =
                FaceEngine::load_selection(&dir, &manifest, &selection, EngineOptions { detect_max_side: max_side, ..Default::default() })?;
            let mut found = 0;
            let mut ms = Vec::new();
            for img in &inputs {
                let t = Instant::now();
                let faces = e.detect(img)?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                found += usize::from(!faces.is_empty());
            }
            println!(
                "{label:<16} detect_max_side {max_side:>3}: recall {:>5.1}% ({found}/{}), median {:.1} ms",
                100.0 * found as f64 / inputs.len() as f64,
                inputs.len(),
                simkyc_face::stats::median(ms).unwrap_or(f64::NAN)
            );
        }
    }
    Ok(())
}
