//! ROC / DET plot as a PNG (log-scale FMR on x, FNMR on y), with the decision threshold marked.

use std::path::Path;

use plotters::prelude::*;

use crate::EvalError;

fn font() -> Option<&'static [u8]> {
    const CANDIDATES: [&str; 3] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    ];
    let bytes = CANDIDATES.iter().find_map(|p| std::fs::read(p).ok())?;
    Some(Box::leak(bytes.into_boxed_slice()))
}

/// Draws DET curves (one per series of (FMR, TAR) points) and a marker at the operating point.
pub fn det_png(path: &Path, title: &str, series: &[(String, Vec<(f64, f64)>)], mark: Option<(f64, f64)>) -> Result<(), EvalError> {
    let err = |e: &dyn std::fmt::Display| EvalError::Plot(e.to_string());
    let has_font = font().map(|f| plotters::style::register_font("sans-serif", FontStyle::Normal, f).is_ok()).unwrap_or(false);
    let root = BitMapBackend::new(path, (900, 650)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut b = ChartBuilder::on(&root);
    b.margin(20);
    if has_font {
        b.caption(title, ("sans-serif", 22)).x_label_area_size(45).y_label_area_size(60);
    }
    let mut chart = b.build_cartesian_2d((1e-5f64..1.0f64).log_scale(), (1e-3f64..1.0f64).log_scale()).map_err(|e| err(&e))?;
    if has_font {
        chart
            .configure_mesh()
            .x_desc("false-match rate (FMR)")
            .y_desc("false-non-match rate (FNMR)")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|e| err(&e))?;
    } else {
        chart.configure_mesh().disable_x_mesh().disable_y_mesh().draw().map_err(|e| err(&e))?;
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line: Vec<(f64, f64)> = pts.iter().map(|&(fmr, tar)| (fmr.max(1e-5), (1.0 - tar).max(1e-3))).collect();
        let s = chart.draw_series(LineSeries::new(line, color.stroke_width(2))).map_err(|e| err(&e))?;
        if has_font {
            s.label(name.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
    }
    if let Some((fmr, fnmr)) = mark {
        chart.draw_series(std::iter::once(Circle::new((fmr.max(1e-5), fnmr.max(1e-3)), 6, RED.filled()))).map_err(|e| err(&e))?;
    }
    if has_font {
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
