//! The client's address: the one function that sign-in, sign-up, the request log and the audit
//! trail ask. It is the connection's peer address, unless that peer is one of the operator's
//! `trusted_proxies`: then the forwarded chain (`X-Forwarded-For`, else `Forwarded`) is read from
//! the right and the first address that is not a trusted proxy is the client. Everything left of
//! it was written by the client itself and is never believed.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::config::Settings;

/// One address or CIDR block (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    network: IpAddr,
    prefix: u8,
}

impl IpBlock {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_match(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_match(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_match(net: &[u8], ip: &[u8], prefix: u8) -> bool {
    let (bytes, bits) = ((prefix / 8) as usize, prefix % 8);
    if net[..bytes] != ip[..bytes] {
        return false;
    }
    bits == 0 || {
        let mask = 0xffu8 << (8 - bits);
        net[bytes] & mask == ip[bytes] & mask
    }
}

impl FromStr for IpBlock {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        let block = IpBlock { network, prefix };
        if host_bits_set(network, prefix) {
            return Err(format!(
                "{text:?}: the address has bits set beyond the /{prefix} prefix"
            ));
        }
        Ok(block)
    }
}

fn host_bits_set(network: IpAddr, prefix: u8) -> bool {
    match network {
        IpAddr::V4(ip) => u32::from(ip).checked_shl(prefix.into()).unwrap_or(0) != 0,
        IpAddr::V6(ip) => u128::from(ip).checked_shl(prefix.into()).unwrap_or(0) != 0,
    }
}

/// The `trusted_proxies` setting: whose forwarded headers are believed. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpBlock>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses or CIDR blocks; an empty list trusts nobody.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(IpBlock::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(ip))
    }
}

/// The client's address as Portico decides it (see the module comment).
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers).into_iter().rev() {
        // An entry that is not an address ("unknown", an obfuscated name, garbage) ends what can
        // be known: the last trusted hop is the best answer.
        let Some(hop) = hop else { break };
        client = hop;
        if !trusted.contains(hop) {
            break;
        }
    }
    client
}

/// The forwarded chain, left (the claimed origin) to right (the nearest proxy). `X-Forwarded-For`
/// is what common proxies write; `Forwarded` is read only when there is no `X-Forwarded-For`.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let joined = |name: &str| {
        headers
            .get_all(name)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let xff = joined("x-forwarded-for");
    if !xff.trim().is_empty() {
        return xff.split(',').map(parse_hop).collect();
    }
    joined("forwarded")
        .split(',')
        .filter(|element| !element.trim().is_empty())
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value.trim().trim_matches('"')))
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`, `[2001:db8::1]:443` → the address.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let inner = text.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The client address of a request, worked out once and kept in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ClientAddress {
    /// The address of `req` under the running settings' `trusted_proxies`.
    pub fn of(req: &HttpRequest) -> ClientAddress {
        if let Some(known) = req.extensions().get::<ClientAddress>() {
            return *known;
        }
        let no_proxies = TrustedProxies::default();
        let settings = req.app_data::<web::Data<Settings>>();
        let trusted = settings.map_or(&no_proxies, |s| &s.trusted_proxies);
        let address = ClientAddress(resolve(
            req.peer_addr().map(|a| a.ip()),
            req.headers(),
            trusted,
        ));
        req.extensions_mut().insert(address);
        address
    }
}

impl FromRequest for ClientAddress {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(ClientAddress::of(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8").unwrap();
        assert!(trusted.contains(ip("10.200.1.1")));
        assert!(trusted.contains(ip("::ffff:10.0.0.1")));
        assert!(trusted.contains(ip("192.0.2.7")));
        assert!(!trusted.contains(ip("192.0.2.8")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(!trusted.contains(ip("fe80::1")));
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        for bad in [
            "10.0.0.0/33",
            "proxy.example",
            "10.0.0.1/8",
            "10.0.0.0/x",
            "::1/129",
        ] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_peer() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            resolve(Some(ip("198.51.100.1")), &spoofed, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolve(Some(ip("10.0.0.2")), &spoofed, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let chain = headers(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.5"),
        ]);
        assert_eq!(
            resolve(Some(ip("10.0.0.2")), &chain, &trusted),
            ip("203.0.113.9")
        );
        let garbage = headers(&[("x-forwarded-for", "unknown, 10.0.0.5")]);
        assert_eq!(
            resolve(Some(ip("10.0.0.2")), &garbage, &trusted),
            ip("10.0.0.5")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https, for=\"10.0.0.9:80\"",
        )]);
        assert_eq!(
            resolve(Some(ip("10.0.0.2")), &forwarded, &trusted),
            ip("2001:db8::7")
        );
        assert_eq!(
            resolve(None, &forwarded, &trusted),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
    }
}
