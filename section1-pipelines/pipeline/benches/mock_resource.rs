//! What does the mock resource itself cost? `use_resource` with a zero hold against
//! a bare `tokio::time::sleep(0)` in the same runtime: the difference is the
//! counting (three atomics and a guard), which must stay negligible next to the
//! 500 ms it models.
//!
//! `cargo bench -p pipeline --bench mock_resource`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use figures::section1::MockResourceBench;
use pipeline::mock_resource::MockResource;

fn runtime() -> tokio::runtime::Runtime {
    // Paused time: a timer fires as soon as the runtime is idle, so the figures are
    // the cost of the code, not the timer wheel's 1 ms granularity.
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let resource = MockResource::with_hold(Duration::ZERO);
    let mut group = c.benchmark_group("use_resource");
    group.bench_function("baseline: sleep(0)", |b| {
        // The sleep is created inside the runtime: a timer needs its driver.
        b.iter(|| rt.block_on(async { tokio::time::sleep(black_box(Duration::ZERO)).await }))
    });
    group.bench_function("mock resource, zero hold", |b| {
        b.iter(|| rt.block_on(resource.use_resource()))
    });
    group.finish();

    // Criterion reports each figure; the ratio is what this bench is about.
    let per_call = |f: &dyn Fn()| {
        let n = 200_000;
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed() / n
    };
    let baseline = per_call(&|| rt.block_on(async { tokio::time::sleep(Duration::ZERO).await }));
    let counted = per_call(&|| rt.block_on(resource.use_resource()));
    println!(
        "use_resource(0) {counted:?} vs sleep(0) {baseline:?} per call: ratio {:.2}",
        counted.as_secs_f64() / baseline.as_secs_f64()
    );
    // The same figures for the results page (`cargo xtask bench` reads the file).
    let figures = MockResourceBench {
        use_resource_ns: counted.as_secs_f64() * 1e9,
        sleep_ns: baseline.as_secs_f64() * 1e9,
    };
    let path = figures::write(&figures, None).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
}

criterion_group!(benches, bench);
criterion_main!(benches);
