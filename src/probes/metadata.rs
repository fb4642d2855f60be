//! Where am I? EC2 instance metadata (IMDSv2) or ECS task metadata v4.

use super::{EcsTask, MetadataProbe, Placement};
use futures::future::{BoxFuture, FutureExt};
use std::time::Duration;

pub struct MetadataClient {
    /// `ECS_CONTAINER_METADATA_URI_V4`
    pub ecs_uri: Option<String>,
    /// None when instance metadata is disabled (`AWS_EC2_METADATA_DISABLED=true`).
    pub imds: Option<aws_config::imds::Client>,
    pub timeout: Duration,
}

impl MetadataClient {
    pub fn from_env(timeout: Duration) -> MetadataClient {
        let disabled = std::env::var("AWS_EC2_METADATA_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let imds = (!disabled).then(|| super::aws::bounded_imds_builder(timeout).build());
        MetadataClient {
            ecs_uri: std::env::var("ECS_CONTAINER_METADATA_URI_V4")
                .ok()
                .filter(|v| !v.is_empty()),
            imds,
            timeout,
        }
    }

    async fn ecs(&self, uri: &str) -> Result<Placement, String> {
        let http = reqwest::Client::builder()
            .timeout(crate::budget::Budget::new(self.timeout).op(crate::budget::Op::Metadata))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let get = |url: String| {
            let http = http.clone();
            async move {
                let resp = http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| format!("{url}: {e}"))?;
                if !resp.status().is_success() {
                    return Err(format!("{url}: HTTP {}", resp.status()));
                }
                let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
                serde_json::from_slice::<serde_json::Value>(&body)
                    .map_err(|e| format!("{url}: {e}"))
            }
        };
        let uri = uri.trim_end_matches('/');
        let (task, container) = tokio::join!(get(format!("{uri}/task")), get(uri.to_string()));
        let task = task?;
        let container = container.unwrap_or(serde_json::Value::Null);
        let network = container["Networks"]
            .get(0)
            .or_else(|| task["Containers"][0]["Networks"].get(0))
            .cloned()
            .unwrap_or_default();
        let vpc_id = task["VPCID"]
            .as_str()
            .ok_or("task metadata has no VPCID (not an awsvpc task?)")?
            .to_string();
        Ok(Placement {
            source: "task-metadata".into(),
            vpc_id,
            subnet_id: None,
            subnet_cidr: network["IPv4SubnetCIDRBlock"].as_str().map(str::to_string),
            az: task["AvailabilityZone"].as_str().map(str::to_string),
            security_groups: vec![],
            private_ip: network["IPv4Addresses"][0].as_str().map(str::to_string),
        })
    }

    async fn ec2(&self, imds: &aws_config::imds::Client) -> Result<Option<Placement>, String> {
        let get = |path: String| async move {
            imds.get(path.clone())
                .await
                .map(|s| String::from(s).trim().to_string())
                .map_err(|e| {
                    format!(
                        "{path}: {}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    )
                })
        };
        // the first call tells whether this is an EC2 instance at all
        let mac = match get("/latest/meta-data/mac".into()).await {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        let base = format!("/latest/meta-data/network/interfaces/macs/{mac}");
        let (vpc, subnet, groups, cidr, az, ip) = tokio::join!(
            get(format!("{base}/vpc-id")),
            get(format!("{base}/subnet-id")),
            get(format!("{base}/security-group-ids")),
            get(format!("{base}/subnet-ipv4-cidr-block")),
            get("/latest/meta-data/placement/availability-zone".into()),
            get("/latest/meta-data/local-ipv4".into()),
        );
        Ok(Some(Placement {
            source: "instance-metadata".into(),
            vpc_id: vpc?,
            subnet_id: subnet.ok(),
            subnet_cidr: cidr.ok(),
            az: az.ok(),
            security_groups: groups
                .map(|g| g.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            private_ip: ip.ok(),
        }))
    }
}

impl MetadataClient {
    /// `<uri>/task` of task metadata v4.
    async fn ecs_task_doc(&self, uri: &str) -> Result<EcsTask, String> {
        let http = reqwest::Client::builder()
            .timeout(crate::budget::Budget::new(self.timeout).op(crate::budget::Op::Metadata))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{}/task", uri.trim_end_matches('/'));
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        let task: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
        let text = |k: &str| match &task[k] {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        Ok(EcsTask {
            task_arn: text("TaskARN"),
            cluster: text("Cluster"),
            family: text("Family"),
            revision: text("Revision"),
            launch_type: text("LaunchType"),
        })
    }
}

impl MetadataProbe for MetadataClient {
    fn ecs_task(&self) -> BoxFuture<'_, Result<Option<EcsTask>, String>> {
        async move {
            match &self.ecs_uri {
                Some(uri) => self.ecs_task_doc(uri).await.map(Some),
                None => Ok(None),
            }
        }
        .boxed()
    }

    fn placement(&self) -> BoxFuture<'_, Result<Option<Placement>, String>> {
        async move {
            if let Some(uri) = &self.ecs_uri {
                return self.ecs(uri).await.map(Some);
            }
            match &self.imds {
                Some(imds) => self.ec2(imds).await,
                None => Ok(None),
            }
        }
        .boxed()
    }
}
