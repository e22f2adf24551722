//! Where a webhook may point (no SSRF): an `https` URL whose host is a public address — checked
//! when the endpoint is registered (the name resolved, every address public) and again on every
//! delivery, on the addresses the connection is actually made to (`webhook.rs`'s resolver), so a
//! name that later resolves to `127.0.0.1` or `169.254.169.254` reaches nothing.
//! `WEBHOOK_ALLOW_INSECURE=1` allows `http` and any address (development and tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::Error;

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Whether `ip` is a public unicast address (not loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64: an IPv4 address inside
        || first == 0x2002) // 6to4: an IPv4 address inside
}

/// A webhook URL as registered: parsed, `https` (or `http` when insecure is allowed), no
/// credentials, no fragment, at most [`MAX_URL_LEN`]; an IP-address host must be public unless
/// insecure is allowed. The name's addresses are checked by [`check_resolved`].
pub fn parse(url: &str, allow_insecure: bool) -> Result<Url, Error> {
    let refuse = |why: &str| Err(Error::Validation(format!("`url` {why}.")));
    if url.len() > MAX_URL_LEN {
        return refuse(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    let Ok(parsed) = Url::parse(url) else {
        return refuse("must be an absolute https URL");
    };
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return refuse("must be an https URL"),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("must not carry credentials");
    }
    if parsed.fragment().is_some() {
        return refuse("must not have a fragment");
    }
    let public = match parsed.host() {
        None => return refuse("must name a host"),
        Some(Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !(name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal"))
        }
    };
    if !public && !allow_insecure {
        return refuse("must point to a public address");
    }
    Ok(parsed)
}

/// Resolves `url`'s host and refuses it unless every address is public (or insecure is
/// allowed); a name that does not resolve is refused too.
pub async fn check_resolved(url: &Url, allow_insecure: bool) -> Result<(), Error> {
    if allow_insecure {
        return Ok(());
    }
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(()); // an address literal, checked by `parse`
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<_> = match tokio::net::lookup_host((name, port)).await {
        Ok(found) => found.collect(),
        Err(_) => Vec::new(),
    };
    if addresses.is_empty() {
        return Err(Error::Validation(
            "`url`'s host does not resolve to an address.".into(),
        ));
    }
    if addresses.iter().any(|a| !is_public(a.ip())) {
        return Err(Error::Validation(
            "`url` must point to a public address.".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_url_is_https_to_a_public_host_unless_insecure_is_allowed() {
        assert!(parse("https://hooks.example.com/in", false).is_ok());
        for bad in [
            "http://hooks.example.com/in",
            "https://127.0.0.1:9000/",
            "https://[::1]/",
            "https://localhost/",
            "https://user:pw@hooks.example.com/",
            "ftp://hooks.example.com/",
            "not a url",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        assert!(parse("http://127.0.0.1:9000/hook", true).is_ok());
    }
}
