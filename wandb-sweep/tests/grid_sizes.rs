//! Grid sizes users check by hand, including the miscounted example from a popular sweep guide.

use wandb_sweep::{Grid, SweepConfig};

fn grid(yaml: &str) -> Grid {
    Grid::new(&SweepConfig::from_yaml(yaml).expect("valid config")).expect("enumerable")
}

/// The guide prints `7 × 1 × … × 2 × … × 5 × 5 × 2 = 350 runs`; that product is 700.
#[test]
fn the_guide_space_has_700_points_not_350() {
    let g = grid(
        "method: grid
parameters:
  learning_rate: {values: [0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001]}
  epochs: {values: [10]}
  optimizer: {values: [adam, sgd]}
  batch_size: {values: [16, 32, 64, 128, 256]}
  dropout: {values: [0.0, 0.1, 0.2, 0.3, 0.4]}
  augment: {values: [true, false]}
",
    );
    assert_eq!(g.size().unwrap(), 700);
    assert_eq!(g.points().count(), 700);
    let counts: Vec<u128> = g.factors().iter().map(|f| f.count).collect();
    assert_eq!(counts, [2, 5, 5, 1, 7, 2]);
}

#[test]
fn a_7_5_5_2_space_has_350_points() {
    let g = grid(
        "method: grid
parameters:
  learning_rate: {values: [0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001]}
  batch_size: {values: [16, 32, 64, 128, 256]}
  dropout: {distribution: q_uniform, min: 0.0, max: 0.5, q: 0.1}
  augment: {values: [true, false]}
",
    );
    assert_eq!(g.size().unwrap(), 350);
    assert_eq!(
        g.to_string(),
        "augment 2 × batch_size 5 × dropout 5 × learning_rate 7 = 350 runs"
    );
}

#[test]
fn a_10_pow_30_space_is_counted_without_enumeration() {
    let mut yaml = String::from("method: grid\nparameters:\n");
    for i in 0..3 {
        yaml.push_str(&format!("  p{i}: {{min: 1, max: 10000000000}}\n"));
    }
    let g = grid(&yaml);
    assert_eq!(g.size().unwrap(), 10u128.pow(30));
    let last = g.point(10u128.pow(30) - 1).unwrap();
    assert_eq!(
        last.to_string(),
        "{p0: 10000000000, p1: 10000000000, p2: 10000000000}"
    );
}

#[test]
fn iterator_nth_jumps_like_point() {
    let g = grid("method: grid\nparameters:\n  a: {min: 0, max: 999}\n  b: {values: [x, y, z]}\n");
    let mut points = g.points();
    assert_eq!(points.nth(1500), g.point(1500));
    assert_eq!(points.next(), g.point(1501));
    assert_eq!(g.points().nth(3000), None);
}
