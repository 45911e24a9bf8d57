//! The console's two drawings, as inline SVG (no script; presentation attributes only, which
//! the CSP allows): the derivation graph behind an object, laid out in layers, and a
//! partner's balance over time.

use maud::{html, Markup};

/// One box of the derivation graph.
pub(crate) struct GraphNode {
    /// Its layer: 0 for the object, 1 for what it derives from, and so on.
    pub(crate) layer: usize,
    /// First line (the object).
    pub(crate) title: String,
    /// Second line (its own label).
    pub(crate) label: String,
    /// Whether we hold it.
    pub(crate) held: bool,
    /// Where the box links to.
    pub(crate) href: Option<String>,
}

const BOX_W: usize = 340;
const BOX_H: usize = 46;
const GAP_X: usize = 24;
const GAP_Y: usize = 56;
const MARGIN: usize = 12;
/// The most characters of a line in a box.
const LINE: usize = 44;

fn clip(s: &str) -> String {
    if s.chars().count() <= LINE {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(LINE - 1).collect();
        c.push('…');
        c
    }
}

/// Lays out `nodes` in their layers (within a layer, ordered by the mean position of the
/// boxes that point to them, one sweep down: few crossings for the shallow graphs labels
/// make) and draws an arrow for each `(derived, source)` edge.
pub(crate) fn derivation_graph(nodes: &[GraphNode], edges: &[(usize, usize)]) -> Markup {
    let layers = nodes.iter().map(|n| n.layer + 1).max().unwrap_or(0);
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(l) = order.get_mut(n.layer) {
            l.push(i);
        }
    }
    let mut slot = vec![0f64; nodes.len()];
    for layer in order.iter_mut() {
        let mut keyed: Vec<(f64, usize)> = layer
            .iter()
            .map(|&i| {
                let from: Vec<f64> = edges
                    .iter()
                    .filter(|(_, s)| *s == i)
                    .filter_map(|(d, _)| slot.get(*d).copied())
                    .collect();
                let key = if from.is_empty() {
                    f64::MAX
                } else {
                    from.iter().sum::<f64>() / from.len() as f64
                };
                (key, i)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *layer = keyed.into_iter().map(|(_, i)| i).collect();
        for (pos, &i) in layer.iter().enumerate() {
            if let Some(s) = slot.get_mut(i) {
                *s = pos as f64;
            }
        }
    }
    let widest = order.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X;
    let height = MARGIN * 2 + layers * BOX_H + layers.saturating_sub(1) * GAP_Y;
    // Each layer centred.
    let mut at = vec![(0usize, 0usize); nodes.len()];
    for (l, layer) in order.iter().enumerate() {
        let row = layer.len() * BOX_W + layer.len().saturating_sub(1) * GAP_X;
        let left = (width - row) / 2;
        for (pos, &i) in layer.iter().enumerate() {
            if let Some(a) = at.get_mut(i) {
                *a = (left + pos * (BOX_W + GAP_X), MARGIN + l * (BOX_H + GAP_Y));
            }
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } role="img" aria-label="derivation graph" {
            defs {
                marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"
                    markerHeight="7" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#5b6475" {}
                }
            }
            @for (d, s) in edges {
                @if let (Some(&(dx, dy)), Some(&(sx, sy))) = (at.get(*d), at.get(*s)) {
                    line x1=(dx + BOX_W / 2) y1=(dy + BOX_H) x2=(sx + BOX_W / 2) y2=(sy)
                        stroke="#5b6475" stroke-width="1.5" marker-end="url(#arrow)" {}
                }
            }
            @for (i, n) in nodes.iter().enumerate() {
                @if let Some(&(x, y)) = at.get(i) {
                    @let fill = if i == 0 { "#e3ecfa" } else if n.held { "#ffffff" } else { "#f4e3e5" };
                    @let boxed = html! {
                        rect x=(x) y=(y) width=(BOX_W) height=(BOX_H) rx="4" fill=(fill) stroke="#1f4e9c" {}
                        text x=(x + 8) y=(y + 18) font-size="12" font-family="monospace" fill="#1d2330" { (clip(&n.title)) }
                        text x=(x + 8) y=(y + 36) font-size="11" font-family="sans-serif" fill="#5b6475" {
                            (clip(&n.label)) @if !n.held { " (not held)" }
                        }
                    };
                    @match &n.href {
                        Some(h) => a href=(h) { (boxed) },
                        None => (boxed),
                    }
                }
            }
        }
    }
}

const CHART_W: f64 = 640.0;
const CHART_H: f64 = 180.0;
const PAD: f64 = 40.0;

/// The most points a chart draws: a longer history is sampled evenly (its last point kept).
const MAX_POINTS: usize = 240;

/// A balance over time (`(day, balance)`, oldest first) as a line, with zero and the agreed
/// limit drawn across.
pub(crate) fn balance_chart(history: &[(String, f64)], limit: Option<f64>) -> Markup {
    let sampled: Vec<(String, f64)>;
    let history = if history.len() > MAX_POINTS {
        let step = history.len().div_ceil(MAX_POINTS);
        sampled = history
            .iter()
            .step_by(step)
            .chain(history.last())
            .cloned()
            .collect();
        &sampled[..]
    } else {
        history
    };
    let values = history.iter().map(|(_, v)| *v).chain([0.0]).chain(limit);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if (hi - lo).abs() < f64::EPSILON {
        1.0
    } else {
        hi - lo
    };
    let y = |v: f64| PAD / 2.0 + (hi - v) / span * (CHART_H - PAD);
    let n = history.len();
    let x = |i: usize| {
        if n <= 1 {
            PAD + (CHART_W - 2.0 * PAD) / 2.0
        } else {
            PAD + i as f64 * (CHART_W - 2.0 * PAD) / (n - 1) as f64
        }
    };
    let points: Vec<String> = history
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(CHART_W) height=(CHART_H)
            viewBox={ "0 0 " (CHART_W) " " (CHART_H) } role="img" aria-label="balance over time" {
            line x1=(PAD) x2=(CHART_W - PAD) y1=(format!("{:.1}", y(0.0))) y2=(format!("{:.1}", y(0.0))) stroke="#9aa1ad" {}
            text x="4" y=(format!("{:.1}", y(0.0) + 4.0)) font-size="10" fill="#5b6475" { "0" }
            @if let Some(l) = limit {
                line x1=(PAD) x2=(CHART_W - PAD) y1=(format!("{:.1}", y(l))) y2=(format!("{:.1}", y(l)))
                    stroke="#a11d2b" stroke-dasharray="4 3" {}
                text x="4" y=(format!("{:.1}", y(l) + 4.0)) font-size="10" fill="#a11d2b" { "limit" }
            }
            @for v in [hi, lo] {
                @if v.abs() > f64::EPSILON {
                    text x="4" y=(format!("{:.1}", y(v) + 4.0)) font-size="10" fill="#5b6475" { (format!("{v:.1}")) }
                }
            }
            @if let (1, Some((_, v))) = (n, history.first()) {
                circle cx=(format!("{:.1}", x(0))) cy=(format!("{:.1}", y(*v))) r="3" fill="#1f4e9c" {}
            } @else {
                polyline points=(points.join(" ")) fill="none" stroke="#1f4e9c" stroke-width="2" {}
            }
            @if let (Some(first), Some(last)) = (history.first(), history.last()) {
                @if n == 1 {
                    text x=(format!("{:.1}", x(0))) y=(CHART_H - 4.0) font-size="10" fill="#5b6475" text-anchor="middle" { (first.0) }
                } @else {
                    text x=(PAD) y=(CHART_H - 4.0) font-size="10" fill="#5b6475" { (first.0) }
                    text x=(CHART_W - PAD) y=(CHART_H - 4.0) font-size="10" fill="#5b6475" text-anchor="end" { (last.0) }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(layer: usize, title: &str) -> GraphNode {
        GraphNode {
            layer,
            title: title.into(),
            label: "SECRET".into(),
            held: true,
            href: None,
        }
    }

    #[test]
    fn graph_has_a_box_per_node_and_an_arrow_per_edge() {
        let nodes = [node(0, "a"), node(1, "b"), node(1, "c"), node(2, "d")];
        let svg = derivation_graph(&nodes, &[(0, 1), (0, 2), (1, 3), (2, 3)]).into_string();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert_eq!(svg.matches("<line").count(), 4);
        assert!(!svg.contains("style"), "no inline style: {svg}");
        // SVG elements are not HTML void elements: each must be closed, or the next ones
        // become its children and are not drawn.
        assert_eq!(svg.matches("<rect").count(), svg.matches("</rect>").count());
        assert_eq!(svg.matches("<line").count(), svg.matches("</line>").count());
    }

    #[test]
    fn a_long_history_is_sampled() {
        let long: Vec<(String, f64)> = (0..10_000).map(|i| (format!("d{i}"), i as f64)).collect();
        let svg = balance_chart(&long, None).into_string();
        assert!(svg.len() < 10_000, "{} bytes", svg.len());
        assert!(svg.contains("d9999"), "the last day is kept");
    }

    #[test]
    fn chart_draws_one_line_and_escapes_dates() {
        let svg = balance_chart(
            &[("2026-11-01".into(), 1.0), ("<b>".into(), -2.0)],
            Some(5.0),
        )
        .into_string();
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("style"));
    }
}
