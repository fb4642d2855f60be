//! Live progress on stderr while the checks run, for the table on a terminal only (the CLI
//! decides): nothing for a run shorter than [`QUIET_FOR`]; after that, the header line, each
//! check as it finishes (status and id, in finishing order) and one status line of the checks
//! still running, which is cleared at the end so that the table on stdout starts clean.
//!
//! [`Live`] only formats (and is tested without a terminal); [`show`] feeds it the engine's
//! [`Progress`] events and a clock, and writes what it returns.

use super::status_label;
use crate::catalog::Severity;
use crate::engine::Progress;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// A run that ends sooner shows nothing.
pub const QUIET_FOR: Duration = Duration::from_millis(500);
/// How often the status line (counter, elapsed time) is redrawn.
const TICK: Duration = Duration::from_millis(100);
/// Back to the start of the line and erase it.
const CLEAR: &str = "\r\x1b[2K";
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The state of the display: what runs, what finished and is not printed yet.
pub struct Live {
    header: String,
    total: usize,
    id_width: usize,
    /// Columns of the terminal; the status line stays shorter, so it never wraps.
    width: usize,
    color: bool,
    running: Vec<String>,
    unprinted: Vec<String>,
    done: usize,
    shown: bool,
}

impl Live {
    /// `header` is printed once, when the display first appears; `ids` are the checks of the
    /// run.
    pub fn new(header: String, ids: &[String], width: usize, color: bool) -> Live {
        Live {
            header,
            total: ids.len(),
            id_width: ids.iter().map(String::len).max().unwrap_or(0),
            width,
            color,
            running: Vec::new(),
            unprinted: Vec::new(),
            done: 0,
            shown: false,
        }
    }

    /// Takes an event of the engine; [`Live::draw`] shows it.
    pub fn event(&mut self, ev: Progress) {
        match ev {
            Progress::Started { id } => self.running.push(id),
            Progress::Finished {
                id,
                status,
                duration,
            } => {
                self.running.retain(|r| *r != id);
                self.done += 1;
                let line = self.finished_line(&id, status, duration);
                self.unprinted.push(line);
            }
        }
    }

    /// What to write when the run is over: the status line erased, if it was ever drawn.
    pub fn end(&mut self) -> String {
        if self.shown {
            CLEAR.to_string()
        } else {
            String::new()
        }
    }

    /// What to write `elapsed` after the start: nothing before [`QUIET_FOR`]; then the header
    /// once, the checks that finished since the last call and the status line.
    pub fn draw(&mut self, elapsed: Duration) -> String {
        if elapsed < QUIET_FOR {
            return String::new();
        }
        let mut out = String::new();
        if self.shown {
            out.push_str(CLEAR);
        } else {
            self.shown = true;
            out.push_str(&self.header);
            out.push('\n');
        }
        for line in self.unprinted.drain(..) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&self.status_line(elapsed));
        out
    }

    /// `FAIL  identity.caller       1.00 s` (no time for a skipped check).
    fn finished_line(&self, id: &str, status: Severity, duration: Duration) -> String {
        let label = format!("{:<5}", status_label(status));
        let label = if self.color {
            let code = match status {
                Severity::Pass => "32",
                Severity::Warn => "33",
                Severity::Fail => "31",
                Severity::Skip => "90",
                Severity::Error => "35",
            };
            format!("\x1b[1;{code}m{label}\x1b[0m")
        } else {
            label
        };
        if status == Severity::Skip {
            format!("{label} {id}")
        } else {
            format!(
                "{label} {id:<w$} {:.2} s",
                duration.as_secs_f64(),
                w = self.id_width
            )
        }
    }

    /// `⠹ 4/19 1.2 s identity.caller token.get +2`: the checks still running, in the order
    /// they started, as many as fit in one line shorter than the terminal.
    fn status_line(&self, elapsed: Duration) -> String {
        let frame = SPINNER[(elapsed.as_millis() / TICK.as_millis()) as usize % SPINNER.len()];
        let room = self.width.saturating_sub(1);
        let mut line = format!(
            "{frame} {}/{} {:.1} s",
            self.done,
            self.total,
            elapsed.as_secs_f64()
        );
        for (i, id) in self.running.iter().enumerate() {
            let left = self.running.len() - i - 1;
            // keep room for " +N" when more ids follow
            let more = if left > 0 {
                format!(" +{left}").len()
            } else {
                0
            };
            if line.chars().count() + 1 + id.len() + more > room {
                line.push_str(&format!(" +{}", left + 1));
                break;
            }
            line.push(' ');
            line.push_str(id);
        }
        line.chars().take(room).collect()
    }
}

/// Draws the events of `rx` on `out` until the channel closes (the run is over), then erases
/// the status line.
pub async fn show(mut live: Live, mut rx: UnboundedReceiver<Progress>, mut out: impl Write) {
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => {
                    live.event(ev);
                    // what else is already there (a failure skips its dependents at once)
                    while let Ok(ev) = rx.try_recv() {
                        live.event(ev);
                    }
                }
                None => break,
            },
            _ = tick.tick() => {}
        }
        let text = live.draw(start.elapsed());
        if !text.is_empty() {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
    let _ = out.write_all(live.end().as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn started(id: &str) -> Progress {
        Progress::Started { id: id.into() }
    }

    fn finished(id: &str, status: Severity, millis: u64) -> Progress {
        Progress::Finished {
            id: id.into(),
            status,
            duration: ms(millis),
        }
    }

    fn live(width: usize, color: bool) -> Live {
        let ids: Vec<String> = ["credentials.source", "identity.caller", "token.get"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Live::new("ecr-doctor: running 3 checks".into(), &ids, width, color)
    }

    #[test]
    fn a_short_run_shows_nothing() {
        let mut l = live(80, false);
        let mut out = String::new();
        l.event(started("credentials.source"));
        l.event(finished("credentials.source", Severity::Pass, 2));
        out += &l.draw(ms(100));
        l.event(started("identity.caller"));
        l.event(finished("identity.caller", Severity::Fail, 120));
        out += &l.draw(ms(499));
        out += &l.end();
        assert_eq!(out, "");
    }

    #[test]
    fn a_slow_run_prints_finished_checks_and_clears_its_status_line() {
        let mut l = live(80, false);
        l.event(started("credentials.source"));
        l.event(started("token.get"));
        l.event(finished("credentials.source", Severity::Pass, 12));
        assert_eq!(l.draw(ms(13)), "");
        l.event(started("identity.caller"));
        // at 0.5 s: the header, what finished so far, and what still runs
        assert_eq!(
            l.draw(ms(500)),
            "ecr-doctor: running 3 checks\n\
             PASS  credentials.source 0.01 s\n\
             ⠴ 1/3 0.5 s token.get identity.caller"
        );
        l.event(finished("identity.caller", Severity::Fail, 1000));
        assert_eq!(
            l.draw(ms(1007)),
            "\r\x1b[2KFAIL  identity.caller    1.00 s\n⠋ 2/3 1.0 s token.get"
        );
        // a tick: the status line again, with the time
        assert_eq!(l.draw(ms(1100)), "\r\x1b[2K⠙ 2/3 1.1 s token.get");
        l.event(finished("token.get", Severity::Skip, 0));
        assert_eq!(l.draw(ms(1150)), "\r\x1b[2KSKIP  token.get\n⠙ 3/3 1.1 s");
        assert_eq!(l.end(), "\r\x1b[2K");
    }

    fn status_at_600ms(width: usize) -> String {
        let mut l = live(width, false);
        for id in ["credentials.source", "identity.caller", "token.get"] {
            l.event(started(id));
        }
        let out = l.draw(ms(600));
        out.rsplit('\n').next().unwrap().to_string()
    }

    #[test]
    fn the_status_line_never_wraps() {
        assert_eq!(status_at_600ms(30), "⠦ 0/3 0.6 s +3");
        assert_eq!(status_at_600ms(45), "⠦ 0/3 0.6 s credentials.source +2");
        assert_eq!(
            status_at_600ms(80),
            "⠦ 0/3 0.6 s credentials.source identity.caller token.get"
        );
        // a terminal narrower than the counter: cut, still one line
        assert_eq!(status_at_600ms(8), "⠦ 0/3 0");
        for width in 1..90 {
            assert!(status_at_600ms(width).chars().count() < width);
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let mut l = live(80, true);
        l.event(finished("token.get", Severity::Warn, 10));
        assert!(l.draw(ms(600)).contains("\x1b[1;33mWARN \x1b[0m token.get"));
        let mut l = live(80, false);
        l.event(finished("token.get", Severity::Warn, 10));
        let out = l.draw(ms(600));
        assert!(out.contains("WARN  token.get"), "{out:?}");
        assert!(!out.contains("\x1b[1"), "{out:?}");
    }

    #[tokio::test]
    async fn show_ends_when_the_channel_closes() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut buf = Vec::new();
        tx.send(started("token.get")).unwrap();
        let task = async move {
            tokio::time::sleep(ms(700)).await;
            tx.send(finished("token.get", Severity::Pass, 700)).unwrap();
            drop(tx);
        };
        tokio::join!(show(live(80, false), rx, &mut buf), task);
        let out = String::from_utf8(buf).unwrap();
        assert!(out.starts_with("ecr-doctor: running 3 checks\n"), "{out:?}");
        assert!(out.contains("token.get"), "{out:?}");
        assert!(out.contains("PASS  token.get"), "{out:?}");
        assert!(out.ends_with("\r\x1b[2K"), "{out:?}");
    }
}
