//! What the sandbox costs at scale, counted instead of timed: a busy machine changes how long
//! things take, not how much they allocate. This binary counts every heap allocation of its
//! process (the server runs in it too); its tests take turns, so each counts only its own.
//!
//! - Generating an org costs a bounded number of small allocations per user, the same per
//!   user for 20k users as for 200k (linear).
//! - Serving a page of the users search costs what it costs in a small org: paging is
//!   O(page), not O(org) (the order index is walked from the cursor; `OrgState::page`'s own
//!   test counts the users it looks at).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use atlassian_sandbox::*;
use common::Api;
use serde_json::json;

/// The system allocator, counting.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// One test at a time: the counters are the process's.
static TURN: Mutex<()> = Mutex::new(());

#[derive(Debug, Clone, Copy)]
struct Cost {
    allocations: u64,
    bytes: u64,
}

impl Cost {
    fn per(self, n: usize) -> (f64, f64) {
        (self.allocations as f64 / n as f64, self.bytes as f64 / n as f64)
    }
}

fn cost_of<R>(f: impl FnOnce() -> R) -> (R, Cost) {
    let (a, b) = (ALLOCATIONS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
    let r = f();
    (r, Cost { allocations: ALLOCATIONS.load(Ordering::SeqCst) - a, bytes: BYTES.load(Ordering::SeqCst) - b })
}

#[test]
fn generation_costs_a_few_small_allocations_per_user_at_any_size() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let (small, small_cost) = cost_of(|| generate_org(&OrgSpec { seed: 42, users: 20_000 }));
    let (large, large_cost) = cost_of(|| generate_org(&OrgSpec { seed: 42, users: 200_000 }));
    assert_eq!((small.users.len(), large.users.len()), (20_000, 200_000));
    let (small_allocs, small_bytes) = small_cost.per(20_000);
    let (large_allocs, large_bytes) = large_cost.per(200_000);
    assert!(large_allocs < 40.0 && large_bytes < 4096.0, "per user: {large_allocs} allocations, {large_bytes} bytes");
    // Linear: a user of a large org costs what a user of a small one does.
    assert!(large_allocs < small_allocs * 1.1, "per user: {large_allocs} allocations at 200k, {small_allocs} at 20k");
    assert!(large_bytes < small_bytes * 1.25, "per user: {large_bytes} bytes at 200k, {small_bytes} at 20k");
}

/// Starts a sandbox of `users` and walks 20 pages of 100 fully expanded users; the cost of
/// the start and of the pages.
fn start_and_page(users: usize) -> (Cost, Cost) {
    let (sb, start) = cost_of(|| Sandbox::start(SandboxOptions { users, cursor_salt: Some(1), ..Default::default() }).unwrap());
    let api = Api::new(&sb);
    let mut body = json!({"limit": 100, "expand": ["productAccess", "groups", "platformRoles", "counts.resources"]});
    let (seen, pages) = cost_of(|| {
        let mut seen = Vec::new();
        for _ in 0..20 {
            let j = api.search(&body).json();
            let data = j["data"].as_array().unwrap();
            assert_eq!(data.len(), 100);
            seen.extend(data.iter().map(|u| u["accountId"].as_str().unwrap().to_string()));
            body["cursor"] = j["links"]["next"].clone();
        }
        seen
    });
    assert_eq!(seen.iter().collect::<std::collections::HashSet<_>>().len(), 2000, "20 pages of distinct users");
    (start, pages)
}

#[test]
fn a_page_of_a_large_org_costs_what_a_page_of_a_small_one_does() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let (_, small_pages) = start_and_page(5_000);
    let (large_start, large_pages) = start_and_page(200_000);
    let (start_allocs, start_bytes) = large_start.per(200_000);
    assert!(start_allocs < 40.0 && start_bytes < 4096.0, "start, per user: {start_allocs} allocations, {start_bytes} bytes");
    // Within 10 %: a per-page list of every user's index alone would add a fifth.
    assert!(
        (large_pages.allocations as f64) < small_pages.allocations as f64 * 1.1 && (large_pages.bytes as f64) < small_pages.bytes as f64 * 1.1,
        "20 pages: {large_pages:?} at 200k users, {small_pages:?} at 5k"
    );
}
