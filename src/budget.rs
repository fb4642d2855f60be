//! One time budget: `--timeout` turned into each network operation's bound and each check's
//! bound. A check's bound is the sum of the operations it runs one after the other, plus a
//! fixed margin for the work between them, so no check is cut short while its operations
//! are still within their own bounds; and a dead network costs about one `--timeout` per
//! operation in sequence, not per check (checks run concurrently).

use std::time::Duration;

/// A network operation a check waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Walking the credential chain: each provider that talks to the network (web
    /// identity, container, instance metadata) gets this much.
    Credentials,
    /// One AWS API call: a single attempt, connect and response each within `--timeout`.
    Api,
    /// Instance or task metadata: one request.
    Metadata,
    /// One DNS lookup (the resolver's own `--timeout`, plus its bookkeeping).
    Dns,
    /// One TCP connect, or one TLS handshake, or one proxy CONNECT exchange.
    Connect,
    /// One HTTP request until the response headers: connect and TLS, then the answer.
    Http,
    /// Streaming a response body; each chunk must also come within `--timeout`.
    Body,
}

/// The margin added to a check's operations for the work between them.
pub const MARGIN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// `--timeout`: the bound of one network round trip.
    pub timeout: Duration,
}

impl Budget {
    pub fn new(timeout: Duration) -> Budget {
        Budget { timeout }
    }

    /// The bound of one operation.
    pub fn op(&self, op: Op) -> Duration {
        let t = self.timeout;
        match op {
            Op::Credentials => t * 3,
            Op::Api | Op::Metadata | Op::Connect => t,
            Op::Dns => t + Duration::from_millis(200),
            Op::Http | Op::Body => t * 2,
        }
    }

    /// The wait for each chunk of a streamed body (the whole body is the check's bound).
    pub fn chunk(&self) -> Duration {
        self.timeout
    }

    /// Connecting to instance metadata: at most one second (the IMDS client's own
    /// default), so that a machine that is not on EC2 learns it fast; the request itself
    /// gets [`Op::Metadata`].
    pub fn metadata_connect(&self) -> Duration {
        self.timeout.min(Duration::from_secs(1))
    }

    /// A check's bound: its operations in sequence, plus [`MARGIN`].
    pub fn check(&self, ops: &[Op]) -> Duration {
        ops.iter().map(|o| self.op(*o)).sum::<Duration>() + MARGIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_bound_covers_its_operations_in_sequence() {
        for t in [100, 500, 2000, 5000, 60_000] {
            let b = Budget::new(Duration::from_millis(t));
            for reg in crate::checks::registrations() {
                let ops = reg.ops;
                let sequence: Duration = ops.iter().map(|o| b.op(*o)).sum();
                let bound = b.check(ops);
                assert!(
                    bound >= sequence + MARGIN,
                    "{}: bound {bound:?} < {sequence:?} + margin",
                    reg.id
                );
                // every operation is at least one --timeout: none is cut below it
                for o in ops {
                    assert!(b.op(*o) >= b.timeout, "{:?}", o);
                }
            }
        }
    }

    #[test]
    fn a_dead_network_costs_a_few_timeouts_not_one_per_check() {
        // the longest chain of checks that wait on each other, with every operation timing
        // out, is bounded by the sum of their bounds; the widest single check is a handful
        // of timeouts
        let b = Budget::new(Duration::from_secs(2));
        let worst = crate::checks::registrations()
            .iter()
            .map(|r| b.check(r.ops))
            .max()
            .unwrap();
        assert!(worst <= b.timeout * 8 + MARGIN, "{worst:?}");
    }
}
