//! The benchmark's picture: reference signatures found over time, one line per engine (the
//! mean over its seeds), one panel per mode, as SVG.

use super::results::{Mode, Results, Run};
use crate::finding::Signature;
use plotters::prelude::*;

/// Earliest time on the (logarithmic) time axis, in seconds.
const T_MIN: f64 = 0.5;

const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// The mean number of `reference` signatures found by `runs` over time, as the corners of a
/// step line from [`T_MIN`] to `end`.
pub fn mean_curve(runs: &[&Run], reference: &[Signature], end: f64) -> Vec<(f64, f64)> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mean = |t: f64| {
        runs.iter().map(|r| r.found_by(reference, t)).sum::<usize>() as f64 / runs.len() as f64
    };
    let mut times: Vec<f64> = runs
        .iter()
        .flat_map(|r| reference.iter().filter_map(|s| r.found.get(s).copied()))
        .filter(|&t| t > T_MIN && t <= end)
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut points = vec![(T_MIN, mean(T_MIN))];
    for t in times {
        let before = points.last().map_or(0.0, |p| p.1);
        points.push((t, before));
        points.push((t, mean(t)));
    }
    points.push((end, mean(end)));
    points
}

/// The picture as SVG text.
pub fn svg(results: &Results) -> Result<String, String> {
    let modes: Vec<Mode> = Mode::ALL
        .into_iter()
        .filter(|m| results.runs.iter().any(|r| r.mode == *m))
        .collect();
    let labels: Vec<String> = {
        let mut l: Vec<String> = results.series().into_iter().map(|(_, l, _)| l).collect();
        l.dedup();
        l
    };
    let total = results.reference.len() as f64;
    let mut text = String::new();
    {
        let width = 520 * modes.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut text, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let panels = root.split_evenly((1, modes.len().max(1)));
        for (panel, mode) in panels.iter().zip(&modes) {
            // Each panel's time axis ends at its own budget.
            let end = results
                .runs
                .iter()
                .filter(|r| r.mode == *mode)
                .map(|r| r.budget_secs)
                .fold(T_MIN * 2.0, f64::max);
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!("rediscovering diff/, {}", mode.describe()),
                    ("sans-serif", 17),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(45)
                .build_cartesian_2d((T_MIN..end).log_scale(), 0f64..total + 0.5)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("seconds since start (log scale)")
                .y_desc(format!("signatures of {} found (mean over seeds)", total))
                .y_labels(results.reference.len().min(13) + 1)
                .y_label_formatter(&|y| format!("{y:.0}"))
                .x_label_formatter(&|x| format!("{x}"))
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, label) in labels.iter().enumerate() {
                let runs: Vec<&Run> = results.runs_of(label, *mode).collect();
                if runs.is_empty() {
                    continue;
                }
                let color = PALETTE[i % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(
                        mean_curve(&runs, &results.reference, end),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?
                    .label(format!("{label} ({} runs)", runs.len()))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rediscover::{Ending, EngineKind};

    fn run(found: &[(&str, f64)]) -> Run {
        Run {
            engine: EngineKind::Builtin,
            label: "builtin".into(),
            mode: Mode::Corpus,
            seed: 1,
            jobs: 1,
            budget_secs: 10.0,
            elapsed_secs: 10.0,
            cpu_secs: 10.0,
            load_at_start: 0.0,
            found: found
                .iter()
                .map(|(s, t)| (s.parse().unwrap(), *t))
                .collect(),
            ending: Ending::Budget,
        }
    }

    #[test]
    fn the_curve_is_the_mean_count_found_stepping_at_each_find() {
        let a: Signature = "rustls-new_session_ticket-ret-1-vs-0".parse().unwrap();
        let b: Signature = "rustls-shutdown-ret-0-vs-1".parse().unwrap();
        let runs = [
            run(&[("rustls-new_session_ticket-ret-1-vs-0", 1.0)]),
            run(&[
                ("rustls-new_session_ticket-ret-1-vs-0", 2.0),
                ("rustls-shutdown-ret-0-vs-1", 4.0),
                // Not in the reference: not counted.
                ("rustls-server_read-ret-bytes-vs-more", 3.0),
            ]),
        ];
        let runs: Vec<&Run> = runs.iter().collect();
        let curve = mean_curve(&runs, &[a, b], 10.0);
        assert_eq!(
            curve,
            [
                (0.5, 0.0),
                (1.0, 0.0),
                (1.0, 0.5),
                (2.0, 0.5),
                (2.0, 1.0),
                (4.0, 1.0),
                (4.0, 1.5),
                (10.0, 1.5)
            ]
        );
    }
}
