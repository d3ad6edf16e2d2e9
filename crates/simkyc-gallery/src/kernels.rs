//! The scan kernels: every template's dot product with the query, keeping those at or above a
//! threshold. Each is written once as plain loops with independent accumulators (so LLVM
//! vectorises them) and compiled twice: for the baseline x86-64 target and, chosen at run time
//! when the CPU has them, for AVX2 + FMA.

use half::f16;

/// Lanes of independent partial sums: enough for two AVX2 registers of f32.
const LANES: usize = 16;

#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: i32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    acc.iter().sum::<i32>() + tail
}

#[inline(always)]
fn scan_f32_body(q: &[f32], data: &[f32], threshold: f32, hits: &mut Vec<(usize, f32)>) {
    for (i, t) in data.chunks_exact(q.len()).enumerate() {
        let s = dot_f32(q, t);
        if s >= threshold {
            hits.push((i, s));
        }
    }
}

#[inline(always)]
fn scan_f16_body(q: &[f32], data: &[f16], threshold: f32, hits: &mut Vec<(usize, f32)>) {
    use half::slice::HalfFloatSliceExt;
    let mut buf = vec![0.0f32; q.len()];
    for (i, t) in data.chunks_exact(q.len()).enumerate() {
        // Uses F16C where the CPU has it (detected by `half`).
        t.convert_to_f32_slice(&mut buf);
        let s = dot_f32(q, &buf);
        if s >= threshold {
            hits.push((i, s));
        }
    }
}

#[inline(always)]
fn scan_i8_body(q: &[i8], q_scale: f32, data: &[i8], scales: &[f32], threshold: f32, hits: &mut Vec<(usize, f32)>) {
    for (i, (t, sc)) in data.chunks_exact(q.len()).zip(scales).enumerate() {
        let s = dot_i8(q, t) as f32 * q_scale * sc;
        if s >= threshold {
            hits.push((i, s));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn scan_f32(q: &[f32], data: &[f32], threshold: f32, hits: &mut Vec<(usize, f32)>) {
        scan_f32_body(q, data, threshold, hits)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn scan_f16(q: &[f32], data: &[f16], threshold: f32, hits: &mut Vec<(usize, f32)>) {
        scan_f16_body(q, data, threshold, hits)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn scan_i8(q: &[i8], q_scale: f32, data: &[i8], scales: &[f32], threshold: f32, hits: &mut Vec<(usize, f32)>) {
        scan_i8_body(q, q_scale, data, scales, threshold, hits)
    }
}

/// Whether the AVX2 kernels run on this CPU.
pub fn simd() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        return "avx2+fma";
    }
    "baseline"
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("f16c")
}

/// Scores of f32 templates (`data`: rows of `q.len()`) at or above `threshold`.
pub fn scan_f32(q: &[f32], data: &[f32], threshold: f32, hits: &mut Vec<(usize, f32)>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
        return unsafe { avx2::scan_f32(q, data, threshold, hits) };
    }
    scan_f32_body(q, data, threshold, hits)
}

/// Scores of f16 templates at or above `threshold`.
pub fn scan_f16(q: &[f32], data: &[f16], threshold: f32, hits: &mut Vec<(usize, f32)>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
        return unsafe { avx2::scan_f16(q, data, threshold, hits) };
    }
    scan_f16_body(q, data, threshold, hits)
}

/// Scores of int8 templates (one scale each) against a quantised query, at or above `threshold`.
pub fn scan_i8(q: &[i8], q_scale: f32, data: &[i8], scales: &[f32], threshold: f32, hits: &mut Vec<(usize, f32)>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
        return unsafe { avx2::scan_i8(q, q_scale, data, scales, threshold, hits) };
    }
    scan_i8_body(q, q_scale, data, scales, threshold, hits)
}
