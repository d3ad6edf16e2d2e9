//! Transport hardening on a real server: HTTPS with rustls and HSTS, plain HTTP refused off
//! loopback, rate limits (429 + Retry-After), slow-header and slow-body cut-offs, and the cap on
//! uploads received at once — each refusal counted in the metrics.

mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::Harness;

/// Sends raw bytes and reads the reply until the server closes or `timeout` passes.
fn exchange(addr: &std::net::SocketAddr, request: &[u8], timeout: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.write_all(request).unwrap();
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

fn get(path: &str, key: Option<&str>) -> Vec<u8> {
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n").into_bytes()
}

fn status(reply: &str) -> u16 {
    reply.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let head = reply.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

fn addr_of(h: &Harness) -> std::net::SocketAddr {
    h.running.as_ref().expect("server running").addr
}

#[test]
fn https_with_hsts_and_no_plain_http_on_the_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let Some(h) = Harness::sqlite_with(|c| {
        c.tls_cert = Some(cert_path.clone());
        c.tls_key = Some(key_path.clone());
    }) else {
        return;
    };
    let addr = addr_of(&h);
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let reply = h.rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, tcp).await.expect("TLS handshake");
        tls.write_all(&get("/healthz", None)).await.unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    });
    assert_eq!(status(&reply), 200, "{reply}");
    assert_eq!(header(&reply, "strict-transport-security"), Some("max-age=31536000"), "{reply}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = exchange(&addr, &get("/healthz", None), Duration::from_secs(5));
    assert!(!plain.starts_with("HTTP/1.1 200"), "{plain}");
}

#[test]
fn plain_http_is_refused_off_loopback_unless_insecure_http() {
    let Some(face) = harness::face() else { return };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for insecure in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let config = simkyc_server::Config {
            data_dir: dir.path().to_path_buf(),
            listen: "0.0.0.0:0".into(),
            insecure_http: insecure,
            vault_keys_file: Some(dir.path().join("vault.keys")),
            ..simkyc_server::Config::default()
        };
        let started = rt.block_on(async {
            let state = simkyc_server::build_state_with(config, face.clone()).await.unwrap();
            simkyc_server::start(state).await
        });
        match (insecure, started) {
            (false, Err(e)) => assert!(e.to_string().contains("refusing plain HTTP") && e.to_string().contains("--insecure-http"), "{e}"),
            (true, Ok(running)) => rt.block_on(running.shutdown()),
            (insecure, other) => panic!("insecure_http={insecure}: {:?}", other.map(|r| r.addr)),
        }
    }
}

#[test]
fn rate_limits_answer_429_with_retry_after_and_are_counted() {
    let Some(h) = Harness::sqlite_with(|c| {
        c.rate_limit_per_key = 1;
        c.rate_limit_per_address = 0;
    }) else {
        return;
    };
    let addr = addr_of(&h);
    let replies: Vec<String> = (0..6).map(|_| exchange(&addr, &get("/v1/me", Some(h.key("clerk"))), Duration::from_secs(10))).collect();
    let codes: Vec<u16> = replies.iter().map(|r| status(r)).collect();
    assert_eq!(&codes[..2], [200, 200], "a burst of two is allowed: {codes:?}");
    let limited = replies.iter().find(|r| status(r) == 429).unwrap_or_else(|| panic!("no 429 in {codes:?}"));
    assert!(header(limited, "retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1), "{limited}");
    assert!(limited.contains("\"rate_limited\""), "{limited}");
    // Another key has its own bucket.
    assert_eq!(status(&exchange(&addr, &get("/v1/me", Some(h.key("clerk2"))), Duration::from_secs(10))), 200);
    let metrics = exchange(&addr, &get("/metrics", Some(h.key("admin"))), Duration::from_secs(10));
    assert!(metrics.contains("simkyc_refusals_total{limit=\"rate_limited_key\"}"), "{metrics}");

    let Some(h) = Harness::sqlite_with(|c| {
        c.rate_limit_per_key = 0;
        c.rate_limit_per_address = 1;
    }) else {
        return;
    };
    let addr = addr_of(&h);
    let codes: Vec<u16> = (0..6).map(|_| status(&exchange(&addr, &get("/healthz", None), Duration::from_secs(10)))).collect();
    assert!(codes.contains(&429) && codes[0] == 200, "per-address limit without a key: {codes:?}");
}

#[test]
fn slow_headers_and_slow_bodies_are_cut_off() {
    let Some(h) = Harness::sqlite_with(|c| {
        c.header_timeout_secs = 1;
        c.body_timeout_secs = 1;
    }) else {
        return;
    };
    let addr = addr_of(&h);
    // Headers that never end: the connection is closed after the header timeout.
    let started = Instant::now();
    let reply = exchange(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", Duration::from_secs(20));
    assert!(!reply.contains(" 200 "), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(10), "closed after {:?}", started.elapsed());
    // A body that stops halfway: 408 after the body timeout.
    let head = format!(
        "POST /v1/registrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"document\":",
        h.key("clerk")
    );
    let reply = exchange(&addr, head.as_bytes(), Duration::from_secs(20));
    assert_eq!(status(&reply), 408, "{reply}");
    assert!(reply.contains("\"body_timeout\""), "{reply}");
    let metrics = exchange(&addr, &get("/metrics", Some(h.key("admin"))), Duration::from_secs(10));
    assert!(metrics.contains("simkyc_refusals_total{limit=\"body_timeout\"} 1"), "{metrics}");
}

#[test]
fn uploads_beyond_the_cap_are_refused_while_one_is_received() {
    let Some(h) = Harness::sqlite_with(|c| {
        c.max_concurrent_uploads = 1;
        c.body_timeout_secs = 5;
        c.rate_limit_per_key = 0;
    }) else {
        return;
    };
    let addr = addr_of(&h);
    let post = |partial: bool| {
        format!(
            "POST /v1/registrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{}}",
            h.key("clerk"),
            if partial { 1000 } else { 2 }
        )
    };
    // An upload whose body trickles in holds the only slot: once it is being received (the
    // server has not answered it within 300 ms), a second upload is refused.
    let mut refused = None;
    for _ in 0..20 {
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(post(true).as_bytes()).unwrap();
        slow.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut byte = [0u8; 1];
        if slow.peek(&mut byte).is_ok() {
            continue; // answered at once: it lost the slot to nothing yet received; try again
        }
        let reply = exchange(&addr, post(false).as_bytes(), Duration::from_secs(10));
        drop(slow);
        refused = Some(reply);
        break;
    }
    let refused = refused.expect("the slow upload was never held");
    assert_eq!(status(&refused), 503, "{refused}");
    assert!(refused.contains("\"server_busy\"") && header(&refused, "retry-after").is_some(), "{refused}");
    let metrics = exchange(&addr, &get("/metrics", Some(h.key("admin"))), Duration::from_secs(10));
    assert!(metrics.contains("simkyc_refusals_total{limit=\"uploads_busy\"}"), "{metrics}");
}
