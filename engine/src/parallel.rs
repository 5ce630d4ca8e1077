//! The engine's thread pools, and fork safety.
//!
//! Prefork servers (gunicorn, granian workers) fork after the parent may have used rayon; a child
//! that inherits a pool whose threads did not survive the fork would deadlock on first use. As in
//! huggingface/tokenizers, a `pthread_atfork` child handler marks the process as forked, and the
//! kernels then stay on the calling thread.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};

static FORKED: AtomicBool = AtomicBool::new(false);
static REGISTER: Once = Once::new();
static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();

extern "C" fn mark_forked() {
    FORKED.store(true, Ordering::SeqCst);
}

/// True in a child process forked after the engine was loaded with threads in use.
pub fn forked() -> bool {
    FORKED.load(Ordering::SeqCst)
}

/// A pool of exactly `threads` workers, built once per size and reused; `None` if threads cannot be
/// started, in which case callers count on the calling thread.
pub fn pool(threads: usize) -> Option<Arc<ThreadPool>> {
    REGISTER.call_once(|| {
        #[cfg(unix)]
        // SAFETY: registering a handler that only stores to an atomic is async-signal-safe.
        unsafe {
            libc::pthread_atfork(None, None, Some(mark_forked));
        }
    });
    if forked() {
        return None;
    }
    let pools = POOLS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = map.get(&threads) {
        return Some(p.clone());
    }
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("mlmon-{i}"))
        .build()
        .ok()?;
    let p = Arc::new(built);
    map.insert(threads, p.clone());
    Some(p)
}

/// The number of cores, asked once: `available_parallelism` reads cgroup files on every call.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
