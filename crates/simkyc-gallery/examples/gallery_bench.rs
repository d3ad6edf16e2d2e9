//! Exact 1:N search speed and memory per precision: `cargo run --release -p simkyc-gallery
//! --example gallery_bench -- [N] [DIM] [QUERIES]` (defaults 1,000,000, 128, 21). Fills a
//! gallery with N pseudo-random unit templates (speed of an exact scan does not depend on the
//! values), then times QUERIES searches on one thread at a threshold no random template reaches.
//! Prints per precision: fill time, heap bytes per template, search median and p95, and the
//! baseline kernel's median for the ratio to the SIMD one.

use std::time::Instant;

use simkyc_gallery::{kernels, Gallery, Precision};

fn template(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Sum of uniforms: roughly Gaussian, like embedding components.
            ((s & 0xFFFF) as f32 + ((s >> 16) & 0xFFFF) as f32 + ((s >> 32) & 0xFFFF) as f32) / 98304.0 - 1.0
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let dim = args.get(1).copied().unwrap_or(128);
    let queries = args.get(2).copied().unwrap_or(21);
    println!("gallery of {n} templates of {dim} components, {queries} queries, one thread, kernels: {}", kernels::simd());
    for p in [Precision::F32, Precision::F16, Precision::Int8] {
        let t = Instant::now();
        let mut g = Gallery::new(dim, p);
        for i in 0..n {
            let id = format!("{i:032x}");
            g.upsert(&id, &format!("cn_resident_id:{:018}", i), &template(i as u64, dim)).expect("a template");
        }
        let fill = t.elapsed().as_secs_f64();
        let mut times: Vec<f64> = (0..queries)
            .map(|q| {
                let probe = template(u64::MAX - q as u64, dim);
                let t = Instant::now();
                let hits = g.search(&[&probe], "none", 0.9, 10);
                let ms = t.elapsed().as_secs_f64() * 1e3;
                assert!(hits.len() <= 10);
                ms
            })
            .collect();
        let p95 = {
            let mut s = times.clone();
            s.sort_by(f64::total_cmp);
            s[(s.len() * 95 / 100).min(s.len() - 1)]
        };
        let med = median(&mut times);
        println!(
            "{p:>4}: fill {fill:.1} s, {:.0} bytes a template ({:.0} MB per million; vectors alone {} bytes), search median {med:.2} ms, p95 {p95:.2} ms",
            g.heap_bytes() as f64 / n as f64,
            g.heap_bytes() as f64 / n as f64,
            p.template_bytes(dim)
        );
    }
}
