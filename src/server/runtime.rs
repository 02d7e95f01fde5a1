//! The tokio runtime the server runs on.

/// A runtime with `threads` workers, or one per CPU the process may use (its cgroup quota
/// included).
///
/// One worker is a current-thread runtime: every task then runs on the thread that accepts, and
/// a request's hand-offs (its connection's task, the pooled client's, timers) are queue pushes on
/// that thread instead of wake-ups through the work-stealing scheduler: about a tenth less CPU per
/// request in the benchmarks, at a slightly longer tail under load.
pub fn build(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_thread_is_a_current_thread_runtime() {
        assert_eq!(super::build(Some(1)).unwrap().handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
        let two = super::build(Some(2)).unwrap();
        assert_eq!(two.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(two.metrics().num_workers(), 2);
    }

    #[test]
    fn a_current_thread_runtime_runs_spawned_tasks_and_blocking_work() {
        let rt = super::build(Some(1)).unwrap();
        let answer = rt.block_on(async {
            let spawned = tokio::spawn(async { 20 });
            let blocking = tokio::task::spawn_blocking(|| 22);
            spawned.await.unwrap() + blocking.await.unwrap()
        });
        assert_eq!(answer, 42);
    }
}
