//! The proxy decision of a run: which proxy, if any, carries a connection to
//! `scheme://host:port`. Read once from the injected environment ([`EnvProbe`]) and asked by
//! every connection: the dialer of the DNS/TCP/TLS checks, reqwest (registry and layer GETs),
//! the AWS SDK (STS, ECR, EC2, credential providers), and reported by `env.proxy`.
//!
//! Variables (the first set one wins): for `https://` HTTPS_PROXY, https_proxy, then
//! ALL_PROXY, all_proxy; for `http://` HTTP_PROXY, http_proxy, then ALL_PROXY, all_proxy.
//! NO_PROXY (or no_proxy) lists the destinations that go direct (see [`bypassed`]).

use super::EnvProbe;
use url::Url;

/// A proxy variable that is set: its name and value (which may carry a password).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyVar {
    pub variable: String,
    pub value: String,
    /// The value as a URL; None when no client could use it (then connections go direct).
    pub url: Option<Url>,
}

impl std::fmt::Debug for ProxyVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.variable, mask(&self.value))
    }
}

/// The proxy settings of the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// The proxy of `https://` destinations.
    pub https: Option<ProxyVar>,
    /// The proxy of `http://` destinations.
    pub http: Option<ProxyVar>,
    /// NO_PROXY (or no_proxy); empty when unset.
    pub no_proxy: String,
}

impl ProxySettings {
    pub fn from_env(env: &dyn EnvProbe) -> ProxySettings {
        let first = |names: &[&str]| {
            names.iter().find_map(|n| {
                env.var(n).map(|value| ProxyVar {
                    variable: n.to_string(),
                    url: parse_proxy_url(&value),
                    value,
                })
            })
        };
        ProxySettings {
            https: first(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
            http: first(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"])
                .map(|v| v.value)
                .unwrap_or_default(),
        }
    }

    /// The proxy that carries a connection to `scheme://host:port`; None: it goes direct.
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Option<&Url> {
        let var = match scheme {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let url = var.url.as_ref()?;
        if bypassed(&self.no_proxy, host, port) {
            return None;
        }
        Some(url)
    }

    /// [`Self::proxy_for`] the scheme, host and port of a URL.
    pub fn proxy_for_url(&self, url: &Url) -> Option<&Url> {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        self.proxy_for(url.scheme(), host, port)
    }

    /// Every distinct proxy a connection may go to.
    pub fn proxies(&self) -> Vec<&Url> {
        let mut out: Vec<&Url> = Vec::new();
        for u in [&self.https, &self.http]
            .into_iter()
            .flatten()
            .filter_map(|v| v.url.as_ref())
        {
            if !out.contains(&u) {
                out.push(u);
            }
        }
        out
    }
}

/// A proxy variable's value as a URL (`http://` assumed when no scheme is given, as curl
/// does). Only HTTP and HTTPS proxies are usable; anything else is None.
pub fn parse_proxy_url(value: &str) -> Option<Url> {
    let value = value.trim();
    let url = if value.contains("://") {
        Url::parse(value).ok()?
    } else {
        Url::parse(&format!("http://{value}")).ok()?
    };
    let usable =
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty());
    usable.then_some(url)
}

/// Whether a NO_PROXY value sends `host:port` direct. Entries are comma-separated; each is
/// `*` (everything), an IP address or CIDR block (matched against IP-literal hosts only), or
/// a domain: `example.com`, `.example.com` and `*.example.com` all match `example.com` and
/// its subdomains. An entry may end in `:PORT` (`[v6]:PORT` for IPv6), then it matches only
/// that port. Case and a trailing dot of the host are ignored.
pub fn bypassed(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    let host_ip = host.parse::<std::net::IpAddr>().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, entry_port) = split_port(&entry);
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            if let Ok(net) = name.parse::<ipnet::IpNet>() {
                return host_ip.is_some_and(|ip| net.contains(&ip));
            }
            if let Ok(ip) = name.parse::<std::net::IpAddr>() {
                return host_ip == Some(ip);
            }
            let suffix = name
                .trim_end_matches('.')
                .trim_start_matches('*')
                .trim_start_matches('.');
            !suffix.is_empty()
                && (host == suffix
                    || host
                        .strip_suffix(suffix)
                        .is_some_and(|head| head.ends_with('.')))
        })
}

/// `name:port` → (name, Some(port)); `[v6]:port` and `[v6]` unbracketed; bare IPv6 and
/// CIDR entries keep their colons.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((ip, tail)) = rest.split_once(']') {
            return (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((name, port))
            if !name.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (name, port.parse().ok())
        }
        _ => (entry, None),
    }
}

/// A proxy variable's value with any password hidden.
pub fn mask(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::env::FixedEnv;

    const API: &str = "api.ecr.us-east-1.amazonaws.com";
    const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const LAYERS: &str = "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com";

    fn settings(pairs: &[(&str, &str)]) -> ProxySettings {
        ProxySettings::from_env(&FixedEnv::with(pairs))
    }

    /// Which of the three ECR hosts (on 443) go through which proxy.
    fn decide(pairs: &[(&str, &str)]) -> [Option<String>; 3] {
        let s = settings(pairs);
        [API, REGISTRY, LAYERS].map(|h| s.proxy_for("https", h, 443).map(|u| u.to_string()))
    }

    #[test]
    fn the_decision_for_the_ecr_hosts() {
        let p = Some("http://proxy.corp:3128/".to_string());
        let all = [p.clone(), p.clone(), p.clone()];
        let none = [None, None, None];
        // (environment, the route of API, registry and layer host)
        type Case<'a> = (&'a [(&'a str, &'a str)], [Option<String>; 3]);
        let cases: &[Case] = &[
            (&[], none.clone()),
            // an HTTP-only proxy does not carry HTTPS traffic
            (&[("HTTP_PROXY", "http://proxy.corp:3128")], none.clone()),
            (&[("HTTPS_PROXY", "http://proxy.corp:3128")], all.clone()),
            (&[("https_proxy", "http://proxy.corp:3128")], all.clone()),
            (&[("ALL_PROXY", "http://proxy.corp:3128")], all.clone()),
            (&[("all_proxy", "proxy.corp:3128")], all.clone()),
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    ("NO_PROXY", "localhost,127.0.0.1,169.254.169.254"),
                ],
                all.clone(),
            ),
            (
                &[("HTTPS_PROXY", "http://proxy.corp:3128"), ("NO_PROXY", "*")],
                none.clone(),
            ),
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    ("NO_PROXY", ".amazonaws.com"),
                ],
                none.clone(),
            ),
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    ("no_proxy", "amazonaws.com"),
                ],
                none.clone(),
            ),
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    (
                        "NO_PROXY",
                        ".dkr.ecr.us-east-1.amazonaws.com,api.ecr.us-east-1.amazonaws.com",
                    ),
                ],
                [None, None, p.clone()],
            ),
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    ("NO_PROXY", "*.s3.us-east-1.amazonaws.com"),
                ],
                [p.clone(), p.clone(), None],
            ),
            // a port limits an entry to that port
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    (
                        "NO_PROXY",
                        "api.ecr.us-east-1.amazonaws.com:443,.amazonaws.com:8443",
                    ),
                ],
                [None, p.clone(), p.clone()],
            ),
            // another region's names do not match
            (
                &[
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    ("NO_PROXY", ".dkr.ecr.us-west-2.amazonaws.com,zonaws.com"),
                ],
                all.clone(),
            ),
            // HTTPS_PROXY wins over ALL_PROXY, NO_PROXY over no_proxy
            (
                &[
                    ("ALL_PROXY", "http://other:1"),
                    ("HTTPS_PROXY", "http://proxy.corp:3128"),
                    ("NO_PROXY", "localhost"),
                    ("no_proxy", "*"),
                ],
                all.clone(),
            ),
            // a value no client can use: direct
            (&[("HTTPS_PROXY", "socks5://proxy.corp:1080")], none.clone()),
            (&[("HTTPS_PROXY", "http://")], none.clone()),
        ];
        for (env, want) in cases {
            assert_eq!(&decide(env), want, "{env:?}");
        }
    }

    #[test]
    fn http_destinations_use_http_proxy() {
        let s = settings(&[
            ("HTTP_PROXY", "http://plain:8080"),
            ("HTTPS_PROXY", "http://secure:3128"),
            ("NO_PROXY", "169.254.169.254"),
        ]);
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            s.proxy_for_url(&u("http://example.com/x")).map(Url::as_str),
            Some("http://plain:8080/")
        );
        assert_eq!(
            s.proxy_for_url(&u(&format!("https://{API}/")))
                .map(Url::as_str),
            Some("http://secure:3128/")
        );
        assert_eq!(s.proxy_for_url(&u("http://169.254.169.254/latest")), None);
        assert_eq!(s.proxy_for_url(&u("ftp://example.com/")), None);
        assert_eq!(s.proxies().len(), 2);
        let one = settings(&[("ALL_PROXY", "http://p:1")]);
        assert_eq!(one.proxies().len(), 1, "{one:?}");
    }

    #[test]
    fn no_proxy_rules() {
        let h = REGISTRY;
        for (no_proxy, want) in [
            ("*", true),
            (".dkr.ecr.us-east-1.amazonaws.com", true),
            ("amazonaws.com", true),
            ("AMAZONAWS.COM.", true),
            ("localhost, .amazonaws.com", true),
            ("*.amazonaws.com", true),
            (&format!("{h}:443") as &str, true),
            (&format!("{h}:80"), false),
            ("", false),
            (" , ", false),
            ("dkr.ecr.us-west-2.amazonaws.com", false),
            ("zonaws.com", false),
            ("10.0.0.0/8,169.254.169.254", false),
        ] {
            assert_eq!(bypassed(no_proxy, h, 443), want, "{no_proxy:?}");
        }
        assert!(bypassed("amazonaws.com", &format!("{h}."), 443));
        // IP addresses and CIDR blocks match IP-literal hosts
        assert!(bypassed("10.0.0.0/8", "10.1.2.3", 443));
        assert!(!bypassed("10.0.0.0/8", "11.1.2.3", 443));
        assert!(bypassed("127.0.0.1", "127.0.0.1", 8080));
        assert!(bypassed("127.0.0.1:8080", "127.0.0.1", 8080));
        assert!(!bypassed("127.0.0.1:8080", "127.0.0.1", 443));
        assert!(bypassed("::1", "[::1]", 443));
        assert!(bypassed("[::1]:443", "::1", 443));
        assert!(bypassed("fd00::/8", "fd12::1", 443));
        assert!(!bypassed("0.0.0.0/0", "example.com", 443));
    }

    #[test]
    fn proxy_values() {
        for (value, want) in [
            ("http://proxy:3128", Some("http://proxy:3128/")),
            ("proxy.corp:3128", Some("http://proxy.corp:3128/")),
            ("https://proxy:443", Some("https://proxy/")),
            ("http://u:p@proxy:3128", Some("http://u:p@proxy:3128/")),
            ("socks5://proxy:1080", None),
            ("http://", None),
            ("", None),
        ] {
            assert_eq!(
                parse_proxy_url(value).map(|u| u.to_string()).as_deref(),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask("http://user:hunter2@proxy:3128"),
            "http://user:****@proxy:3128/"
        );
        assert_eq!(mask("http://proxy:3128"), "http://proxy:3128");
        let s = settings(&[("HTTPS_PROXY", "http://user:hunter2@proxy:3128")]);
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
