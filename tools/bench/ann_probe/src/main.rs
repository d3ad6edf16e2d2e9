//! HNSW (usearch) against the exact scan on synthetic face-like templates: see Cargo.toml.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;
/// Reads a mean and a Cholesky factor (`tools/experiments/embedding_spread.py /tmp/emb.json FILE`).
fn read_gaussian(path: &str) -> (Vec<f32>, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(path).expect("read the Gaussian file");
    let mut rows: Vec<Vec<f32>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|v| v.parse().expect("a number")).collect())
        .collect();
    let mean = rows.remove(0);
    assert!(rows.len() == mean.len() && rows.iter().all(|r| r.len() == mean.len()), "a mean line and a square factor");
    (mean, rows)
}

fn main() {
    // Arguments: gallery size, then optionally a Gaussian file (real templates' mean and
    // covariance factor) instead of the isotropic model, and the graph's connectivity.
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let gaussian = std::env::args().nth(2).filter(|a| a != "-").map(|p| read_gaussian(&p));
    let connectivity: usize = std::env::args().nth(3).and_then(|a| a.parse().ok()).unwrap_or(16);
    let d = 128;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut mean = vec![0f32; d];
    mean.iter_mut().for_each(|m| {
        let z: f32 = StandardNormal.sample(&mut rng);
        *m = z;
    });
    let mn = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    mean.iter_mut().for_each(|m| *m *= 0.35 / mn);
    let gen = |rng: &mut rand::rngs::StdRng| -> Vec<f32> {
        let mut v: Vec<f32> = match &gaussian {
            Some((mu, l)) => {
                let z: Vec<f32> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
                (0..d).map(|i| mu[i] + l[i].iter().zip(&z).map(|(a, b)| a * b).sum::<f32>()).collect()
            }
            None => (0..d)
                .map(|i| {
                    let z: f32 = StandardNormal.sample(rng);
                    mean[i] + z * 0.083
                })
                .collect(),
        };
        let nn = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= nn);
        v
    };
    println!("templates: {}, connectivity {connectivity}", if gaussian.is_some() { "real mean and covariance" } else { "isotropic model" });
    let data: Vec<Vec<f32>> = (0..n).map(|_| gen(&mut rng)).collect();
    let queries: Vec<Vec<f32>> = (0..200).map(|_| gen(&mut rng)).collect();
    let opts = usearch::IndexOptions {
        dimensions: d,
        metric: usearch::MetricKind::IP,
        quantization: usearch::ScalarKind::F16,
        connectivity,
        expansion_add: 128,
        expansion_search: 64,
        ..Default::default()
    };
    let idx = usearch::Index::new(&opts).unwrap();
    idx.reserve(n).unwrap();
    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..2 {
            let (idx, data) = (&idx, &data);
            s.spawn(move || {
                for i in (th..n).step_by(2) {
                    idx.add(i as u64, &data[i]).unwrap();
                }
            });
        }
    });
    println!("n {n}: build {:.1} s (2 threads), index memory {:.0} MB", t.elapsed().as_secs_f64(), idx.memory_usage() as f64 / 1e6);
    // exact top-10
    let exact: Vec<Vec<u64>> = queries
        .iter()
        .map(|q| {
            let mut s: Vec<(f32, u64)> =
                data.iter().enumerate().map(|(i, v)| (q.iter().zip(v).map(|(a, b)| a * b).sum::<f32>(), i as u64)).collect();
            s.select_nth_unstable_by(10, |a, b| b.0.total_cmp(&a.0));
            s[..10].iter().map(|x| x.1).collect()
        })
        .collect();
    // Mated probes: an enrolled vector plus noise, cosine about 0.7 to it (a duplicate face).
    let mated: Vec<(u64, Vec<f32>)> = (0..200)
        .map(|k| {
            let j = (k * 4999) % n;
            let mut v: Vec<f32> = data[j]
                .iter()
                .map(|x| {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    x + z * 0.09
                })
                .collect();
            let nn = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= nn);
            (j as u64, v)
        })
        .collect();
    let mean_cos: f32 = mated.iter().map(|(j, v)| data[*j as usize].iter().zip(v).map(|(a, b)| a * b).sum::<f32>()).sum::<f32>() / 200.0;
    for ef in [16usize, 64, 128, 256, 512, 1024, 2048] {
        idx.change_expansion_search(ef);
        let found = mated.iter().filter(|(j, v)| idx.search(v, 10).unwrap().keys.contains(j)).count();
        println!("ef {ef}: mated probe (mean cosine {mean_cos:.3}) found in the top 10: {found}/200");
    }
    for ef in [64usize, 128, 256, 512, 1024, 2048] {
        idx.change_expansion_search(ef);
        let mut lat = Vec::new();
        let mut hit = 0usize;
        for (q, e) in queries.iter().zip(&exact) {
            let t = Instant::now();
            let m = idx.search(q, 10).unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            hit += m.keys.iter().filter(|k| e.contains(k)).count();
        }
        lat.sort_by(|a, b| a.total_cmp(b));
        println!(
            "ef {ef}: recall@10 {:.4}, p50 {:.3} ms, p95 {:.3} ms",
            hit as f64 / (10 * queries.len()) as f64,
            lat[lat.len() / 2],
            lat[lat.len() * 95 / 100]
        );
    }
}
