//! `experiment stages`: how many orders per second two stages of different speed
//! carry, for each number of workers in each stage (s1.e11).
//!
//! Runs the reference `run_stages` on tokio's paused clock: a 500 ms label costs no
//! real time, and every figure is exact and the same on any machine. (The other
//! experiments, `part1` and `part2`, load real servers over HTTP; they live in
//! `loadgen`.) Writes the `stages` block of `solutions/section1/part2.md`.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;
use figures::walkthrough;
use pipeline::latency::LatencySummary;
use pipeline::{Event, MockResource, Stage};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::solution::part2::e11_stages::{balance, run_stages};

/// The exact command that regenerates the figures.
pub const COMMAND: &str = "cargo run -p section1-pipelines --release -- experiment stages";

/// The first stage's work: checking stock for one order.
const STOCK: Duration = Duration::from_millis(100);
/// The second stage's work: printing one shipping label (the resource's usual 500 ms).
const LABEL: Duration = Duration::from_millis(500);
/// Orders pushed through each combination.
const ORDERS: usize = 400;
/// The first stage's input (where the feeder waits when it is full).
const INPUT: usize = 50;
/// The queue in the middle: the second stage's input.
const BETWEEN: usize = 10;
/// The grid: stock workers by label workers.
const STOCK_WORKERS: [usize; 4] = [1, 2, 3, 4];
const LABEL_WORKERS: [usize; 6] = [2, 5, 10, 15, 20, 30];
/// The team divided between the stages in the second table.
const TEAM: usize = 12;
/// How often the queues are sampled (simulated time).
const SAMPLE: Duration = Duration::from_millis(10);

/// What one combination did.
struct Run {
    rate: f64,
    latency: LatencySummary,
    /// The most orders waiting in the queue between the stages.
    between_max: u64,
    /// The most stock workers holding a checked order, waiting for room in that queue.
    held_max: u64,
    /// The share of the printer's worker time spent printing.
    label_busy: f64,
}

/// The orders per second `workers` carry at best: each stage carries workers /
/// time, and the pipeline goes at its slowest stage's rate.
fn predicted(workers: (usize, usize)) -> f64 {
    f64::min(
        workers.0 as f64 / STOCK.as_secs_f64(),
        workers.1 as f64 / LABEL.as_secs_f64(),
    )
}

/// Pushes [`ORDERS`] orders through `stock` + `labels` workers, on the paused clock.
async fn run(stock: usize, labels: usize) -> Run {
    let first = Stage::new(MockResource::with_hold(STOCK), stock, INPUT);
    let second = Stage::new(MockResource::with_hold(LABEL), labels, BETWEEN);
    let feeder = tokio::spawn({
        let input = first.input.clone();
        async move {
            for _ in 0..ORDERS {
                // The wait policy: the feeder waits whenever the input is full.
                if input.push(Event::new()).await.is_err() {
                    return;
                }
            }
            input.close();
        }
    });
    // Samples the queues until the run ends, then returns the most it saw.
    let finished = CancellationToken::new();
    let sampler = tokio::spawn({
        let (first, second, finished) = (first.clone(), second.clone(), finished.clone());
        async move {
            let (mut between_max, mut held_max) = (0, 0);
            while !finished.is_cancelled() {
                let done = first.metrics().snapshot().processed;
                let handed = second.metrics().snapshot().accepted;
                between_max = between_max.max(second.metrics().queue_depth());
                held_max = held_max.max(done.saturating_sub(handed));
                tokio::select! {
                    _ = tokio::time::sleep(SAMPLE) => {}
                    _ = finished.cancelled() => {}
                }
            }
            (between_max, held_max)
        }
    });
    let started = Instant::now();
    run_stages(first.clone(), second.clone()).await;
    let took = started.elapsed().as_secs_f64();
    finished.cancel();
    let (between_max, held_max) = sampler.await.unwrap_or_default();
    let _ = feeder.await;
    let figures = second.metrics().snapshot();
    Run {
        rate: ORDERS as f64 / took,
        latency: figures.latency,
        between_max,
        held_max,
        label_busy: figures.processed as f64 * LABEL.as_secs_f64() / (labels as f64 * took),
    }
}

/// Runs every combination on a paused clock, rewrites the walkthrough's `stages`
/// block and prints it. Call it outside any tokio runtime (it builds its own).
pub fn stages() -> anyhow::Result<()> {
    let real = std::time::Instant::now();
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let mut body = String::new();
    writeln!(
        body,
        "Measured with `{COMMAND}`: {ORDERS} orders through two stages, checking stock \
         ({} ms an order) then printing a label ({} ms), run by the reference `run_stages` \
         on tokio's paused clock, so the times are simulated, exact, and the same on any \
         machine. The feeder pushes into the first stage's input ({INPUT} orders, wait \
         policy); the queue between the stages holds {BETWEEN}. Orders/s is {ORDERS} over \
         the time from the first push to the last label.\n",
        STOCK.as_millis(),
        LABEL.as_millis()
    )?;

    // 1. The grid: every stock workers x label workers combination.
    let mut header = String::from("| stock workers \\ label workers |");
    let mut rule = String::from("|---|");
    for labels in LABEL_WORKERS {
        write!(header, " {labels} |")?;
        rule.push_str("---:|");
    }
    writeln!(
        body,
        "**Orders per second, by workers in each stage** (in brackets: what the slower \
         stage carries, workers / time):\n\n{header}\n{rule}"
    )?;
    for stock in STOCK_WORKERS {
        let mut row = format!("| {stock} |");
        for labels in LABEL_WORKERS {
            let run = paused.block_on(run(stock, labels));
            write!(
                row,
                " {:.1} ({:.0}) |",
                run.rate,
                predicted((stock, labels))
            )?;
        }
        writeln!(body, "{row}")?;
        eprintln!("grid: {stock} stock workers done");
    }

    // 2. One team of workers, divided every way.
    let chosen = balance(TEAM, STOCK, LABEL);
    writeln!(
        body,
        "\n**A team of {TEAM}, divided every way** (`balance({TEAM}, {} ms, {} ms)` picks \
         {} + {}, marked ◀; latency is from the push into the first stage to the label; \
         \"held\" is the most stock workers holding a checked order while the queue \
         between the stages was full):\n\n\
         | stock + label workers | orders/s | slower stage carries | label workers busy | \
         latency p50 | p99 | queue between, max | stock workers held, max |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|",
        STOCK.as_millis(),
        LABEL.as_millis(),
        chosen.0,
        chosen.1
    )?;
    for stock in 1..TEAM {
        let split = (stock, TEAM - stock);
        let run = paused.block_on(run(split.0, split.1));
        writeln!(
            body,
            "| {} + {}{} | {:.1} | {:.0} | {:.0}% | {:.0} ms | {:.0} ms | {} | {} |",
            split.0,
            split.1,
            if split == chosen { " ◀" } else { "" },
            run.rate,
            predicted(split),
            run.label_busy * 100.0,
            run.latency.p50_ms,
            run.latency.p99_ms,
            run.between_max,
            run.held_max
        )?;
    }
    eprintln!(
        "{} combinations in {:.1} s of real time",
        STOCK_WORKERS.len() * LABEL_WORKERS.len() + TEAM - 1,
        real.elapsed().as_secs_f64()
    );

    let path = walkthrough::path("section1/part2.md");
    walkthrough::rewrite(&path, "stages", COMMAND, &body)
        .with_context(|| format!("rewriting {}", path.display()))?;
    println!("{body}\nwrote {}", path.display());
    Ok(())
}
