//! Which inference runtime runs the ONNX models. tract is pure Rust and always works;
//! onnxruntime is faster on the same files and is used where its shared library is installed
//! (`simkyc models fetch` installs the one from the pinned PyPI wheel). Both give the same
//! results within 1e-4 (golden-tested), so thresholds do not depend on the choice.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::FaceError;

/// The runtime an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeChoice {
    /// onnxruntime when its library is installed, tract otherwise.
    #[default]
    Auto,
    /// Pure-Rust tract.
    Tract,
    /// onnxruntime; an error when its library is missing or does not load.
    Onnxruntime,
}

impl std::str::FromStr for RuntimeChoice {
    type Err = FaceError;
    fn from_str(s: &str) -> Result<Self, FaceError> {
        match s {
            "auto" => Ok(RuntimeChoice::Auto),
            "tract" => Ok(RuntimeChoice::Tract),
            "onnxruntime" | "ort" => Ok(RuntimeChoice::Onnxruntime),
            other => Err(FaceError::Model(format!("unknown runtime {other:?} (expected auto, tract or onnxruntime)"))),
        }
    }
}

/// A loaded onnxruntime: its environment, the library it came from and the threads per run.
#[derive(Clone)]
pub struct OrtRuntime {
    env: ort::environment::Environment,
    library: PathBuf,
    version: String,
    threads: usize,
}

impl OrtRuntime {
    /// The onnxruntime environment sessions are built in.
    pub fn environment(&self) -> &ort::environment::Environment {
        &self.env
    }

    /// Intra-op threads per run.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// The runtime models are loaded on; cheap to clone.
#[derive(Clone, Default)]
pub enum Runtime {
    /// Pure-Rust tract.
    #[default]
    Tract,
    /// onnxruntime from a shared library.
    Onnxruntime(OrtRuntime),
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The one onnxruntime library this process loaded (a process can load only one) and its environment.
static LOADED: OnceLock<(PathBuf, ort::environment::Environment, String)> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

fn load_library(library: &Path) -> Result<(ort::environment::Environment, String), FaceError> {
    let err = |e: &dyn std::fmt::Display| FaceError::Model(format!("onnxruntime library {}: {e}", library.display()));
    let _guard = LOADING.lock().map_err(|_| err(&"loader poisoned"))?;
    if let Some((path, env, version)) = LOADED.get() {
        if path != library {
            return Err(err(&format!("this process already loaded onnxruntime from {}", path.display())));
        }
        return Ok((env.clone(), version.clone()));
    }
    if !library.is_file() {
        return Err(err(&"no such file (run `simkyc models fetch`)"));
    }
    let env = ort::init_from(library).map_err(|e| err(&e))?.with_name("simkyc").with_telemetry(false).build().map_err(|e| err(&e))?;
    // Its warnings (e.g. about a graph's layout) go to stderr unasked; errors come back as results.
    env.set_log_level(ort::logging::LogLevel::Error);
    shared_arena(&env).map_err(|e| err(&format!("shared arena: {e}")))?;
    // The release is in the library's file name (libonnxruntime.so.1.32.0), as installed.
    let file = library.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let version = file.split_once(".so.").map(|(_, v)| v.to_string()).unwrap_or_else(|| "(version not in the file name)".into());
    let _ = LOADED.set((library.to_path_buf(), env.clone(), version.clone()));
    Ok((env, version))
}

/// Registers one CPU arena in the environment for every session to share (sessions opt in with
/// `session.use_env_allocators`), growing by what is asked rather than to the next power of two.
/// With an arena per session, each of a model's pooled sessions kept its own peak: 60 MB more in
/// use with four clients (README, "Speed and memory").
fn shared_arena(env: &ort::environment::Environment) -> Result<(), String> {
    use ort::sys::{OrtAllocatorType, OrtMemType};
    use ort::AsPointer;
    let api = ort::api();
    let check = |status: ort::sys::OrtStatusPtr| -> Result<(), String> {
        if status.0.is_null() {
            return Ok(());
        }
        // SAFETY: a non-null status from the API holds a message until released.
        let msg = unsafe { std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0)).to_string_lossy().into_owned() };
        unsafe { (api.ReleaseStatus)(status.0) };
        Err(msg)
    };
    let mut info = std::ptr::null_mut();
    // SAFETY: plain constructor calls of the C API with valid out-pointers; each object is
    // released below after the environment has copied what it needs.
    check(unsafe { (api.CreateCpuMemoryInfo)(OrtAllocatorType::OrtArenaAllocator, OrtMemType::OrtMemTypeDefault, &mut info) })?;
    let keys = [c"arena_extend_strategy".as_ptr()];
    let values = [1usize];
    let mut cfg = std::ptr::null_mut();
    let made = check(unsafe { (api.CreateArenaCfgV2)(keys.as_ptr(), values.as_ptr(), keys.len(), &mut cfg) });
    let registered = made.and_then(|()| check(unsafe { (api.CreateAndRegisterAllocator)(env.ptr().cast_mut(), info, cfg) }));
    unsafe {
        if !cfg.is_null() {
            (api.ReleaseArenaCfg)(cfg);
        }
        (api.ReleaseMemoryInfo)(info);
    }
    registered
}

impl Runtime {
    /// onnxruntime from `library`, with `threads` intra-op threads per run (1 keeps the
    /// server's one-request-per-core model).
    pub fn onnxruntime(library: &Path, threads: usize) -> Result<Runtime, FaceError> {
        let (env, version) = load_library(library)?;
        Ok(Runtime::Onnxruntime(OrtRuntime { env, library: library.to_path_buf(), version, threads: threads.max(1) }))
    }

    /// Resolves an operator's choice: `library` is where onnxruntime is installed, if anywhere.
    pub fn resolve(choice: RuntimeChoice, library: Option<&Path>, threads: usize) -> Result<Runtime, FaceError> {
        match (choice, library) {
            (RuntimeChoice::Tract, _) => Ok(Runtime::Tract),
            (RuntimeChoice::Auto, None) => Ok(Runtime::Tract),
            (RuntimeChoice::Auto, Some(p)) if !p.is_file() => Ok(Runtime::Tract),
            (_, Some(p)) => Runtime::onnxruntime(p, threads),
            (RuntimeChoice::Onnxruntime, None) => {
                Err(FaceError::Model("runtime onnxruntime: its library is not installed (run `simkyc models fetch`)".into()))
            }
        }
    }

    /// Resolves a choice against a models directory: onnxruntime is the library `simkyc models
    /// fetch` installed there, used only when its SHA-256 matches the pin.
    pub fn for_models_dir(choice: RuntimeChoice, models_dir: &Path, threads: usize) -> Result<Runtime, FaceError> {
        let library = match choice {
            RuntimeChoice::Tract => None,
            _ => simkyc_models::onnxruntime::installed_library(models_dir)
                .map_err(|e| FaceError::Model(format!("onnxruntime library: {e}")))?,
        };
        Runtime::resolve(choice, library.as_deref(), threads)
    }

    /// Short name: `tract` or `onnxruntime`.
    pub fn name(&self) -> &'static str {
        match self {
            Runtime::Tract => "tract",
            Runtime::Onnxruntime(_) => "onnxruntime",
        }
    }

    /// One line for logs: the runtime, its version and where it came from.
    pub fn describe(&self) -> String {
        match self {
            Runtime::Tract => "tract (pure Rust)".into(),
            Runtime::Onnxruntime(o) => format!("onnxruntime {} from {}, {} thread(s) per run", o.version, o.library.display(), o.threads),
        }
    }
}
