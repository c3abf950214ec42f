//! The sockets and byte streams under a link (UDP, TCP, serial), their reader and writer
//! tasks, and [`spawn`], which opens them and starts the runtime thread.

use super::{
    Driver, LinkConfig, LinkError, LinkEvents, LinkHandle, LinkStats, SERIAL_PEER, WakeFn,
};
use crate::mav::address::LinkAddress;
use crate::mav::tlog::TlogWriter;
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use mavlink::{AsyncMavlinkReader, SigningConfig, SigningData};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

// --- transport -----------------------------------------------------------------------------

pub(super) enum Inbound {
    Datagram {
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    Raw {
        from: SocketAddr,
        raw: Box<mavlink::MAVLinkMessageRaw>,
    },
    /// The transport ended; `generation` tells a stale stream's end from the current one's.
    Closed {
        generation: u64,
        why: String,
    },
    /// A `tcpout` link connected again.
    Reconnected {
        generation: u64,
        write: mpsc::Sender<Vec<u8>>,
    },
    /// A reconnection attempt failed.
    ConnectFailed,
}

pub(super) enum Transport {
    Udp {
        sock: Arc<tokio::net::UdpSocket>,
        fixed_peer: Option<SocketAddr>,
    },
    /// A byte stream (TCP, serial) to one peer; a writer task drains `write`.
    Stream {
        write: mpsc::Sender<Vec<u8>>,
        peer: SocketAddr,
        /// Which connection `write` belongs to (counts reconnections).
        generation: u64,
        /// Where to connect again when the stream ends (`tcpout`); `None` for serial.
        reconnect: Option<SocketAddr>,
        /// The stream ended and has not been replaced yet.
        down: bool,
    },
}

impl Transport {
    /// Sends without waiting; a full socket buffer drops the frame (UDP semantics).
    pub(super) fn send(&self, to: SocketAddr, bytes: &[u8]) -> bool {
        match self {
            Self::Udp { sock, fixed_peer } => {
                sock.try_send_to(bytes, fixed_peer.unwrap_or(to)).is_ok()
            }
            Self::Stream { write, .. } => write.try_send(bytes.to_vec()).is_ok(),
        }
    }
}

/// Receive buffer asked for on UDP links: a fleet's burst of telemetry must not overflow
/// the kernel's default (about 200 KB) while the runtime thread is briefly descheduled.
/// The kernel caps it at `net.core.rmem_max`.
const UDP_RECV_BUFFER_BYTES: usize = 4 << 20;

fn udp_socket(bind: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let domain = if bind.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a smaller buffer still works, it just drops sooner under load.
    let _ = sock.set_recv_buffer_size(UDP_RECV_BUFFER_BYTES);
    sock.set_nonblocking(true)?;
    sock.bind(&bind.into())?;
    tokio::net::UdpSocket::from_std(sock.into())
}

async fn open(
    address: &LinkAddress,
    inbound: mpsc::Sender<Inbound>,
) -> Result<(Transport, Option<SocketAddr>), LinkError> {
    let open_err = |source| LinkError::Open {
        address: address.to_string(),
        source,
    };
    match address {
        LinkAddress::UdpIn(a) | LinkAddress::UdpOut(a) => {
            let fixed_peer = matches!(address, LinkAddress::UdpOut(_)).then_some(*a);
            let bind: SocketAddr = if fixed_peer.is_some() {
                if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
                    .parse()
                    .map_err(|_| open_err(std::io::ErrorKind::InvalidInput.into()))?
            } else {
                *a
            };
            let sock = Arc::new(udp_socket(bind).map_err(open_err)?);
            let local = sock.local_addr().ok();
            let rx_sock = Arc::clone(&sock);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                loop {
                    match rx_sock.recv_from(&mut buf).await {
                        Ok((n, from)) => {
                            if inbound
                                .send(Inbound::Datagram {
                                    from,
                                    bytes: buf[..n].to_vec(),
                                })
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        // ICMP "port unreachable" of an earlier send shows up here on Linux: not fatal.
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                        Err(e) => {
                            let _ = inbound
                                .send(Inbound::Closed {
                                    generation: 0,
                                    why: e.to_string(),
                                })
                                .await;
                            break;
                        }
                    }
                }
            });
            Ok((Transport::Udp { sock, fixed_peer }, local))
        }
        LinkAddress::TcpOut(a) => {
            let stream = tokio::net::TcpStream::connect(a).await.map_err(open_err)?;
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            let (read, write) = stream.into_split();
            let write = spawn_stream(read, write, *a, inbound, 0);
            Ok((
                Transport::Stream {
                    write,
                    peer: *a,
                    generation: 0,
                    reconnect: Some(*a),
                    down: false,
                },
                local,
            ))
        }
        LinkAddress::Serial { path, baud } => {
            use tokio_serial::SerialPortBuilderExt;
            // 8N1 without flow control, as telemetry radios and autopilot UARTs default to.
            let port = tokio_serial::new(path, *baud)
                .data_bits(tokio_serial::DataBits::Eight)
                .parity(tokio_serial::Parity::None)
                .stop_bits(tokio_serial::StopBits::One)
                .flow_control(tokio_serial::FlowControl::None)
                .open_native_async()
                .map_err(|e| open_err(e.into()))?;
            let (read, write) = tokio::io::split(port);
            let write = spawn_stream(read, write, SERIAL_PEER, inbound, 0);
            Ok((
                Transport::Stream {
                    write,
                    peer: SERIAL_PEER,
                    generation: 0,
                    reconnect: None,
                    down: false,
                },
                None,
            ))
        }
    }
}

/// Frames queued for a byte stream's writer task: about a second of telemetry at 57,600 baud
/// many times over; a full queue drops the frame as a full UDP buffer would.
const STREAM_WRITE_QUEUE: usize = 1024;

/// Starts the reader and writer tasks of a byte stream (TCP, serial) and returns the writer's
/// queue. The `mavlink` crate finds the frames in the stream (resynchronising after garbage);
/// an I/O error or the end of the stream ends the reader with [`Inbound::Closed`], never a
/// silent retry loop.
pub(super) fn spawn_stream<R, W>(
    read: R,
    mut write: W,
    peer: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    generation: u64,
) -> mpsc::Sender<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(STREAM_WRITE_QUEUE);
    let write_errors = inbound.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Some(b) = wrx.recv().await {
            if let Err(e) = write.write_all(&b).await {
                let _ = write_errors
                    .send(Inbound::Closed {
                        generation,
                        why: e.to_string(),
                    })
                    .await;
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut reader = AsyncMavlinkReader::new(read);
        loop {
            match reader.read_any_raw_message::<MavMessage>().await {
                Ok(raw) => {
                    if inbound
                        .send(Inbound::Raw {
                            from: peer,
                            raw: Box::new(raw),
                        })
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Err(mavlink::error::MessageReadError::Io(e)) => {
                    let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        format!("connection to {peer} closed by the vehicle")
                    } else {
                        e.to_string()
                    };
                    let _ = inbound.send(Inbound::Closed { generation, why }).await;
                    break;
                }
                Err(mavlink::error::MessageReadError::Parse(_)) => {}
            }
        }
    });
    wtx
}

/// Starts a link: opens the transport on a new runtime thread named `aviary-mavlink` and
/// returns the handle and the event receiver. `wake` is called whenever events were queued.
pub fn spawn(config: LinkConfig, wake: WakeFn) -> Result<(LinkHandle, LinkEvents), LinkError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LinkError::Runtime)?;
    let tlog = config.tlog.as_deref().map(TlogWriter::create).transpose()?;
    let (req_tx, req_rx) = mpsc::channel(config.request_capacity.max(1));
    let (ev_tx, ev_rx) = mpsc::channel(config.event_capacity.max(16));
    let (in_tx, in_rx) = mpsc::channel(8192);
    let (transport, local_addr) = rt.block_on(open(&config.address, in_tx.clone()))?;
    let stats = Arc::new(LinkStats::default());
    let vehicles = Arc::new(Mutex::new(HashMap::new()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let driver = Driver {
        signing: config.signing.as_ref().map(|k| {
            SigningData::from_config(SigningConfig::new(k.secret, k.link_id, true, false))
        }),
        cfg: config,
        transport,
        ev_tx,
        wake,
        stats: Arc::clone(&stats),
        shared: Arc::clone(&vehicles),
        vehicles: HashMap::new(),
        backlog: VecDeque::new(),
        tlog,
        seq: 0,
        buf: Vec::with_capacity(300),
        decoded: Vec::new(),
        heartbeats_due: Vec::new(),
        heartbeats_per_tick: 1,
        woke: false,
        inbound: in_tx,
        reconnect_due: None,
        connecting: false,
        seq_inbox: VecDeque::new(),
        seq_running: false,
    };
    let thread = std::thread::Builder::new()
        .name("aviary-mavlink".into())
        .spawn(move || rt.block_on(driver.run(req_rx, in_rx, stop_rx)))
        .map_err(LinkError::Runtime)?;
    Ok((
        LinkHandle {
            tx: req_tx,
            stats,
            vehicles,
            shutdown: Arc::new(Mutex::new(Some((stop_tx, thread)))),
            local_addr,
        },
        LinkEvents { rx: ev_rx },
    ))
}
