//! `simkyc eval` (accuracy on a pair file) and `simkyc calibrate` (operating points that hold on
//! LFW and on every East-Asian development set).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use simkyc_eval::calibration::{operating_point, with_margin};
use simkyc_eval::confidence::{common_threshold_bound, PersonPair, Resampling};
use simkyc_eval::metrics::{accuracy, eer, rates_at, roc, tar_at_far, Scored};
use simkyc_eval::pairs::{list_images, read_pairs, ImageRef, Pair};
use simkyc_face::embed::cosine;
use simkyc_face::thresholds::Thresholds;

use crate::engine_setup::{adapt_all, embed_all, load_adaptation, load_engine_raw, load_thresholds, score_signature};
use crate::EngineArgs;

/// Arguments of `eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// LFW-format pair file.
    #[arg(long, required_unless_present = "identification")]
    pub pairs: Option<PathBuf>,
    /// Image folder: DIR/<Name>/<Name>_NNNN.jpg.
    #[arg(long, required_unless_present = "identification")]
    pub images: Option<PathBuf>,
    /// Open-set identification (the 1:N duplicate check) instead of pairs: FPIR and FNIR by
    /// gallery size on every development group of --data, thresholds fitted on half of the
    /// identities and rates measured on the other half.
    #[arg(long, conflicts_with_all = ["pairs", "images", "plot"])]
    pub identification: bool,
    /// The shared development data folder (for --identification).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Gallery sizes for --identification (real enrolments plus synthetic fillers).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000,1000000")]
    pub sizes: Vec<usize>,
    /// Target FPIR for --identification.
    #[arg(long, default_value_t = 0.01)]
    pub fpir: f64,
    /// Gallery precision for --identification (as the server holds it).
    #[arg(long, default_value = "int8")]
    pub precision: simkyc_gallery::Precision,
    /// Print a JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Write a DET plot (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Cache embeddings in this file between runs.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Arguments of `calibrate`.
#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// The shared development data folder (holding lfw-dev, casia-dev, asian-wild, asian-celebs).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Where to write the thresholds file.
    #[arg(long, default_value = "config/thresholds.toml")]
    pub out: PathBuf,
    /// Cache embeddings in this file between runs.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Write a DET plot of every group (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Leave out the duplicate-check (1:N) table by gallery size (saves a few minutes; the
    /// server then searches at the strict point).
    #[arg(long)]
    pub no_open_set: bool,
    /// Confidence that each threshold holds its target FMR on new people of the same population:
    /// the threshold is the upper confidence bound from resampling each group's people. 0 keeps
    /// the empirical point (the target then fails on about half of new samples).
    #[arg(long, default_value_t = 0.9)]
    pub confidence: f64,
    /// Resamples of every group's people for the confidence bound.
    #[arg(long, default_value_t = 1000)]
    pub replicates: usize,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The duplicate-check table: every group searched at every calibrated size (int8, as the
/// server holds galleries), the strictest group's threshold per size and FPIR level.
fn calibrate_open_set(groups: &[Group], emb: &HashMap<PathBuf, Option<Vec<f32>>>) -> Result<simkyc_face::open_set::OpenSet> {
    use crate::open_set_eval::{searches, subjects_of, table, FPIR_LEVELS, SIZES};
    eprintln!("open-set searches at gallery sizes {SIZES:?} (fillers fitted per group) …");
    let subjects: Vec<(String, Vec<simkyc_eval::identification::Subject>)> =
        groups.iter().map(|g| (g.name.clone(), subjects_of(g, emb))).collect();
    let searched = searches(&subjects, &SIZES, simkyc_gallery::Precision::Int8, 1)?;
    let note = format!(
        "rank-1 searches of every group's images (every other multi-image identity enrolled by its first image, the rest as non-mated probes) in galleries of its real enrolments plus Gaussian fillers fitted to the group's templates, spread matched to its real impostor tail at rate 1e-4 or 30 pairs (spreads: {}); groups under 100 identities or 160 templates left out; int8 gallery",
        searched.iter().map(|g| format!("{} {:.3}", g.name, g.spread)).collect::<Vec<_>>().join(", ")
    );
    let t = table(&searched, &FPIR_LEVELS, note)?;
    let i = FPIR_LEVELS.iter().position(|&l| l == 0.01).unwrap_or(0);
    for row in &t.sizes {
        println!(
            "duplicate check at {:>9} templates, FPIR 1%: threshold {:.4} (set by {}), worst FNIR {:.2}%",
            row.size,
            row.thresholds[i],
            row.set_by[i],
            row.fnir[i] * 100.0
        );
    }
    Ok(t)
}

/// The score of one pair; −∞ when either image failed, so the pair never matches.
fn pair_score(a: Option<&Vec<f32>>, b: Option<&Vec<f32>>) -> f32 {
    match (a, b) {
        (Some(a), Some(b)) => cosine(a, b),
        _ => f32::NEG_INFINITY,
    }
}

/// Scores pairs from precomputed embeddings; a pair with a failed image gets −∞.
pub fn score_pairs(pairs: &[Pair], dir: &Path, emb: &HashMap<PathBuf, Option<Vec<f32>>>) -> Vec<Scored> {
    let e = |r: &ImageRef| emb.get(&r.path(dir)).and_then(|x| x.as_ref());
    pairs.iter().map(|p| Scored { score: pair_score(e(&p.a), e(&p.b)), genuine: p.genuine, fold: p.fold }).collect()
}

/// Runs `eval`.
pub fn run_eval(a: EvalArgs) -> Result<ExitCode> {
    if a.identification {
        return run_identification(a);
    }
    let (Some(pairs_path), Some(images_dir)) = (a.pairs.clone(), a.images.clone()) else {
        anyhow::bail!("--pairs and --images are needed (or --identification)")
    };
    let pf = read_pairs(&pairs_path)?;
    let engine = load_engine_raw(&a.engine)?;
    let ad = load_adaptation(&a.engine, engine.embedder_name())?;
    let th = load_thresholds(&a.engine, &engine, ad.as_deref())?;
    let paths: Vec<PathBuf> = pf.pairs.iter().flat_map(|p| [p.a.path(&images_dir), p.b.path(&images_dir)]).collect();
    let emb = adapt_all(embed_all(&engine, &paths, a.cache.as_deref())?, ad.as_deref())?;
    let failed_images: Vec<&PathBuf> = emb.iter().filter(|(_, e)| e.is_none()).map(|(p, _)| p).collect();
    let s = score_pairs(&pf.pairs, &images_dir, &emb);
    let failed_pairs = s.iter().filter(|x| !x.score.is_finite()).count();
    let acc = accuracy(&s);
    let at = rates_at(&s, th.default.threshold);
    let strict = rates_at(&s, th.strict.threshold);
    let e = eer(&s);
    let (t2, t3) = (tar_at_far(&s, 1e-2), tar_at_far(&s, 1e-3));
    println!(
        "pairs: {} ({} genuine, {} impostor), images: {}, failed images: {}, failed pairs: {}",
        s.len(),
        at.genuine,
        at.impostors,
        emb.len(),
        failed_images.len(),
        failed_pairs
    );
    println!(
        "accuracy: {:.2}% ({}{})",
        acc.accuracy * 100.0,
        acc.protocol,
        if acc.protocol == "best-threshold" { ", threshold chosen on this file: optimistic" } else { "" }
    );
    println!("EER: {:.2}%   TAR@FAR=1e-2: {}   TAR@FAR=1e-3: {}", e * 100.0, fmt_pct(t2), fmt_pct(t3));
    println!("at the default threshold {:.4}: FMR {:.4}%  FNMR {:.2}%", th.default.threshold, at.fmr * 100.0, at.fnmr * 100.0);
    println!("at the strict threshold {:.4}: FMR {:.4}%  FNMR {:.2}%", th.strict.threshold, strict.fmr * 100.0, strict.fnmr * 100.0);
    for p in failed_images.iter().take(10) {
        println!("  failed: {}", p.display());
    }
    if let Some(plot) = &a.plot {
        simkyc_eval::plot::det_png(
            plot,
            &format!("DET: {}", pairs_path.display()),
            &[(engine.embedder_name().to_string(), roc(&s))],
            Some((at.fmr, at.fnmr)),
        )?;
        println!("plot written to {}", plot.display());
    }
    if a.json {
        println!(
            "{}",
            json!({
                "pairs": s.len(), "genuine": at.genuine, "impostors": at.impostors,
                "accuracy": acc.accuracy, "accuracy_protocol": acc.protocol,
                "eer": e, "tar_at_far_1e-2": t2, "tar_at_far_1e-3": t3,
                "threshold": th.default.threshold, "fmr": at.fmr, "fnmr": at.fnmr,
                "strict_threshold": th.strict.threshold, "strict_fmr": strict.fmr, "strict_fnmr": strict.fnmr,
                "failed_images": failed_images.len(), "failed_pairs": failed_pairs,
                "pipeline": score_signature(&engine, ad.as_deref()),
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `eval --identification`.
fn run_identification(a: EvalArgs) -> Result<ExitCode> {
    if !(a.fpir > 0.0 && a.fpir < 1.0) {
        anyhow::bail!("--fpir must be a rate between 0 and 1");
    }
    let engine = load_engine_raw(&a.engine)?;
    let ad = load_adaptation(&a.engine, engine.embedder_name())?;
    let th = load_thresholds(&a.engine, &engine, ad.as_deref())?;
    let groups = calibration_groups(&a.data)?;
    let paths: Vec<PathBuf> = groups.iter().flat_map(|g| g.images()).collect();
    let emb = adapt_all(embed_all(&engine, &paths, a.cache.as_deref())?, ad.as_deref())?;
    let subjects: Vec<(String, Vec<simkyc_eval::identification::Subject>)> =
        groups.iter().map(|g| (g.name.clone(), crate::open_set_eval::subjects_of(g, &emb))).collect();
    let report = crate::open_set_eval::held_apart_report(&subjects, &a.sizes, a.fpir, th.strict.threshold, a.precision)?;
    if a.json {
        println!("{}", json!({"identification": report, "pipeline": score_signature(&engine, ad.as_deref())}));
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.2}%", x * 100.0)).unwrap_or_else(|| "n/a".into())
}

/// Which pairs of a calibration group are scored.
pub enum GroupPairs {
    /// The pairs of a pair file.
    Listed(Vec<Pair>),
    /// Every pair among these images (same folder = genuine), scored without listing them.
    All(Vec<ImageRef>),
}

/// One calibration group: name, image folder, pairs.
pub struct Group {
    /// Group name.
    pub name: String,
    /// Image folder.
    pub dir: PathBuf,
    /// Its pairs.
    pub pairs: GroupPairs,
}

impl Group {
    fn images(&self) -> Vec<PathBuf> {
        self.image_refs().iter().map(|i| i.path(&self.dir)).collect()
    }

    /// Every image the group scores (an image in several listed pairs comes once per pair).
    pub fn image_refs(&self) -> Vec<ImageRef> {
        match &self.pairs {
            GroupPairs::Listed(p) => p.iter().flat_map(|p| [p.a.clone(), p.b.clone()]).collect(),
            GroupPairs::All(imgs) => imgs.clone(),
        }
    }

    /// Scores the group's pairs in one pass: every pair for the error rates, and the impostor
    /// pairs again with the people on each side, for resampling people (`simkyc_eval::confidence`).
    fn score(&self, emb: &HashMap<PathBuf, Option<Vec<f32>>>) -> (Vec<Scored>, Vec<PersonPair>) {
        let mut people: HashMap<String, u32> = HashMap::new();
        let mut person = |name: &str| -> u32 {
            let n = people.len() as u32;
            *people.entry(name.to_string()).or_insert(n)
        };
        let vec_of = |i: &ImageRef| emb.get(&i.path(&self.dir)).and_then(|x| x.as_ref());
        match &self.pairs {
            GroupPairs::Listed(p) => {
                let scored = score_pairs(p, &self.dir, emb);
                let impostors = p
                    .iter()
                    .zip(&scored)
                    .filter(|(p, _)| p.a.name != p.b.name)
                    .map(|(p, s)| PersonPair { score: s.score, a: person(&p.a.name), b: person(&p.b.name) })
                    .collect();
                (scored, impostors)
            }
            GroupPairs::All(imgs) => {
                let e: Vec<Option<&Vec<f32>>> = imgs.iter().map(vec_of).collect();
                let who: Vec<u32> = imgs.iter().map(|i| person(&i.name)).collect();
                let mut scored = Vec::with_capacity(imgs.len() * imgs.len().saturating_sub(1) / 2);
                let mut impostors = Vec::new();
                for i in 0..imgs.len() {
                    for j in i + 1..imgs.len() {
                        let score = pair_score(e[i], e[j]);
                        scored.push(Scored { score, genuine: who[i] == who[j], fold: None });
                        if who[i] != who[j] {
                            impostors.push(PersonPair { score, a: who[i], b: who[j] });
                        }
                    }
                }
                (scored, impostors)
            }
        }
    }
}

/// The calibration groups: LFW DevTrain pairs, and all pairs within the LFW East-Asian group,
/// casia-dev, asian-wild and asian-celebs.
pub fn calibration_groups(data: &Path) -> Result<Vec<Group>> {
    let lfw = data.join("lfw-dev/images");
    let train = read_pairs(&data.join("lfw-dev/pairsDevTrain.txt")).context("LFW DevTrain pairs")?;
    let ea: Vec<String> = std::fs::read_to_string(data.join("lfw-dev/east-asian.txt"))
        .context("lfw-dev/east-asian.txt")?
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut g = vec![
        Group { name: "lfw-devtrain".into(), dir: lfw.clone(), pairs: GroupPairs::Listed(train.pairs) },
        Group { name: "lfw-east-asian".into(), dir: lfw.clone(), pairs: GroupPairs::All(list_images(&lfw, Some(&ea))?) },
    ];
    for set in ["casia-dev", "asian-wild", "asian-celebs"] {
        let dir = data.join(set).join("images");
        let imgs = list_images(&dir, None)?;
        g.push(Group { name: set.into(), dir, pairs: GroupPairs::All(imgs) });
    }
    Ok(g)
}

/// Runs `calibrate`.
pub fn run_calibrate(a: CalibrateArgs) -> Result<ExitCode> {
    if !(a.confidence == 0.0 || (a.confidence > 0.0 && a.confidence < 1.0)) || a.replicates == 0 {
        anyhow::bail!("--confidence must be 0 (the empirical point) or a probability between 0 and 1, and --replicates at least 1");
    }
    let engine = load_engine_raw(&a.engine)?;
    let ad = load_adaptation(&a.engine, engine.embedder_name())?;
    let groups = calibration_groups(&a.data)?;
    let paths: Vec<PathBuf> = groups.iter().flat_map(|g| g.images()).collect();
    let emb = adapt_all(embed_all(&engine, &paths, a.cache.as_deref())?, ad.as_deref())?;
    let mut scored: Vec<(String, Vec<Scored>)> = Vec::new();
    let mut people: Vec<(String, Vec<PersonPair>)> = Vec::new();
    for g in &groups {
        let (s, p) = g.score(&emb);
        scored.push((g.name.clone(), s));
        people.push((g.name.clone(), p));
    }
    let mut default = operating_point(&scored, 1e-3)?;
    let mut strict = operating_point(&scored, 1e-4)?;
    if a.confidence != 0.0 {
        for (i, op) in [&mut default, &mut strict].into_iter().enumerate() {
            let r = Resampling { confidence: a.confidence, replicates: a.replicates, seed: 20_261_203 + i as u64 };
            let b = common_threshold_bound(&people, op.target_fmr, r)?;
            eprintln!(
                "target FMR {:.0e}: empirical {:.4}; over {} resamples of the people: median {:.4}, sd {:.4}, {:.0} % bound {:.4}",
                op.target_fmr,
                op.threshold,
                a.replicates,
                b.median,
                b.sd,
                a.confidence * 100.0,
                b.threshold
            );
            *op = with_margin(&scored, op.clone(), b.threshold, a.confidence);
        }
    }
    let t = Thresholds {
        embedder: engine.embedder_name().to_string(),
        pipeline: score_signature(&engine, ad.as_deref()),
        note: format!(
            "simkyc calibrate on {}: per-group thresholds for the target FMR, strictest kept{}; failed images score -inf. {} images, {} without a usable face.",
            a.data.display(),
            if a.confidence != 0.0 {
                format!(", raised to its {:.0} % upper confidence bound over {} resamples of each group's people", a.confidence * 100.0, a.replicates)
            } else {
                String::new()
            },
            emb.len(),
            emb.values().filter(|e| e.is_none()).count()
        ),
        default,
        strict,
        open_set: None,
    };
    let t = if a.no_open_set { t } else { Thresholds { open_set: Some(calibrate_open_set(&groups, &emb)?), ..t } };
    for op in [&t.default, &t.strict] {
        match (op.empirical_threshold, op.confidence) {
            (Some(e), Some(c)) => println!(
                "target FMR {:.0e}: threshold {:.4} (set by {}; empirical {:.4}, raised to the {:.0} % confidence bound)",
                op.target_fmr,
                op.threshold,
                op.set_by,
                e,
                c * 100.0
            ),
            _ => println!("target FMR {:.0e}: threshold {:.4} (set by {})", op.target_fmr, op.threshold, op.set_by),
        }
        for g in &op.groups {
            println!(
                "  {:<16} own {:.4}  FMR {:.5}%  FNMR {:>6.2}%  ({} impostor, {} genuine pairs)",
                g.group,
                g.own_threshold,
                g.fmr * 100.0,
                g.fnmr * 100.0,
                g.impostors,
                g.genuine
            );
        }
    }
    std::fs::write(&a.out, format!("# Written by `simkyc calibrate`; see docs/accuracy.md.\n{}", t.to_toml()?))?;
    println!("thresholds written to {}", a.out.display());
    if let Some(plot) = &a.plot {
        let series: Vec<(String, Vec<(f64, f64)>)> =
            scored.iter().filter(|(_, s)| s.iter().any(|x| x.genuine)).map(|(n, s)| (n.clone(), roc(s))).collect();
        simkyc_eval::plot::det_png(plot, "DET per development set", &series, None)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `adapt`.
#[derive(clap::Args)]
pub struct AdaptArgs {
    /// The shared development data folder.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Where to write the adaptation file.
    #[arg(long, default_value = "config/adaptation.json")]
    pub out: PathBuf,
    /// Whitening strength (covariance power −beta/2); chosen on a validation split, see docs/accuracy.md.
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Weight of the raw cosine in the fused score.
    #[arg(long, default_value_t = 0.7)]
    pub raw_weight: f32,
    /// Cache embeddings in this file between runs.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The adaptation's training faces: the first 200 casia-dev subjects, every other asian-wild and
/// asian-celebs identity (sorted by name), and the LFW DevTrain images (so that the whitening also
/// knows the rest of the population). The rest, and LFW DevTest, are held out to measure the gain.
pub fn adaptation_training_images(data: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let pick = |set: &str, keep: &dyn Fn(usize) -> bool| -> Result<Vec<PathBuf>> {
        let dir = data.join(set).join("images");
        let imgs = list_images(&dir, None)?;
        let mut names: Vec<String> = imgs.iter().map(|i| i.name.clone()).collect();
        names.dedup();
        Ok(imgs.iter().filter(|i| names.iter().position(|n| *n == i.name).is_some_and(keep)).map(|i| i.path(&dir)).collect())
    };
    out.extend(pick("casia-dev", &|i| i < 200)?);
    out.extend(pick("asian-wild", &|i| i % 2 == 0)?);
    out.extend(pick("asian-celebs", &|i| i % 2 == 0)?);
    let lfw = data.join("lfw-dev/images");
    let train = read_pairs(&data.join("lfw-dev/pairsDevTrain.txt"))?;
    let mut lfw_imgs: Vec<PathBuf> = train.pairs.iter().flat_map(|p| [p.a.path(&lfw), p.b.path(&lfw)]).collect();
    lfw_imgs.sort();
    lfw_imgs.dedup();
    out.extend(lfw_imgs);
    Ok(out)
}

/// Runs `adapt`.
pub fn run_adapt(a: AdaptArgs) -> Result<ExitCode> {
    let engine = load_engine_raw(&a.engine)?;
    let paths = adaptation_training_images(&a.data)?;
    let emb = embed_all(&engine, &paths, a.cache.as_deref())?;
    let train: Vec<Vec<f32>> = emb.into_values().flatten().collect();
    let note = format!(
        "simkyc adapt on {} training faces (casia-dev c200-c399, even-numbered asian-wild and asian-celebs identities, LFW DevTrain images), {}",
        train.len(),
        crate::engine_setup::pipeline_signature(&engine)
    );
    let ad = simkyc_face::adapt::Adaptation::fit(&train, a.beta, a.raw_weight, engine.embedder_name(), &note)?;
    std::fs::write(&a.out, serde_json::to_string(&ad)?).with_context(|| format!("writing {}", a.out.display()))?;
    println!("adaptation {} fitted on {} faces, written to {}", ad.id(), train.len(), a.out.display());
    Ok(ExitCode::SUCCESS)
}
