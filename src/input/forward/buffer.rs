//! A Forward connection's read buffer, charged to the process-wide memory account.
//!
//! Invariants: the buffer's whole capacity is charged before it is allocated, as one block
//! (`Arc<Charge>`) that the batches slicing it share, so the block's bytes are given back when
//! the last of them is gone, not before. A connection whose buffer is empty waits for memory as
//! long as it takes (it holds nothing: that wait is TCP flow control); one that holds part of a
//! frame waits at most [`MEMORY_WAIT`] for the rest, then gives up (the caller closes it), so
//! half-sent frames can never hold the account against the batches that would free it. Growing
//! for a large frame retries rather than queueing, so it never holds up smaller requests.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::memory::{Account, Charge};

use super::read_size::MIN_READ_SPACE_BYTES;

/// How long a connection holding undecoded bytes (part of a frame, or frames waiting for memory
/// to decode them) waits for memory before it is closed. firelane's own: Fluent Bit has no such
/// limit (its connections allocate without bound).
pub(super) const MEMORY_WAIT: Duration = Duration::from_secs(5);

/// The connection could not get memory in time; `held_bytes` of a frame were discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NoMemory {
    pub held_bytes: usize,
}

/// A read buffer whose capacity is charged.
pub(super) struct ReadBuffer {
    buf: BytesMut,
    /// The charge of `buf`'s allocation, shared with the batches that slice it.
    block: Arc<Charge>,
    account: Account,
}

/// Capacity of the next block for a buffer holding `len` unread bytes: the read chunk, or, to
/// assemble a frame larger than that, double what is held (so a frame is copied about once),
/// never more than a whole frame plus one read.
pub(super) fn next_block_bytes(len: usize, chunk: usize, max_frame_bytes: usize) -> usize {
    let needed = len + MIN_READ_SPACE_BYTES;
    if needed <= chunk {
        return chunk;
    }
    (2 * len)
        .min(max_frame_bytes + MIN_READ_SPACE_BYTES)
        .max(needed)
}

impl ReadBuffer {
    /// An empty buffer (nothing allocated, nothing charged).
    pub fn new(account: Account) -> Self {
        Self {
            buf: BytesMut::new(),
            block: Arc::new(account.empty()),
            account,
        }
    }

    /// Takes bytes already received (behind a handshake), charging them.
    pub async fn with_bytes(account: Account, bytes: BytesMut) -> Self {
        let charge = account.charge(bytes.capacity()).await;
        Self {
            buf: bytes,
            block: Arc::new(charge),
            account,
        }
    }

    pub fn bytes(&self) -> &BytesMut {
        &self.buf
    }

    pub fn bytes_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The charge of the current block, for a batch slicing it.
    pub fn block(&self) -> &Arc<Charge> {
        &self.block
    }

    /// Splits off the complete frame at the front.
    pub fn split_frame(&mut self, len: usize) -> Bytes {
        self.buf.split_to(len).freeze()
    }

    /// Makes room for a read of at least [`MIN_READ_SPACE_BYTES`], charging a new block first
    /// (see the module invariants for how long it waits).
    pub async fn make_room(
        &mut self,
        chunk: usize,
        max_frame_bytes: usize,
    ) -> Result<(), NoMemory> {
        if self.buf.capacity() - self.buf.len() >= MIN_READ_SPACE_BYTES {
            return Ok(());
        }
        let len = self.buf.len();
        let want = next_block_bytes(len, chunk, max_frame_bytes);
        let charge = if len == 0 {
            // Give the old block back first: frames already split off keep it charged.
            self.buf = BytesMut::new();
            self.block = Arc::new(self.account.empty());
            self.account.charge(want).await
        } else {
            poll_charge(&self.account, want)
                .await
                .ok_or(NoMemory { held_bytes: len })?
        };
        let mut block = BytesMut::with_capacity(want);
        block.extend_from_slice(&self.buf);
        self.buf = block;
        self.block = Arc::new(charge);
        Ok(())
    }
}

/// How often a connection assembling a large frame retries for memory.
const GROW_RETRY: Duration = Duration::from_millis(50);

/// Takes `bytes` of `account` when they are free, retrying for at most [`MEMORY_WAIT`]. Growing
/// a buffer for the rest of a frame does not queue in the account: a large request at the head of
/// its queue would hold up the small ones (decoding frames already here) that free memory.
async fn poll_charge(account: &Account, bytes: usize) -> Option<Charge> {
    let deadline = tokio::time::Instant::now() + MEMORY_WAIT;
    loop {
        if let Some(c) = account.try_charge(bytes) {
            return Some(c);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(GROW_RETRY).await;
    }
}

/// Waits for `bytes` of `account`, at most [`MEMORY_WAIT`] (the caller holds undecoded bytes).
pub(super) async fn charge_held(
    account: &Account,
    bytes: usize,
    held_bytes: usize,
) -> Result<Charge, NoMemory> {
    if let Some(c) = account.try_charge(bytes) {
        return Ok(c);
    }
    tokio::time::timeout(MEMORY_WAIT, account.charge(bytes))
        .await
        .map_err(|_| NoMemory { held_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    #[test]
    fn small_tails_get_one_chunk_large_frames_grow_by_doubling_up_to_a_frame() {
        let max = 6_144_000;
        assert_eq!(next_block_bytes(0, 128 * KIB, max), 128 * KIB);
        assert_eq!(next_block_bytes(10 * KIB, 128 * KIB, max), 128 * KIB);
        assert_eq!(next_block_bytes(100 * KIB, 128 * KIB, max), 200 * KIB);
        assert_eq!(
            next_block_bytes(4_000_000, 128 * KIB, max),
            max + MIN_READ_SPACE_BYTES
        );
        // Never less than the bytes held plus one read.
        assert_eq!(
            next_block_bytes(max, 128 * KIB, max),
            max + MIN_READ_SPACE_BYTES
        );
    }

    #[tokio::test]
    async fn a_block_stays_charged_while_a_frame_slices_it() {
        let account = Account::new(Some(1 << 20));
        let mut rb = ReadBuffer::new(account.clone());
        rb.make_room(128 * KIB, 1 << 20).await.unwrap();
        assert_eq!(account.in_use(), 128 * KIB);
        rb.bytes_mut().extend_from_slice(&[1u8; 100]);
        let frame = rb.split_frame(100);
        let held = rb.block().clone();
        // Empty again, and little room left: the old block stays charged for the frame.
        rb.bytes_mut().extend_from_slice(&[2u8; 70 * KIB]);
        let _ = rb.split_frame(70 * KIB);
        rb.make_room(128 * KIB, 1 << 20).await.unwrap();
        assert_eq!(account.in_use(), 256 * KIB);
        drop((frame, held));
        assert_eq!(account.in_use(), 128 * KIB);
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_frame_waits_a_bounded_time_an_empty_buffer_waits_as_long_as_needed() {
        let account = Account::new(Some(200 * KIB));
        let hog = account.charge(100 * KIB).await;
        let mut rb = ReadBuffer::new(account.clone());
        rb.make_room(64 * KIB, 1 << 20).await.unwrap();
        rb.bytes_mut().extend_from_slice(&[1u8; 10]);
        // Space is short with 10 bytes held: no room for a new 64 KiB block, give up after the wait.
        rb.bytes_mut().extend_from_slice(&vec![1u8; 64 * KIB - 20]);
        let started = tokio::time::Instant::now();
        assert_eq!(
            rb.make_room(64 * KIB, 1 << 20).await,
            Err(NoMemory {
                held_bytes: 64 * KIB - 10
            })
        );
        assert_eq!(started.elapsed(), MEMORY_WAIT);
        // An empty buffer holds nothing: it waits as long as it takes (here, until the hogs go).
        drop(rb);
        let hog2 = account.charge(100 * KIB).await;
        let mut rb = ReadBuffer::new(account.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiter = tokio::spawn(async move {
            let r = rb.make_room(64 * KIB, 1 << 20).await;
            let _ = tx.send(());
            (r, rb)
        });
        tokio::time::sleep(MEMORY_WAIT * 3).await;
        assert!(!waiter.is_finished());
        drop((hog, hog2));
        rx.await.unwrap();
        let (r, _rb) = waiter.await.unwrap();
        assert_eq!(r, Ok(()));
    }
}
