//! Helper threads that take part of a batch off the calling thread ([`crate::SparseEngine`]).
//!
//! One helper per core beyond the first, shared by every engine of the process and started at
//! the first batch that splits. A caller offers a job to an idle helper ([`offer`]) and works
//! on the batch itself meanwhile; whatever the job has not started when the caller is done is
//! taken back ([`Offered::finish`]), so a helper that is busy (another engine's batch) or slow
//! to wake never makes a batch slower than running it alone.
//!
//! A helper looks for its next job for [`SPIN`] after its last one before it sleeps (waking a
//! sleeping thread costs tens of microseconds on a virtual machine, as much as a small batch
//! takes; the thread pools of XLA and OpenMP spin likewise), yielding between looks, so that
//! it never keeps a core from a thread that has work.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle helper looks for a new job before it sleeps.
const SPIN: Duration = Duration::from_millis(2);

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A helper's states: no job; a job offered (in `job`, or being put there or taken back);
/// a job running.
const IDLE: u8 = 0;
const OFFERED: u8 = 1;
const RUNNING: u8 = 2;

struct Helper {
    state: AtomicU8,
    /// The offered job with its ticket (so that only its own caller takes it back: a caller
    /// whose job has run may look after another caller has offered the next one), and
    /// whether the helper sleeps waiting for one (then an offer wakes it; a looking helper is
    /// not woken, which would cost a system call per offer).
    job: Mutex<(Option<(u64, Job)>, bool)>,
    wake: Condvar,
}

/// Tickets of offered jobs ([`Helper::job`]).
static TICKETS: AtomicU64 = AtomicU64::new(0);

/// The lock's value even when a job panicked while holding it (jobs never hold it: the
/// value is an `Option` that is only moved in and out).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The helpers, started at the first call: one fewer than the machine's cores (none on one
/// core; fewer if a thread cannot be started).
fn helpers() -> &'static [Arc<Helper>] {
    static HELPERS: OnceLock<Vec<Arc<Helper>>> = OnceLock::new();
    HELPERS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()) - 1;
        (0..n)
            .filter_map(|i| {
                let h = Arc::new(Helper {
                    state: AtomicU8::new(IDLE),
                    job: Mutex::new((None, false)),
                    wake: Condvar::new(),
                });
                let run = Arc::clone(&h);
                std::thread::Builder::new()
                    .name(format!("tessera-helper-{i}"))
                    .spawn(move || serve(&run))
                    .ok()
                    .map(|_| h)
            })
            .collect()
    })
}

/// How many helpers the process has (starting them).
pub(crate) fn count() -> usize {
    helpers().len()
}

/// A helper's loop: take an offered job (looking for one for [`SPIN`], yielding between looks,
/// then sleeping until one is offered), run it, and be idle again.
fn serve(h: &Helper) {
    loop {
        let since = Instant::now();
        let job = loop {
            if h.state.load(Ordering::Acquire) == OFFERED
                && let Some((_, job)) = lock(&h.job).0.take()
            {
                break job;
            }
            if since.elapsed() > SPIN {
                let mut slot = lock(&h.job);
                slot.1 = true;
                while slot.0.is_none() {
                    slot = h.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
                }
                slot.1 = false;
                if let Some((_, job)) = slot.0.take() {
                    break job;
                }
            }
            // (yielding, not only spinning: a helper woken onto the caller's core must not
            // hold it for the spin's length while the caller waits to run)
            std::thread::yield_now();
        };
        h.state.store(RUNNING, Ordering::Release);
        // (a job catches its own panics: see `offer`)
        job();
        h.state.store(IDLE, Ordering::Release);
    }
}

/// A job's result, set once by whichever thread ran it.
struct Done<T> {
    ready: AtomicBool,
    value: Mutex<Option<std::thread::Result<T>>>,
}

/// A job offered to a helper ([`offer`]).
pub(crate) struct Offered<T> {
    helper: &'static Helper,
    ticket: u64,
    done: Arc<Done<T>>,
}

/// Offer `f` to an idle helper; `None` (and `f` dropped) when every helper is busy or there
/// is none.
pub(crate) fn offer<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<Offered<T>> {
    let helper = helpers().iter().find(|h| {
        h.state
            .compare_exchange(IDLE, OFFERED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })?;
    let done = Arc::new(Done {
        ready: AtomicBool::new(false),
        value: Mutex::new(None),
    });
    let sets = Arc::clone(&done);
    let job: Job = Box::new(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        *lock(&sets.value) = Some(r);
        sets.ready.store(true, Ordering::Release);
    });
    let ticket = TICKETS.fetch_add(1, Ordering::Relaxed);
    let mut slot = lock(&helper.job);
    slot.0 = Some((ticket, job));
    if slot.1 {
        helper.wake.notify_one();
    }
    drop(slot);
    Some(Offered {
        helper,
        ticket,
        done,
    })
}

impl<T> Offered<T> {
    /// The job's result: `None` when no helper had started it (it is taken back, and never
    /// runs), else what it returned once it is done. A panic in the job is resumed here.
    pub(crate) fn finish(self) -> Option<T> {
        let mut slot = lock(&self.helper.job);
        if slot.0.as_ref().is_some_and(|(t, _)| *t == self.ticket) {
            // (taken back before the helper took it: the helper is idle again)
            slot.0 = None;
            self.helper.state.store(IDLE, Ordering::Release);
            return None;
        }
        drop(slot);
        while !self.done.ready.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        match lock(&self.done.value).take() {
            Some(Ok(v)) => Some(v),
            Some(Err(panic)) => resume_unwind(panic),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job `make()` offered as soon as a helper is idle (other tests' jobs may hold it),
    /// within 10 s.
    fn offer_soon<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
        make: impl Fn() -> F,
    ) -> Offered<T> {
        let since = Instant::now();
        loop {
            if let Some(o) = offer(make()) {
                return o;
            }
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "no helper became idle"
            );
            std::thread::yield_now();
        }
    }

    /// Wait (up to 10 s) until a helper has taken `o`'s job.
    fn started<T>(o: &Offered<T>) {
        let since = Instant::now();
        while o.helper.state.load(Ordering::Acquire) != RUNNING
            && !o.done.ready.load(Ordering::Acquire)
        {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "no helper took the job"
            );
            std::thread::yield_now();
        }
    }

    /// A caller that finishes after its helper has moved on to another caller's job gets its
    /// own result and leaves the other job alone (it once took the other job back as its own,
    /// which dropped it unrun and left its caller waiting for ever).
    #[test]
    fn a_late_caller_does_not_take_back_the_next_job() {
        if count() == 0 {
            return;
        }
        let (mut checked, since) = (0, Instant::now());
        while checked < 100 && since.elapsed() < Duration::from_secs(20) {
            let first = offer_soon(|| || 1);
            // (the helper has run it and is idle again, or someone else's job took it)
            let since = Instant::now();
            while !first.done.ready.load(Ordering::Acquire)
                && since.elapsed() < Duration::from_secs(10)
            {
                std::thread::yield_now();
            }
            let Some(second) = offer(|| 2) else {
                assert_eq!(first.finish(), Some(1));
                continue;
            };
            assert_eq!(first.finish(), Some(1));
            // the second job is waiting, running or done: never dropped
            let since = Instant::now();
            loop {
                let waiting = lock(&second.helper.job)
                    .0
                    .as_ref()
                    .is_some_and(|(t, _)| *t == second.ticket);
                if waiting || second.done.ready.load(Ordering::Acquire) {
                    break;
                }
                assert!(
                    since.elapsed() < Duration::from_secs(10),
                    "the job was lost"
                );
                std::thread::yield_now();
            }
            assert!(matches!(second.finish(), None | Some(2)));
            checked += 1;
        }
        assert!(checked > 0);
    }

    /// A job a helper runs gives its result; one taken back never runs; a panic reaches the
    /// caller; and a helper is idle again after each (so the next offer finds it).
    #[test]
    fn offered_jobs_run_once_or_come_back() {
        if count() == 0 {
            // one core: nothing is ever offered
            assert!(offer(|| 1).is_none());
            return;
        }
        for _ in 0..50 {
            let ran = Arc::new(AtomicBool::new(false));
            let marks = Arc::clone(&ran);
            let Some(o) = offer(move || {
                marks.store(true, Ordering::SeqCst);
                7
            }) else {
                // (another test's helper use may hold it: then nothing ran)
                continue;
            };
            match o.finish() {
                Some(v) => assert!(v == 7 && ran.load(Ordering::SeqCst)),
                None => assert!(!ran.load(Ordering::SeqCst)),
            }
        }
        // a job a helper has started is waited for, and its result comes back
        let o = offer_soon(|| {
            || {
                std::thread::sleep(Duration::from_millis(20));
                5
            }
        });
        started(&o);
        assert_eq!(o.finish(), Some(5));
        let o = offer_soon(|| {
            || {
                std::thread::sleep(Duration::from_millis(5));
                panic!("job failed")
            }
        });
        started(&o);
        let caught = catch_unwind(AssertUnwindSafe(|| o.finish()));
        assert!(caught.is_err());
    }
}
