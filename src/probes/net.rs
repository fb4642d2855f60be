//! DNS, TCP, TLS and HTTP from this machine, with the doctor's own resolver (the system
//! configuration or `--dns-server`), so that what it tests is what it reports.

use super::proxy::ProxySettings;
use super::Secret;
use crate::budget::{Budget, Op};
use futures::future::{BoxFuture, FutureExt};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::Resolver;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone, PartialEq)]
pub enum DnsFailure {
    NxDomain,
    /// The name exists but has no address records.
    NoData,
    Timeout,
    /// No DNS server could be reached (no route, refused, no connection).
    Unreachable(String),
    ServFail(String),
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DnsAnswer {
    pub result: Result<Vec<IpAddr>, DnsFailure>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnectFailure {
    Timeout,
    Refused,
    Unreachable(String),
    Proxy(String),
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsInfo {
    pub version: String,
    pub alpn: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsFailure {
    pub detail: String,
    /// Issuer and subject of the certificate the server showed, if it showed one.
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// The certificate was refused because it does not name the host.
    pub wrong_name: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DialReport {
    /// The address that answered (or the last one tried).
    pub address: Option<SocketAddr>,
    pub tried: Vec<SocketAddr>,
    pub connect: Result<Duration, ConnectFailure>,
    /// None when the TCP connection failed.
    pub tls: Option<Result<(Duration, TlsInfo), TlsFailure>>,
    /// The proxy used, when HTTPS_PROXY applies to the host.
    pub via_proxy: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub basic_auth: Option<(String, Secret)>,
    /// Keep at most this many body bytes (the rest is hashed and counted).
    pub keep: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub bytes: u64,
    pub sha256: String,
    pub content_length: Option<u64>,
    /// Whether the body was read to its end without error.
    pub complete: bool,
    pub body_error: Option<String>,
    pub elapsed: Duration,
    pub remote: Option<SocketAddr>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum HttpFailure {
    Timeout(String),
    Connect(String),
    Tls(String),
    Other(String),
}

impl HttpFailure {
    pub fn detail(&self) -> &str {
        match self {
            HttpFailure::Timeout(d)
            | HttpFailure::Connect(d)
            | HttpFailure::Tls(d)
            | HttpFailure::Other(d) => d,
        }
    }
}

pub trait NetProbe: Send + Sync {
    /// How names are resolved, for the report.
    /// Which resolver answers: `system` (the system configuration) or `flag`
    /// (`--dns-server`), with its servers.
    fn resolver(&self) -> ResolverInfo;
    fn resolve(&self, host: String) -> BoxFuture<'_, DnsAnswer>;
    /// TCP to each address in turn until one connects, then a verified TLS handshake.
    fn dial(&self, host: String, addrs: Vec<IpAddr>, port: u16) -> BoxFuture<'_, DialReport>;
    /// One GET, no redirects followed.
    fn get(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, HttpFailure>>;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolverInfo {
    pub kind: &'static str,
    pub servers: Vec<String>,
}

/// Records the server's certificate before verifying it, so a failed handshake can still
/// say whose certificate it was.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(end_entity.to_vec());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn cert_names(der: &[u8]) -> (Option<String>, Option<String>) {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => (Some(c.subject().to_string()), Some(c.issuer().to_string())),
        Err(_) => (None, None),
    }
}

/// System roots plus the `AWS_CA_BUNDLE` certificates.
pub fn root_store(ca_bundle: Option<&[u8]>) -> RootCertStore {
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    if let Some(pem) = ca_bundle {
        for c in CertificateDer::pem_slice_iter(pem).flatten() {
            let _ = roots.add(c);
        }
    }
    roots
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn client_config(roots: Arc<RootCertStore>, alpn: &[&[u8]]) -> (ClientConfig, Arc<Recording>) {
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .expect("a root store with the default provider");
    let rec = Arc::new(Recording {
        inner,
        seen: Mutex::new(None),
    });
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(rec.clone())
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (cfg, rec)
}

pub struct SystemNet {
    resolver: SharedResolver,
    /// `--dns-server` was given.
    custom_dns: bool,
    resolver_info: ResolverInfo,
    roots: Arc<RootCertStore>,
    timeout: Duration,
    http: reqwest::Client,
    /// The run's proxy decision, for the dialer (reqwest asks it too).
    proxy: ProxySettings,
}

/// The one resolver of a run, shared by the DNS checks, reqwest and (with `--dns-server`)
/// the AWS SDK, so that every connection resolves the way the DNS checks report.
#[derive(Clone)]
pub struct SharedResolver(Arc<Resolver<TokioRuntimeProvider>>);

impl std::fmt::Debug for SharedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedResolver")
    }
}

impl aws_smithy_runtime_api::client::dns::ResolveDns for SharedResolver {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDnsError};
        DnsFuture::new(async move {
            let ips = self.0.lookup_ip(name).await.map_err(ResolveDnsError::new)?;
            Ok(ips.iter().collect())
        })
    }
}

impl reqwest::dns::Resolve for SharedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let r = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = r.lookup_ip(host.as_str()).await?;
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn build_resolver(
    dns_server: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(Resolver<TokioRuntimeProvider>, ResolverInfo), String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    match dns_server {
        Some(addr) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let cfg = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
                addr.ip(),
                true,
                vec![udp, tcp],
            )]);
            let r = Resolver::builder_with_config(cfg, TokioRuntimeProvider::default())
                .with_options(opts)
                .build()
                .map_err(|e| format!("cannot set up DNS: {e}"))?;
            Ok((
                r,
                ResolverInfo {
                    kind: "flag",
                    servers: vec![addr.to_string()],
                },
            ))
        }
        None => {
            let (cfg, mut sys) = hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
            let servers: Vec<String> = cfg
                .name_servers()
                .iter()
                .map(|n| n.ip.to_string())
                .collect();
            sys.timeout = timeout;
            sys.attempts = 1;
            sys.cache_size = 0;
            let r = Resolver::builder_with_config(cfg, TokioRuntimeProvider::default())
                .with_options(sys)
                .build()
                .map_err(|e| format!("cannot set up DNS: {e}"))?;
            Ok((
                r,
                ResolverInfo {
                    kind: "system",
                    servers,
                },
            ))
        }
    }
}

impl SystemNet {
    /// Every bound of this probe comes from the run's one budget.
    fn budget(&self) -> Budget {
        Budget::new(self.timeout)
    }

    /// The resolver for the AWS SDK: with `--dns-server` the run's own, otherwise None (the
    /// SDK then uses the system's resolver, which is what the DNS checks read too).
    pub fn sdk_resolver(&self) -> Option<SharedResolver> {
        self.custom_dns.then(|| self.resolver.clone())
    }

    /// The run's HTTP client (its CA bundle, resolver and proxy decision; no redirects).
    pub fn http_client(&self) -> reqwest::Client {
        self.http.clone()
    }

    pub fn new(
        dns_server: Option<SocketAddr>,
        timeout: Duration,
        ca_bundle: Option<&[u8]>,
        proxy: ProxySettings,
    ) -> Result<SystemNet, String> {
        let (resolver, resolver_info) = build_resolver(dns_server, timeout)?;
        let resolver = SharedResolver(Arc::new(resolver));
        let roots = Arc::new(root_store(ca_bundle));
        let (tls, _) = client_config(roots.clone(), &[b"h2", b"http/1.1"]);
        let decision = proxy.clone();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // the run's proxy decision, not reqwest's own reading of the process environment
            .no_proxy()
            .proxy(reqwest::Proxy::custom(move |url| {
                decision.proxy_for_url(url).cloned()
            }))
            .dns_resolver(Arc::new(resolver.clone()))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .user_agent(concat!("ecr-doctor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"))?;
        Ok(SystemNet {
            resolver,
            custom_dns: dns_server.is_some(),
            resolver_info,
            roots,
            timeout,
            http,
            proxy,
        })
    }

    async fn connect(
        &self,
        addr: SocketAddr,
        host: &str,
        proxy: Option<&url::Url>,
    ) -> Result<TcpStream, ConnectFailure> {
        let target = match proxy {
            Some(p) => {
                let h = p.host_str().unwrap_or_default().to_string();
                let port = p.port_or_known_default().unwrap_or(3128);
                let ip = match h.parse::<IpAddr>() {
                    Ok(ip) => ip,
                    Err(_) => match self.resolver.0.lookup_ip(h.as_str()).await {
                        Ok(l) => l.iter().next().ok_or_else(|| {
                            ConnectFailure::Proxy(format!("proxy {h} has no address"))
                        })?,
                        Err(e) => {
                            return Err(ConnectFailure::Proxy(format!(
                                "proxy {h} does not resolve: {e}"
                            )))
                        }
                    },
                };
                SocketAddr::new(ip, port)
            }
            None => addr,
        };
        let connected =
            tokio::time::timeout(self.budget().op(Op::Connect), TcpStream::connect(target)).await;
        if proxy.is_some() {
            // a failure to reach the proxy is the proxy's, not the host's
            match &connected {
                Err(_) => {
                    return Err(ConnectFailure::Proxy(format!(
                        "no answer from the proxy {target} in time"
                    )))
                }
                Ok(Err(e)) => return Err(ConnectFailure::Proxy(format!("proxy {target}: {e}"))),
                Ok(Ok(_)) => {}
            }
        }
        let stream = match connected {
            Err(_) => return Err(ConnectFailure::Timeout),
            Ok(Err(e)) => {
                return Err(match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
                    std::io::ErrorKind::TimedOut => ConnectFailure::Timeout,
                    std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable => {
                        ConnectFailure::Unreachable(e.to_string())
                    }
                    _ => ConnectFailure::Other(e.to_string()),
                })
            }
            Ok(Ok(s)) => s,
        };
        let Some(proxy) = proxy else {
            return Ok(stream);
        };
        // HTTP CONNECT through the proxy
        let mut stream = stream;
        let req = connect_request(host, addr.port(), proxy);
        let io = async {
            stream.write_all(req.as_bytes()).await?;
            let mut buf = vec![0u8; 1024];
            let n = stream.read(&mut buf).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..n]).to_string())
        };
        match tokio::time::timeout(self.budget().op(Op::Connect), io).await {
            Err(_) => Err(ConnectFailure::Timeout),
            Ok(Err(e)) => Err(ConnectFailure::Proxy(e.to_string())),
            Ok(Ok(line)) if line.split_whitespace().nth(1) == Some("200") => Ok(stream),
            Ok(Ok(line)) => Err(ConnectFailure::Proxy(format!(
                "the proxy refused CONNECT {host}: {}",
                line.lines().next().unwrap_or("")
            ))),
        }
    }
}

/// The HTTP CONNECT request for `host:port`, with the proxy's credentials (from its URL) as
/// `Proxy-Authorization: Basic`, as reqwest and the SDK send them.
fn connect_request(host: &str, port: u16, proxy: &url::Url) -> String {
    use base64::Engine as _;
    let mut req = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if !proxy.username().is_empty() || proxy.password().is_some() {
        let user = percent_decode(proxy.username());
        let pass = percent_decode(proxy.password().unwrap_or_default());
        let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {creds}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// `%XX` escapes of a URL's user or password, decoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn dns_failure(e: &hickory_resolver::net::NetError) -> DnsFailure {
    use hickory_resolver::net::{DnsError, NetError};
    use hickory_resolver::proto::op::ResponseCode;
    match e {
        NetError::Timeout => DnsFailure::Timeout,
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            if nr.response_code == ResponseCode::NXDomain {
                DnsFailure::NxDomain
            } else {
                DnsFailure::NoData
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => match *code {
            ResponseCode::NXDomain => DnsFailure::NxDomain,
            ResponseCode::ServFail | ResponseCode::Refused => {
                DnsFailure::ServFail(code.to_string())
            }
            other => DnsFailure::Other(other.to_string()),
        },
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => DnsFailure::Timeout,
        NetError::NoConnections => DnsFailure::Unreachable(e.to_string()),
        NetError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            DnsFailure::Unreachable(e.to_string())
        }
        other => {
            let s = other.to_string();
            if s.contains("timed out") {
                DnsFailure::Timeout
            } else {
                DnsFailure::Other(s)
            }
        }
    }
}

impl NetProbe for SystemNet {
    fn resolver(&self) -> ResolverInfo {
        self.resolver_info.clone()
    }

    fn resolve(&self, host: String) -> BoxFuture<'_, DnsAnswer> {
        async move {
            let start = Instant::now();
            let result = match tokio::time::timeout(
                self.budget().op(Op::Dns),
                self.resolver.0.lookup_ip(host.as_str()),
            )
            .await
            {
                Err(_) => Err(DnsFailure::Timeout),
                Ok(Err(e)) => Err(dns_failure(&e)),
                Ok(Ok(l)) => {
                    let ips: Vec<IpAddr> = l.iter().collect();
                    if ips.is_empty() {
                        Err(DnsFailure::NoData)
                    } else {
                        Ok(ips)
                    }
                }
            };
            DnsAnswer {
                result,
                elapsed: start.elapsed(),
            }
        }
        .boxed()
    }

    fn dial(&self, host: String, addrs: Vec<IpAddr>, port: u16) -> BoxFuture<'_, DialReport> {
        async move {
            let proxy = self.proxy.proxy_for("https", &host, port).cloned();
            let mut report = DialReport {
                address: None,
                tried: vec![],
                connect: Err(ConnectFailure::Other("no address to connect to".into())),
                tls: None,
                via_proxy: proxy.as_ref().map(|p| {
                    let mut p = p.clone();
                    let _ = p.set_password(None);
                    let _ = p.set_username("");
                    p.to_string()
                }),
            };
            // through a proxy, one CONNECT decides; directly, every address is tried
            let candidates: Vec<IpAddr> = if proxy.is_some() {
                addrs.into_iter().take(1).collect()
            } else {
                addrs
            };
            let mut stream = None;
            for ip in candidates {
                let addr = SocketAddr::new(ip, port);
                report.tried.push(addr);
                report.address = Some(addr);
                let start = Instant::now();
                match self.connect(addr, &host, proxy.as_ref()).await {
                    Ok(s) => {
                        report.connect = Ok(start.elapsed());
                        stream = Some(s);
                        break;
                    }
                    Err(e) => report.connect = Err(e),
                }
            }
            let Some(stream) = stream else { return report };
            let (cfg, rec) = client_config(self.roots.clone(), &[b"http/1.1"]);
            let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
            let Ok(name) = ServerName::try_from(host.clone()) else {
                report.tls = Some(Err(TlsFailure {
                    detail: format!("{host} is not a valid TLS server name"),
                    issuer: None,
                    subject: None,
                    wrong_name: false,
                }));
                return report;
            };
            let start = Instant::now();
            let seen = |rec: &Recording| {
                rec.seen
                    .lock()
                    .ok()
                    .and_then(|s| s.clone())
                    .map(|d| cert_names(&d))
                    .unwrap_or((None, None))
            };
            report.tls = Some(
                match tokio::time::timeout(
                    self.budget().op(Op::Connect),
                    connector.connect(name, stream),
                )
                .await
                {
                    Err(_) => {
                        let (subject, issuer) = seen(&rec);
                        Err(TlsFailure {
                            detail: "the TLS handshake did not finish in time".into(),
                            issuer,
                            subject,
                            wrong_name: false,
                        })
                    }
                    Ok(Err(e)) => {
                        let (subject, issuer) = seen(&rec);
                        let wrong_name = matches!(
                            e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
                            Some(rustls::Error::InvalidCertificate(
                                rustls::CertificateError::NotValidForName
                                    | rustls::CertificateError::NotValidForNameContext { .. }
                            ))
                        );
                        Err(TlsFailure {
                            detail: e.to_string(),
                            issuer,
                            subject,
                            wrong_name,
                        })
                    }
                    Ok(Ok(tls)) => {
                        let (_, conn) = tls.get_ref();
                        let (subject, issuer) = seen(&rec);
                        Ok((
                            start.elapsed(),
                            TlsInfo {
                                version: conn
                                    .protocol_version()
                                    .map(|v| format!("{v:?}"))
                                    .unwrap_or_default(),
                                alpn: conn
                                    .alpn_protocol()
                                    .map(|a| String::from_utf8_lossy(a).to_string()),
                                subject,
                                issuer,
                            },
                        ))
                    }
                },
            );
            report
        }
        .boxed()
    }

    fn get(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, HttpFailure>> {
        async move {
            let start = Instant::now();
            let mut rb = self.http.get(&req.url);
            for (k, v) in &req.headers {
                rb = rb.header(k, v);
            }
            if let Some((user, pass)) = &req.basic_auth {
                rb = rb.basic_auth(user, Some(pass.expose()));
            }
            let resp = match tokio::time::timeout(self.budget().op(Op::Http), rb.send()).await {
                Err(_) => {
                    return Err(HttpFailure::Timeout(format!(
                        "no answer from {} in time",
                        host(&req.url)
                    )))
                }
                Ok(Err(e)) => return Err(classify_reqwest(&e)),
                Ok(Ok(r)) => r,
            };
            let status = resp.status().as_u16();
            let remote = resp.remote_addr();
            let content_length = resp.content_length();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).to_string(),
                    )
                })
                .collect();
            // the digest is computed on another thread while the next chunks arrive: one
            // pass, no buffering beyond a few chunks in flight, and the hashing does not
            // hold up the reads (on a 2-core machine a 200 MB layer is as fast as curl)
            let (chunks, mut to_hash) = tokio::sync::mpsc::channel::<bytes::Bytes>(32);
            let hashing = tokio::task::spawn_blocking(move || {
                let mut hasher = Sha256::new();
                while let Some(chunk) = to_hash.blocking_recv() {
                    hasher.update(&chunk);
                }
                hex::encode(hasher.finalize())
            });
            let mut body = Vec::new();
            let mut bytes = 0u64;
            let mut complete = true;
            let mut body_error = None;
            let mut resp = resp;
            loop {
                match tokio::time::timeout(self.budget().chunk(), resp.chunk()).await {
                    Err(_) => {
                        complete = false;
                        body_error = Some(format!("no data for {:?}", self.timeout));
                        break;
                    }
                    Ok(Err(e)) => {
                        complete = false;
                        body_error = Some(crate::errors::chain(&e));
                        break;
                    }
                    Ok(Ok(None)) => break,
                    Ok(Ok(Some(chunk))) => {
                        bytes += chunk.len() as u64;
                        if body.len() < req.keep {
                            let room = req.keep - body.len();
                            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        }
                        // the receiver lives until every sender is gone
                        let _ = chunks.send(chunk).await;
                    }
                }
            }
            drop(chunks);
            let sha256 = hashing.await.unwrap_or_default();
            Ok(HttpResponse {
                status,
                headers,
                body,
                bytes,
                sha256,
                content_length,
                complete,
                body_error,
                elapsed: start.elapsed(),
                remote,
            })
        }
        .boxed()
    }
}

fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn classify_reqwest(e: &reqwest::Error) -> HttpFailure {
    let mut chain = crate::errors::chain(e);
    // the URL (a presigned one for layers) is long and known to the caller: leave it out
    if let Some(rest) = chain.strip_prefix("error sending request for url (") {
        if let Some((_, tail)) = rest.split_once("): ") {
            chain = format!("error sending request: {tail}");
        }
    }
    if e.is_timeout() || chain.contains("timed out") {
        HttpFailure::Timeout(chain)
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("TLS") {
        HttpFailure::Tls(chain)
    } else if e.is_connect() {
        HttpFailure::Connect(chain)
    } else {
        HttpFailure::Other(chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::env::FixedEnv;
    use tokio::net::TcpListener;

    /// A self-signed certificate (no key: only its names are read).
    const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIB8TCCAZigAwIBAgIUbhSMOzWjcobeDNBJtv9ZY4srOaQwCgYIKoZIzj0EAwIw
LzEYMBYGA1UEAwwPZWNyLWRvY3RvciB0ZXN0MRMwEQYDVQQKDAplY3ItZG9jdG9y
MCAXDTI2MTIwNDE1MTUzNVoYDzIxMjYxMTEwMTUxNTM1WjAvMRgwFgYDVQQDDA9l
Y3ItZG9jdG9yIHRlc3QxEzARBgNVBAoMCmVjci1kb2N0b3IwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASMTL2wqvjE/iy/5wtC1qpdB7UpM5HNEEmm3DUQMdlBVygP
wC+DvcgAyQ2c87N3iQQnq2et79VXVizkjobPPyYXo4GPMIGMMB0GA1UdDgQWBBT7
SOeMmxk+UJ/SOTe3oSQbJQgk3DAfBgNVHSMEGDAWgBT7SOeMmxk+UJ/SOTe3oSQb
JQgk3DAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwDAYDVR0TAQH/BAIwADAL
BgNVHQ8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwCgYIKoZIzj0EAwIDRwAw
RAIgUUPGAxYZ3E86MRsS0KdS8u9fUwA0WqzN1Oumfxmo1RoCIEoXnJ96Uc53wDeo
Pxm0i4Ad/rnonVQ/NGWkTjLtEsdj
-----END CERTIFICATE-----
";

    #[test]
    fn hosts_of_urls() {
        for (url, want) in [
            (
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/lab/app/manifests/1",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            ),
            (
                "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/a?X-Amz-Signature=s",
                "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
            ),
            ("http://127.0.0.1:5000/x", "127.0.0.1"),
            ("https://[::1]:8443/", "[::1]"),
            ("HTTPS://API.ECR.US-EAST-1.AMAZONAWS.COM", "api.ecr.us-east-1.amazonaws.com"),
            ("not a url", ""),
            ("", ""),
        ] {
            assert_eq!(host(url), want, "{url}");
        }
    }

    #[derive(Debug)]
    struct Chain(&'static str, Option<Box<Chain>>);

    impl std::fmt::Display for Chain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Chain {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    #[test]
    fn error_chains_read_every_cause_once() {
        let root = Chain("connection refused", None);
        let mid = Chain("tcp connect error", Some(Box::new(root)));
        let top = Chain("client error (Connect)", Some(Box::new(mid)));
        assert_eq!(
            crate::errors::chain(&top),
            "client error (Connect): tcp connect error: connection refused"
        );
        // a cause the message already quotes is not repeated
        let e = Chain(
            "dns error: no record",
            Some(Box::new(Chain("no record", None))),
        );
        assert_eq!(crate::errors::chain(&e), "dns error: no record");
        assert_eq!(crate::errors::chain(&Chain("alone", None)), "alone");
    }

    #[test]
    fn dns_failures() {
        use hickory_resolver::net::{DnsError, NetError, NoRecords};
        use hickory_resolver::proto::op::{Query, ResponseCode};
        let no_records =
            |code| NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(Query::new(), code)));
        let cases = [
            (NetError::Timeout, DnsFailure::Timeout),
            (no_records(ResponseCode::NXDomain), DnsFailure::NxDomain),
            (no_records(ResponseCode::NoError), DnsFailure::NoData),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)),
                DnsFailure::NxDomain,
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)),
                DnsFailure::ServFail(ResponseCode::ServFail.to_string()),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)),
                DnsFailure::ServFail(ResponseCode::Refused.to_string()),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::FormErr)),
                DnsFailure::Other(ResponseCode::FormErr.to_string()),
            ),
            (
                NetError::Io(Arc::new(std::io::Error::from(std::io::ErrorKind::TimedOut))),
                DnsFailure::Timeout,
            ),
            (
                NetError::Msg("request timed out upstream".into()),
                DnsFailure::Timeout,
            ),
            (
                NetError::NoConnections,
                DnsFailure::Unreachable(NetError::NoConnections.to_string()),
            ),
            (
                NetError::Io(Arc::new(std::io::Error::from(
                    std::io::ErrorKind::NetworkUnreachable,
                ))),
                DnsFailure::Unreachable("io error: network unreachable".into()),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(dns_failure(&err), want, "{err}");
        }
    }

    #[test]
    fn certificate_names() {
        use rustls::pki_types::pem::PemObject;
        let der = CertificateDer::from_pem_slice(CERT_PEM.as_bytes()).unwrap();
        let (subject, issuer) = cert_names(&der);
        let subject = subject.unwrap();
        assert!(subject.contains("CN=ecr-doctor test"), "{subject}");
        assert!(subject.contains("O=ecr-doctor"), "{subject}");
        assert_eq!(issuer.as_deref(), Some(subject.as_str()), "self-signed");
        assert_eq!(cert_names(b"not a certificate"), (None, None));
        // the same PEM as an AWS_CA_BUNDLE is one more root
        let plain = root_store(None).len();
        assert_eq!(root_store(Some(CERT_PEM.as_bytes())).len(), plain + 1);
        assert_eq!(root_store(Some(b"garbage")).len(), plain);
    }

    #[test]
    fn connect_requests() {
        let plain = url::Url::parse("http://proxy:3128").unwrap();
        assert_eq!(
            connect_request("api.ecr.us-east-1.amazonaws.com", 443, &plain),
            "CONNECT api.ecr.us-east-1.amazonaws.com:443 HTTP/1.1\r\nHost: api.ecr.us-east-1.amazonaws.com:443\r\n\r\n"
        );
        use base64::Engine as _;
        let with_user = url::Url::parse("http://us%40er:p%3Ass@proxy:3128").unwrap();
        let req = connect_request("h", 443, &with_user);
        let creds = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert!(
            req.contains(&format!("\r\nProxy-Authorization: Basic {creds}\r\n")),
            "{req}"
        );
        assert!(req.ends_with("\r\n\r\n"));
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
    }

    fn closed_port() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }

    /// A proxy on loopback that records what it is sent and answers `reply`.
    async fn fake_proxy(reply: &'static str) -> (SocketAddr, tokio::task::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        (addr, task)
    }

    fn net(env: &[(&str, &str)]) -> SystemNet {
        let proxy = ProxySettings::from_env(&FixedEnv::with(env));
        // a resolver that is never asked: every name here is an address
        SystemNet::new(Some(closed_port()), Duration::from_millis(500), None, proxy).unwrap()
    }

    const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    #[tokio::test]
    async fn the_dialer_follows_the_proxy_decision() {
        let (proxy, seen) = fake_proxy("HTTP/1.1 403 Forbidden\r\n\r\n").await;
        let url = format!("http://user:secret@{proxy}");
        let n = net(&[("HTTPS_PROXY", &url), ("NO_PROXY", "localhost")]);
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let r = n.dial(REGISTRY.into(), vec![ip], 443).await;
        assert_eq!(
            r.via_proxy,
            Some(format!("http://{proxy}/")),
            "no credentials shown"
        );
        assert_eq!(r.tried, [SocketAddr::new(ip, 443)]);
        match &r.connect {
            Err(ConnectFailure::Proxy(d)) => {
                assert!(
                    d.contains(&format!("CONNECT {REGISTRY}")) && d.contains("403"),
                    "{d}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.tls, None);
        let req = seen.await.unwrap();
        assert!(
            req.starts_with(&format!("CONNECT {REGISTRY}:443 HTTP/1.1\r\n")),
            "{req}"
        );
        assert!(req.contains("Proxy-Authorization: Basic "), "{req}");

        // a proxy that does not answer is the proxy's failure
        let dead = format!("http://{}", closed_port());
        let r = net(&[("HTTPS_PROXY", &dead)])
            .dial(REGISTRY.into(), vec![ip], 443)
            .await;
        assert!(
            matches!(&r.connect, Err(ConnectFailure::Proxy(d)) if d.starts_with("proxy 127.0.0.1:")),
            "{:?}",
            r.connect
        );

        // NO_PROXY covers the host: straight to its addresses, every one tried
        let a = closed_port();
        let b = closed_port();
        let n = net(&[("HTTPS_PROXY", &dead), ("NO_PROXY", ".amazonaws.com")]);
        let r = n
            .dial(REGISTRY.into(), vec![a.ip(), b.ip()], a.port())
            .await;
        assert_eq!(r.via_proxy, None);
        assert_eq!(r.tried.len(), 2);
        assert_eq!(r.connect, Err(ConnectFailure::Refused));
        // nothing to connect to
        let r = n.dial(REGISTRY.into(), vec![], 443).await;
        assert!(matches!(r.connect, Err(ConnectFailure::Other(_))));
    }

    #[tokio::test]
    async fn a_tunnel_without_tls_behind_it_fails_the_handshake() {
        let (proxy, seen) = fake_proxy("HTTP/1.1 200 Connection established\r\n\r\n").await;
        let n = net(&[("HTTPS_PROXY", &format!("http://{proxy}"))]);
        let r = n
            .dial(REGISTRY.into(), vec!["127.0.0.2".parse().unwrap()], 443)
            .await;
        assert!(r.connect.is_ok(), "{:?}", r.connect);
        let tls = r.tls.expect("a handshake was tried");
        let failure = tls.expect_err("nobody speaks TLS behind the tunnel");
        assert_eq!((failure.subject, failure.issuer), (None, None));
        assert!(seen.await.unwrap().starts_with("CONNECT "));
    }

    #[tokio::test]
    async fn reqwest_follows_the_proxy_decision() {
        // through the proxy: an http:// URL is sent to HTTP_PROXY in absolute form
        let (proxy, seen) =
            fake_proxy("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
        let target = closed_port();
        let n = net(&[("HTTP_PROXY", &format!("http://{proxy}"))]);
        let url = format!("http://{target}/v2/");
        let r = n
            .get(HttpRequest {
                url: url.clone(),
                ..Default::default()
            })
            .await
            .expect("the proxy answered");
        assert_eq!(r.status, 204);
        assert!(seen
            .await
            .unwrap()
            .starts_with(&format!("GET {url} HTTP/1.1")));

        // NO_PROXY covers the address: straight to it (a closed port)
        let (proxy, seen) = fake_proxy("HTTP/1.1 204 No Content\r\n\r\n").await;
        let n = net(&[
            ("HTTP_PROXY", &format!("http://{proxy}")),
            ("NO_PROXY", "127.0.0.0/8"),
        ]);
        let e = n
            .get(HttpRequest {
                url: format!("http://{target}/v2/secret-path"),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(e, HttpFailure::Connect(_)), "{e:?}");
        assert!(
            !e.detail().contains("secret-path"),
            "the URL is left out: {e:?}"
        );
        seen.abort();
    }

    #[tokio::test]
    async fn reqwest_failures_are_classified() {
        // an address that accepts and never answers: a timeout
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (_s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let e = net(&[])
            .get(HttpRequest {
                url: format!("http://{addr}/"),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(e, HttpFailure::Timeout(_)), "{e:?}");
        hold.abort();

        // an answer that is not HTTP
        let (addr, _seen) = fake_proxy("SSH-2.0-OpenSSH\r\n\r\n").await;
        let e = net(&[])
            .get(HttpRequest {
                url: format!("http://{addr}/"),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(e, HttpFailure::Other(_)), "{e:?}");
    }
}
