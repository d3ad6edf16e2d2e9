//! Benchmark helper: makes camera-sized JPEG frames (scaled to cover, centre-cropped) from face
//! images, so `simkyc compare --repeat` can be timed on 640×480 or 1920×1080 input.
//! Usage: bench_frames WIDTH HEIGHT OUT_DIR IMAGE...

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        return Err("usage: bench_frames WIDTH HEIGHT OUT_DIR IMAGE...".into());
    }
    let (w, h): (u32, u32) = (a[1].parse()?, a[2].parse()?);
    let out = std::path::Path::new(&a[3]);
    std::fs::create_dir_all(out)?;
    for (i, p) in a[4..].iter().enumerate() {
        let img = simkyc_face::decode::decode_rgb(&std::fs::read(p)?, &Default::default())?;
        let s = (w as f64 / img.width() as f64).max(h as f64 / img.height() as f64);
        let (sw, sh) = ((img.width() as f64 * s).ceil() as u32, (img.height() as f64 * s).ceil() as u32);
        let big = image::imageops::resize(&img, sw, sh, image::imageops::FilterType::Triangle);
        let crop = image::imageops::crop_imm(&big, (sw - w) / 2, (sh - h) / 2, w, h).to_image();
        let path = out.join(format!("frame{i}_{w}x{h}.jpg"));
        crop.save(&path)?;
        println!("{}", path.display());
    }
    Ok(())
}
