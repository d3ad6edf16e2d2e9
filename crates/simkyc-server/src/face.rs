//! The verification core as the service runs it: on the blocking pool, a bounded number of
//! analyses at a time, so a burst of captures queues instead of thrashing the cores. Everything
//! else (what is analysed, checked and decided) is `simkyc-verify`'s.

use std::path::Path;
use std::sync::Arc;

use simkyc_face::decode::DecodeLimits;
use simkyc_face::runtime::Runtime;
use simkyc_face::FaceError;
use simkyc_verify::{Analysed, Depth, LoadError, Verifier};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// The verifier, the document reader (when its OCR models are installed) and the inference gate.
pub struct FaceStack {
    verifier: Arc<Verifier>,
    reader: Option<Arc<simkyc_ocr::TextReader>>,
    limits: DecodeLimits,
    gate: Semaphore,
    /// Face-analysis requests waiting for or holding a slot: a request borrows an idle slot only
    /// when it is the only one, so that under load none waits for a borrowed slot.
    active: std::sync::atomic::AtomicUsize,
}

impl std::ops::Deref for FaceStack {
    type Target = Verifier;
    fn deref(&self) -> &Verifier {
        &self.verifier
    }
}

impl FaceStack {
    /// Loads the verifier (see [`Verifier::load`]) with images limited to `max_image_bytes` and
    /// `max_side`, at most `parallel` analyses at once, and live frames embedded as `live_flip`
    /// says (with their mirror, without it, or with it near a threshold).
    pub fn load(
        models_dir: &Path,
        thresholds: Option<&Path>,
        max_image_bytes: usize,
        max_side: u32,
        parallel: usize,
        runtime: &Runtime,
        live_flip: simkyc_verify::LiveFlip,
    ) -> Result<FaceStack, LoadError> {
        let limits = DecodeLimits { max_bytes: max_image_bytes, max_side, ..Default::default() };
        let verifier = Verifier::load(models_dir, thresholds, limits, runtime)?.with_live_flip(live_flip);
        // Reading documents from photos is optional: a models directory without the OCR pack
        // still serves registrations, and `/v1/documents/read` says what is missing.
        let reader = match simkyc_ocr::TextReader::load(models_dir, runtime) {
            Ok(r) => Some(Arc::new(r)),
            Err(e) => {
                tracing::warn!(error = %e, "document reading from photos is unavailable");
                None
            }
        };
        Ok(FaceStack { verifier: Arc::new(verifier), reader, limits, gate: Semaphore::new(parallel.max(1)), active: Default::default() })
    }

    /// Reads a document from photos on the blocking pool, holding one inference slot; an error
    /// when the OCR models are not installed.
    pub async fn read_document<T: Send + 'static>(
        &self,
        job: impl FnOnce(&simkyc_ocr::TextReader, &DecodeLimits) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Some(reader) = self.reader.clone() else {
            return Err(ApiError::unavailable(
                "document_reading_unavailable",
                "reading documents from photos needs the OCR models: run `simkyc models fetch` and restart",
            ));
        };
        let _permit = self.gate.acquire().await.map_err(|e| ApiError::internal("inference gate", &e))?;
        let limits = self.limits;
        tokio::task::spawn_blocking(move || job(&reader, &limits)).await.map_err(|e| ApiError::internal("document reading", &e))
    }

    /// Runs `job` on the verifier on the blocking pool, holding one inference slot. When it is
    /// the only face-analysis request and another slot is idle, the job borrows that slot too
    /// and runs its independent network passes on two threads (`simkyc_face::spare`): a lone
    /// request finishes sooner, and under load nothing changes.
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce(&Verifier) -> T + Send + 'static) -> Result<T, ApiError> {
        use std::sync::atomic::Ordering;
        struct Leave<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.active.fetch_add(1, Ordering::SeqCst);
        let _leave = Leave(&self.active);
        let _permit = self.gate.acquire().await.map_err(|e| ApiError::internal("inference gate", &e))?;
        let alone = self.active.load(Ordering::SeqCst) == 1;
        let borrowed = if alone { self.gate.try_acquire().ok() } else { None };
        let spare = usize::from(borrowed.is_some());
        let verifier = self.verifier.clone();
        tokio::task::spawn_blocking(move || simkyc_face::spare::with_spare_threads(spare, || job(&verifier)))
            .await
            .map_err(|e| ApiError::internal("face analysis", &e))
    }

    /// Analyses one image to `depth` (a document photo, or a frame for framing feedback).
    pub async fn analyse(&self, bytes: Vec<u8>, depth: Depth) -> Result<Result<Analysed, FaceError>, ApiError> {
        self.run(move |v| v.analyse(&bytes, depth)).await
    }
}

/// Maps an image that could not be analysed to an API error naming the field.
pub fn image_error(field: &str, e: &FaceError) -> ApiError {
    match e {
        FaceError::Decode(m) => {
            ApiError::unprocessable("image_invalid", format!("{field} is not a readable JPEG, PNG, WebP or BMP image: {m}"))
        }
        FaceError::TooLarge(m) => ApiError::too_large("image_too_large", format!("{field}: {m}")),
        FaceError::Model(_) => ApiError::internal("face analysis", e),
    }
}
