//! Open-set (1:N) identification on the development sets: the duplicate-check table that
//! `simkyc calibrate` writes, and the held-apart report of `simkyc eval --identification`.
//!
//! Each development group becomes a set of subjects (one per identity, its embedded images as
//! templates). Galleries of each size are the group's real enrolments plus synthetic fillers
//! from a Gaussian fitted to the group's templates, its spread matched to the group's real
//! impostor tail (see `simkyc_eval::identification`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde_json::json;
use simkyc_eval::identification::{
    filler_scores, impostor_scores, search_by_size, share_above, upper_quantile, Design, FillerModel, SizeOutcome, Subject, SPREAD_RANGE,
};
use simkyc_face::open_set::{OpenSet, SizeThresholds};
use simkyc_gallery::Precision;

use crate::cmd_eval::Group;

/// FPIR levels of the calibrated table.
pub const FPIR_LEVELS: [f64; 7] = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];
/// Gallery sizes of the calibrated table.
pub const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// The real impostor upper-tail rate the fillers' spread is matched at: as deep as the group's
/// impostor pairs measure (at least this many pairs above), down to 1e-4.
const MATCH_RATE: f64 = 1e-4;
const MATCH_MIN_PAIRS: f64 = 30.0;
/// Templates beyond the dimension a group needs for its fillers to be fitted.
const FIT_SPARE_TEMPLATES: usize = 32;
/// Identities a group needs for its fillers to stand for a population: with fewer (asian-wild's
/// 40 per half, measured) no spread makes the fillers follow the real tail.
const FIT_MIN_IDENTITIES: usize = 100;
/// Probes and fillers used to match the spread.
const MATCH_PROBES: usize = 200;
const MATCH_FILLERS: usize = 20_000;

/// A group's identities with their usable templates, in name order.
pub fn subjects_of(group: &Group, emb: &HashMap<PathBuf, Option<Vec<f32>>>) -> Vec<Subject> {
    let mut by_name: BTreeMap<String, Vec<(PathBuf, Vec<f32>)>> = BTreeMap::new();
    for r in group.image_refs() {
        let p = r.path(&group.dir);
        if let Some(Some(e)) = emb.get(&p) {
            let v = by_name.entry(r.name.clone()).or_default();
            if !v.iter().any(|(q, _)| *q == p) {
                v.push((p, e.clone()));
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut v)| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            Subject { name, templates: v.into_iter().map(|(_, e)| e).collect() }
        })
        .collect()
}

fn all_templates(subjects: &[Subject]) -> Vec<&[f32]> {
    subjects.iter().flat_map(|s| s.templates.iter().map(Vec::as_slice)).collect()
}

/// At most about [`MATCH_PROBES`] of `templates`, evenly spaced.
fn probe_sample<'a>(templates: &[&'a [f32]]) -> Vec<&'a [f32]> {
    templates.iter().step_by((templates.len() / MATCH_PROBES).max(1)).copied().collect()
}

/// Fits a group's filler model and matches its spread to the group's real impostor tail.
pub fn fillers_for(subjects: &[Subject], seed: u64) -> Result<(FillerModel, f32)> {
    let all = all_templates(subjects);
    let dim = all.first().map_or(0, |t| t.len());
    if all.len() < dim + FIT_SPARE_TEMPLATES {
        bail!("{} templates are too few to fit {dim}-dimensional fillers (at least {})", all.len(), dim + FIT_SPARE_TEMPLATES);
    }
    if subjects.len() < FIT_MIN_IDENTITIES {
        bail!("{} identities are too few for fillers to stand for a population (at least {FIT_MIN_IDENTITIES})", subjects.len());
    }
    let model = FillerModel::fit(&all)?;
    let real = impostor_scores(subjects);
    let rate = MATCH_RATE.max(MATCH_MIN_PAIRS / real.len().max(1) as f64);
    let Some(q) = upper_quantile(&real, rate) else { bail!("no impostor pairs to match the fillers to") };
    Ok((model.matched_to(&probe_sample(&all), q, share_above(&real, q), MATCH_FILLERS, seed), q))
}

/// One group's searches at each size, with the fillers used.
pub struct GroupSearches {
    /// Group name.
    pub name: String,
    /// Outcome at each size.
    pub outcomes: Vec<SizeOutcome>,
    /// The fillers' spread.
    pub spread: f32,
}

/// Searches of every group at every size, fillers fitted on the same subjects.
pub fn searches(groups: &[(String, Vec<Subject>)], sizes: &[usize], precision: Precision, seed: u64) -> Result<Vec<GroupSearches>> {
    let mut out = Vec::new();
    for (name, subjects) in groups {
        let (fillers, q) = match fillers_for(subjects, seed) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("  {name}: left out of the open-set table: {e}");
                continue;
            }
        };
        let outcomes = search_by_size(subjects, &Design::alternate(subjects), &fillers, sizes, precision, seed ^ 0x5eed)?;
        let at_bound = [SPREAD_RANGE.0, SPREAD_RANGE.1].iter().any(|b| (fillers.spread() - b).abs() < 0.01);
        eprintln!(
            "  {name}: {} subjects, fillers spread {:.3} (matched at score {q:.4}){}",
            subjects.len(),
            fillers.spread(),
            if at_bound { "; at the end of the range: the fillers do not follow this set's tail" } else { "" }
        );
        out.push(GroupSearches { name: name.clone(), outcomes, spread: fillers.spread() });
    }
    Ok(out)
}

/// The calibrated table: at each size and level, the strictest group's threshold, and the worst
/// group's FNIR there.
pub fn table(searched: &[GroupSearches], levels: &[f64], note: String) -> Result<OpenSet> {
    let mut rows = Vec::new();
    let sizes: Vec<usize> = searched.first().map(|g| g.outcomes.iter().map(|o| o.size).collect()).unwrap_or_default();
    for (k, &size) in sizes.iter().enumerate() {
        let mut row = SizeThresholds { size: size as u64, thresholds: Vec::new(), set_by: Vec::new(), fnir: Vec::new() };
        for &level in levels {
            let mut best: Option<(f32, &str)> = None;
            for g in searched {
                let Some(o) = g.outcomes.get(k).filter(|o| o.size == size) else { bail!("group {} lacks size {size}", g.name) };
                if let Some(t) = o.threshold_for_fpir(level) {
                    if best.is_none_or(|(b, _)| t > b) {
                        best = Some((t, &g.name));
                    }
                }
            }
            let Some((t, by)) = best else { bail!("no non-mated searches at size {size}") };
            let fnir = searched.iter().filter_map(|g| g.outcomes[k].fnir(t)).fold(0.0f64, f64::max);
            row.thresholds.push(t);
            row.set_by.push(by.to_string());
            row.fnir.push(fnir);
        }
        rows.push(row);
    }
    let t = OpenSet { note, fpir_levels: levels.to_vec(), sizes: rows };
    t.validate().map_err(anyhow::Error::msg)?;
    Ok(t)
}

/// Splits a group's subjects into a fitting half (even positions) and a held-apart half.
fn halves(subjects: &[Subject]) -> (Vec<Subject>, Vec<Subject>) {
    let (a, b): (Vec<_>, Vec<_>) = subjects.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 0);
    (a.into_iter().map(|x| x.1).collect(), b.into_iter().map(|x| x.1).collect())
}

/// The held-apart identification report: for each group, thresholds chosen on one half of the
/// identities (its own fillers fitted and matched to it), FPIR and FNIR measured on the other
/// half (fillers fitted and matched to that half: the simulated population its probes face);
/// plus the FPIR that the fixed strict 1:1 point would give. Returns the JSON summary.
pub fn held_apart_report(
    groups: &[(String, Vec<Subject>)],
    sizes: &[usize],
    target: f64,
    strict: f32,
    precision: Precision,
) -> Result<serde_json::Value> {
    let mut report = Vec::new();
    println!("open-set identification, rank 1, target FPIR {:.2}%, gallery held at {precision}", target * 100.0);
    println!("fillers and thresholds fitted on even-numbered identities, rates measured on odd-numbered ones");
    for (name, subjects) in groups {
        let (fit, held) = halves(subjects);
        let (fillers, q) = match fillers_for(&fit, 11) {
            Ok(f) => f,
            Err(e) => {
                println!("\n{name}: skipped: {e}");
                continue;
            }
        };
        let fitted = search_by_size(&fit, &Design::alternate(&fit), &fillers, sizes, precision, 21)?;
        let (held_fillers, held_q) = fillers_for(&held, 12)?;
        let measured = search_by_size(&held, &Design::alternate(&held), &held_fillers, sizes, precision, 31)?;
        // How well fillers stand in for real impostors of the held-apart identities.
        let real = impostor_scores(&held);
        let sample = probe_sample(&all_templates(&held));
        let fake = filler_scores(&sample, &fillers, MATCH_FILLERS, 41);
        let fake_held = filler_scores(&sample, &held_fillers, MATCH_FILLERS, 41);
        println!(
            "\n{name}: {} identities ({} fitting, {} held apart); fillers: spread {:.3} matched at score {:.4} (fitting half), {:.3} at {:.4} (held-apart half)",
            subjects.len(),
            fit.len(),
            held.len(),
            fillers.spread(),
            q,
            held_fillers.spread(),
            held_q
        );
        let mut tails = Vec::new();
        for rate in [1e-2, 1e-3, 1e-4] {
            if let Some(t) = upper_quantile(&real, rate) {
                if real.len() as f64 * rate >= 5.0 {
                    println!(
                        "  held-apart impostor pairs above {t:.4}: {:.4}%   held-apart probes to fillers of the fitting half: {:.4}%, of their own half: {:.4}%",
                        share_above(&real, t) * 100.0,
                        share_above(&fake, t) * 100.0,
                        share_above(&fake_held, t) * 100.0
                    );
                    tails.push(json!({"score": t, "real": share_above(&real, t), "fillers_fitting": share_above(&fake, t), "fillers_held": share_above(&fake_held, t)}));
                }
            }
        }
        println!("  {:>9}  {:>9}  {:>12}  {:>12}  {:>10}  {:>14}", "N", "threshold", "FPIR", "FNIR", "searches", "FPIR at strict");
        let mut rows = Vec::new();
        for (f, m) in fitted.iter().zip(&measured) {
            let Some(t) = f.threshold_for_fpir(target) else { continue };
            let fnir = m.fnir(t);
            println!(
                "  {:>9}  {:>9.4}  {:>11.2}%  {:>12}  {:>4}+{:<5}  {:>13.1}%",
                m.size,
                t,
                m.fpir(t) * 100.0,
                fnir.map_or("n/a".into(), |x| format!("{:.2}%", x * 100.0)),
                m.non_mated.len(),
                m.mated.len(),
                m.fpir(strict) * 100.0
            );
            rows.push(json!({
                "size": m.size, "threshold": t, "fpir": m.fpir(t), "fnir": fnir,
                "non_mated": m.non_mated.len(), "mated": m.mated.len(), "fpir_at_strict": m.fpir(strict),
            }));
        }
        report.push(json!({"group": name, "identities": subjects.len(), "spread": fillers.spread(), "spread_held": held_fillers.spread(), "tails": tails, "sizes": rows}));
    }
    Ok(json!({"target_fpir": target, "strict": strict, "precision": precision.as_str(), "groups": report}))
}
