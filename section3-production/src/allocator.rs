//! Which allocator this crate's binary runs on, and why hibernation needs to know.
//!
//! Hibernation (s3.e10) frees a quiet connection's WebSocket buffers, but freeing a
//! block only hands it back to the allocator: the process's RSS drops only when the
//! allocator hands whole pages back to the kernel. glibc's malloc (the system
//! allocator on Linux) keeps a freed block in its free lists; a page goes back only
//! when nothing live is left on it, and with thousands of connections opened one
//! after another, each freed buffer sits between blocks that stay. Connections that
//! hibernate as they arrive reuse each other's freed buffers, so the RSS never grows;
//! 19,000 that hibernate at once leave 19,000 holes and the RSS hardly moves.
//!
//! jemalloc keeps blocks of one size class together in slabs, so once every buffer
//! of a size is freed, whole slabs are empty, and it returns empty pages to the
//! kernel (`madvise`) on a timer. By default that timer only runs when the program
//! allocates ("decay" is driven by allocations) and spreads over 10 s; an idle server
//! allocates nothing, so [`JEMALLOC_OPTIONS`] turn on its background purging thread
//! and a 1 s decay. The cost: a few threads, and pages faulted in again when memory
//! is reused soon after. (mimalloc also groups by size, and was tried: it gave back
//! nothing here, with its default options or an immediate purge.)
//!
//! `cargo run -p section3-production --release --features jemalloc -- hibernate-cost`
//! measures the same server on jemalloc (the feature builds jemalloc's C sources
//! once, about a minute); `solutions/section3/part3.md` has both tables. This is tuning, not teaching code: the exercises never
//! depend on it, and nothing else in the course changes its allocator by default.

/// The allocator this build runs on, as the measurements name it.
pub const NAME: &str = if cfg!(feature = "jemalloc") {
    "jemalloc, purging in a background thread"
} else {
    "the system allocator (glibc malloc on Linux)"
};

/// A short name for file names and markers: `system` or `jemalloc`.
pub const SHORT_NAME: &str = if cfg!(feature = "jemalloc") {
    "jemalloc"
} else {
    "system"
};

/// jemalloc's options (with `--features jemalloc`), read once at its first allocation,
/// before `main`: purge from a background thread, so pages go back while the server
/// is idle, and over 1 s instead of 10 s; `muzzy_decay_ms:0` returns them with
/// `MADV_DONTNEED` (the RSS drops at once) rather than `MADV_FREE` (dropped only
/// under memory pressure, so `ps` would not show it). The binary hands them to
/// jemalloc (src/main.rs): a C global it reads must be defined in the binary itself.
pub const JEMALLOC_OPTIONS: &std::ffi::CStr =
    c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
