//! `simkyc cards`: synthetic resident ID card photos for testing document reading (`generate`),
//! and the per-field accuracy of `document` on them (`eval`). No real ID card exists in the
//! development data and none may be collected; the generated photos stay out of git.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;
use simkyc_cardgen::{CardSide, Generator, Truth};
use simkyc_docs::Date;
use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_ocr::{read_card, Side, TextReader};

use crate::engine_setup;
use crate::EngineArgs;

/// `cards` subcommands.
#[derive(clap::Subcommand)]
pub enum CardsCmd {
    /// Write synthetic card photos (JPEG) with their truth (JSON) into a directory.
    Generate(GenerateArgs),
    /// Read every generated photo and report per-field accuracy against the truth.
    Eval(EvalArgs),
}

/// Arguments of `cards generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of photos (fronts and backs alternate).
    #[arg(long, default_value_t = 500)]
    pub count: u32,
    /// Random seed: the same seed gives the same photos.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Development data directory: portraits come from its casia-dev identities.
    #[arg(long, env = "SIMKYC_SHARED_DATA", default_value = "../shared/data")]
    pub data: PathBuf,
    /// CJK font to draw with.
    #[arg(long, default_value = simkyc_cardgen::DEFAULT_FONT)]
    pub font: String,
    /// The year the cards are "issued" in (bounds birth dates and validity periods; default: this
    /// year). Fix it to regenerate the same photos later.
    #[arg(long)]
    pub year: Option<i32>,
    /// Also write each photo's decoded pixels as PNG (what simkyc's JPEG decoder sees), so a
    /// reference implementation can be run on exactly the same pixels.
    #[arg(long)]
    pub png: bool,
}

/// Arguments of `cards eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Directory written by `cards generate`.
    #[arg(long)]
    pub dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs a `cards` subcommand.
pub fn run(cmd: CardsCmd) -> Result<ExitCode> {
    match cmd {
        CardsCmd::Generate(a) => generate(a),
        CardsCmd::Eval(a) => eval(a),
    }
}

fn bar(n: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(n);
    b.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    b.set_message(what.to_string());
    b
}

fn generate(a: GenerateArgs) -> Result<ExitCode> {
    let faces = simkyc_cardgen::casia_portraits(&a.data);
    if faces.is_empty() {
        eprintln!("note: no casia-dev images under {}: portraits are plain silhouettes", a.data.display());
    }
    let gen = Generator::new(&a.font, Some(a.data.clone()), faces, a.seed, a.year.unwrap_or(Date::today_utc().year))?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let b = bar(a.count as u64, "generating");
    (0..a.count).into_par_iter().try_for_each(|i| -> Result<()> {
        let s = gen.sample(i)?;
        let stem = a.out.join(format!("card_{i:04}"));
        std::fs::write(stem.with_extension("jpg"), &s.jpeg)?;
        std::fs::write(stem.with_extension("json"), serde_json::to_vec_pretty(&s.truth)?)?;
        if a.png {
            decode_rgb(&s.jpeg, &DecodeLimits::default())?.save(stem.with_extension("png"))?;
        }
        b.inc(1);
        Ok(())
    })?;
    b.finish_and_clear();
    println!("wrote {} card photos to {} (seed {})", a.count, a.out.display(), a.seed);
    Ok(ExitCode::SUCCESS)
}

/// Whether the printed portrait (its box on the card as drawn, mapped through the card's true
/// corners) lies inside the crop zone mapped through the corners the reader found, within 2 % of
/// the card's width.
fn portrait_inside(truth: &[[f64; 2]; 4], found: &[[f64; 2]; 4]) -> bool {
    use simkyc_ocr::geometry::Homography;
    let unit = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    let (Some(t), Some(f)) = (Homography::from_points(&unit, truth), Homography::from_points(&unit, found)) else { return false };
    let Some(photo_to_found) = f.inverse() else { return false };
    let [x0, y0, x1, y1] = simkyc_cardgen::render::PORTRAIT;
    let [zx0, zy0, zx1, zy1] = simkyc_ocr::card::PORTRAIT_ZONE;
    let tol = 0.02;
    [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].iter().all(|&p| {
        let q = photo_to_found.apply(t.apply(p));
        q[0] >= zx0 - tol && q[0] <= zx1 + tol && q[1] >= zy0 - tol && q[1] <= zy1 + tol
    })
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[derive(Default)]
struct Tally {
    fronts: usize,
    backs: usize,
    side_right: usize,
    number_exact: usize,
    number_valid_but_wrong: usize,
    number_flagged: usize,
    name: usize,
    sex: usize,
    ethnicity: usize,
    birth: usize,
    address_chars: usize,
    address_errors: usize,
    portrait_face: usize,
    portrait_inside: usize,
    authority: usize,
    validity: usize,
    front_ms: Vec<f64>,
    stages: [Vec<f64>; 5],
    back_ms: Vec<f64>,
    failures: Vec<String>,
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// The median of a sample (0 for an empty one).
fn med(v: &[f64]) -> f64 {
    simkyc_face::stats::median(v.to_vec()).unwrap_or(0.0)
}

fn eval(a: EvalArgs) -> Result<ExitCode> {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .with_context(|| format!("reading {}", a.dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg") && p.with_extension("json").is_file())
        .collect();
    photos.sort();
    if photos.is_empty() {
        bail!("no card_*.jpg with its .json in {} (run `simkyc cards generate` first)", a.dir.display());
    }
    let runtime = engine_setup::runtime(&a.engine)?;
    let reader = TextReader::load(&engine_setup::models_dir(&a.engine), &runtime)?;
    let engine = engine_setup::load_engine(&a.engine)?;
    let today = Date::today_utc();
    let mut t = Tally::default();
    let b = bar(photos.len() as u64, "reading");
    for p in &photos {
        let truth: Truth = serde_json::from_slice(&std::fs::read(p.with_extension("json"))?)?;
        let img = decode_rgb(&std::fs::read(p)?, &DecodeLimits::default())?;
        let started = std::time::Instant::now();
        let card = read_card(&reader, &img, today)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let st = card.timings;
        for (v, x) in t.stages.iter_mut().zip([st.locate_ms, st.detect_ms, st.orient_ms, st.recognise_ms, st.parse_ms]) {
            v.push(x);
        }
        let id = &truth.identity;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match truth.side {
            CardSide::Front => {
                t.fronts += 1;
                t.front_ms.push(ms);
                t.side_right += usize::from(card.side == Side::Front);
                let f = card.front.clone().unwrap_or_default();
                match &f.id_number {
                    Some(n) if n.value == id.id_number && n.valid => t.number_exact += 1,
                    Some(n) if n.valid => {
                        t.number_valid_but_wrong += 1;
                        t.failures.push(format!("{name}: number {} returned valid, truth {}", n.value, id.id_number));
                    }
                    Some(n) => {
                        t.number_flagged += 1;
                        t.failures.push(format!("{name}: number {} flagged {:?}", n.value, n.reason));
                    }
                    None => {
                        t.number_flagged += 1;
                        t.failures.push(format!("{name}: no number"));
                    }
                }
                let eq = |f: &Option<simkyc_ocr::fields::Field>, want: &str| f.as_ref().is_some_and(|f| f.value == want);
                t.name += usize::from(eq(&f.name, &id.name));
                if !eq(&f.name, &id.name) {
                    t.failures.push(format!("{name}: name {:?} vs {}", f.name.as_ref().map(|f| &f.value), id.name));
                }
                for (what, got, want, n) in [
                    ("sex", &f.sex, &id.sex, &mut t.sex),
                    ("ethnicity", &f.ethnicity, &id.ethnicity, &mut t.ethnicity),
                    ("birth date", &f.birth_date, &id.birth_date, &mut t.birth),
                ] {
                    if eq(got, want) {
                        *n += 1;
                    } else {
                        t.failures.push(format!("{name}: {what} {:?} vs {want}", got.as_ref().map(|f| &f.value)));
                    }
                }
                let got = f.address.as_ref().map(|f| f.value.as_str()).unwrap_or("");
                let errors = edit_distance(got, &id.address).min(id.address.chars().count());
                t.address_chars += id.address.chars().count();
                t.address_errors += errors;
                if errors > 0 {
                    t.failures.push(format!("{name}: address {got:?} vs {}", id.address));
                }
                // The crop found: the printed portrait's true box (from the card's true corners)
                // lies inside the crop's zone on the card as located.
                let inside = card.card_corners.is_some_and(|found| portrait_inside(&truth.card_corners, &found));
                t.portrait_inside += usize::from(inside);
                if !inside {
                    t.failures.push(format!("{name}: the portrait crop misses the printed portrait"));
                }
                let face = match &card.portrait {
                    Some(pimg) => !engine.detect(pimg)?.is_empty(),
                    None => false,
                };
                t.portrait_face += usize::from(face);
                if !face {
                    t.failures.push(format!("{name}: no face in the portrait crop"));
                }
            }
            CardSide::Back => {
                t.backs += 1;
                t.back_ms.push(ms);
                t.side_right += usize::from(card.side == Side::Back);
                let f = card.back.clone().unwrap_or_default();
                t.authority += usize::from(f.authority.as_ref().is_some_and(|a| a.value == id.authority));
                let (from, until) = id.validity.split_once('-').unwrap_or(("", ""));
                let dash = |s: &str| s.replace('.', "-");
                let ok = f.valid_from.as_ref().is_some_and(|v| v.value == dash(from))
                    && f.valid_until.as_ref().is_some_and(|v| v.value == dash(until));
                t.validity += usize::from(ok);
                if !ok {
                    t.failures.push(format!(
                        "{name}: validity {:?}-{:?} vs {}",
                        f.valid_from.map(|v| v.value),
                        f.valid_until.map(|v| v.value),
                        id.validity
                    ));
                }
            }
        }
        b.inc(1);
    }
    b.finish_and_clear();
    let (fr, bk) = (t.fronts, t.backs);
    let report = json!({
        "photos": photos.len(), "fronts": fr, "backs": bk,
        "side_recognised_pct": pct(t.side_right, fr + bk),
        "id_number_exact_pct": pct(t.number_exact, fr),
        "id_number_returned_valid_but_wrong": t.number_valid_but_wrong,
        "id_number_flagged_or_missing": t.number_flagged,
        "name_exact_pct": pct(t.name, fr),
        "sex_pct": pct(t.sex, fr),
        "ethnicity_pct": pct(t.ethnicity, fr),
        "birth_date_pct": pct(t.birth, fr),
        "address_char_accuracy_pct": 100.0 - pct(t.address_errors, t.address_chars),
        "portrait_crop_found_pct": pct(t.portrait_inside, fr),
        "portrait_with_face_pct": pct(t.portrait_face, fr),
        "authority_exact_pct": pct(t.authority, bk),
        "validity_exact_pct": pct(t.validity, bk),
        "front_ms_median": med(&t.front_ms),
        "back_ms_median": med(&t.back_ms),
        "stage_ms_median": {
            "locate": med(&t.stages[0]), "detect": med(&t.stages[1]), "orient": med(&t.stages[2]),
            "recognise": med(&t.stages[3]), "parse_and_crop": med(&t.stages[4]),
        },
        "runtime": runtime.name(),
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json!({"report": report, "failures": t.failures}))?);
    } else {
        for f in t.failures.iter().take(40) {
            println!("  {f}");
        }
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("广州市天河区", "广州市天河区"), 0);
        assert_eq!(edit_distance("广州市天河", "广州市天河区"), 1);
        assert_eq!(edit_distance("广洲市天河区", "广州市天河区"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
