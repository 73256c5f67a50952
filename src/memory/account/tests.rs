use std::time::Duration;

use super::*;

#[tokio::test]
async fn charges_wait_for_room_and_give_it_back_on_drop() {
    let a = Account::new(Some(100));
    let first = a.charge(60).await;
    assert_eq!((a.in_use(), first.bytes()), (60, 60));
    assert!(a.try_charge(50).is_none());
    let waiting = a.charge(50);
    tokio::pin!(waiting);
    assert!(
        tokio::time::timeout(Duration::from_millis(20), &mut waiting)
            .await
            .is_err(),
        "50 more bytes must wait while 60 of 100 are held"
    );
    drop(first);
    let second = waiting.await;
    assert_eq!(a.in_use(), 50);
    drop(second);
    assert_eq!(a.in_use(), 0);
}

#[tokio::test]
async fn a_request_above_the_limit_is_charged_the_whole_limit() {
    let a = Account::new(Some(100));
    let big = a.try_charge(1_000).expect("an empty account admits it");
    assert_eq!((big.bytes(), a.in_use()), (100, 100));
    drop(big);
    let big = a.charge(usize::MAX).await;
    assert_eq!(big.bytes(), 100);
}

#[test]
fn split_merge_and_shrink_move_bytes_without_losing_any() {
    let a = Account::new(Some(1_000));
    let mut c = a.try_charge(300).unwrap();
    let part = c.split(120);
    assert_eq!((c.bytes(), part.bytes(), a.in_use()), (180, 120, 300));
    let all = c.split(10_000);
    assert_eq!((c.bytes(), all.bytes()), (0, 180));
    c.merge(all);
    c.merge(part);
    assert_eq!((c.bytes(), a.in_use()), (300, 300));
    c.shrink_to(50);
    assert_eq!((c.bytes(), a.in_use()), (50, 50));
    assert!(c.try_grow(950));
    assert!(!c.try_grow(1));
    assert_eq!(a.in_use(), 1_000);
    drop(c);
    assert_eq!(a.in_use(), 0);
}

#[test]
fn an_unbounded_account_admits_everything_and_counts_it() {
    let a = Account::unbounded();
    assert_eq!(a.limit(), None);
    let c = a.try_charge(1 << 40).unwrap();
    assert_eq!(a.in_use(), 1 << 40);
    drop(c);
    assert_eq!(a.in_use(), 0);
    assert_eq!(a.try_charge(0).unwrap().bytes(), 0);
}

proptest::proptest! {
    /// Whatever the sequence of charges, splits and drops, the account's use is the sum of the
    /// live charges and never above its limit.
    #[test]
    fn in_use_is_the_sum_of_live_charges(ops in proptest::collection::vec((0usize..4, 0usize..80), 1..60)) {
        let a = Account::new(Some(200));
        let mut live: Vec<Charge> = Vec::new();
        for (op, n) in ops {
            match op {
                0 => live.extend(a.try_charge(n)),
                1 if !live.is_empty() => { let i = n % live.len(); let p = live[i].split(n); live.push(p); }
                2 if !live.is_empty() => { let i = n % live.len(); live.swap_remove(i); }
                3 if live.len() > 1 => { let c = live.pop().unwrap(); live[0].merge(c); }
                _ => {}
            }
            let sum: usize = live.iter().map(Charge::bytes).sum();
            proptest::prop_assert_eq!(a.in_use(), sum);
            proptest::prop_assert!(sum <= 200);
        }
    }
}

#[tokio::test]
async fn a_part_is_shared_by_every_clone_and_bounded_by_its_share() {
    let a = Account::new(Some(1000));
    let part = a.part("reading", 4);
    assert_eq!(part.limit(), Some(250));
    let held = part.charge(200).await;
    let again = a.clone().part("reading", 2);
    assert_eq!(again.limit(), Some(250), "made once, by the first call");
    assert_eq!(again.in_use(), 200, "the same part");
    assert!(again.try_charge(100).is_none());
    assert_eq!(
        a.in_use(),
        0,
        "a part is an admission policy: the caller charges the account too"
    );
    assert_eq!(a.part("other", 2).limit(), Some(500));
    drop(held);
    assert_eq!(Account::unbounded().part("reading", 4).limit(), None);
}

#[tokio::test]
async fn an_unqueued_charge_is_woken_by_a_release_and_holds_no_one_up() {
    let account = Account::new(Some(100));
    let held = account.try_charge(90).unwrap();
    let waiting = tokio::spawn({
        let account = account.clone();
        async move { account.charge_unqueued(50).await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    // A smaller charge is not queued behind it (a queued `charge(50)` would hold it up).
    let small = tokio::time::timeout(Duration::from_secs(5), account.charge(10))
        .await
        .expect("a small charge is served while the unqueued one waits");
    drop(small);
    drop(held);
    let got = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("woken by the release")
        .unwrap();
    assert_eq!((got.bytes(), account.in_use()), (50, 50));
}

#[tokio::test]
async fn released_returns_at_the_next_release() {
    let account = Account::new(Some(10));
    let held = account.try_charge(10).unwrap();
    let watcher = tokio::spawn({
        let account = account.clone();
        async move { account.released().await }
    });
    tokio::task::yield_now().await;
    assert!(!watcher.is_finished());
    drop(held);
    tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("woken by the release")
        .unwrap();
}
