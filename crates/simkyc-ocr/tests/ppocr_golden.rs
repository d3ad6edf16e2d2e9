//! Our PP-OCR pipeline against RapidOCR's own (the Python package whose models `simkyc models
//! fetch` installs): golden outputs made by tools/reference/ppocr_golden.py on synthetic card
//! photos, regenerated here bit for bit from the same seed. Both runtimes must read the same
//! lines, with boxes within a few pixels and identical text.

use std::path::PathBuf;

use serde::Deserialize;
use simkyc_cardgen::{Generator, DEFAULT_FONT};
use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::runtime::{Runtime, RuntimeChoice};
use simkyc_ocr::reader::{DetLimit, TextReader};

#[derive(Deserialize)]
struct Golden {
    seed: u64,
    text_score: f32,
    images: Vec<Image>,
}
#[derive(Deserialize)]
struct Image {
    index: u32,
    lines: Vec<Line>,
}
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "box")]
    quad: [[f64; 2]; 4],
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

fn setup() -> Option<(PathBuf, PathBuf)> {
    let data = std::env::var_os("SIMKYC_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data"));
    if !data.join("casia-dev/images").is_dir() {
        assert!(!required("SIMKYC_REQUIRE_DATA"), "shared data not found at {}", data.display());
        eprintln!("SKIPPED: shared development data not found at {}", data.display());
        return None;
    }
    let models = simkyc_models::cache::default_models_dir();
    if !models.join(simkyc_models::manifest::MANIFEST_FILE).is_file() {
        assert!(!required("SIMKYC_REQUIRE_MODELS"), "models not installed in {}", models.display());
        eprintln!("SKIPPED: models not installed (run `simkyc models fetch`)");
        return None;
    }
    if !std::path::Path::new(DEFAULT_FONT).is_file() {
        assert!(!required("SIMKYC_REQUIRE_MODELS"), "{DEFAULT_FONT} missing (Debian fonts-wqy-zenhei)");
        eprintln!("SKIPPED: no CJK font at {DEFAULT_FONT}");
        return None;
    }
    Some((data, models))
}

/// RapidOCR 1.4.4 with `limit_type: max` does not use its `limit_side_len` as given: it picks
/// 960, 1500 or 2000 by the image's longer side (`TextDetector.get_preprocess`).
fn rapidocr_max_limit(max_side: u32) -> u32 {
    if max_side < 960 {
        960
    } else if max_side < 1500 {
        1500
    } else {
        2000
    }
}

fn runtimes(models: &std::path::Path) -> Vec<Runtime> {
    let mut v = Vec::new();
    match Runtime::for_models_dir(RuntimeChoice::Onnxruntime, models, 1) {
        Ok(r) => v.push(r),
        Err(e) => {
            assert!(!required("SIMKYC_REQUIRE_MODELS"), "onnxruntime: {e}");
            eprintln!("SKIPPED onnxruntime: {e}");
        }
    }
    v.push(Runtime::Tract);
    v
}

#[test]
fn our_pipeline_reads_what_rapidocr_reads() {
    let Some((data, models)) = setup() else { return };
    let golden: Golden =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/golden/ppocr.json")).expect("golden")).expect("json");
    let gen =
        Generator::new(DEFAULT_FONT, Some(data.clone()), simkyc_cardgen::casia_portraits(&data), golden.seed, 2026).expect("generator");
    for runtime in runtimes(&models) {
        let reader = TextReader::load(&models, &runtime).expect("OCR models").with_reference_padding();
        let (mut lines, mut same_text, mut same_glyphs, mut worst_px) = (0usize, 0usize, 0usize, 0f64);
        for img in &golden.images {
            let sample = gen.sample(img.index).expect("sample");
            let photo = decode_rgb(&sample.jpeg, &DecodeLimits::default()).expect("decode");
            let ours: Vec<_> = reader
                .read(&photo, DetLimit::Max(rapidocr_max_limit(photo.width().max(photo.height()))), true)
                .expect("read")
                .into_iter()
                .filter(|l| l.score >= golden.text_score)
                .collect();
            assert_eq!(
                ours.len(),
                img.lines.len(),
                "{runtime:?} image {}: {:?} vs {:?}",
                img.index,
                ours.iter().map(|l| &l.text).collect::<Vec<_>>(),
                img.lines.iter().map(|l| &l.text).collect::<Vec<_>>()
            );
            // Pair each reference line with our line whose box centre is nearest (the reading
            // order of two boxes on one row can swap on a pixel's difference).
            let centre = |q: &[[f64; 2]; 4]| [q.iter().map(|p| p[0]).sum::<f64>() / 4.0, q.iter().map(|p| p[1]).sum::<f64>() / 4.0];
            for g in &img.lines {
                let gc = centre(&g.quad);
                let o = ours
                    .iter()
                    .min_by(|a, b| {
                        let d = |l: &simkyc_ocr::TextLine| {
                            let c = centre(&l.quad);
                            (c[0] - gc[0]).hypot(c[1] - gc[1])
                        };
                        d(a).total_cmp(&d(b))
                    })
                    .expect("a line");
                lines += 1;
                same_text += usize::from(o.text == g.text);
                let squash = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
                same_glyphs += usize::from(squash(&o.text) == squash(&g.text));
                if o.text != g.text {
                    eprintln!("{runtime:?} image {}: {:?} vs RapidOCR {:?}", img.index, o.text, g.text);
                }
                for (a, b) in o.quad.iter().zip(&g.quad) {
                    worst_px = worst_px.max((a[0] - b[0]).abs().max((a[1] - b[1]).abs()));
                }
            }
        }
        eprintln!(
            "{runtime:?}: {same_text}/{lines} lines read identically ({same_glyphs} ignoring spaces), box corners within {worst_px} px"
        );
        assert!(worst_px <= 3.0, "{runtime:?}: a box corner is {worst_px} px from RapidOCR's");
        // Crops are resampled bilinearly here and bicubically by RapidOCR: a gap may read as a
        // space in one and not the other, never as another character.
        assert_eq!(same_glyphs, lines, "{runtime:?}: every line must read as RapidOCR reads it");
        assert!(same_text * 10 >= lines * 9, "{runtime:?}: {same_text}/{lines} identical including spaces");
    }
}
