//! What does verifying a token cost next to the HMAC it is built on? `verify_at` against
//! a bare HMAC-SHA256 over the same signed bytes: the difference is base64 and JSON, and
//! shows whether checking a token on every `connect` is worth worrying about. Deriving
//! the key (PBKDF2, 1000 rounds) is measured too: it is why the signer is built once.
//!
//! `cargo bench -p channels --bench token`

use std::hint::black_box;
use std::time::{Duration, Instant};

use channels::token::{DEFAULT_MAX_AGE_SECS, TokenSigner};
use criterion::{Criterion, criterion_group, criterion_main};
use figures::section2::TokenBench;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "a-course-secret-key-base-that-is-long-enough-for-benches";
const T0: i64 = 1_767_603_600_000;

fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

fn bench(c: &mut Criterion) {
    let signer = TokenSigner::new(SECRET, "user socket").unwrap();
    let token = signer.sign_at(&42u64, T0, DEFAULT_MAX_AGE_SECS).unwrap();
    let signed = token.rsplit_once('.').unwrap().0.to_owned();
    let key = [7u8; 32];
    let raw_hmac = |bytes: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(bytes);
        mac.finalize().into_bytes()
    };

    let mut group = c.benchmark_group("token");
    group.bench_function("baseline: HMAC-SHA256 of the signed part", |b| {
        b.iter(|| raw_hmac(black_box(signed.as_bytes())))
    });
    group.bench_function("sign_at", |b| {
        b.iter(|| {
            signer
                .sign_at(black_box(&42u64), T0, DEFAULT_MAX_AGE_SECS)
                .unwrap()
        })
    });
    group.bench_function("verify_at", |b| {
        b.iter(|| {
            signer
                .verify_at::<u64>(black_box(Some(&token)), T0, None)
                .unwrap()
        })
    });
    group.bench_function("TokenSigner::new (PBKDF2, 1000 rounds)", |b| {
        b.iter(|| TokenSigner::new(black_box(SECRET), "user socket").unwrap())
    });
    group.finish();

    let n = 20_000;
    let hmac_t = per_call(n, || {
        black_box(raw_hmac(signed.as_bytes()));
    });
    let verify_t = per_call(n, || {
        black_box(signer.verify_at::<u64>(Some(&token), T0, None).unwrap());
    });
    let derive_t = per_call(200, || {
        black_box(TokenSigner::new(SECRET, "user socket").unwrap());
    });
    println!(
        "verify {verify_t:?} vs raw HMAC {hmac_t:?} per call: ratio {:.2}; key derivation {derive_t:?} (ratio to verify {:.0})",
        verify_t.as_secs_f64() / hmac_t.as_secs_f64(),
        derive_t.as_secs_f64() / verify_t.as_secs_f64()
    );
    let figures = TokenBench {
        verify_ns: verify_t.as_secs_f64() * 1e9,
        hmac_ns: hmac_t.as_secs_f64() * 1e9,
        key_derivation_ns: derive_t.as_secs_f64() * 1e9,
    };
    // The same figures for the results page (`cargo xtask bench` reads the file).
    let path = figures::write(&figures, None).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
}

criterion_group!(benches, bench);
criterion_main!(benches);
