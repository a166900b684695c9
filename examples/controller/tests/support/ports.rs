//! Ports for the processes a test starts. Shared by the test binaries of the examples (the echo
//! backend's tests include this file by path): all of them start servers on ports they choose.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// Lowest port tests are handed: below it sit well-known services.
const FIRST_TEST_PORT: u32 = 10_000;

/// A TCP port nothing holds now and that no other test of this run is handed.
///
/// Taken below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`): a port found
/// with `bind(0)` and released goes back to that range, where the next `bind(0)` (another
/// test's Envoy admin, or a port another test chose the same way) or an outgoing connection's
/// source port can take it before the server it was meant for binds it; that server then
/// fails to listen and the test times out.
pub fn free_port() -> u16 {
    // Envoy binds its listeners on 0.0.0.0: that must be free, not just 127.0.0.1.
    take(|port| port_of(TcpListener::bind(("0.0.0.0", port)).and_then(|l| l.local_addr())))
}

/// A UDP port nothing holds now and that no other test of this run is handed (see
/// [`free_port`]).
pub fn free_udp_port() -> u16 {
    take(|port| port_of(UdpSocket::bind(("0.0.0.0", port)).and_then(|s| s.local_addr())))
}

/// The port a socket was bound to, if it was.
fn port_of(bound: std::io::Result<SocketAddr>) -> Option<u16> {
    bound.ok().map(|a| a.port())
}

/// The next port of this run's sequence that `bind` can bind (it returns the port bound).
fn take(bind: impl Fn(u16) -> Option<u16>) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let span = ephemeral.saturating_sub(FIRST_TEST_PORT);
    if span < 1_000 {
        // No room below the ephemeral range: the kernel's choice, with its race.
        return bind(0).expect("bind an ephemeral port");
    }
    // Each test binary starts elsewhere: an Envoy of the previous one may still be draining.
    let start = std::process::id().wrapping_mul(7_919) % span;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < span, "no free port left below {ephemeral}");
        let port = u16::try_from(FIRST_TEST_PORT + (start + n) % span).expect("below 65536");
        if bind(port).is_some() {
            return port;
        }
    }
}
