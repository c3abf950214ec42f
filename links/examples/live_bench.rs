//! `aviary bench live` without the desktop app's dependencies: the very same code
//! (`app/src/cli/bench.rs`), for measuring on machines where building eframe in release is
//! too slow. Usage: `cargo run --release -p aviary-links --example live_bench -- DRONES RATE_HZ SECONDS`.

#[path = "../../app/src/cli/bench.rs"]
mod bench;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: f64| {
        args.get(i)
            .and_then(|a| a.parse::<f64>().ok())
            .unwrap_or(default)
    };
    bench::run(bench::BenchCommand::Live {
        drones: num(0, 1000.0) as u32,
        rate_hz: num(1, 10.0),
        seconds: num(2, 20.0),
    })
}
