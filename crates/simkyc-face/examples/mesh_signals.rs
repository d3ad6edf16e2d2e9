//! Prints the face-mesh signals (eye aspect ratio, mouth opening, yaw, pitch) of each frame, and
//! optionally draws the mesh on the first one: a dev check of the mesh crop and of the
//! challenge's signals on real frames.
//!   cargo run --release -p simkyc-face --example mesh_signals -- [--draw OUT.png] FRAME...

use simkyc_face::mesh::{FaceMesh, Square};
use simkyc_face::{EngineOptions, FaceEngine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let draw = if args.first().map(String::as_str) == Some("--draw") {
        args.remove(0);
        Some(args.remove(0))
    } else {
        None
    };
    let dir = simkyc_models::cache::default_models_dir();
    let manifest = simkyc_models::manifest::Manifest::load(&dir)?;
    let engine = FaceEngine::load(&dir, EngineOptions::default())?;
    let mesh = FaceMesh::load(&dir, &manifest, &engine.options.runtime)?.ok_or("facemesh not installed")?;
    for (i, p) in args.iter().enumerate() {
        let mut img = image::open(p)?.to_rgb8();
        let faces = engine.detect(&img)?;
        let Some(k) = simkyc_face::engine::pick_subject(&faces, img.width(), img.height()) else {
            println!("{p}: no face");
            continue;
        };
        let t = std::time::Instant::now();
        let m = mesh.run(&img, Square::around(&faces[k]))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let s = m.signals();
        println!("{p}: face {:.2} ear {:.3} mouth {:.3} yaw {:+.3} pitch {:.3} ({ms:.1} ms)", m.face, s.ear, s.mouth, s.yaw, s.pitch);
        if i == 0 {
            if let Some(out) = &draw {
                for q in &m.points {
                    let (x, y) = (q[0].round() as i64, q[1].round() as i64);
                    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
                        img.put_pixel(x as u32, y as u32, image::Rgb([0, 255, 0]));
                    }
                }
                img.save(out)?;
            }
        }
    }
    Ok(())
}
