//! Which addresses Portico may call when an administrator points it at a key manager
//! (SECURITY.md row 13). A URL is refused when its host is, or resolves to, an address that is
//! not on the public Internet: loopback, private, link-local (cloud metadata at
//! 169.254.169.254), unspecified, broadcast, documentation, shared (CGNAT), benchmarking,
//! multicast or reserved — in any spelling the URL parser accepts (`0x7f.1`, `2130706433`,
//! `[::ffff:127.0.0.1]`). IPv6 addresses that carry an IPv4 address (IPv4-mapped, SIIT, NAT64,
//! 6to4, Teredo, ISATAP) are judged by every IPv4 address they carry; local-use NAT64 and the
//! other special IPv6 ranges are refused whole. The check runs again on every resolved address
//! before connecting, and callers connect to the addresses checked here, so DNS cannot change
//! the answer in between. `allow_private_km_urls` lifts the address rules and allows plain http (local test servers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// True when an IPv4 address is not a public unicast address.
fn is_non_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()                                  // 127.0.0.0/8
        || ip.is_private()                            // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()                         // 169.254/16
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()                      // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || ip.is_multicast()                          // 224/4
        || a == 0                                     // "this network"
        || (a == 100 && (64..128).contains(&b))       // shared address space 100.64/10
        || (a == 192 && b == 0 && c == 0)             // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99)           // 6to4 relay anycast (deprecated)
        || (a == 198 && (18..20).contains(&b))        // benchmarking 198.18/15
        || a >= 240 // reserved 240/4
}

/// The IPv4 address `a.b.c.d` of two IPv6 segments.
fn v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The IPv4 addresses an IPv6 address carries, by the transition mechanism its range belongs
/// to: a connection to it may end at those IPv4 hosts (through the kernel, a NAT64 or SIIT
/// translator, a 6to4 relay, a Teredo server or an ISATAP router), so each must be public.
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let mut carried = Vec::new();
    if let Some(mapped) = ip.to_ipv4_mapped() {
        carried.push(mapped); // ::ffff:a.b.c.d (RFC 4291)
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        carried.push(v4(s[6], s[7])); // SIIT ::ffff:0:a.b.c.d (RFC 7915)
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        carried.push(v4(s[6], s[7])); // well-known NAT64 64:ff9b::/96 (RFC 6052)
    }
    if s[0] == 0x2002 {
        carried.push(v4(s[1], s[2])); // 6to4 2002:a.b.c.d::/48 (RFC 3056)
    }
    if s[0] == 0x2001 && s[1] == 0 {
        // Teredo (RFC 4380): the server in the clear, the client obfuscated (bits inverted).
        carried.push(v4(s[2], s[3]));
        carried.push(v4(!s[6], !s[7]));
    }
    if s[4] & 0xfcff == 0 && s[5] == 0x5efe {
        carried.push(v4(s[6], s[7])); // ISATAP interface identifier ::0:5efe:a.b.c.d (RFC 5214)
    }
    carried
}

/// True when an IPv6 address is not a public unicast address: outside global unicast
/// (2000::/3) or in one of its special ranges — except IPv4-mapped, SIIT and well-known NAT64
/// addresses, which reach the IPv4 address they carry — or when any IPv4 address it carries
/// (`embedded_v4`) is not public.
fn is_non_public_v6(ip: Ipv6Addr) -> bool {
    let carried = embedded_v4(ip);
    if carried.iter().any(|v4| is_non_public_v4(*v4)) {
        return true;
    }
    let s = ip.segments();
    let translated = ip.to_ipv4_mapped().is_some()
        || (s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0)
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0]);
    if translated {
        return false;
    }
    // Outside global unicast: ::/8 (loopback, unspecified, IPv4-compatible), 100::/64
    // (discard), 64:ff9b:1::/48 (local-use NAT64), fc00::/7, fe80::/10, ff00::/8 …
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    // IETF protocol assignments 2001::/23 (Teredo, benchmarking, ORCHID …).
    let protocol_assignment = s[0] == 0x2001 && s[1] < 0x200;
    // Documentation: 2001:db8::/32 and 3fff::/20 (RFC 9637).
    let documentation = (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] & 0xfff0) == 0x3ff0;
    !global_unicast || protocol_assignment || documentation
}

/// True when an address is not a public unicast address.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_non_public_v4(v4),
        IpAddr::V6(v6) => is_non_public_v6(v6),
    }
}

/// Parses an absolute key-manager URL and checks what can be checked without DNS: the scheme
/// (https; http too when private URLs are allowed), no credentials, a host, and — when the
/// host is an address or `localhost` — that it is public.
pub fn parse_url(value: &str, allow_private: bool) -> Result<Url, String> {
    let value = value.trim();
    let shown: String = value.chars().take(80).collect();
    let url = Url::parse(value).map_err(|_| format!("“{shown}” is not an absolute URL."))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(format!("“{shown}” must use https.")),
        _ => return Err(format!("“{shown}” must be an https URL.")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "“{shown}” must not contain a user name or password."
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| format!("“{shown}” has no host."))?;
    if !allow_private && host_is_non_public(&host) {
        return Err(format!(
            "“{shown}” points at a loopback, private or reserved address; key managers must be on a public host."
        ));
    }
    Ok(url)
}

fn host_is_non_public(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => is_non_public_v4(*ip),
        Host::Ipv6(ip) => is_non_public_v6(*ip),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// Resolves a checked URL's host and checks every address it resolves to; the caller connects
/// to exactly these addresses.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let host = url.host_str().ok_or("The URL has no host.")?;
    let port = url.port_or_known_default().ok_or("The URL has no port.")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| format!("The host {host} could not be resolved."))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("The host {host} could not be resolved."));
    }
    if !allow_private && addrs.iter().any(|a| is_non_public(a.ip())) {
        return Err(format!(
            "The host {host} resolves to a loopback, private or reserved address; key managers must be on a public host."
        ));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_13_spelling_of_a_non_public_address_is_refused() {
        for url in [
            "https://127.0.0.1/",
            "https://127.1.2.3/",
            "https://0x7f.1/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://017700000001/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://[64:ff9b::7f00:1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://255.255.255.255/",
            "https://192.0.2.1/",
            "https://198.51.100.7/",
            "https://203.0.113.9/",
            "https://[2001:db8::1]/",
            "https://100.64.0.1/",
            "https://198.18.0.1/",
            "https://224.0.0.1/",
            "https://240.0.0.1/",
            "https://localhost/",
            "https://api.localhost./",
        ] {
            assert!(parse_url(url, false).is_err(), "{url} must be refused");
            assert!(
                parse_url(url, true).is_ok(),
                "{url} allowed when private URLs are"
            );
        }
    }

    #[test]
    fn public_https_urls_pass_and_other_schemes_or_credentials_do_not() {
        assert!(parse_url("https://login.example.com/oauth2/token", false).is_ok());
        assert!(parse_url("https://8.8.8.8/", false).is_ok());
        assert!(parse_url("https://[2606:4700::1111]/", false).is_ok());
        assert!(parse_url("http://login.example.com/", false).is_err());
        assert!(parse_url("http://127.0.0.1:8080/", true).is_ok());
        assert!(parse_url("ftp://login.example.com/", true).is_err());
        assert!(parse_url("https://user:pw@login.example.com/", false).is_err());
        assert!(parse_url("/relative", false).is_err());
        assert!(parse_url("javascript:alert(1)", true).is_err());
    }

    #[test]
    fn addresses_are_judged_by_their_range() {
        assert!(is_non_public("127.0.0.1".parse().unwrap()));
        assert!(is_non_public("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!is_non_public("93.184.216.34".parse().unwrap()));
        assert!(!is_non_public("2606:4700::1111".parse().unwrap()));
    }

    /// SECURITY.md row 13: IPv6 transition addresses reach the IPv4 address they carry.
    const TRANSITION: &[(&str, bool)] = &[
        // (address, refused)
        ("::ffff:0:127.0.0.1", true),                   // SIIT
        ("::ffff:0:7f00:1", true),                      // SIIT, hex spelling
        ("::ffff:0:10.0.0.1", true),                    // SIIT, private
        ("::ffff:0:169.254.169.254", true),             // SIIT, metadata
        ("::ffff:0:8.8.8.8", false),                    // SIIT, public
        ("64:ff9b::10.0.0.1", true),                    // well-known NAT64, private
        ("64:ff9b::169.254.169.254", true),             // well-known NAT64, metadata
        ("64:ff9b::8.8.8.8", false),                    // well-known NAT64, public
        ("64:ff9b:1::7f00:1", true),                    // local-use NAT64 (/96 layout)
        ("64:ff9b:1:7f00:1::", true),                   // local-use NAT64 (/48 layout)
        ("64:ff9b:1:ffff::808:808", true),              // local-use NAT64: never public
        ("64:ff9b:2::808:808", true),                   // unassigned 64:ff9b::/32
        ("2002:7f00:1::1", true),                       // 6to4, loopback
        ("2002:a00:1::1", true),                        // 6to4, 10.0.0.1
        ("2002:c0a8:101::1", true),                     // 6to4, 192.168.1.1
        ("2002:a9fe:a9fe::1", true),                    // 6to4, metadata
        ("2002:808:808::1", false),                     // 6to4, public
        ("2001:0:808:808:0:0:80ff:fffe", true),         // Teredo client 127.0.0.1 (obfuscated)
        ("2001:0:808:808:0:0:f5ff:fffe", true),         // Teredo client 10.0.0.1
        ("2001:0:a00:1:0:0:f7f7:f7f7", true),           // Teredo server 10.0.0.1
        ("2001:0:808:808:0:0:f7f7:f7f7", true),         // Teredo, both public: 2001::/23 anyway
        ("2a00:1450:4001:81c::5efe:a00:1", true),       // ISATAP 10.0.0.1
        ("2a00:1450:4001:81c:200:5efe:7f00:1", true),   // ISATAP 127.0.0.1
        ("2a00:1450:4001:81c:200:5efe:808:808", false), // ISATAP, public
        ("::127.0.0.1", true),                          // IPv4-compatible (deprecated)
        ("::8.8.8.8", true),                            // IPv4-compatible, even public
        ("::ffff:127.0.0.1", true),                     // IPv4-mapped
        ("::ffff:8.8.8.8", false),                      // IPv4-mapped, public
        ("100::1", true),                               // discard-only
        ("3fff::1", true),                              // documentation (RFC 9637)
        ("fec0::1", true),                              // site-local
        ("ff02::1", true),                              // multicast
        ("2001:2::1", true),                            // benchmarking
        ("2606:4700::1111", false),
        ("2a00:1450:4001:81c::200e", false),
    ];

    #[test]
    fn ipv6_transition_addresses_are_judged_by_every_ipv4_address_they_carry() {
        for (address, refused) in TRANSITION {
            let ip: Ipv6Addr = address.parse().unwrap();
            assert_eq!(is_non_public(IpAddr::V6(ip)), *refused, "{address}");
            let url = format!("https://[{address}]/token");
            assert_eq!(parse_url(&url, false).is_err(), *refused, "{url}");
            assert!(
                parse_url(&url, true).is_ok(),
                "{url} allowed with private URLs"
            );
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_after_resolution() {
        let url = parse_url("https://localhost:443/", true).unwrap();
        assert!(resolve(&url, false).await.is_err());
        assert!(resolve(&url, true).await.is_ok());
        let url = parse_url("https://127.0.0.1/", true).unwrap();
        assert!(resolve(&url, false).await.is_err());
    }
}
