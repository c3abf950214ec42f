//! Connection strings: `udpin:`, `udpout:`, `tcpout:`, `serial:`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// Where and how a `MAVLink` link connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAddress {
    /// Listen on a UDP address; reply to each vehicle at the address it sent from
    /// (`udpin:0.0.0.0:14550`; `udp:` is accepted as a synonym, as `MAVProxy` does).
    UdpIn(SocketAddr),
    /// Send to a fixed UDP address from an ephemeral port (`udpout:192.168.1.10:14550`).
    UdpOut(SocketAddr),
    /// Connect to a TCP server, e.g. SITL's `tcpout:127.0.0.1:5760`.
    TcpOut(SocketAddr),
    /// A serial port with a baud rate, `serial:/dev/ttyUSB0:57600` (`serial:COM3:57600` on
    /// Windows).
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
}

/// Why a connection string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `scheme:` prefix we know.
    #[error("unknown link scheme in {0:?} (expected udpin:, udpout:, tcpout: or serial:)")]
    Scheme(String),
    /// The host:port part did not resolve.
    #[error("cannot resolve {0:?} to a socket address")]
    Resolve(String),
    /// The serial part is not `path:baud`.
    #[error("serial address {0:?} must be serial:PATH:BAUD")]
    Serial(String),
}

fn resolve(s: &str) -> Result<SocketAddr, AddressError> {
    s.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| AddressError::Resolve(s.to_owned()))
}

impl FromStr for LinkAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| AddressError::Scheme(s.to_owned()))?;
        match scheme {
            "udpin" | "udp" => Ok(Self::UdpIn(resolve(rest)?)),
            "udpout" => Ok(Self::UdpOut(resolve(rest)?)),
            "tcpout" | "tcp" => Ok(Self::TcpOut(resolve(rest)?)),
            "serial" => {
                let (path, baud) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| AddressError::Serial(s.to_owned()))?;
                let baud = baud
                    .parse()
                    .map_err(|_| AddressError::Serial(s.to_owned()))?;
                if path.is_empty() {
                    return Err(AddressError::Serial(s.to_owned()));
                }
                Ok(Self::Serial {
                    path: path.to_owned(),
                    baud,
                })
            }
            _ => Err(AddressError::Scheme(s.to_owned())),
        }
    }
}

impl std::fmt::Display for LinkAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UdpIn(a) => write!(f, "udpin:{a}"),
            Self::UdpOut(a) => write!(f, "udpout:{a}"),
            Self::TcpOut(a) => write!(f, "tcpout:{a}"),
            Self::Serial { path, baud } => write!(f, "serial:{path}:{baud}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme_and_round_trips() {
        for s in [
            "udpin:0.0.0.0:14550",
            "udpout:127.0.0.1:14551",
            "tcpout:127.0.0.1:5760",
            "serial:/dev/ttyUSB0:57600",
        ] {
            let a: LinkAddress = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
        assert_eq!(
            "udp:127.0.0.1:1".parse::<LinkAddress>().unwrap(),
            LinkAddress::UdpIn("127.0.0.1:1".parse().unwrap())
        );
    }

    #[test]
    fn accepts_windows_serial_port_names() {
        // Windows names its ports COM1..COM9, and COM10 and above only through the device
        // namespace `\\.\COM10`; both split at the last colon, before the baud rate.
        for (s, path) in [
            ("serial:COM3:57600", "COM3"),
            ("serial:\\\\.\\COM10:115200", "\\\\.\\COM10"),
        ] {
            let a: LinkAddress = s.parse().unwrap();
            let LinkAddress::Serial { path: got, .. } = &a else {
                panic!("{s} parsed as {a:?}");
            };
            assert_eq!(got, path);
            assert_eq!(a.to_string(), s);
        }
        assert!(matches!(
            "serial:COM3".parse::<LinkAddress>(),
            Err(AddressError::Serial(_))
        ));
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        assert!(matches!(
            "ftp:x".parse::<LinkAddress>(),
            Err(AddressError::Scheme(_))
        ));
        assert!(matches!(
            "14550".parse::<LinkAddress>(),
            Err(AddressError::Scheme(_))
        ));
        assert!(matches!(
            "udpin:nohost".parse::<LinkAddress>(),
            Err(AddressError::Resolve(_))
        ));
        assert!(matches!(
            "serial:/dev/ttyS0".parse::<LinkAddress>(),
            Err(AddressError::Serial(_))
        ));
        assert!(matches!(
            "serial:/dev/ttyS0:fast".parse::<LinkAddress>(),
            Err(AddressError::Serial(_))
        ));
    }
}
