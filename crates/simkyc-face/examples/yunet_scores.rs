//! Dev tool: the YuNet scores of the subject and of every other face on a set of images, at the
//! engine's detection settings and a 0.3 floor, to choose the detection threshold.
//! Usage: yunet_scores IMAGE...   (prints one line per image: subject score, other scores)

use simkyc_face::{EngineOptions, FaceEngine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = simkyc_models::cache::default_models_dir();
    let m = simkyc_models::manifest::Manifest::load(&dir)?;
    let e = FaceEngine::load_selection(
        &dir,
        &m,
        &simkyc_models::pack_defaults(),
        EngineOptions { yunet_threshold: 0.3, ..Default::default() },
    )?;
    for p in std::env::args().skip(1) {
        let img = simkyc_face::decode::decode_rgb(&std::fs::read(&p)?, &Default::default())?;
        let faces = e.detect(&img)?;
        let Some(i) = simkyc_face::engine::pick_subject(&faces, img.width(), img.height()) else {
            println!("{p}\tnone");
            continue;
        };
        let others: Vec<String> = faces
            .iter()
            .enumerate()
            .filter(|(j, f)| *j != i && f.width() >= 0.5 * faces[i].width())
            .map(|(_, f)| format!("{:.3}", f.score))
            .collect();
        println!("{p}\t{:.3}\t{}", faces[i].score, others.join(","));
    }
    Ok(())
}
