//! A Forward connection's read buffer, charged to the process-wide memory account.
//!
//! A buffer is one block of one of three kinds:
//! - *small* ([`SMALL_BLOCK_BYTES`]): where every connection starts and where an idle one waits;
//!   charged to the account only, as a fixed per-connection cost. Frames that fit (most
//!   container log frames) never need more.
//! - *chunk* (`buffer_chunk_size`): for a connection whose reads fill a small block; its
//!   ticket comes from the account's [`CHUNKS`] part, first come first served, and is given
//!   back after [`RELEASE_AFTER`] without data (what it holds of a frame, if no more than half a
//!   small block, moves to a small block), so idle connections never hold it.
//! - *frame*: a frame larger than a chunk, admitted whole from the [`FRAMES`] part: the length
//!   its `bin`/`str` header announces (plus [`SMALL_BLOCK_BYTES`] for the options behind it),
//!   or, when no header announces it (an entry array), `buffer_max_size`.
//!
//! Invariants: a block's bytes are charged to the account before it is allocated, as one charge
//! (`Arc<Charge>`, with its ticket) that the batches slicing it share, so they are given back
//! when the last of them is gone. Read buffers hold at most half of the account (a quarter in
//! chunks, a quarter in admitted frames; the parts' tickets), so decoding, filters and outputs
//! always have the other half to make progress and free memory. No wait can close a cycle:
//! a connection waits for a chunk or a frame holding at most a small block (or, for a frame, a
//! chunk, which is another part); a frame block never waits for a chunk (what follows a frame is
//! moved to an account-only block); the account itself is only polled by read buffers, never
//! queued on, so they never stand ahead of decoding in its queue. Nothing here waits with a
//! deadline: a peer that cannot be admitted is held back by TCP flow control. A peer holding
//! an admitted part of a frame without sending anything for [`FRAME_STALL`] is closed by the
//! caller (it would hold the part forever).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::memory::{Account, Charge};

use super::read_size::MIN_READ_SPACE_BYTES;

/// A connection's smallest block, charged to the account only: the fixed cost of a connection
/// that waits (for its peer, or for a chunk or frame ticket), and the headroom after an
/// announced frame length for the options that follow it.
pub(super) const SMALL_BLOCK_BYTES: usize = 4 * 1024;

/// The account part chunk tickets come from, and its share of the account (a quarter).
pub(super) const CHUNKS: (&str, usize) = ("forward-read-chunks", 4);

/// The account part whole-frame tickets come from, and its share (a quarter). Separate from the
/// chunks so that a connection holding a chunk while it waits for a frame ticket cannot hold up
/// the frames being admitted (and the other way round: a frame block never waits for a chunk).
pub(super) const FRAMES: (&str, usize) = ("forward-read-frames", 4);

/// A chunk with no data for this long is given back (the connection goes back to a small block).
pub(super) const RELEASE_AFTER: Duration = Duration::from_millis(50);

/// A connection holding a chunk or admitted frame with part of a frame in it, whose peer sends
/// nothing for this long, is closed (reason `memory`): a well-behaved peer sends a frame in one
/// go; one that stops halfway would hold the part forever. firelane's own: Fluent Bit has no such
/// limit (its connections allocate without bound).
pub(super) const FRAME_STALL: Duration = Duration::from_secs(30);

/// The longest a connection waits for a new chunk before looking again, when no release woke it
/// (read buffers never queue on the account: `Account::charge_unqueued`).
const RETRY: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Small,
    Chunk,
    /// `admitted`: the block was charged for the frame it holds the start of (not yet split off).
    Frame {
        admitted: bool,
    },
}

/// A read buffer whose capacity is charged.
pub(super) struct ReadBuffer {
    buf: BytesMut,
    /// The account charge of `buf`'s allocation, shared with the batches that slice it.
    block: Arc<Charge>,
    /// The part ticket of the block (empty for a small block), shared the same way.
    ticket: Arc<Charge>,
    kind: Kind,
    account: Account,
    chunks: Account,
    frames: Account,
}

/// What the buffer's next read may wait for before the caller acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadWait {
    /// As long as the peer takes.
    Unbounded,
    /// An empty chunk or frame block: give it back ([`ReadBuffer::release`]) after this.
    Release(Duration),
    /// Part of a frame in a ticketed block: close the connection after this without data.
    Stall(Duration),
}

impl ReadBuffer {
    /// An empty buffer (nothing allocated, nothing charged).
    pub fn new(account: Account) -> Self {
        Self {
            buf: BytesMut::new(),
            block: Arc::new(account.empty()),
            ticket: Arc::new(account.empty()),
            kind: Kind::Small,
            chunks: account.part(CHUNKS.0, CHUNKS.1),
            frames: account.part(FRAMES.0, FRAMES.1),
            account,
        }
    }

    /// Takes bytes already received (behind a handshake), charging them to the account.
    pub async fn with_bytes(account: Account, bytes: BytesMut) -> Self {
        let mut rb = Self::new(account);
        rb.block = Arc::new(rb.account.charge(bytes.capacity()).await);
        rb.buf = bytes;
        rb
    }

    pub fn bytes(&self) -> &BytesMut {
        &self.buf
    }

    pub fn bytes_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    #[cfg(test)]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The charges of the current block, for a batch slicing it.
    pub fn shared(&self) -> [Arc<Charge>; 2] {
        [Arc::clone(&self.block), Arc::clone(&self.ticket)]
    }

    /// Splits off the complete frame at the front. A frame block's ticket shrinks to the block
    /// (an unannounced frame was admitted for `buffer_max_size`); what follows the frame no
    /// longer holds it admitted.
    pub fn split_frame(&mut self, len: usize) -> Bytes {
        if let Kind::Frame { admitted: true } = self.kind {
            self.kind = Kind::Frame { admitted: false };
            if let Some(t) = Arc::get_mut(&mut self.ticket) {
                t.shrink_to(self.buf.capacity());
            }
        }
        self.buf.split_to(len).freeze()
    }

    /// How long the next read may wait (see [`ReadWait`]).
    pub fn read_wait(&self) -> ReadWait {
        match (self.kind, self.buf.len()) {
            (Kind::Small, _) => ReadWait::Unbounded,
            (_, 0) => ReadWait::Release(RELEASE_AFTER),
            // The tail of a frame of small records: moved to a small block if the peer pauses,
            // so that a ticket is never held waiting on a peer that may itself be waiting (a
            // client writing to several connections in turn) for a connection queued for one.
            (Kind::Chunk, len) if len <= SMALL_BLOCK_BYTES / 2 => ReadWait::Release(RELEASE_AFTER),
            _ => ReadWait::Stall(FRAME_STALL),
        }
    }

    /// Gives a chunk or frame block back when it is empty, or, when the chunks part is short,
    /// when it holds only a small block's worth of a frame and account bytes for that small
    /// block are free now (batches slicing the old block keep its charges).
    pub fn release(&mut self) {
        if self.kind == Kind::Small {
            return;
        }
        if self.buf.is_empty() {
            self.set_block(BytesMut::new(), self.account.empty(), None, Kind::Small);
        } else if self.kind == Kind::Chunk
            && self.buf.len() <= SMALL_BLOCK_BYTES / 2
            && self.chunks_short()
            && let Some(charge) = self.account.try_charge(SMALL_BLOCK_BYTES)
        {
            let mut block = BytesMut::with_capacity(SMALL_BLOCK_BYTES);
            block.extend_from_slice(&self.buf);
            self.set_block(block, charge, None, Kind::Small);
        }
    }

    /// Whether the chunks part could not give a chunk now (someone may be queued for one):
    /// only then is a chunk with a frame's tail given back (moving it costs a copy and a new
    /// ticket when the peer goes on).
    fn chunks_short(&self) -> bool {
        self.chunks
            .limit()
            .is_some_and(|l| self.chunks.in_use() + self.buf.capacity() > l)
    }

    fn set_block(&mut self, buf: BytesMut, charge: Charge, ticket: Option<Charge>, kind: Kind) {
        self.buf = buf;
        self.block = Arc::new(charge);
        self.ticket = Arc::new(ticket.unwrap_or_else(|| self.account.empty()));
        self.kind = kind;
    }

    /// Makes room for the next read: `chunk` is the connection's chunk size, `known` the length
    /// the frame in the buffer has at least (from its header), `max_frame_bytes` the limit.
    /// Waits (as long as it takes) for tickets and account bytes, as the module describes.
    pub async fn make_room(&mut self, chunk: usize, known: Option<usize>, max_frame_bytes: usize) {
        let chunk = chunk.max(MIN_READ_SPACE_BYTES);
        let len = self.buf.len();
        let space = self.buf.capacity() - len;
        if let Kind::Frame { admitted: false } = self.kind
            && len > 0
        {
            // What followed an admitted frame: off the frame block, which must never wait for
            // a chunk; account-only, like a small block.
            let size = (len + SMALL_BLOCK_BYTES).max(SMALL_BLOCK_BYTES);
            let charge = self.account.charge_unqueued(size).await;
            let mut block = BytesMut::with_capacity(size);
            block.extend_from_slice(&self.buf);
            self.set_block(block, charge, None, Kind::Small);
            return Box::pin(self.make_room(chunk, known, max_frame_bytes)).await;
        }
        let want = match self.kind {
            Kind::Small | Kind::Frame { admitted: false } => SMALL_BLOCK_BYTES / 2,
            Kind::Chunk => MIN_READ_SPACE_BYTES,
            // An admitted frame reads up to the end of its block.
            Kind::Frame { admitted: true } => 1,
        };
        if space >= want {
            return;
        }
        if len == 0 {
            // Nothing held: keep the kind the connection earned (a chunk if its reads filled
            // one), waiting with nothing.
            let earned = self.kind;
            self.release();
            if earned == Kind::Chunk {
                let ticket = self.chunks.charge(chunk).await;
                let charge = self.account.charge_unqueued(chunk).await;
                let block = BytesMut::with_capacity(chunk);
                self.set_block(block, charge, Some(ticket), Kind::Chunk);
            } else {
                let charge = self.account.charge(SMALL_BLOCK_BYTES).await;
                let block = BytesMut::with_capacity(SMALL_BLOCK_BYTES);
                self.set_block(block, charge, None, Kind::Small);
            }
            return;
        }
        let frame_cap = max_frame_bytes.saturating_add(SMALL_BLOCK_BYTES);
        match (self.kind, known) {
            (Kind::Frame { admitted: true }, _) => {
                // Admitted, and still not complete (unannounced length, or options larger than
                // the headroom): grow by doubling; the ticket already covers up to the limit
                // (or the whole part), the account is charged the block.
                let size = (2 * len).min(frame_cap).max(len + SMALL_BLOCK_BYTES);
                self.regrow(size, None, self.kind).await;
            }
            (_, Some(k)) if k.min(max_frame_bytes) + SMALL_BLOCK_BYTES > chunk => {
                let size = k.min(max_frame_bytes) + SMALL_BLOCK_BYTES;
                let ticket = self.frame_ticket(size).await;
                self.regrow(size, Some(ticket), Kind::Frame { admitted: true })
                    .await;
            }
            (_, None) if len + MIN_READ_SPACE_BYTES > chunk => {
                let ticket = self.frame_ticket(frame_cap).await;
                let size = (2 * len).min(frame_cap).max(len + MIN_READ_SPACE_BYTES);
                self.regrow(size, Some(ticket), Kind::Frame { admitted: true })
                    .await;
            }
            (Kind::Chunk, _) => {
                // A new chunk while this one is held (batches slice it): take it back in place
                // once they are gone, or a new ticket when one is free; never queue while
                // holding a ticket of the same part.
                loop {
                    if self.buf.try_reclaim(MIN_READ_SPACE_BYTES) {
                        return;
                    }
                    if let Some(ticket) = self.chunks.try_charge(chunk) {
                        self.regrow(chunk, Some(ticket), Kind::Chunk).await;
                        return;
                    }
                    // Woken when a chunk or any batch is given back; the bound covers a release
                    // between the checks above and the wait, and slices dropped after their
                    // batch's charge.
                    tokio::select! {
                        () = self.chunks.released() => {}
                        () = self.account.released() => {}
                        () = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
            _ => {
                // A small block filled by part of a frame: this connection reads more than a
                // small block at a time from now on.
                let ticket = self.chunks.charge(chunk).await;
                self.regrow(chunk, Some(ticket), Kind::Chunk).await;
            }
        }
    }

    /// A ticket for a frame of `size` from the frames part: first come, first served.
    async fn frame_ticket(&self, size: usize) -> Charge {
        self.frames.charge(size).await
    }

    /// Moves the held bytes into a new block of `size`, charged first.
    async fn regrow(&mut self, size: usize, ticket: Option<Charge>, kind: Kind) {
        let charge = self.account.charge_unqueued(size).await;
        let mut block = BytesMut::with_capacity(size);
        block.extend_from_slice(&self.buf);
        let ticket = match ticket {
            Some(t) => Some(t),
            // Growing an admitted frame keeps its ticket.
            None => Arc::get_mut(&mut self.ticket).map(|t| t.split(t.bytes())),
        };
        self.set_block(block, charge, ticket, kind);
    }
}

#[cfg(test)]
mod tests;
