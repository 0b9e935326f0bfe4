//! Per-invocation log capture and Lambda's START / END / REPORT lines.

use std::fmt::Write as _;

use parking_lot::Mutex;

use crate::types::metering::Report;

/// The lines one invocation wrote through [`crate::Context::log`]. Empty until a handler logs: an
/// invocation that writes nothing allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    lines: Mutex<Vec<String>>,
}

impl LogBuffer {
    pub(crate) fn push(&self, line: String) {
        self.lines.lock().push(line);
    }

    /// Takes the lines written so far, leaving the buffer empty for the instance's next invocation.
    pub(crate) fn take(&self) -> Vec<String> {
        let mut lines = self.lines.lock();
        if lines.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut *lines)
        }
    }
}

/// One invocation's log as Lambda writes it to CloudWatch: `START`, the handler's lines, `END`, `REPORT`.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationLog {
    /// The lines the handler wrote, in order.
    pub lines: Vec<String>,
    /// The invocation's metering record, which the `REPORT` line prints.
    pub report: Report,
}

impl InvocationLog {
    /// The `START` line.
    pub fn start_line(&self) -> String {
        format!(
            "START RequestId: {} Version: {}",
            self.report.request_id, self.report.version
        )
    }

    /// The `END` line.
    pub fn end_line(&self) -> String {
        format!("END RequestId: {}", self.report.request_id)
    }

    /// The `REPORT` line, tab-separated as Lambda's:
    /// `REPORT RequestId: ID\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t` and, after a
    /// cold start, `Init Duration: 120.00 ms\t`. Lambda's `Max Memory Used` field is left out: an in-process
    /// runtime cannot measure one handler's memory, and a made-up figure would mislead.
    pub fn report_line(&self) -> String {
        let r = &self.report;
        let mut s = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t",
            r.request_id,
            r.duration.as_secs_f64() * 1000.0,
            r.billed_duration_ms,
            r.memory_mb
        );
        if let Some(init) = r.init_duration {
            let _ = write!(s, "Init Duration: {:.2} ms\t", init.as_secs_f64() * 1000.0);
        }
        if r.timed_out {
            s.push_str("Status: timeout");
        }
        s
    }

    /// The whole log, one line per entry: `START`, the handler's lines, `END`, `REPORT`.
    pub fn render(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.lines.len() + 3);
        out.push(self.start_line());
        out.extend(self.lines.iter().cloned());
        out.push(self.end_line());
        out.push(self.report_line());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(init: Option<Duration>) -> Report {
        Report {
            request_id: "8f5c-id".into(),
            function: "f".into(),
            version: "$LATEST".into(),
            duration: Duration::from_micros(2_160),
            billed_duration_ms: 3,
            init_duration: init,
            memory_mb: 128,
            timed_out: false,
        }
    }

    #[test]
    fn lines_have_lambda_format() {
        let log = InvocationLog {
            lines: vec!["hello".into()],
            report: report(Some(Duration::from_micros(139_280))),
        };
        assert_eq!(
            log.render(),
            vec![
                "START RequestId: 8f5c-id Version: $LATEST".to_string(),
                "hello".to_string(),
                "END RequestId: 8f5c-id".to_string(),
                "REPORT RequestId: 8f5c-id\tDuration: 2.16 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tInit Duration: 139.28 ms\t".to_string(),
            ]
        );
        let warm = InvocationLog {
            lines: vec![],
            report: report(None),
        };
        assert!(!warm.report_line().contains("Init Duration"));
    }

    #[test]
    fn buffer_take_empties() {
        let b = LogBuffer::default();
        assert!(b.take().is_empty());
        b.push("a".into());
        b.push("b".into());
        assert_eq!(b.take(), vec!["a", "b"]);
        assert!(b.take().is_empty());
    }
}
