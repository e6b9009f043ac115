//! Parse + validate + grid + render + write-back on arbitrary bytes.
//!
//! Run: `cd wandb-sweep/fuzz && cargo fuzz run check` (cargo-fuzz; needs a nightly compiler,
//! or `RUSTC_BOOTSTRAP=1` with stable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wandb_sweep::{SweepConfig, check};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = check(text);
    for d in report.diagnostics() {
        let loc = d.location.expect("every diagnostic on text is located");
        assert!(loc.line >= 1 && loc.column >= 1);
        let _ = d.render("fuzz.yaml", text);
    }
    if let Some(grid) = report.grid() {
        if let Ok(n) = grid.size() {
            let _ = grid.point(n.saturating_sub(1));
            let _ = grid.points().take(3).count();
        }
    }
    if let Ok(cfg) = report.into_result() {
        let yaml = cfg.to_yaml().expect("writes");
        let back = SweepConfig::from_yaml(&yaml).expect("own output is valid");
        if !format!("{cfg:?}").contains("NaN") {
            assert_eq!(back, cfg, "round trip changed the config:\n{yaml}");
        }
    }
});
