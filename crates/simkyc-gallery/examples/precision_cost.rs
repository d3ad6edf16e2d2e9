//! What holding templates at f16 or int8 costs in accuracy, on real embeddings: `cargo run
//! --release -p simkyc-gallery --example precision_cost -- CACHE.json [DEFAULT STRICT]`, where
//! CACHE.json is the embedding cache written by `simkyc calibrate --cache` (the default engine's
//! templates of every development image). For every pair of images within each development set
//! it compares the gallery's score at f16 and int8 with the exact f32 score: the largest and mean
//! absolute difference, and how many pairs change side of the default and strict points.

use std::collections::BTreeMap;

use simkyc_gallery::{Gallery, Precision};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: precision_cost CACHE.json [DEFAULT STRICT]");
        std::process::exit(2);
    };
    let default: f32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0.4656);
    let strict: f32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0.5314);
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cache: serde_json::Value = serde_json::from_str(&text).expect("a JSON cache");
    let mut sets: BTreeMap<String, Vec<Vec<f32>>> = BTreeMap::new();
    for (p, e) in cache["embeddings"].as_object().expect("embeddings") {
        let Some(v) = e.as_array() else { continue };
        let set = p.split("/images/").next().and_then(|s| s.rsplit('/').next()).unwrap_or("?").to_string();
        sets.entry(set).or_default().push(v.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect());
    }
    println!("points: default {default}, strict {strict}");
    for (set, templates) in &sets {
        let dim = templates[0].len();
        let galleries: Vec<Gallery> = [Precision::F32, Precision::F16, Precision::Int8]
            .into_iter()
            .map(|p| {
                let mut g = Gallery::new(dim, p);
                for (i, t) in templates.iter().enumerate() {
                    g.upsert(&format!("{i:08}"), &format!("{i}"), t).expect("a template");
                }
                g
            })
            .collect();
        // (max diff, sum diff, pairs, flips at default, flips at strict) per precision.
        let mut stats = [(0.0f32, 0.0f64, 0usize, 0usize, 0usize); 3];
        for (i, t) in templates.iter().enumerate() {
            let scores: Vec<BTreeMap<String, f32>> = galleries
                .iter()
                .map(|g| g.search(&[t], &format!("{i}"), -2.0, usize::MAX).into_iter().map(|h| (h.registration_id, h.score)).collect())
                .collect();
            for (id, &exact) in &scores[0] {
                if id.as_str() <= format!("{i:08}").as_str() {
                    continue; // each unordered pair once
                }
                for (k, s) in scores.iter().enumerate() {
                    let v = s[id];
                    let d = (v - exact).abs();
                    let st = &mut stats[k];
                    st.0 = st.0.max(d);
                    st.1 += f64::from(d);
                    st.2 += 1;
                    st.3 += usize::from((v >= default) != (exact >= default));
                    st.4 += usize::from((v >= strict) != (exact >= strict));
                }
            }
        }
        for (k, p) in ["f32", "f16", "int8"].iter().enumerate() {
            let (max, sum, n, fd, fs) = stats[k];
            println!(
                "{set:>12} {p:>4}: {n} pairs, |score - f32| max {max:.5} mean {:.6}; pairs changing side: default {fd}, strict {fs}",
                sum / n.max(1) as f64
            );
        }
    }
}
