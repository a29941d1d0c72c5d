//! A TCP fault proxy between topicform and a real broker, for the fault
//! suite (tests/faults.rs): the broker advertises the proxy's address, so
//! every connection a client makes (bootstrap and per-broker) goes through
//! it, and the test decides what the network does to it, at any moment:
//! pass, refuse, swallow requests, drop answers, delay, or cut connections
//! after some bytes. Loopback only; every thread stops with the proxy.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the network does to traffic through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes go through unchanged.
    Pass,
    /// Nothing listens: new connections are refused, open ones cut.
    Refuse,
    /// Requests are read and dropped; nothing is ever answered.
    Blackhole,
    /// Requests reach the broker; its answers are dropped.
    DropAnswers,
    /// Every chunk, both ways, waits this long first.
    Delay(Duration),
    /// Each connection is cut once the broker has sent this many bytes on it.
    CutAfter(usize),
    /// Writes that create (CreateTopics, CreatePartitions; not their
    /// `validate_only` form) wait this long before they reach the broker;
    /// everything else passes. A held write still lands if its client died
    /// meanwhile, as a request in flight does on a real network.
    HoldWrites(Duration),
    /// Writes that create are never delivered: the connection is cut when
    /// one is sent. Everything else passes.
    CutWrites,
}

/// A running proxy; stops (and cuts every connection) when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    /// Writes held so far ([`Fault::HoldWrites`], [`Fault::CutWrites`]).
    held: Arc<AtomicUsize>,
    /// Writes that create seen so far, whatever the fault.
    writes: Arc<AtomicUsize>,
    /// Requests seen so far by Kafka api key (benches/telemetry_lag.rs
    /// counts ListOffsets).
    requests: Arc<Mutex<std::collections::HashMap<i16, usize>>>,
    /// Whether the listener is open (it is closed while refusing).
    listening: Arc<AtomicBool>,
    /// Both sockets of each open connection, by connection number; a
    /// connection's pumps remove it when they end.
    open: Arc<Mutex<std::collections::HashMap<usize, [TcpStream; 2]>>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Listens on `listen` (a fixed port the broker advertises) and forwards
    /// to `upstream`.
    pub fn start(listen: SocketAddr, upstream: SocketAddr) -> FaultProxy {
        let proxy = FaultProxy {
            addr: listen,
            fault: Arc::new(Mutex::new(Fault::Pass)),
            held: Arc::new(AtomicUsize::new(0)),
            writes: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(Mutex::new(std::collections::HashMap::new())),
            listening: Arc::new(AtomicBool::new(true)),
            open: Arc::new(Mutex::new(std::collections::HashMap::new())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let net = Network {
            fault: proxy.fault.clone(),
            held: proxy.held.clone(),
            writes: proxy.writes.clone(),
            requests: proxy.requests.clone(),
            open: proxy.open.clone(),
            connections: Arc::new(AtomicUsize::new(0)),
        };
        let (stop, listening) = (proxy.stop.clone(), proxy.listening.clone());
        let listener = bind(listen);
        thread::spawn(move || accept_loop(listener, listen, upstream, net, listening, stop));
        proxy
    }

    /// How many writes [`Fault::HoldWrites`] held or [`Fault::CutWrites`] cut so far.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// How many writes that create (not `validate_only`) went through so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// How many requests with Kafka api key `api_key` went through so far
    /// (2 ListOffsets, 3 Metadata, 9 OffsetFetch, 19 CreateTopics).
    pub fn requests(&self, api_key: i16) -> usize {
        self.requests.lock().unwrap().get(&api_key).copied().unwrap_or(0)
    }

    /// From now on the network does `fault`; returns once the listener is
    /// closed (refusing) or open again. Refusing also cuts what is open.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
        if fault == Fault::Refuse {
            self.cut_all();
        }
        let want_listening = fault != Fault::Refuse;
        let started = std::time::Instant::now();
        while self.listening.load(Ordering::SeqCst) != want_listening {
            assert!(started.elapsed() < Duration::from_secs(5), "the fault proxy did not switch its listener");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Cuts every open connection at once (both directions).
    pub fn cut_all(&self) {
        for (_, streams) in self.open.lock().unwrap().drain() {
            for stream in streams {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut_all();
    }
}

fn bind(addr: SocketAddr) -> TcpListener {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("the fault proxy cannot listen on {addr}: {e}"));
    listener.set_nonblocking(true).expect("non-blocking listener");
    listener
}

/// What every connection's pumps share.
#[derive(Clone)]
struct Network {
    fault: Arc<Mutex<Fault>>,
    held: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
    requests: Arc<Mutex<std::collections::HashMap<i16, usize>>>,
    open: Arc<Mutex<std::collections::HashMap<usize, [TcpStream; 2]>>>,
    connections: Arc<AtomicUsize>,
}

impl Network {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap()
    }
}

/// Accepts while not refusing; while refusing, the listener is closed so a
/// client sees a real "connection refused".
fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    net: Network,
    listening: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    let mut listener = Some(listener);
    while !stop.load(Ordering::SeqCst) {
        let refusing = net.fault() == Fault::Refuse;
        match (&listener, refusing) {
            (Some(_), true) => listener = None,
            (None, false) => listener = Some(bind(addr)),
            _ => {}
        }
        listening.store(listener.is_some(), Ordering::SeqCst);
        let Some(l) = &listener else {
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        match l.accept() {
            Ok((client, _)) => connect(client, upstream, &net),
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn connect(client: TcpStream, upstream: SocketAddr, net: &Network) {
    let _ = client.set_nonblocking(false);
    let Ok(broker) = TcpStream::connect(upstream) else {
        // The broker is down (a restart): the client sees its connection cut.
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let clones = (client.try_clone(), broker.try_clone(), client.try_clone(), broker.try_clone());
    let (Ok(client_2), Ok(broker_2), Ok(client_3), Ok(broker_3)) = clones else {
        // Out of file descriptors: refuse this one rather than panic.
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let id = net.connections.fetch_add(1, Ordering::SeqCst);
    net.open.lock().unwrap().insert(id, [client_3, broker_3]);
    let (n1, n2) = (net.clone(), net.clone());
    thread::spawn(move || {
        pump(client, broker_2, Direction::Requests, &n1);
        n1.open.lock().unwrap().remove(&id);
    });
    thread::spawn(move || {
        pump(broker, client_2, Direction::Answers, &n2);
        n2.open.lock().unwrap().remove(&id);
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Client to broker.
    Requests,
    /// Broker to client.
    Answers,
}

/// Copies `from` to `to` until either side closes, doing what the fault in
/// force says: to each whole request on the way to the broker, to each
/// chunk of answers on the way back.
fn pump(mut from: TcpStream, mut to: TcpStream, direction: Direction, net: &Network) {
    let mut buf = [0u8; 16 * 1024];
    let mut answered = 0usize;
    let mut frames = Frames::default();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delivered = match direction {
            Direction::Requests => {
                frames.push(&buf[..n]);
                forward_requests(&mut frames, &mut to, net)
            }
            Direction::Answers => forward_answers(&buf[..n], &mut answered, &mut to, net.fault()),
        };
        if !delivered {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Sends on every complete request as the fault says; false once the
/// connection is to be cut.
fn forward_requests(frames: &mut Frames, to: &mut TcpStream, net: &Network) -> bool {
    while let Some(frame) = frames.next() {
        if let Some(key) = frame.get(4..6) {
            *net.requests.lock().unwrap().entry(i16::from_be_bytes([key[0], key[1]])).or_default() += 1;
        }
        let create = is_create_write(&frame);
        if create {
            net.writes.fetch_add(1, Ordering::SeqCst);
        }
        match net.fault() {
            Fault::Refuse => return false,
            Fault::Blackhole => continue,
            Fault::Delay(d) => thread::sleep(d),
            Fault::HoldWrites(hold) if create => {
                net.held.fetch_add(1, Ordering::SeqCst);
                thread::sleep(hold);
            }
            Fault::CutWrites if create => {
                net.held.fetch_add(1, Ordering::SeqCst);
                return false;
            }
            _ => {}
        }
        if to.write_all(&frame).is_err() {
            return false;
        }
    }
    true
}

/// Sends on a chunk of answers as the fault says; false once the
/// connection is to be cut.
fn forward_answers(chunk: &[u8], answered: &mut usize, to: &mut TcpStream, fault: Fault) -> bool {
    let chunk = match fault {
        Fault::Refuse => return false,
        Fault::Blackhole | Fault::DropAnswers => return true,
        Fault::Delay(d) => {
            thread::sleep(d);
            chunk
        }
        Fault::CutAfter(limit) => {
            let room = limit.saturating_sub(*answered);
            if room < chunk.len() {
                let _ = to.write_all(&chunk[..room]);
                return false;
            }
            chunk
        }
        _ => chunk,
    };
    *answered += chunk.len();
    to.write_all(chunk).is_ok()
}

/// Kafka requests cut out of a byte stream: a 4-byte big-endian size, then
/// the request (api key and version first).
#[derive(Default)]
struct Frames {
    pending: Vec<u8>,
}

impl Frames {
    fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    fn next(&mut self) -> Option<Vec<u8>> {
        let size = u32::from_be_bytes(self.pending.get(..4)?.try_into().ok()?) as usize;
        if self.pending.len() < 4 + size {
            return None;
        }
        Some(self.pending.drain(..4 + size).collect())
    }
}

/// A CreateTopics (api key 19) or CreatePartitions (37) request that is not
/// `validate_only`. The flag is the body's last field: the last byte in the
/// classic versions librdkafka sends (CreateTopics v0-4, CreatePartitions
/// v0-1), the one before the tagged-field count in flexible ones.
fn is_create_write(frame: &[u8]) -> bool {
    if frame.len() < 8 {
        return false;
    }
    let api_key = i16::from_be_bytes([frame[4], frame[5]]);
    let version = i16::from_be_bytes([frame[6], frame[7]]);
    let flexible = match api_key {
        19 => version >= 5,
        37 => version >= 2,
        _ => return false,
    };
    let validate_only = frame[frame.len() - if flexible { 2 } else { 1 }];
    validate_only == 0
}
