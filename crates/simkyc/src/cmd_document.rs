//! `simkyc document`: validate a resident ID number or an MRZ and print what it encodes, or the
//! reason code it fails with.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use simkyc_docs::{cn_id, mrz, Date};

/// Arguments of `document`.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct DocumentArgs {
    /// An 18-character Chinese resident ID number.
    #[arg(long)]
    pub id: Option<String>,
    /// A file holding a passport or travel-permit MRZ (2 lines of 44 or 3 lines of 30); `-` for stdin.
    #[arg(long)]
    pub mrz: Option<PathBuf>,
}

/// Runs `document`: exit 0 when valid, 4 when the document is refused.
pub fn run(a: DocumentArgs) -> Result<ExitCode> {
    let today = Date::today_utc();
    let result = if let Some(id) = &a.id {
        cn_id::validate(id, today).map(|v| json!({"valid": true, "type": "cn_resident_id", "document": v}))
    } else {
        let text = match a.mrz.as_deref() {
            Some(p) if p.as_os_str() == "-" => std::io::read_to_string(std::io::stdin()).context("reading the MRZ from stdin")?,
            Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            None => unreachable!("clap requires --id or --mrz"),
        };
        mrz::validate(&text, today).map(|v| json!({"valid": true, "type": "mrz", "document": v}))
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
