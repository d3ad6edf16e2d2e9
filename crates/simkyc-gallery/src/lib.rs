//! The in-memory 1:N gallery of one operator and one template model: every enrolled template
//! decrypted once, on the single-image score scale and held compactly ([`Precision`]), searched by an exact scan.
//!
//! It only ever answers "which *other* identities' templates does this capture resemble at or
//! above a threshold": the search takes the capture's own frames and leaves out the capture's
//! own document. There is no search by an arbitrary image and nothing here is written to disk.

pub mod kernels;
pub mod precision;

use std::collections::HashMap;

use half::f16;
pub use precision::{Precision, UnknownPrecision};

/// A template that cannot be held.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GalleryError {
    /// Its length is not the gallery's dimension.
    #[error("template has {got} components, the gallery holds {want}")]
    Dimension {
        /// Components given.
        got: usize,
        /// The gallery's dimension.
        want: usize,
    },
    /// A component is NaN or infinite, or the vector is zero.
    #[error("template is zero or not finite")]
    NotFinite,
}

/// One resemblance found: a registration of another identity and the mean similarity of the
/// capture's frames to its template.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The registration that enrolled the template.
    pub registration_id: String,
    /// Mean cosine similarity over the capture's frames.
    pub score: f32,
}

/// The templates and who they belong to, row `i` of each vector being entry `i`.
pub struct Gallery {
    dim: usize,
    precision: Precision,
    registration_ids: Vec<Box<str>>,
    /// Hashes of the documents (the capture's own document is left out by comparing hashes:
    /// 64 bits, so a wrong exclusion is a 1-in-10^13 event at a gallery of a million).
    documents: Vec<u64>,
    rows: HashMap<Box<str>, usize>,
    f32s: Vec<f32>,
    f16s: Vec<f16>,
    i8s: Vec<i8>,
    scales: Vec<f32>,
}

/// `t` divided by what `divisor` makes of its length; refused when the length is zero or not
/// finite.
fn divided(t: &[f32], divisor: impl Fn(f32) -> f32) -> Result<Vec<f32>, GalleryError> {
    let norm = t.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return Err(GalleryError::NotFinite);
    }
    let div = divisor(norm);
    Ok(t.iter().map(|x| x / div).collect())
}

/// A frame's embedding scaled to unit length.
fn normalised(t: &[f32]) -> Result<Vec<f32>, GalleryError> {
    divided(t, |norm| norm)
}

/// A template on the score scale: an embedding longer than unit length is scaled to unit; a
/// shorter one is a live capture's mean template (`simkyc_face::embed::mean_template`) and is
/// kept as it is, so its dot product with a frame stays the mean of the frames' cosines.
fn on_score_scale(t: &[f32]) -> Result<Vec<f32>, GalleryError> {
    divided(t, |norm| norm.max(1.0))
}

impl Gallery {
    /// An empty gallery of `dim`-component templates held at `precision`.
    pub fn new(dim: usize, precision: Precision) -> Gallery {
        Gallery {
            dim,
            precision,
            registration_ids: Vec::new(),
            documents: Vec::new(),
            rows: HashMap::new(),
            f32s: Vec::new(),
            f16s: Vec::new(),
            i8s: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// Templates held.
    pub fn len(&self) -> usize {
        self.registration_ids.len()
    }

    /// Whether no template is held.
    pub fn is_empty(&self) -> bool {
        self.registration_ids.is_empty()
    }

    /// The template dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The storage precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Whether a registration's template is held.
    pub fn contains(&self, registration_id: &str) -> bool {
        self.rows.contains_key(registration_id)
    }

    /// Bytes held for the templates and their owners (an estimate of the heap use: vectors at
    /// their capacity, strings, the index).
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self.registration_ids.iter().map(|s| s.len()).sum();
        // The index's keys are copies of the ids: their own allocations.
        let index = self.rows.capacity() * (std::mem::size_of::<(Box<str>, usize)>() + 1) + strings;
        self.f32s.capacity() * 4
            + self.f16s.capacity() * 2
            + self.i8s.capacity()
            + self.scales.capacity() * 4
            + self.registration_ids.capacity() * std::mem::size_of::<Box<str>>()
            + self.documents.capacity() * 8
            + strings
            + index
    }

    /// Holds (or replaces) the template a registration enrolled for a document (any key that
    /// names the identity, e.g. "cn_resident_id:110…").
    pub fn upsert(&mut self, registration_id: &str, document: &str, template: &[f32]) -> Result<(), GalleryError> {
        if template.len() != self.dim {
            return Err(GalleryError::Dimension { got: template.len(), want: self.dim });
        }
        let t = on_score_scale(template)?;
        self.remove(registration_id);
        match self.precision {
            Precision::F32 => self.f32s.extend_from_slice(&t),
            Precision::F16 => self.f16s.extend(t.iter().map(|&x| f16::from_f32(x))),
            Precision::Int8 => {
                let scale = precision::quantise_i8(&t, &mut self.i8s);
                self.scales.push(scale);
            }
        }
        self.rows.insert(registration_id.into(), self.registration_ids.len());
        self.registration_ids.push(registration_id.into());
        self.documents.push(document_hash(document));
        Ok(())
    }

    /// Drops a registration's template; false when it was not held.
    pub fn remove(&mut self, registration_id: &str) -> bool {
        let Some(row) = self.rows.remove(registration_id) else { return false };
        let last = self.registration_ids.len() - 1;
        let d = self.dim;
        match self.precision {
            Precision::F32 => swap_remove_row(&mut self.f32s, row, last, d),
            Precision::F16 => swap_remove_row(&mut self.f16s, row, last, d),
            Precision::Int8 => {
                swap_remove_row(&mut self.i8s, row, last, d);
                self.scales.swap_remove(row);
            }
        }
        self.registration_ids.swap_remove(row);
        self.documents.swap_remove(row);
        if row != last {
            self.rows.insert(self.registration_ids[row].clone(), row);
        }
        true
    }

    /// Registrations of other documents whose template the capture's frames resemble with a
    /// mean similarity at or above `threshold`, strongest first, at most `limit`.
    ///
    /// The mean of the frames' cosines to a template is the dot product of the mean of the
    /// normalised frames with the template (a unit embedding, or a live capture's mean
    /// template, whose dot product is already the mean over its own frames), so one scan
    /// serves any number of frames.
    pub fn search(&self, frames: &[&[f32]], own_document: &str, threshold: f32, limit: usize) -> Vec<Hit> {
        self.search_on(frames, own_document, threshold, limit, 1)
    }

    /// [`Gallery::search`] with the scan split over `threads` threads (this one and the rest
    /// spawned for the call): the same hits. The scan is bound by memory bandwidth, so a caller
    /// with an idle core lent to it halves the time; small galleries are scanned on one thread.
    pub fn search_on(&self, frames: &[&[f32]], own_document: &str, threshold: f32, limit: usize, threads: usize) -> Vec<Hit> {
        let Some(q) = self.query(frames) else { return Vec::new() };
        let n = self.len();
        let threads = threads.clamp(1, n.div_ceil(MIN_SPLIT_ROWS).max(1));
        let mut raw = Vec::new();
        if threads == 1 {
            q.scan(self, 0..n, threshold, &mut raw);
        } else {
            let per = n.div_ceil(threads);
            let q = &q;
            // Part `t` of the rows, with its hits' rows counted from the gallery's start.
            let part = move |t: usize| {
                let rows = (t * per).min(n)..((t + 1) * per).min(n);
                let mut out = Vec::new();
                q.scan(self, rows.clone(), threshold, &mut out);
                out.into_iter().map(|(i, s)| (i + rows.start, s)).collect::<Vec<_>>()
            };
            let parts: Vec<Vec<(usize, f32)>> = std::thread::scope(|s| {
                let handles: Vec<_> = (1..threads).map(|t| s.spawn(move || part(t))).collect();
                let first = part(0);
                let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
                // A scan thread only reads; should one panic, the search falls back to a full
                // scan on this thread instead of losing its rows.
                if joined.iter().any(Result::is_err) {
                    let mut all = Vec::new();
                    q.scan(self, 0..n, threshold, &mut all);
                    return vec![all];
                }
                std::iter::once(first).chain(joined.into_iter().flatten()).collect()
            });
            raw = parts.concat();
        }
        let own = document_hash(own_document);
        let mut hits: Vec<Hit> = raw
            .into_iter()
            .filter(|&(row, _)| self.documents[row] != own)
            .map(|(row, score)| Hit { registration_id: self.registration_ids[row].to_string(), score })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(limit);
        hits
    }

    /// The `k` templates of other documents that the frames resemble most, whatever their
    /// scores, strongest first: the first is the rank-1 candidate of open-set identification.
    /// Used to measure (identification rates, the recall of an approximate index); the service
    /// searches above a threshold with [`Gallery::search`].
    pub fn top(&self, frames: &[&[f32]], own_document: &str, k: usize) -> Vec<Hit> {
        let Some(q) = self.query(frames) else { return Vec::new() };
        if k == 0 {
            return Vec::new();
        }
        let own = document_hash(own_document);
        // Block by block, keeping only scores at or above the k-th best so far.
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(k.min(self.len()) + TOP_BLOCK);
        let mut floor = f32::NEG_INFINITY;
        let mut raw = Vec::with_capacity(TOP_BLOCK);
        for start in (0..self.len()).step_by(TOP_BLOCK) {
            raw.clear();
            q.scan(self, start..(start + TOP_BLOCK).min(self.len()), floor, &mut raw);
            best.extend(raw.iter().map(|&(i, s)| (i + start, s)).filter(|&(row, _)| self.documents[row] != own));
            if best.len() >= k {
                best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
                best.truncate(k);
                floor = best[k - 1].1;
            }
        }
        best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        best.truncate(k);
        best.into_iter().map(|(row, score)| Hit { registration_id: self.registration_ids[row].to_string(), score }).collect()
    }

    /// The normalised mean of the usable frames, quantised like the gallery; None when no frame
    /// is usable or the gallery is empty.
    fn query(&self, frames: &[&[f32]]) -> Option<Query> {
        let mut q = vec![0.0f32; self.dim];
        let mut used = 0usize;
        for f in frames {
            if let Ok(n) = normalised(f) {
                if n.len() == self.dim {
                    q.iter_mut().zip(&n).for_each(|(a, b)| *a += b);
                    used += 1;
                }
            }
        }
        if used == 0 || self.is_empty() {
            return None;
        }
        q.iter_mut().for_each(|a| *a /= used as f32);
        Some(match self.precision {
            Precision::Int8 => {
                let mut q8 = Vec::with_capacity(self.dim);
                let scale = precision::quantise_i8(&q, &mut q8);
                Query::Int8(q8, scale)
            }
            _ => Query::Float(q),
        })
    }
}

/// Fewest rows worth a thread of their own in [`Gallery::search_on`].
const MIN_SPLIT_ROWS: usize = 65_536;

/// Rows scored per block by [`Gallery::top`].
const TOP_BLOCK: usize = 4096;

/// A search query in the form the gallery's kernel takes.
enum Query {
    Float(Vec<f32>),
    Int8(Vec<i8>, f32),
}

impl Query {
    /// Scores of the rows `rows` at or above `threshold`, as (row − rows.start, score).
    fn scan(&self, g: &Gallery, rows: std::ops::Range<usize>, threshold: f32, out: &mut Vec<(usize, f32)>) {
        let d = g.dim;
        let span = rows.start * d..rows.end * d;
        match (self, g.precision) {
            (Query::Float(q), Precision::F32) => kernels::scan_f32(q, &g.f32s[span], threshold, out),
            (Query::Float(q), Precision::F16) => kernels::scan_f16(q, &g.f16s[span], threshold, out),
            (Query::Int8(q8, scale), Precision::Int8) => kernels::scan_i8(q8, *scale, &g.i8s[span], &g.scales[rows], threshold, out),
            // A query is always made by the gallery it searches.
            _ => {}
        }
    }
}

/// A stable in-process hash of a document key.
fn document_hash(document: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    let mut h = KEYS.get_or_init(std::collections::hash_map::RandomState::new).build_hasher();
    h.write(document.as_bytes());
    h.finish()
}

fn swap_remove_row<T: Copy>(v: &mut Vec<T>, row: usize, last: usize, d: usize) {
    if row != last {
        v.copy_within(last * d..(last + 1) * d, row * d);
    }
    v.truncate(last * d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
    }

    /// Deterministic pseudo-random templates.
    fn template(seed: u64, dim: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..dim)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn search_finds_the_mean_frame_score_leaves_out_the_own_document_and_follows_removals() {
        for p in [Precision::F32, Precision::F16, Precision::Int8] {
            let mut g = Gallery::new(128, p);
            for i in 0..300u64 {
                g.upsert(&format!("r{i}"), &format!("doc{}", i % 100), &template(i, 128)).unwrap();
            }
            let frames = [template(7, 128), template(7, 128).iter().map(|x| x + 0.05).collect()];
            let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
            let expect = |i: u64| refs.iter().map(|f| cosine(f, &template(i, 128))).sum::<f32>() / 2.0;
            let hits = g.search(&refs, "docX", -1.0, 1000);
            assert_eq!(hits.len(), 300, "{p}");
            let tol = match p {
                Precision::F32 => 1e-5,
                Precision::F16 => 2e-3,
                Precision::Int8 => 1e-2,
            };
            for h in &hits {
                let i: u64 = h.registration_id[1..].parse().unwrap();
                assert!((h.score - expect(i)).abs() < tol, "{p} {}: {} vs {}", h.registration_id, h.score, expect(i));
            }
            assert_eq!(hits[0].registration_id, "r7");
            assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
            // The capture's own document is never a hit.
            assert!(g.search(&refs, "doc7", -1.0, 1000).iter().all(|h| !["r7", "r107", "r207"].contains(&h.registration_id.as_str())));
            // Removal keeps the rest intact; re-insertion replaces.
            assert!(g.remove("r7") && !g.remove("r7"));
            assert_eq!(g.len(), 299);
            assert_ne!(g.search(&refs, "docX", -1.0, 1)[0].registration_id, "r7");
            for i in 0..300u64 {
                if i != 7 {
                    let h = g.search(&[&template(i, 128)], "docX", 0.98, 5);
                    assert_eq!(h.first().map(|h| h.registration_id.as_str()), Some(format!("r{i}").as_str()), "{p} r{i}");
                }
            }
            g.upsert("r8", "doc8", &template(9, 128)).unwrap();
            assert_eq!(g.len(), 299);
            assert_eq!(g.search(&[&template(9, 128)], "docX", 0.98, 5).len(), 2, "r8 now holds r9's template");
        }
    }

    #[test]
    fn top_is_the_k_best_of_the_full_scan_leaving_out_the_own_document() {
        for p in [Precision::F32, Precision::F16, Precision::Int8] {
            let mut g = Gallery::new(64, p);
            // More rows than one block, so the running floor is exercised.
            for i in 0..(2 * TOP_BLOCK as u64 + 77) {
                g.upsert(&format!("r{i}"), &format!("doc{}", i % 500), &template(i, 64)).unwrap();
            }
            for probe in [3u64, 4242, 9000] {
                let t = template(probe, 64);
                let all = g.search(&[&t], "doc3", -2.0, usize::MAX);
                let top = g.top(&[&t], "doc3", 10);
                assert_eq!(top.len(), 10);
                let want: Vec<f32> = all.iter().take(10).map(|h| h.score).collect();
                let got: Vec<f32> = top.iter().map(|h| h.score).collect();
                assert_eq!(got, want, "{p} probe {probe}");
                assert!(top.iter().all(|h| h.registration_id.trim_start_matches('r').parse::<u64>().unwrap() % 500 != 3));
            }
            assert_eq!(g.top(&[&template(1, 64)], "x", 0).len(), 0);
            assert_eq!(g.top(&[&template(1, 64)], "x", usize::MAX).len(), g.len());
        }
    }

    #[test]
    fn a_split_scan_finds_what_one_thread_finds() {
        let n = 2 * MIN_SPLIT_ROWS + 1234;
        for p in [Precision::F32, Precision::Int8] {
            let mut g = Gallery::new(16, p);
            for i in 0..n as u64 {
                g.upsert(&format!("r{i}"), &format!("doc{}", i % 1000), &template(i, 16)).unwrap();
            }
            for probe in [5u64, (n - 1) as u64, MIN_SPLIT_ROWS as u64] {
                let t = template(probe, 16);
                let one = g.search(&[&t], "doc5", 0.6, usize::MAX);
                assert!(one.iter().any(|h| h.registration_id == format!("r{probe}")) || probe % 1000 == 5, "{p}: probe {probe} not found");
                for threads in [2, 3, 8] {
                    let split = g.search_on(&[&t], "doc5", 0.6, usize::MAX, threads);
                    let key = |h: &Hit| (h.registration_id.clone(), h.score.to_bits());
                    assert_eq!(split.iter().map(key).collect::<Vec<_>>(), one.iter().map(key).collect::<Vec<_>>(), "{p} threads {threads}");
                }
            }
        }
    }

    #[test]
    fn a_mean_template_keeps_the_single_image_scale() {
        // A live template stored as the mean of three frames: a probe's score against it is the
        // mean of its cosines to the frames, at every precision (never inflated by 1/‖mean‖).
        let frames: Vec<Vec<f32>> = (0..3u64).map(|i| normalised(&template(40 + i, 128)).unwrap()).collect();
        let mean: Vec<f32> = (0..128).map(|d| frames.iter().map(|f| f[d]).sum::<f32>() / 3.0).collect();
        assert!(mean.iter().map(|x| x * x).sum::<f32>().sqrt() < 0.99);
        let probe = template(41, 128);
        let want = frames.iter().map(|f| cosine(&probe, f)).sum::<f32>() / 3.0;
        for (p, tol) in [(Precision::F32, 1e-5), (Precision::F16, 2e-3), (Precision::Int8, 1e-2)] {
            let mut g = Gallery::new(128, p);
            g.upsert("live", "doc", &mean).unwrap();
            let got = g.search(&[&probe], "other", -2.0, 1)[0].score;
            assert!((got - want).abs() < tol, "{p}: {got} vs {want}");
            assert!(cosine(&probe, &mean) > want + 0.02, "re-normalising would inflate it");
        }
    }

    #[test]
    fn bad_templates_are_refused() {
        let mut g = Gallery::new(4, Precision::Int8);
        assert_eq!(g.upsert("a", "d", &[1.0, 0.0]), Err(GalleryError::Dimension { got: 2, want: 4 }));
        assert_eq!(g.upsert("a", "d", &[0.0; 4]), Err(GalleryError::NotFinite));
        assert_eq!(g.upsert("a", "d", &[f32::NAN, 0.0, 0.0, 1.0]), Err(GalleryError::NotFinite));
        assert!(g.is_empty());
        assert!(g.search(&[&[1.0, 0.0, 0.0, 0.0]], "x", 0.0, 10).is_empty());
    }

    proptest! {
        #[test]
        fn int8_and_f16_scores_stay_close_to_exact(seeds in prop::collection::vec(any::<u64>(), 1..40), q in any::<u64>()) {
            let exact = {
                let mut g = Gallery::new(128, Precision::F32);
                for (i, s) in seeds.iter().enumerate() { g.upsert(&i.to_string(), "d", &template(*s, 128)).unwrap(); }
                g
            };
            for (p, tol) in [(Precision::F16, 2e-3), (Precision::Int8, 1e-2)] {
                let mut g = Gallery::new(128, p);
                for (i, s) in seeds.iter().enumerate() { g.upsert(&i.to_string(), "d", &template(*s, 128)).unwrap(); }
                let t = template(q, 128);
                let a = exact.search(&[&t], "x", -2.0, 100);
                let b = g.search(&[&t], "x", -2.0, 100);
                for h in &a {
                    let other = b.iter().find(|x| x.registration_id == h.registration_id).unwrap();
                    prop_assert!((other.score - h.score).abs() < tol, "{} {} vs {}", p, other.score, h.score);
                }
            }
        }
    }
}
