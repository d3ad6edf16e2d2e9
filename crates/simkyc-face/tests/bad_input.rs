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
    image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]))
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
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

/// Inserts an EXIF APP1 segment with the given orientation right after a JPEG's SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // big-endian TIFF, IFD at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_respected() {
    let Some((e, data)) = engine() else { return };
    let full = image::load_from_memory(&face_jpeg(&data)).unwrap().to_rgb8();
    let upright = image::imageops::crop_imm(&full, 25, 0, 200, 250).to_image(); // portrait, not square
                                                                                // Store the photo rotated 90° clockwise on its side, as a phone camera does, and say so in EXIF
                                                                                // (orientation 8: rotate 270° clockwise to display).
    let sideways = image::imageops::rotate90(&upright);
    let mut jpg = Vec::new();
    sideways.write_to(&mut Cursor::new(&mut jpg), image::ImageFormat::Jpeg).unwrap();
    let tagged = with_exif_orientation(&jpg, 8);
    let a = e.analyze_bytes(&tagged).expect("analysis");
    assert_eq!((a.width, a.height), upright.dimensions(), "orientation not applied");
    let s = a.subject.expect("the upright face is found");
    let reference = e.analyze(&upright).unwrap().subject.unwrap().embedding;
    assert!(simkyc_face::embed::cosine(&s.embedding, &reference) > 0.95);
}

#[test]
fn small_id_card_photo_is_handled() {
    let Some((e, data)) = engine() else { return };
    let img = image::load_from_memory(&face_jpeg(&data)).unwrap().to_rgb8();
    // An ID-card chip is about 102×126: crop the head and shoulders, then shrink.
    let crop = image::imageops::crop_imm(&img, 55, 40, 140, 173).to_image();
    let chip = image::imageops::resize(&crop, 102, 126, image::imageops::FilterType::Triangle);
    let a = e.analyze(&chip).expect("analysis");
    assert_eq!(a.faces.len(), 1, "one face in a 102x126 photo");
    let s = a.subject.unwrap();
    let reference = e.analyze(&img).unwrap().subject.unwrap().embedding;
    let score = simkyc_face::embed::cosine(&s.embedding, &reference);
    assert!(score > 0.85, "the chip should still match its source photo: {score}");
}
