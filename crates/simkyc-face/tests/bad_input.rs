//! Bad input gets a clear, typed error or an honest "no face", never a panic: non-images, truncated
//! JPEGs, decompression bombs, blank images, grayscale and CMYK JPEGs.

mod common;

use std::io::Cursor;

use simkyc_face::{EngineOptions, FaceEngine, FaceError};

fn engine() -> Option<(FaceEngine, std::path::PathBuf)> {
    let data = common::data_dir()?;
    let models = common::models_dir()?;
    Some((FaceEngine::load(&models, EngineOptions::default()).expect("engine"), data))
}

fn face_jpeg(data: &std::path::Path) -> Vec<u8> {
    std::fs::read(data.join("lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0001.jpg")).expect("image")
}

#[test]
fn non_image_and_truncated_jpeg_are_decode_errors() {
    let Some((e, data)) = engine() else { return };
    assert!(matches!(e.analyze_bytes(b"%PDF-1.4 not an image"), Err(FaceError::Decode(_))));
    let jpg = face_jpeg(&data);
    for cut in [10, 100, jpg.len() / 3] {
        match e.analyze_bytes(&jpg[..cut]) {
            Err(FaceError::Decode(_)) => {}
            Ok(a) => assert!(a.faces.len() <= 1, "a truncated JPEG decoded partially and gave {} faces", a.faces.len()),
            Err(other) => panic!("truncated at {cut}: unexpected error {other}"),
        }
    }
}

#[test]
fn decompression_bomb_is_refused_before_allocation() {
    let Some((e, _)) = engine() else { return };
    let mut png = Vec::new();
    image::RgbImage::new(1, 1).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png[16..20].copy_from_slice(&30000u32.to_be_bytes());
    png[20..24].copy_from_slice(&30000u32.to_be_bytes());
    // A well-formed header (valid CRC) claiming 30000×30000 pixels with almost no data.
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = e.analyze_bytes(&png).unwrap_err();
    assert!(matches!(err, FaceError::TooLarge(_)), "{err}");
}

#[test]
fn blank_image_has_no_face() {
    let Some((e, _)) = engine() else { return };
    let mut png = Vec::new();
    image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let a = e.analyze_bytes(&png).expect("analysis");
    assert_eq!(a.faces.len(), 0);
    assert!(a.subject.is_none());
}

#[test]
fn grayscale_and_cmyk_jpegs_work() {
    let Some((e, data)) = engine() else { return };
    let rgb = image::load_from_memory(&face_jpeg(&data)).unwrap().to_rgb8();
    let reference = e.analyze(&rgb).unwrap().subject.expect("face").embedding;

    let gray = image::DynamicImage::ImageRgb8(rgb.clone()).to_luma8();
    let mut gjpg = Vec::new();
    gray.write_to(&mut Cursor::new(&mut gjpg), image::ImageFormat::Jpeg).unwrap();
    let g = e.analyze_bytes(&gjpg).expect("grayscale JPEG").subject.expect("face in grayscale");
    assert!(simkyc_face::embed::cosine(&g.embedding, &reference) > 0.9);

    let mut cmyk = Vec::with_capacity(rgb.len() / 3 * 4);
    for p in rgb.pixels() {
        let (r, g, b) = (p[0] as f32 / 255.0, p[1] as f32 / 255.0, p[2] as f32 / 255.0);
        let k = 1.0 - r.max(g).max(b);
        let f = |c: f32| if k >= 1.0 { 0.0 } else { (1.0 - c - k) / (1.0 - k) };
        cmyk.extend([f(r), f(g), f(b), k].map(|v| (v * 255.0).round() as u8));
    }
    let mut cjpg = Vec::new();
    jpeg_encoder::Encoder::new(&mut cjpg, 95)
        .encode(&cmyk, rgb.width() as u16, rgb.height() as u16, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    match e.analyze_bytes(&cjpg) {
        Ok(a) => {
            let s = a.subject.expect("face in CMYK JPEG");
            assert!(simkyc_face::embed::cosine(&s.embedding, &reference) > 0.9, "CMYK colours decoded wrongly");
        }
        Err(FaceError::Decode(msg)) => panic!("CMYK JPEG should decode: {msg}"),
        Err(other) => panic!("unexpected error {other}"),
    }
}
