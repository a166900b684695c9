//! The allocator the `gatewright` binary and the benchmarks link (feature `mimalloc`): mimalloc,
//! asked the way its C callers ask it.
//!
//! The `mimalloc` crate hands every request to `mi_malloc_aligned`, even Rust's usual alignments
//! of 16 bytes or less, which `mi_malloc` already guarantees. mimalloc 3 takes that call's fast
//! path only while the size class has a free block at hand; otherwise it over-allocates
//! (`size + align - 1`) from the next size class, so a class it left empty stays empty and every
//! later request of that size pays the slow path. A translation allocates tens of blocks per
//! route: about one in eight took it (3.6 % of a translation's instructions, callgrind, 1,000
//! routes), and blocks came out one size class larger. Upstream:
//! <https://github.com/purpleprotocol/mimalloc_rust/pull/170>.

use std::alloc::{GlobalAlloc, Layout};

/// mimalloc, with plain `mi_malloc` for requests its natural alignment satisfies.
#[derive(Debug, Default, Clone, Copy)]
pub struct Allocator;

/// `mi_malloc` aligns every block to 16 bytes, and a block of at least `align` bytes (Rust
/// sizes are multiples of their alignment) to `align` when that is smaller (the rule std's own
/// `System` allocator uses for `malloc`).
const MI_MAX_ALIGN_SIZE: usize = 16;

fn natural(align: usize, size: usize) -> bool {
    align <= MI_MAX_ALIGN_SIZE && align <= size
}

// SAFETY: blocks come from mimalloc alone (plain or aligned calls), and `mi_free` frees both
// kinds; the plain calls are used only where `natural` says mimalloc's guaranteed alignment
// covers the layout's.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if natural(layout.align(), layout.size()) {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if natural(layout.align(), layout.size()) {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on; `mi_free` frees blocks of either path.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if natural(layout.align(), new_size) {
            // SAFETY: `ptr` is a mimalloc block (the caller's contract), and the new block's
            // alignment is natural, as for `alloc`.
            unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout comes back aligned and usable, through each path and across a realloc
    /// between them.
    #[test]
    fn blocks_are_aligned_for_every_layout() {
        let a = Allocator;
        for align in [1usize, 2, 8, 16, 32, 64, 4096] {
            for size in [align, 24, 48, 100, 196, 1000, 5000] {
                let Ok(layout) = Layout::from_size_align(size.max(align), align) else {
                    continue;
                };
                // SAFETY: non-zero sizes; each block is freed once, with its own layout.
                unsafe {
                    let p = a.alloc_zeroed(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "{layout:?}");
                    assert!((0..layout.size()).all(|i| *p.add(i) == 0));
                    p.write_bytes(7, layout.size());
                    let grown = layout.size() * 3;
                    let q = a.realloc(p, layout, grown);
                    assert_eq!(q as usize % align, 0, "{layout:?} grown");
                    assert!((0..layout.size()).all(|i| *q.add(i) == 7));
                    a.dealloc(q, Layout::from_size_align(grown, align).unwrap());
                    let r = a.alloc(layout);
                    assert_eq!(r as usize % align, 0);
                    a.dealloc(r, layout);
                }
            }
        }
    }
}
