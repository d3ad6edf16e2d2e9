//! Batched embedding gives what one-by-one embedding gives: a chip and its mirror as one batch
//! of 2, and a capture's photos analysed together, on every installed runtime; and requests
//! running at once, or one request on a lent spare thread, give what they give one at a time.

mod common;

use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::{EngineOptions, FaceEngine};

/// The largest difference between two embeddings, value by value.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn photos(data: &std::path::Path) -> Vec<image::RgbImage> {
    common::first_photos(data, "asian-wild", 5)
        .iter()
        .map(|f| decode_rgb(&std::fs::read(f).expect("read"), &DecodeLimits::default()).expect("decode"))
        .collect()
}

#[test]
fn batches_of_any_size_give_the_one_by_one_embeddings() {
    let (Some(data), Some(models)) = (common::data_dir(), common::models_dir()) else { return };
    let imgs = photos(&data);
    assert!(imgs.len() >= 4, "too few photos");
    for runtime in common::runtimes(&models) {
        let load = |batch: usize| {
            FaceEngine::load(&models, EngineOptions { runtime: runtime.clone(), embed_batch: batch, ..Default::default() }).expect("engine")
        };
        let single = load(1);
        let want: Vec<Vec<f32>> = imgs.iter().map(|i| single.analyze(i).expect("analyze").subject.expect("a face").embedding).collect();
        for batch in [2, 8] {
            let e = load(batch);
            // Frame and mirror as one batch of 2 (or more).
            let one: Vec<Vec<f32>> = imgs.iter().map(|i| e.analyze(i).expect("analyze").subject.expect("a face").embedding).collect();
            // The whole capture together.
            let many: Vec<Vec<f32>> =
                e.analyze_many(&imgs).expect("analyze_many").into_iter().map(|a| a.subject.expect("a face").embedding).collect();
            for (got, w) in one.iter().chain(&many).zip(want.iter().chain(&want)) {
                let d = max_abs_diff(got, w);
                assert!(d <= 1e-5, "{}: batch {batch} differs from one by one by {d}", runtime.name());
            }
        }
        assert_eq!(single.analyze_many(&imgs).expect("analyze_many").len(), imgs.len());
        // A spare thread lent by the caller runs the mirror (and, for a capture, the other
        // photos) at the same time: the same embeddings, in the same order.
        let lent = simkyc_face::spare::with_spare_threads(1, || {
            let one: Vec<Vec<f32>> = imgs.iter().map(|i| single.analyze(i).expect("analyze").subject.expect("a face").embedding).collect();
            let many: Vec<Vec<f32>> =
                single.analyze_many(&imgs).expect("analyze_many").into_iter().map(|a| a.subject.expect("a face").embedding).collect();
            one.into_iter().chain(many).collect::<Vec<_>>()
        });
        for (got, w) in lent.iter().zip(want.iter().chain(&want)) {
            let d = max_abs_diff(got, w);
            assert!(d <= 1e-5, "{}: with a spare thread the embedding differs by {d}", runtime.name());
        }
        assert_eq!(lent.len(), 2 * want.len());
    }
}

/// Several requests at once on one engine (onnxruntime then builds more sessions per model, all
/// drawing on the environment's one shared arena) give what one request at a time gives.
#[test]
fn concurrent_analyses_give_the_sequential_embeddings() {
    let (Some(data), Some(models)) = (common::data_dir(), common::models_dir()) else { return };
    let imgs = photos(&data);
    for runtime in common::runtimes(&models) {
        let e = FaceEngine::load(&models, EngineOptions { runtime: runtime.clone(), ..Default::default() }).expect("engine");
        let want: Vec<Vec<f32>> = imgs.iter().map(|i| e.analyze(i).expect("analyze").subject.expect("a face").embedding).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let (e, imgs, want, name) = (&e, &imgs, &want, runtime.name());
                    s.spawn(move || {
                        for round in 0..3 {
                            let k = (t + round) % imgs.len();
                            let got = e.analyze(&imgs[k]).expect("analyze").subject.expect("a face").embedding;
                            let d = max_abs_diff(&got, &want[k]);
                            assert!(d <= 1e-5, "{name}: thread {t} photo {k} differs by {d}");
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("thread");
            }
        });
    }
}

/// `analyze_flip(img, false)` embeds without the mirror, exactly as an engine loaded without
/// flip averaging does; `analyze_flip(img, true)` is `analyze`; and an engine without flip
/// averaging never gains it.
#[test]
fn live_frames_can_be_embedded_without_their_mirror() {
    let (Some(data), Some(models)) = (common::data_dir(), common::models_dir()) else { return };
    let imgs = photos(&data);
    let runtime = common::runtimes(&models).pop().expect("a runtime");
    let load =
        |flip: bool| FaceEngine::load(&models, EngineOptions { runtime: runtime.clone(), flip, ..Default::default() }).expect("engine");
    let (with, without) = (load(true), load(false));
    let emb = |a: simkyc_face::FaceAnalysis| a.subject.expect("a face").embedding;
    let same = |a: &[f32], b: &[f32]| max_abs_diff(a, b) <= 1e-5;
    for img in &imgs {
        let flipped = emb(with.analyze(img).expect("analyze"));
        let plain = emb(without.analyze(img).expect("analyze"));
        assert!(!same(&flipped, &plain), "flip averaging changes the embedding");
        assert!(same(&emb(with.analyze_flip(img, true).expect("analyze")), &flipped));
        assert!(same(&emb(with.analyze_flip(img, false).expect("analyze")), &plain));
        assert!(same(&emb(without.analyze_flip(img, true).expect("analyze")), &plain));
        // The mirror pass added later (`live_flip = near-threshold`) gives the flip-averaged
        // embedding itself.
        let first = with.analyze_flip(img, false).expect("analyze").subject.expect("a face");
        assert!(same(&with.embed_subject(img, &first, true).expect("embed"), &flipped));
        assert!(same(&with.embed_subject(img, &first, false).expect("embed"), &plain));
        // Running only the mirror and averaging it in gives the same embedding.
        assert!(same(&with.add_mirror(img, &first, &first.embedding).expect("embed"), &flipped));
    }
}
