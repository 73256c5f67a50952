//! Transport for inputs and outputs: listening sockets and the connection cap, shutdown-aware
//! reads, the per-frame deadline, and TLS (accept and connect, with rustls configs built from
//! plain values). Nothing here knows a protocol or reads the configuration.

/// Shutdown-aware connection reads.
pub mod drain;
/// The per-frame deadline (`frame_timeout`): time waited on the peer for one frame or line.
pub mod frame_clock;
/// Listening sockets (TCP, Unix) and the connection cap.
pub mod listener;
/// Connection slots: the cap, progress, and eviction of the stalest when all are taken.
pub mod slots;
/// TLS: PEM files to rustls configs, the client connector and the server handshake.
pub mod tls;
