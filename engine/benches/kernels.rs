//! Criterion benches of the pure-Rust kernels (no Python): `make bench-rust`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mlmon_engine::categorical::CategoryCounts;
use mlmon_engine::counting::count_codes;
use mlmon_engine::histogram::{self, NumericHistogram};
use mlmon_engine::{stats, BinEdges, Key};
use ndarray::{Array2, ArrayView1};
use std::hint::black_box;

fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Sum of uniforms: a bell shape without a dependency.
            ((s >> 11) as f64 / (1u64 << 53) as f64) + ((s >> 3) & 0xffff) as f64 / 65_536.0
        })
        .collect()
}

fn histogram_update(c: &mut Criterion) {
    let x = data(10_000_000, 1);
    let mut g = c.benchmark_group("histogram_update");
    g.throughput(Throughput::Elements(x.len() as u64));
    g.sample_size(10);
    for bins in [10usize, 20, 100] {
        let edges = BinEdges::quantile(ArrayView1::from(&x[..]), bins).unwrap_or_else(|e| unreachable!("{e}"));
        let mut h = NumericHistogram::new(edges);
        g.bench_with_input(BenchmarkId::new("f64_10M", bins), &bins, |b, _| {
            b.iter(|| h.update(ArrayView1::from(black_box(&x[..]))))
        });
    }
    g.finish();
}

fn quantile_fit(c: &mut Criterion) {
    let mut x = data(10_000_000, 2);
    x.iter_mut().step_by(100).for_each(|v| *v = f64::NAN);
    let mut g = c.benchmark_group("quantile_fit");
    g.throughput(Throughput::Elements(x.len() as u64));
    g.sample_size(10);
    g.bench_function("10M_1pct_nan_10_bins", |b| {
        b.iter(|| BinEdges::quantile(ArrayView1::from(black_box(&x[..])), 10))
    });
    g.finish();
}

fn small_batch(c: &mut Criterion) {
    let x = Array2::from_shape_vec((1000, 25), data(25_000, 3)).unwrap_or_else(|e| unreachable!("{e}"));
    let mut hs: Vec<NumericHistogram> = (0..25)
        .map(|j| NumericHistogram::new(BinEdges::quantile(x.column(j), 10).unwrap_or_else(|e| unreachable!("{e}"))))
        .collect();
    c.bench_function("update_2d_1000x25_c_order", |b| {
        b.iter(|| {
            let mut refs: Vec<&mut NumericHistogram> = hs.iter_mut().collect();
            histogram::update_2d(&mut refs, black_box(x.view()), 1)
        })
    });
}

fn codes(c: &mut Criterion) {
    let codes: Vec<i8> = data(10_000_000, 4).iter().map(|v| (v * 25.0) as i8).collect();
    let mut g = c.benchmark_group("category_codes");
    g.throughput(Throughput::Elements(codes.len() as u64));
    g.sample_size(10);
    g.bench_function("10M_i8_50_categories", |b| {
        b.iter(|| count_codes(ArrayView1::from(black_box(&codes[..])), 50))
    });
    g.finish();
    let fitted = CategoryCounts::fit((0..1000).map(|i| (Key::Int(i), 1)).collect(), 0, 10_000, 20)
        .unwrap_or_else(|e| unreachable!("{e}"));
    black_box(fitted);
}

fn statistics(c: &mut Criterion) {
    let pairs: Vec<(Vec<f64>, Vec<f64>)> = (0..25)
        .map(|i| {
            (
                data(12, 10 + i).iter().map(|v| v * 1e4).collect(),
                data(12, 50 + i).iter().map(|v| v * 1e4).collect(),
            )
        })
        .collect();
    c.bench_function("psi_and_chi_square_25x12", |b| {
        b.iter(|| {
            for (e, a) in &pairs {
                black_box(stats::psi(e, a, stats::DEFAULT_EPS).ok());
                black_box(stats::chi_square_pooled(e, a, stats::DEFAULT_MIN_EXPECTED).ok());
            }
        })
    });
}

criterion_group!(benches, histogram_update, quantile_fit, small_batch, codes, statistics);
criterion_main!(benches);
