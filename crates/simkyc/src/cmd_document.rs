//! `simkyc document`: validate a resident ID number or an MRZ given as text, or read a document
//! from photos — a resident ID card's front (and back), or a passport's MRZ — and print the
//! fields with their confidences, the validation verdicts and the cross-checks.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use simkyc_docs::{cn_id, mrz, Date};
use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_ocr::{read_card, Side, TextReader};

use crate::engine_setup;
use crate::EngineArgs;

/// Arguments of `document`.
#[derive(clap::Args)]
pub struct DocumentArgs {
    /// An 18-character Chinese resident ID number.
    #[arg(long, conflicts_with_all = ["mrz", "image"])]
    pub id: Option<String>,
    /// A file holding a passport or travel-permit MRZ (2 lines of 44 or 3 lines of 30); `-` for stdin.
    #[arg(long, conflicts_with = "image")]
    pub mrz: Option<PathBuf>,
    /// A photo of the document: a resident ID card's front, or a passport's data page.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// A photo of the ID card's back (issuing authority, validity period).
    #[arg(long, requires = "image")]
    pub back: Option<PathBuf>,
    /// What the photo shows: `auto` (an ID card, else an MRZ), `id-card` or `passport`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "id-card", "passport"])]
    pub kind: String,
    /// Write the printed portrait cropped from the card's front to this file (PNG or JPEG).
    #[arg(long, requires = "image")]
    pub portrait_out: Option<PathBuf>,
    /// Print JSON (the default prints a readable summary).
    #[arg(long)]
    pub json: bool,
    /// Include every text line read, with its box and confidence (JSON only).
    #[arg(long)]
    pub lines: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `document`: exit 0 when the document is valid, 4 when it is refused or unreadable.
pub fn run(a: DocumentArgs) -> Result<ExitCode> {
    let today = Date::today_utc();
    if let Some(image) = &a.image {
        return read_photos(&a, image, today);
    }
    let result = if let Some(id) = &a.id {
        cn_id::validate(id, today).map(|v| json!({"valid": true, "type": "cn_resident_id", "document": v}))
    } else if let Some(p) = a.mrz.as_deref() {
        let text = if p.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading the MRZ from stdin")?
        } else {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        };
        mrz::validate(&text, today).map(|v| json!({"valid": true, "type": "mrz", "document": v}))
    } else {
        bail!("give --id NUMBER, --mrz FILE or --image PHOTO");
    };
    match result {
        Ok(v) => {
            println!("{v}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", json!({"valid": false, "reason": e.code(), "message": e.to_string()}));
            Ok(ExitCode::from(4))
        }
    }
}

fn load_photo(path: &PathBuf) -> Result<image::RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_rgb(&bytes, &DecodeLimits::default()).with_context(|| format!("decoding {}", path.display()))
}

fn read_photos(a: &DocumentArgs, image: &PathBuf, today: Date) -> Result<ExitCode> {
    let runtime = engine_setup::runtime(&a.engine)?;
    let reader = TextReader::load(&engine_setup::models_dir(&a.engine), &runtime)?;
    let photo = load_photo(image)?;
    let started = std::time::Instant::now();
    let mut out = json!({});
    let mut valid = false;
    if a.kind != "passport" {
        let card = read_card(&reader, &photo, today)?;
        if card.side == Side::Front || a.kind == "id-card" {
            valid = card.front.as_ref().and_then(|f| f.id_number.as_ref()).is_some_and(|n| n.valid) && card.inconsistencies.is_empty();
            if let (Some(path), Some(p)) = (&a.portrait_out, &card.portrait) {
                p.save(path).with_context(|| format!("writing {}", path.display()))?;
            }
            out = card_json(&card, a.lines);
            if let Some(back) = &a.back {
                let b = read_card(&reader, &load_photo(back)?, today)?;
                out["back"] = card_json(&b, a.lines);
            }
        }
    }
    if out.get("side").is_none() && a.kind != "id-card" {
        match simkyc_ocr::mrz_read::read_mrz(&reader, &photo, today)? {
            Some(m) => {
                valid = m.document.is_some();
                out = json!({"type": "mrz", "mrz": m});
            }
            None => out = json!({"type": "unknown", "message": "no resident ID card and no MRZ found in the photo"}),
        }
    }
    out["valid"] = json!(valid);
    out["elapsed_ms"] = json!((started.elapsed().as_secs_f64() * 1000.0).round());
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_summary(&out);
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(4) })
}

fn card_json(card: &simkyc_ocr::CardReading, with_lines: bool) -> Value {
    let mut v = card.to_json(with_lines);
    v["type"] = json!("cn_resident_id_card");
    if card.portrait.is_some() {
        // A printed portrait is a weaker reference than the chip photo.
        v["portrait"] = json!({"found": true, "reference": "printed"});
    }
    v
}

fn print_summary(v: &Value) {
    let show = |label: &str, f: &Value| {
        if let Some(val) = f.get("value").and_then(Value::as_str) {
            let conf = f.get("confidence").and_then(Value::as_f64).unwrap_or(0.0);
            let extra = match (f.get("valid").and_then(Value::as_bool), f.get("reason").and_then(Value::as_str)) {
                (Some(true), _) => "  valid".to_string(),
                (Some(false), Some(r)) => format!("  NOT VALID ({r})"),
                _ => String::new(),
            };
            println!("  {label:<12} {val}  ({:.0} %){extra}", conf * 100.0);
        }
    };
    for (part, title) in [(v, "card"), (v.get("back").unwrap_or(&Value::Null), "back")] {
        if part.is_null() {
            continue;
        }
        println!("{title}: {}", part.get("side").and_then(Value::as_str).unwrap_or("?"));
        for key in ["front", "back"] {
            if let Some(fields) = part.get(key).and_then(Value::as_object) {
                for (name, f) in fields {
                    show(name, f);
                }
            }
        }
        if let Some(list) = part.get("inconsistencies").and_then(Value::as_array) {
            for i in list {
                println!("  mismatch     {}", i.as_str().unwrap_or(""));
            }
        }
    }
    if let Some(m) = v.get("mrz") {
        println!("{}", serde_json::to_string_pretty(m).unwrap_or_default());
    }
    println!("valid: {}  ({} ms)", v["valid"], v["elapsed_ms"]);
}
