//! The `Host` guard of a server bound to a loopback address: a web page on another site can
//! make a browser send requests to 127.0.0.1 under a name of its own (DNS rebinding), so only
//! requests addressed to `localhost`, `127.0.0.1` or `[::1]` (with the server's port or none)
//! are answered — and, for a server with a proxy in front of it on this machine, those names
//! with the proxy's port. Pure functions.

use std::net::SocketAddr;

use crate::tus::reply::Reply;

/// Which `Host` headers a server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostGuard {
    /// Bound to a loopback address: only loopback names, with this port, the port of a proxy
    /// in front of the server (`proxy`), or none.
    Loopback { port: u16, proxy: Option<u16> },
    /// Bound elsewhere: any.
    Any,
}

impl HostGuard {
    /// The guard for a server listening on `address`, reached also through a proxy on this
    /// machine at `proxy_port` (when given).
    pub(crate) fn for_address(address: SocketAddr, proxy_port: Option<u16>) -> Self {
        if address.ip().is_loopback() {
            HostGuard::Loopback {
                port: address.port(),
                proxy: proxy_port,
            }
        } else {
            HostGuard::Any
        }
    }

    /// `Ok` when a request carrying `Host: host` (`None`: absent) may be answered; else 403.
    pub(crate) fn check(self, host: Option<&str>) -> Result<(), Reply> {
        let HostGuard::Loopback { port, proxy } = self else {
            return Ok(());
        };
        let refused = || {
            Reply::error(
                403,
                "Host: this server only answers requests to localhost, 127.0.0.1 or [::1]",
            )
        };
        let host = host.ok_or_else(refused)?.trim();
        let (name, given_port) = split_host(host).ok_or_else(refused)?;
        let loopback_name =
            name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]";
        let right_port = match given_port {
            None => true,
            Some(p) => p
                .parse::<u16>()
                .is_ok_and(|p| p == port || Some(p) == proxy),
        };
        if loopback_name && right_port {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

/// `name[:port]`, the name an IPv6 literal in brackets or a name without `:`.
fn split_host(host: &str) -> Option<(&str, Option<&str>)> {
    if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        return match rest {
            "" => Some((name, None)),
            _ => rest.strip_prefix(':').map(|p| (name, Some(p))),
        };
    }
    match host.split_once(':') {
        Some((name, port)) if !port.contains(':') => Some((name, Some(port))),
        Some(_) => None,
        None => Some((host, None)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn loopback_names_with_the_port_or_none() {
        let guard = HostGuard::for_address("127.0.0.1:8080".parse().unwrap(), None);
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:8080",
            "[::1]",
        ] {
            assert_eq!(guard.check(Some(ok)), Ok(()), "{ok}");
        }
        for refused in [
            None,
            Some("evil.example"),
            Some("evil.example:8080"),
            Some("127.0.0.1:8081"),
            Some("localhost.evil.example"),
            Some("127.0.0.1.nip.io:8080"),
            Some("[::1]x"),
            Some("::1"),
            Some("localhost:8080:1"),
            Some("127.0.0.1:"),
        ] {
            assert_eq!(guard.check(refused).unwrap_err().status, 403, "{refused:?}");
        }
    }

    #[test]
    fn other_addresses_answer_any_host() {
        let guard = HostGuard::for_address("0.0.0.0:8080".parse().unwrap(), Some(9090));
        assert_eq!(guard, HostGuard::Any);
        assert_eq!(guard.check(Some("anything")), Ok(()));
        let v6 = HostGuard::for_address("[::1]:9".parse().unwrap(), None);
        assert_eq!(
            v6,
            HostGuard::Loopback {
                port: 9,
                proxy: None
            }
        );
    }

    #[test]
    fn a_proxy_port_is_answered_on_loopback_names_only() {
        let guard = HostGuard::for_address("127.0.0.1:8080".parse().unwrap(), Some(9090));
        for ok in [
            "127.0.0.1:9090",
            "localhost:9090",
            "[::1]:9090",
            "127.0.0.1:8080",
        ] {
            assert_eq!(guard.check(Some(ok)), Ok(()), "{ok}");
        }
        for refused in ["evil.example:9090", "127.0.0.1:9091", "localhost:9090:1"] {
            assert_eq!(
                guard.check(Some(refused)).unwrap_err().status,
                403,
                "{refused}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_refuses_other_names(host in ".*") {
            let guard = HostGuard::Loopback { port: 80, proxy: Some(8080) };
            let answer = guard.check(Some(&host));
            let name = split_host(host.trim()).map(|(n, _)| n.to_ascii_lowercase());
            if answer.is_ok() {
                prop_assert!(matches!(name.as_deref(), Some("localhost" | "127.0.0.1" | "[::1]")));
            }
        }
    }
}
