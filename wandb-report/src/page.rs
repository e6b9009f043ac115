//! The HTML page: one file with its style, its charts (inline SVG) and a few lines of script
//! (highlighting a run everywhere on hover, sorting the table); nothing is loaded from
//! anywhere, so it opens offline.

use std::fmt::Write;

use crate::axis::short;
use crate::chart::{Curve, line_chart};
use crate::run_set::RunSet;
use crate::run_state::RunState;
use crate::svg::{escape, escaped};
use crate::upload::sync_commands;

/// Distinct line styles: 10 colours, solid, dashed and dotted.
pub(crate) const STYLES: usize = 30;

const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79",
];
const DASHES: [&str; 3] = ["", "14 7", "3 6"];

const STYLE: &str = "\
:root{--fg:#1d2330;--mute:#5d6778;--line:#dde2ea;--soft:#f4f6f9}\
*{box-sizing:border-box}\
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:#fff}\
main{max-width:1400px;margin:0 auto;padding:18px 24px 40px}\
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:26px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}\
h3{font-size:14px;margin:16px 0 6px}.sub,.note{color:var(--mute);margin:4px 0}.note{font-size:12.5px}\
nav{margin:8px 0 0;font-size:13px}nav a{color:#1f5fbf;margin-right:14px;text-decoration:none}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:12px}\
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:12px}\
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px 8px;background:#fff}\
figure.wide{margin-top:12px}figcaption{font-size:12.5px;color:var(--mute)}figcaption b{color:var(--fg);font-size:14px}\
svg{display:block;width:100%;height:auto}svg text{fill:#4a5466}.lc text{font-size:23px}.sc text{font-size:27px}\
.pcp text{font-size:16px;paint-order:stroke;stroke:#fff;stroke-width:4px}.pcp .tk{font-size:14px}text.at{font-weight:600;fill:var(--fg);text-anchor:middle}\
.gl{stroke:#eceef2;stroke-width:2;fill:none}.ax{stroke:#9aa3b2;stroke-width:2;fill:none}\
.run{fill:none;stroke-width:3.5;stroke-linejoin:round;stroke-linecap:round}\
.pc{fill:none;stroke-width:3;opacity:.9}\
.pt{stroke:#fff;stroke-width:2}.pf{fill:#1f77b4}.ps{fill:#ff7f0e}.pt.best{stroke:#111;stroke-width:4}\
.hl svg [data-r]:not(.on){opacity:.12}.hl svg .run.on,.hl svg .pc.on{stroke-width:7}\
.legend{display:flex;flex-wrap:wrap;gap:2px 14px;margin:0 0 10px;font-size:12.5px;max-height:150px;overflow:auto}\
.chip{display:inline-flex;align-items:center;gap:4px}.chip.on,tr.on td{background:#fff3c4}\
svg.sw{display:inline-block;width:28px;height:10px;vertical-align:middle;margin-right:4px}\
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px}\
th,td{padding:3px 9px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}\
th{background:var(--soft);cursor:pointer;user-select:none}.n{text-align:right;font-variant-numeric:tabular-nums}th.m,td.m{font-weight:600}\
.st{padding:1px 8px;border-radius:9px;font-size:12px}.st-finished{background:#e2f3e5;color:#1d6b2c}\
.st-failed{background:#fde2e2;color:#a11d1d}.st-stopped{background:#ffedd2;color:#8a4b00}.st-running{background:#eceff3;color:#485263}\
.bar{display:inline-block;position:relative;width:220px;height:12px;background:var(--soft);border-left:1px solid #fff}\
.bar i{position:absolute;top:0;bottom:0}.bar .pos{background:#3a9d5d}.bar .neg{background:#d1495b}\
.key{display:inline-block;width:11px;height:11px;border-radius:6px;margin:0 4px 0 10px;vertical-align:-1px}\
pre{background:var(--soft);padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:13px}\
ul.skipped{padding-left:20px;margin:4px 0}ul.skipped li{margin:2px 0}code{font-size:12.5px}";

const SCRIPT: &str = "(()=>{let cur=null;\
document.addEventListener('mouseover',e=>{const t=e.target.closest?e.target.closest('[data-r]'):null;const r=t?t.dataset.r:null;\
if(r===cur)return;cur=r;document.querySelectorAll('.on').forEach(x=>x.classList.remove('on'));\
document.body.classList.toggle('hl',r!==null);if(r!==null)document.querySelectorAll('[data-r=\"'+r+'\"]').forEach(x=>x.classList.add('on'))});\
document.querySelectorAll('table.sort th').forEach((th,i)=>th.addEventListener('click',()=>{\
const tb=th.closest('table').tBodies[0],rows=[...tb.rows],dir=th.dataset.dir==='1'?-1:1;th.dataset.dir=dir===1?'1':'-1';\
const key=r=>{const c=r.cells[i],v=c.dataset.v!==undefined?c.dataset.v:c.textContent,n=parseFloat(v);return v===''?null:(isNaN(n)?v:n)};\
rows.sort((a,b)=>{const x=key(a),y=key(b);if(x===null||y===null)return (x===null)-(y===null);\
return (typeof x==='number'&&typeof y==='number'?x-y:String(x).localeCompare(String(y)))*dir});\
rows.forEach(r=>tb.appendChild(r))}))})();";

/// The whole page.
pub(crate) fn render(set: &RunSet, title: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
    escape(title, &mut out);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    line_styles(set.runs.len().min(STYLES), &mut out);
    out.push_str("</style></head><body><main>\n<header><h1>");
    escape(title, &mut out);
    out.push_str("</h1>");
    headline(set, &mut out);
    nav(set, &mut out);
    out.push_str("</header>\n");
    curves(set, &mut out);
    if set.sweep.is_some() {
        crate::sweep_section::parameters(set, &mut out);
        crate::sweep_section::hyperband(set, &mut out);
    }
    out.push_str("<section id=\"runs\"><h2>Runs</h2>");
    crate::run_table::run_table(set, &mut out);
    out.push_str("</section>\n");
    skipped(set, &mut out);
    upload(set, &mut out);
    out.push_str("<p class=\"note\">Written by <code>wandb-rs report</code> from the runs' .wandb logs. This file needs no network: everything is inside it.</p></main><script>");
    out.push_str(SCRIPT);
    out.push_str("</script></body></html>\n");
    out
}

/// `.cN` classes: the stroke colour and dash of run N's line.
fn line_styles(count: usize, out: &mut String) {
    for i in 0..count {
        let _ = write!(out, ".c{i}{{stroke:{}", COLORS[i % COLORS.len()]);
        let dash = DASHES[i / COLORS.len() % DASHES.len()];
        if !dash.is_empty() {
            let _ = write!(out, ";stroke-dasharray:{dash}");
        }
        out.push('}');
    }
}

/// `1 run`, `2 runs`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A run's line style as a short sample.
pub(crate) fn swatch(run: usize, out: &mut String) {
    let _ = write!(
        out,
        "<svg class=\"sw\" viewBox=\"0 0 56 20\"><path class=\"run c{}\" d=\"M4 10h48\"/></svg>",
        run % STYLES
    );
}

fn headline(set: &RunSet, out: &mut String) {
    let mut parts: Vec<String> = Vec::new();
    if let Some(sweep) = &set.sweep {
        let mut text = format!("local sweep {}", escaped(&sweep.id));
        if let Some(method) = &sweep.method {
            let _ = write!(text, " · {}", escaped(method));
        }
        parts.push(text);
    }
    if let Some(m) = &set.metric {
        let goal = if set.maximize { "maximize" } else { "minimize" };
        parts.push(if set.sweep.is_some() {
            format!("metric <b>{}</b> ({goal})", escaped(m))
        } else {
            format!("metric <b>{}</b>", escaped(m))
        });
    }
    let with = |f: fn(&RunState) -> bool| set.runs.iter().filter(|r| f(&r.state)).count();
    let states = [
        (with(|s| *s == RunState::Finished), "finished"),
        (with(RunState::stopped), "stopped early"),
        (with(|s| matches!(s, RunState::Failed { .. })), "failed"),
        (with(|s| *s == RunState::Crashed), "crashed"),
        (with(|s| *s == RunState::Interrupted), "interrupted"),
    ];
    let states: Vec<String> = states
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    parts.push(format!(
        "{}: {}",
        count(set.runs.len(), "run"),
        states.join(", ")
    ));
    if let (Some(m), Some(best)) = (&set.metric, set.sweep.as_ref().and(set.runs.first()))
        && let Some(v) = best.metric.filter(|v| v.is_finite())
    {
        parts.push(format!(
            "best <b>{}</b>: {} {}",
            escaped(best.log.name()),
            escaped(m),
            short(v)
        ));
    }
    let _ = write!(out, "<p class=\"sub\">{}</p>", parts.join(" · "));
}

fn nav(set: &RunSet, out: &mut String) {
    out.push_str("<nav><a href=\"#curves\">Learning curves</a>");
    if set.sweep.is_some() {
        out.push_str("<a href=\"#parameters\">Parameters</a>");
    }
    out.push_str("<a href=\"#runs\">Runs</a>");
    if !set.skipped.is_empty() {
        let _ = write!(
            out,
            "<a href=\"#skipped\">Skipped ({})</a>",
            set.skipped.len()
        );
    }
    out.push_str("<a href=\"#upload\">Upload</a></nav>");
}

fn curves(set: &RunSet, out: &mut String) {
    out.push_str("<section id=\"curves\"><h2>Learning curves</h2>");
    if set.charts.is_empty() {
        out.push_str("<p class=\"note\">No run logged numeric metrics.</p></section>\n");
        return;
    }
    out.push_str("<div class=\"legend\">");
    for (i, run) in set.runs.iter().enumerate() {
        let _ = write!(out, "<span class=\"chip\" data-r=\"{i}\">");
        swatch(i, out);
        escape(run.log.name(), out);
        out.push_str("</span>");
    }
    out.push_str("</div><div class=\"grid\">\n");
    for metric in &set.charts {
        let lines: Vec<Curve<'_>> = set
            .runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                Some(Curve {
                    run: i,
                    name: r.log.name(),
                    series: r.log.series.get(metric)?,
                })
            })
            .collect();
        line_chart(metric, &lines, out);
    }
    out.push_str("</div></section>\n");
}

fn skipped(set: &RunSet, out: &mut String) {
    if set.skipped.is_empty() {
        return;
    }
    out.push_str("<section id=\"skipped\"><h2>Skipped</h2><p class=\"note\">What this report could not show, or showed in part, and why.</p><ul class=\"skipped\">");
    for s in &set.skipped {
        out.push_str("<li><b>");
        escape(&s.what, out);
        out.push_str("</b>: ");
        escape(&s.why, out);
        out.push_str("</li>");
    }
    out.push_str("</ul></section>\n");
}

fn upload(set: &RunSet, out: &mut String) {
    let logs: Vec<&std::path::Path> = set.runs.iter().map(|r| r.log.path.as_path()).collect();
    out.push_str("<section id=\"upload\"><h2>Upload to W&amp;B</h2><p class=\"note\">These runs are offline W&amp;B runs. With a W&amp;B account (<code>WANDB_API_KEY</code> or <code>wandb login</code>), either command uploads them:</p><pre>");
    for command in sync_commands(&logs) {
        escape(&command, out);
        out.push('\n');
    }
    out.push_str("</pre></section>\n");
}
