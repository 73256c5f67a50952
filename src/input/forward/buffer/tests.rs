use super::*;

const KIB: usize = 1024;
const CHUNK: usize = 128 * KIB;
const MAX_FRAME: usize = 6_000_000;

fn fill(rb: &mut ReadBuffer, n: usize) {
    let room = rb.bytes().capacity() - rb.bytes().len();
    assert!(n <= room, "{n} > {room}");
    rb.bytes_mut().extend(std::iter::repeat_n(0u8, n));
}

#[tokio::test]
async fn a_connection_starts_small_and_a_small_frame_never_takes_a_ticket() {
    let account = Account::new(Some(1 << 20));
    let mut rb = ReadBuffer::new(account.clone());
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    assert_eq!(rb.kind(), Kind::Small);
    assert_eq!(account.in_use(), SMALL_BLOCK_BYTES);
    fill(&mut rb, 3000);
    let frame = (rb.split_frame(3000), rb.shared());
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    assert_eq!(rb.kind(), Kind::Small);
    // A new small block; the frame keeps the old one charged.
    assert_eq!(account.in_use(), 2 * SMALL_BLOCK_BYTES);
    assert_eq!(account.part(CHUNKS.0, CHUNKS.1).in_use(), 0);
    assert_eq!(rb.read_wait(), ReadWait::Unbounded);
    drop(frame);
    assert_eq!(account.in_use(), SMALL_BLOCK_BYTES);
}

/// Reading never holds more than its parts: with the chunks part full, a connection whose small
/// block is full waits holding only that block, and gets a chunk when an idle one is given back.
#[tokio::test(start_paused = true)]
async fn chunks_are_capped_by_their_part_and_idle_ones_are_given_back() {
    // Chunks part: a quarter of 1 MiB, two chunks.
    let account = Account::new(Some(1 << 20));
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut rb = ReadBuffer::new(account.clone());
        rb.make_room(CHUNK, None, MAX_FRAME).await;
        fill(&mut rb, SMALL_BLOCK_BYTES);
        rb.make_room(CHUNK, None, MAX_FRAME).await;
        assert_eq!(rb.kind(), Kind::Chunk);
        held.push(rb);
    }
    let chunks = account.part(CHUNKS.0, CHUNKS.1);
    assert_eq!(chunks.in_use(), 2 * CHUNK);
    let mut third = ReadBuffer::new(account.clone());
    third.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut third, SMALL_BLOCK_BYTES);
    let before = account.in_use();
    let waiting = tokio::spawn(async move {
        third.make_room(CHUNK, None, MAX_FRAME).await;
        third
    });
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!waiting.is_finished(), "the part is full");
    assert_eq!(
        account.in_use(),
        before,
        "a waiting connection holds only its small block"
    );
    // The first connection's frame completes and its peer goes quiet: it gives the chunk back.
    let rb = &mut held[0];
    let frame = rb.split_frame(SMALL_BLOCK_BYTES);
    assert_eq!(rb.read_wait(), ReadWait::Release(RELEASE_AFTER));
    rb.release();
    assert_eq!(rb.kind(), Kind::Small);
    drop(frame);
    let third = waiting.await.unwrap();
    assert_eq!(third.kind(), Kind::Chunk);
    assert_eq!(
        third.bytes().len(),
        SMALL_BLOCK_BYTES,
        "its bytes moved with it"
    );
    assert_eq!(chunks.in_use(), 2 * CHUNK);
    // Part of a frame in a chunk: the peer has FRAME_STALL to send the rest.
    assert_eq!(third.read_wait(), ReadWait::Stall(FRAME_STALL));
}

/// A chunk holding only the tail of a frame of small records is given back when the peer
/// pauses (the tail moves to a small block): a client writing to several connections in turn
/// may be blocked on a connection queued for that chunk.
#[tokio::test]
async fn a_small_tail_moves_off_its_chunk_when_the_peer_pauses() {
    let account = Account::new(Some(1 << 20));
    let chunks = account.part(CHUNKS.0, CHUNKS.1);
    let mut rb = ReadBuffer::new(account.clone());
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, SMALL_BLOCK_BYTES);
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, 10_000);
    let frames = (
        rb.split_frame(10_000 + SMALL_BLOCK_BYTES - 300),
        rb.shared(),
    );
    assert_eq!(rb.read_wait(), ReadWait::Release(RELEASE_AFTER));
    // While the part has room for another chunk, moving the tail would only cost a copy.
    rb.release();
    assert_eq!(rb.kind(), Kind::Chunk);
    // Another connection takes the last chunk: now the tail moves.
    let mut other = ReadBuffer::new(account.clone());
    other.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut other, SMALL_BLOCK_BYTES);
    other.make_room(CHUNK, None, MAX_FRAME).await;
    rb.release();
    assert_eq!(rb.kind(), Kind::Small);
    assert_eq!(rb.bytes().len(), 300);
    drop((frames, other));
    assert_eq!((chunks.in_use(), account.in_use()), (0, SMALL_BLOCK_BYTES));
    // A larger part of a frame keeps its chunk (its peer has FRAME_STALL).
    fill(&mut rb, SMALL_BLOCK_BYTES - 300);
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    assert_eq!(rb.kind(), Kind::Chunk);
    assert_eq!(rb.read_wait(), ReadWait::Stall(FRAME_STALL));
    let _full = account.part(CHUNKS.0, CHUNKS.1).charge(CHUNK).await;
    rb.release();
    assert_eq!(rb.kind(), Kind::Chunk);
}

/// A frame whose header announces its length is admitted whole, in one block (no doubling),
/// from the frames part; what follows it moves off the frame block.
#[tokio::test]
async fn an_announced_frame_is_charged_once_and_what_follows_moves_off_it() {
    let account = Account::new(Some(64 << 20));
    let frames = account.part(FRAMES.0, FRAMES.1);
    let mut rb = ReadBuffer::new(account.clone());
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, SMALL_BLOCK_BYTES);
    let len = 4_000_000;
    rb.make_room(CHUNK, Some(len), MAX_FRAME).await;
    assert_eq!(rb.kind(), Kind::Frame { admitted: true });
    assert_eq!(rb.bytes().capacity(), len + SMALL_BLOCK_BYTES);
    assert_eq!(frames.in_use(), len + SMALL_BLOCK_BYTES);
    assert_eq!(
        account.in_use(),
        len + SMALL_BLOCK_BYTES,
        "the small block was given back"
    );
    fill(&mut rb, len + 100 - SMALL_BLOCK_BYTES);
    // The block is full enough to read to its end, never more.
    rb.make_room(CHUNK, Some(len), MAX_FRAME).await;
    assert_eq!(rb.bytes().capacity(), len + SMALL_BLOCK_BYTES);
    let frame = (rb.split_frame(len), rb.shared());
    assert_eq!(rb.kind(), Kind::Frame { admitted: false });
    // 100 bytes of the next frame: moved to an account-only block, the frame keeps its ticket.
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    assert_eq!(rb.kind(), Kind::Small);
    assert_eq!(rb.bytes().len(), 100);
    assert_eq!(frames.in_use(), len + SMALL_BLOCK_BYTES);
    drop(frame);
    assert_eq!(frames.in_use(), 0);
}

/// A frame that announces nothing (an entry array) past a chunk is admitted for the frame
/// limit (the whole part when that is smaller), then grows without waiting for more tickets.
#[tokio::test]
async fn an_unannounced_large_frame_is_admitted_for_the_limit() {
    let account = Account::new(Some(16 << 20));
    let frames = account.part(FRAMES.0, FRAMES.1);
    let mut rb = ReadBuffer::new(account.clone());
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, SMALL_BLOCK_BYTES);
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, CHUNK - SMALL_BLOCK_BYTES - 1000);
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    assert_eq!(rb.kind(), Kind::Frame { admitted: true });
    assert_eq!(
        frames.in_use(),
        4 << 20,
        "the whole part (its limit is under the frame limit)"
    );
    for _ in 0..5 {
        let room = rb.bytes().capacity() - rb.bytes().len();
        fill(&mut rb, room);
        rb.make_room(CHUNK, None, MAX_FRAME).await;
    }
    assert!(rb.bytes().capacity() >= 4 * CHUNK);
    assert_eq!(account.in_use(), rb.bytes().capacity());
    let (len, cap) = (rb.bytes().len(), rb.bytes().capacity());
    // With a frame limit under the part, the ticket is the limit, and it shrinks to the block
    // once the frame is split off.
    let _ = (rb.split_frame(len), rb.shared());
    assert_eq!(frames.in_use(), (4 << 20).min(cap));
}

#[tokio::test]
async fn an_unannounced_frame_ticket_shrinks_to_its_block_once_split() {
    let account = Account::new(Some(64 << 20));
    let frames = account.part(FRAMES.0, FRAMES.1);
    let mut rb = ReadBuffer::new(account.clone());
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, SMALL_BLOCK_BYTES);
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    fill(&mut rb, CHUNK - SMALL_BLOCK_BYTES - 1000);
    rb.make_room(CHUNK, None, MAX_FRAME).await;
    assert_eq!(frames.in_use(), MAX_FRAME + SMALL_BLOCK_BYTES);
    let (len, cap) = (rb.bytes().len(), rb.bytes().capacity());
    let frame = (rb.split_frame(len), rb.shared());
    assert_eq!(frames.in_use(), cap);
    drop(frame);
    drop(rb);
    assert_eq!((frames.in_use(), account.in_use()), (0, 0));
}
