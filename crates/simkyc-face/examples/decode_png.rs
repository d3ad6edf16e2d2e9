//! Dev helper for the reference scripts: decodes images with simkyc's decoder and writes them as
//! PNG, so that dlib and simkyc are compared on exactly the same pixels.
//! Usage: decode_png OUT_DIR IMAGE...

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or("usage: decode_png OUT_DIR IMAGE...")?);
    std::fs::create_dir_all(&out)?;
    for (i, p) in args.enumerate() {
        let img = simkyc_face::decode::decode_rgb(&std::fs::read(&p)?, &Default::default())?;
        img.save(out.join(format!("{i}.png")))?;
    }
    Ok(())
}
