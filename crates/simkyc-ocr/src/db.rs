//! Differentiable-binarisation (DB) post-processing, as PP-OCR does it: threshold the text
//! probability map, dilate by a 2×2 square, take each connected text region's minimum-area
//! rectangle, keep it when the map's mean inside is high enough, grow it back ("unclip") and
//! scale it to the image.

use crate::geometry::{convex_hull, min_area_rect, order_quad, region_boundaries, Pt, RotatedRect};

/// The DB parameters (RapidOCR's defaults: 0.3, 0.5, 1.6).
#[derive(Debug, Clone, Copy)]
pub struct DbParams {
    /// Map value above which a pixel is text.
    pub threshold: f32,
    /// Mean map value a region's box needs.
    pub box_threshold: f32,
    /// Growth of a kept box: area × ratio / perimeter on every side.
    pub unclip_ratio: f32,
    /// Most regions examined.
    pub max_candidates: usize,
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams { threshold: 0.3, box_threshold: 0.5, unclip_ratio: 1.6, max_candidates: 1000 }
    }
}

/// A detected text box in image coordinates: corners tl, tr, br, bl and the map's mean inside.
#[derive(Debug, Clone, Copy)]
pub struct TextBox {
    /// Corners (top-left, top-right, bottom-right, bottom-left), whole pixels.
    pub quad: [Pt; 4],
    /// Mean text probability inside the unexpanded box.
    pub score: f32,
}

/// Boxes from a `w`×`h` probability map, scaled to a `dest_w`×`dest_h` image.
pub fn boxes_from_map(map: &[f32], w: usize, h: usize, dest_w: usize, dest_h: usize, p: &DbParams) -> Vec<TextBox> {
    if map.len() != w * h || w == 0 || h == 0 {
        return Vec::new();
    }
    // Threshold, then dilate with OpenCV's 2×2 kernel (anchor at its centre: each pixel takes the
    // maximum of itself, its left, upper and upper-left neighbours).
    let bin: Vec<bool> = map.iter().map(|&v| v > p.threshold).collect();
    let mut mask = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let at = |xx: usize, yy: usize| bin[yy * w + xx];
            mask[y * w + x] = at(x, y) || (x > 0 && at(x - 1, y)) || (y > 0 && at(x, y - 1)) || (x > 0 && y > 0 && at(x - 1, y - 1));
        }
    }
    let regions = region_boundaries(&mask, w, h);
    let mut out = Vec::new();
    for boundary in regions.into_iter().take(p.max_candidates) {
        let hull = convex_hull(&boundary);
        let Some(rect) = min_area_rect(&hull) else { continue };
        if rect.short_side() < 3.0 {
            continue;
        }
        let quad = order_quad(rect.corners);
        let score = mean_inside(map, w, h, &quad);
        if score < p.box_threshold {
            continue;
        }
        let distance = rect.area() * p.unclip_ratio as f64 / (2.0 * (rect.width + rect.height));
        let grown: RotatedRect = rect.grown(distance);
        if grown.short_side() < 5.0 {
            continue;
        }
        let q = order_quad(grown.corners);
        let scale = |pt: Pt| {
            [
                (pt[0] / w as f64 * dest_w as f64).round().clamp(0.0, dest_w as f64),
                (pt[1] / h as f64 * dest_h as f64).round().clamp(0.0, dest_h as f64),
            ]
        };
        out.push(TextBox { quad: q.map(scale), score });
    }
    // PP-OCR's filter: order clockwise, clip into the image, drop slivers of ≤ 3 pixels.
    out.into_iter()
        .filter_map(|b| {
            let q =
                order_quad(b.quad).map(|pt| [pt[0].clamp(0.0, (dest_w - 1) as f64).trunc(), pt[1].clamp(0.0, (dest_h - 1) as f64).trunc()]);
            let (bw, bh) = (crate::geometry::dist(q[0], q[1]), crate::geometry::dist(q[0], q[3]));
            (bw.trunc() > 3.0 && bh.trunc() > 3.0).then_some(TextBox { quad: q, score: b.score })
        })
        .collect()
}

/// Mean of the map over the pixels inside a quadrilateral (PP-OCR's "fast" box score).
fn mean_inside(map: &[f32], w: usize, h: usize, quad: &[Pt; 4]) -> f32 {
    let clampi = |v: f64, hi: usize| (v.max(0.0) as usize).min(hi - 1);
    let xmin = clampi(quad.iter().map(|p| p[0]).fold(f64::MAX, f64::min).floor(), w);
    let xmax = clampi(quad.iter().map(|p| p[0]).fold(f64::MIN, f64::max).ceil(), w);
    let ymin = clampi(quad.iter().map(|p| p[1]).fold(f64::MAX, f64::min).floor(), h);
    let ymax = clampi(quad.iter().map(|p| p[1]).fold(f64::MIN, f64::max).ceil(), h);
    // OpenCV fills the polygon with its corners truncated to whole pixels.
    let q = quad.map(|p| [p[0].trunc(), p[1].trunc()]);
    let (mut sum, mut n) = (0f64, 0usize);
    for y in ymin..=ymax {
        for x in xmin..=xmax {
            if inside_convex(&q, [x as f64, y as f64]) {
                sum += map[y * w + x] as f64;
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// Whether a point lies inside or on a convex quadrilateral (either winding).
fn inside_convex(q: &[Pt; 4], p: Pt) -> bool {
    let mut sign = 0i8;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let c = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        let s = if c > 1e-9 {
            1
        } else if c < -1e-9 {
            -1
        } else {
            0
        };
        if s != 0 {
            if sign != 0 && s != sign {
                return false;
            }
            sign = s;
        }
    }
    true
}

/// Sorts boxes top to bottom, then left to right within a line (PP-OCR's `sorted_boxes`: boxes
/// whose top-left corners are within 10 pixels vertically count as one line).
pub fn reading_order(mut boxes: Vec<TextBox>) -> Vec<TextBox> {
    boxes.sort_by(|a, b| a.quad[0][1].total_cmp(&b.quad[0][1]).then(a.quad[0][0].total_cmp(&b.quad[0][0])));
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            if (boxes[j + 1].quad[0][1] - boxes[j].quad[0][1]).abs() < 10.0 && boxes[j + 1].quad[0][0] < boxes[j].quad[0][0] {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bright_bar_becomes_one_grown_box() {
        let (w, h) = (64, 32);
        let mut map = vec![0f32; w * h];
        for y in 12..18 {
            for x in 10..50 {
                map[y * w + x] = 0.9;
            }
        }
        let boxes = boxes_from_map(&map, w, h, w * 2, h * 2, &DbParams::default());
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        // The dilated region is 41×7 but only 40×6 of it is text: 0.9 · 240 / 287 ≈ 0.75.
        assert!((b.score - 0.9 * 240.0 / 287.0).abs() < 0.02, "{}", b.score);
        // The dilated bar's pixel centres span 40×6; it grows by 240·1.6/92 ≈ 4.17 on each side,
        // then doubles to the destination: x 5.83..54.17 → 12..108, y 7.83..22.17 → 16..44.
        assert_eq!(b.quad, [[12.0, 16.0], [108.0, 16.0], [108.0, 44.0], [12.0, 44.0]]);
    }

    #[test]
    fn faint_regions_are_dropped_and_empty_maps_give_nothing() {
        let (w, h) = (32, 32);
        let mut map = vec![0f32; w * h];
        for y in 5..15 {
            for x in 5..25 {
                map[y * w + x] = 0.35;
            }
        }
        assert!(boxes_from_map(&map, w, h, w, h, &DbParams::default()).is_empty());
        assert!(boxes_from_map(&[], 0, 0, 10, 10, &DbParams::default()).is_empty());
    }
}
