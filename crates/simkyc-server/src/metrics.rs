//! Prometheus metrics: request counts and latencies by route, decisions by outcome and reason,
//! decision latency. Labels carry route templates and codes only, never personal data.

use prometheus::{Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests by method, route template and status.
    pub requests: IntCounterVec,
    /// Request latency by method and route template.
    pub latency: HistogramVec,
    /// Decisions by outcome.
    pub decisions: IntCounterVec,
    /// Documents read from photos, by what was found (card, MRZ, unknown).
    pub document_reads: IntCounterVec,
    /// Decision reasons by code.
    pub reasons: IntCounterVec,
    /// Server-side decision time (frames received → decision stored).
    pub decision_seconds: HistogramVec,
    /// Requests refused by an abuse limit, by limit.
    pub refusals: IntCounterVec,
    /// Templates in each operator's in-memory 1:N gallery.
    pub gallery_templates: IntGaugeVec,
    /// The duplicate check's threshold at each operator's gallery size.
    pub duplicate_threshold: GaugeVec,
    /// The FPIR the model is expected to give there.
    pub duplicate_expected_fpir: GaugeVec,
    /// 1 where the target FPIR is held at the operator's gallery size, 0 where it is not.
    pub duplicate_target_held: IntGaugeVec,
    /// The configured target FPIR.
    pub duplicate_target_fpir: Gauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("simkyc_http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let buckets = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0];
        let latency = HistogramVec::new(
            HistogramOpts::new("simkyc_http_request_duration_seconds", "HTTP request latency").buckets(buckets.clone()),
            &["method", "route"],
        )?;
        let decisions = IntCounterVec::new(Opts::new("simkyc_decisions_total", "Capture decisions by outcome"), &["outcome"])?;
        let reasons = IntCounterVec::new(Opts::new("simkyc_decision_reasons_total", "Reasons given in capture decisions"), &["reason"])?;
        let decision_seconds = HistogramVec::new(
            HistogramOpts::new("simkyc_decision_duration_seconds", "Server-side decision time").buckets(buckets),
            &["outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(decisions.clone()))?;
        let document_reads =
            IntCounterVec::new(Opts::new("simkyc_document_reads_total", "Documents read from photos, by what was found"), &["type"])?;
        registry.register(Box::new(document_reads.clone()))?;
        registry.register(Box::new(reasons.clone()))?;
        let refusals = IntCounterVec::new(
            Opts::new(
                "simkyc_refusals_total",
                "Requests refused by an abuse limit (rate_limited_key, rate_limited_address, uploads_busy, body_timeout)",
            ),
            &["limit"],
        )?;
        registry.register(Box::new(decision_seconds.clone()))?;
        registry.register(Box::new(refusals.clone()))?;
        let gallery_templates = IntGaugeVec::new(
            Opts::new("simkyc_gallery_templates", "Enrolled templates in the operator's in-memory 1:N gallery"),
            &["operator"],
        )?;
        registry.register(Box::new(gallery_templates.clone()))?;
        let duplicate_threshold = GaugeVec::new(
            Opts::new("simkyc_duplicate_threshold", "Similarity threshold of the 1:N duplicate check at the operator's gallery size"),
            &["operator"],
        )?;
        let duplicate_expected_fpir = GaugeVec::new(
            Opts::new(
                "simkyc_duplicate_expected_fpir",
                "False-positive identification rate the model is expected to give at the operator's gallery size (share of new faces sent to review as possible duplicates)",
            ),
            &["operator"],
        )?;
        let duplicate_target_held = IntGaugeVec::new(
            Opts::new(
                "simkyc_duplicate_target_held",
                "1 where the target FPIR is held at the operator's gallery size, 0 where the model cannot hold it",
            ),
            &["operator"],
        )?;
        let duplicate_target_fpir = Gauge::new("simkyc_duplicate_target_fpir", "Configured target FPIR of the duplicate check")?;
        registry.register(Box::new(duplicate_threshold.clone()))?;
        registry.register(Box::new(duplicate_expected_fpir.clone()))?;
        registry.register(Box::new(duplicate_target_held.clone()))?;
        registry.register(Box::new(duplicate_target_fpir.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            decisions,
            document_reads,
            reasons,
            decision_seconds,
            refusals,
            gallery_templates,
            duplicate_threshold,
            duplicate_expected_fpir,
            duplicate_target_held,
            duplicate_target_fpir,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding our own registered metrics into memory cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}
