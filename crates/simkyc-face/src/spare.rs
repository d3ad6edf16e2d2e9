//! Spare cores a caller lends to the work it runs: the server, when another inference slot is
//! idle, lets one request run its independent network passes (a chip and its mirror, several
//! chips) on two threads at once instead of one after the other. Under load no slot is idle and
//! everything runs as before, one request per core. Lent per thread, for the duration of a call.

use std::cell::Cell;

thread_local! {
    static SPARE: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with `n` spare threads lent to it on this thread (0: none), restoring the previous
/// loan afterwards.
pub fn with_spare_threads<T>(n: usize, f: impl FnOnce() -> T) -> T {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            SPARE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SPARE.with(|s| s.replace(n)));
    f()
}

/// Spare threads lent to the current call.
pub fn spare_threads() -> usize {
    SPARE.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loans_nest_and_end_with_the_call() {
        assert_eq!(spare_threads(), 0);
        let inner = with_spare_threads(1, || (spare_threads(), with_spare_threads(3, spare_threads), spare_threads()));
        assert_eq!(inner, (1, 3, 1));
        assert_eq!(spare_threads(), 0);
        // Other threads are not lent anything.
        with_spare_threads(2, || assert_eq!(std::thread::spawn(spare_threads).join().unwrap(), 0));
    }
}
