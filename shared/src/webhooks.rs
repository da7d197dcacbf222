//! Webhooks (docs/API.md, "Webhooks"): what an endpoint subscribes to, where it may point, and
//! how a delivery is signed. Requests to endpoints leave from inside the deployment, so an
//! endpoint's host must resolve to public addresses only: never a private, loopback, link-local
//! (the instance metadata service's 169.254.169.254 among them), shared, reserved or multicast
//! one, checked when the endpoint is registered and again at each delivery (a name may resolve
//! elsewhere later). Plain `http` and loopback hosts are for the local stack only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use aws_lc_rs::{hmac, rand};
use reqwest::Url;
use serde::{Deserialize, Serialize};

/// Endpoints an organization may register.
pub const MAX_ENDPOINTS: i64 = 10;
/// The longest URL an endpoint may have.
const MAX_URL: usize = 2_048;
/// The longest a host's resolution may take.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// What a signing secret starts with, so that it reads as what it is.
const SECRET_PREFIX: &str = "whsec_";

/// An event an endpoint may subscribe to; `webhook.test` is sent on demand only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "invoice.accepted")]
    InvoiceAccepted,
    #[serde(rename = "invoice.rejected")]
    InvoiceRejected,
    #[serde(rename = "invoice.failed")]
    InvoiceFailed,
    #[serde(rename = "batch.completed")]
    BatchCompleted,
    #[serde(rename = "credit_note.accepted")]
    CreditNoteAccepted,
    #[serde(rename = "credit_note.rejected")]
    CreditNoteRejected,
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// The events an endpoint subscribes to.
    pub const SUBSCRIBABLE: [EventType; 6] = [
        Self::InvoiceAccepted,
        Self::InvoiceRejected,
        Self::InvoiceFailed,
        Self::BatchCompleted,
        Self::CreditNoteAccepted,
        Self::CreditNoteRejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvoiceAccepted => "invoice.accepted",
            Self::InvoiceRejected => "invoice.rejected",
            Self::InvoiceFailed => "invoice.failed",
            Self::BatchCompleted => "batch.completed",
            Self::CreditNoteAccepted => "credit_note.accepted",
            Self::CreditNoteRejected => "credit_note.rejected",
            Self::WebhookTest => "webhook.test",
        }
    }

    pub fn parse_subscribable(text: &str) -> Result<Self, String> {
        Self::SUBSCRIBABLE
            .into_iter()
            .find(|event| event.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::SUBSCRIBABLE.iter().map(|e| e.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

/// Where endpoints may point: public `https` hosts; with `local`, also plain `http` and loopback
/// hosts (the local stack's receivers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    pub local: bool,
}

impl Targets {
    /// The URL `text`, if an endpoint may have it (its host not yet resolved).
    pub fn url(self, text: &str) -> Result<Url, String> {
        if text.len() > MAX_URL {
            return Err(format!("must be at most {MAX_URL} characters"));
        }
        let url = Url::parse(text).map_err(|error| format!("is not a URL: {error}"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.local => {}
            _ => return Err("must be an https URL".to_owned()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user or a password".to_owned());
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment".to_owned());
        }
        let host = url.host_str().ok_or("must name a host")?;
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            self.address(ip)?;
        }
        Ok(url)
    }

    /// `Err` with why a request may not go to `ip`.
    pub fn address(self, ip: IpAddr) -> Result<(), String> {
        let loopback = match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        };
        if loopback && self.local {
            return Ok(());
        }
        match forbidden(ip) {
            Some(what) => Err(format!(
                "resolves to {ip}, {what}: only public addresses may be called"
            )),
            None => Ok(()),
        }
    }

    /// Every address the URL's host resolves to, each one allowed; the delivery connects to
    /// these, not to whatever the name resolves to a moment later.
    pub async fn resolve(self, url: &Url) -> Result<Vec<SocketAddr>, String> {
        let host = url.host_str().ok_or("must name a host")?;
        let port = url.port_or_known_default().ok_or("has no port")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| "its host did not resolve in time".to_owned())?;
        let addresses: Vec<SocketAddr> = lookup
            .map_err(|error| format!("its host does not resolve: {error}"))?
            .collect();
        if addresses.is_empty() {
            return Err("its host resolves to no address".to_owned());
        }
        for address in &addresses {
            self.address(address.ip())?;
        }
        Ok(addresses)
    }
}

/// What kind of address `ip` is, when it is not a public one.
fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let segments = v6.segments();
            let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
            // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits; 2002::/16
            // (6to4) in the 32 bits after its prefix.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return forbidden_v4(embedded(segments[6], segments[7]));
            }
            if segments[0] == 0x2002 {
                return forbidden_v4(embedded(segments[1], segments[2]));
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (the instance metadata service is one)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else if ip.is_documentation()
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
    {
        Some("a documentation, protocol or benchmarking address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique local address (the instance metadata service's fd00:ec2::254 is one)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if first & 0xe000 != 0x2000 {
        // Only 2000::/3 is global unicast: the rest (::a.b.c.d, 64:ff9b:1::/48...) is not.
        Some("not a global unicast address")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("a documentation address")
    } else if first == 0x2001 && ip.segments()[1] < 0x0200 {
        Some("an IETF protocol address (Teredo, benchmarking and others)")
    } else {
        None
    }
}

/// A new signing secret: `whsec_` and 32 random bytes, in hex.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0_u8; 32];
    rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness for a signing secret"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{SECRET_PREFIX}{hex}"))
}

/// The `invoicer-signature` header of `body` sent at `timestamp` (unix seconds): `t=<timestamp>`
/// and one `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` per secret (two while one rotates).
pub fn signature(secrets: &[&str], timestamp: i64, body: &str) -> String {
    let signed = format!("{timestamp}.{body}");
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let tag = hmac::sign(&key, signed.as_bytes());
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        header.push_str(",v1=");
        header.push_str(&hex);
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: Targets = Targets { local: false };
    const LOCAL: Targets = Targets { local: true };

    #[test]
    fn only_public_https_urls_are_endpoints_in_aws() {
        assert!(AWS.url("https://hooks.example.co/invoicer?x=1").is_ok());
        assert!(AWS.url("https://[2a05:d018::1]/hook").is_ok());
        assert!(
            AWS.url("https://[2002:5db8:d822::1]/hook").is_ok(),
            "6to4 of a public address"
        );
        for bad in [
            "http://hooks.example.co/",
            "ftp://hooks.example.co/",
            "https://user:pass@hooks.example.co/",
            "https://hooks.example.co/#frag",
            "https://127.0.0.1/",
            "https://10.0.0.7/",
            "https://172.16.3.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[64:ff9b:1::a00:1]/",
            "https://[::10.0.0.1]/",
            "https://[2002:a00:1::1]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://[2001:db8::1]/",
            "not a url",
        ] {
            assert!(AWS.url(bad).is_err(), "{bad}");
        }
        assert!(LOCAL.url("http://127.0.0.1:8080/hook").is_ok());
        assert!(LOCAL.url("http://[::1]:8080/hook").is_ok());
        assert!(
            LOCAL.url("http://169.254.169.254/").is_err(),
            "the metadata service, even locally"
        );
        assert!(LOCAL.url("http://10.1.2.3/").is_err());
    }

    #[tokio::test]
    async fn a_name_is_checked_by_what_it_resolves_to() {
        let localhost = Url::parse("http://localhost:9/hook").unwrap();
        assert!(AWS.resolve(&localhost).await.is_err());
        let addresses = LOCAL.resolve(&localhost).await.unwrap();
        assert!(addresses.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
    }

    /// The worked example of docs/API.md, "Verifying a delivery".
    #[test]
    fn the_signature_is_the_documented_hmac() {
        let secret = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let body = r#"{"id":"01JDQ7Z8X9Y0ABCDEFGHJKMNPQ","type":"webhook.test"}"#;
        let header = signature(&[secret], 1_796_112_000, body);
        assert_eq!(
            header,
            "t=1796112000,v1=a7ac98d7ecaf76618440b6fac25b0c8b37253552baff7242d16e5484efbecf70"
        );
        let rotating = signature(&[secret, "whsec_old"], 1_796_112_000, body);
        assert_eq!(rotating.matches(",v1=").count(), 2);
        assert!(rotating.starts_with(&header));
        assert_eq!(new_secret().unwrap().len(), SECRET_PREFIX.len() + 64);
        assert_ne!(new_secret().unwrap(), new_secret().unwrap());
    }
}
