use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Logging for Lambda functions: JSON lines straight to stdout (CloudWatch adds the timestamp),
/// filtered by `RUST_LOG` (default `info`). Written synchronously, so nothing is lost when
/// Lambda freezes the process between invocations.
pub fn init() {
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .json()
        .without_time()
        .with_target(false)
        .with_current_span(false)
        .try_init();
}

/// Logging for the long-running local server: compact lines, written by a background thread so
/// the per-request line costs the request path a channel send, not a `write` call. Keep the
/// guard alive until exit; dropping it flushes what is queued.
pub fn init_server() -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stdout());
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .compact()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer)
        .try_init();
    guard
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}
