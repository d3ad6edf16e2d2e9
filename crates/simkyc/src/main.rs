//! `simkyc`: real-name SIM registration with face verification — command-line entry point.

mod cmd_backup;
mod cmd_cards;
mod cmd_compare;
mod cmd_document;
mod cmd_eval;
mod cmd_liveness;
mod cmd_models;
mod cmd_quality;
mod cmd_serve;
mod engine_setup;
mod open_set_eval;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line interface.
#[derive(Parser)]
#[command(name = "simkyc", version, about = "Real-name SIM registration with face verification")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by commands that load the face engine.
#[derive(clap::Args, Clone, Debug)]
pub struct EngineArgs {
    /// Models directory (default: $SIMKYC_MODELS_DIR or ~/.local/share/simkyc/models).
    #[arg(long, env = "SIMKYC_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,
    /// Embedder to use instead of the manifest's default.
    #[arg(long)]
    pub embedder: Option<String>,
    /// Detector to use instead of the manifest's default (e.g. dlib-mmod for the previous engine).
    #[arg(long)]
    pub detector: Option<String>,
    /// Thresholds file from calibration (default: the one built into simkyc).
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Do not average each embedding with that of the mirrored face.
    #[arg(long)]
    pub no_flip: bool,
    /// Adaptation file (default: the one built into simkyc for its default embedder).
    #[arg(long)]
    pub adaptation: Option<PathBuf>,
    /// Score with raw cosine similarity only, without the learned adaptation.
    #[arg(long, conflicts_with = "adaptation")]
    pub no_adaptation: bool,
    /// What the aligned chip shows past the image's edge: `auto` (black for ArcFace-template
    /// embedders, repeated edge pixels for dlib's), `repeat` or `black`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "repeat", "black"])]
    pub chip_border: String,
    /// Longest image side used for detection (larger images are scaled down for detection only).
    #[arg(long, default_value_t = simkyc_face::EngineOptions::default().detect_max_side)]
    pub detect_max_side: u32,
    /// Inference runtime: `auto` (onnxruntime where `simkyc models fetch` installed it, tract
    /// otherwise), `tract` or `onnxruntime`.
    #[arg(long, env = "SIMKYC_RUNTIME", default_value = "auto", value_parser = ["auto", "tract", "onnxruntime"])]
    pub runtime: String,
    /// Intra-op threads per model run on onnxruntime.
    #[arg(long, env = "SIMKYC_RUNTIME_THREADS", default_value_t = 1)]
    pub runtime_threads: usize,
    /// Most chips the embedder runs at once (a chip and its mirror count as two; the live
    /// photos of one comparison are embedded together).
    #[arg(long, default_value_t = 1)]
    pub embed_batch: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch, verify or list the model packs.
    Models {
        #[command(subcommand)]
        cmd: cmd_models::ModelsCmd,
    },
    /// Compare an identity-document photo with one or more live photos.
    Compare(cmd_compare::CompareArgs),
    /// Evaluate verification accuracy on an LFW-format pair file.
    Eval(cmd_eval::EvalArgs),
    /// Calibrate decision thresholds on the development sets (writes a thresholds file).
    Calibrate(cmd_eval::CalibrateArgs),
    /// Validate an identity document (a resident ID number or an MRZ), or read one from photos.
    Document(cmd_document::DocumentArgs),
    /// Synthetic ID card photos for testing document reading, and their evaluation.
    Cards {
        #[command(subcommand)]
        cmd: cmd_cards::CardsCmd,
    },
    /// Train the embedding adaptation on East-Asian development identities (writes an adaptation file).
    Adapt(cmd_eval::AdaptArgs),
    /// Capture-quality checks of images (size, sharpness, exposure, pose), with the measures.
    Quality(cmd_quality::QualityArgs),
    /// Passive liveness scores of faces in images, or their evaluation on real/fake crops.
    Liveness(cmd_liveness::LivenessArgs),
    /// Run the registration service (REST API and web console).
    Serve(cmd_serve::ServeArgs),
    /// Staff keys, operators and stores.
    Admin {
        #[command(subcommand)]
        cmd: cmd_serve::AdminCmd,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Vault keys.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Write a consistent copy of the SQLite database while the server runs.
    Backup(cmd_backup::BackupArgs),
    /// Replace the SQLite database with a backup (the server must be stopped).
    Restore(cmd_backup::RestoreArgs),
    /// Delete raw photos older than the retention period now (the server also does this hourly).
    Purge {
        #[command(flatten)]
        service: cmd_serve::ServiceArgs,
        /// Days to keep (default: retention_days of the configuration, 30).
        #[arg(long)]
        older_than_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify the hash chain: exit 0 when intact, 1 naming the first bad event.
    Verify(cmd_serve::ServiceArgs),
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Add a new active vault key and re-encrypt every template and photo with it.
    Rotate(cmd_serve::ServiceArgs),
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when stdout is closed (`simkyc ... | head`).
    #[cfg(unix)]
    // SAFETY: restoring the default SIGPIPE disposition before any threads start.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Buffers of 256 KiB and more (decoded frames, tensors, an arena's chunks) are mapped and
    // handed back when freed. glibc's default threshold rises after the first large free, and
    // from then on such buffers come from the heap and stay there: ~100 MB kept but unused by a
    // server at four clients (README, "Speed and memory"). Setting it fixes it.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: an allocator tuning call before any threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Models { cmd } => cmd_models::run(cmd),
        Command::Compare(a) => cmd_compare::run(a),
        Command::Eval(a) => cmd_eval::run_eval(a),
        Command::Calibrate(a) => cmd_eval::run_calibrate(a),
        Command::Adapt(a) => cmd_eval::run_adapt(a),
        Command::Document(a) => cmd_document::run(a),
        Command::Cards { cmd } => cmd_cards::run(cmd),
        Command::Serve(a) => cmd_serve::serve(a),
        Command::Liveness(a) => cmd_liveness::run(a),
        Command::Quality(a) => cmd_quality::run(a),
        Command::Admin { cmd } => cmd_serve::admin(cmd),
        Command::Audit { cmd: AuditCmd::Verify(s) } => cmd_serve::audit_verify(s),
        Command::Keys { cmd: KeysCmd::Rotate(s) } => cmd_serve::keys_rotate(s),
        Command::Backup(a) => cmd_backup::backup(a),
        Command::Restore(a) => cmd_backup::restore(a),
        Command::Purge { service, older_than_days } => cmd_serve::purge(service, older_than_days),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
