//! A boot chart: a console or `dmesg` log of a modboot boot drawn as an SVG
//! timeline, so that a person sees at a glance where the boot went.
//!
//! Read from the log (printk timestamps):
//! - `Run /init as init process`: where the chart starts (the kernel hands
//!   over to modboot);
//! - `modboot: loaded NAME in T ms`: one load, from its end minus `T` to its
//!   end; `modboot: cannot load module NAME ...`: a failed load, a mark;
//! - `modboot: root device ... found after`, `modboot: mounted ...`,
//!   `modboot: starting INIT after ...`, and the real init's first line
//!   (`GUEST: started`, where a test's init prints one): milestones.
//!
//! Loads that overlap go on separate lanes, the fewest that hold them (as
//! many as loads ran at once: `modboot.jobs=` workers at most), each load
//! on the first lane free when it started.
//!
//! [`draw`] is `mkmodboot chart`: a log file read, its chart written.

/// One load.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub name: String,
    /// Seconds on the printk clock.
    pub start: f64,
    pub end: f64,
    pub lane: usize,
}

/// A moment worth a line across the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Milestone {
    pub label: String,
    pub at: f64,
}

/// What a log says about a boot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Boot {
    /// `Run /init`, or the first modboot line.
    pub start: f64,
    pub loads: Vec<Load>,
    pub milestones: Vec<Milestone>,
    pub lanes: usize,
}

/// `[    1.579885] rest` → (1.579885, "rest").
fn stamped(line: &str) -> Option<(f64, &str)> {
    let line = line.trim_end_matches('\r');
    let rest = line.strip_prefix('[')?;
    let (t, rest) = rest.split_once(']')?;
    Some((t.trim().parse().ok()?, rest.trim_start()))
}

/// Read a log; `None` if it has no modboot line at all.
pub fn parse(log: &str) -> Option<Boot> {
    let mut b = Boot::default();
    let mut start = None;
    let mut loads: Vec<(String, f64, f64)> = Vec::new();
    let mut seen_modboot = false;
    for line in log.lines() {
        // The real init's first line may come without a timestamp of its own
        // (busybox echo to the console): only timestamped lines count.
        let Some((t, text)) = stamped(line) else {
            continue;
        };
        if text.starts_with("Run /init as init process") {
            start.get_or_insert(t);
            b.milestones.push(Milestone {
                label: "kernel runs /init".into(),
                at: t,
            });
            continue;
        }
        if text.starts_with("GUEST: started") {
            b.milestones.push(Milestone {
                label: "real init runs".into(),
                at: t,
            });
            continue;
        }
        let Some(m) = text.strip_prefix("modboot: ") else {
            continue;
        };
        seen_modboot = true;
        start.get_or_insert(t);
        if let Some(rest) = m.strip_prefix("loaded ") {
            let mut w = rest.split_whitespace();
            let (Some(name), Some("in"), Some(ms)) = (w.next(), w.next(), w.next()) else {
                continue;
            };
            let Ok(ms) = ms.trim_end_matches(',').parse::<f64>() else {
                continue;
            };
            loads.push((name.to_string(), t - ms / 1000.0, t));
        } else if let Some(rest) = m.strip_prefix("cannot load module ") {
            let name = rest.split_whitespace().next().unwrap_or("?");
            b.milestones.push(Milestone {
                label: format!("{name} failed"),
                at: t,
            });
        } else if m.starts_with("root device ") && m.contains(" found after ") {
            b.milestones.push(Milestone {
                label: "root device found".into(),
                at: t,
            });
        } else if m.starts_with("mounted ") {
            b.milestones.push(Milestone {
                label: "root mounted".into(),
                at: t,
            });
        } else if let Some(rest) = m.strip_prefix("starting ") {
            let init = rest.split_whitespace().next().unwrap_or("init");
            b.milestones.push(Milestone {
                label: format!("hand-over to {init}"),
                at: t,
            });
        }
    }
    if !seen_modboot {
        return None;
    }
    b.start = start.unwrap_or(0.0);
    // Lanes: by start, each on the first lane free by then.
    loads.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut lane_end: Vec<f64> = Vec::new();
    for (name, s, e) in loads {
        let lane = match lane_end.iter().position(|&end| end <= s + 1e-6) {
            Some(l) => l,
            None => {
                lane_end.push(0.0);
                lane_end.len() - 1
            }
        };
        lane_end[lane] = e;
        b.loads.push(Load {
            name,
            start: s,
            end: e,
            lane,
        });
    }
    b.lanes = lane_end.len();
    b.milestones.sort_by(|a, b| a.at.total_cmp(&b.at));
    Some(b)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as SVG: a time axis in ms from `start`, a lane a row (`<g
/// class="lane" id="lane-N">` holding that lane's `<rect class="load">`s),
/// milestones as labelled vertical lines (`<g class="milestone">`).
pub fn svg(b: &Boot, title: &str) -> String {
    let end = b
        .loads
        .iter()
        .map(|l| l.end)
        .chain(b.milestones.iter().map(|m| m.at))
        .fold(b.start, f64::max);
    let span_ms = ((end - b.start) * 1000.0).max(1.0);
    let (left, width, lane_h, top) = (10.0, 1000.0, 26.0, 60.0);
    let x = |t: f64| left + (t - b.start) * 1000.0 / span_ms * width;
    let lanes_h = lane_h * b.lanes.max(1) as f64;
    let label_rows = b.milestones.len() as f64 * 14.0;
    let height = top + lanes_h + 30.0 + label_rows + 10.0;
    let mut o = String::new();
    o += &format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        width + 2.0 * left + 150.0
    );
    o += &format!("<title>{}</title>\n", escape(title));
    o += &format!(
        "<text x=\"{left}\" y=\"18\" font-size=\"14\">{}</text>\n",
        escape(title)
    );
    o += &format!(
        "<text x=\"{left}\" y=\"36\">{:.1} ms from the kernel's Run /init; {} loads on {} lanes</text>\n",
        span_ms,
        b.loads.len(),
        b.lanes
    );
    // Axis: a tick every power-of-ten-ish step.
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        .into_iter()
        .find(|s| span_ms / s <= 12.0)
        .unwrap_or(1000.0);
    o += "<g class=\"axis\" stroke=\"#ccc\">\n";
    let mut ms = 0.0;
    while ms <= span_ms + 1e-9 {
        let px = left + ms / span_ms * width;
        o += &format!(
            "<line x1=\"{px:.1}\" y1=\"{}\" x2=\"{px:.1}\" y2=\"{}\"/><text x=\"{px:.1}\" y=\"{}\" stroke=\"none\" fill=\"#666\">{ms} ms</text>\n",
            top - 8.0,
            top + lanes_h,
            top - 10.0
        );
        ms += step;
    }
    o += "</g>\n";
    for lane in 0..b.lanes {
        let y = top + lane as f64 * lane_h;
        o += &format!("<g class=\"lane\" id=\"lane-{lane}\">\n");
        o += &format!(
            "<text x=\"{}\" y=\"{}\" fill=\"#666\">lane {lane}</text>\n",
            left + width + 6.0,
            y + 16.0
        );
        for l in b.loads.iter().filter(|l| l.lane == lane) {
            let (x0, x1) = (x(l.start), x(l.end));
            o += &format!(
                "<rect class=\"load\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"#7aa6da\" stroke=\"#35659e\"><title>{} {:.3} ms</title></rect>\n",
                y + 2.0,
                (x1 - x0).max(1.0),
                lane_h - 4.0,
                escape(&l.name),
                (l.end - l.start) * 1000.0
            );
            // A name that does not fit its box is left to the tooltip.
            if x1 - x0 >= l.name.len() as f64 * 6.5 + 4.0 {
                o += &format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
                    x0 + 2.0,
                    y + 17.0,
                    escape(&l.name)
                );
            }
        }
        o += "</g>\n";
    }
    for (i, m) in b.milestones.iter().enumerate() {
        let px = x(m.at);
        let label_y = top + lanes_h + 24.0 + i as f64 * 14.0;
        o += &format!(
            "<g class=\"milestone\"><line x1=\"{px:.1}\" y1=\"{}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#d9534f\"/><text x=\"{:.1}\" y=\"{label_y:.1}\" text-anchor=\"{}\" fill=\"#d9534f\">{} ({:.1} ms)</text></g>\n",
            top - 8.0,
            label_y - 10.0,
            // Labels in the right half read leftwards, so they stay inside.
            if px > left + width / 2.0 {
                px - 3.0
            } else {
                px + 3.0
            },
            if px > left + width / 2.0 {
                "end"
            } else {
                "start"
            },
            escape(&m.label),
            (m.at - b.start) * 1000.0
        );
    }
    o += "</svg>\n";
    o
}

/// Draw the log at `log` into the SVG file `out` (replaced atomically),
/// titled `title` (default: the log's file name), and tell what it holds.
pub fn draw(
    log: &std::path::Path,
    title: Option<&str>,
    out: &std::path::Path,
) -> Result<(), String> {
    let bytes = super::output::read(log)?;
    let text = String::from_utf8_lossy(&bytes);
    let boot =
        parse(&text).ok_or_else(|| format!("{}: no modboot line in this log", log.display()))?;
    let title = title.map(str::to_string).unwrap_or_else(|| {
        log.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    super::output::replace(out, svg(&boot, &title).as_bytes())?;
    super::notes::note(&format!(
        "{}: {} loads on {} lanes, {} milestones",
        out.display(),
        boot.loads.len(),
        boot.lanes,
        boot.milestones.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
[    1.500000] Run /init as init process
[    1.500500] modboot: modboot 0.1.0 starting
[    1.520000] modboot: loaded virtio_ring in 19.000 ms
[    1.530000] modboot: loaded virtio in 8.000 ms
[    1.540000] modboot: loaded virtio_blk in 35.000 ms, params queue_depth=32
[    1.600000] modboot: root device /dev/vda is /dev/vda (ext4), found after 99.000 ms
[    1.610000] modboot: mounted /dev/vda on /root (ext4, ro)
[    1.611000] modboot: starting /sbin/init after 110.500 ms (root device found in 99 ms)
GUEST: something without a stamp
[    1.650000] GUEST: started /sbin/init
";

    #[test]
    fn loads_lanes_and_milestones() {
        let b = parse(LOG).unwrap();
        assert_eq!(b.start, 1.5);
        let lanes: Vec<(&str, usize)> = b.loads.iter().map(|l| (l.name.as_str(), l.lane)).collect();
        // virtio_ring 1.501-1.520, virtio_blk 1.505-1.540, virtio 1.522-1.530.
        assert_eq!(
            lanes,
            [("virtio_ring", 0), ("virtio_blk", 1), ("virtio", 0)]
        );
        assert_eq!(b.lanes, 2);
        let labels: Vec<&str> = b.milestones.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "kernel runs /init",
                "root device found",
                "root mounted",
                "hand-over to /sbin/init",
                "real init runs"
            ]
        );
        let s = svg(&b, "demo <boot>");
        assert_eq!(s.matches("<g class=\"lane\"").count(), 2);
        assert_eq!(s.matches("<rect class=\"load\"").count(), 3);
        assert_eq!(s.matches("<g class=\"milestone\"").count(), 5);
        assert!(s.contains("<title>demo &lt;boot&gt;</title>"));
        assert!(parse("no modboot here\n").is_none());
    }
}
