//! Finding the card in a photo: on a downscaled grey image, the strongest edges are grouped into
//! connected regions, and the largest card-shaped quadrilateral inscribed in a region's convex
//! hull is taken as the card outline. A photo with no such outline (a scan, a tight crop) is
//! taken to be the card itself.

use image::RgbImage;

use crate::geometry::{convex_hull, dist, region_boundaries, Pt};

/// Long side of the image the search runs on.
const WORK_SIDE: u32 = 480;
/// Smallest card area accepted, as a share of the photo.
const MIN_AREA_SHARE: f64 = 0.08;
/// Accepted width-to-height ratios of the found outline (ID-1 is 1.585; perspective skews it).
const ASPECT: (f64, f64) = (1.2, 2.1);
/// Share of an outline's perimeter that must lie on edges.
const MIN_SUPPORT: f64 = 0.6;

/// A region's card-shaped outline and its area, if it has one: big enough, the right shape,
/// and clear of the photo's border (a card cut by the frame cannot be read anyway, and a quad
/// on the border is the photo, not a card).
fn candidate(region: &[Pt], sw: usize, sh: usize) -> Option<([Pt; 4], f64)> {
    let (xs, ys) = (region.iter().map(|p| p[0]), region.iter().map(|p| p[1]));
    let (x0, x1) = (xs.clone().fold(f64::MAX, f64::min), xs.fold(f64::MIN, f64::max));
    let (y0, y1) = (ys.clone().fold(f64::MAX, f64::min), ys.fold(f64::MIN, f64::max));
    if (x1 - x0) < 0.2 * sw as f64 || (y1 - y0) < 0.15 * sh as f64 {
        return None;
    }
    let hull = convex_hull(region);
    let (quad, area) = max_area_quad(&hull)?;
    if area < MIN_AREA_SHARE * (sw * sh) as f64 {
        return None;
    }
    let on_border = quad.iter().filter(|p| p[0] < 2.0 || p[1] < 2.0 || p[0] > sw as f64 - 3.0 || p[1] > sh as f64 - 3.0).count();
    if on_border >= 2 {
        return None;
    }
    let quad = long_side_on_top(quad);
    let width = (dist(quad[0], quad[1]) + dist(quad[3], quad[2])) / 2.0;
    let height = (dist(quad[0], quad[3]) + dist(quad[1], quad[2])) / 2.0;
    (ASPECT.0..=ASPECT.1).contains(&(width / height.max(1e-6))).then_some((quad, area))
}

/// The share of points along the quad's sides that have an edge pixel within one pixel.
fn edge_support(q: &[Pt; 4], edges: &[bool], w: usize, h: usize) -> f64 {
    let (mut on, mut total) = (0usize, 0usize);
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let steps = dist(a, b).ceil().max(1.0) as usize;
        for k in 0..steps {
            let t = k as f64 / steps as f64;
            let (x, y) = ((a[0] + (b[0] - a[0]) * t).round() as isize, (a[1] + (b[1] - a[1]) * t).round() as isize);
            total += 1;
            let hit = (-1..=1).any(|dy| {
                (-1..=1).any(|dx| {
                    let (xx, yy) = (x + dx, y + dy);
                    xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h && edges[yy as usize * w + xx as usize]
                })
            });
            on += usize::from(hit);
        }
    }
    on as f64 / total.max(1) as f64
}

/// The card's corners in `img` (top-left, top-right, bottom-right, bottom-left, with the long
/// side on top; it may still be upside down), or None when no card outline is found.
pub fn locate_card(img: &RgbImage) -> Option<[Pt; 4]> {
    let (w, h) = (img.width(), img.height());
    if w < 32 || h < 32 {
        return None;
    }
    let s = WORK_SIDE as f64 / w.max(h) as f64;
    let (sw, sh) = (((w as f64 * s).round() as u32).max(8), ((h as f64 * s).round() as u32).max(8));
    let small = image::imageops::resize(img, sw, sh, image::imageops::FilterType::Triangle);
    let (sw, sh) = (sw as usize, sh as usize);
    let gray: Vec<f32> = small.pixels().map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).collect();
    let blurred = box3(&gray, sw, sh);
    let mag = sobel(&blurred, sw, sh);
    let n = mag.len() as f32;
    let mean = mag.iter().sum::<f32>() / n;
    let sd = (mag.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
    let high = (mean + sd).max(8.0);
    // Dark text on the card sets the strong edges; a card's outline against a similar desk or
    // in low light can be far weaker. Try falling thresholds and keep the largest card-shaped
    // outline whose sides the edges actually follow.
    let mut best: Option<([Pt; 4], f64)> = None;
    for t in [high, high / 2.0, high / 4.0] {
        let t = t.max(3.0);
        let edges: Vec<bool> = mag.iter().map(|&v| v > t).collect();
        for region in region_boundaries(&edges, sw, sh) {
            let Some((quad, area)) = candidate(&region, sw, sh) else { continue };
            let support = edge_support(&quad, &edges, sw, sh);
            if support < MIN_SUPPORT {
                continue;
            }
            let score = area * support * support;
            if best.as_ref().is_none_or(|b| score > b.1) {
                best = Some((quad, score));
            }
        }
    }
    let (quad, _) = best?;
    // Back to full resolution: pixel centres scale about the half-pixel offset.
    Some(quad.map(|p| [(p[0] + 0.5) / s - 0.5, (p[1] + 0.5) / s - 0.5]))
}

fn box3(v: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for y in 0..h {
        for x in 0..w {
            let (mut sum, mut n) = (0f32, 0f32);
            for yy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    sum += v[yy * w + xx];
                    n += 1.0;
                }
            }
            out[y * w + x] = sum / n;
        }
    }
    out
}

fn sobel(v: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let p = |dx: isize, dy: isize| v[(y as isize + dy) as usize * w + (x as isize + dx) as usize];
            let gx = p(1, -1) + 2.0 * p(1, 0) + p(1, 1) - p(-1, -1) - 2.0 * p(-1, 0) - p(-1, 1);
            let gy = p(-1, 1) + 2.0 * p(0, 1) + p(1, 1) - p(-1, -1) - 2.0 * p(0, -1) - p(1, -1);
            out[y * w + x] = (gx * gx + gy * gy).sqrt() / 4.0;
        }
    }
    out
}

fn tri_area(a: Pt, b: Pt, c: Pt) -> f64 {
    ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).abs() / 2.0
}

/// The largest-area quadrilateral with its corners on the hull's vertices (the hull thinned to
/// at most 72 vertices), and that area.
fn max_area_quad(hull: &[Pt]) -> Option<([Pt; 4], f64)> {
    let step = hull.len().div_ceil(72).max(1);
    let p: Vec<Pt> = hull.iter().step_by(step).copied().collect();
    let n = p.len();
    if n < 4 {
        return None;
    }
    let mut best: Option<([Pt; 4], f64)> = None;
    for i in 0..n {
        for k in i + 2..n {
            let (mut bj, mut aj) = (None, 0.0);
            for (j, &pj) in p.iter().enumerate().take(k).skip(i + 1) {
                let a = tri_area(p[i], pj, p[k]);
                if a > aj {
                    (bj, aj) = (Some(j), a);
                }
            }
            let (mut bl, mut al) = (None, 0.0);
            for l in (k + 1..n).chain(0..i) {
                let a = tri_area(p[k], p[l], p[i]);
                if a > al {
                    (bl, al) = (Some(l), a);
                }
            }
            if let (Some(j), Some(l)) = (bj, bl) {
                let area = aj + al;
                if best.as_ref().is_none_or(|b| area > b.1) {
                    best = Some(([p[i], p[j], p[k], p[l]], area));
                }
            }
        }
    }
    best
}

/// Orders the corners clockwise from the top-left so that the first edge is a long side.
fn long_side_on_top(q: [Pt; 4]) -> [Pt; 4] {
    // Clockwise in image coordinates (y down) means a positive signed area.
    let signed: f64 = (0..4).map(|i| q[i][0] * q[(i + 1) % 4][1] - q[(i + 1) % 4][0] * q[i][1]).sum();
    let q = if signed < 0.0 { [q[0], q[3], q[2], q[1]] } else { q };
    // Start at the corner nearest the top-left of its bounding box...
    let start = (0..4).min_by(|&a, &b| (q[a][0] + q[a][1]).total_cmp(&(q[b][0] + q[b][1]))).unwrap_or(0);
    let mut r: [Pt; 4] = std::array::from_fn(|i| q[(start + i) % 4]);
    // ...then, if its first edge is the short one, the card stands on its side: start one later.
    if dist(r[0], r[1]) < dist(r[1], r[2]) {
        r = [r[3], r[0], r[1], r[2]];
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bright_card_on_a_dark_desk_is_found() {
        let img = RgbImage::from_fn(800, 600, |x, y| {
            let inside = (150..650).contains(&x) && (150..465).contains(&y);
            if inside {
                image::Rgb([230, 235, 236])
            } else {
                image::Rgb([60, 50, 40])
            }
        });
        let q = locate_card(&img).expect("card");
        let want = [[150.0, 150.0], [649.0, 150.0], [649.0, 464.0], [150.0, 464.0]];
        for (got, want) in q.iter().zip(want) {
            assert!(dist(*got, want) < 6.0, "{q:?}");
        }
    }

    #[test]
    fn an_empty_photo_has_no_card() {
        let img = RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
        assert!(locate_card(&img).is_none());
    }

    #[test]
    fn a_card_on_its_side_gets_its_long_edge_on_top() {
        let q = long_side_on_top([[0.0, 0.0], [100.0, 0.0], [100.0, 160.0], [0.0, 160.0]]);
        assert!(dist(q[0], q[1]) > 150.0, "{q:?}");
    }
}
