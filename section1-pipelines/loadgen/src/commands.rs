//! The `load` and `compare` subcommands: run, print, chart.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;

use crate::args::LoadArgs;
use crate::chart::{self, Series};
use crate::progress::Progress;
use crate::report::{Report, summary_table};
use crate::runner::run;

/// `load` and `compare`, for a binary's command line: flatten it into the binary's
/// own subcommands (`#[command(flatten)]`), then call [`LoadCommand::run`].
#[derive(Clone, Debug, Subcommand)]
pub enum LoadCommand {
    /// Load one URL and report latency, throughput and the server's /stats (the course's `ab`).
    ///
    /// Only this machine may be loaded (127.0.0.0/8, ::1, localhost).
    Load {
        /// The URL to load, e.g. http://127.0.0.1:4000/part1/serial
        url: String,
        #[command(flatten)]
        args: LoadArgs,
    },
    /// Run the same load against several URLs in turn; print each report and a summary table.
    Compare {
        /// The URLs, loaded one after the other.
        #[arg(required = true, num_args = 1..)]
        urls: Vec<String>,
        #[command(flatten)]
        args: LoadArgs,
    },
}

impl LoadCommand {
    /// Runs the command: its reports go to stdout, progress to stderr.
    pub async fn run(&self) -> anyhow::Result<()> {
        match self {
            LoadCommand::Load { url, args } => load(url, args).await.map(drop),
            LoadCommand::Compare { urls, args } => compare(urls, args).await.map(drop),
        }
    }
}

/// `load URL`: one run, its report on stdout, optionally JSON and a chart.
pub async fn load(url: &str, args: &LoadArgs) -> anyhow::Result<Report> {
    let config = args.config(url).await?;
    let report = run(&config, &Progress::stderr()).await?;
    print!("{}", report.render());
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if let Some(path) = &args.chart {
        write_chart(
            path,
            &format!("load on {url}"),
            std::slice::from_ref(&report),
        )?;
    }
    Ok(report)
}

/// `compare URL URL ...`: the same load against each URL in turn, one chart for all.
pub async fn compare(urls: &[String], args: &LoadArgs) -> anyhow::Result<Vec<Report>> {
    // Parse every URL before loading any, so a typo in the last one fails at once.
    let mut configs = Vec::with_capacity(urls.len());
    for url in urls {
        configs.push(args.config(url).await?);
    }
    let mut reports = Vec::with_capacity(urls.len());
    for config in &configs {
        let report = run(config, &Progress::stderr()).await?;
        println!("{}", report.render());
        reports.push(report);
    }
    print!("{}", summary_table(&reports));
    if args.json {
        println!("{}", serde_json::to_string(&reports)?);
    }
    if let Some(path) = &args.chart {
        write_chart(path, "comparison", &reports)?;
    }
    Ok(reports)
}

/// Writes one chart of `reports`, labelled by each target's path.
pub fn write_chart(path: &Path, title: &str, reports: &[Report]) -> anyhow::Result<()> {
    let labels: Vec<String> = reports.iter().map(label).collect();
    let series: Vec<Series<'_>> = reports
        .iter()
        .zip(&labels)
        .map(|(report, name)| Series {
            name,
            timeline: &report.timeline,
        })
        .collect();
    std::fs::write(path, chart::svg(title, &series))
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("chart written to {}", path.display());
    Ok(())
}

/// The path of a report's URL (`/part1/serial`), or the URL when it has none.
pub fn label(report: &Report) -> String {
    let url = &report.settings.target;
    url.strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or_else(|| url.clone())
}
