//! Which machine a report is from (the report context's `host`): so that reports collected
//! from a fleet (`ecr-doctor summarize`) name their hosts. Only what the run already knows:
//! the OS hostname, the instance id and ECS task ARN that instance or task metadata gave the
//! run (no metadata request of its own), and the Kubernetes node name that a DaemonSet hands
//! in through the downward API ([`NODE_NAME_ENV`]).

use serde::{Deserialize, Serialize};

/// The environment variable that names the Kubernetes node (deploy/daemonset.yaml sets it
/// from `spec.nodeName` with the downward API).
pub const NODE_NAME_ENV: &str = "ECR_DOCTOR_NODE_NAME";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Host {
    /// The OS hostname (`/proc/sys/kernel/hostname`, else `HOSTNAME`).
    pub hostname: Option<String>,
    /// EC2 `meta-data/instance-id`, when the run read instance metadata.
    pub instance_id: Option<String>,
    /// `TaskARN` of ECS task metadata v4, when the run read task metadata.
    pub ecs_task_arn: Option<String>,
    /// The Kubernetes node, from [`NODE_NAME_ENV`].
    pub kubernetes_node: Option<String>,
}

/// What instance or task metadata told the run about this machine (recorded by
/// [`crate::probes::metadata::MetadataClient`] as it answers the checks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    pub instance_id: Option<String>,
    pub ecs_task_arn: Option<String>,
}

impl Host {
    /// The host of this run: `env` reads an environment variable, `kernel_hostname` is the
    /// contents of `/proc/sys/kernel/hostname` when readable.
    pub fn gather(
        env: impl Fn(&str) -> Option<String>,
        kernel_hostname: Option<String>,
        learned: Learned,
    ) -> Host {
        let clean = |v: Option<String>| {
            v.map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
        };
        Host {
            hostname: clean(kernel_hostname).or_else(|| clean(env("HOSTNAME"))),
            instance_id: clean(learned.instance_id),
            ecs_task_arn: clean(learned.ecs_task_arn),
            kubernetes_node: clean(env(NODE_NAME_ENV)),
        }
    }

    /// [`Host::gather`] from this process's environment and kernel.
    pub fn of_this_machine(learned: Learned) -> Host {
        Host::gather(
            |k| std::env::var(k).ok(),
            std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
            learned,
        )
    }

    /// The name a fleet summary gives the host: the most specific id known (the ECS task, the
    /// Kubernetes node, the EC2 instance, the hostname). Values that `--redact` masked do not
    /// name anything.
    pub fn name(&self) -> Option<&str> {
        [
            &self.ecs_task_arn,
            &self.kubernetes_node,
            &self.instance_id,
            &self.hostname,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .find(|v| !v.contains("<redacted>") && !v.contains("<ip>") && !v.contains("<account>"))
    }

    pub fn is_empty(&self) -> bool {
        self == &Host::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_what_is_known() {
        let env = |k: &str| match k {
            "HOSTNAME" => Some("from-env".to_string()),
            NODE_NAME_ENV => Some("ip-10-0-1-25.ec2.internal\n".to_string()),
            _ => None,
        };
        let h = Host::gather(
            env,
            Some("build-7\n".into()),
            Learned {
                instance_id: Some("i-0123456789abcdef0".into()),
                ecs_task_arn: None,
            },
        );
        assert_eq!(h.hostname.as_deref(), Some("build-7"));
        assert_eq!(
            h.kubernetes_node.as_deref(),
            Some("ip-10-0-1-25.ec2.internal")
        );
        assert_eq!(h.instance_id.as_deref(), Some("i-0123456789abcdef0"));
        assert_eq!(h.ecs_task_arn, None);
        // the Kubernetes node names the host before the instance and the hostname
        assert_eq!(h.name(), Some("ip-10-0-1-25.ec2.internal"));
        // no readable kernel hostname: HOSTNAME; blank values are unknown
        let h = Host::gather(env, Some(" \n".into()), Learned::default());
        assert_eq!(h.hostname.as_deref(), Some("from-env"));
        let h = Host::gather(|_| Some(String::new()), None, Learned::default());
        assert!(h.is_empty());
        assert_eq!(h.name(), None);
    }

    #[test]
    fn the_task_names_the_host_first_and_masked_values_name_nothing() {
        let mut h = Host {
            hostname: Some("ip-10-1-1-25.ec2.internal".into()),
            instance_id: Some("i-0abc".into()),
            ecs_task_arn: Some("arn:aws:ecs:us-east-1:123456789012:task/c/0123".into()),
            kubernetes_node: None,
        };
        assert_eq!(h.name(), h.ecs_task_arn.as_deref());
        h.ecs_task_arn = Some("arn:<redacted>".into());
        assert_eq!(h.name(), Some("i-0abc"));
    }

    #[test]
    fn reads_reports_without_a_host() {
        let h: Host = serde_json::from_str(r#"{"hostname": "a"}"#).unwrap();
        assert_eq!(h.hostname.as_deref(), Some("a"));
        assert_eq!(h.instance_id, None);
    }
}
