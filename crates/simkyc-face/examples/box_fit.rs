//! Dev tool: fits the mapping from YuNet's five points to the box dlib's MMOD detector reports for
//! the same face (`yunet::MMOD_SIZE_PER_EYE_MOUTH`, `yunet::MMOD_CENTRE_DROP`), so that quality
//! limits, the liveness crop and the landmark predictor, all calibrated on MMOD boxes, keep
//! their meaning. Prints the medians over faces both detectors find (IoU ≥ 0.3).
//! Usage: box_fit IMAGE...

use simkyc_face::{EngineOptions, FaceEngine};
use simkyc_models::manifest::Manifest;

fn median(v: Vec<f64>) -> f64 {
    simkyc_face::stats::median(v).unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = simkyc_models::cache::default_models_dir();
    let m = Manifest::load(&dir)?;
    let native = || EngineOptions { detect_max_side: 100_000, detect_min_side: 0, ..Default::default() };
    let mmod = FaceEngine::load_selection(&dir, &m, &simkyc_models::legacy_defaults(), native())?;
    let yunet = FaceEngine::load_selection(&dir, &m, &simkyc_models::pack_defaults(), native())?;
    let (mut size, mut drop, mut shift, mut iou) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in std::env::args().skip(1) {
        let img = simkyc_face::decode::decode_rgb(&std::fs::read(&p)?, &Default::default())?;
        let ys = yunet.detect_found(&img)?;
        for b in mmod.detect_native(&img)? {
            let b = b.face;
            let Some(y) = ys.iter().filter_map(|y| y.points.map(|pt| (y.face, pt))).max_by(|a, c| a.0.iou(&b).total_cmp(&c.0.iou(&b)))
            else {
                continue;
            };
            let pt = y.1;
            let eyes = [(pt[0][0] + pt[1][0]) / 2.0, (pt[0][1] + pt[1][1]) / 2.0];
            let mouth = [(pt[3][0] + pt[4][0]) / 2.0, (pt[3][1] + pt[4][1]) / 2.0];
            let em = ((mouth[0] - eyes[0]).powi(2) + (mouth[1] - eyes[1]).powi(2)).sqrt();
            let (mx, my) = ((eyes[0] + mouth[0]) / 2.0, (eyes[1] + mouth[1]) / 2.0);
            let (bx, by) = ((b.left + b.right + 1.0) / 2.0, (b.top + b.bottom + 1.0) / 2.0);
            if y.0.iou(&b) < 0.3 {
                continue;
            }
            size.push((b.width() + b.height()) / 2.0 / em);
            drop.push((by - my) / em);
            shift.push((bx - mx) / em);
            iou.push(y.0.iou(&b));
        }
    }
    println!(
        "{} faces: size/em {:.4}, centre drop/em {:.4}, centre shift/em {:.4}, IoU of the mapped box (current constants) {:.3}",
        size.len(),
        median(size),
        median(drop),
        median(shift),
        median(iou)
    );
    Ok(())
}
