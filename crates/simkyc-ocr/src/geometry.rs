//! Plane geometry for text boxes and cards: convex hulls, minimum-area rectangles, quadrilateral
//! ordering, homographies and perspective warps.

use image::RgbImage;
use nalgebra::{SMatrix, SVector};
use simkyc_face::image_ops::sample_bilinear;

/// A point (x, y) in pixels.
pub type Pt = [f64; 2];

/// Convex hull (Andrew's monotone chain), counter-clockwise in image coordinates, no repeats.
pub fn convex_hull(points: &[Pt]) -> Vec<Pt> {
    let mut p: Vec<Pt> = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: Pt, a: Pt, b: Pt| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<Pt> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Pt>> = if pass == 0 { Box::new(p.iter()) } else { Box::new(p.iter().rev()) };
        for &q in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0 {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// A rotated rectangle: its four corners (in hull order) and its side lengths.
#[derive(Debug, Clone, Copy)]
pub struct RotatedRect {
    /// Corners, consecutive around the rectangle.
    pub corners: [Pt; 4],
    /// Length of the side from corner 0 to corner 1.
    pub width: f64,
    /// Length of the side from corner 1 to corner 2.
    pub height: f64,
}

impl RotatedRect {
    /// The shorter side.
    pub fn short_side(&self) -> f64 {
        self.width.min(self.height)
    }

    /// The rectangle grown by `d` on every side (what PP-OCR's "unclip" of a rectangle amounts
    /// to: a round-joined offset whose minimum-area rectangle is the rectangle grown by `d`).
    pub fn grown(&self, d: f64) -> RotatedRect {
        let c = centre(&self.corners);
        let ux = unit(self.corners[0], self.corners[1]);
        let uy = unit(self.corners[1], self.corners[2]);
        let (hw, hh) = (self.width / 2.0 + d, self.height / 2.0 + d);
        let at = |sx: f64, sy: f64| [c[0] + sx * hw * ux[0] + sy * hh * uy[0], c[1] + sx * hw * ux[1] + sy * hh * uy[1]];
        RotatedRect { corners: [at(-1.0, -1.0), at(1.0, -1.0), at(1.0, 1.0), at(-1.0, 1.0)], width: 2.0 * hw, height: 2.0 * hh }
    }

    /// Area of the rectangle.
    pub fn area(&self) -> f64 {
        self.width * self.height
    }
}

fn unit(a: Pt, b: Pt) -> Pt {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let n = (dx * dx + dy * dy).sqrt().max(1e-12);
    [dx / n, dy / n]
}

/// Mean of the points.
pub fn centre(p: &[Pt]) -> Pt {
    let n = p.len().max(1) as f64;
    [p.iter().map(|q| q[0]).sum::<f64>() / n, p.iter().map(|q| q[1]).sum::<f64>() / n]
}

/// The minimum-area rectangle around a convex hull (rotating calipers over its edges).
pub fn min_area_rect(hull: &[Pt]) -> Option<RotatedRect> {
    if hull.is_empty() {
        return None;
    }
    if hull.len() < 3 {
        // A point or a segment: a degenerate rectangle along it.
        let (a, b) = (hull[0], *hull.last().unwrap_or(&hull[0]));
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        return Some(RotatedRect { corners: [a, b, b, a], width: len, height: 0.0 });
    }
    let mut best: Option<RotatedRect> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let u = unit(a, b);
        if u == [0.0, 0.0] {
            continue;
        }
        let v = [-u[1], u[0]];
        let (mut lo_u, mut hi_u, mut lo_v, mut hi_v) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in hull {
            let pu = p[0] * u[0] + p[1] * u[1];
            let pv = p[0] * v[0] + p[1] * v[1];
            lo_u = lo_u.min(pu);
            hi_u = hi_u.max(pu);
            lo_v = lo_v.min(pv);
            hi_v = hi_v.max(pv);
        }
        let (w, h) = (hi_u - lo_u, hi_v - lo_v);
        if best.as_ref().is_none_or(|r| w * h < r.area()) {
            let at = |su: f64, sv: f64| [su * u[0] + sv * v[0], su * u[1] + sv * v[1]];
            best = Some(RotatedRect { corners: [at(lo_u, lo_v), at(hi_u, lo_v), at(hi_u, hi_v), at(lo_u, hi_v)], width: w, height: h });
        }
    }
    best
}

/// Orders four corners as top-left, top-right, bottom-right, bottom-left (PP-OCR's rule: the two
/// leftmost points by x, the upper of them first; then the two rightmost).
pub fn order_quad(points: [Pt; 4]) -> [Pt; 4] {
    let mut p = points;
    p.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (tl, bl) = if p[1][1] > p[0][1] { (p[0], p[1]) } else { (p[1], p[0]) };
    let (tr, br) = if p[3][1] > p[2][1] { (p[2], p[3]) } else { (p[3], p[2]) };
    [tl, tr, br, bl]
}

/// Distance between two points.
pub fn dist(a: Pt, b: Pt) -> f64 {
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt()
}

/// A 3×3 projective transform mapping source points to destination points.
#[derive(Debug, Clone, Copy)]
pub struct Homography(pub [[f64; 3]; 3]);

impl Homography {
    /// The transform taking each `src[i]` to `dst[i]`; None when the points are degenerate.
    pub fn from_points(src: &[Pt; 4], dst: &[Pt; 4]) -> Option<Homography> {
        let mut a = SMatrix::<f64, 8, 8>::zeros();
        let mut b = SVector::<f64, 8>::zeros();
        for i in 0..4 {
            let ([x, y], [u, v]) = (src[i], dst[i]);
            let r = 2 * i;
            a.set_row(r, &nalgebra::RowSVector::<f64, 8>::from_row_slice(&[x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y]));
            a.set_row(r + 1, &nalgebra::RowSVector::<f64, 8>::from_row_slice(&[0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y]));
            b[r] = u;
            b[r + 1] = v;
        }
        let h = a.lu().solve(&b)?;
        if h.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Homography([[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]]))
    }

    /// Maps a point.
    pub fn apply(&self, p: Pt) -> Pt {
        let m = &self.0;
        let w = m[2][0] * p[0] + m[2][1] * p[1] + m[2][2];
        let w = if w.abs() < 1e-12 { 1e-12 } else { w };
        [(m[0][0] * p[0] + m[0][1] * p[1] + m[0][2]) / w, (m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]) / w]
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Option<Homography> {
        let m = nalgebra::Matrix3::from_fn(|r, c| self.0[r][c]);
        let inv = m.try_inverse()?;
        let s = inv[(2, 2)];
        let s = if s.abs() < 1e-12 { 1.0 } else { s };
        Some(Homography(std::array::from_fn(|r| std::array::from_fn(|c| inv[(r, c)] / s))))
    }

    /// Composition: first `self`, then `next`.
    pub fn then(&self, next: &Homography) -> Homography {
        let a = nalgebra::Matrix3::from_fn(|r, c| self.0[r][c]);
        let b = nalgebra::Matrix3::from_fn(|r, c| next.0[r][c]);
        let m = b * a;
        let s = if m[(2, 2)].abs() < 1e-12 { 1.0 } else { m[(2, 2)] };
        Homography(std::array::from_fn(|r| std::array::from_fn(|c| m[(r, c)] / s)))
    }
}

/// The boundary pixels (as points) of each 8-connected region of a `w`×`h` mask, in raster
/// order of the regions' first pixels. Their convex hull and bounding box are the region's.
pub fn region_boundaries(mask: &[bool], w: usize, h: usize) -> Vec<Vec<Pt>> {
    let mut label = vec![u32::MAX; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || label[start] != u32::MAX {
            continue;
        }
        let id = out.len() as u32;
        let mut pts = Vec::new();
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            let mut edge = false;
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    if dx == 0 && dy == 0 {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        edge = true;
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !mask[j] {
                        edge = true;
                    } else if label[j] == u32::MAX {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
            if edge {
                pts.push([x as f64, y as f64]);
            }
        }
        out.push(pts);
    }
    out
}

/// Warps `img` into a `w`×`h` image where output pixel (x, y) shows the source point
/// `to_source(x, y)`; pixels outside the source repeat its border.
pub fn warp(img: &RgbImage, to_source: &Homography, w: u32, h: u32) -> RgbImage {
    let mut out = RgbImage::new(w.max(1), h.max(1));
    for (x, y, p) in out.enumerate_pixels_mut() {
        let s = to_source.apply([x as f64, y as f64]);
        let v = sample_bilinear(img, s[0], s[1]);
        p.0 = v.map(|c| c.round().clamp(0.0, 255.0) as u8);
    }
    out
}

/// Crops the quadrilateral `quad` (tl, tr, br, bl) out of `img` into an upright rectangle sized
/// by its longest opposite sides (PP-OCR's `get_rotate_crop_image`).
pub fn crop_quad(img: &RgbImage, quad: &[Pt; 4]) -> RgbImage {
    let w = dist(quad[0], quad[1]).max(dist(quad[2], quad[3])).floor().max(1.0);
    let h = dist(quad[0], quad[3]).max(dist(quad[1], quad[2])).floor().max(1.0);
    let dst = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    match Homography::from_points(&dst, quad) {
        Some(to_source) => warp(img, &to_source, w as u32, h as u32),
        None => RgbImage::new(1, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_area_rect_of_a_rotated_rectangle_is_itself() {
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let pts: Vec<Pt> = [[0.0, 0.0], [40.0, 0.0], [40.0, 10.0], [0.0, 10.0], [20.0, 5.0]]
            .iter()
            .map(|p| [100.0 + p[0] * c - p[1] * s, 50.0 + p[0] * s + p[1] * c])
            .collect();
        let r = min_area_rect(&convex_hull(&pts)).unwrap();
        assert!((r.area() - 400.0).abs() < 1e-6, "{r:?}");
        assert!((r.short_side() - 10.0).abs() < 1e-6);
        let g = r.grown(2.0);
        assert!((g.area() - 44.0 * 14.0).abs() < 1e-6);
    }

    #[test]
    fn homography_maps_the_four_points_and_inverts() {
        let src = [[10.0, 20.0], [200.0, 35.0], [190.0, 150.0], [5.0, 140.0]];
        let dst = [[0.0, 0.0], [100.0, 0.0], [100.0, 60.0], [0.0, 60.0]];
        let h = Homography::from_points(&src, &dst).unwrap();
        for i in 0..4 {
            let p = h.apply(src[i]);
            assert!(dist(p, dst[i]) < 1e-6, "{p:?} vs {:?}", dst[i]);
        }
        let back = h.inverse().unwrap();
        assert!(dist(back.apply(dst[2]), src[2]) < 1e-6);
        assert!(Homography::from_points(&[[0.0, 0.0]; 4], &dst).is_none());
    }

    #[test]
    fn quads_are_ordered_clockwise_from_top_left() {
        let q = order_quad([[10.0, 10.0], [0.0, 12.0], [1.0, 0.0], [11.0, -1.0]]);
        assert_eq!(q, [[1.0, 0.0], [11.0, -1.0], [10.0, 10.0], [0.0, 12.0]]);
    }
}
