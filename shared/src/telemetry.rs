//! Logging set-up for the functions and the server; on Lambda the business counters as
//! CloudWatch Embedded Metric Format lines ([`emf`]).

pub mod emf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Logging for Lambda functions: JSON lines straight to stdout (CloudWatch adds the timestamp),
/// filtered by `RUST_LOG` (default `info`). Written synchronously, so nothing is lost when
/// Lambda freezes the process between invocations. Installs the [`emf`] recorder: the business
/// counters recorded by `App::handle` become EMF lines on the same stdout.
pub fn init() {
    emf::install();
    let lines = tracing_subscriber::fmt::layer()
        .json()
        .without_time()
        .with_target(false)
        .with_current_span(false);
    let _already_set = tracing_subscriber::registry()
        .with(lines.with_filter(filter()))
        .try_init();
}

/// Logging for the long-running local server: compact lines, written by a background thread so
/// the per-request line costs the request path a channel send, not a `write` call. Keep the
/// guard alive until exit; dropping it flushes what is queued.
pub fn init_server() -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stdout());
    let lines = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer);
    let _already_set = tracing_subscriber::registry()
        .with(lines.with_filter(filter()))
        .try_init();
    guard
}

/// `RUST_LOG` as a list of `level` and `target=level` directives (`warn`,
/// `info,shared::store=debug`), or `info` when it is unset or unreadable. tracing-subscriber's
/// `Targets` filter reads that syntax without a regex engine; its `EnvFilter` (span and field
/// filters) brought regex-automata into every function for directives nobody here uses.
fn filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}
