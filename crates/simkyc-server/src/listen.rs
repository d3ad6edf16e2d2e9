//! The listener: plain HTTP or TLS (rustls) on one accept loop, hyper's HTTP/1 with a header
//! read timeout against slow clients, the client address handed to the router (for per-address
//! rate limits), and a graceful shutdown that lets requests in flight finish.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("{path}: {cause}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        cause: std::io::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{0}: no PEM certificate found")]
    NoCertificate(String),
    /// The key file holds no private key.
    #[error("{0}: no PEM private key (PKCS#8, PKCS#1 or SEC1) found")]
    NoKey(String),
    /// rustls refused the pair (e.g. the key does not belong to the certificate).
    #[error("certificate and key: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
}

/// A TLS acceptor for a PEM certificate chain and private key (HTTP/1.1 over TLS 1.2 and 1.3).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let read = |p: &Path| std::fs::read(p).map_err(|cause| TlsError::Read { path: p.display().to_string(), cause });
    let cert_pem = read(cert)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|cause| TlsError::Read { path: cert.display().to_string(), cause })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.display().to_string()));
    }
    let key_pem = read(key)?;
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|cause| TlsError::Read { path: key.display().to_string(), cause })?
        .ok_or_else(|| TlsError::NoKey(key.display().to_string()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Connection settings of the accept loop.
#[derive(Clone)]
pub struct ListenOptions {
    /// TLS, when configured.
    pub tls: Option<TlsAcceptor>,
    /// Longest wait for a request's headers (and for the TLS handshake).
    pub header_timeout: Duration,
    /// Longest wait for requests in flight at shutdown.
    pub drain_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then drains connections.
pub async fn serve(listener: TcpListener, app: Router, options: ListenOptions, shutdown: impl std::future::Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let options = options.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(options.header_timeout);
            let served = match options.tls {
                Some(tls) => match tokio::time::timeout(options.header_timeout, tls.accept(tcp)).await {
                    Ok(Ok(stream)) => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, client = %peer, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(client = %peer, "TLS handshake timed out");
                        return;
                    }
                },
                None => watcher.watch(http.serve_connection(TokioIo::new(tcp), service)).await,
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, client = %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(options.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutdown: connections still open after the drain timeout were closed");
    }
}

/// Whether plain HTTP may serve on `addr` without `insecure_http`: only on loopback.
pub fn plain_http_allowed(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
