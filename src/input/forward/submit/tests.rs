//! A frame decoded in several pieces is acked once, after its last piece, and only if every
//! piece was accepted (or delivered); a frame cut off by its connection is never acked.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::*;
use crate::config::model::Overflow;
use crate::event::tag_match::TagMatcher;
use crate::event::{Batch, EventTime};
use crate::memory::Account;
use crate::pipeline::router::{Route, Router};

fn intake(limit: usize, overflow: Overflow) -> (Intake, mpsc::Receiver<Arc<Batch>>) {
    let (tx, rx) = mpsc::channel(16);
    let route = Route::new("out".into(), TagMatcher::new(Some("*"), None).unwrap(), tx);
    let router = Arc::new(Router::new(vec![route]));
    (Intake::new("in".into(), limit, overflow, router), rx)
}

/// A piece of `n` events; `ack` ends a frame with that chunk.
fn piece(account: &Account, n: usize, ack: Option<&str>, continued: bool, open_end: bool) -> Piece {
    let tag: Arc<str> = "t".into();
    let events = (0..n)
        .map(|_| Event {
            tag: tag.clone(),
            time: EventTime::new(0, 0),
            record: Bytes::from_static(b"\x80"),
        })
        .collect();
    let mut acks = Acks::default();
    if let Some(chunk) = ack {
        acks.push(chunk.as_bytes());
    }
    Piece {
        events,
        charge: account.empty(),
        shared: Vec::new(),
        data_bytes: 10,
        acks,
        continued,
        open_end,
    }
}

async fn nothing_sent(rx: &mut mpsc::Receiver<Acks>) -> bool {
    tokio::time::timeout(Duration::from_millis(50), rx.recv())
        .await
        .is_err()
}

#[tokio::test]
async fn accepted_a_frame_in_three_pieces_is_acked_once_after_the_last() {
    let (intake, _out) = intake(1 << 20, Overflow::Block);
    let account = Account::unbounded();
    let (tx, mut rx) = mpsc::channel(8);
    let mut s = Submitter::new(intake, AckMode::Accepted);
    s.submit(piece(&account, 5, None, false, true), &tx).await;
    s.submit(piece(&account, 5, None, true, true), &tx).await;
    assert!(nothing_sent(&mut rx).await, "no ack before the last piece");
    s.submit(piece(&account, 5, Some("c1"), true, false), &tx)
        .await;
    let acks = rx.recv().await.unwrap();
    assert_eq!(acks.count, 1);
    assert!(nothing_sent(&mut rx).await, "one ack");
    // The next frame starts a new chain.
    s.submit(piece(&account, 1, Some("c2"), false, false), &tx)
        .await;
    assert_eq!(rx.recv().await.unwrap().count, 1);
}

#[tokio::test]
async fn accepted_a_frame_with_a_dropped_piece_is_not_acked() {
    // A budget of 20 bytes, `drop_newest`: the second piece does not fit while the first is held.
    let (intake, _out) = intake(20, Overflow::DropNewest);
    let account = Account::unbounded();
    let (tx, mut rx) = mpsc::channel(8);
    let mut s = Submitter::new(intake, AckMode::Accepted);
    s.submit(piece(&account, 1, None, false, true), &tx).await;
    s.submit(piece(&account, 1, Some("c1"), true, false), &tx)
        .await;
    assert!(
        nothing_sent(&mut rx).await,
        "a frame missing a piece is not acked"
    );
}

#[tokio::test]
async fn delivered_the_ack_waits_for_every_piece_of_the_frame() {
    let (intake, mut out) = intake(1 << 20, Overflow::Block);
    let account = Account::unbounded();
    let (tx, mut rx) = mpsc::channel(8);
    let mut s = Submitter::new(intake, AckMode::Delivered);
    s.submit(piece(&account, 2, None, false, true), &tx).await;
    s.submit(piece(&account, 2, Some("c1"), true, false), &tx)
        .await;
    let first = out.recv().await.unwrap();
    let last = out.recv().await.unwrap();
    drop(last);
    assert!(
        nothing_sent(&mut rx).await,
        "the first piece is not delivered yet"
    );
    drop(first);
    assert_eq!(rx.recv().await.unwrap().count, 1);
}

/// The connection closed after the first piece of a frame: its ack was to travel with the last
/// piece, which never came, so nothing is acked (the peer resends the frame).
#[tokio::test]
async fn a_frame_cut_off_by_its_connection_is_not_acked() {
    for mode in [AckMode::Accepted, AckMode::Delivered] {
        let (intake, mut out) = intake(1 << 20, Overflow::Block);
        let account = Account::unbounded();
        let (tx, mut rx) = mpsc::channel(8);
        let mut submission = Submission::start(Submitter::new(intake, mode), tx);
        submission
            .submit(piece(&account, 3, Some("c0"), false, false))
            .await;
        submission
            .submit(piece(&account, 3, None, false, true))
            .await;
        submission.finish().await.unwrap();
        drop((out.recv().await, out.recv().await));
        assert_eq!(
            rx.recv().await.unwrap().count,
            1,
            "{mode:?}: the whole frame"
        );
        assert!(
            rx.recv().await.is_none(),
            "{mode:?}: nothing for the cut frame"
        );
    }
}
